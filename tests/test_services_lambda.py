"""Lambda: environment variables encrypted at rest, decrypted at cold starts, across
KMS rotations and key changes, and what a disabled or deleted key does."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from kmssim import KMS
from kmssim.core.errors import DisabledException
from kmssim.services import Lambda


def report(event, context):
    return {"host": context.environment.get("DB_HOST"), "n": event.get("n"),
            "function": context.function_name}


def fail(event, context):
    raise ValueError("no orders today")


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=31)


@pytest.fixture
def lam(kms: KMS) -> Lambda:
    return Lambda(kms)


def _invoke(lam: Lambda, **payload: object) -> dict:
    return json.loads(lam.invoke(FunctionName="report", Payload=payload)["Payload"].read())


def _create(lam: Lambda, **options: object) -> dict:
    return lam.create_function(FunctionName="report", Handler=report,
                               Environment={"Variables": {"DB_HOST": "orders.db"}}, **options)


def test_variables_are_encrypted_under_aws_lambda_with_the_function_arn_as_context(kms, lam):
    config = _create(lam)
    assert config["Environment"] == {"Variables": {"DB_HOST": "orders.db"}}
    assert "KMSKeyArn" not in config                      # the AWS managed key
    generated = kms.trail.query(name="GenerateDataKey")[0]
    assert generated.key_arn == kms.describe_key(KeyId="alias/aws/lambda")["KeyMetadata"]["Arn"]
    assert generated.request["encryptionContext"] == {
        "aws:lambda:FunctionArn": config["FunctionArn"]}
    assert _invoke(lam, n=1) == {"host": "orders.db", "n": 1, "function": "report"}


def test_a_warm_environment_reuses_the_decrypted_variables(kms, lam):
    _create(lam, Role="role/reporting")
    for _ in range(3):
        _invoke(lam)
    kms.advance(minutes=9)
    _invoke(lam)
    assert lam.kms_calls_by_operation() == {"Decrypt": 1, "GenerateDataKey": 1}
    kms.advance(minutes=10)                               # idle for the whole warm period
    _invoke(lam)
    decrypts = kms.trail.query(name="Decrypt")
    assert len(decrypts) == 2 and lam.cold_starts == 2
    assert decrypts[0].principal == "arn:aws:sts::111122223333:assumed-role/reporting/kmssim"


def test_functions_keep_working_across_rotations_and_new_variables_use_new_material(kms, lam):
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key.rsplit("/", 1)[-1], RotationPeriodInDays=90)
    config = _create(lam, KMSKeyArn=key)
    assert config["KMSKeyArn"] == key
    kms.advance(days=365)
    assert _invoke(lam)["host"] == "orders.db"            # decrypts with version 1
    assert lam.inspect_environment("report").version == 1
    lam.update_function_configuration(FunctionName="report",
                                      Environment={"Variables": {"DB_HOST": "orders-2.db"}})
    assert lam.inspect_environment("report").version == 5
    assert _invoke(lam)["host"] == "orders-2.db"          # a new configuration: cold start
    kms.advance(days=200)
    assert _invoke(lam)["host"] == "orders-2.db"


def test_changing_the_key_reencrypts_the_variables(kms, lam):
    _create(lam)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    changed = lam.update_function_configuration(FunctionName="report", KMSKeyArn=key)
    assert changed["KMSKeyArn"] == key
    assert lam.inspect_environment("report").key_arn == key
    assert lam.get_function_configuration(FunctionName="report")["Environment"] == {
        "Variables": {"DB_HOST": "orders.db"}}
    back = lam.update_function_configuration(FunctionName="report", KMSKeyArn="")
    assert "KMSKeyArn" not in back
    assert lam.inspect_environment("report").key_id == kms.describe_key(
        KeyId="alias/aws/lambda")["KeyMetadata"]["KeyId"]


def test_a_disabled_key_fails_cold_starts_but_not_warm_environments(kms, lam):
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _create(lam, KMSKeyArn=key)
    _invoke(lam)
    kms.disable_key(KeyId=key)
    assert _invoke(lam)["host"] == "orders.db"            # still warm
    environment = lam.get_function_configuration(FunctionName="report")["Environment"]
    assert environment["Error"]["ErrorCode"] == "KMSDisabledException"
    kms.advance(minutes=10)
    with pytest.raises(lam.exceptions.KMSDisabledException) as caught:
        _invoke(lam)
    assert isinstance(caught.value.__cause__, DisabledException)
    assert caught.value.operation == "Invoke"
    kms.enable_key(KeyId=key)
    assert _invoke(lam)["host"] == "orders.db"


def test_keys_pending_deletion_and_deleted_keys_have_their_own_lambda_errors(kms, lam):
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _create(lam, KMSKeyArn=key)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    with pytest.raises(lam.exceptions.KMSInvalidStateException):
        _invoke(lam)
    kms.advance(days=7)
    with pytest.raises(lam.exceptions.KMSNotFoundException):
        _invoke(lam)


def test_a_handler_error_is_reported_as_a_function_error(lam):
    lam.create_function(FunctionName="fail", Handler=fail)
    response = lam.invoke(FunctionName="fail")
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read()) == {
        "errorMessage": "no orders today", "errorType": "ValueError", "stackTrace": []}
    assert lam.kms_calls == 0                             # no variables, no KMS


def test_invocation_types_and_payload_forms(lam):
    _create(lam)
    assert lam.invoke(FunctionName="report", InvocationType="DryRun") == {"StatusCode": 204}
    event = lam.invoke(FunctionName="report", InvocationType="Event", Payload=b'{"n": 2}')
    assert event["StatusCode"] == 202 and event["Payload"].read() == b""
    assert json.loads(lam.invoke(FunctionName=lam.list_functions()["Functions"][0][
        "FunctionArn"], Payload='{"n": 3}')["Payload"].read())["n"] == 3


def test_bad_requests_raise_lambdas_own_errors(lam):
    _create(lam)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="nope")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        _create(lam)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="4KB"):
        lam.create_function(FunctionName="big", Handler=report,
                            Environment={"Variables": {"X": "x" * 5000}})
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="callable"):
        lam.create_function(FunctionName="text", Handler="index.handler")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="JSON"):
        lam.invoke(FunctionName="report", Payload=b"not json")
    lam.delete_function(FunctionName="report")
    assert lam.list_functions() == {"Functions": []}


def test_an_update_refused_for_its_role_changes_nothing(kms, lam):
    _create(lam)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    before = lam.inspect_environment("report")
    calls = len(kms.trail)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="Role"):
        lam.update_function_configuration(FunctionName="report", KMSKeyArn=key, Role=42)
    assert lam.inspect_environment("report") == before
    assert "KMSKeyArn" not in lam.get_function_configuration(FunctionName="report")
    assert len(kms.trail) == calls + 1     # only the Decrypt of the call just above


def test_an_unusable_key_at_creation_creates_nothing(kms, lam):
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=key)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="DisabledException"):
        _create(lam, KMSKeyArn=key)
    assert not lam.has_function("report")
    assert lam.warm_for == timedelta(minutes=10)
