"""Secrets Manager: versions and labels, encryption per version, rotation on the shared
clock, failed rotations, the rotation function's two strategies, and the clock hook."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from kmssim import KMS
from kmssim.core.errors import DisabledException
from kmssim.services import Database, Lambda, RotationFunction, SecretsManager
from kmssim.services.secrets_rotation import MAX_RETRIES, RETRY_DELAY


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=21)


@pytest.fixture
def sm(kms: KMS) -> SecretsManager:
    return SecretsManager(kms)


@pytest.fixture
def db() -> Database:
    return Database("orders", users={"app": "first-password"})


def _login(db: Database, sm: SecretsManager, **version: str) -> str:
    return db.connect_with(sm.get_secret_value(SecretId="orders/app", **version)
                           ["SecretString"]).user


def _with_rotation(sm: SecretsManager, db: Database, days: int | None = 30,
                   **options: str) -> RotationFunction:
    sm.create_secret(Name="orders/app", SecretString=db.secret_string("app", "first-password"))
    function = RotationFunction(sm, db, **options)
    rules = {"AutomaticallyAfterDays": days} if days else None
    sm.rotate_secret(SecretId="orders/app", RotationLambdaARN=function, RotationRules=rules,
                     RotateImmediately=False if days else None)
    return function


# -- versions and encryption --------------------------------------------------------------

def test_each_version_has_its_own_data_key_and_the_secret_arn_and_version_as_context(kms, sm):
    first = sm.create_secret(Name="api-key", SecretString="v1")
    second = sm.put_secret_value(SecretId="api-key", SecretString="v2")
    generated = kms.trail.query(name="GenerateDataKey")
    assert [e.request["encryptionContext"] for e in generated] == [
        {"SecretARN": first["ARN"], "SecretVersionId": first["VersionId"]},
        {"SecretARN": first["ARN"], "SecretVersionId": second["VersionId"]}]
    assert generated[0].key_arn == kms.describe_key(
        KeyId="alias/aws/secretsmanager")["KeyMetadata"]["Arn"]
    sm.get_secret_value(SecretId=first["ARN"])
    assert kms.trail.query(name="Decrypt")[-1].request["encryptionContext"][
        "SecretVersionId"] == second["VersionId"]


def test_labels_move_as_values_change_and_old_versions_stay_readable_by_id(sm):
    ids = [sm.create_secret(Name="api-key", SecretString="v1")["VersionId"]]
    ids += [sm.put_secret_value(SecretId="api-key", SecretString=v)["VersionId"]
            for v in ("v2", "v3")]
    stages = sm.describe_secret(SecretId="api-key")["VersionIdsToStages"]
    assert stages == {ids[1]: ["AWSPREVIOUS"], ids[2]: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId="api-key")["SecretString"] == "v3"
    assert sm.get_secret_value(SecretId="api-key", VersionStage="AWSPREVIOUS")[
        "SecretString"] == "v2"
    assert sm.get_secret_value(SecretId="api-key", VersionId=ids[0])["SecretString"] == "v1"
    assert [v["VersionId"] for v in sm.list_secret_version_ids(SecretId="api-key")[
        "Versions"]] == ids[1:]
    listed = sm.list_secret_version_ids(SecretId="api-key", IncludeDeprecated=True)["Versions"]
    assert [v["VersionStages"] for v in listed] == [[], ["AWSPREVIOUS"], ["AWSCURRENT"]]


def test_binary_secrets_tokens_and_partial_arns(sm):
    created = sm.create_secret(Name="blob", SecretBinary=b"\x00\x01",
                               ClientRequestToken="a" * 32)
    assert created["VersionId"] == "a" * 32
    partial = created["ARN"][:-7]
    assert sm.get_secret_value(SecretId=partial)["SecretBinary"] == b"\x00\x01"
    again = sm.put_secret_value(SecretId="blob", SecretBinary=b"\x00\x01",
                                ClientRequestToken="a" * 32)      # idempotent retry
    assert again["VersionId"] == "a" * 32
    with pytest.raises(sm.exceptions.ResourceExistsException):
        sm.put_secret_value(SecretId="blob", SecretBinary=b"other", ClientRequestToken="a" * 32)


def test_versions_written_across_kms_rotations_all_read_back(kms, sm):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    sm.create_secret(Name="api-key", SecretString="v0", KmsKeyId=key)
    values = {}
    for month in range(1, 13):
        kms.advance(days=30)
        values[sm.put_secret_value(SecretId="api-key",
                                   SecretString=f"v{month}")["VersionId"]] = f"v{month}"
    assert len(kms.history(key).versions) == 5
    assert {vid: sm.get_secret_value(SecretId="api-key", VersionId=vid)["SecretString"]
            for vid in values} == values
    key_versions = sm.versions("api-key").column("key version")
    assert key_versions == sorted(key_versions) and key_versions[-1] == 5


def test_changing_the_kms_key_rewraps_the_labelled_versions_only(kms, sm):
    old = kms.create_key()["KeyMetadata"]["KeyId"]
    new = kms.create_key()["KeyMetadata"]["Arn"]
    first = sm.create_secret(Name="api-key", SecretString="v1", KmsKeyId=old)["VersionId"]
    for value in ("v2", "v3"):
        sm.put_secret_value(SecretId="api-key", SecretString=value)
    sm.update_secret(SecretId="api-key", KmsKeyId=new)
    rows = {row["version id"]: row["kms key"] for row in sm.versions("api-key")}
    assert rows[first] == old                          # deprecated: left under the old key
    assert sorted(rows.values()).count(new.rsplit("/", 1)[-1]) == 2
    assert len(kms.trail.query(name="ReEncrypt")) == 2
    assert sm.describe_secret(SecretId="api-key")["KmsKeyId"] == new
    kms.disable_key(KeyId=old)
    assert sm.get_secret_value(SecretId="api-key")["SecretString"] == "v3"


# -- rotation --------------------------------------------------------------------------------

def test_rotation_moves_pending_to_current_and_current_to_previous(sm, db):
    sm.create_secret(Name="orders/app", SecretString=db.secret_string("app", "first-password"))
    old = sm.get_secret_value(SecretId="orders/app")["VersionId"]
    new = sm.rotate_secret(SecretId="orders/app", RotationLambdaARN=RotationFunction(sm, db))[
        "VersionId"]
    assert sm.describe_secret(SecretId="orders/app")["VersionIdsToStages"] == {
        old: ["AWSPREVIOUS"], new: ["AWSCURRENT"]}
    assert _login(db, sm) == "app_clone"               # alternating users
    assert _login(db, sm, VersionStage="AWSPREVIOUS") == "app"
    assert sm.rotation_history("orders/app").column("outcome") == ["succeeded"]


def _midnight(when: datetime) -> datetime:
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


def test_a_secret_rotating_monthly_and_its_key_rotating_yearly_run_on_one_clock(kms, sm, db):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key)
    sm.create_secret(Name="orders/app", KmsKeyId=key,
                     SecretString=db.secret_string("app", "first-password"))
    sm.rotate_secret(SecretId="orders/app", RotationLambdaARN=RotationFunction(sm, db),
                     RotationRules={"ScheduleExpression": "rate(30 days)"},
                     RotateImmediately=False)
    start = kms.now
    day = _midnight(start)
    first = kms.next_event_time()
    assert day + timedelta(days=30) <= first < day + timedelta(days=31)   # in the window
    kms.advance(days=751)                              # one call: two years and more
    times = sm.rotation_history().column("started")
    # Each rotation on the UTC day 30 days after the previous one's, within that day.
    assert [_midnight(t) for t in times] == [day + timedelta(days=30 * n) for n in range(1, 26)]
    assert times[0] == first and len(set(t.time() for t in times)) > 1
    assert [v.created for v in kms.history(key).versions[1:]] == [
        start + timedelta(days=365), start + timedelta(days=730)]
    assert _login(db, sm) in ("app", "app_clone")
    versions = sm.list_secret_version_ids(SecretId="orders/app", IncludeDeprecated=True)
    assert all(sm.get_secret_value(SecretId="orders/app", VersionId=v["VersionId"])
               for v in versions["Versions"])          # every version, every key material
    assert set(sm.versions("orders/app").column("key version")) == {1, 2, 3}
    described = sm.describe_secret(SecretId="orders/app")
    # NextRotationDate: "the latest date that rotation will occur" (DescribeSecret's docs),
    # the last second of the next window.
    assert described["NextRotationDate"] == day + timedelta(days=781, seconds=-1)
    assert described["LastRotatedDate"] == times[-1]


def test_the_rotation_time_within_the_window_is_fixed_by_the_seed(db):
    def times(seed: int, rules: dict) -> list[datetime]:
        kms = KMS(seed=seed)
        sm = SecretsManager(kms)
        sm.create_secret(Name="orders/app", SecretString=db.secret_string("app", "pw"))
        sm.rotate_secret(SecretId="orders/app", RotationLambdaARN=RotationFunction(sm, db),
                         RotationRules=rules, RotateImmediately=False)
        kms.advance(days=200)
        return sm.rotation_history().column("started")

    rules = {"AutomaticallyAfterDays": 10}
    assert times(7, rules) == times(7, rules)
    assert times(7, rules) != times(8, rules)
    # Duration "3h": the window is midnight to 03:00 UTC (RotationRules' documentation).
    short = times(7, {"AutomaticallyAfterDays": 10, "Duration": "3h"})
    assert short and all(t - _midnight(t) < timedelta(hours=3) for t in short)


def test_duration_outside_one_utc_day_is_refused(sm, db):
    sm.create_secret(Name="orders/app", SecretString=db.secret_string("app", "pw"))
    with pytest.raises(sm.exceptions.InvalidParameterException, match="Duration"):
        sm.rotate_secret(SecretId="orders/app", RotationLambdaARN=RotationFunction(sm, db),
                         RotationRules={"AutomaticallyAfterDays": 10, "Duration": "25h"})


def test_a_failed_rotation_is_retried_an_hour_later_with_the_same_version(kms, sm, db):
    function = _with_rotation(sm, db)
    function.fail_next("setSecret")
    kms.advance(days=31)
    failed, retry = sm.rotation_attempts[-2:]
    assert failed.failed_step == "setSecret" and failed.trigger == "schedule"
    # "If rotation fails, Secrets Manager retries the entire rotation process multiple
    # times" (DescribeSecret, NextRotationDate); the hour is kmssim's spacing.
    assert retry.trigger == "retry" and retry.succeeded
    assert retry.started == failed.started + RETRY_DELAY
    assert retry.version_id == failed.version_id
    assert sm.get_secret_value(SecretId="orders/app")["VersionId"] == retry.version_id


@pytest.mark.parametrize("step", ["setSecret", "testSecret"])
def test_a_failed_step_keeps_current_working_and_the_next_rotation_completes(kms, sm, db, step):
    function = _with_rotation(sm, db)
    current = sm.get_secret_value(SecretId="orders/app")["VersionId"]
    function.fail_next(step, times=1 + MAX_RETRIES)    # the first try and every retry
    kms.advance(days=31)
    attempts = sm.rotation_attempts[-1 - MAX_RETRIES:]
    assert [a.trigger for a in attempts] == ["schedule"] + ["retry"] * MAX_RETRIES
    attempt = attempts[-1]
    assert attempt.failed_step == step and "simulated failure" in attempt.error
    assert {a.version_id for a in attempts} == {attempt.version_id}
    assert sm.get_secret_value(SecretId="orders/app")["VersionId"] == current
    assert _login(db, sm) == "app"                     # the database still takes AWSCURRENT
    pending = sm.get_secret_value(SecretId="orders/app", VersionStage="AWSPENDING")
    assert pending["VersionId"] == attempt.version_id  # nothing lost
    with pytest.raises(sm.exceptions.InvalidRequestException, match="isn't complete"):
        sm.rotate_secret(SecretId="orders/app")
    kms.advance(days=30)                               # the next window resumes it
    retry = sm.rotation_attempts[-1]
    assert retry.succeeded and retry.version_id == attempt.version_id
    assert sm.get_secret_value(SecretId="orders/app")["VersionId"] == attempt.version_id
    assert _login(db, sm) == "app_clone"
    assert "AWSPENDING" not in str(sm.describe_secret(SecretId="orders/app")["VersionIdsToStages"])


def test_single_user_rotation_failing_at_test_secret_loses_nothing(kms, sm, db):
    function = _with_rotation(sm, db, strategy="single-user")
    function.fail_next("testSecret", times=1 + MAX_RETRIES)
    kms.advance(days=31)
    # The password already changed: AWSCURRENT no longer logs in, AWSPENDING does.
    with pytest.raises(Exception, match="password authentication failed"):
        _login(db, sm)
    assert _login(db, sm, VersionStage="AWSPENDING") == "app"
    kms.advance(days=30)
    assert sm.rotation_attempts[-1].succeeded
    assert _login(db, sm) == "app"
    with pytest.raises(Exception, match="password authentication failed"):
        _login(db, sm, VersionStage="AWSPREVIOUS")     # single user: the old one is gone


def test_a_database_outage_fails_set_secret_and_changes_nothing(kms, sm, db):
    _with_rotation(sm, db, strategy="single-user")
    db.available = False
    kms.advance(days=31)
    assert [a.failed_step for a in sm.rotation_attempts] == ["setSecret"] * (1 + MAX_RETRIES)
    assert "unavailable" in sm.rotation_attempts[-1].error
    db.available = True
    assert _login(db, sm) == "app"
    kms.advance(days=30)
    assert sm.rotation_attempts[-1].succeeded and _login(db, sm) == "app"


def test_cancelling_rotation_drops_a_planned_retry(kms, sm, db):
    function = _with_rotation(sm, db, days=None)
    function.fail_next("setSecret")
    sm.rotate_secret(SecretId="orders/app")
    sm.cancel_rotate_secret(SecretId="orders/app")
    kms.advance(days=2)
    assert [a.trigger for a in sm.rotation_attempts] == ["RotateSecret", "RotateSecret"]


def test_abandoning_a_pending_version_lets_a_manual_rotation_start_afresh(kms, sm, db):
    function = _with_rotation(sm, db, days=None)
    function.fail_next("createSecret")
    sm.rotate_secret(SecretId="orders/app")
    pending = sm.rotation_attempts[-1].version_id
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId="orders/app", VersionStage="AWSPENDING")  # empty version
    sm.update_secret_version_stage(SecretId="orders/app", VersionStage="AWSPENDING",
                                   RemoveFromVersionId=pending)
    sm.rotate_secret(SecretId="orders/app")
    assert sm.rotation_history().column("outcome")[-2:] == ["failed at createSecret",
                                                             "succeeded"]


def test_rotation_through_a_lambda_function_is_audited_as_its_role(kms, sm, db):
    lam = Lambda(kms)
    sm.functions = lam
    arn = lam.create_function(FunctionName="rotate-orders", Handler=RotationFunction(sm, db),
                              Role="role/rotation-lambda",
                              Environment={"Variables": {"DB": "orders"}})["FunctionArn"]
    sm.create_secret(Name="orders/app", SecretString=db.secret_string("app", "first-password"))
    with kms.acting_as("alice"):
        sm.rotate_secret(SecretId="orders/app", RotationLambdaARN=arn)
    assert sm.rotation_attempts[-1].succeeded
    assert sm.describe_secret(SecretId="orders/app")["RotationLambdaARN"] == arn
    principals = {e.principal.rsplit(":", 1)[-1] for e in kms.trail.query(name="GenerateDataKey")}
    assert principals >= {"assumed-role/rotation-lambda/kmssim"}
    assert lam.kms_calls_by_operation() == {"Decrypt": 1, "GenerateDataKey": 1}
    with pytest.raises(sm.exceptions.InvalidParameterException, match="doesn't exist"):
        sm.rotate_secret(SecretId="orders/app", RotationLambdaARN="no-such-function")


def test_rotation_needs_a_function_and_valid_rules(sm, db):
    sm.create_secret(Name="orders/app", SecretString="x")
    with pytest.raises(sm.exceptions.InvalidRequestException, match="No Lambda"):
        sm.rotate_secret(SecretId="orders/app")
    function = RotationFunction(sm, db)
    for rules in ({"AutomaticallyAfterDays": 0}, {"ScheduleExpression": "cron(0 * * * ? *)"},
                  "30"):
        with pytest.raises(sm.exceptions.InvalidParameterException):
            sm.rotate_secret(SecretId="orders/app", RotationLambdaARN=function,
                             RotationRules=rules)
    with pytest.raises(sm.exceptions.InvalidParameterException, match="Lambda"):
        sm.rotate_secret(SecretId="orders/app", RotationLambdaARN="arn:aws:lambda:x")
    assert sm.describe_secret(SecretId="orders/app")["RotationEnabled"] is False


def test_cancelling_rotation_stops_the_schedule(kms, sm, db):
    _with_rotation(sm, db)
    sm.cancel_rotate_secret(SecretId="orders/app")
    kms.advance(days=100)
    assert len(sm.rotation_attempts) == 0
    assert sm.next_due() is None
    assert sm.describe_secret(SecretId="orders/app")["RotationEnabled"] is False


# -- errors ------------------------------------------------------------------------------------

def test_bad_requests_raise_secrets_managers_own_errors(kms, sm):
    sm.create_secret(Name="api-key", SecretString="v1")
    with pytest.raises(sm.exceptions.ResourceNotFoundException) as caught:
        sm.get_secret_value(SecretId="nope")
    assert caught.value.code == "ResourceNotFoundException"
    assert "GetSecretValue" in str(caught.value)
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId="api-key", VersionStage="AWSPENDING")
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId="api-key", VersionId="f" * 36)
    with pytest.raises(sm.exceptions.ResourceExistsException):
        sm.create_secret(Name="api-key", SecretString="again")
    with pytest.raises(sm.exceptions.InvalidParameterException):
        sm.put_secret_value(SecretId="api-key", SecretString="a", SecretBinary=b"b")
    with pytest.raises(sm.exceptions.InvalidParameterException):
        sm.create_secret(Name="bad name!", SecretString="x")
    first = sm.get_secret_value(SecretId="api-key")["VersionId"]
    sm.put_secret_value(SecretId="api-key", SecretString="v2")
    with pytest.raises(sm.exceptions.InvalidParameterException, match="RemoveFromVersionId"):
        sm.update_secret_version_stage(SecretId="api-key", VersionStage="AWSCURRENT",
                                       MoveToVersionId=first)
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.update_secret_version_stage(SecretId="api-key", VersionStage="AWSCURRENT",
                                       MoveToVersionId="0" * 36)


def test_badly_typed_tags_and_excluded_characters_are_invalid_parameters(sm):
    with pytest.raises(sm.exceptions.InvalidParameterException, match="Tags"):
        sm.create_secret(Name="tagged", SecretString="x", Tags="team=a")
    with pytest.raises(sm.exceptions.InvalidParameterException, match="Tags"):
        sm.create_secret(Name="tagged", SecretString="x", Tags=[{"TagKey": "team"}])
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.describe_secret(SecretId="tagged")
    sm.create_secret(Name="tagged", SecretString="x", Tags=[{"Key": "team", "Value": "a"}])
    assert sm.describe_secret(SecretId="tagged")["Tags"] == [{"Key": "team", "Value": "a"}]
    with pytest.raises(sm.exceptions.InvalidParameterException, match="ExcludeCharacters"):
        sm.get_random_password(ExcludeCharacters=5)


def test_an_update_refused_for_its_token_changes_nothing(kms, sm):
    sm.create_secret(Name="api-key", SecretString="v1")
    new_key = kms.create_key()["KeyMetadata"]["KeyId"]
    before = sm.describe_secret(SecretId="api-key")
    calls = len(kms.trail)
    with pytest.raises(sm.exceptions.InvalidParameterException, match="ClientRequestToken"):
        sm.update_secret(SecretId="api-key", KmsKeyId=new_key, Description="moved",
                         SecretString="v2", ClientRequestToken="too-short")
    assert sm.describe_secret(SecretId="api-key") == before
    assert len(kms.trail) == calls
    assert sm.get_secret_value(SecretId="api-key")["SecretString"] == "v1"


def test_a_disabled_key_gives_decryption_and_encryption_failures(kms, sm):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    sm.create_secret(Name="api-key", SecretString="v1", KmsKeyId=key)
    kms.disable_key(KeyId=key)
    with pytest.raises(sm.exceptions.DecryptionFailure) as caught:
        sm.get_secret_value(SecretId="api-key")
    assert isinstance(caught.value.__cause__, DisabledException)
    with pytest.raises(sm.exceptions.EncryptionFailure):
        sm.put_secret_value(SecretId="api-key", SecretString="v2")
    with pytest.raises(sm.exceptions.EncryptionFailure):
        sm.create_secret(Name="other", SecretString="x", KmsKeyId=key)
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["api-key"]
    assert len(sm.list_secret_version_ids(SecretId="api-key")["Versions"]) == 1


def test_random_passwords_are_seeded_and_respect_exclusions():
    def password(**options: object) -> str:
        return SecretsManager(KMS(seed=5)).get_random_password(**options)["RandomPassword"]

    assert password() == password() and len(password()) == 32
    digits_only = password(PasswordLength=12, ExcludeUppercase=True, ExcludeLowercase=True,
                           ExcludePunctuation=True)
    assert digits_only.isdigit() and len(digits_only) == 12
    assert not set(password(ExcludeCharacters="aeiou")) & set("aeiou")


# -- the clock hook in the core ------------------------------------------------------------------

class _Alarm:
    def __init__(self, due):
        self.due, self.rang = due, []

    def next_due(self):
        return self.due

    def run_due(self, now):
        self.rang.append(now)
        self.due = None


def test_clock_listeners_fire_at_their_instant_and_replace_by_name(kms):
    alarm = _Alarm(kms.now + timedelta(days=3))
    kms.add_clock_listener("alarm", alarm)
    assert kms.next_event_time() == kms.now + timedelta(days=3)
    start = kms.now
    kms.advance(days=10)
    assert alarm.rang == [start + timedelta(days=3)] and kms.now == start + timedelta(days=10)
    second = _Alarm(kms.now + timedelta(days=1))
    kms.add_clock_listener("alarm", second)             # replaces the first
    kms.add_clock_listener("other", _Alarm(None))
    kms.advance(days=2)
    assert len(second.rang) == 1 and len(alarm.rang) == 1
    kms.remove_clock_listener("alarm")
    kms.remove_clock_listener("never-added")


def test_a_listener_that_stays_due_is_reported_instead_of_looping(kms):
    stuck = _Alarm(kms.now)
    stuck.run_due = lambda now: None                    # never moves its due time
    kms.add_clock_listener("stuck", stuck)
    with pytest.raises(RuntimeError, match="still due"):
        kms.advance(days=1)


def test_a_second_secrets_manager_takes_over_the_schedule(kms, db):
    first = SecretsManager(kms)
    _with_rotation(first, db)
    second = SecretsManager(kms)
    kms.advance(days=31)
    assert first.rotation_attempts == [] and second.rotation_attempts == []
    assert json.loads(first.get_secret_value(SecretId="orders/app")["SecretString"])[
        "username"] == "app"


def test_the_same_seed_gives_the_same_passwords_versions_and_trail():
    def run() -> tuple[str, list[dict]]:
        kms = KMS(seed=99)
        sm, db = SecretsManager(kms), Database("orders", users={"app": "first-password"})
        _with_rotation(sm, db)
        kms.advance(days=95)
        return sm.get_secret_value(SecretId="orders/app")["SecretString"], \
            kms.trail.to_cloudtrail()

    assert run() == run()
