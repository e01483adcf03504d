"""Fuzzing Decrypt: every bad blob is one opaque InvalidCiphertextException.

Random bytes and mutations of real blobs (every single-byte change, every truncation,
extensions) must never decrypt, and must never surface as another exception: not
NotFoundException for a changed key id, not IncorrectKeyException, not a foreign
`InvalidTag`/`ValueError`/`KeyError`. Lengths stay within what AWS's API accepts
(1–6,144 bytes); outside it the answer is a ValidationException, tested elsewhere.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmssim import KMS
from kmssim.core.blob import HEADER_SIZE
from kmssim.core.errors import InvalidCiphertextException
from kms_support import new_key

CONTEXT = {"purpose": "fuzz"}


@pytest.fixture(scope="module")
def world() -> tuple[KMS, str, str, bytes]:
    """A simulator with two keys (one rotated, one disabled-then-enabled), a key that
    was deleted, and one real blob to mutate (a data key, as envelope encryption stores)."""
    kms = KMS(seed=41)
    key, other, gone = new_key(kms), new_key(kms), new_key(kms)
    kms.rotate_key_on_demand(KeyId=key)
    kms.schedule_key_deletion(KeyId=gone, PendingWindowInDays=7)
    kms.advance(days=7)
    blob = kms.generate_data_key(KeyId=key, KeySpec="AES_256",
                                 EncryptionContext=CONTEXT)["CiphertextBlob"]
    return kms, key, other, blob


def only_invalid_ciphertext(kms: KMS, blob: bytes, key: str | None = None,
                            context: dict[str, str] | None = CONTEXT) -> None:
    with pytest.raises(InvalidCiphertextException) as raised:
        # None means "not given": boto3 refuses an explicit None, and so does kmssim.
        given = {"EncryptionContext": context, "KeyId": key}
        kms.decrypt(CiphertextBlob=blob, **{k: v for k, v in given.items() if v is not None})
    assert type(raised.value) is InvalidCiphertextException


def test_the_real_blob_decrypts(world) -> None:
    kms, key, _, blob = world
    assert len(kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"]) == 32
    assert len(blob) == HEADER_SIZE + 32 + 16


@pytest.mark.parametrize("delta", [0x01, 0x80, 0xFF])
def test_every_single_byte_change_is_invalid_ciphertext(world, delta: int) -> None:
    kms, key, _, blob = world
    for index in range(len(blob)):
        mutated = blob[:index] + bytes((blob[index] ^ delta,)) + blob[index + 1:]
        only_invalid_ciphertext(kms, mutated)
        only_invalid_ciphertext(kms, mutated, key=key)


def test_every_truncation_is_invalid_ciphertext(world) -> None:
    kms, key, _, blob = world
    for length in range(1, len(blob)):
        only_invalid_ciphertext(kms, blob[:length])
        only_invalid_ciphertext(kms, blob[-length:])


@pytest.mark.parametrize("extra", [b"\x00", b"\x00" * 16, bytes(range(256)), b"\xff" * 6000])
def test_extensions_are_invalid_ciphertext(world, extra: bytes) -> None:
    kms, key, _, blob = world
    only_invalid_ciphertext(kms, blob + extra)
    only_invalid_ciphertext(kms, extra[:6144 - len(blob)] + blob)


def test_changing_the_key_id_to_another_real_key_is_invalid_ciphertext(world) -> None:
    kms, key, other, blob = world
    for target in (other, kms.key_ids(include_deleted=True)[-1]):
        moved = blob[:1] + bytes.fromhex(target.replace("-", "")) + blob[17:]
        only_invalid_ciphertext(kms, moved)
        only_invalid_ciphertext(kms, moved, key=key)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=6144))
def test_random_bytes_are_invalid_ciphertext(world, data: bytes) -> None:
    kms, key, _, _ = world
    only_invalid_ciphertext(kms, data)
    only_invalid_ciphertext(kms, b"\x01" + data[:6143], context=None)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_mutations_of_a_real_blob_are_invalid_ciphertext(world, data) -> None:
    kms, key, _, blob = world
    mutated = bytearray(blob)
    for index in data.draw(st.sets(st.integers(0, len(blob) - 1), min_size=1, max_size=4)):
        mutated[index] ^= data.draw(st.integers(1, 255))
    only_invalid_ciphertext(kms, bytes(mutated), key=data.draw(st.sampled_from([None, key])))


def test_inspect_and_re_encrypt_answer_bad_blobs_the_same_way(world) -> None:
    kms, key, other, blob = world
    for index in range(len(blob)):
        mutated = blob[:index] + bytes((blob[index] ^ 0x01,)) + blob[index + 1:]
        with pytest.raises(InvalidCiphertextException):
            kms.re_encrypt(CiphertextBlob=mutated, SourceEncryptionContext=CONTEXT,
                           DestinationKeyId=other)
        if index < HEADER_SIZE - 12:                 # the ids in the header name nothing real
            with pytest.raises(InvalidCiphertextException):
                kms.inspect_ciphertext(mutated)


def test_rsa_decrypt_of_random_bytes_is_invalid_ciphertext() -> None:
    kms = KMS(seed=42)
    rsa = new_key(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    for data in (b"\x00", b"\x01" * 255, b"\x02" * 256, b"\x03" * 257):
        with pytest.raises(InvalidCiphertextException):
            kms.decrypt(CiphertextBlob=data, KeyId=rsa, EncryptionAlgorithm="RSAES_OAEP_SHA_256")


def test_fuzzing_changes_nothing_but_the_trail(world, tmp_path) -> None:
    kms, _, _, blob = world
    from kms_support import saved_state
    before = saved_state(kms, tmp_path / "a.json")
    for index in range(len(blob)):
        with pytest.raises(InvalidCiphertextException):
            kms.decrypt(CiphertextBlob=blob[:index] + b"\x00" + blob[index + 1:])
    after = saved_state(kms, tmp_path / "b.json")
    assert len(after.pop("trail")) == len(before.pop("trail")) + len(blob)
    assert after == before
