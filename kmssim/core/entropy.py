"""Where randomness comes from: a seeded, replayable stream or the OS.

`Entropy(seed)` yields the same bytes on every run, so a lesson prints the same key
ids, key material and nonces each time; `Entropy(None)` reads ``os.urandom``. The
seeded stream is SHAKE-256 over the seed, the simulator's Region and account, and a
block counter; its position is saved with a scenario so a loaded simulator continues
exactly where it stopped.

A seed is an ``int``, ``str`` or ``bytes`` (the types a scenario file saves and loads
back): `check_seed` refuses anything else. The Region and account are part of what
the stream is derived from, so one seed gives every (Region, account) pair its own key
ids and key material, as real regional keys are independent. The default pair
(``us-east-1``, ``111122223333``) keeps the stream of the seed alone, which is what
kmssim produced before Regions were mixed in, so lessons and saved scenarios of that
pair print and continue as they did.
"""

from __future__ import annotations

import hashlib
import os
import uuid

from kmssim.core.errors import ValidationException

__all__ = ["Entropy", "check_seed", "DEFAULT_SCOPE"]

_BLOCK = 4096
#: The (Region, account) whose stream is the seed's alone (see the module docstring).
DEFAULT_SCOPE = ("us-east-1", "111122223333")
_MAX_SEED_LENGTH = 4096


def check_seed(seed: object) -> int | str | bytes | None:
    """``seed`` as the plain int, str or bytes it stands for (or None), or a
    ValidationException: only those types save to a scenario file and load back.
    ``True``, ``1.5``, ``[1]`` and ``(1, 2)`` are refused, not silently accepted."""
    if seed is None:
        return None
    hint = ("A seed replays a simulation and is saved with a scenario, so it must be "
            "one of the types a scenario file keeps: an int, a str or bytes.")
    if isinstance(seed, bool) or not isinstance(seed, (int, str, bytes)):
        raise ValidationException(
            f"seed must be an int, a str or bytes, not {type(seed).__name__}.", hint=hint)
    if isinstance(seed, int):
        if seed.bit_length() > 3000:
            raise ValidationException(
                "An int seed may be at most 3,000 bits long (about 900 digits).", hint=hint)
        return int(seed)
    if len(seed) > _MAX_SEED_LENGTH:
        raise ValidationException(
            f"A seed may be at most {_MAX_SEED_LENGTH} characters or bytes long.", hint=hint)
    if isinstance(seed, str):
        try:
            seed.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationException("A str seed must be valid Unicode text (it has a lone "
                                      "surrogate).", hint=hint) from None
        return str(seed)
    return bytes(seed)


class Entropy:
    """A source of random bytes, deterministic when given a seed."""

    __slots__ = ("seed", "scope", "_prefix", "_position", "_block", "_block_index",
                 "_block_start")

    def __init__(self, seed: int | str | bytes | None = None, position: int = 0,
                 scope: tuple[str, str] = DEFAULT_SCOPE) -> None:
        self.seed = check_seed(seed)
        self.scope = scope
        self._prefix = self._seed_bytes()
        self._position = 0
        self._block = b""
        self._block_index = -1
        self._block_start = -2 * _BLOCK   # where the loaded block starts in the stream
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
        if seed is None:
            return b""
        if isinstance(seed, bytes):
            plain = b"b" + seed
        else:
            plain = (type(seed).__name__[0] + str(seed)).encode()
        if self.scope == DEFAULT_SCOPE:
            return plain
        # b"\x01" never starts the default pair's encoding (which starts b, i or s), and
        # the lengths make the Region/account split unambiguous.
        region, account = (part.encode("utf-8", "surrogatepass") for part in self.scope)
        return (b"\x01" + len(region).to_bytes(4, "big") + region
                + len(account).to_bytes(4, "big") + account + plain)

    def _load_block(self, index: int) -> None:
        material = self._prefix + b"\x00" + index.to_bytes(8, "big")
        self._block = hashlib.shake_256(material).digest(_BLOCK)
        self._block_index = index
        self._block_start = index * _BLOCK

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
        # The common case, a few bytes from the block already loaded: one slice. (An
        # unseeded source has no block loaded.)
        position = self._position
        offset = position - self._block_start
        end = offset + n
        if offset >= 0 and end <= _BLOCK and n >= 0:
            self._position = position + n
            return self._block[offset:end]
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
