"""Encrypt, Decrypt, ReEncrypt, data keys, random, RSA and HMAC (kms-facts.md sections 4, 5, 11)."""

from __future__ import annotations

import uuid

import pytest

from kmssim import KMS
from kmssim.core.blob import HEADER_SIZE
from kmssim.core.errors import (
    ParamValidationError,
    DryRunOperationException, IncorrectKeyException, InvalidCiphertextException,
    InvalidKeyUsageException, KMSInvalidMacException, ValidationException,
)
from kms_support import new_key


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=3)


@pytest.fixture
def key(kms: KMS) -> str:
    return new_key(kms)


def arn_of(kms: KMS, key: str) -> str:
    return kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]


# -- Encrypt and Decrypt -------------------------------------------------------------------

def test_encrypt_then_decrypt_returns_the_plaintext_and_boto3_shapes(kms: KMS, key: str) -> None:
    encrypted = kms.encrypt(KeyId=key, Plaintext=b"hello")
    assert set(encrypted) == {"CiphertextBlob", "KeyId", "EncryptionAlgorithm"}
    assert isinstance(encrypted["CiphertextBlob"], bytes)
    assert encrypted["KeyId"] == arn_of(kms, key)
    assert encrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"])
    assert decrypted == {"KeyId": arn_of(kms, key), "Plaintext": b"hello",
                         "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                         "KeyMaterialId": kms.describe_key(KeyId=key)["KeyMetadata"][
                             "CurrentKeyMaterialId"]}


def test_key_id_is_optional_on_decrypt_and_checked_when_given(kms: KMS, key: str) -> None:
    other = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    for ref in (key, arn_of(kms, key)):
        assert kms.decrypt(CiphertextBlob=blob, KeyId=ref)["Plaintext"] == b"x"
    with pytest.raises(IncorrectKeyException):
        kms.decrypt(CiphertextBlob=blob, KeyId=other)


def test_encrypting_the_same_plaintext_twice_gives_different_blobs(kms: KMS, key: str) -> None:
    first = kms.encrypt(KeyId=key, Plaintext=b"same")["CiphertextBlob"]
    second = kms.encrypt(KeyId=key, Plaintext=b"same")["CiphertextBlob"]
    assert first != second


def test_plaintext_of_1_to_4096_bytes_is_accepted(kms: KMS, key: str) -> None:
    for size in (1, 4096):
        blob = kms.encrypt(KeyId=key, Plaintext=b"a" * size)["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"a" * size


# botocore never checks blob lengths (the service does); it checks types itself.
@pytest.mark.parametrize("plaintext, error", [(b"", ValidationException),
                                              (b"a" * 4097, ValidationException),
                                              (12345, ParamValidationError),
                                              (None, ParamValidationError)])
def test_plaintext_empty_too_long_or_not_bytes_is_refused(kms: KMS, key: str, plaintext,
                                                          error) -> None:
    with pytest.raises(error):
        kms.encrypt(KeyId=key, Plaintext=plaintext)


def test_str_plaintext_is_encoded_as_utf8_like_botocore(kms: KMS, key: str) -> None:
    blob = kms.encrypt(KeyId=key, Plaintext="héllo")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == "héllo".encode()


def test_blob_header_names_the_key_and_the_material(kms: KMS, key: str) -> None:
    blob = kms.encrypt(KeyId=key, Plaintext=b"abc")["CiphertextBlob"]
    material = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert blob[0] == 1
    assert blob[1:17] == uuid.UUID(key).bytes
    assert blob[17:49].hex() == material
    assert len(blob) == HEADER_SIZE + 3 + 16


def test_inspect_ciphertext_reads_the_header(kms: KMS, key: str) -> None:
    blob = kms.encrypt(KeyId=key, Plaintext=b"abc")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=key)
    info = kms.inspect_ciphertext(blob)
    assert (info.key_id, info.key_arn, info.version, info.is_current, info.key_state) == \
        (key, arn_of(kms, key), 1, False, "Enabled")
    assert "version 1" in str(info)
    with pytest.raises(InvalidCiphertextException):
        kms.inspect_ciphertext(b"\x01" + bytes(100))


