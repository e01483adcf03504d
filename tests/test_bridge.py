"""Real boto3 clients against the simulator: in process (bridge, mock_kms) and over HTTP.

The central test runs one scenario that calls every implemented operation, once
successfully and once failing, three ways: on the simulator directly, through a
boto3 client bridged in process, and through a boto3 client talking to the HTTP
endpoint. The three transcripts (responses and error codes) and audit trails must be
identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from kmssim import KMS, Cloud
from kmssim.envelope import wrap_key_material
from kmssim.core import model as api
from kmssim.aws.bridge import KMSMock, client, mock_kms, simulator
from kmssim.core.errors import KMSError
from kmssim.aws.server import serving

SEED = 11


def in_a_cloud() -> KMS:
    """us-east-1 of a seeded Cloud: the same as KMS(seed=SEED), and able to replicate."""
    return Cloud(seed=SEED).region("us-east-1")


class Failed(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# -- three ways to reach a simulator ----------------------------------------------------
class Direct:
    def __init__(self) -> None:
        self.kms = in_a_cloud()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        try:
            return getattr(self.kms, method)(**params)
        except KMSError as error:
            raise Failed(error.code) from None

    def advance(self, days: int) -> None:
        self.kms.advance(days=days)


class Boto(Direct):
    def __init__(self, aws: Any) -> None:
        self.aws = aws

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        try:
            response = getattr(self.aws, method)(**params)
        except ClientError as error:
            raise Failed(error.response["Error"]["Code"]) from None
        assert response.pop("ResponseMetadata")["HTTPStatusCode"] == 200
        return response


class Bridged(Boto):
    def __init__(self) -> None:
        self.kms = in_a_cloud()
        super().__init__(client(self.kms))


class OverHTTP(Boto):
    def __init__(self, url: str, kms: KMS) -> None:
        self.kms, self.url = kms, url
        super().__init__(boto3.client("kms", endpoint_url=url, region_name="us-east-1",
                                      aws_access_key_id="x", aws_secret_access_key="x",
                                      config=Config(retries={"total_max_attempts": 1})))

    def advance(self, days: int) -> None:
        request = urllib.request.Request(self.url, data=json.dumps({"Days": days}).encode(),
                                         headers={"X-Amz-Target": "KmsSim.Advance"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200


# -- the scenario ----------------------------------------------------------------------
def normalise(value: Any, *, random_blobs: bool = False) -> Any:
    """Responses in a comparable form: blobs by digest (by length if random), UTC times."""
    if isinstance(value, dict):
        return {k: normalise(v, random_blobs=random_blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, random_blobs=random_blobs) for v in value]
    if isinstance(value, bytes):
        return ("blob", len(value)) if random_blobs else hashlib.sha256(value).hexdigest()[:16]
    if isinstance(value, datetime):
        assert value.tzinfo is not None
        return value.astimezone(UTC).isoformat()
    return value


def scenario(way: Direct) -> tuple[list[Any], set[str], set[str]]:
    transcript: list[Any] = []
    succeeded: set[str] = set()
    failed: set[str] = set()

    def ok(method: str, *, random_blobs: bool = False, **params: Any) -> dict[str, Any]:
        response = way.call(method, **params)
        transcript.append((method, normalise(response, random_blobs=random_blobs)))
        succeeded.add(method)
        return response

    def fails(method: str, code: str, **params: Any) -> None:
        with pytest.raises(Failed) as raised:
            way.call(method, **params)
        transcript.append((method, "error", raised.value.code))
        assert raised.value.code == code, (method, raised.value.code)
        failed.add(method)

    missing = "0b0b0b0b-1111-2222-3333-444455556666"
    key = ok("create_key", Description="orders",
             Tags=[{"TagKey": "team", "TagValue": "data"}])["KeyMetadata"]["KeyId"]
    other = ok("create_key")["KeyMetadata"]["KeyId"]
    hmac_key = ok("create_key", KeySpec="HMAC_256",
                  KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    rsa_key = ok("create_key", KeySpec="RSA_2048",
                 KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    fails("create_key", "UnsupportedOperationException", Origin="AWS_CLOUDHSM")
    ok("describe_key", KeyId=key)
    fails("describe_key", "NotFoundException", KeyId="alias/missing")
    ok("list_keys", Limit=2)
    fails("list_keys", "InvalidMarkerException", Marker="not-a-marker")

    ok("create_alias", AliasName="alias/orders", TargetKeyId=key)
    fails("create_alias", "AlreadyExistsException", AliasName="alias/orders", TargetKeyId=key)
    ok("create_alias", AliasName="alias/scratch", TargetKeyId=other)
    ok("update_alias", AliasName="alias/scratch", TargetKeyId=key)
    fails("update_alias", "ValidationException", AliasName="alias/scratch",
          TargetKeyId=hmac_key)
    ok("list_aliases")
    fails("list_aliases", "NotFoundException", KeyId=missing)
    ok("delete_alias", AliasName="alias/scratch")
    fails("delete_alias", "NotFoundException", AliasName="alias/scratch")

    ok("update_key_description", KeyId=key, Description="orders database")
    fails("update_key_description", "NotFoundException", KeyId=missing, Description="x")
    ok("tag_resource", KeyId=key, Tags=[{"TagKey": "env", "TagValue": "prod"}])
    fails("tag_resource", "NotFoundException", KeyId=missing,
          Tags=[{"TagKey": "a", "TagValue": "b"}])
    ok("list_resource_tags", KeyId=key)
    fails("list_resource_tags", "NotFoundException", KeyId=missing)
    ok("get_key_policy", KeyId=key, PolicyName="default")
    fails("get_key_policy", "NotFoundException", KeyId=missing)
    policy = ok("get_key_policy", KeyId=key)["Policy"]
    ok("put_key_policy", KeyId=key, Policy=policy)
    fails("put_key_policy", "MalformedPolicyDocumentException", KeyId=key, Policy="my policy")
    ok("list_key_policies", KeyId=key)
    fails("list_key_policies", "NotFoundException", KeyId=missing)
    learner, app = "arn:aws:iam::111122223333:user/learner", "arn:aws:iam::111122223333:role/app"
    grant = ok("create_grant", KeyId=key, GranteePrincipal=app, RetiringPrincipal=learner,
               Operations=["Encrypt", "Decrypt"])
    fails("create_grant", "NotFoundException", KeyId=missing, GranteePrincipal=app,
          Operations=["Encrypt"])
    ok("list_grants", KeyId=key)
    fails("list_grants", "NotFoundException", KeyId=missing)
    ok("list_retirable_grants", RetiringPrincipal=learner)
    fails("list_retirable_grants", "InvalidMarkerException", RetiringPrincipal=learner,
          Marker="not-a-marker")
    ok("retire_grant", GrantToken=grant["GrantToken"])
    fails("retire_grant", "InvalidGrantTokenException", GrantToken=grant["GrantToken"])
    second = ok("create_grant", KeyId=key, GranteePrincipal=app, Operations=["DescribeKey"])
    ok("revoke_grant", KeyId=key, GrantId=second["GrantId"])
    fails("revoke_grant", "NotFoundException", KeyId=key, GrantId=second["GrantId"])

    ok("enable_key_rotation", KeyId=key, RotationPeriodInDays=90)
    fails("enable_key_rotation", "UnsupportedOperationException", KeyId=hmac_key)
    ok("get_key_rotation_status", KeyId=key)
    fails("get_key_rotation_status", "UnsupportedOperationException", KeyId=rsa_key)

    context = {"table": "orders"}
    sealed = ok("encrypt", KeyId="alias/orders", Plaintext=b"card 4111",
                EncryptionContext=context)["CiphertextBlob"]
    fails("encrypt", "InvalidKeyUsageException", KeyId=hmac_key, Plaintext=b"x")
    fails("encrypt", "DryRunOperationException", KeyId=key, Plaintext=b"x", DryRun=True)
    way.advance(100)
    ok("rotate_key_on_demand", KeyId=key)
    fails("rotate_key_on_demand", "UnsupportedOperationException", KeyId=hmac_key)
    ok("list_key_rotations", KeyId=key)
    ok("list_key_rotations", KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL", Limit=2)
    fails("list_key_rotations", "NotFoundException", KeyId=missing)

    opened = ok("decrypt", CiphertextBlob=sealed, EncryptionContext=context)
    assert opened["Plaintext"] == b"card 4111"
    fails("decrypt", "InvalidCiphertextException", CiphertextBlob=sealed)
    moved = ok("re_encrypt", CiphertextBlob=sealed, SourceEncryptionContext=context,
               DestinationKeyId=other)["CiphertextBlob"]
    assert way.call("decrypt", CiphertextBlob=moved)["Plaintext"] == b"card 4111"
    fails("re_encrypt", "IncorrectKeyException", CiphertextBlob=sealed,
          SourceEncryptionContext=context, SourceKeyId=other, DestinationKeyId=other)

    ok("generate_data_key", KeyId=key, KeySpec="AES_256")
    fails("generate_data_key", "ValidationException", KeyId=key, KeySpec="AES_256",
          NumberOfBytes=32)
    ok("generate_data_key_without_plaintext", KeyId=key, NumberOfBytes=16)
    fails("generate_data_key_without_plaintext", "NotFoundException", KeyId="alias/missing",
          KeySpec="AES_128")
    ok("generate_random", NumberOfBytes=24)
    fails("generate_random", "ValidationException", NumberOfBytes=2000)
    mac = ok("generate_mac", KeyId=hmac_key, Message=b"msg", MacAlgorithm="HMAC_SHA_256")["Mac"]
    fails("generate_mac", "InvalidKeyUsageException", KeyId=hmac_key, Message=b"msg",
          MacAlgorithm="HMAC_SHA_512")
    ok("verify_mac", KeyId=hmac_key, Message=b"msg", MacAlgorithm="HMAC_SHA_256", Mac=mac)
    fails("verify_mac", "KMSInvalidMacException", KeyId=hmac_key, Message=b"other",
          MacAlgorithm="HMAC_SHA_256", Mac=mac)
    rsa_sealed = ok("encrypt", random_blobs=True, KeyId=rsa_key, Plaintext=b"pin",
                    EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    assert ok("decrypt", CiphertextBlob=rsa_sealed, KeyId=rsa_key,
              EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"pin"

    signer = ok("create_key", KeySpec="ECC_NIST_P256",
                KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signed = ok("sign", KeyId=signer, Message=b"token", SigningAlgorithm="ECDSA_SHA_256")
    ok("verify", KeyId=signer, Message=b"token", Signature=signed["Signature"],
       SigningAlgorithm="ECDSA_SHA_256")
    fails("verify", "KMSInvalidSignatureException", KeyId=signer, Message=b"forged",
          Signature=signed["Signature"], SigningAlgorithm="ECDSA_SHA_256")
    fails("sign", "InvalidKeyUsageException", KeyId=key, Message=b"token",
          SigningAlgorithm="ECDSA_SHA_256")
    ok("get_public_key", KeyId=signer)
    fails("get_public_key", "NotFoundException", KeyId=missing)
    ok("generate_data_key_pair", KeyId=key, KeyPairSpec="ECC_NIST_P256")
    fails("generate_data_key_pair", "InvalidKeyUsageException", KeyId=signer,
          KeyPairSpec="ECC_NIST_P256")
    ok("generate_data_key_pair_without_plaintext", KeyId=key, KeyPairSpec="ECC_SECG_P256K1")
    fails("generate_data_key_pair_without_plaintext", "NotFoundException", KeyId=missing,
          KeyPairSpec="ECC_NIST_P256")
    ok("untag_resource", KeyId=key, TagKeys=["env"])
    fails("untag_resource", "NotFoundException", KeyId=missing, TagKeys=["env"])

    imported = ok("create_key", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    wrapping = ok("get_parameters_for_import", random_blobs=True, KeyId=imported,
                  WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    fails("get_parameters_for_import", "UnsupportedOperationException", KeyId=key,
          WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    ok("import_key_material", KeyId=imported, ImportToken=wrapping["ImportToken"],
       EncryptedKeyMaterial=wrap_key_material(wrapping["PublicKey"], bytes(range(32))),
       ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    fails("import_key_material", "InvalidImportTokenException", KeyId=imported,
          ImportToken=b"forged", EncryptedKeyMaterial=b"x",
          ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    ok("delete_imported_key_material", KeyId=imported)
    fails("delete_imported_key_material", "UnsupportedOperationException", KeyId=key)

    global_key = ok("create_key", MultiRegion=True)["KeyMetadata"]["KeyId"]
    ok("replicate_key", KeyId=global_key, ReplicaRegion="eu-west-1")
    fails("replicate_key", "UnsupportedOperationException", KeyId=key, ReplicaRegion="eu-west-1")
    ok("update_primary_region", KeyId=global_key, PrimaryRegion="eu-west-1")
    fails("update_primary_region", "UnsupportedOperationException", KeyId=global_key,
          PrimaryRegion="eu-west-1")

    ok("disable_key", KeyId=other)
    fails("encrypt", "DisabledException", KeyId=other, Plaintext=b"x")
    fails("disable_key", "NotFoundException", KeyId=missing)
    ok("enable_key", KeyId=other)
    fails("enable_key", "NotFoundException", KeyId=missing)
    ok("disable_key_rotation", KeyId=key)
    fails("disable_key_rotation", "UnsupportedOperationException", KeyId=rsa_key)
    ok("schedule_key_deletion", KeyId=other, PendingWindowInDays=7)
    fails("schedule_key_deletion", "KMSInvalidStateException", KeyId=other)
    ok("cancel_key_deletion", KeyId=other)
    fails("cancel_key_deletion", "KMSInvalidStateException", KeyId=other)
    ok("schedule_key_deletion", KeyId=other, PendingWindowInDays=7)
    way.advance(8)
    fails("decrypt", "NotFoundException", CiphertextBlob=moved)
    ok("list_keys")
    return transcript, succeeded, failed


@contextmanager
def three_ways() -> Iterator[list[Direct]]:
    bridged = Bridged()
    http_kms = in_a_cloud()
    with serving(http_kms) as server:
        over_http = OverHTTP(server.url, http_kms)
        try:
            yield [Direct(), bridged, over_http]
        finally:
            bridged.aws.close()
            over_http.aws.close()


def trail(kms: KMS) -> list[tuple[Any, ...]]:
    return [(e.time, e.name, e.event_type, e.key_arn, e.error_code, e.key_material_id)
            for e in kms.trail]


def test_every_operation_answers_the_same_directly_through_boto3_and_over_http():
    with three_ways() as ways:
        runs = [scenario(way) for way in ways]
    direct, bridged, over_http = runs
    implemented = {api.method_name(op) for op in api.OPERATIONS}
    assert direct[1] == implemented, "every operation succeeds at least once"
    assert direct[2] == implemented, "every operation fails at least once"
    assert bridged[0] == direct[0]
    assert over_http[0] == direct[0]
    assert trail(ways[1].kms) == trail(ways[0].kms) == trail(ways[2].kms)


# -- the bridge's client -------------------------------------------------------------------
@pytest.fixture
def kms() -> KMS:
    return KMS(seed=3)


@pytest.fixture
def aws(kms: KMS) -> Iterator[Any]:
    made = client(kms)
    yield made
    made.close()


def test_errors_are_client_errors_with_the_aws_code_and_modelled_classes(aws):
    with pytest.raises(aws.exceptions.NotFoundException) as raised:
        aws.describe_key(KeyId="alias/nothing")
    assert isinstance(raised.value, ClientError)
    assert raised.value.response["Error"]["Code"] == "NotFoundException"
    assert "alias/nothing" in raised.value.response["Error"]["Message"]
    assert raised.value.operation_name == "DescribeKey"


def test_botocore_validates_parameters_before_anything_reaches_the_simulator(kms, aws):
    with pytest.raises(ParamValidationError):
        aws.encrypt(KeyId=7, Plaintext=b"x")
    with pytest.raises(ParamValidationError):
        aws.describe_key()
    assert len(kms.trail) == 0


def test_results_carry_aware_datetimes_and_bytes_and_time_moves_in_the_simulator(kms, aws):
    key_id = aws.create_key()["KeyMetadata"]["KeyId"]
    aws.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    sealed = aws.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    kms.advance(days=365)
    rotations = aws.list_key_rotations(KeyId=key_id)["Rotations"]
    assert len(rotations) == 4
    assert rotations[0]["RotationDate"] == datetime(2024, 3, 31, tzinfo=UTC)
    assert aws.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"x"


def test_a_client_for_another_region_is_refused(kms):
    with pytest.raises(ValueError, match="Region us-east-1"):
        client(kms, region_name="eu-west-1")


# -- mock_kms ------------------------------------------------------------------------------
def an_existing_boto3_test() -> str:
    """A test written for real AWS (or moto): it knows nothing about kmssim."""
    aws = boto3.client("kms", region_name="us-east-1")
    try:
        key_id = aws.create_key(Description="t")["KeyMetadata"]["KeyId"]
        assert len(aws.list_keys()["Keys"]) == 1
        blob = aws.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
        assert aws.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
        return key_id
    finally:
        aws.close()


def test_mock_kms_as_a_bare_decorator_gives_each_call_fresh_simulators():
    decorated = mock_kms(an_existing_boto3_test)
    first, second = decorated(), decorated()
    assert first != second  # each call saw one key: its own (list_keys checks it)


def test_mock_kms_with_arguments_seeds_its_simulators_and_exposes_them():
    mock = mock_kms(seed=SEED)
    key_id = mock(an_existing_boto3_test)()
    assert mock.simulator("us-east-1").key_ids() == [key_id]
    assert key_id == KMS(seed=SEED).create_key()["KeyMetadata"]["KeyId"]


def test_one_simulator_per_region_and_account():
    with mock_kms() as mock:
        east = boto3.client("kms", region_name="us-east-1")
        west = boto3.client("kms", region_name="eu-west-1")
        other_account = boto3.client("kms", region_name="us-east-1",
                                     aws_access_key_id="444455556666",
                                     aws_secret_access_key="x")
        arn = west.create_key()["KeyMetadata"]["Arn"]
        other_arn = other_account.create_key()["KeyMetadata"]["Arn"]
        assert east.list_keys()["Keys"] == []
        for made in (east, west, other_account):
            made.close()
    assert arn.startswith("arn:aws:kms:eu-west-1:111122223333:key/")
    assert other_arn.startswith("arn:aws:kms:us-east-1:444455556666:key/")
    assert sorted(mock.simulators) == [("eu-west-1", "111122223333"),
                                       ("us-east-1", "111122223333"),
                                       ("us-east-1", "444455556666")]


def test_a_given_simulator_serves_its_region_and_its_clock_drives_the_client():
    kms = KMS(seed=2)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    with mock_kms(kms):
        aws = boto3.client("kms", region_name="us-east-1")
        simulator("us-east-1").advance(days=90)
        assert len(aws.list_key_rotations(KeyId=key_id)["Rotations"]) == 1
        assert simulator() is kms
        aws.close()


def test_the_mock_puts_back_credentials_session_and_botocore_when_it_stops(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKING")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    original = botocore.session.Session.create_client
    default_session = boto3.DEFAULT_SESSION
    with mock_kms() as mock:
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert botocore.session.Session.create_client is not original
        inside = boto3.client("kms", region_name="us-east-1")
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALLOOKING"
    assert "AWS_SECRET_ACCESS_KEY" not in os.environ
    assert botocore.session.Session.create_client is original
    assert boto3.DEFAULT_SESSION is default_session
    # A client made inside keeps talking to the simulator, never to AWS.
    inside.create_key()
    assert len(mock.simulator("us-east-1").key_ids()) == 1
    inside.close()
    with pytest.raises(RuntimeError):
        mock.stop()


def test_nested_mocks_serve_from_the_innermost():
    with mock_kms() as outer:
        with mock_kms() as inner:
            aws = boto3.client("kms", region_name="us-east-1")
            aws.create_key()
            aws.close()
        aws = boto3.client("kms", region_name="us-east-1")
        assert aws.list_keys()["Keys"] == []
        aws.close()
    assert len(inner.simulator("us-east-1").key_ids()) == 1
    assert outer.simulator("us-east-1").key_ids() == []
    assert isinstance(inner, KMSMock) and not inner.active


def test_simulator_outside_a_mock_is_an_error():
    with pytest.raises(RuntimeError, match="No mock_kms"):
        simulator()


# -- layering -------------------------------------------------------------------------------
def test_only_the_bridge_imports_boto3_or_botocore_and_nothing_imports_ipython():
    code = ("import sys, kmssim, kmssim.aws.protocol, kmssim.aws.server, kmssim.aws.cli, "
            "kmssim.aws.magic, kmssim.__main__\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('boto3', 'botocore', 'IPython', 'jmespath'))\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
