"""Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

Sources: botocore examples-1.json (AWS API documentation examples, cited by id); the KMS
Developer Guide, "Grants in AWS KMS" (a grant allows its operations to its grantee;
constraints EncryptionContextEquals / EncryptionContextSubset; an explicit deny still
wins) and "Retiring and revoking grants" (who may retire).
"""

from __future__ import annotations

import json
import re

import pytest

from kmssim import KMS
from kmssim.core.errors import (
    AccessDeniedException,
    DisabledException,
    InvalidGrantTokenException,
    NotFoundException,
    ValidationException,
)

ACCOUNT = "111122223333"
APP = f"arn:aws:iam::{ACCOUNT}:role/app"
ONLY_DESCRIBE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]})


@pytest.fixture
def kms() -> KMS:
    kms = KMS(seed=4)
    kms.iam.create_role("app", policies=[ONLY_DESCRIBE])
    return kms


def test_create_grant_doc_example() -> None:
    # to-create-a-grant-1477972226782: a key in 444455556666 (us-east-2) granted to a role of
    # 111122223333; the answer is a 64-hex GrantId and an opaque GrantToken. Then
    # to-list-grants-that-the-specified-principal-can-retire-1481140499620 lists it.
    kms = KMS(seed=1, region="us-east-2", account_id="444455556666")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    role = "arn:aws:iam::111122223333:role/ExampleRole"
    made = kms.create_grant(KeyId=key, GranteePrincipal=role, RetiringPrincipal=role,
                            Operations=["Decrypt", "Encrypt"])
    assert re.fullmatch(r"[0-9a-f]{64}", made["GrantId"])
    assert re.fullmatch(r"[A-Za-z0-9_-]+", made["GrantToken"])
    listed = kms.list_retirable_grants(RetiringPrincipal=role)
    assert listed == {"Grants": [{
        "KeyId": key, "GrantId": made["GrantId"], "CreationDate": kms.now,
        "GranteePrincipal": role, "RetiringPrincipal": role,
        "IssuingAccount": "arn:aws:iam::444455556666:root",
        "Operations": ["Decrypt", "Encrypt"]}], "Truncated": False}
    # to-retire-a-grant-1481327028297: the retiring principal retires it by key and id.
    with kms.acting_as(role):
        assert kms.retire_grant(KeyId=key, GrantId=made["GrantId"]) == {}
    assert kms.list_grants(KeyId=key) == {"Grants": [], "Truncated": False}


def test_a_grant_lets_its_grantee_use_the_key_and_retiring_takes_it_back(kms: KMS) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with kms.acting_as("role/app"), pytest.raises(AccessDeniedException):
        kms.decrypt(CiphertextBlob=blob)
    grant = kms.create_grant(KeyId=key, GranteePrincipal=APP, Operations=["Decrypt"],
                             RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:user/learner")
    with kms.acting_as("role/app"):
        assert kms.decrypt(CiphertextBlob=blob, GrantTokens=[grant["GrantToken"]])[
            "Plaintext"] == b"x"
        with pytest.raises(AccessDeniedException):   # only the operations granted
            kms.encrypt(KeyId=key, Plaintext=b"y")
        with pytest.raises(AccessDeniedException):   # grantee may not retire without it
            kms.retire_grant(GrantToken=grant["GrantToken"])
    kms.retire_grant(GrantToken=grant["GrantToken"])
    with kms.acting_as("role/app"), pytest.raises(AccessDeniedException):
        kms.decrypt(CiphertextBlob=blob)
    with pytest.raises(InvalidGrantTokenException):
        kms.retire_grant(GrantToken=grant["GrantToken"])


@pytest.mark.parametrize("constraints, context, allowed", [
    ({"EncryptionContextEquals": {"db": "orders"}}, {"db": "orders"}, True),
    ({"EncryptionContextEquals": {"db": "orders"}}, {"db": "orders", "x": "1"}, False),
    ({"EncryptionContextEquals": {"db": "orders"}}, None, False),
    ({"EncryptionContextSubset": {"db": "orders"}}, {"db": "orders", "x": "1"}, True),
    ({"EncryptionContextSubset": {"db": "orders"}}, {"db": "billing"}, False),
    ({"EncryptionContextSubset": {"db": "orders"}}, None, False),
    # The model's GrantConstraints documentation: "in a grant constraint, the key in each
    # key-value pair is not case sensitive, but the value is case sensitive".
    ({"EncryptionContextEquals": {"DB": "orders"}}, {"db": "orders"}, True),
    ({"EncryptionContextSubset": {"db": "orders"}}, {"Db": "orders", "x": "1"}, True),
    ({"EncryptionContextSubset": {"db": "orders"}}, {"db": "Orders"}, False),
])
def test_grant_constraints(kms: KMS, constraints, context, allowed) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key, GranteePrincipal=APP, Operations=["GenerateDataKey"],
                     Constraints=constraints)
    request = {"KeyId": key, "KeySpec": "AES_256"}
    if context is not None:
        request["EncryptionContext"] = context
    with kms.acting_as("role/app"):
        if allowed:
            kms.generate_data_key(**request)
        else:
            with pytest.raises(AccessDeniedException):
                kms.generate_data_key(**request)


