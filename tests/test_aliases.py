"""Aliases: naming, where AWS accepts them and where it does not, manual rotation
(kms-facts.md section 7)."""

from __future__ import annotations

import pytest

from kmssim import KMS
from kmssim.core.errors import (
    ParamValidationError,
    AccessDeniedException, AlreadyExistsException, IncorrectKeyException, InvalidAliasNameException,
    KMSInvalidStateException, LimitExceededException, NotFoundException,
    ValidationException,
)
from kms_support import new_key, utc

ALIAS_ARN = "arn:aws:kms:us-east-1:111122223333:alias/app"


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=4)


@pytest.fixture
def key(kms: KMS) -> str:
    key = new_key(kms)
    kms.create_alias(AliasName="alias/app", TargetKeyId=key)
    return key


def test_list_aliases_shows_name_arn_target_and_dates(kms: KMS, key: str) -> None:
    kms.advance(days=1)
    kms.create_alias(AliasName="alias/second", TargetKeyId=key)
    new_key_id = new_key(kms)
    kms.create_alias(AliasName="alias/elsewhere", TargetKeyId=new_key_id)
    listed = kms.list_aliases(KeyId=key)
    assert listed == {"Aliases": [
        {"AliasName": "alias/app", "AliasArn": ALIAS_ARN, "TargetKeyId": key,
         "CreationDate": utc(2024), "LastUpdatedDate": utc(2024)},
        {"AliasName": "alias/second",
         "AliasArn": "arn:aws:kms:us-east-1:111122223333:alias/second", "TargetKeyId": key,
         "CreationDate": utc(2024, 1, 2), "LastUpdatedDate": utc(2024, 1, 2)}],
        "Truncated": False}
    assert [a["AliasName"] for a in kms.list_aliases()["Aliases"]
            if "TargetKeyId" in a] == ["alias/app", "alias/elsewhere", "alias/second"]


def test_a_new_account_lists_the_predefined_aws_aliases_without_a_target(kms: KMS) -> None:
    # botocore's ListAliases documentation: "The response might also include aliases that
    # have no TargetKeyId field. These are predefined aliases that Amazon Web Services has
    # created but has not yet associated with a KMS key."
    fresh = KMS(seed=9)
    listed = fresh.list_aliases()["Aliases"]
    assert listed and all(a["AliasName"].startswith("alias/aws/") for a in listed)
    assert all(set(a) == {"AliasName", "AliasArn"} for a in listed)
    assert [a["AliasName"] for a in listed] == sorted(a["AliasName"] for a in listed)
    s3 = fresh.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]
    [entry] = [a for a in fresh.list_aliases()["Aliases"] if a["AliasName"] == "alias/aws/s3"]
    assert entry["TargetKeyId"] == s3 and "CreationDate" in entry
    assert len(fresh.list_aliases()["Aliases"]) == len(listed)
    assert fresh.list_aliases(KeyId=s3)["Aliases"] == [entry]


@pytest.mark.parametrize("ref", ["alias/app", ALIAS_ARN])
def test_cryptographic_operations_accept_alias_names_and_alias_arns(kms: KMS, key: str,
                                                                    ref: str) -> None:
    blob = kms.encrypt(KeyId=ref, Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, KeyId=ref)["Plaintext"] == b"x"
    data_key = kms.generate_data_key(KeyId=ref, KeySpec="AES_256")
    assert data_key["KeyId"].endswith(key)              # always the key ARN, never the alias
    kms.generate_data_key_without_plaintext(KeyId=ref, NumberOfBytes=16)
    moved = kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=ref, DestinationKeyId=ref)
    assert moved["KeyId"].endswith(key)
    assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == key


