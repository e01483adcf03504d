"""The ciphertext blob: its documented header, and the canonical encryption context.

Real KMS blobs are opaque; ours are documented so learners can look inside. A blob is::

    offset  size  field
    0       1     format: 0x01 data the caller encrypted, 0x02 a data key KMS made
    1       16    KMS key id (the UUID's 16 bytes)
    17      32    key material id (64 hex characters as 32 bytes)
    49      12    AES-GCM nonce
    61      n+16  AES-256-GCM ciphertext of the plaintext, with its tag

The whole 61-byte header followed by the canonical encoding of the encryption
context is the GCM associated data, so changing any header byte or any context
pair makes decryption fail. Decrypt reads the key and material ids from the header
and looks the material up; it never tries keys in turn. The format byte tells decrypt
whether the plaintext is a data key (from GenerateDataKey*), which it then returns as
bytes that print as a fingerprint, while your own data prints as it is.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

from kmssim.core.errors import InvalidCiphertextException

__all__ = ["FORMAT_VERSION", "FORMAT_DATA_KEY", "HEADER_SIZE", "ParsedBlob", "pack", "parse",
           "canonical_context", "mrk_id", "header", "prefix", "split"]

#: Byte 0 of a blob of data the caller gave to Encrypt.
FORMAT_VERSION = 1
#: Byte 0 of a blob that wraps a data key KMS generated.
FORMAT_DATA_KEY = 2
HEADER_SIZE = 61
_TAG = 16
#: The shortest blob (a header and a tag), and the format bytes a blob may start with.
_SHORTEST = HEADER_SIZE + _TAG
_FORMATS = (FORMAT_VERSION, FORMAT_DATA_KEY)


class ParsedBlob(NamedTuple):
    """A blob split into its parts; ``header`` is the bytes authenticated as AAD.
    (A named tuple: made on every Decrypt, it costs a fifth of a frozen dataclass.)"""

    key_id: str
    material_id: str
    nonce: bytes
    header: bytes
    body: bytes
    data_key: bool = False


@lru_cache(maxsize=4096)
def prefix(key_id: str, material_id: str, data_key: bool) -> bytes:
    """The header's first 49 bytes (format, key id, material id): the nonce follows."""
    kind = FORMAT_DATA_KEY if data_key else FORMAT_VERSION
    # A multi-Region key id is "mrk-" and 32 hex digits: the same 16 bytes as a UUID.
    raw = bytes.fromhex(key_id[4:]) if key_id.startswith("mrk-") else uuid.UUID(key_id).bytes
    return bytes((kind,)) + raw + bytes.fromhex(material_id)


def mrk_id(blob_key_id: str) -> str:
    """The multi-Region key id a blob's key id would be if it named one."""
    return "mrk-" + blob_key_id.replace("-", "")


@lru_cache(maxsize=4096)
def _key_id_text(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw))


def header(key_id: str, material_id: str, nonce: bytes, data_key: bool = False) -> bytes:
    """The 61-byte header for a blob made with this key, material and nonce."""
    return prefix(key_id, material_id, data_key) + nonce


def pack(head: bytes, body: bytes) -> bytes:
    """Join a header and an AES-GCM output into a blob."""
    return head + body


def split(blob: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """A blob's parts: its first 49 bytes (format, key id, material id: what `prefix`
    makes), the nonce, the header (both: the start of the associated data) and the
    AES-GCM output; or raise `InvalidCiphertextException` if it is not one of ours."""
    if type(blob) is not bytes:
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise InvalidCiphertextException("", hint="CiphertextBlob must be bytes.")
        blob = bytes(blob)
    if len(blob) < _SHORTEST or blob[0] not in _FORMATS:
        raise InvalidCiphertextException(
            "", hint="The ciphertext is not a KMS ciphertext blob: its length or format is "
                     "wrong (truncated, padded, or not made by KMS). AWS says no more than "
                     "the error code.")
    return blob[:49], blob[49:HEADER_SIZE], blob[:HEADER_SIZE], blob[HEADER_SIZE:]


def parse(blob: bytes) -> ParsedBlob:
    """Split a blob (`split`) and read its ids, or raise `InvalidCiphertextException` if
    it is not one of ours."""
    start, nonce, head, body = split(blob)
    ids = start[1:]
    known = _IDS.get(ids)
    if known is None:
        if len(_IDS) >= 4096:   # bounded: few distinct (key, material) pairs in practice
            _IDS.clear()
        known = _IDS[ids] = (_key_id_text(ids[:16]), ids[16:].hex())
    # tuple.__new__ directly: a named tuple's own __new__ is a Python function.
    return _new(ParsedBlob, (*known, nonce, head, body, start[0] == FORMAT_DATA_KEY))


_new = tuple.__new__
#: The key id and material id each header's bytes 1..48 name.
_IDS: dict[bytes, tuple[str, str]] = {}


def canonical_context(context: Mapping[str, str] | None) -> bytes:
    """Encode an encryption context so that distinct contexts never encode alike.

    Pairs are sorted by key; the count and every key and value are prefixed with
    their length in bytes, so ``{"ab": "c"}`` and ``{"a": "bc"}`` differ.
    """
    if not context:
        return b"\x00\x00\x00\x00"
    pairs = tuple(context.items())
    encoded = _ENCODED.get(pairs)
    if encoded is None:
        if len(_ENCODED) >= 1024:   # bounded: a workload of ever-new contexts
            _ENCODED.clear()
        encoded = _ENCODED[pairs] = _encode(context)
    return encoded


#: Recent contexts' encodings, keyed by their (key, value) pairs in the caller's order
#: (the encoding sorts them; a context in another order gets its own, equal, entry).
_ENCODED: dict[tuple[tuple[str, str], ...], bytes] = {}


def _encode(context: Mapping[str, str]) -> bytes:
    out = bytearray(len(context).to_bytes(4, "big"))
    for name in sorted(context):
        raw_name, raw_value = name.encode(), context[name].encode()
        out += len(raw_name).to_bytes(4, "big")
        out += raw_name
        out += len(raw_value).to_bytes(4, "big")
        out += raw_value
    return bytes(out)
