"""Where randomness comes from: a seeded, replayable stream or the OS.

`Entropy(seed)` yields the same bytes on every run, so a lesson prints the same key
ids, key material and nonces each time; `Entropy(None)` reads ``os.urandom``. The
seeded stream is SHAKE-256 over the seed and a block counter; its position is saved
with a scenario so a loaded simulator continues exactly where it stopped.
"""

from __future__ import annotations

import hashlib
import os
import uuid

__all__ = ["Entropy"]

_BLOCK = 4096


class Entropy:
    """A source of random bytes, deterministic when given a seed."""

    __slots__ = ("seed", "_position", "_block", "_block_index")

    def __init__(self, seed: int | str | bytes | None = None, position: int = 0) -> None:
        self.seed = seed
        self._position = 0
        self._block = b""
        self._block_index = -1
        if seed is not None:
            self._seek(position)

    @property
    def seeded(self) -> bool:
        return self.seed is not None

    @property
    def position(self) -> int:
        """How many bytes the seeded stream has given out (0 when unseeded)."""
        return self._position

    def _seed_bytes(self) -> bytes:
        seed = self.seed
        if isinstance(seed, bytes):
            return b"b" + seed
        return (type(seed).__name__[0] + str(seed)).encode()

    def _load_block(self, index: int) -> None:
        material = self._seed_bytes() + b"\x00" + index.to_bytes(8, "big")
        self._block = hashlib.shake_256(material).digest(_BLOCK)
        self._block_index = index

    def _seek(self, position: int) -> None:
        self._position = position
        self._load_block(position // _BLOCK)

    def rewind(self, position: int) -> None:
        """Go back to ``position``, as if what came after it had never been drawn
        (to undo a call that failed). No effect on an unseeded source."""
        if self.seed is not None:
            self._seek(position)

    def bytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        if self.seed is None:
            return os.urandom(n)
        out = bytearray()
        while len(out) < n:
            index, offset = divmod(self._position, _BLOCK)
            if index != self._block_index:
                self._load_block(index)
            take = min(n - len(out), _BLOCK - offset)
            out += self._block[offset:offset + take]
            self._position += take
        return bytes(out)

    def uuid4(self) -> str:
        """A random version-4 UUID string, as KMS key ids are."""
        return str(uuid.UUID(bytes=self.bytes(16), version=4))

    def hex_id(self) -> str:
        """64 lowercase hex characters, the shape of a key material id."""
        return self.bytes(32).hex()
