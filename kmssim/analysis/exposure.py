"""Which key material protects which ciphertexts: counts and bytes per key version.

A ciphertext (or an envelope record's encrypted data key) names the key material
that wrapped it. If that one version's material leaked, exactly those ciphertexts
would be exposed: its *blast radius*. `exposure` counts them, from the records you
hold; `produced_by_version` reads the same from the audit trail, with times. Both
are plain data with no plotting, so lessons can print them and tests can assert them.

>>> from kmssim import KMS
>>> kms = KMS(seed=5)
>>> key = kms.create_key()["KeyMetadata"]["KeyId"]
>>> blobs = [kms.encrypt(KeyId=key, Plaintext=b"hello")["CiphertextBlob"] for _ in range(3)]
>>> _ = kms.rotate_key_on_demand(KeyId=key)
>>> blobs.append(kms.encrypt(KeyId=key, Plaintext=b"hello")["CiphertextBlob"])
>>> [(row.version, row.count) for row in exposure(kms, blobs).rows]
[(1, 3), (2, 1)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kmssim.core import HEADER_SIZE
from kmssim.core.envelope import SealedRecord
from kmssim.core.errors import ValidationException

if TYPE_CHECKING:
    from kmssim.core import KMS, KeyHistory

__all__ = ["Exposure", "VersionExposure", "exposure", "produced_by_version", "key_label",
           "Record", "PRODUCING_OPERATIONS"]

#: A ciphertext as lessons hold it: a blob, an Encrypt-style response dict, or a SealedRecord.
Record = bytes | bytearray | Mapping[str, Any] | SealedRecord

#: Calls whose successful audit event stands for one new ciphertext or wrapped data key.
#: For ReEncrypt the event's key and material are the *destination*, where it now lives.
PRODUCING_OPERATIONS = frozenset({"Encrypt", "GenerateDataKey",
                                  "GenerateDataKeyWithoutPlaintext", "ReEncrypt"})


def key_label(history: KeyHistory) -> str:
    """How pictures and tables name a key: its first alias, else its id's first 8 characters."""
    return history.aliases[0] if history.aliases else history.key_id[:8]


@dataclass(frozen=True, slots=True)
class VersionExposure:
    """What one key-material version protects: ``count`` ciphertexts, ``size`` bytes."""

    key_id: str
    key_label: str
    version: int
    material_id: str
    count: int
    size: int
    current: bool


@dataclass(frozen=True, slots=True)
class Exposure:
    """Per-version counts for a set of records; ``print()`` it for a table.

    ``rows`` lists every version of every key the records use, oldest first, so a
    version that protects nothing shows as 0.
    """

    rows: tuple[VersionExposure, ...]

    @property
    def total_count(self) -> int:
        return sum(row.count for row in self.rows)

    @property
    def total_size(self) -> int:
        return sum(row.size for row in self.rows)

    def row(self, key: str | None = None, version: int | None = None) -> VersionExposure:
        """The row of ``version`` (a number) of ``key`` (id, ARN, alias or label).

        ``key`` may be left out when the records use one key only; ``version`` may be
        left out to get that key's current version. Raises ValidationException if no
        row matches or the choice is ambiguous.
        """
        rows = self.rows
        if key is not None:
            wanted = key.rsplit("/", 1)[-1] if key.startswith("arn:") else key
            rows = tuple(r for r in rows if wanted in (r.key_id, r.key_label))
        if len({r.key_id for r in rows}) > 1:
            raise ValidationException("These records use several keys: name one, e.g. "
                                      "row(key='alias/app', version=2).")
        rows = tuple(r for r in rows if (r.current if version is None else r.version == version))
        if not rows:
            raise ValidationException(f"No version {version} of key {key} among these records.")
        return rows[0]

    def __str__(self) -> str:
        """A table with one row per version. Keys are named by their id's first 8
        characters, followed by their alias when they have one, so a key reads the same
        in every row; "(current material)" marks each key's current version."""
        total_count, total_size = self.total_count or 1, self.total_size or 1
        names = [_row_name(r) for r in self.rows]
        width = max([len("key")] + [len(name) for name in names])
        lines = [f"{'key':{width}}  version  ciphertexts  share        bytes  share"]
        for r, name in zip(self.rows, names, strict=True):
            mark = " (current material)" if r.current else ""
            lines.append(f"{name:{width}}  {'v' + str(r.version):>7}  {r.count:11,}  "
                         f"{r.count / total_count:6.1%}  {r.size:11,}  {r.size / total_size:6.1%}"
                         f"{mark}")
        lines.append(f"{'total':{width}}  {'':7}  {self.total_count:11,}  {'':6}  "
                     f"{self.total_size:11,}")
        return "\n".join(lines)


