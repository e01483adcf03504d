"""Key lifecycle: create, describe, list, enable, disable, schedule and cancel deletion,
deletion itself, AWS managed keys, tags, policy (kms-facts.md sections 3, 6, 11)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import pytest

from kmssim import KMS
from kmssim.core.errors import (
    ParamValidationError,
    AccessDeniedException, DisabledException, InvalidMarkerException, KMSInvalidStateException,
    NotFoundException, UnsupportedOperationException, ValidationException,
)
from kms_support import new_key, utc

ARN = re.compile(r"^arn:aws:kms:us-east-1:111122223333:key/[0-9a-f-]{36}$")


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=5)


def test_create_key_returns_boto3_shaped_metadata(kms: KMS) -> None:
    meta = kms.create_key(Description="orders")["KeyMetadata"]
    assert uuid.UUID(meta["KeyId"]).version == 4
    assert ARN.match(meta["Arn"]) and meta["Arn"].endswith(meta["KeyId"])
    assert meta["AWSAccountId"] == "111122223333"
    assert isinstance(meta["CreationDate"], datetime) and meta["CreationDate"] == utc(2024)
    assert (meta["Enabled"], meta["KeyState"], meta["KeyManager"], meta["Origin"]) == \
        (True, "Enabled", "CUSTOMER", "AWS_KMS")
    assert (meta["KeySpec"], meta["CustomerMasterKeySpec"], meta["KeyUsage"]) == \
        ("SYMMETRIC_DEFAULT", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["Description"] == "orders" and meta["MultiRegion"] is False
    assert re.fullmatch(r"[0-9a-f]{64}", meta["CurrentKeyMaterialId"])
    assert "DeletionDate" not in meta


def test_rsa_and_hmac_keys_report_their_algorithms(kms: KMS) -> None:
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert rsa["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    assert "CurrentKeyMaterialId" not in rsa
    mac = kms.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    assert mac["MacAlgorithms"] == ["HMAC_SHA_384"] and mac["KeyUsage"] == "GENERATE_VERIFY_MAC"


@pytest.mark.parametrize("kwargs, error", [
    ({"KeySpec": "HMAC_256"}, ValidationException),                       # needs KeyUsage
    ({"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "SIGN_VERIFY"}, ValidationException),
    ({"KeySpec": "AES_256"}, ValidationException),
    ({"KeySpec": "RSA_2048", "CustomerMasterKeySpec": "RSA_2048"}, ValidationException),
    ({"Origin": "AWS_CLOUDHSM"}, UnsupportedOperationException),
    ({"Origin": "EXTERNAL", "KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"},
     UnsupportedOperationException),
    ({"MultiRegion": "yes"}, ParamValidationError),        # botocore: a boolean
    # Valid in AWS, not modelled: unsupported, not "not in the enum".
    ({"KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT"}, UnsupportedOperationException),
    ({"KeySpec": "ML_DSA_65", "KeyUsage": "SIGN_VERIFY"}, UnsupportedOperationException),
    # An ECC key needs a KeyUsage (SIGN_VERIFY).
    ({"CustomerMasterKeySpec": "ECC_SECG_P256K1"}, ValidationException),
    ({"KeySpec": "RSA_2048", "KeyUsage": "KEY_AGREEMENT"}, ValidationException),
    ({"Tags": [{"TagKey": "a"}]}, ParamValidationError),   # botocore: TagValue required
    ({"Policy": ""}, ParamValidationError),                # botocore: min length 1
    ({"Policy": 42}, ParamValidationError),
])
def test_create_key_refuses_bad_requests_and_creates_nothing(kms: KMS, kwargs, error) -> None:
    with pytest.raises(error):
        kms.create_key(**kwargs)
    assert kms.list_keys()["Keys"] == []
    assert kms.entropy.position == 0


def test_describe_key_accepts_id_arn_alias_and_alias_arn(kms: KMS) -> None:
    meta = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/orders", TargetKeyId=meta["KeyId"])
    for ref in (meta["KeyId"], meta["Arn"], "alias/orders",
                "arn:aws:kms:us-east-1:111122223333:alias/orders"):
        assert kms.describe_key(KeyId=ref)["KeyMetadata"] == meta


def test_list_keys_pages_through_every_key(kms: KMS) -> None:
    made = [new_key(kms) for _ in range(5)]
    first = kms.list_keys(Limit=3)
    assert first["Truncated"] is True and len(first["Keys"]) == 3
    rest = kms.list_keys(Limit=3, Marker=first["NextMarker"])
    assert rest["Truncated"] is False
    listed = first["Keys"] + rest["Keys"]
    assert [k["KeyId"] for k in listed] == made
    assert all(k["KeyArn"].endswith(k["KeyId"]) for k in listed)
    with pytest.raises(InvalidMarkerException):
        kms.list_keys(Marker="not-a-marker")


def test_disabled_key_refuses_cryptography_until_enabled(kms: KMS) -> None:
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key)
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert (meta["KeyState"], meta["Enabled"]) == ("Disabled", False)
    with pytest.raises(DisabledException, match="is disabled"):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    with pytest.raises(DisabledException):
        kms.decrypt(CiphertextBlob=blob)
    with pytest.raises(DisabledException):
        kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_enable_and_disable_are_idempotent(kms: KMS) -> None:
    key = new_key(kms)
    assert kms.enable_key(KeyId=key) == {}
    assert kms.disable_key(KeyId=key) == {}
    assert kms.disable_key(KeyId=key) == {}
    assert [c.state for c in kms.history(key).states] == ["Enabled", "Disabled"]


def test_schedule_key_deletion_defaults_to_30_days(kms: KMS) -> None:
    key = new_key(kms)
    arn = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    response = kms.schedule_key_deletion(KeyId=key)
    assert response == {"KeyId": arn, "DeletionDate": utc(2024, 1, 31),
                        "KeyState": "PendingDeletion", "PendingWindowInDays": 30}
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert (meta["KeyState"], meta["Enabled"], meta["DeletionDate"]) == \
        ("PendingDeletion", False, utc(2024, 1, 31))


@pytest.mark.parametrize("window, error", [
    (6, ValidationException), (31, ValidationException),
    (0, ParamValidationError), (True, ParamValidationError), ("7", ParamValidationError)])
def test_deletion_window_must_be_7_to_30_days(kms: KMS, window, error) -> None:
    key = new_key(kms)
    with pytest.raises(error):
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=window)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_pending_deletion_key_refuses_use_and_most_management(kms: KMS) -> None:
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    with pytest.raises(KMSInvalidStateException, match="pending deletion"):
        kms.decrypt(CiphertextBlob=blob)
    with pytest.raises(KMSInvalidStateException):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    for call in (kms.enable_key, kms.disable_key, kms.schedule_key_deletion):
        with pytest.raises(KMSInvalidStateException):
            call(KeyId=key)
    with pytest.raises(KMSInvalidStateException):
        kms.create_alias(AliasName="alias/late", TargetKeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_cancel_key_deletion_returns_the_key_disabled_not_enabled(kms: KMS) -> None:
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    arn = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    assert kms.cancel_key_deletion(KeyId=key) == {"KeyId": arn}
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and "DeletionDate" not in meta
    with pytest.raises(DisabledException):
        kms.decrypt(CiphertextBlob=blob)
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    assert kms.advance(days=60) == []           # the cancelled deletion never happens
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_cancel_on_a_key_not_pending_deletion_is_an_invalid_state(kms: KMS) -> None:
    with pytest.raises(KMSInvalidStateException):
        kms.cancel_key_deletion(KeyId=new_key(kms))


def test_deletion_happens_when_the_window_passes_and_not_before(kms: KMS) -> None:
    key, keeper = new_key(kms), new_key(kms)
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=key)
    kms.create_alias(AliasName="alias/kept", TargetKeyId=keeper)
    kms.rotate_key_on_demand(KeyId=key)
    old = kms.encrypt(KeyId=key, Plaintext=b"secret", EncryptionContext={"a": "b"})
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert kms.advance_to(utc(2024, 1, 8) - timedelta(seconds=1)) == []
    [event] = kms.advance_to(utc(2024, 1, 8))
    assert (event.name, event.key_id, event.time) == ("DeleteKey", key, utc(2024, 1, 8))
    with pytest.raises(NotFoundException):
        kms.describe_key(KeyId=key)
    with pytest.raises(NotFoundException):
        kms.describe_key(KeyId="alias/doomed")
    assert [k["KeyId"] for k in kms.list_keys()["Keys"]] == [keeper]
    assert [a["AliasName"] for a in kms.list_aliases()["Aliases"]
            if "TargetKeyId" in a] == ["alias/kept"]
    with pytest.raises(NotFoundException):
        kms.decrypt(CiphertextBlob=old["CiphertextBlob"], EncryptionContext={"a": "b"})
    history = kms.history(key)
    assert history.state == "Deleted" and history.aliases == ()
    assert [v.fingerprint for v in history.versions] == ["destroyed", "destroyed"]
    assert kms.inspect_ciphertext(old["CiphertextBlob"]).key_state == "Deleted"


def test_key_ids_lists_keys_in_creation_order_with_deleted_ones_on_request(kms: KMS) -> None:
    first = new_key(kms)
    kms.advance(days=1)
    second = new_key(kms)
    kms.schedule_key_deletion(KeyId=first, PendingWindowInDays=7)
    kms.advance(days=7)
    assert kms.key_ids() == [second]
    assert kms.key_ids(include_deleted=True) == [first, second]


def test_key_ids_keeps_creation_order_for_keys_made_at_the_same_instant(kms: KMS) -> None:
    first, second = new_key(kms), new_key(kms)
    kms.schedule_key_deletion(KeyId=first, PendingWindowInDays=7)
    kms.advance(days=7)
    assert kms.key_ids(include_deleted=True) == [first, second]


def test_deleted_key_cannot_be_enabled_cancelled_or_used(kms: KMS) -> None:
    key = new_key(kms)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.advance(days=7)
    for call in (kms.enable_key, kms.cancel_key_deletion, kms.get_key_rotation_status):
        with pytest.raises(NotFoundException):
            call(KeyId=key)
    with pytest.raises(NotFoundException):
        kms.encrypt(KeyId=key, Plaintext=b"x")


def test_rescheduled_deletion_uses_the_new_window(kms: KMS) -> None:
    key = new_key(kms)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.advance(days=1)
    kms.cancel_key_deletion(KeyId=key)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=30)
    assert kms.advance(days=29) == []
    assert [e.name for e in kms.advance(days=1)] == ["DeleteKey"]


def test_aws_managed_key_is_made_on_first_use_of_its_alias(kms: KMS) -> None:
    meta = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS" and meta["KeyState"] == "Enabled"
    assert kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"] == meta
    aliases = kms.list_aliases(KeyId=meta["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == ["alias/aws/s3"]
    # AWS's policy for its managed keys allows use only through the service (kms:ViaService).
    with pytest.raises(AccessDeniedException):
        kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"x")
    with kms.via_service("s3.us-east-1.amazonaws.com"):
        blob = kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"x")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_unknown_aws_alias_is_not_found(kms: KMS) -> None:
    with pytest.raises(NotFoundException):
        kms.describe_key(KeyId="alias/aws/not-a-service")


@pytest.mark.parametrize("operation", [
    lambda kms, key: kms.disable_key(KeyId=key),
    lambda kms, key: kms.enable_key(KeyId=key),
    lambda kms, key: kms.schedule_key_deletion(KeyId=key),
    lambda kms, key: kms.update_key_description(KeyId=key, Description="mine"),
    lambda kms, key: kms.tag_resource(KeyId=key, Tags=[{"TagKey": "a", "TagValue": "b"}]),
    lambda kms, key: kms.create_alias(AliasName="alias/mine", TargetKeyId=key),
], ids=["disable", "enable", "delete", "describe", "tag", "alias"])
def test_aws_managed_key_cannot_be_managed_by_the_customer(kms: KMS, operation) -> None:
    # AWS's policy for its managed keys lets the account only read them (Describe*, Get*,
    # List*, RevokeGrant): managing one is refused with AccessDeniedException first.
    key = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyId"]
    with pytest.raises(AccessDeniedException):
        operation(kms, key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_tags_description_and_policy_are_kept(kms: KMS) -> None:
    key = new_key(kms, Tags=[{"TagKey": "team", "TagValue": "payments"}])
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "env", "TagValue": "prod"}])
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [
        {"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": "payments"}]
    kms.update_key_description(KeyId=key, Description="new words")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "new words"
    policy = kms.get_key_policy(KeyId=key)
    assert policy["PolicyName"] == "default" and '"kms:*"' in policy["Policy"]
    # GetKeyPolicy returns the document exactly as given (whitespace and all).
    document = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
                '{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}')
    custom = new_key(kms, Policy=document)
    assert kms.get_key_policy(KeyId=custom)["Policy"] == document


def test_history_records_every_state_change_with_its_time(kms: KMS) -> None:
    key = new_key(kms)
    kms.advance(days=1)
    kms.disable_key(KeyId=key)
    kms.advance(days=1)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.advance(days=1)
    kms.cancel_key_deletion(KeyId=key)
    kms.enable_key(KeyId=key)
    assert [(c.at, c.state) for c in kms.history(key).states] == [
        (utc(2024, 1, 1), "Enabled"), (utc(2024, 1, 2), "Disabled"),
        (utc(2024, 1, 3), "PendingDeletion"), (utc(2024, 1, 4), "Disabled"),
        (utc(2024, 1, 4), "Enabled")]