def test_hmac_operations_accept_aliases(kms: KMS) -> None:
    mac_key = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    kms.create_alias(AliasName="alias/mac", TargetKeyId=mac_key)
    mac = kms.generate_mac(KeyId="alias/mac", Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert kms.verify_mac(KeyId="alias/mac", Message=b"m", MacAlgorithm="HMAC_SHA_256",
                          Mac=mac)["MacValid"]


@pytest.mark.parametrize("operation", [
    lambda kms, ref: kms.enable_key(KeyId=ref),
    lambda kms, ref: kms.disable_key(KeyId=ref),
    lambda kms, ref: kms.schedule_key_deletion(KeyId=ref),
    lambda kms, ref: kms.cancel_key_deletion(KeyId=ref),
    lambda kms, ref: kms.update_key_description(KeyId=ref, Description="d"),
    lambda kms, ref: kms.tag_resource(KeyId=ref, Tags=[{"TagKey": "a", "TagValue": "b"}]),
    lambda kms, ref: kms.list_resource_tags(KeyId=ref),
    lambda kms, ref: kms.get_key_policy(KeyId=ref),
    lambda kms, ref: kms.list_aliases(KeyId=ref),
    lambda kms, ref: kms.enable_key_rotation(KeyId=ref),
    lambda kms, ref: kms.disable_key_rotation(KeyId=ref),
    lambda kms, ref: kms.get_key_rotation_status(KeyId=ref),
    lambda kms, ref: kms.rotate_key_on_demand(KeyId=ref),
    lambda kms, ref: kms.list_key_rotations(KeyId=ref),
    lambda kms, ref: kms.create_alias(AliasName="alias/new", TargetKeyId=ref),
], ids=["enable", "disable", "delete", "cancel", "description", "tag", "list-tags", "policy",
        "list-aliases", "enable-rotation", "disable-rotation", "rotation-status", "on-demand",
        "list-rotations", "alias-target"])
@pytest.mark.parametrize("ref", ["alias/app", ALIAS_ARN], ids=["name", "arn"])
def test_management_operations_refuse_aliases_with_not_found(kms: KMS, key: str, operation,
                                                              ref: str) -> None:
    with pytest.raises(NotFoundException):
        operation(kms, ref)
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and len(kms.history(key).versions) == 1


def test_manual_rotation_moves_the_alias_and_old_data_still_decrypts(kms: KMS, key: str) -> None:
    old = kms.encrypt(KeyId="alias/app", Plaintext=b"2024 data")["CiphertextBlob"]
    kms.advance(days=10)
    replacement = new_key(kms)
    kms.update_alias(AliasName="alias/app", TargetKeyId=replacement)
    [row] = kms.list_aliases(KeyId=replacement)["Aliases"]
    assert (row["CreationDate"], row["LastUpdatedDate"]) == (utc(2024), utc(2024, 1, 11))
    new = kms.encrypt(KeyId="alias/app", Plaintext=b"new data")
    assert new["KeyId"].endswith(replacement)
    # Without KeyId the blob names its own key, so old data still decrypts ...
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"2024 data"
    # ... but naming the alias, which now points at the new key, is the wrong key.
    with pytest.raises(IncorrectKeyException):
        kms.decrypt(CiphertextBlob=old, KeyId="alias/app")
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] != key


def test_update_alias_needs_a_key_of_the_same_type(kms: KMS, key: str) -> None:
    rsa = new_key(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    with pytest.raises(ValidationException):
        kms.update_alias(AliasName="alias/app", TargetKeyId=rsa)
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == key


def test_update_alias_away_from_a_pending_key_but_not_onto_one(kms: KMS, key: str) -> None:
    pending, fresh = new_key(kms), new_key(kms)
    kms.schedule_key_deletion(KeyId=pending)
    with pytest.raises(KMSInvalidStateException):
        kms.update_alias(AliasName="alias/app", TargetKeyId=pending)
    kms.schedule_key_deletion(KeyId=key)
    kms.update_alias(AliasName="alias/app", TargetKeyId=fresh)
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == fresh


def test_update_alias_cannot_target_an_aws_managed_key(kms: KMS, key: str) -> None:
    managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]
    with pytest.raises(AccessDeniedException):  # AWS managed keys' policy: read-only for you
        kms.update_alias(AliasName="alias/app", TargetKeyId=managed)


@pytest.mark.parametrize("name, error", [
    # AWS: 'Alias must start with the prefix "alias/"...' (recorded; tests/parity) and the
    # model's AliasName pattern ^[a-zA-Z0-9:/_-]+$ (a standard validation error).
    ("app", ValidationException),
    ("alias/", InvalidAliasNameException),
    # Outside the model's pattern ^[a-zA-Z0-9:/_-]+$: AWS answers ValidationException in its
    # standard form (botocore KMS model, AliasNameType; issue 9 for the code).
    ("alias/has space", ValidationException),
    ("alias/ünïcode", ValidationException),
    ("alias/x\n", ValidationException),              # the pattern must match in full
    # Inside the pattern but not an alias: "alias/Service:Test contains invalid characters
    # for an alias" (a real response quoted in terraform-provider-aws issue 12891).
    ("alias/my:alias", ValidationException),
    ("alias/aws/mine", InvalidAliasNameException),
    ("alias/aws/s3", InvalidAliasNameException),
    ("alias/" + "a" * 251, ValidationException),
    ("", ParamValidationError),                     # botocore: min length 1
    (None, ParamValidationError),                   # botocore: not a str
])
def test_bad_or_reserved_alias_names_are_refused(kms: KMS, key: str, name, error) -> None:
    with pytest.raises(error):
        kms.create_alias(AliasName=name, TargetKeyId=key)
    assert [a["AliasName"] for a in kms.list_aliases()["Aliases"]
            if "TargetKeyId" in a] == ["alias/app"]


