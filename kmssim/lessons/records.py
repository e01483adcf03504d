"""Records written over simulated time: the workload behind lessons 3 and 6."""

from __future__ import annotations

from kmssim.core import KMS
from kmssim.core.envelope import SealedRecord, seal
from kmssim.core.errors import ValidationException

__all__ = ["write_records"]


def write_records(kms: KMS, key_id: str, count: int, *, every_days: float = 30,
                  prefix: str = "record") -> list[SealedRecord]:
    """Seal ``count`` records under ``key_id``, advancing the clock between them.

    The first record is sealed now; then the clock moves ``every_days`` before each
    next one, so rotations that fall due in between happen and later records are
    wrapped by newer key material. Each record's plaintext is ``b"<prefix> <n>"`` and
    its encryption context ``{"record": "<prefix>-<n>"}`` (n from 1). The clock is
    left at the moment of the last record.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValidationException("count must be a whole number of records (0 or more).")
    if not isinstance(every_days, (int, float)) or every_days < 0:
        raise ValidationException("every_days must be a number of days, 0 or more.")
    records = []
    for n in range(1, count + 1):
        if n > 1:
            kms.advance(days=every_days)
        records.append(seal(kms, key_id, f"{prefix} {n}".encode(),
                            {"record": f"{prefix}-{n}"}))
    return records
