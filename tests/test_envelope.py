"""Client-side envelope encryption with `kmssim.envelope.seal` / `unseal`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kmssim import KMS
from cryptography.exceptions import InvalidTag

from kmssim.core.envelope import SealedRecord, seal, unseal
from kmssim.core.errors import (
    DisabledException, IncorrectKeyException, InvalidCiphertextException, NotFoundException,
    ValidationException,
)
from kms_support import new_key

CONTEXT = {"customer": "42"}


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=8)


@pytest.fixture
def key(kms: KMS) -> str:
    return new_key(kms)


@pytest.mark.parametrize("size", [0, 1, 4097, 200_000])
def test_seal_then_unseal_returns_records_of_any_size(kms: KMS, key: str, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    record = seal(kms, key, data, CONTEXT)
    assert unseal(kms, record) == data
    assert record.size == len(record.ciphertext) + len(record.encrypted_data_key) + 12
    assert len(record.ciphertext) == size + 16


def test_each_record_gets_its_own_data_key(kms: KMS, key: str) -> None:
    first, second = seal(kms, key, b"same"), seal(kms, key, b"same")
    assert first.encrypted_data_key != second.encrypted_data_key
    assert first.ciphertext != second.ciphertext
    assert [e.name for e in kms.trail][-2:] == ["GenerateDataKey", "GenerateDataKey"]


def test_record_sealed_before_rotation_unseals_after_it(kms: KMS, key: str) -> None:
    record = seal(kms, key, b"2024 invoice", CONTEXT)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.advance(days=365)
    assert record.key_material_id == kms.history(key).versions[0].material_id
    assert unseal(kms, record) == b"2024 invoice"
    fresh = seal(kms, key, b"2025 invoice", CONTEXT)
    assert fresh.key_material_id == kms.history(key).versions[-1].material_id


def test_record_can_be_sealed_through_an_alias(kms: KMS, key: str) -> None:
    kms.create_alias(AliasName="alias/records", TargetKeyId=key)
    record = seal(kms, "alias/records", b"x")
    assert record.key_arn.endswith(key)
    assert unseal(kms, record, key_id="alias/records") == b"x"


@pytest.mark.parametrize("wrong", [{"customer": "43"}, {"Customer": "42"}, {"other": "1"}])
def test_unseal_with_a_wrong_context_fails(kms: KMS, key: str, wrong) -> None:
    record = seal(kms, key, b"x", CONTEXT)
    with pytest.raises(InvalidCiphertextException):
        unseal(kms, record, wrong)


@pytest.mark.parametrize("field", ["ciphertext", "nonce"])
def test_a_tampered_record_fails_locally_with_invalid_tag(kms: KMS, key: str, field: str) -> None:
    # KMS decrypts the data key fine; the record's own AES-GCM tag fails on this machine.
    # Real code gets the cryptography library's InvalidTag there, not a KMS error.
    record = seal(kms, key, b"some record", CONTEXT)
    value = bytearray(getattr(record, field))
    value[-1] ^= 0x01
    calls = len(kms.trail)
    with pytest.raises(InvalidTag):
        unseal(kms, replace(record, **{field: bytes(value)}))
    assert [event.name for event in kms.trail[calls:]] == ["Decrypt"]
    assert kms.trail[-1].error_code is None          # the KMS call itself succeeded


def test_a_tampered_data_key_fails_in_kms(kms: KMS, key: str) -> None:
    record = seal(kms, key, b"some record", CONTEXT)
    value = bytearray(record.encrypted_data_key)
    value[-1] ^= 0x01
    with pytest.raises(InvalidCiphertextException):
        unseal(kms, replace(record, encrypted_data_key=bytes(value)))


def test_a_nonce_of_the_wrong_length_fails_as_a_bad_tag(kms: KMS, key: str) -> None:
    record = seal(kms, key, b"some record", CONTEXT)
    with pytest.raises(InvalidTag):
        unseal(kms, replace(record, nonce=record.nonce[:5]))


def test_record_with_a_swapped_context_fails(kms: KMS, key: str) -> None:
    record = seal(kms, key, b"x", CONTEXT)
    with pytest.raises(InvalidCiphertextException):
        unseal(kms, replace(record, context={"customer": "43"}))


def test_unseal_follows_the_key_state(kms: KMS, key: str) -> None:
    record = seal(kms, key, b"x")
    kms.disable_key(KeyId=key)
    with pytest.raises(DisabledException):
        unseal(kms, record)
    kms.enable_key(KeyId=key)
    with pytest.raises(IncorrectKeyException):
        unseal(kms, record, key_id=new_key(kms))
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.advance(days=7)
    with pytest.raises(NotFoundException):
        unseal(kms, record)


def test_seal_and_unseal_refuse_what_they_cannot_use(kms: KMS, key: str) -> None:
    with pytest.raises(ValidationException):
        seal(kms, key, b"x", {"a": 1})  # type: ignore[dict-item]
    with pytest.raises(ValidationException):
        seal(kms, key, 12345)  # type: ignore[arg-type]
    with pytest.raises(ValidationException):
        unseal(kms, b"not a record")  # type: ignore[arg-type]
    with pytest.raises(NotFoundException):
        seal(kms, "alias/missing", b"x")


def test_sealed_record_repr_shows_no_bytes(kms: KMS, key: str) -> None:
    record = seal(kms, key, b"card 4111 1111 1111 1111", CONTEXT)
    text = repr(record)
    assert isinstance(record, SealedRecord)
    assert "4111" not in text and record.ciphertext.hex()[:16] not in text
    assert key in text and "customer" in text
