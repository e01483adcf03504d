"""Lesson 3 (decrypting old data): exercises, and the scenarios that answer them."""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from typing import Any

from kmssim.core.envelope import open_with_data_key, rewrap, seal, unseal
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


STRATEGIES = ("rotate", "reencrypt", "reseal")


def _strategy_that_locks_out_a_leaked_data_key() -> str:
    """Try each response to a leaked data key; answer the one after which it fails."""
    for strategy in STRATEGIES:
        kms = sim()
        key_id = new_key(kms)
        record = seal(kms, key_id, b"salary: 100", {"employee": "7"})
        leaked = kms.decrypt(CiphertextBlob=record.encrypted_data_key,
                             EncryptionContext=record.context)["Plaintext"]
        if strategy == "rotate":
            kms.rotate_key_on_demand(KeyId=key_id)
        elif strategy == "reencrypt":
            kms.rotate_key_on_demand(KeyId=key_id)
            record = rewrap(kms, record)
        else:
            record = seal(kms, key_id, unseal(kms, record), record.context)
        if error_code(functools.partial(open_with_data_key, record, leaked)) is not None:
            return strategy
    raise AssertionError("no strategy locked the leaked data key out")  # pragma: no cover


def _records_under_material_older_than_a_year() -> int:
    kms, records = _three_years_of_records()
    versions = {v.material_id: v for v in kms.history(records[0].key_arn).versions}
    limit = kms.now - timedelta(days=365)
    return sum(1 for record in records
               if versions[kms.inspect_ciphertext(record.encrypted_data_key).key_material_id]
               .created < limit)


@functools.cache
def _decrypt_record_scenario() -> tuple[str, int]:
    """A Decrypt of record 20 of three years of records: its CloudTrail JSON, the
    key's ListKeyRotations (all material), and the version it used."""
    kms, records = _three_years_of_records()
    record = records[19]
    unseal(kms, record)
    event = [e for e in kms.trail if e.name == "Decrypt"][-1]
    trail = json.dumps(event.to_cloudtrail(), indent=2, default=str)
    rotations = kms.list_key_rotations(KeyId=record.key_arn,
                                       IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    lines = ["ListKeyRotations(IncludeKeyMaterial=\"ALL_KEY_MATERIAL\") for the same key:",
             f"{'RotationDate':<17} {'KeyMaterialState':<17} KeyMaterialId"]
    for row in rotations:
        when = (row["RotationDate"].strftime("%Y-%m-%d %H:%M") if "RotationDate" in row
                else "(original)")
        lines.append(f"{when:<17} {row['KeyMaterialState']:<17} {row['KeyMaterialId']}")
    version = kms.inspect_ciphertext(record.encrypted_data_key).version
    return "CloudTrail record of one Decrypt call:\n" + trail + "\n\n" + "\n".join(lines), version


def _version_named_in_the_cloudtrail_record() -> int:
    return _decrypt_record_scenario()[1]


def _cloudtrail_material() -> str:
    return _decrypt_record_scenario()[0]


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
        Exercise("3.3", "text",
        "Answer \"rotate\", \"reencrypt\" or \"reseal\". Which of them changes the data "
        "key the record is encrypted under? Try each in the empty cell with "
        "open_with_data_key(record, leaked).",
        "rotation and ReEncrypt change only how the data key is wrapped; the record is "
        "still encrypted under the leaked data key until you seal it again under a new "
        "one (decrypt with the old data key, encrypt with a fresh GenerateDataKey).",
        _strategy_that_locks_out_a_leaked_data_key),
        Exercise("3.4", "int",
        "Predict first: which versions were created more than 365 days before the last "
        "record? Then check with teach.write_records, kms.history(key_id).versions "
        "(each has .created) and kms.inspect_ciphertext.",
        "versions 1 and 2 were created more than a year before the last record (version 3 "
        "only 350 days before), so their 13 + 12 records break the policy until they are "
        "re-encrypted (rewrap) under the current material.",
        _records_under_material_older_than_a_year),
        Exercise("3.5", "int",
        "Find additionalEventData.keyMaterialId in the record and look it up in the "
        "rotations list (the first row is the material the key was created with: "
        "version 1).",
        "the record names the exact key material the call used; counting the original "
        "material as version 1, it is the one that was current when record 20 was "
        "written, in 2026.",
        _version_named_in_the_cloudtrail_record, _cloudtrail_material),
)