# -- the encryption context ---------------------------------------------------------------

CONTEXT = {"Department": "Finance", "Project": "Q3"}


@pytest.mark.parametrize("wrong", [
    None,
    {"Department": "Finance"},
    {**CONTEXT, "Extra": "1"},
    {"department": "Finance", "Project": "Q3"},
    {"Department": "finance", "Project": "Q3"},
    {"Department": "Finance", "Project": "Q4"},
], ids=["missing", "pair-missing", "pair-extra", "key-case", "value-case", "value"])
def test_decrypt_needs_exactly_the_same_encryption_context(kms: KMS, key: str, wrong) -> None:
    blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext=CONTEXT)["CiphertextBlob"]
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, **({} if wrong is None else
                                            {"EncryptionContext": wrong}))
    reordered = dict(reversed(list(CONTEXT.items())))
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b"x"


def test_contexts_that_concatenate_alike_do_not_authenticate_alike(kms: KMS, key: str) -> None:
    blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"ab": "c"})["CiphertextBlob"]
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "bc"})


def test_empty_context_is_the_same_as_none(kms: KMS, key: str) -> None:
    blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


@pytest.mark.parametrize("context, error", [(["a", "b"], ParamValidationError),
                                            ({"a": 1}, ParamValidationError),
                                            ({1: "a"}, ParamValidationError),
                                            ({"": "a"}, ValidationException)])
def test_context_must_map_nonempty_strings_to_strings(kms: KMS, key: str, context,
                                                      error) -> None:
    with pytest.raises(error):
        kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext=context)


# -- data keys -------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, size", [({"KeySpec": "AES_256"}, 32),
                                          ({"KeySpec": "AES_128"}, 16),
                                          ({"NumberOfBytes": 1}, 1),
                                          ({"NumberOfBytes": 1024}, 1024)])
def test_generate_data_key_returns_the_key_and_its_encrypted_copy(kms: KMS, key: str, kwargs,
                                                                  size: int) -> None:
    response = kms.generate_data_key(KeyId=key, EncryptionContext={"file": "a"}, **kwargs)
    assert set(response) == {"CiphertextBlob", "Plaintext", "KeyId", "KeyMaterialId"}
    assert len(response["Plaintext"]) == size and response["KeyId"] == arn_of(kms, key)
    assert kms.decrypt(CiphertextBlob=response["CiphertextBlob"],
                       EncryptionContext={"file": "a"})["Plaintext"] == response["Plaintext"]


def test_generate_data_key_without_plaintext_returns_only_the_encrypted_copy(
        kms: KMS, key: str) -> None:
    response = kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256")
    assert set(response) == {"CiphertextBlob", "KeyId", "KeyMaterialId"}
    assert len(kms.decrypt(CiphertextBlob=response["CiphertextBlob"])["Plaintext"]) == 32


def test_data_keys_are_fresh_each_time(kms: KMS, key: str) -> None:
    keys = {bytes(kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"])
            for _ in range(20)}
    assert len(keys) == 20


@pytest.mark.parametrize("kwargs, error", [
    ({}, ValidationException), ({"KeySpec": "AES_256", "NumberOfBytes": 32}, ValidationException),
    ({"NumberOfBytes": 0}, ParamValidationError),          # botocore: valid min value 1
    ({"NumberOfBytes": 1025}, ValidationException),        # only the service checks a maximum
    ({"KeySpec": "AES_512"}, ValidationException),         # ... and an enum
    ({"NumberOfBytes": True}, ParamValidationError)])
def test_data_key_size_needs_exactly_one_valid_setting(kms: KMS, key: str, kwargs,
                                                       error) -> None:
    with pytest.raises(error):
        kms.generate_data_key(KeyId=key, **kwargs)


# -- ReEncrypt --------------------------------------------------------------------------------

def test_re_encrypt_moves_a_ciphertext_to_another_key_and_context(kms: KMS, key: str) -> None:
    other = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"move me", EncryptionContext={"a": "1"})
    moved = kms.re_encrypt(CiphertextBlob=blob["CiphertextBlob"],
                           SourceEncryptionContext={"a": "1"}, DestinationKeyId=other,
                           DestinationEncryptionContext={"b": "2"})
    assert moved["SourceKeyId"] == arn_of(kms, key) and moved["KeyId"] == arn_of(kms, other)
    assert moved["SourceEncryptionAlgorithm"] == moved["DestinationEncryptionAlgorithm"] == \
        "SYMMETRIC_DEFAULT"
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"],
                       EncryptionContext={"b": "2"})["Plaintext"] == b"move me"
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"a": "1"})