def test_longest_alias_name_is_accepted(kms: KMS, key: str) -> None:
    name = "alias/" + "a" * 250
    kms.create_alias(AliasName=name, TargetKeyId=key)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key


def test_alias_names_are_unique(kms: KMS, key: str) -> None:
    with pytest.raises(AlreadyExistsException):
        kms.create_alias(AliasName="alias/app", TargetKeyId=new_key(kms))


def test_a_key_has_at_most_50_aliases(kms: KMS, key: str) -> None:
    for n in range(49):
        kms.create_alias(AliasName=f"alias/n{n}", TargetKeyId=key)
    with pytest.raises(LimitExceededException):
        kms.create_alias(AliasName="alias/one-too-many", TargetKeyId=key)


def test_delete_alias_leaves_the_key_alone(kms: KMS, key: str) -> None:
    assert kms.delete_alias(AliasName="alias/app") == {}
    with pytest.raises(NotFoundException):
        kms.describe_key(KeyId="alias/app")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    with pytest.raises(NotFoundException):
        kms.delete_alias(AliasName="alias/app")
    with pytest.raises(NotFoundException):
        kms.update_alias(AliasName="alias/app", TargetKeyId=key)


def test_alias_of_a_pending_key_still_resolves_until_deletion(kms: KMS, key: str) -> None:
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.advance(days=7)
    assert [a for a in kms.list_aliases()["Aliases"] if "TargetKeyId" in a] == []
    kms.create_alias(AliasName="alias/app", TargetKeyId=new_key(kms))   # the name is free again


def test_the_alias_index_follows_every_change(kms: KMS, key: str, tmp_path) -> None:
    """`history().aliases` reads an index by key (no scan of every alias); it must agree
    with the alias table after creates, updates, deletes, key deletion and a reload."""
    other = kms.create_key()["KeyMetadata"]["KeyId"]

    def by_scan(key_id: str) -> tuple[str, ...]:
        return tuple(sorted(a["AliasName"] for a in kms.list_aliases()["Aliases"]
                            if a.get("TargetKeyId") == key_id))

    kms.create_alias(AliasName="alias/b", TargetKeyId=key)
    kms.create_alias(AliasName="alias/a", TargetKeyId=key)
    kms.create_alias(AliasName="alias/c", TargetKeyId=other)
    kms.update_alias(AliasName="alias/b", TargetKeyId=other)
    kms.delete_alias(AliasName="alias/c")
    for key_id in (key, other):
        assert kms.history(key_id).aliases == by_scan(key_id)
    assert kms.history(other).aliases == ("alias/b",)
    kms.save(tmp_path / "s.json")
    loaded = KMS.load(tmp_path / "s.json")
    assert loaded.history(other).aliases == ("alias/b",)
    kms.schedule_key_deletion(KeyId=other, PendingWindowInDays=7)
    kms.advance(days=8)
    assert kms.history(other).aliases == ()
    assert [a["AliasName"] for a in kms.list_aliases()["Aliases"]
            if not a["AliasName"].startswith("alias/aws/")] == ["alias/a", "alias/app"]
    kms.create_alias(AliasName="alias/b", TargetKeyId=key)    # the name is free again
    assert kms.history(key).aliases == ("alias/a", "alias/app", "alias/b")


def test_a_colon_in_an_alias_name_gets_the_words_aws_answered(kms: KMS, key: str) -> None:
    """terraform-provider-aws issue 12891 quotes the service's answer to CreateAlias with
    AliasName "alias/Service:Test": ValidationException, "alias/Service:Test contains
    invalid characters for an alias". UpdateAlias checks the name the same way."""
    for call in (kms.create_alias, kms.update_alias):
        with pytest.raises(ValidationException) as caught:
            call(AliasName="alias/Service:Test", TargetKeyId=key)
        assert caught.value.message == "alias/Service:Test contains invalid characters for an alias"
        assert caught.value.hint