def test_a_deny_in_the_key_policy_beats_a_grant(kms: KMS) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": APP}, "Action": "kms:Encrypt",
         "Resource": "*"}]})
    key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key, GranteePrincipal=APP, Operations=["Encrypt"])
    with kms.acting_as("role/app"), pytest.raises(AccessDeniedException) as refused:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert "with an explicit deny in a resource-based policy" in refused.value.message


def test_list_revoke_names_and_errors(kms: KMS) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    first = kms.create_grant(KeyId=key, GranteePrincipal=APP, Operations=["Encrypt"],
                             Name="orders")
    again = kms.create_grant(KeyId=key, GranteePrincipal=APP, Operations=["Encrypt"],
                             Name="orders")
    assert again == first   # a retried request with the same Name returns the same grant
    other = kms.create_grant(KeyId=key, GranteePrincipal="rds.amazonaws.com",
                             Operations=["Decrypt", "DescribeKey"])
    assert len(kms.list_grants(KeyId=key)["Grants"]) == 2
    page = kms.list_grants(KeyId=key, Limit=1)
    assert page["Truncated"] is True
    assert kms.list_grants(KeyId=key, Marker=page["NextMarker"])["Grants"][0]["GrantId"] == \
        other["GrantId"]
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key, GranteePrincipal=APP)["Grants"]] \
        == [first["GrantId"]]
    named = kms.list_grants(KeyId=key, GrantId=first["GrantId"])["Grants"][0]
    assert named["Name"] == "orders" and "RetiringPrincipal" not in named
    assert kms.revoke_grant(KeyId=key, GrantId=first["GrantId"]) == {}
    with pytest.raises(NotFoundException):
        kms.revoke_grant(KeyId=key, GrantId=first["GrantId"])
    with pytest.raises(ValidationException):
        kms.create_grant(KeyId=key, GranteePrincipal=APP, Operations=["Rotate"])
    with pytest.raises(NotFoundException):
        kms.create_grant(KeyId="1234abcd-12ab-34cd-56ef-1234567890ab", GranteePrincipal=APP,
                         Operations=["Encrypt"])
    kms.disable_key(KeyId=key)
    with pytest.raises(DisabledException):
        kms.create_grant(KeyId=key, GranteePrincipal=APP, Operations=["Encrypt"])


def test_grants_die_with_their_key_and_survive_a_save(kms: KMS, tmp_path) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    grant = kms.create_grant(KeyId=key, GranteePrincipal=APP, Operations=["Encrypt"])
    kms.save(tmp_path / "s.json")
    again = KMS.load(tmp_path / "s.json")
    with again.acting_as("role/app"):
        again.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=[grant["GrantToken"]])
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.advance(days=7)
    assert kms._grants == {}


def test_who_may_retire_a_grant_beyond_those_it_names(kms: KMS) -> None:
    # KMS Developer Guide, "Retiring and revoking grants": the account that owns the key can
    # delegate kms:RetireGrant to an IAM principal of the account; kms:RetireGrant alone in
    # a key policy has no effect; a Deny of kms:RetireGrant refuses.
    key = kms.create_key()["KeyMetadata"]["KeyId"]

    def grant() -> str:
        return kms.create_grant(KeyId=key, GranteePrincipal=APP,
                                Operations=["Decrypt"])["GrantToken"]
    kms.retire_grant(GrantToken=grant())      # the default learner: an administrator by IAM
    kms.iam.create_role("cleaner", policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:RetireGrant", "Resource": "*"}]}])
    token = grant()
    with kms.acting_as("role/cleaner"):
        kms.retire_grant(GrantToken=token)
    kms.iam.create_role("reader", policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]}])
    token = grant()
    with kms.acting_as("role/reader"), pytest.raises(AccessDeniedException):
        kms.retire_grant(GrantToken=token)
    kms.iam.attach_policy("role/cleaner", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "kms:RetireGrant", "Resource": "*"}]})
    token = grant()
    with kms.acting_as("role/cleaner"), pytest.raises(AccessDeniedException):
        kms.retire_grant(GrantToken=token)


def test_an_aws_service_principal_is_allowed_only_by_a_grant_or_a_service_statement(kms) -> None:
    # KMS Developer Guide, "Grants in AWS KMS": a grant can allow an AWS service principal;
    # a key policy allows a service only by naming it ("Principal": {"Service": ...}); a
    # service principal has no IAM policies of the account, so the account-principal
    # statement (delegation to IAM) does not let it in.
    service = "rds.us-east-1.amazonaws.com"
    key = kms.create_key()["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with kms.acting_as(service), pytest.raises(AccessDeniedException):
        kms.decrypt(CiphertextBlob=blob)
    grant = kms.create_grant(KeyId=key, GranteePrincipal=service, Operations=["Decrypt"])
    with kms.acting_as(service):
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    kms.revoke_grant(KeyId=key, GrantId=grant["GrantId"])
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "kms:Decrypt",
             "Resource": "*"}]}))
    with kms.acting_as(service):
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
