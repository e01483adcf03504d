"""Small helpers that keep lesson cells to one idea each.

Lessons call the real, boto3-shaped `kmssim.KMS` operations; these helpers only make
the results easy to read: `attempt` and `expect_error` show a failing call as one
line (``DisabledException: …``) instead of a traceback, `show` prints a response the
way the AWS CLI prints JSON, `tamper` damages a ciphertext on purpose, and
`write_records` plays an application that seals a record every so often while
simulated time passes. The self-checks of the "On your own" exercises live in
`kmssim.lessons.exercises` and are re-exported here as `check` (and `material`, which
prints what an exercise asks you to read); `checkpoint("3.4")` rebuilds a lesson's state
at the start of a section for a learner who fell behind (`kmssim.lessons.checkpoints`).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from cryptography.exceptions import InvalidTag

from kmssim.core import SecretBytes
from kmssim.core.envelope import SealedRecord
from kmssim.core.errors import (
    KMSError,
    ParamValidationError,
    ValidationException,
    aws_words,
    hint_line,
)
from kmssim.lessons.checkpoints import checkpoint
from kmssim.lessons.exercises import check, evaluate, material
from kmssim.lessons.records import write_records

if TYPE_CHECKING:
    pass

__all__ = ["attempt", "expect_error", "show", "table", "tamper", "write_records", "check",
           "evaluate", "material", "checkpoint"]

T = TypeVar("T")

#: What `attempt` prints for cryptography's InvalidTag: a local failure, not a KMS error.
LOCAL_FAILURE = ("InvalidTag (from the cryptography library): the local AES-GCM check failed; "
                 "no KMS call failed, so there is no AWS error code")


def attempt(call: Callable[[], T]) -> T | None:
    """Run ``call()``; if it raises an AWS-named error, print it without a traceback.

    ``attempt(lambda: kms.decrypt(CiphertextBlob=blob))`` returns what the call
    returns when it succeeds. When it fails with a `kmssim.KMSError` it prints AWS's
    words, ``<Code>: <message>`` (the code alone where AWS sends no message), then
    kmssim's explanation, if it has one, on a line of its own marked ``kmssim hint:``,
    and returns None. A `ParamValidationError` (what botocore refuses before sending)
    prints botocore's text the same way. A failed *local* AES-GCM check (``InvalidTag``
    from the cryptography library, as in `unseal` of a changed record) prints one line
    saying no KMS call failed. Other exceptions (bugs) are not caught.
    """
    if not callable(call):
        raise ValidationException("attempt() takes a function of no arguments, e.g. "
                                  "attempt(lambda: kms.decrypt(CiphertextBlob=blob)).")
    try:
        return call()
    except (KMSError, ParamValidationError) as error:
        _print_error(error)
        return None
    except InvalidTag:
        print(LOCAL_FAILURE)
        return None


def _print_error(error: KMSError | ParamValidationError) -> None:
    print(aws_words(error))
    hint = hint_line(error)
    if hint:
        print(hint)


@contextlib.contextmanager
def expect_error(*codes: str) -> Iterator[None]:
    """A ``with`` block that is expected to fail with an AWS-named error.

    Prints the error as `attempt` does (AWS's words, then the ``kmssim hint:`` line)
    and swallows it. If the block succeeds, prints that no error happened. When
    ``codes`` are given and the block fails with a different code, the error
    propagates (it was not the expected one); a `ParamValidationError`'s code here is
    ``"ParamValidationError"``.
    """
    try:
        yield
    except (KMSError, ParamValidationError) as error:
        code = error.code if isinstance(error, KMSError) else "ParamValidationError"
        if codes and code not in codes:
            raise
        _print_error(error)
    else:
        wanted = " or ".join(codes) if codes else "an error"
        print(f"No error: the call succeeded (expected {wanted}).")


def _plain(value: Any) -> Any:
    """``value`` with datetimes, bytes and secrets turned into printable JSON values."""
    if isinstance(value, SecretBytes):
        return repr(value)
    if isinstance(value, (bytes, bytearray)):
        head = base64.b64encode(bytes(value)).decode()[:12]
        return f"<{len(value)} bytes: {head}…>"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def show(response: Mapping[str, Any], *fields: str) -> None:
    """Print a response as indented JSON, as ``aws kms …`` prints it.

    Dates become ISO 8601 text; blobs print as ``<n bytes: AQ…>`` and the plaintext
    data key as its fingerprint, so nothing secret and nothing long reaches the
    screen. Name ``fields`` to print only those keys, in that order.
    """
    if not isinstance(response, Mapping):
        raise ValidationException("show() prints a response dictionary, e.g. "
                                  "show(kms.get_key_rotation_status(KeyId=key_id)).")
    if fields:
        missing = [f for f in fields if f not in response]
        if missing:
            raise ValidationException(f"The response has no {', '.join(missing)}; it has "
                                      f"{', '.join(response)}.")
        response = {f: response[f] for f in fields}
    print(json.dumps(_plain(response), indent=2, ensure_ascii=False))


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:8] + "…"            # a key material id: its start is enough to tell
    if value is None:
        return "-"
    return str(value)


def table(rows: Any, *fields: str) -> None:
    """Print a list of response entries (e.g. ``Rotations``) as aligned columns.

    ``fields`` picks and orders the columns (default: every field of the first
    row). Dates print as ``YYYY-MM-DD HH:MM``, key material ids as their first 8
    characters, a missing field as ``-``.
    """
    if isinstance(rows, Mapping) or not all(isinstance(r, Mapping) for r in rows):
        raise ValidationException("table() prints a list of dictionaries, e.g. "
                                  "table(kms.list_key_rotations(KeyId=key_id)[\"Rotations\"]).")
    rows = list(rows)
    columns = list(fields) or (list(rows[0]) if rows else [])
    if not rows:
        print("(no entries)")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for line in cells:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def _flip(data: bytes, at: int) -> bytes:
    if not data:
        raise ValidationException("Nothing to tamper with: the bytes are empty.")
    at %= len(data)
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def tamper(target: T, at: int = -1) -> T:
    """A copy of a ciphertext blob or `SealedRecord` with one bit flipped.

    For a record, the bit is flipped in the encrypted record itself (not in its
    data key). ``at`` picks the byte (default the last one, inside the GCM tag).
    """
    if isinstance(target, SealedRecord):
        return dataclasses.replace(target, ciphertext=_flip(target.ciphertext, at))  # type: ignore[return-value]
    if isinstance(target, (bytes, bytearray)):
        return _flip(bytes(target), at)  # type: ignore[return-value]
    raise ValidationException("tamper() takes a ciphertext (bytes) or a SealedRecord.")
