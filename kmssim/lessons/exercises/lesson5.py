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


def _versions_after_a_failed_and_retried_rotation() -> int:
    from kmssim.services import Database, RotationFunction, SecretsManager
    kms = sim()
    secrets = SecretsManager(kms)
    db = Database("orders", users={"app": "first-password"})
    secrets.create_secret(Name="db", SecretString=db.secret_string("app", "first-password"))
    function = RotationFunction(secrets, db)
    secrets.rotate_secret(SecretId="db", RotationLambdaARN=function,
                          RotationRules={"AutomaticallyAfterDays": 30})
    kms.advance(days=31)
    function.fail_next("testSecret")     # the rotation due on day 60 fails once at testSecret
    kms.advance(days=94)                 # day 125
    return len(secrets.versions("db"))


RDS_OUTCOMES = ("created", "refused", "aws/rds")


def _what_rds_does_for_a_role_without_create_grant() -> str:
    """A role allowed only kms:DescribeKey on a key asks RDS for an instance under it."""
    from kmssim.core.errors import KMSError
    from kmssim.services import RDS
    from kmssim.services.errors import AWSServiceError
    kms = sim()
    rds = RDS(kms)
    key_arn = str(kms.create_key()["KeyMetadata"]["Arn"])
    kms.iam.create_role("deployer", policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": key_arn}]}])
    try:
        with kms.acting_as("role/deployer"):
            instance = rds.create_db_instance(DBInstanceIdentifier="orders",
                                              MasterUserPassword="first-password",
                                              KmsKeyId=key_arn)["DBInstance"]
    except (AWSServiceError, KMSError):
        return "refused"
    return "created" if instance["KmsKeyId"] == key_arn else "aws/rds"


def _version_after_copying_an_old_object() -> int:
    from kmssim.services import S3
    kms = sim()
    s3 = S3(kms)
    s3.create_bucket(Bucket="archive")
    key_id = rotating_key(kms)
    s3.set_default_encryption("archive", key_id)
    s3.put_object(Bucket="archive", Key="old.txt", Body=b"2025")
    kms.advance(days=365 * 2 + 182)
    s3.copy_object(Bucket="archive", Key="old.txt", CopySource="archive/old.txt",
                   ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)
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
        Exercise("5.3", "int",
        "Predict first, then check. RotateSecret rotates once right away, then every 30 "
        "days; a failed rotation leaves its new version AWSPENDING, and Secrets Manager "
        "retries the whole rotation with that same version (kmssim: an hour later). Try it: "
        "rotation.fail_next(\"testSecret\") after kms.advance(days=31), then "
        "kms.advance(days=94) and len(sm.versions(...)).",
        "the original, the rotations of day 0 and day 30, the version created by the "
        "failed rotation of day 60 (finished by the retry, not replaced), and the rotations "
        "of day 90 and day 120: six.",
        _versions_after_a_failed_and_retried_rotation),
        Exercise("5.4", "text",
        "Answer \"created\", \"refused\" or \"aws/rds\". Who asks KMS for RDS's grant on "
        "the key: RDS itself, or the principal creating the instance? Try it: kms.iam."
        "create_role(\"deployer\", policies=[...]) allowing only kms:DescribeKey, then "
        "rds.create_db_instance(...) inside kms.acting_as(\"role/deployer\").",
        "RDS creates its grant on the key in the name of the principal creating the instance "
        "(through RDS), so that principal needs kms:CreateGrant as well as kms:DescribeKey "
        "(RDS User Guide, \"AWS KMS key management\"). Without it KMS refuses CreateGrant, "
        "and RDS answers KMSKeyNotAccessibleFault; it never falls back to aws/rds.",
        _what_rds_does_for_a_role_without_create_grant),
        Exercise("5.5", "int",
        "A copy is a new write: its data key is wrapped by the material that is current when "
        "you copy. How many yearly rotations happen in two and a half years?",
        "two rotations have happened, so the current material is version 3; the original "
        "object was under version 1 until the copy.",
        _version_after_copying_an_old_object),
)
