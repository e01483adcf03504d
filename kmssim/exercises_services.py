"""Self-checks of lessons 5 and 6: services on the KMS clock, the audit trail, compliance, cost.

Each solver runs a small seeded scenario and returns the answer, so the expected answers
are never typed in; `kmssim.exercises` registers them (``EXERCISES``) beside those of
lessons 1 to 4. Services, fleets and prices are imported inside the solvers, so that
importing the lesson helpers stays light.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from .selfcheck import Exercise

__all__ = ["SERVICE_EXERCISES"]

_START = datetime(2025, 1, 1, tzinfo=UTC)


def _sim(start: datetime = _START) -> Any:
    from .kms import KMS
    return KMS(seed="exercises", start=start)


def _rotating_key(kms: Any, period: int = 365) -> str:
    key_id = str(kms.create_key()["KeyMetadata"]["KeyId"])
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=period)
    return key_id


# -- lesson 5 -------------------------------------------------------------------------

def _s3_calls_without_bucket_key() -> int:
    from .services import S3
    kms = _sim()
    s3 = S3(kms)
    s3.create_bucket(Bucket="photos")
    s3.set_default_encryption("photos", _rotating_key(kms))
    for n in range(50):
        s3.put_object(Bucket="photos", Key=f"photo-{n}", Body=b"jpeg")
    for _ in range(2):
        for n in range(50):
            s3.get_object(Bucket="photos", Key=f"photo-{n}")
    return int(s3.kms_calls)


def _key_version_of_current_secret() -> int:
    from .services import Database, RotationFunction, SecretsManager
    kms = _sim()
    secrets = SecretsManager(kms)
    db = Database("orders", users={"app": "first-password"})
    key_id = _rotating_key(kms)
    secrets.create_secret(Name="db", KmsKeyId=key_id,
                          SecretString=db.secret_string("app", "first-password"))
    secrets.rotate_secret(SecretId="db", RotationLambdaARN=RotationFunction(secrets, db),
                          RotationRules={"AutomaticallyAfterDays": 30})
    kms.advance(days=500)
    return int(secrets.versions("db").where(stages="AWSCURRENT")[0]["key version"])


def _label_after_failed_test() -> str:
    from .services import Database, RotationFunction, SecretsManager
    kms = _sim()
    secrets = SecretsManager(kms)
    db = Database("orders", users={"app": "first-password"})
    secrets.create_secret(Name="db", SecretString=db.secret_string("app", "first-password"))
    function = RotationFunction(secrets, db)
    function.fail_next("testSecret")
    secrets.rotate_secret(SecretId="db", RotationLambdaARN=function)
    attempt = secrets.rotation_attempts[-1]
    stages = secrets.describe_secret(SecretId="db")["VersionIdsToStages"][attempt.version_id]
    return " ".join(stages)


def _kms_calls_to_copy_a_snapshot() -> int:
    from .services import RDS
    kms = _sim()
    rds = RDS(kms)
    rds.create_db_instance(DBInstanceIdentifier="shop", MasterUserPassword="first-password",
                           StorageEncrypted=True)
    rds.create_db_snapshot(DBSnapshotIdentifier="before", DBInstanceIdentifier="shop")
    before = rds.kms_calls
    rds.copy_db_snapshot(SourceDBSnapshotIdentifier="before", TargetDBSnapshotIdentifier="moved",
                         KmsKeyId=str(kms.create_key()["KeyMetadata"]["Arn"]))
    return int(rds.kms_calls - before)


def _version_after_copying_an_old_object() -> int:
    from .services import S3
    kms = _sim()
    s3 = S3(kms)
    s3.create_bucket(Bucket="archive")
    s3.set_default_encryption("archive", _rotating_key(kms))
    s3.put_object(Bucket="archive", Key="old.txt", Body=b"2025")
    kms.advance(days=365 * 2 + 182)
    s3.copy_object(Bucket="archive", Key="old.txt", CopySource="archive/old.txt",
                   MetadataDirective="REPLACE")
    return int(s3.inspect_object("archive", "old.txt").version or 0)


# -- lesson 6 -------------------------------------------------------------------------

def _decrypts_served_by_version_1() -> int:
    from .auditing import material_usage
    from .envelope import unseal
    from .teach import write_records
    kms = _sim()
    key_id = _rotating_key(kms)
    records = write_records(kms, key_id, 25, every_days=30)
    for record in records:
        unseal(kms, record)
    return int(material_usage(kms, key_id).where(version=1)[0]["decrypted"])


def _pre_2024_price_in_month_25() -> int:
    from .cost import PRE_2024, monthly_costs
    kms = _sim()
    _rotating_key(kms, period=90)
    kms.advance_to(datetime(2027, 2, 1, tzinfo=UTC))
    return round(monthly_costs(kms, PRE_2024).where(month="2027-01")[0]["total $"])


def _rule_for_use_after_scheduled_deletion() -> str:
    from .compliance import Policy, compliance
    from .errors import KMSError
    kms = _sim()
    key_id = _rotating_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"still needed")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    kms.advance(days=10)
    with contextlib.suppress(KMSError):       # refused: the key is pending deletion
        kms.decrypt(CiphertextBlob=blob)
    findings = compliance(kms, Policy(require_aliases=False))
    return str(findings[0]["rule"])


def _keys_rotating_too_slowly_in_a_small_fleet() -> int:
    from .compliance import Policy, compliance
    from .fleet import build_fleet
    kms = _sim()
    build_fleet(kms, keys=20, years=2, seed=3)
    findings = compliance(kms, Policy(max_rotation_days=365))
    return len(findings.where(rule="rotation-period"))


_EXERCISES = (
    Exercise("5.1", "int",
        "Without a Bucket Key, S3 asks KMS for a data key for every PutObject and to decrypt "
        "it for every GetObject. Or try it: a bucket, 50 put_object, 100 get_object, then "
        "s3.kms_calls.",
        "50 GenerateDataKey (one per object) plus 100 Decrypt (one per read).",
        _s3_calls_without_bucket_key),
    Exercise("5.2", "int",
        "The secret's newest version was written by its last rotation, at a multiple of 30 "
        "days. Which key material was current then? Count the original material as 1.",
        "the last secret rotation before day 500 was on day 480, after the key's first "
        "rotation (day 365) and before its second (day 730).",
        _key_version_of_current_secret),
    Exercise("5.3", "text",
        "Only finishSecret moves AWSCURRENT. Try it: rotation.fail_next(\"testSecret\"), rotate, "
        "then look at describe_secret(...)[\"VersionIdsToStages\"].",
        "the new version stays AWSPENDING (AWSCURRENT did not move), and the next scheduled "
        "rotation tries that same version again.",
        _label_after_failed_test),
    Exercise("5.4", "int",
        "To re-encrypt the copy, RDS needs the old data key in plaintext and a new data key "
        "from the new KMS key. Or count: rds.kms_calls before and after copy_db_snapshot.",
        "one Decrypt of the snapshot's data key under the old key, one GenerateDataKey under "
        "the new key.",
        _kms_calls_to_copy_a_snapshot),
    Exercise("5.5", "int",
        "A copy is a new write: its data key is wrapped by the material that is current when "
        "you copy. How many yearly rotations happen in two and a half years?",
        "two rotations have happened, so the current material is version 3; the original "
        "object was under version 1 until the copy.",
        _version_after_copying_an_old_object),
    Exercise("6.1", "int",
        "Version 1 wrapped the data keys of every record written before the first rotation. "
        "Or simulate it and look at the 'decrypted' column of auditing.material_usage.",
        "the 13 records written on days 0 to 360 have data keys wrapped by version 1; each "
        "was decrypted once.",
        _decrypts_served_by_version_1),
    Exercise("6.2", "int",
        "Before April 2024, every rotation added $1 a month, for ever. How many 90-day "
        "rotations has the key had by January 2027? Or use cost.monthly_costs(kms, "
        "cost.PRE_2024).",
        "eight rotations by 22 December 2026, so $1 + 8 × $1 for all of January 2027; under "
        "today's prices it would be $3.",
        _pre_2024_price_in_month_25),
    Exercise("6.3", "text",
        "Run compliance(kms) after a call on a key that is pending deletion and read the "
        "'rule' column.",
        "a call after ScheduleKeyDeletion means something still depends on the key: cancel "
        "the deletion (and disable the key first next time).",
        _rule_for_use_after_scheduled_deletion),
    Exercise("6.4", "int",
        "Build it: small = KMS(seed=1); build_fleet(small, keys=20, years=2, seed=3); then "
        "count compliance(small, Policy(max_rotation_days=365)).where(rule=\"rotation-period\").",
        "those are the keys whose automatic rotation is on but slower than 365 days (the "
        "fleet's \"2 years\" profile).",
        _keys_rotating_too_slowly_in_a_small_fleet),
)

#: Lessons 5 and 6's exercises by id, in lesson order.
SERVICE_EXERCISES: dict[str, Exercise] = {e.exercise_id: e for e in _EXERCISES}
