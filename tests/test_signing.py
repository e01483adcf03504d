"""Signing keys: Sign, Verify, GetPublicKey, ECC keys, data key pairs, UntagResource
(kms-facts.md 1.1, 2.7; AWS messages from /work/research/aws_kms_recordings.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from hypothesis import given, settings
from hypothesis import strategies as st

from kmssim import KMS
from kmssim.core import SecretBytes
from kmssim.core.errors import (
    DisabledException,
    ParamValidationError,
    InvalidKeyUsageException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
    ValidationException,
)
from kms_support import new_key

ECC = {"ECC_NIST_P256": ("ECDSA_SHA_256",), "ECC_NIST_P384": ("ECDSA_SHA_384",),
       "ECC_NIST_P521": ("ECDSA_SHA_512",), "ECC_SECG_P256K1": ("ECDSA_SHA_256",)}
RSA_ALGORITHMS = ("RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
                  "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
                  "RSASSA_PKCS1_V1_5_SHA_512")
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


@pytest.fixture(scope="module")
def kms() -> KMS:
    return KMS(seed=11)


@pytest.fixture(scope="module")
def keys(kms: KMS) -> dict[str, str]:
    made = {spec: new_key(kms, KeySpec=spec, KeyUsage="SIGN_VERIFY") for spec in ECC}
    made["RSA_2048"] = new_key(kms, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    return made


def cases() -> list[tuple[str, str]]:
    return [(spec, alg) for spec, algs in ECC.items() for alg in algs] + \
        [("RSA_2048", alg) for alg in RSA_ALGORITHMS]


def local_verify(public_der: bytes, algorithm: str, message: bytes, signature: bytes) -> None:
    """Check a KMS signature with `cryptography` alone, as a relying party would."""
    public = serialization.load_der_public_key(public_der)
    digest = HASHES[algorithm[-3:]]()
    if algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(digest))
    elif algorithm.startswith("RSASSA_PSS"):
        public.verify(signature, message,
                      padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size),
                      digest)
    else:
        public.verify(signature, message, padding.PKCS1v15(), digest)


@pytest.mark.parametrize("spec, algorithm", cases())
def test_sign_raw_and_digest_verify_in_kms_and_locally(kms: KMS, keys: dict[str, str],
                                                       spec: str, algorithm: str) -> None:
    key = keys[spec]
    message = b"test message !%$@ 1234567890"
    public = kms.get_public_key(KeyId=key)["PublicKey"]
    signed = kms.sign(KeyId=key, Message=message, SigningAlgorithm=algorithm)
    assert set(signed) == {"KeyId", "Signature", "SigningAlgorithm"}
    assert signed["KeyId"].endswith(key) and signed["SigningAlgorithm"] == algorithm
    local_verify(public, algorithm, message, signed["Signature"])
    assert kms.verify(KeyId=key, Message=message, Signature=signed["Signature"],
                      SigningAlgorithm=algorithm) == {
        "KeyId": signed["KeyId"], "SignatureValid": True, "SigningAlgorithm": algorithm}
    # MessageType DIGEST: the caller hashes; the signature is the same kind.
    digest = hashlib.new("sha" + algorithm[-3:], message).digest()
    by_digest = kms.sign(KeyId=key, Message=digest, MessageType="DIGEST",
                         SigningAlgorithm=algorithm)["Signature"]
    local_verify(public, algorithm, message, by_digest)
    kms.verify(KeyId=key, Message=message, Signature=by_digest, SigningAlgorithm=algorithm)
    kms.verify(KeyId=key, Message=digest, MessageType="DIGEST", Signature=signed["Signature"],
               SigningAlgorithm=algorithm)


@pytest.mark.parametrize("spec, algorithm", cases())
def test_a_digest_of_the_wrong_length_is_refused_with_aws_words(kms: KMS, keys: dict[str, str],
                                                                spec: str, algorithm: str) -> None:
    # Recordings sign_digest_wrong_length_* (AWS re-recorded this text on 2025-06-26, NOTES.md).
    with pytest.raises(ValidationException) as raised:
        kms.sign(KeyId=keys[spec], Message=b"test message !%$@ 1234567890",
                 MessageType="DIGEST", SigningAlgorithm=algorithm)
    assert raised.value.message == ("The provided data must be the same length as the hash "
                                    "algorithm's digest size.")
    assert raised.value.hint


def test_a_bad_signature_is_an_exception_with_an_empty_message(kms: KMS,
                                                              keys: dict[str, str]) -> None:
    # Recordings verify_bad_signature_rsa_2048 / _ecc_nist_p256: code, empty message.
    for spec, algorithm in (("RSA_2048", "RSASSA_PSS_SHA_256"), ("ECC_NIST_P256", "ECDSA_SHA_256")):
        bad = kms.sign(KeyId=keys[spec], Message=b"bad", SigningAlgorithm=algorithm)["Signature"]
        with pytest.raises(KMSInvalidSignatureException) as raised:
            kms.verify(KeyId=keys[spec], Message=b"test message !%$@ 1234567890",
                       Signature=bad, SigningAlgorithm=algorithm)
        assert raised.value.message == "" and raised.value.hint
        with pytest.raises(KMSInvalidSignatureException):
            kms.verify(KeyId=keys[spec], Message=b"x", Signature=b"\x00" * 8,
                       SigningAlgorithm=algorithm)


def test_key_usage_and_algorithm_must_fit_the_key(kms: KMS, keys: dict[str, str]) -> None:
    symmetric = new_key(kms)
    mac = new_key(kms, KeySpec="HMAC_224", KeyUsage="GENERATE_VERIFY_MAC")
    arn = kms.describe_key(KeyId=mac)["KeyMetadata"]["Arn"]
    # Recording sign_with_hmac_key: usage is checked before the algorithm.
    with pytest.raises(InvalidKeyUsageException) as raised:
        kms.sign(KeyId=mac, Message=b"test message 123!@#", SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert raised.value.message == f"{arn} key usage is GENERATE_VERIFY_MAC which is not " \
                                   "valid for Sign."
    arn = kms.describe_key(KeyId=symmetric)["KeyMetadata"]["Arn"]
    with pytest.raises(InvalidKeyUsageException) as raised:   # recording verify_with_encrypt_key
        kms.verify(KeyId=symmetric, Message=b"test message", Signature=b"random text",
                   SigningAlgorithm="ECDSA_SHA_256")
    assert raised.value.message == f"{arn} key usage is ENCRYPT_DECRYPT which is not valid " \
                                   "for Verify."
    with pytest.raises(InvalidKeyUsageException) as raised:
        kms.sign(KeyId=keys["ECC_NIST_P384"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    assert raised.value.message == "Algorithm ECDSA_SHA_256 is incompatible with key spec " \
                                   "ECC_NIST_P384."
    with pytest.raises(InvalidKeyUsageException):
        kms.sign(KeyId=keys["RSA_2048"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    with pytest.raises(ValidationException):
        kms.sign(KeyId=keys["RSA_2048"], Message=b"m", SigningAlgorithm="NOPE")
    with pytest.raises(ValidationException):      # RAW is at most 4,096 bytes
        kms.sign(KeyId=keys["RSA_2048"], Message=b"m" * 4097,
                 SigningAlgorithm="RSASSA_PSS_SHA_256")
    with pytest.raises(ValidationException):
        kms.sign(KeyId=keys["RSA_2048"], Message=b"m", MessageType="HASH",
                 SigningAlgorithm="RSASSA_PSS_SHA_256")


@pytest.mark.parametrize("algorithm", ["SM2DSA", "ML_DSA_SHAKE_256", "ED25519_SHA_512",
                                       "ED25519_PH_SHA_512"])
def test_unmodelled_algorithms_and_external_mu_are_unsupported(kms: KMS, keys: dict[str, str],
                                                               algorithm: str) -> None:
    with pytest.raises(UnsupportedOperationException):
        kms.sign(KeyId=keys["RSA_2048"], Message=b"m", SigningAlgorithm=algorithm)
    with pytest.raises(UnsupportedOperationException):
        kms.sign(KeyId=keys["RSA_2048"], Message=b"m", MessageType="EXTERNAL_MU",
                 SigningAlgorithm="RSASSA_PSS_SHA_256")
    for spec in ("SM2", "ECC_NIST_EDWARDS25519", "ML_DSA_44"):
        with pytest.raises(UnsupportedOperationException):
            kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")


def test_get_public_key_has_the_fields_of_the_model(kms: KMS, keys: dict[str, str]) -> None:
    answer = kms.get_public_key(KeyId=keys["ECC_NIST_P256"])
    assert set(answer) == {"KeyId", "PublicKey", "CustomerMasterKeySpec", "KeySpec", "KeyUsage",
                           "SigningAlgorithms"}
    assert answer["KeySpec"] == answer["CustomerMasterKeySpec"] == "ECC_NIST_P256"
    assert answer["SigningAlgorithms"] == ["ECDSA_SHA_256"]
    assert isinstance(serialization.load_der_public_key(answer["PublicKey"]),
                      ec.EllipticCurvePublicKey)
    rsa = kms.get_public_key(KeyId=keys["RSA_2048"])
    assert rsa["SigningAlgorithms"] == list(RSA_ALGORITHMS)
    encrypting = new_key(kms, KeySpec="RSA_3072", KeyUsage="ENCRYPT_DECRYPT")
    answer = kms.get_public_key(KeyId=encrypting)
    assert answer["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    # A learner encrypts locally with the public key; KMS decrypts.
    public = serialization.load_der_public_key(answer["PublicKey"])
    sealed = public.encrypt(b"pin", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                 algorithm=hashes.SHA256(), label=None))
    assert kms.decrypt(CiphertextBlob=sealed, KeyId=encrypting,
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"pin"
    with pytest.raises(UnsupportedOperationException):
        kms.get_public_key(KeyId=new_key(kms))
    meta = kms.describe_key(KeyId=keys["ECC_NIST_P521"])["KeyMetadata"]
    assert meta["SigningAlgorithms"] == ["ECDSA_SHA_512"] and "EncryptionAlgorithms" not in meta
    assert "CurrentKeyMaterialId" not in meta


def test_ecc_keys_and_ecdsa_signatures_repeat_under_a_seed() -> None:
    def run() -> tuple[str, bytes, bytes]:
        kms = KMS(seed="signing")
        key = new_key(kms, KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")
        public = kms.get_public_key(KeyId=key)["PublicKey"]
        signature = kms.sign(KeyId=key, Message=b"jwt", SigningAlgorithm="ECDSA_SHA_384")
        return key, public, signature["Signature"]
    assert run() == run()


def test_asymmetric_keys_never_rotate(kms: KMS, keys: dict[str, str]) -> None:
    for key in keys.values():
        with pytest.raises(UnsupportedOperationException):
            kms.rotate_key_on_demand(KeyId=key)
        with pytest.raises(UnsupportedOperationException):
            kms.enable_key_rotation(KeyId=key)


def test_an_old_signature_verifies_with_the_public_key_published_for_it() -> None:
    """Manual rotation of a signing key: a new key behind the alias signs from now on;
    signatures made before still verify against the old key's public key."""
    kms = KMS(seed=4)
    old = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    kms.create_alias(AliasName="alias/token-signing", TargetKeyId=old)
    published = {old: kms.get_public_key(KeyId="alias/token-signing")["PublicKey"]}
    token = kms.sign(KeyId="alias/token-signing", Message=b"user=ana",
                     SigningAlgorithm="ECDSA_SHA_256")
    kms.advance(days=90)
    new = new_key(kms, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")   # asymmetric → asymmetric
    kms.update_alias(AliasName="alias/token-signing", TargetKeyId=new)
    published[new] = kms.get_public_key(KeyId="alias/token-signing")["PublicKey"]
    fresh = kms.sign(KeyId="alias/token-signing", Message=b"user=bo",
                     SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
    signer = token["KeyId"].rsplit("/", 1)[1]
    local_verify(published[signer], "ECDSA_SHA_256", b"user=ana", token["Signature"])
    local_verify(published[new], "RSASSA_PKCS1_V1_5_SHA_256", b"user=bo", fresh["Signature"])
    with pytest.raises(KMSInvalidSignatureException):   # the alias now names the new key
        kms.verify(KeyId="alias/token-signing", Message=b"user=ana",
                   Signature=token["Signature"], SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")
    # Retiring the old key after the overlap window: it can no longer sign or verify in KMS,
    # but its published public key still checks old tokens.
    kms.disable_key(KeyId=old)
    with pytest.raises(DisabledException):
        kms.verify(KeyId=old, Message=b"user=ana", Signature=token["Signature"],
                   SigningAlgorithm="ECDSA_SHA_256")
    local_verify(published[old], "ECDSA_SHA_256", b"user=ana", token["Signature"])
    # A symmetric alias cannot move to a signing key.
    kms.create_alias(AliasName="alias/data", TargetKeyId=new_key(kms))
    with pytest.raises(ValidationException):
        kms.update_alias(AliasName="alias/data", TargetKeyId=new)


@pytest.mark.parametrize("example", ["Sign", "Verify"])
def test_the_aws_documentation_examples_run(example: str) -> None:
    """botocore's examples-1.json for Sign and Verify, with kmssim's key in place of
    alias/ECC_signing_key (an ECC_NIST_P384 key, as ECDSA_SHA_384 implies)."""
    import botocore
    path = Path(botocore.__file__).parent / "data/kms/2014-11-01/examples-1.json"
    examples = {name: json.loads(path.read_text())["examples"][name][0]
                for name in ("Sign", "Verify")}
    kms = KMS(seed=2, region="us-east-2")
    key = new_key(kms, KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")
    kms.create_alias(AliasName="alias/ECC_signing_key", TargetKeyId=key)
    request = dict(examples["Sign"]["input"], Message=b"<message to be signed>")
    signed = kms.sign(**request)
    expected = examples["Sign"]["output"]
    assert signed["SigningAlgorithm"] == expected["SigningAlgorithm"]
    assert signed["KeyId"] == expected["KeyId"].replace("1234abcd-12ab-34cd-56ef-1234567890ab", key)
    if example == "Verify":
        request = dict(examples["Verify"]["input"], Message=b"<message to be signed>",
                       Signature=signed["Signature"])
        answer = kms.verify(**request)
        want = dict(examples["Verify"]["output"])
        want["KeyId"] = want["KeyId"].replace("1234abcd-12ab-34cd-56ef-1234567890ab", key)
        assert answer == want


def test_data_key_pairs_decrypt_to_the_private_key_of_the_public_key(kms: KMS) -> None:
    key = new_key(kms)
    for spec in ("ECC_NIST_P256", "ECC_SECG_P256K1", "RSA_2048"):
        pair = kms.generate_data_key_pair(KeyId=key, KeyPairSpec=spec,
                                          EncryptionContext={"app": "x"})
        assert set(pair) == {"PrivateKeyCiphertextBlob", "PrivateKeyPlaintext", "PublicKey",
                             "KeyId", "KeyPairSpec", "KeyMaterialId"}
        assert isinstance(pair["PrivateKeyPlaintext"], SecretBytes)
        assert "BEGIN" not in repr(pair) and pair["KeyPairSpec"] == spec
        private = serialization.load_der_private_key(bytes(pair["PrivateKeyPlaintext"]), None)
        assert private.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo) == pair["PublicKey"]
        opened = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"],
                             EncryptionContext={"app": "x"})["Plaintext"]
        assert opened == pair["PrivateKeyPlaintext"] and isinstance(opened, SecretBytes)
    bare = kms.generate_data_key_pair_without_plaintext(KeyId=key, KeyPairSpec="ECC_NIST_P521")
    assert "PrivateKeyPlaintext" not in bare
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_data_key_pair(KeyId=new_key(kms, KeySpec="RSA_2048",
                                                 KeyUsage="ENCRYPT_DECRYPT"),
                                   KeyPairSpec="RSA_2048")
    with pytest.raises(UnsupportedOperationException):
        kms.generate_data_key_pair(KeyId=key, KeyPairSpec="SM2")
    with pytest.raises(ValidationException):
        kms.generate_data_key_pair(KeyId=key, KeyPairSpec="RSA_1024")


def test_sign_and_verify_are_audited_without_the_message() -> None:
    kms = KMS(seed=1)
    key = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    kms.sign(KeyId=key, Message=b"secret claims", SigningAlgorithm="ECDSA_SHA_256")
    with pytest.raises(KMSInvalidSignatureException):
        kms.verify(KeyId=key, Message=b"x", Signature=b"y", SigningAlgorithm="ECDSA_SHA_256")
    sign, verify = list(kms.trail)[-2:]
    assert sign.name == "Sign" and sign.key_arn.endswith(key) and sign.error_code is None
    assert "message" not in (sign.request or {}) and "secret" not in str(sign.request)
    assert verify.error_code == "KMSInvalidSignatureException"


def test_signing_keys_survive_save_and_load(tmp_path: Path) -> None:
    kms = KMS(seed=9)
    key = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    rsa = new_key(kms, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    signature = kms.sign(KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_512")
    kms.save(tmp_path / "s.json")
    loaded = KMS.load(tmp_path / "s.json")
    assert loaded.get_public_key(KeyId=key) == kms.get_public_key(KeyId=key)
    loaded.verify(KeyId=rsa, Message=b"m", Signature=signature["Signature"],
                  SigningAlgorithm="RSASSA_PSS_SHA_512")
    assert loaded.describe_key(KeyId=rsa)["KeyMetadata"]["KeyUsage"] == "SIGN_VERIFY"


def test_untag_resource_and_list_resource_tags_pages(kms: KMS) -> None:
    key = new_key(kms, Tags=[{"TagKey": f"t{i:02}", "TagValue": str(i)} for i in range(5)])
    first = kms.list_resource_tags(KeyId=key, Limit=2)
    assert [t["TagKey"] for t in first["Tags"]] == ["t00", "t01"] and first["Truncated"]
    rest = kms.list_resource_tags(KeyId=key, Marker=first["NextMarker"])
    assert [t["TagKey"] for t in rest["Tags"]] == ["t02", "t03", "t04"] and not rest["Truncated"]
    assert kms.untag_resource(KeyId=key, TagKeys=["t00", "t03", "absent"]) == {}
    assert [t["TagKey"] for t in kms.list_resource_tags(KeyId=key)["Tags"]] == ["t01", "t02", "t04"]
    kms.untag_resource(KeyId=key, TagKeys=["t01", "t02", "t04"])
    # Recording list_resource_tags_after_untag_all.
    assert kms.list_resource_tags(KeyId=key)["Tags"] == []
    with pytest.raises(ParamValidationError):     # botocore: TagKeys is a list
        kms.untag_resource(KeyId=key, TagKeys="t01")


@settings(max_examples=25, deadline=None)
@given(message=st.binary(min_size=1, max_size=4096), flip=st.integers(min_value=0))
def test_any_message_signs_and_any_change_breaks_the_signature(message: bytes, flip: int) -> None:
    kms = KMS(seed=1)
    key = new_key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    signature = kms.sign(KeyId=key, Message=message, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    kms.verify(KeyId=key, Message=message, Signature=signature, SigningAlgorithm="ECDSA_SHA_256")
    changed = bytearray(message)
    changed[flip % len(changed)] ^= 1
    with pytest.raises(KMSInvalidSignatureException):
        kms.verify(KeyId=key, Message=bytes(changed), Signature=signature,
                   SigningAlgorithm="ECDSA_SHA_256")
