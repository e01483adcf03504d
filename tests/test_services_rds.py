"""RDS: encrypted storage under aws/rds or a customer managed key, snapshots, moving a
database to another key by copying a snapshot, and what a disabled key does."""

from __future__ import annotations

import json

import pytest

from kmssim import KMS
from kmssim.core.errors import AccessDeniedException, DisabledException
from kmssim.services import RDS, DatabaseError

PASSWORD = "first-password"


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=41)


@pytest.fixture
def rds(kms: KMS) -> RDS:
    return RDS(kms)


def _orders(rds: RDS, **options: object) -> dict:
    instance = rds.create_db_instance(DBInstanceIdentifier="orders",
                                      MasterUserPassword=PASSWORD, **options)["DBInstance"]
    rds.database("orders").connect("admin", PASSWORD).put("order-1", "3 apples")
    return instance


def _rows(rds: RDS, identifier: str) -> dict[str, str]:
    return rds.database(identifier).connect("admin", PASSWORD).rows()


def test_storage_is_encrypted_under_aws_rds_with_the_db_id_as_context(kms, rds):
    instance = _orders(rds, StorageEncrypted=True)
    managed = kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]
    assert instance["StorageEncrypted"] is True and instance["KmsKeyId"] == managed["Arn"]
    generated = kms.trail.query(name="GenerateDataKeyWithoutPlaintext")
    assert [e.request["encryptionContext"] for e in generated] == [
        {"aws:rds:db-id": instance["DbiResourceId"]}]
    assert _rows(rds, "orders") == {"order-1": "3 apples"}
    # DescribeKey and CreateGrant by the caller, then RDS's GenerateDataKeyWithoutPlaintext
    # and Decrypt under the grant; reads and writes use the data key in memory.
    assert [e.name for e in kms.trail.query(key=managed["KeyId"])][:4] == [
        "DescribeKey", "CreateGrant", "GenerateDataKeyWithoutPlaintext", "Decrypt"]
    assert rds.kms_calls == 4
    page = rds._instances["orders"].storage.pages["row/order-1"]
    assert b"3 apples" not in page                 # at rest it is ciphertext


def test_data_written_before_and_after_rotations_survives_reboots(kms, rds):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    instance = _orders(rds, KmsKeyId=key)
    assert instance["StorageEncrypted"] is True    # a KmsKeyId implies encryption
    kms.advance(days=200)
    rds.database("orders").connect("admin", PASSWORD).put("order-2", "a pear")
    rds.reboot_db_instance(DBInstanceIdentifier="orders")   # decrypts with version 1
    assert rds.inspect_instance("orders").version == 1
    assert _rows(rds, "orders") == {"order-1": "3 apples", "order-2": "a pear"}


def test_copying_a_snapshot_with_a_new_key_moves_the_database_to_that_key(kms, rds):
    _orders(rds, StorageEncrypted=True)
    rds.create_db_snapshot(DBSnapshotIdentifier="before", DBInstanceIdentifier="orders")
    new_key = kms.create_key()["KeyMetadata"]["Arn"]
    copy = rds.copy_db_snapshot(SourceDBSnapshotIdentifier="before",
                                TargetDBSnapshotIdentifier="before-cmk",
                                KmsKeyId=new_key)["DBSnapshot"]
    assert copy["KmsKeyId"] == new_key and copy["Encrypted"] is True
    assert copy["SourceDBSnapshotIdentifier"].endswith(":snapshot:before")
    restored = rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="orders-cmk", DBSnapshotIdentifier="before-cmk")["DBInstance"]
    assert restored["KmsKeyId"] == new_key
    assert restored["DbiResourceId"] != rds.describe_db_instances(
        DBInstanceIdentifier="orders")["DBInstances"][0]["DbiResourceId"]
    assert rds.inspect_instance("orders-cmk").key_arn == new_key
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="orders-old",
                                             DBSnapshotIdentifier="before")
    for identifier in ("orders", "orders-cmk", "orders-old"):
        assert _rows(rds, identifier) == {"order-1": "3 apples"}
    # Three instances (each: DescribeKey, CreateGrant, a data key, Decrypt), a copy (a
    # short-lived grant on each key) and two restores (the instance's grant and one to read
    # the snapshot); only the three instances' grants remain.
    assert rds.kms_calls_by_operation() == {
        "CreateGrant": 7, "Decrypt": 5, "DescribeKey": 7, "GenerateDataKeyWithoutPlaintext": 2,
        "ReEncrypt": 2, "RetireGrant": 4}
    held = [g for key in kms.list_keys()["Keys"]
            for g in kms.list_grants(KeyId=key["KeyId"])["Grants"]]
    assert len(held) == 3


