"""Every response of the direct API has the botocore model's member names and types.

A scenario calls every KMS operation kmssim implements (several of them in more than one
situation: RSA and symmetric keys, an AWS managed key, paged lists) and checks each
response, recursively: every member is one the model's output shape defines, and its
Python value is what boto3 would hand back for that shape (str, int, bool, datetime,
bytes, list, dict).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import botocore
import botocore.session
import pytest

from kmssim import KMS, Cloud
from kmssim.envelope import wrap_key_material

MODEL = botocore.session.get_session().get_service_model("kms")
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "long": (int,), "boolean": (bool,),
    "timestamp": (datetime,), "blob": (bytes,), "list": (list,), "structure": (dict,),
    "map": (dict,), "double": (float,), "float": (float,),
}


def _problems(value: Any, shape: Any, where: str) -> list[str]:
    wanted = PYTHON_TYPES[shape.type_name]
    if not isinstance(value, wanted) or (shape.type_name in ("integer", "long")
                                         and isinstance(value, bool)):
        return [f"{where}: {type(value).__name__} where the model has {shape.type_name}"]
    if shape.type_name == "structure":
        found = []
        for name, member in value.items():
            if name not in shape.members:
                found.append(f"{where}.{name}: not a member of {shape.name}")
            else:
                found += _problems(member, shape.members[name], f"{where}.{name}")
        return found
    if shape.type_name == "list":
        return [p for i, item in enumerate(value) for p in _problems(item, shape.member,
                                                                    f"{where}[{i}]")]
    if shape.type_name == "map":
        return [p for k, v in value.items() for p in _problems(k, shape.key, f"{where} key")
                + _problems(v, shape.value, f"{where}[{k!r}]")]
    if getattr(shape, "enum", None) and value not in shape.enum:
        return [f"{where}: {value!r} is not in the model's enum"]
    return []


def _scenario() -> list[tuple[str, dict[str, Any]]]:
    kms = Cloud(seed=5).region("us-east-1")       # KMS(seed=5), able to replicate keys
    done: list[tuple[str, dict[str, Any]]] = []

    def call(operation: str, **params: Any) -> dict[str, Any]:
        response = getattr(kms, botocore.xform_name(operation))(**params)
        done.append((operation, response))
        return response

    key = call("CreateKey", Description="shapes", Tags=[{"TagKey": "t", "TagValue": "v"}])
    key_id = key["KeyMetadata"]["KeyId"]
    rsa = call("CreateKey", KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    mac = call("CreateKey", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    call("DescribeKey", KeyId=key_id)
    call("DescribeKey", KeyId="alias/aws/s3")
    call("CreateAlias", AliasName="alias/app", TargetKeyId=key_id)
    call("ListAliases")
    call("ListAliases", KeyId=key_id, Limit=1)
    call("ListKeys", Limit=2)
    call("TagResource", KeyId=key_id, Tags=[{"TagKey": "u", "TagValue": "w"}])
    call("ListResourceTags", KeyId=key_id)
    call("GetKeyPolicy", KeyId=key_id)
    call("PutKeyPolicy", KeyId=key_id, Policy=kms.get_key_policy(KeyId=key_id)["Policy"])
    call("ListKeyPolicies", KeyId=key_id)
    learner = "arn:aws:iam::111122223333:user/learner"
    grant = call("CreateGrant", KeyId=key_id, GranteePrincipal=learner, RetiringPrincipal=learner,
                 Operations=["Decrypt"], Constraints={"EncryptionContextSubset": {"a": "b"}},
                 Name="shapes")
    call("ListGrants", KeyId=key_id)
    call("ListRetirableGrants", RetiringPrincipal=learner)
    call("RetireGrant", GrantToken=grant["GrantToken"])
    second = call("CreateGrant", KeyId=key_id, GranteePrincipal=learner, Operations=["Encrypt"])
    call("RevokeGrant", KeyId=key_id, GrantId=second["GrantId"])
    call("UpdateKeyDescription", KeyId=key_id, Description="new")
    blob = call("Encrypt", KeyId=key_id, Plaintext=b"x", EncryptionContext={"a": "b"})
    call("Decrypt", CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"a": "b"})
    rsa_blob = call("Encrypt", KeyId=rsa, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    call("Decrypt", CiphertextBlob=rsa_blob["CiphertextBlob"], KeyId=rsa,
         EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    call("ReEncrypt", CiphertextBlob=rsa_blob["CiphertextBlob"], SourceKeyId=rsa,
         SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1", DestinationKeyId=key_id)
    call("ReEncrypt", CiphertextBlob=blob["CiphertextBlob"], SourceEncryptionContext={"a": "b"},
         DestinationKeyId="alias/app")
    call("GenerateDataKey", KeyId=key_id, KeySpec="AES_256")
    call("GenerateDataKeyWithoutPlaintext", KeyId=key_id, NumberOfBytes=16)
    call("GenerateRandom", NumberOfBytes=8)
    tag = call("GenerateMac", KeyId=mac["Arn"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    call("VerifyMac", KeyId=mac["KeyId"], Message=b"m", MacAlgorithm="HMAC_SHA_256",
         Mac=tag["Mac"])
    call("EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
    call("GetKeyRotationStatus", KeyId=key_id)
    call("RotateKeyOnDemand", KeyId=key_id)
    kms.advance(days=91)
    call("ListKeyRotations", KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    call("ListKeyRotations", KeyId=key_id, Limit=1)
    call("DisableKeyRotation", KeyId=key_id)
    call("GetKeyRotationStatus", KeyId=key_id)
    other = call("CreateKey")["KeyMetadata"]["KeyId"]
    call("UpdateAlias", AliasName="alias/app", TargetKeyId=other)
    call("DeleteAlias", AliasName="alias/app")
    call("DisableKey", KeyId=key_id)
    call("EnableKey", KeyId=key_id)
    call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    call("DescribeKey", KeyId=key_id)
    call("CancelKeyDeletion", KeyId=key_id)
    signer = call("CreateKey", KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    signed = call("Sign", KeyId=signer["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_384")
    call("Verify", KeyId=signer["Arn"], Message=b"m", Signature=signed["Signature"],
         SigningAlgorithm="ECDSA_SHA_384")
    call("GetPublicKey", KeyId=signer["KeyId"])
    call("GetPublicKey", KeyId=rsa)
    call("GenerateDataKeyPair", KeyId=other, KeyPairSpec="ECC_NIST_P256")
    call("GenerateDataKeyPairWithoutPlaintext", KeyId=other, KeyPairSpec="RSA_2048")
    call("UntagResource", KeyId=other, TagKeys=["t"])
    external = call("CreateKey", Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    wrapping = call("GetParametersForImport", KeyId=external,
                    WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec="RSA_2048")
    call("ImportKeyMaterial", KeyId=external, ImportToken=wrapping["ImportToken"],
         EncryptedKeyMaterial=wrap_key_material(wrapping["PublicKey"], bytes(32),
                                                "RSA_AES_KEY_WRAP_SHA_256"),
         ValidTo=kms.now + timedelta(days=30), KeyMaterialDescription="v1")
    call("DescribeKey", KeyId=external)
    call("ListKeyRotations", KeyId=external, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    call("DeleteImportedKeyMaterial", KeyId=external)
    global_key = call("CreateKey", MultiRegion=True)["KeyMetadata"]["KeyId"]
    call("ReplicateKey", KeyId=global_key, ReplicaRegion="eu-west-1", Description="replica")
    call("DescribeKey", KeyId=global_key)
    call("UpdatePrimaryRegion", KeyId=global_key, PrimaryRegion="eu-west-1")
    return done


SCENARIO = _scenario()


@pytest.mark.parametrize("operation, response", SCENARIO,
                         ids=[f"{i}-{op}" for i, (op, _) in enumerate(SCENARIO)])
def test_response_members_and_types_match_the_model(operation: str, response: dict) -> None:
    shape = MODEL.operation_model(operation).output_shape
    if shape is None:
        assert response == {}
    else:
        assert _problems(response, shape, operation) == []


def test_the_scenario_calls_every_operation_kmssim_implements() -> None:
    implemented = {op for op in MODEL.operation_names if hasattr(KMS, botocore.xform_name(op))}
    assert implemented == {op for op, _ in SCENARIO}
