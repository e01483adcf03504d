"""RDS: encrypted storage under aws/rds or a customer managed key, snapshots, moving a
database to another key by copying a snapshot, and what a disabled key does."""

from __future__ import annotations

import pytest

from kmssim import KMS
from kmssim.core.errors import DisabledException
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
    generated = kms.trail.query(name="GenerateDataKey")
    assert [e.request["encryptionContext"] for e in generated] == [
        {"aws:rds:db-id": instance["DbiResourceId"]}]
    assert _rows(rds, "orders") == {"order-1": "3 apples"}
    assert rds.kms_calls == 1                      # reads and writes use the data key in memory
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
    assert rds.kms_calls_by_operation() == {"Decrypt": 3, "GenerateDataKey": 2, "ReEncrypt": 2}


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