def test_an_unencrypted_snapshot_copied_with_a_key_becomes_encrypted(kms, rds):
    instance = _orders(rds)
    assert instance["StorageEncrypted"] is False and "KmsKeyId" not in instance
    rds.create_db_snapshot(DBSnapshotIdentifier="plain", DBInstanceIdentifier="orders")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    rds.copy_db_snapshot(SourceDBSnapshotIdentifier="plain", TargetDBSnapshotIdentifier="sealed",
                         KmsKeyId=key)
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier="orders")["DBSnapshots"]
    assert [(s["DBSnapshotIdentifier"], s["Encrypted"]) for s in snapshots] == [
        ("plain", False), ("sealed", True)]
    assert rds.inspect_snapshot("plain") is None
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="orders-sealed",
                                             DBSnapshotIdentifier="sealed")
    assert _rows(rds, "orders-sealed") == {"order-1": "3 apples"}


def test_a_snapshot_taken_before_a_rotation_restores_after_it(kms, rds):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    _orders(rds, KmsKeyId=key)
    rds.create_db_snapshot(DBSnapshotIdentifier="jan", DBInstanceIdentifier="orders")
    kms.rotate_key_on_demand(KeyId=key)
    rds.copy_db_snapshot(SourceDBSnapshotIdentifier="jan", TargetDBSnapshotIdentifier="jan-2",
                         KmsKeyId=key)              # same key: fresh data key, newest material
    assert rds.inspect_snapshot("jan").version == 1
    assert rds.inspect_snapshot("jan-2").version == 2
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="from-jan",
                                             DBSnapshotIdentifier="jan")
    assert _rows(rds, "from-jan") == {"order-1": "3 apples"}


def test_a_disabled_key_makes_a_rebooted_instance_inaccessible_until_reenabled(kms, rds):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    _orders(rds, KmsKeyId=key)
    kms.disable_key(KeyId=key)
    assert _rows(rds, "orders") == {"order-1": "3 apples"}   # the running host has the key
    with pytest.raises(rds.exceptions.KMSKeyNotAccessibleFault) as caught:
        rds.reboot_db_instance(DBInstanceIdentifier="orders")
    assert isinstance(caught.value.__cause__, DisabledException)
    status = rds.describe_db_instances(DBInstanceIdentifier="orders")["DBInstances"][0]
    assert status["DBInstanceStatus"] == "inaccessible-encryption-credentials"
    with pytest.raises(DatabaseError):
        _rows(rds, "orders")
    with pytest.raises(rds.exceptions.InvalidDBInstanceStateFault):
        rds.create_db_snapshot(DBSnapshotIdentifier="s", DBInstanceIdentifier="orders")
    kms.enable_key(KeyId=key)
    rds.reboot_db_instance(DBInstanceIdentifier="orders")
    assert _rows(rds, "orders") == {"order-1": "3 apples"}


def test_a_copy_under_an_unusable_key_creates_nothing(kms, rds):
    _orders(rds, StorageEncrypted=True)
    rds.create_db_snapshot(DBSnapshotIdentifier="snap", DBInstanceIdentifier="orders")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    with pytest.raises(rds.exceptions.KMSKeyNotAccessibleFault):
        rds.copy_db_snapshot(SourceDBSnapshotIdentifier="snap", TargetDBSnapshotIdentifier="c",
                             KmsKeyId=key)
    assert len(rds.describe_db_snapshots()["DBSnapshots"]) == 1


def test_deleting_an_instance_keeps_a_final_snapshot(kms, rds):
    _orders(rds, StorageEncrypted=True)
    with pytest.raises(rds.exceptions.InvalidParameterCombination):
        rds.delete_db_instance(DBInstanceIdentifier="orders")
    rds.delete_db_instance(DBInstanceIdentifier="orders", FinalDBSnapshotIdentifier="final")
    assert rds.describe_db_instances() == {"DBInstances": []}
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="orders",
                                             DBSnapshotIdentifier="final")
    assert _rows(rds, "orders") == {"order-1": "3 apples"}


def test_bad_requests_raise_rdss_own_errors(kms, rds):
    _orders(rds, StorageEncrypted=True)
    with pytest.raises(rds.exceptions.DBSnapshotNotFoundFault) as caught:
        rds.copy_db_snapshot(SourceDBSnapshotIdentifier="nope", TargetDBSnapshotIdentifier="x")
    assert caught.value.code == "DBSnapshotNotFound"
    assert "CopyDBSnapshot" in str(caught.value)
    with pytest.raises(rds.exceptions.DBInstanceNotFoundFault):
        rds.create_db_snapshot(DBSnapshotIdentifier="s", DBInstanceIdentifier="nope")
    rds.create_db_snapshot(DBSnapshotIdentifier="s", DBInstanceIdentifier="orders")
    with pytest.raises(rds.exceptions.DBSnapshotAlreadyExistsFault):
        rds.create_db_snapshot(DBSnapshotIdentifier="s", DBInstanceIdentifier="orders")
    with pytest.raises(rds.exceptions.DBInstanceAlreadyExistsFault):
        _orders(rds)
    with pytest.raises(rds.exceptions.InvalidParameterCombination):
        rds.create_db_instance(DBInstanceIdentifier="other", MasterUserPassword=PASSWORD,
                               StorageEncrypted=False, KmsKeyId="alias/aws/rds")
    with pytest.raises(rds.exceptions.InvalidParameterValue):
        rds.create_db_instance(DBInstanceIdentifier="1bad", MasterUserPassword=PASSWORD)
    with pytest.raises(rds.exceptions.InvalidParameterValue, match="MasterUserPassword"):
        rds.create_db_instance(DBInstanceIdentifier="other")
    with pytest.raises(rds.exceptions.KMSKeyNotAccessibleFault):
        rds.create_db_instance(DBInstanceIdentifier="other", MasterUserPassword=PASSWORD,
                               KmsKeyId="alias/missing")
    assert [i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]] == [
        "orders"]
    with pytest.raises(DatabaseError, match="authentication failed"):
        rds.database("orders").connect("admin", "wrong")


