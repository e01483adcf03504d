"""Multi-Region keys on one simulated clock (kms-facts.md 1.2; AWS messages from
/work/research/aws_kms_recordings.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmssim import Cloud
from kmssim.aws.bridge import mock_kms
from kmssim.core.errors import (
    AlreadyExistsException,
    NotFoundException,
    UnsupportedOperationException,
)


@pytest.fixture
def cloud() -> Cloud:
    return Cloud(seed=12)


def test_a_multi_region_key_and_its_replica(cloud: Cloud) -> None:
    east, west = cloud.region("us-east-1"), cloud.region("us-west-2")
    meta = east.create_key(MultiRegion=True, Description="test replicated key")["KeyMetadata"]
    key = meta["KeyId"]
    assert re.fullmatch(r"mrk-[0-9a-f]{32}", key)
    # Recording create_key_multi_region_response.
    assert meta["MultiRegion"] is True and meta["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "PRIMARY",
        "PrimaryKey": {"Arn": meta["Arn"], "Region": "us-east-1"}, "ReplicaKeys": []}
    # Recording describe_key_replica_region_before_replication.
    with pytest.raises(NotFoundException) as raised:
        west.describe_key(KeyId=key)
    assert raised.value.message == \
        f"Key 'arn:aws:kms:us-west-2:111122223333:key/{key}' does not exist"
    answer = east.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    replica_arn = f"arn:aws:kms:us-west-2:111122223333:key/{key}"
    # Recording replicate_key_response: the answer shows the replica still Creating.
    replica = answer["ReplicaKeyMetadata"]
    assert replica["Arn"] == replica_arn and replica["KeyId"] == key
    assert replica["KeyState"] == "Creating" and replica["Enabled"] is False
    assert replica["Description"] == "" and set(answer) == {"ReplicaKeyMetadata",
                                                             "ReplicaPolicy", "ReplicaTags"}
    assert replica["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": {"Arn": meta["Arn"], "Region": "us-east-1"},
        "ReplicaKeys": [{"Arn": replica_arn, "Region": "us-west-2"}]}
    # Recording describe_primary_after_replicate.
    primary = east.describe_key(KeyId=key)["KeyMetadata"]["MultiRegionConfiguration"]
    assert primary["ReplicaKeys"] == [{"Arn": replica_arn, "Region": "us-west-2"}]
    assert west.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    # Recording replicate_replica_key.
    with pytest.raises(UnsupportedOperationException) as raised:
        west.replicate_key(KeyId=key, ReplicaRegion="eu-west-1")
    assert raised.value.message == f"{replica_arn} is not a multi-region primary key."
    with pytest.raises(AlreadyExistsException):
        east.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    single = east.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(UnsupportedOperationException):
        east.replicate_key(KeyId=single, ReplicaRegion="us-west-2")


def test_rotation_is_set_and_triggered_on_the_primary_only(cloud: Cloud) -> None:
    east, west = cloud.region("us-east-1"), cloud.region("eu-west-1")
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key, ReplicaRegion="eu-west-1")
    # EnableKeyRotation / DisableKeyRotation docs (S-MODEL): "set the property on the primary
    # key"; RotateKeyOnDemand docs: "invoke the on-demand rotation on the primary Region key".
    for refused in (west.enable_key_rotation, west.disable_key_rotation,
                    west.rotate_key_on_demand):
        with pytest.raises(UnsupportedOperationException) as raised:
            refused(KeyId=key)
        assert raised.value.hint
    east.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    status = west.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] and status["RotationPeriodInDays"] == 90
    events = west.advance(days=91)           # any Region moves the one clock
    assert [(e.name, e.key_arn.split(":")[3]) for e in events] == [("RotateKey", "us-east-1")]
    assert east.now == west.now == cloud.now
    current = east.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert west.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == current
    east.rotate_key_on_demand(KeyId=key)
    assert len(west.list_key_rotations(KeyId=key)["Rotations"]) == 2


@settings(max_examples=10, deadline=None)
@given(plan=st.lists(st.tuples(st.sampled_from(["east", "west", "tokyo"]),
                               st.sampled_from(["encrypt", "rotate", "wait"])),
                     min_size=1, max_size=10))
def test_a_ciphertext_decrypts_in_every_region_after_rotations(plan) -> None:
    cloud = Cloud(seed=3)
    regions = {"east": cloud.region("us-east-1"), "west": cloud.region("us-west-2"),
               "tokyo": cloud.region("ap-northeast-1")}
    key = regions["east"].create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    regions["east"].replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    regions["east"].replicate_key(KeyId=key, ReplicaRegion="ap-northeast-1")
    regions["east"].enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    made = []
    for number, (where, action) in enumerate(plan):
        if action == "encrypt":
            text = b"%d" % number
            made.append((regions[where].encrypt(KeyId=key, Plaintext=text)["CiphertextBlob"],
                         text))
        elif action == "rotate":
            regions["east"].rotate_key_on_demand(KeyId=key)
        else:
            regions[where].advance(days=100)
    for blob, text in made:
        for kms in regions.values():
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == text


def test_update_primary_region_moves_the_rotation_schedule(cloud: Cloud) -> None:
    east, west = cloud.region("us-east-1"), cloud.region("us-west-2")
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    east.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    assert east.update_primary_region(KeyId=key, PrimaryRegion="us-west-2") == {}
    assert east.describe_key(KeyId=key)["KeyMetadata"]["MultiRegionConfiguration"][
        "MultiRegionKeyType"] == "REPLICA"
    with pytest.raises(UnsupportedOperationException):
        east.rotate_key_on_demand(KeyId=key)
    events = cloud.advance(days=91)
    assert [e.key_arn.split(":")[3] for e in events] == ["us-west-2"]
    blob = west.encrypt(KeyId=key, Plaintext=b"new")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"new"


def test_the_aws_documentation_example_for_replicate_key_runs() -> None:
    """examples-1.json ReplicateKey: us-east-1 primary replicated to us-west-2."""
    import botocore
    path = Path(botocore.__file__).parent / "data/kms/2014-11-01/examples-1.json"
    example = json.loads(path.read_text())["examples"]["ReplicateKey"][0]
    cloud = Cloud(seed=1)
    east = cloud.region("us-east-1")
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    request = dict(example["input"])
    request["KeyId"] = request["KeyId"].replace("mrk-1234abcd12ab34cd56ef1234567890ab", key)
    answer = east.replicate_key(**request)
    want = example["output"]["ReplicaKeyMetadata"]
    got = answer["ReplicaKeyMetadata"]
    assert got["Arn"] == want["Arn"].replace("mrk-1234abcd12ab34cd56ef1234567890ab", key)
    for field in ("AWSAccountId", "KeyManager", "KeyUsage", "MultiRegion", "Description",
                  "EncryptionAlgorithms", "CustomerMasterKeySpec"):
        assert got[field] == want[field], field
    assert got["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert cloud.region("us-west-2").describe_key(KeyId=key)["KeyMetadata"]["Enabled"]


def test_a_replica_of_an_external_key_waits_for_the_same_material(cloud: Cloud) -> None:
    from kmssim.envelope import wrap_key_material
    east, west = cloud.region("us-east-1"), cloud.region("eu-central-1")
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key, ReplicaRegion="eu-central-1")
    assert west.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    ids = []
    for kms in (east, west):
        wrapping = kms.get_parameters_for_import(KeyId=key, WrappingKeySpec="RSA_2048",
                                                 WrappingAlgorithm="RSAES_OAEP_SHA_256")
        ids.append(kms.import_key_material(
            KeyId=key, ImportToken=wrapping["ImportToken"],
            EncryptedKeyMaterial=wrap_key_material(wrapping["PublicKey"], bytes(32)),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")["KeyMaterialId"])
    assert ids[0] == ids[1]
    blob = east.encrypt(KeyId=key, Plaintext=b"both")["CiphertextBlob"]
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"both"


def test_mock_kms_regions_share_one_cloud() -> None:
    with mock_kms(seed=4) as mock:
        east = boto3.client("kms", region_name="us-east-1")
        west = boto3.client("kms", region_name="eu-west-1")
        key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        east.replicate_key(KeyId=key, ReplicaRegion="eu-west-1")
        blob = east.encrypt(KeyId=key, Plaintext=b"travels")["CiphertextBlob"]
        assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"travels"
        described = west.describe_key(KeyId=key)["KeyMetadata"]
        assert described["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
        mock.simulator("us-east-1").advance(days=10)
        assert mock.simulator("eu-west-1").now == mock.simulator("us-east-1").now
        east.close()
        west.close()


def test_a_cloud_saves_and_loads(cloud: Cloud, tmp_path: Path) -> None:
    east = cloud.region("us-east-1")
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key, ReplicaRegion="sa-east-1")
    east.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    blob = east.encrypt(KeyId=key, Plaintext=b"saved")["CiphertextBlob"]
    cloud.save(tmp_path / "world")
    loaded = Cloud.load(tmp_path / "world")
    assert sorted(loaded.regions) == ["sa-east-1", "us-east-1"]
    events = loaded.advance(days=91)
    assert [e.name for e in events] == ["RotateKey"]
    replica = loaded.region("sa-east-1")
    assert replica.decrypt(CiphertextBlob=blob)["Plaintext"] == b"saved"
    assert replica.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == \
        loaded.region("us-east-1").describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]


def test_a_replicas_key_policy_is_validated_as_create_keys_is(cloud: Cloud) -> None:
    from kmssim.core.errors import MalformedPolicyDocumentException

    east, west = cloud.region("us-east-1"), cloud.region("us-west-2")
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    # AWS refuses a key policy that is not a JSON policy document (the model's CreateKey
    # and ReplicateKey Policy docs); nothing is replicated.
    with pytest.raises(MalformedPolicyDocumentException):
        east.replicate_key(KeyId=key, ReplicaRegion="us-west-2", Policy="my policy")
    with pytest.raises(NotFoundException):
        west.describe_key(KeyId=key)
    own = json.loads(east.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    own["Statement"][0]["Sid"] = "Replica's own policy"
    made = east.replicate_key(KeyId=key, ReplicaRegion="us-west-2", Policy=json.dumps(own))
    assert json.loads(made["ReplicaPolicy"])["Statement"][0]["Sid"] == "Replica's own policy"
