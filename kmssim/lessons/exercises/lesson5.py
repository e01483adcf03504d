"""Lesson 5 (rotation across services): exercises, and the scenarios that answer them."""

from __future__ import annotations

from kmssim.lessons.checks import Exercise
from kmssim.lessons.exercises._common import rotating_key, sim

__all__ = ["EXERCISES"]


def _s3_calls_without_bucket_key() -> int:
    from kmssim.services import S3
    kms = sim()
    s3 = S3(kms)
    s3.create_bucket(Bucket="photos")
    s3.set_default_encryption("photos", rotating_key(kms))
    for n in range(50):
        s3.put_object(Bucket="photos", Key=f"photo-{n}", Body=b"jpeg")
    for _ in range(2):
        for n in range(50):
            s3.get_object(Bucket="photos", Key=f"photo-{n}")
    return int(s3.kms_calls)


def _key_version_of_current_secret() -> int:
    from kmssim.services import Database, RotationFunction, SecretsManager
    kms = sim()
    secrets = SecretsManager(kms)
    db = Database("orders", users={"app": "first-password"})
    key_id = rotating_key(kms)
    secrets.create_secret(Name="db", KmsKeyId=key_id,
                          SecretString=db.secret_string("app", "first-password"))
    secrets.rotate_secret(SecretId="db", RotationLambdaARN=RotationFunction(secrets, db),
                          RotationRules={"AutomaticallyAfterDays": 30})
    kms.advance(days=500)
    return int(secrets.versions("db").where(stages="AWSCURRENT")[0]["key version"])


def _label_after_failed_test() -> str:
    from kmssim.services import Database, RotationFunction, SecretsManager
    kms = sim()
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
    from kmssim.services import RDS
    kms = sim()
    rds = RDS(kms)
    rds.create_db_instance(DBInstanceIdentifier="shop", MasterUserPassword="first-password",
                           StorageEncrypted=True)
    rds.create_db_snapshot(DBSnapshotIdentifier="before", DBInstanceIdentifier="shop")
    before = rds.kms_calls
    rds.copy_db_snapshot(SourceDBSnapshotIdentifier="before", TargetDBSnapshotIdentifier="moved",
                         KmsKeyId=str(kms.create_key()["KeyMetadata"]["Arn"]))
    return int(rds.kms_calls - before)


def _version_after_copying_an_old_object() -> int:
    from kmssim.services import S3
    kms = sim()
    s3 = S3(kms)
    s3.create_bucket(Bucket="archive")
    s3.set_default_encryption("archive", rotating_key(kms))
    s3.put_object(Bucket="archive", Key="old.txt", Body=b"2025")
    kms.advance(days=365 * 2 + 182)
    s3.copy_object(Bucket="archive", Key="old.txt", CopySource="archive/old.txt",
                   MetadataDirective="REPLACE")
    return int(s3.inspect_object("archive", "old.txt").version or 0)


EXERCISES = (
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
)
