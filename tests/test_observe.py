"""Windows onto the services for lessons: the rotation step log, a secret's versions over
time, KMS calls per usage pattern, and the ready-made Lambda handler."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kmssim import KMS
from kmssim.services import S3, Database, Lambda, RotationFunction, SecretsManager
from kmssim.services.observe import (
    LABELS, StepLog, kms_calls_table, secret_periods, show_environment,
)

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=51, start=START)


@pytest.fixture
def rotating(kms: KMS):
    """A secret under a yearly-rotating key, rotated every 30 days by a logged Lambda."""
    functions = Lambda(kms)
    sm = SecretsManager(kms, functions=functions)
    db = Database("orders", users={"app": "first-password"})
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key)
    sm.create_secret(Name="orders/app", KmsKeyId=key,
                     SecretString=db.secret_string("app", "first-password"))
    function = RotationFunction(sm, db)
    log = StepLog(function, sm)
    functions.create_function(FunctionName="rotate", Handler=log)
    sm.rotate_secret(SecretId="orders/app", RotationLambdaARN="rotate",
                     RotationRules={"AutomaticallyAfterDays": 30})
    return kms, sm, db, function, log, key


def _labels(sm: SecretsManager) -> dict[str, str | None]:
    stages = sm.describe_secret(SecretId="orders/app")["VersionIdsToStages"]
    return {label: next((v for v, held in stages.items() if label in held), None)
            for label in LABELS}


# -- StepLog --------------------------------------------------------------------------------

def test_the_step_log_shows_the_four_steps_and_the_labels_moving(rotating):
    _, sm, _, _, log, _ = rotating
    assert [r.step for r in log.records] == ["createSecret", "setSecret", "testSecret",
                                             "finishSecret"]
    assert all(r.outcome == "ok" for r in log.records)
    new = log.records[0].version_id
    first = sm.versions("orders/app")[0]["version id"]
    assert log.records[0].labels == {"AWSPENDING": new, "AWSCURRENT": first,
                                     "AWSPREVIOUS": None}
    assert log.records[-1].labels == {"AWSPENDING": new, "AWSCURRENT": new,
                                      "AWSPREVIOUS": first}
    assert _labels(sm)["AWSPENDING"] is None          # Secrets Manager removes it afterwards
    table = log.table()
    assert table.columns == ("time", "step", "version", "outcome", *LABELS)
    assert table[0]["version"] == new[:8] and table[0]["AWSPREVIOUS"] == "-"


def test_a_failed_step_is_logged_with_its_error_and_still_fails_the_rotation(rotating):
    kms, sm, db, function, log, _ = rotating
    current = _labels(sm)["AWSCURRENT"]
    function.fail_next("setSecret", "the database refused the connection")
    kms.advance(days=30)
    last = log.records[-1]
    assert (last.step, last.outcome) == (
        "setSecret", "RotationError: setSecret failed: the database refused the connection")
    assert last.labels["AWSCURRENT"] == current and last.labels["AWSPENDING"] == last.version_id
    assert sm.rotation_attempts[-1].failed_step == "setSecret"
    assert db.connect_with(sm.get_secret_value(SecretId="orders/app")["SecretString"])
    assert [r["step"] for r in log.table(last=2)] == ["createSecret", "setSecret"]
    kms.advance(days=30)                               # the next scheduled rotation finishes
    assert log.records[-1].step == "finishSecret"
    assert log.records[-1].version_id == last.version_id
    assert _labels(sm)["AWSCURRENT"] == last.version_id


def test_a_step_log_needs_a_callable():
    with pytest.raises(TypeError):
        StepLog("rotate", SecretsManager(KMS(seed=1)))


# -- secret_periods -------------------------------------------------------------------------

def test_each_version_is_current_until_the_next_takes_over(rotating):
    kms, sm, _, _, _, _ = rotating
    kms.advance(days=100)
    periods = secret_periods(sm, "orders/app")
    current = [r for r in periods if r["current from"] is not None]
    assert len(current) == len(periods) == 5           # the original and four rotations
    # The original and the first rotation happened at the same instant: it lasted no time.
    assert current[0]["current from"] == current[0]["current until"] == START
    for row, following in zip(current, current[1:], strict=False):
        assert row["current until"] == following["current from"]
    assert current[-1]["current until"] is None and current[-1]["stages"] == "AWSCURRENT"
    day = START.replace(hour=0, minute=0, second=0, microsecond=0)
    assert current[1]["current from"] == START
    # Scheduled rotations run within their window: the UTC day 30 days after the last one's.
    assert [r["current from"].replace(hour=0, minute=0) - day for r in current[2:]] == [
        timedelta(days=d) for d in (30, 60, 90)]


def test_a_version_whose_rotation_failed_was_current_only_once_it_finished(rotating):
    kms, sm, _, function, _, _ = rotating
    function.fail_next("testSecret", times=4)         # the first try and the three retries
    kms.advance(days=31)
    pending = secret_periods(sm, "orders/app")[-1]
    assert pending["current from"] is None and pending["stages"] == "AWSPENDING"
    kms.advance(days=30)
    done = secret_periods(sm, "orders/app").where(**{"version id": pending["version id"]})[0]
    assert done["current from"] == sm.rotation_attempts[-1].started
    assert done["current from"].date() == (START + timedelta(days=60)).date()


def test_periods_name_the_key_version_that_encrypts_each_secret_version(rotating):
    kms, sm, _, _, _, key = rotating
    kms.advance(days=400)
    versions = secret_periods(sm, "orders/app").column("key version")
    assert versions[0] == 1 and versions[-1] == 2 and versions == sorted(versions)
    assert set(secret_periods(sm, "orders/app").column("kms key")) == {key}


def test_versions_written_outside_rotations_are_current_from_when_written(kms):
    sm = SecretsManager(kms)
    sm.create_secret(Name="api", SecretString="v1")
    kms.advance(days=5)
    sm.put_secret_value(SecretId="api", SecretString="v2")
    sm.put_secret_value(SecretId="api", SecretString="v3", VersionStages=["AWSPENDING"])
    rows = secret_periods(sm, "api")
    assert [r["current from"] for r in rows] == [START, START + timedelta(days=5), None]
    assert rows[0]["current until"] == START + timedelta(days=5)


# -- KMS calls per pattern --------------------------------------------------------------------

def test_kms_calls_are_counted_per_resource_and_operation(kms):
    s3 = S3(kms)
    for bucket, bucket_key in (("plain", False), ("keyed", True)):
        s3.create_bucket(Bucket=bucket)
        s3.set_default_encryption(bucket, bucket_key=bucket_key)
        for n in range(10):
            s3.put_object(Bucket=bucket, Key=f"o{n}", Body=b"x")
    assert s3.kms_calls_by_operation("plain") == {"GenerateDataKey": 10}
    assert s3.kms_calls_by_operation("keyed") == {"GenerateDataKey": 1}
    assert s3.kms_calls_by_operation() == {"GenerateDataKey": 11}
    assert s3.kms_calls_by_operation("nothing") == {}
    s3.get_object(Bucket="plain", Key="o1")
    table = kms_calls_table({"per object": (s3, "plain"), "bucket key": (s3, "keyed"),
                             "all of S3": (s3, None)})
    assert table.columns == ("pattern", "KMS calls", "Decrypt", "GenerateDataKey")
    assert table.to_dicts() == [
        {"pattern": "per object", "KMS calls": 11, "Decrypt": 1, "GenerateDataKey": 10},
        {"pattern": "bucket key", "KMS calls": 1, "Decrypt": 0, "GenerateDataKey": 1},
        {"pattern": "all of S3", "KMS calls": 12, "Decrypt": 1, "GenerateDataKey": 11}]


def test_kms_calls_table_names_what_it_expects():
    with pytest.raises(TypeError, match="service, resource"):
        kms_calls_table({"oops": ("s3", "bucket")})


# -- the ready-made handler -------------------------------------------------------------------

def test_show_environment_returns_the_decrypted_variables(kms):
    functions = Lambda(kms)
    functions.create_function(FunctionName="report", Handler=show_environment,
                              Environment={"Variables": {"DB_HOST": "orders.db"}})
    payload = json.loads(functions.invoke(FunctionName="report")["Payload"].read())
    assert payload == {"function": "report", "variables": {"DB_HOST": "orders.db"}}