def test_rds_uses_a_customer_managed_key_through_a_grant_it_retires_on_delete(kms, rds):
    # RDS User Guide, "AWS KMS key management": the user creating the instance needs
    # kms:CreateGrant and kms:DescribeKey on the key; KMS Developer Guide, "Grants in AWS
    # KMS": the service creates a grant on behalf of a user, uses its permissions, and
    # retires it when its task is complete. A service's grant names the service as grantee
    # and retiring principal (botocore examples-1.json, ListGrants example, acm.<region>).
    key = kms.create_key()["KeyMetadata"]["Arn"]
    instance = _orders(rds, KmsKeyId=key)
    [grant] = kms.list_grants(KeyId=key)["Grants"]
    assert grant["GranteePrincipal"] == grant["RetiringPrincipal"] == \
        "rds.us-east-1.amazonaws.com"
    assert grant["Operations"] == [
        "Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
        "DescribeKey", "CreateGrant", "RetireGrant"]
    assert grant["Constraints"] == {
        "EncryptionContextSubset": {"aws:rds:db-id": instance["DbiResourceId"]}}
    who = {e.name: e.to_cloudtrail()["userIdentity"] for e in kms.trail.query(key=key)}
    assert who["CreateGrant"]["arn"] == "arn:aws:iam::111122223333:user/learner"
    assert who["CreateGrant"]  # the caller asked, through RDS
    assert who["GenerateDataKeyWithoutPlaintext"] == who["Decrypt"] == {
        "type": "AWSService", "invokedBy": "rds.amazonaws.com"}
    # The grant is what lets RDS in: the key policy does not name RDS.
    kms.advance(days=1)
    rds.reboot_db_instance(DBInstanceIdentifier="orders")
    assert kms.trail[-1].name == "Decrypt" and kms.trail[-1].succeeded
    rds.delete_db_instance(DBInstanceIdentifier="orders", SkipFinalSnapshot=True)
    assert kms.list_grants(KeyId=key)["Grants"] == []
    retired = kms.trail.query(key=key, name="RetireGrant")
    assert [e.principal for e in retired] == ["rds.us-east-1.amazonaws.com"]


def test_without_kms_create_grant_the_caller_cannot_create_an_encrypted_instance(kms, rds):
    # RDS User Guide, "AWS KMS key management": kms:CreateGrant and kms:DescribeKey are
    # required; the tip limits CreateGrant to requests through an AWS service with
    # kms:ViaService. A role allowed only DescribeKey is refused; one allowed CreateGrant
    # only through RDS succeeds, and still cannot create a grant directly.
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.iam.create_role("deployer", policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": key}]}])
    with kms.acting_as("role/deployer"), pytest.raises(Exception) as refused:
        _orders(rds, KmsKeyId=key)
    assert refused.value.code == "KMSKeyNotAccessibleFault"
    assert "not authorized to perform: kms:CreateGrant" in str(refused.value)
    kms.iam.attach_policy("role/deployer", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key,
         "Condition": {"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}}]})
    with kms.acting_as("role/deployer"):
        _orders(rds, KmsKeyId=key)
        with pytest.raises(AccessDeniedException):
            kms.create_grant(KeyId=key, GranteePrincipal="rds.us-east-1.amazonaws.com",
                             Operations=["Decrypt"])
    assert _rows(rds, "orders") == {"order-1": "3 apples"}


def test_the_developer_guides_grant_is_for_aws_resource_statement_lets_rds_create_its_grant(kms,
                                                                                          rds):
    # KMS Developer Guide, "kms:GrantIsForAWSResource": the example statement allows a
    # principal to create grants only when an integrated AWS service (EBS in the example)
    # calls CreateGrant on its behalf, and not to call CreateGrant directly.
    user = kms.iam.create_user("ExampleUser", policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]}])
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user}, "Action": "kms:CreateGrant",
         "Resource": "*", "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}}}]})
                         )["KeyMetadata"]["Arn"]
    with kms.acting_as("ExampleUser"):
        _orders(rds, KmsKeyId=key)
        with pytest.raises(AccessDeniedException):
            kms.create_grant(KeyId=key, GranteePrincipal=user, Operations=["Decrypt"])
    assert len(kms.list_grants(KeyId=key)["Grants"]) == 1
