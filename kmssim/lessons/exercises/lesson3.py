"""Lesson 3 (decrypting old data): exercises, and the scenarios that answer them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from kmssim.core.envelope import open_with_data_key, rewrap, seal
from kmssim.lessons.checks import Exercise
from kmssim.lessons.exercises._common import error_code, new_key, sim
from kmssim.lessons.records import write_records

__all__ = ["EXERCISES"]


def _three_years_of_records() -> tuple[Any, list[Any]]:
    kms = sim()
    key_id = new_key(kms)
    kms.enable_key_rotation(KeyId=key_id)
    return kms, write_records(kms, key_id, 37, every_days=30)


def _records_on_version_2() -> int:
    kms = sim()
    key_id = new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=200)
    records = write_records(kms, key_id, 40, every_days=30)
    return sum(1 for r in records if kms.inspect_ciphertext(r.encrypted_data_key).version == 2)


def _current_version_after_rewrap_and_rotation() -> int:
    kms, records = _three_years_of_records()
    records = [rewrap(kms, r) for r in records]
    kms.advance(days=365)
    current = kms.describe_key(KeyId=records[0].key_arn)["KeyMetadata"]["CurrentKeyMaterialId"]
    return sum(1 for r in records
               if kms.inspect_ciphertext(r.encrypted_data_key).key_material_id == current)


def _leaked_key_after_rotation() -> bool:
    kms = sim()
    key_id = new_key(kms)
    record = seal(kms, key_id, b"salary: 100", {"employee": "7"})
    leaked = kms.decrypt(CiphertextBlob=record.encrypted_data_key,
                         EncryptionContext=record.context)["Plaintext"]
    kms.rotate_key_on_demand(KeyId=key_id)
    record = rewrap(kms, record)
    return error_code(lambda: open_with_data_key(record, leaked)) is None


def _rotation_status_while_pending_deletion() -> bool:
    kms = sim()
    key_id = new_key(kms)
    kms.enable_key_rotation(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    return bool(kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])


def _deletion_date_by_default() -> date:
    kms = sim(datetime(2025, 1, 6, 9, 0, tzinfo=UTC))
    key_id = new_key(kms)
    return kms.schedule_key_deletion(KeyId=key_id)["DeletionDate"].date()


EXERCISES = (
    Exercise("3.1", "int",
        "Version 2 is current from day 200 to day 400. Or simulate it: "
        "teach.write_records(kms, key_id, 40, every_days=30), then print(plot.exposure(kms, "
        "records)).",
        "version 2 wraps the records of days 210 to 390, one every 30 days.",
        _records_on_version_2),
        Exercise("3.2", "int",
        "Re-wrapping moves every data key to the material that is current *then*. Which "
        "data keys does a version made a year later wrap?",
        "a new version only wraps data keys made after it appeared; re-wrapped data keys "
        "stay with the version that was current when you re-wrapped them.",
        _current_version_after_rewrap_and_rotation),
        Exercise("3.3", "bool",
        "Rotation and ReEncrypt change how the data key is *wrapped*, not the data key "
        "itself. Try envelope.open_with_data_key(record, leaked) after re-wrapping.",
        "the record is still encrypted under the same data key; only re-encrypting the "
        "record with a new data key (seal it again) locks the leaked key out.",
        _leaked_key_after_rotation),
        Exercise("3.4", "bool",
        "Schedule the deletion of a key that rotates, then call get_key_rotation_status.",
        "KMS does not rotate a key that is pending deletion, and says so; if you cancel "
        "the deletion, the earlier rotation setting comes back.",
        _rotation_status_while_pending_deletion),
        Exercise("3.5", "date",
        "When you leave out PendingWindowInDays, the waiting period is the longest one "
        "allowed. Look at DeletionDate in the response of schedule_key_deletion.",
        "the default waiting period is 30 days (you may choose 7 to 30).",
        _deletion_date_by_default),
)
