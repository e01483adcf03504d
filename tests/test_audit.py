"""The audit trail: one CloudTrail-shaped event per call and per service action
(kms-facts.md section 9)."""

from __future__ import annotations

import json

import pytest

from kmssim import KMS, KMSError
from kmssim.core.errors import (
    DisabledException, InvalidCiphertextException, NotFoundException, ValidationException,
)
from kms_support import new_key, utc


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=6)


def test_every_call_adds_one_event_with_the_simulated_time(kms: KMS) -> None:
    key = new_key(kms)
    kms.advance(days=3)
    kms.encrypt(KeyId=key, Plaintext=b"x")
    assert [(e.name, e.time, e.event_type) for e in kms.trail] == [
        ("CreateKey", utc(2024, 1, 1), "AwsApiCall"), ("Encrypt", utc(2024, 1, 4), "AwsApiCall")]


def test_failed_calls_are_recorded_with_their_error(kms: KMS) -> None:
    key = new_key(kms)
    kms.disable_key(KeyId=key)
    with pytest.raises(DisabledException):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    with pytest.raises(NotFoundException):
        kms.describe_key(KeyId="alias/none")
    with pytest.raises(TypeError):                  # botocore's answer: nothing is sent
        kms.describe_key("positional")
    with pytest.raises(ValidationException):        # the service's: KeyIdType max 2048
        kms.describe_key(KeyId="k" * 2049)
    encrypt, describe, positional = kms.trail[-3:]
    record = encrypt.to_cloudtrail()
    assert (record["eventName"], record["errorCode"]) == ("Encrypt", "DisabledException")
    assert "is disabled" in record["errorMessage"]
    assert record["resources"][0]["ARN"].endswith(key)
    assert describe.error_code == "NotFoundException" and describe.key_arn is None
    assert positional.error_code == "ValidationException" and not positional.succeeded
    assert [e.name for e in kms.trail.query(failed=True)] == ["Encrypt", "DescribeKey",
                                                             "DescribeKey"]


def test_disabling_a_key_first_shows_who_still_uses_it(kms: KMS) -> None:
    # kms-facts 6.9 and 12.4: before deleting, disable the key and watch the trail for
    # DisabledException; each failure must name the key, the caller and the operation.
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"app": "billing"})
    kms.disable_key(KeyId=key)
    kms.advance(days=2)
    with kms.acting_as("role/billing"), pytest.raises(DisabledException):
        kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"app": "billing"})
    [failure] = kms.trail.query(key=key, failed=True)
    assert (failure.name, failure.error_code, failure.principal, failure.time) == (
        "Decrypt", "DisabledException", "arn:aws:sts::111122223333:assumed-role/billing/kmssim",
        utc(2024, 1, 3))
    # Decrypt entries always name the algorithm, even when the caller left it out (facts 9.5).
    assert failure.to_cloudtrail()["requestParameters"] == {
        "encryptionContext": {"app": "billing"}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}


def test_failed_decrypt_of_a_damaged_blob_names_no_key(kms: KMS) -> None:
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob[:5] + b"?" + blob[6:])
    assert kms.trail[-1].key_arn is None


def test_calls_record_who_made_them(kms: KMS) -> None:
    key = new_key(kms)
    with kms.acting_as("alice") as alice:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    with kms.acting_as("role/app"):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    kms.encrypt(KeyId=key, Plaintext=b"x")
    assert alice == "arn:aws:iam::111122223333:user/alice"
    assert [e.principal for e in kms.trail][1:] == [
        alice, "arn:aws:sts::111122223333:assumed-role/app/kmssim",
        "arn:aws:iam::111122223333:user/learner"]
    user = kms.trail[1].to_cloudtrail()["userIdentity"]
    assert {k: v for k, v in user.items() if k not in ("principalId", "accessKeyId")} == {
        "type": "IAMUser", "arn": alice, "accountId": "111122223333", "userName": "alice"}
    assert user["principalId"].startswith("AIDA") and user["accessKeyId"].startswith("AKIA")
    assert len(kms.trail.query(principal=alice)) == 1