def _row_name(row: VersionExposure) -> str:
    short = row.key_id[:8]
    return short if row.key_label == short else f"{short} {row.key_label}"


def locate(kms: KMS, records: Iterable[Record]) -> dict[tuple[str, str], list[int]]:
    """Group records by ``(key id, material id)``; the values are the records' sizes.

    Blobs are grouped by their 49-byte key-and-material header first and only one per
    group is inspected, so 100,000 blobs cost one pass. Raises
    InvalidCiphertextException for a blob this simulator did not make, and
    ValidationException for something that is not a record at all.
    """
    by_header: dict[bytes, tuple[bytes, list[int]]] = {}
    located: dict[tuple[str, str], list[int]] = {}
    for record in records:
        if isinstance(record, SealedRecord):
            key_id = record.key_arn.rsplit("/", 1)[-1]
            located.setdefault((key_id, record.key_material_id), []).append(record.size)
            continue
        if isinstance(record, Mapping) and "CiphertextBlob" in record:
            record = record["CiphertextBlob"]
        if not isinstance(record, (bytes, bytearray)):
            raise ValidationException(
                f"Expected ciphertext blobs or SealedRecords, got {type(record).__name__}.")
        # A blob too short to be one of ours gets a group of its own, so inspecting it
        # raises the same InvalidCiphertextException KMS would.
        head = bytes(record[:49]) if len(record) > HEADER_SIZE else bytes(record)
        by_header.setdefault(head, (bytes(record), []))[1].append(len(record))
    for sample, sizes in by_header.values():
        info = kms.inspect_ciphertext(sample)
        located.setdefault((info.key_id, info.key_material_id), []).extend(sizes)
    return located


def exposure(kms: KMS, records: Iterable[Record]) -> Exposure:
    """Count how many of ``records`` each key-material version protects, and their bytes.

    ``records`` are ciphertext blobs, Encrypt/GenerateDataKey responses, or
    `SealedRecord` from `kmssim.envelope.seal` (whose size counts the record and its
    encrypted data key). Returns an `Exposure`; ``print(exposure(kms, blobs))`` shows
    a table. Deleted keys still count: their ciphertexts exist, unreadable.
    """
    located = locate(kms, records)
    histories = {key_id: kms.history(key_id) for key_id, _ in located}
    order = {key_id: i for i, key_id in enumerate(kms.key_ids(include_deleted=True))}
    rows = []
    for key_id in sorted(histories, key=lambda k: order.get(k, len(order))):
        history = histories[key_id]
        label = key_label(history)
        for version in history.versions:
            sizes = located.get((key_id, version.material_id), [])
            rows.append(VersionExposure(key_id, label, version.number, version.material_id,
                                        len(sizes), sum(sizes),
                                        version.retired is None and history.state != "Deleted"))
    return Exposure(tuple(rows))


def produced_by_version(kms: KMS) -> dict[tuple[str, str], list[datetime]]:
    """When each ciphertext or data key in the audit trail was made, by ``(key id, material id)``.

    Reads the successful Encrypt, GenerateDataKey(WithoutPlaintext) and ReEncrypt
    events (ReEncrypt counts for its destination). Times are in trail order.
    """
    by_arn: dict[tuple[str | None, str | None], list[datetime]] = {}
    producing = PRODUCING_OPERATIONS
    for event in kms.trail:
        if event.name in producing and event.error_code is None:
            where = (event.key_arn, event.key_material_id)
            times = by_arn.get(where)
            if times is None:
                times = by_arn[where] = []
            times.append(event.time)
    # Grouping by the ARN first and naming keys by id once per group keeps this one
    # cheap pass over the trail, even with 100,000 events.
    return {(arn.rsplit("/", 1)[-1], material): times
            for (arn, material), times in by_arn.items() if arn and material}