def test_re_encrypt_checks_the_source_key_when_given(kms: KMS, key: str) -> None:
    other = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(IncorrectKeyException):
        kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=other, DestinationKeyId=other)


# -- dry runs, random ---------------------------------------------------------------------------

def test_dry_run_answers_dry_run_operation_and_encrypts_nothing(kms: KMS, key: str) -> None:
    position = kms.entropy.position
    with pytest.raises(DryRunOperationException):
        kms.encrypt(KeyId=key, Plaintext=b"x", DryRun=True)
    with pytest.raises(DryRunOperationException):
        kms.generate_data_key(KeyId=key, KeySpec="AES_256", DryRun=True)
    assert kms.entropy.position == position


def test_generate_random_returns_the_number_of_bytes_asked(kms: KMS) -> None:
    assert len(kms.generate_random(NumberOfBytes=1024)["Plaintext"]) == 1024
    with pytest.raises(ParamValidationError):
        kms.generate_random(NumberOfBytes=0)
    with pytest.raises(ValidationException):
        kms.generate_random()


# -- RSA and HMAC keys ------------------------------------------------------------------------

def test_rsa_key_encrypts_with_oaep_and_needs_key_id_to_decrypt(kms: KMS) -> None:
    rsa = new_key(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=rsa, Plaintext=b"x" * 190,
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    assert len(blob) == 256
    assert kms.decrypt(CiphertextBlob=blob, KeyId=rsa,
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"x" * 190
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob)                           # no metadata in RSA blobs
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=blob, KeyId=rsa, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    with pytest.raises(ValidationException):
        kms.encrypt(KeyId=rsa, Plaintext=b"x" * 191, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    with pytest.raises(ValidationException):
        kms.encrypt(KeyId=rsa, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1",
                    EncryptionContext={"a": "b"})
    with pytest.raises(ValidationException):                       # nor when decrypting
        kms.decrypt(CiphertextBlob=blob, KeyId=rsa, EncryptionAlgorithm="RSAES_OAEP_SHA_256",
                    EncryptionContext={"a": "b"})
    with pytest.raises(InvalidKeyUsageException):
        kms.encrypt(KeyId=rsa, Plaintext=b"x")                     # algorithm required
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_data_key(KeyId=rsa, KeySpec="AES_256")


def test_hmac_key_makes_and_verifies_macs_and_cannot_encrypt(kms: KMS) -> None:
    mac_key = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    mac = kms.generate_mac(KeyId=mac_key, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert len(mac) == 32
    verified = kms.verify_mac(KeyId=mac_key, Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=mac)
    assert verified["MacValid"] is True
    with pytest.raises(KMSInvalidMacException):
        kms.verify_mac(KeyId=mac_key, Message=b"n", MacAlgorithm="HMAC_SHA_256", Mac=mac)
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_mac(KeyId=mac_key, Message=b"m", MacAlgorithm="HMAC_SHA_512")
    with pytest.raises(InvalidKeyUsageException):
        kms.encrypt(KeyId=mac_key, Plaintext=b"x")


def test_symmetric_key_cannot_make_macs_or_use_rsa_algorithms(kms: KMS, key: str) -> None:
    with pytest.raises(InvalidKeyUsageException):
        kms.generate_mac(KeyId=key, Message=b"m", MacAlgorithm="HMAC_SHA_256")
    with pytest.raises(InvalidKeyUsageException):
        kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")