def test_a_role_caller_is_recorded_as_its_session_as_cloudtrail_records_it(kms: KMS) -> None:
    # The shape of a role's session in a KMS CloudTrail record: KMS Developer Guide,
    # "Amazon EC2 example two" (the Decrypt record: type AssumedRole, principalId
    # "<role id>:<session>", arn arn:aws:sts::<account>:assumed-role/<role>/<session>,
    # sessionContext.sessionIssuer {type Role, principalId, arn of the role, accountId,
    # userName}, attributes {mfaAuthenticated, creationDate}); CloudTrail User Guide,
    # "CloudTrail userIdentity element".
    key = new_key(kms)
    with kms.acting_as("role/app") as session:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    with kms.acting_as("arn:aws:iam::111122223333:role/app") as same:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    role = "arn:aws:iam::111122223333:role/app"
    assert session == same == "arn:aws:sts::111122223333:assumed-role/app/kmssim"
    identity = kms.trail[1].to_cloudtrail()["userIdentity"]
    role_id = identity["sessionContext"]["sessionIssuer"]["principalId"]
    assert role_id.startswith("AROA") and identity["accessKeyId"].startswith("ASIA")
    assert identity == {
        "type": "AssumedRole", "principalId": f"{role_id}:kmssim", "arn": session,
        "accountId": "111122223333", "accessKeyId": identity["accessKeyId"],
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": role,
                              "accountId": "111122223333", "userName": "app"},
            "attributes": {"creationDate": "2024-01-01T00:00:00Z", "mfaAuthenticated": "false"}}}
    # Querying by the session's ARN or by the role's ARN (CloudTrail's sessionIssuer.arn)
    # finds the session's calls; another role's name does not.
    assert len(kms.trail.query(principal=session)) == 2
    assert len(kms.trail.query(principal=role)) == 2
    assert kms.trail.query(principal="arn:aws:iam::111122223333:role/ap") == []
    # An AWS service principal calling under a grant is an AWSService identity.
    with kms.acting_as("rds.us-east-1.amazonaws.com") as rds, pytest.raises(KMSError):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert kms.trail[-1].principal == rds
    assert kms.trail[-1].to_cloudtrail()["userIdentity"] == {
        "type": "AWSService", "invokedBy": "rds.amazonaws.com"}


def test_crypto_events_record_context_and_material_but_never_data(kms: KMS) -> None:
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"top secret", EncryptionContext={"dept": "a"})
    data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"dept": "a"})
    material = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    for event in kms.trail.query(name=("Encrypt", "GenerateDataKey", "Decrypt")):
        record = event.to_cloudtrail()
        assert record["additionalEventData"] == {"keyMaterialId": material}
        assert record["readOnly"] is True and record["responseElements"] is None
        text = json.dumps(record)
        assert "top secret" not in text and "plaintext" not in text.lower()
        assert "ciphertextBlob" not in record["requestParameters"]
    encrypt = kms.trail.query(name="Encrypt")[0].to_cloudtrail()
    assert encrypt["requestParameters"] == {"keyId": key, "encryptionContext": {"dept": "a"}}
    assert bytes(data_key["Plaintext"]).hex() not in json.dumps(kms.trail.to_cloudtrail())


def test_enable_key_rotation_event_names_the_period_and_the_key_arn(kms: KMS) -> None:
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    record = kms.trail[-1].to_cloudtrail()
    assert record["requestParameters"] == {"keyId": key, "rotationPeriodInDays": 180}
    assert record["responseElements"] == {"keyId": kms.describe_key(KeyId=key)[
        "KeyMetadata"]["Arn"]}
    assert record["readOnly"] is False and record["eventSource"] == "kms.amazonaws.com"


def test_automatic_rotation_is_a_rotate_key_service_event(kms: KMS) -> None:
    key = new_key(kms)
    before = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.advance(days=100)
    after = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    [event] = kms.trail.query(name="RotateKey")
    record = event.to_cloudtrail()
    assert record["eventType"] == "AwsServiceEvent"
    assert record["eventTime"] == "2024-03-31T00:00:00Z"
    assert record["userIdentity"]["invokedBy"] == "AWS Internal"
    assert record["requestParameters"] is None and record["responseElements"] is None
    assert record["serviceEventDetails"] == {
        "keyId": key, "rotationType": "AUTOMATIC", "keyOrigin": "AWS_KMS",
        "previousKeyMaterialId": before, "currentKeyMaterialId": after}
    assert record["resources"][0]["ARN"].endswith(key)


