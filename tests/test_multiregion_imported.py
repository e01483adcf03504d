"""Imported key material in multi-Region keys, and deleting a primary that has replicas.

Sources: the API Reference (botocore's model docs) for ImportKeyMaterial, ImportType,
RotateKeyOnDemand, RotationsListEntry.KeyMaterialState, DeleteImportedKeyMaterial and
ScheduleKeyDeletion; the Developer Guide, "Importing key material into multi-Region keys"
(KMS copies no imported material; each Region's key state and expiry are its own);
kms-facts.md 2.6, 2.8, 6.1, 6.2 and 6.6. AWS's message texts come from
/work/research/aws_kms_recordings.json where a recording exists (named at each use).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmssim import Cloud, KMS
from kmssim.core.errors import (
    IncorrectKeyMaterialException,
    KMSInvalidStateException,
    NotFoundException,
    UnsupportedOperationException,
)
from kmssim.envelope import wrap_key_material

EAST, WEST, SOUTH = "us-east-1", "eu-west-1", "ap-southeast-2"
FIRST, SECOND, THIRD = bytes(range(32)), bytes(range(32, 64)), bytes(range(64, 96))


def import_into(kms: KMS, key: str, material: bytes, **kwargs: object) -> dict:
    wrapping = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                             WrappingKeySpec="RSA_2048")
    kwargs.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return kms.import_key_material(
        KeyId=key, ImportToken=wrapping["ImportToken"],
        EncryptedKeyMaterial=wrap_key_material(wrapping["PublicKey"], material), **kwargs)


def states(kms: KMS, key: str) -> list[tuple[str, str]]:
    rows = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    return [(row["KeyMaterialState"], row["ImportState"]) for row in rows]


def key_state(kms: KMS, key: str) -> str:
    return kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"]


@pytest.fixture
def cloud() -> Cloud:
    return Cloud(seed=33)


@pytest.fixture
def replicated(cloud: Cloud) -> tuple[KMS, KMS, str]:
    """An EXTERNAL multi-Region key in us-east-1 with its first material, and a replica in
    eu-west-1 that has imported the same bytes."""
    east, west = cloud.region(EAST), cloud.region(WEST)
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    import_into(east, key, FIRST)
    east.replicate_key(KeyId=key, ReplicaRegion=WEST)
    import_into(west, key, FIRST)
    return east, west, key


def test_a_replica_lists_its_primarys_material_as_pending_import(cloud: Cloud) -> None:
    east, west = cloud.region(EAST), cloud.region(WEST)
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    first = import_into(east, key, FIRST)["KeyMaterialId"]
    east.replicate_key(KeyId=key, ReplicaRegion=WEST)
    # KMS copies no imported material to a replica (Developer Guide, "Importing key material
    # into multi-Region keys"): the replica waits in PendingImport for the same bytes.
    assert key_state(west, key) == "PendingImport"
    assert states(west, key) == [("CURRENT", "PENDING_IMPORT")]
    with pytest.raises(KMSInvalidStateException):
        west.encrypt(KeyId=key, Plaintext=b"not yet")
    # The same bytes get the same id in every Region (ids derive from key id and material).
    assert import_into(west, key, FIRST)["KeyMaterialId"] == first
    assert key_state(west, key) == "Enabled" and states(west, key) == [("CURRENT", "IMPORTED")]


def test_a_replica_refuses_bytes_that_are_not_its_primarys(cloud: Cloud) -> None:
    east, west = cloud.region(EAST), cloud.region(WEST)
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key, ReplicaRegion=WEST)
    # Before the primary has material, the replica has nothing it could take.
    with pytest.raises(IncorrectKeyMaterialException) as raised:
        import_into(west, key, FIRST)
    assert "primary" in (raised.value.hint or "")
    import_into(east, key, FIRST)
    # The model's IncorrectKeyMaterialException: "not the same key material that was
    # previously imported"; AWS's message is not recorded, so kmssim sends none.
    with pytest.raises(IncorrectKeyMaterialException) as raised:
        import_into(west, key, SECOND)
    assert raised.value.message == "" and "primary" in (raised.value.hint or "")
    # New material goes into the primary only (API Reference, ImportKeyMaterial: "You
    # cannot directly import new key material into the replica Region keys").
    with pytest.raises(UnsupportedOperationException):
        import_into(west, key, FIRST, ImportType="NEW_KEY_MATERIAL")
    assert west.trail[-1].error_code == "UnsupportedOperationException"   # audited
    assert key_state(west, key) == "PendingImport"


def test_new_material_waits_for_every_replica_before_it_can_rotate_in(
        cloud: Cloud, replicated: tuple[KMS, KMS, str]) -> None:
    east, west, key = replicated
    south = cloud.region(SOUTH)
    east.replicate_key(KeyId=key, ReplicaRegion=SOUTH)
    import_into(south, key, FIRST)
    second = import_into(east, key, SECOND, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    waiting = ("PENDING_MULTI_REGION_IMPORT_AND_ROTATION", "IMPORTED")
    assert states(east, key) == [("CURRENT", "IMPORTED"), waiting]
    assert states(west, key)[1] == ("PENDING_MULTI_REGION_IMPORT_AND_ROTATION", "PENDING_IMPORT")
    # Recorded text (rotate_on_demand_external_no_pending_material): nothing is
    # PENDING_ROTATION yet; the hint names the replicas still without the bytes.
    with pytest.raises(KMSInvalidStateException) as raised:
        east.rotate_key_on_demand(KeyId=key)
    arn = east.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    assert raised.value.message == f"No available key material pending rotation for the key: {arn}."
    assert WEST in (raised.value.hint or "") and SOUTH in (raised.value.hint or "")
    import_into(west, key, SECOND)      # EXISTING_KEY_MATERIAL is a replica's default
    assert states(east, key)[1] == waiting
    import_into(south, key, SECOND, ImportType="EXISTING_KEY_MATERIAL")
    for kms in (east, west, south):
        assert states(kms, key)[1] == ("PENDING_ROTATION", "IMPORTED")
    # Rotation is asked of the primary only, and rotates the material in everywhere.
    with pytest.raises(UnsupportedOperationException):
        west.rotate_key_on_demand(KeyId=key)
    east.rotate_key_on_demand(KeyId=key)
    for kms in (east, west, south):
        meta = kms.describe_key(KeyId=key)["KeyMetadata"]
        assert meta["CurrentKeyMaterialId"] == second and meta["KeyState"] == "Enabled"
        assert states(kms, key) == [("NON_CURRENT", "IMPORTED"), ("CURRENT", "IMPORTED")]
        rotation = kms.list_key_rotations(KeyId=key)["Rotations"]
        assert [r["RotationType"] for r in rotation] == ["ON_DEMAND"]
    blob = south.encrypt(KeyId=key, Plaintext=b"new")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"new"


def test_a_new_replica_makes_pending_material_wait_again(
        cloud: Cloud, replicated: tuple[KMS, KMS, str]) -> None:
    east, west, key = replicated
    import_into(east, key, SECOND, ImportType="NEW_KEY_MATERIAL")
    import_into(west, key, SECOND)
    assert states(east, key)[1][0] == "PENDING_ROTATION"
    east.replicate_key(KeyId=key, ReplicaRegion=SOUTH)
    south = cloud.region(SOUTH)
    assert states(south, key) == [("CURRENT", "PENDING_IMPORT"),
                                  ("PENDING_MULTI_REGION_IMPORT_AND_ROTATION", "PENDING_IMPORT")]
    assert states(east, key)[1][0] == "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"
    import_into(south, key, FIRST)
    assert key_state(south, key) == "Enabled"      # pending material is not required
    import_into(south, key, SECOND)
    east.rotate_key_on_demand(KeyId=key)
    assert south.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == \
        east.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]


def test_expiry_in_one_region_locks_only_that_region(
        cloud: Cloud, replicated: tuple[KMS, KMS, str]) -> None:
    east, west, key = replicated
    before = east.encrypt(KeyId=key, Plaintext=b"before expiry")["CiphertextBlob"]
    import_into(west, key, FIRST, ExpirationModel="KEY_MATERIAL_EXPIRES",
                ValidTo=cloud.now + timedelta(days=30))
    events = cloud.advance(days=31)
    assert [(e.name, e.key_arn.split(":")[3]) for e in events] == \
        [("DeleteExpiredKeyMaterial", WEST)]
    # "The key states of related multi-Region keys are independent of each other"
    # (Developer Guide, "Importing key material into multi-Region keys").
    assert key_state(west, key) == "PendingImport" and key_state(east, key) == "Enabled"
    with pytest.raises(KMSInvalidStateException) as raised:
        west.decrypt(CiphertextBlob=before)
    assert raised.value.message.endswith("is pending import.")   # recording encrypt_pending_import
    assert east.decrypt(CiphertextBlob=before)["Plaintext"] == b"before expiry"
    import_into(west, key, FIRST)
    assert west.decrypt(CiphertextBlob=before)["Plaintext"] == b"before expiry"


def test_deleting_material_pending_in_the_primary_deletes_it_from_the_replicas(
        replicated: tuple[KMS, KMS, str]) -> None:
    east, west, key = replicated
    second = import_into(east, key, SECOND, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    import_into(west, key, SECOND)
    east.delete_imported_key_material(KeyId=key, KeyMaterialId=second)
    # API Reference, DeleteImportedKeyMaterial: deleting a primary's pending material
    # deletes the replicas' too; neither key changes state.
    assert states(west, key)[1][1] == "PENDING_IMPORT"
    assert key_state(east, key) == key_state(west, key) == "Enabled"
    # Pending material "is not permanently associated with the KMS key": other bytes may
    # take its place (API Reference, RotationsListEntry.KeyMaterialState).
    third = import_into(east, key, THIRD, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    assert [r["KeyMaterialId"] for r in west.list_key_rotations(
        KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]][1] == third
    with pytest.raises(IncorrectKeyMaterialException):
        import_into(west, key, SECOND)
    import_into(west, key, THIRD)
    east.rotate_key_on_demand(KeyId=key)
    assert west.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == third


def test_deleting_a_replicas_material_changes_only_that_replica(
        replicated: tuple[KMS, KMS, str]) -> None:
    east, west, key = replicated
    west.delete_imported_key_material(KeyId=key)
    assert key_state(west, key) == "PendingImport" and key_state(east, key) == "Enabled"
    assert states(east, key) == [("CURRENT", "IMPORTED")]


def test_imported_material_of_a_multi_region_key_survives_save_and_load(
        cloud: Cloud, replicated: tuple[KMS, KMS, str], tmp_path: Path) -> None:
    east, west, key = replicated
    import_into(east, key, SECOND, ImportType="NEW_KEY_MATERIAL")
    cloud.save(tmp_path / "world")
    loaded = Cloud.load(tmp_path / "world")
    assert states(loaded.region(WEST), key)[1] == (
        "PENDING_MULTI_REGION_IMPORT_AND_ROTATION", "PENDING_IMPORT")
    import_into(loaded.region(WEST), key, SECOND)
    loaded.region(EAST).rotate_key_on_demand(KeyId=key)
    assert states(loaded.region(WEST), key)[1] == ("CURRENT", "IMPORTED")


@settings(max_examples=8, deadline=None)
@given(rotations=st.integers(min_value=1, max_value=3), seed=st.integers(0, 2**16),
       lapse=st.sampled_from([None, EAST, WEST]))
def test_every_ciphertext_decrypts_in_every_region_after_imported_rotations(
        rotations: int, seed: int, lapse: str | None) -> None:
    cloud = Cloud(seed=seed)
    east, west = cloud.region(EAST), cloud.region(WEST)
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    materials = [bytes([n]) * 32 for n in range(rotations + 1)]
    import_into(east, key, materials[0])
    east.replicate_key(KeyId=key, ReplicaRegion=WEST)
    import_into(west, key, materials[0])
    blobs = {}
    for number, material in enumerate(materials[1:], start=1):
        for kms in (east, west):
            blobs[(kms.region, number)] = kms.encrypt(
                KeyId=key, Plaintext=f"{kms.region} {number}".encode())["CiphertextBlob"]
        import_into(east, key, material, ImportType="NEW_KEY_MATERIAL")
        import_into(west, key, material)
        east.rotate_key_on_demand(KeyId=key)
        cloud.advance(days=1)
    if lapse is not None:
        # One Region's copy of the oldest material lapses, then comes back.
        kms = cloud.region(lapse)
        first = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")[
            "Rotations"][0]["KeyMaterialId"]
        kms.delete_imported_key_material(KeyId=key, KeyMaterialId=first)
        assert key_state(kms, key) == "PendingImport"
        import_into(kms, key, materials[0])
    for (region, number), blob in blobs.items():
        for kms in (east, west):
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == f"{region} {number}".encode()
    ids = [r["KeyMaterialId"] for r in east.list_key_rotations(
        KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]]
    assert ids == [r["KeyMaterialId"] for r in west.list_key_rotations(
        KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]]


def test_seeded_multi_region_imports_are_reproducible() -> None:
    def run() -> list[object]:
        cloud = Cloud(seed="mrk-import")
        east, west = cloud.region(EAST), cloud.region(WEST)
        key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        import_into(east, key, FIRST)
        east.replicate_key(KeyId=key, ReplicaRegion=WEST)
        import_into(west, key, FIRST)
        import_into(east, key, SECOND, ImportType="NEW_KEY_MATERIAL")
        import_into(west, key, SECOND)
        east.rotate_key_on_demand(KeyId=key)
        blob = west.encrypt(KeyId=key, Plaintext=b"same")["CiphertextBlob"]
        return [key, blob,
                east.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")]
    assert run() == run()


# -- deleting a multi-Region primary key that has replicas ----------------------------------

def test_a_primary_with_replicas_waits_for_them_before_its_window_starts(cloud: Cloud) -> None:
    east, west = cloud.region(EAST), cloud.region(WEST)
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key, ReplicaRegion=WEST)
    blob = east.encrypt(KeyId=key, Plaintext=b"kept by the replica")["CiphertextBlob"]
    answer = east.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    # API Reference, ScheduleKeyDeletion: PendingReplicaDeletion, no DeletionDate.
    assert answer["KeyState"] == "PendingReplicaDeletion" and "DeletionDate" not in answer
    assert answer["PendingWindowInDays"] == 7
    meta = east.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "PendingReplicaDeletion" and meta["Enabled"] is False
    # KeyMetadata.PendingDeletionWindowInDays is present only in this state.
    assert meta["PendingDeletionWindowInDays"] == 7 and "DeletionDate" not in meta
    # "It cannot be replicated or used in cryptographic operations"; the key-state table
    # gives this state the "is pending deletion" message (kms-facts.md 6.2).
    with pytest.raises(KMSInvalidStateException) as raised:
        east.encrypt(KeyId=key, Plaintext=b"no")
    assert raised.value.message == f"{meta['Arn']} is pending deletion."
    with pytest.raises(KMSInvalidStateException):
        east.replicate_key(KeyId=key, ReplicaRegion=SOUTH)
    assert east.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    # "This status can continue indefinitely": nothing happens while a replica remains.
    assert cloud.advance(days=400) == []
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept by the replica"
    # Scheduling the replica's deletion is not enough: it must be deleted.
    west.schedule_key_deletion(KeyId=key, PendingWindowInDays=10)
    assert key_state(east, key) == "PendingReplicaDeletion"
    events = cloud.advance(days=10)
    assert [e.name for e in events] == ["DeleteKey"]
    meta = east.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert meta["DeletionDate"] == cloud.now + timedelta(days=7)
    assert meta["MultiRegionConfiguration"]["ReplicaKeys"] == []
    events = cloud.advance(days=7)
    assert [(e.name, e.key_arn.split(":")[3]) for e in events] == [("DeleteKey", EAST)]
    with pytest.raises(NotFoundException):
        east.describe_key(KeyId=key)


def test_cancelling_a_primarys_replica_deletion_disables_it(cloud: Cloud) -> None:
    east, west = cloud.region(EAST), cloud.region(WEST)
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key, ReplicaRegion=WEST)
    east.schedule_key_deletion(KeyId=key)
    east.cancel_key_deletion(KeyId=key)
    meta = east.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and "PendingDeletionWindowInDays" not in meta
    west.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    cloud.advance(days=7)
    assert key_state(east, key) == "Disabled"          # no longer waiting to be deleted
    assert east.describe_key(KeyId=key)["KeyMetadata"]["MultiRegionConfiguration"][
        "ReplicaKeys"] == []


def test_a_primary_pending_replica_deletion_survives_save_and_load(
        cloud: Cloud, tmp_path: Path) -> None:
    east, west = cloud.region(EAST), cloud.region(WEST)
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key, ReplicaRegion=WEST)
    east.schedule_key_deletion(KeyId=key, PendingWindowInDays=8)
    west.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    cloud.save(tmp_path / "world")
    loaded = Cloud.load(tmp_path / "world")
    assert key_state(loaded.region(EAST), key) == "PendingReplicaDeletion"
    loaded.advance(days=7)
    assert loaded.region(EAST).describe_key(KeyId=key)["KeyMetadata"]["DeletionDate"] == \
        loaded.now + timedelta(days=8)


def test_both_features_through_boto3_and_the_bridge() -> None:
    """The same answers reach a real boto3 client (kmssim.bridge.mock_kms)."""
    import boto3

    from kmssim.aws.bridge import mock_kms
    with mock_kms(seed=44) as mock:
        east = boto3.client("kms", region_name=EAST)
        west = boto3.client("kms", region_name=WEST)
        key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
        import_into(mock.simulator(EAST), key, FIRST)
        east.replicate_key(KeyId=key, ReplicaRegion=WEST)
        import_into(mock.simulator(WEST), key, FIRST)
        import_into(mock.simulator(EAST), key, SECOND, ImportType="NEW_KEY_MATERIAL")
        rows = west.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")
        assert rows["Rotations"][1]["KeyMaterialState"] == \
            "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"
        answer = east.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        assert answer["KeyState"] == "PendingReplicaDeletion" and "DeletionDate" not in answer
        meta = east.describe_key(KeyId=key)["KeyMetadata"]
        assert meta["PendingDeletionWindowInDays"] == 7
        with pytest.raises(east.exceptions.KMSInvalidStateException):
            east.generate_data_key(KeyId=key, KeySpec="AES_256")
        east.close()
        west.close()


@settings(max_examples=20, deadline=None)
@given(replicas=st.integers(min_value=1, max_value=3),
       windows=st.lists(st.integers(min_value=7, max_value=30), min_size=4, max_size=4),
       gaps=st.lists(st.integers(min_value=0, max_value=40), min_size=4, max_size=4))
def test_a_primary_is_deleted_its_window_after_its_last_replica(
        replicas: int, windows: list[int], gaps: list[int]) -> None:
    """Whatever the order and windows, the primary stays PendingReplicaDeletion while any
    replica exists, and is deleted exactly its own window after the last replica's deletion."""
    cloud = Cloud(seed=sum(windows) + replicas)
    east = cloud.region(EAST)
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    regions = [WEST, SOUTH, "sa-east-1"][:replicas]
    for region in regions:
        east.replicate_key(KeyId=key, ReplicaRegion=region)
    east.schedule_key_deletion(KeyId=key, PendingWindowInDays=windows[0])
    gone_at, events = [], []
    for region, window, gap in zip(regions, windows[1:], gaps):
        events += cloud.advance(days=gap)
        # This Region's replica is not even scheduled yet: the primary keeps waiting.
        assert key_state(east, key) == "PendingReplicaDeletion"
        cloud.region(region).schedule_key_deletion(KeyId=key, PendingWindowInDays=window)
        gone_at.append(cloud.now + timedelta(days=window))
    last = max(gone_at)
    events += cloud.advance_to(last + timedelta(days=windows[0] + 1))
    deletions = [(e.time, e.key_arn.split(":")[3]) for e in events if e.name == "DeleteKey"]
    assert deletions[-1] == (last + timedelta(days=windows[0]), EAST)
    assert sorted(t for t, region in deletions if region != EAST) == sorted(gone_at)
    with pytest.raises(NotFoundException):
        east.describe_key(KeyId=key)
