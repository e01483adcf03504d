"""AWS's words and values for what is not parameter validation, on the direct API.

The exact strings come from recordings of real AWS KMS (the scenario ids of
tests/parity/corpus.py, where each recording's source is cited); the bridge-level replay
of the same recordings is tests/parity/test_parity.py.
"""

from __future__ import annotations

import pytest

from kmssim import KMS
from kmssim.core.errors import (
    DisabledException, IncorrectKeyException, InvalidCiphertextException,
    KMSInvalidMacException, NotFoundException, UnsupportedOperationException,
)
from kms_support import new_key

ARN = "arn:aws:kms:us-east-1:111122223333:key/"


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=3)


def test_malformed_and_missing_key_ids_are_told_apart(kms: KMS) -> None:
    # describe_key_malformed_id, describe_key_missing_uuid, describe_key_other_region_by_arn
    with pytest.raises(NotFoundException) as bad:
        kms.describe_key(KeyId="fake-key-id")
    assert bad.value.message == "Invalid keyId 'fake-key-id'" and bad.value.hint
    missing = "134f2428-cec1-4b25-a1ae-9048164dba47"
    with pytest.raises(NotFoundException) as gone:
        kms.describe_key(KeyId=missing)
    assert gone.value.message == f"Key '{ARN}{missing}' does not exist"
    with pytest.raises(NotFoundException) as elsewhere:
        kms.describe_key(KeyId=f"arn:aws:kms:us-west-2:111122223333:key/{missing}")
    assert elsewhere.value.message == "Invalid arn us-west-2"


def test_errors_aws_sends_without_a_message_keep_kmssims_reason_as_a_hint(kms: KMS) -> None:
    key = new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"a": "b"})["CiphertextBlob"]
    with pytest.raises(InvalidCiphertextException) as error:   # decrypt_missing_encryption_context
        kms.decrypt(CiphertextBlob=blob)
    assert error.value.message == "" and "EncryptionContext" in (error.value.hint or "")
    assert str(error.value) == ("An error occurred (InvalidCiphertextException) when calling "
                                "the Decrypt operation: ")
    mac_key = kms.create_key(KeySpec="HMAC_256",
                             KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    with pytest.raises(KMSInvalidMacException) as bad_mac:      # verify_mac_wrong_message
        kms.verify_mac(KeyId=mac_key, Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=b"0" * 32)
    assert bad_mac.value.message == "" and bad_mac.value.hint


def test_state_is_checked_before_key_type(kms: KMS) -> None:
    rsa = kms.create_key(KeySpec="RSA_4096", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    with pytest.raises(UnsupportedOperationException) as error:  # rotate_on_demand_asymmetric
        kms.rotate_key_on_demand(KeyId=rsa)
    assert error.value.message == ""
    kms.disable_key(KeyId=rsa)
    with pytest.raises(DisabledException) as disabled:           # rotate_on_demand_disabled_rsa_key
        kms.rotate_key_on_demand(KeyId=rsa)
    assert disabled.value.message == f"{ARN}{rsa} is disabled."


def test_decrypt_naming_another_key_is_incorrect_key_with_aws_words(kms: KMS) -> None:
    key, other = new_key(kms), new_key(kms)
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(IncorrectKeyException) as error:
        kms.decrypt(CiphertextBlob=blob, KeyId=other)
    assert error.value.message == ("The key ID in the request does not identify a CMK that "
                                   "can perform this operation.")
    assert other in (error.value.hint or "") and key in (error.value.hint or "")


@pytest.mark.parametrize("spec, algorithm", [("RSA_2048", "RSAES_OAEP_SHA_256"),
                                             ("RSA_3072", "RSAES_OAEP_SHA_1")])
def test_re_encrypt_moves_rsa_ciphertext_both_ways(kms: KMS, spec: str, algorithm: str) -> None:
    rsa = kms.create_key(KeySpec=spec, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    sym = new_key(kms)
    blob = kms.encrypt(KeyId=rsa, Plaintext=b"secret",
                       EncryptionAlgorithm=algorithm)["CiphertextBlob"]
    moved = kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=rsa,
                           SourceEncryptionAlgorithm=algorithm, DestinationKeyId=sym)
    assert (moved["SourceKeyId"], moved["KeyId"]) == (ARN + rsa, ARN + sym)
    assert moved["SourceEncryptionAlgorithm"] == algorithm
    assert "SourceKeyMaterialId" not in moved and "DestinationKeyMaterialId" in moved
    assert kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == b"secret"
    back = kms.re_encrypt(CiphertextBlob=moved["CiphertextBlob"], DestinationKeyId=rsa,
                          DestinationEncryptionAlgorithm=algorithm)
    assert back["DestinationEncryptionAlgorithm"] == algorithm
    assert "DestinationKeyMaterialId" not in back and "SourceKeyMaterialId" in back
    assert kms.decrypt(CiphertextBlob=back["CiphertextBlob"], KeyId=rsa,
                       EncryptionAlgorithm=algorithm)["Plaintext"] == b"secret"