def test_on_demand_rotation_logs_the_call_then_the_rotation(kms: KMS) -> None:
    # kms-facts 9.3: RotateKeyOnDemand (the API call) followed by RotateKey (the service event).
    key = new_key(kms)
    kms.rotate_key_on_demand(KeyId=key)
    call, rotation = kms.trail[-2:]
    assert (call.name, call.event_type) == ("RotateKeyOnDemand", "AwsApiCall")
    assert (rotation.name, rotation.event_type) == ("RotateKey", "AwsServiceEvent")
    assert rotation.to_cloudtrail()["serviceEventDetails"]["rotationType"] == "ON_DEMAND"
    assert [e.sequence for e in kms.trail] == list(range(len(kms.trail)))


def test_re_enabling_a_key_past_its_rotation_date_logs_the_call_then_the_rotation(
        kms: KMS) -> None:
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.disable_key(KeyId=key)
    kms.advance(days=100)
    kms.enable_key(KeyId=key)
    assert [(e.name, e.time) for e in kms.trail[-2:]] == [
        ("EnableKey", utc(2024, 4, 10)), ("RotateKey", utc(2024, 4, 10))]


def test_deletion_logs_the_schedule_call_and_later_a_delete_key_event(kms: KMS) -> None:
    key = new_key(kms)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.advance(days=10)
    schedule, delete = kms.trail.query(key=key, name=("ScheduleKeyDeletion", "DeleteKey"))
    assert schedule.time == utc(2024) and schedule.event_type == "AwsApiCall"
    assert delete.time == utc(2024, 1, 8) and delete.event_type == "AwsServiceEvent"


def test_re_encrypt_records_both_keys_and_materials(kms: KMS) -> None:
    source, target = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=source, Plaintext=b"x")["CiphertextBlob"]
    moved = kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=target)
    record = kms.trail[-1].to_cloudtrail()
    assert record["requestParameters"]["sourceKeyId"] == moved["SourceKeyId"]
    assert record["requestParameters"]["sourceKeyMaterialId"] == moved["SourceKeyMaterialId"]
    assert record["additionalEventData"]["keyMaterialId"] == moved["DestinationKeyMaterialId"]


def test_query_filters_by_key_name_time_and_outcome(kms: KMS) -> None:
    first, second = new_key(kms), new_key(kms)
    kms.advance(days=5)
    kms.encrypt(KeyId=first, Plaintext=b"x")
    kms.encrypt(KeyId=second, Plaintext=b"x")
    arn = kms.describe_key(KeyId=first)["KeyMetadata"]["Arn"]
    assert len(kms.trail.query(key=first)) == len(kms.trail.query(key=arn)) == 3
    assert [e.name for e in kms.trail.query(since=utc(2024, 1, 6))] == \
        ["Encrypt", "Encrypt", "DescribeKey"]
    assert [e.name for e in kms.trail.query(until=utc(2024, 1, 1))] == ["CreateKey", "CreateKey"]
    assert len(kms.trail.query(failed=False)) == len(kms.trail)


def test_event_ids_are_unique_and_stable(kms: KMS) -> None:
    key = new_key(kms)
    for _ in range(5):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    ids = [e.event_id for e in kms.trail]
    assert len(set(ids)) == len(ids)
    assert ids == [e.to_cloudtrail()["eventID"] for e in kms.trail]


def test_audit_times_never_decrease(kms: KMS) -> None:
    keys = [new_key(kms) for _ in range(3)]
    kms.enable_key_rotation(KeyId=keys[0], RotationPeriodInDays=90)
    kms.enable_key_rotation(KeyId=keys[1], RotationPeriodInDays=100)
    kms.schedule_key_deletion(KeyId=keys[2], PendingWindowInDays=20)
    kms.advance(days=45)
    kms.encrypt(KeyId=keys[0], Plaintext=b"x")
    kms.advance(days=400)
    times = [e.time for e in kms.trail]
    assert times == sorted(times)
    assert len(kms.trail.query(name="RotateKey")) == 4 + 4


def test_request_parameters_are_copies_the_caller_cannot_change_later(kms: KMS) -> None:
    key = new_key(kms)
    context = {"dept": "a"}
    kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext=context)
    context["dept"] = "changed"
    assert kms.trail[-1].to_cloudtrail()["requestParameters"]["encryptionContext"] == \
        {"dept": "a"}
