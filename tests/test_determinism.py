"""`KMS(seed=…)` replays exactly; without a seed every run differs."""

from __future__ import annotations

from kmssim import KMS
from kmssim.core.envelope import seal


def script(kms: KMS) -> list[object]:
    """A lesson-sized run; returns every id, blob, data key, date and audit record."""
    out: list[object] = []
    key = kms.create_key(Description="lesson")["KeyMetadata"]
    out.append(key)
    key_id = key["KeyId"]
    kms.create_alias(AliasName="alias/lesson", TargetKeyId=key_id)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    out.append(kms.encrypt(KeyId="alias/lesson", Plaintext=b"hello", EncryptionContext={"a": "b"}))
    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    out += [data_key["CiphertextBlob"], bytes(data_key["Plaintext"]), data_key["KeyMaterialId"]]
    out += [(e.time, e.name, e.current_material_id) for e in kms.advance(days=200)]
    out.append(kms.rotate_key_on_demand(KeyId=key_id))
    out.append(kms.re_encrypt(CiphertextBlob=data_key["CiphertextBlob"], DestinationKeyId=key_id))
    out.append(kms.generate_random(NumberOfBytes=16))
    record = seal(kms, key_id, b"record")
    out += [record.encrypted_data_key, record.nonce, record.ciphertext]
    out.append(kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"])
    out.append(kms.list_key_rotations(KeyId=key_id))
    out.append([v.fingerprint for v in kms.history(key_id).versions])
    out.append(kms.trail.to_cloudtrail())
    return out


def test_same_seed_gives_identical_ids_blobs_keys_and_times() -> None:
    assert script(KMS(seed=7)) == script(KMS(seed=7))


def test_seeds_of_every_type_replay() -> None:
    for seed in ("lesson-1", b"\x00\x01", 2**80):
        assert script(KMS(seed=seed)) == script(KMS(seed=seed))


def test_different_seeds_differ() -> None:
    first, second = script(KMS(seed=7)), script(KMS(seed=8))
    assert first[0]["KeyId"] != second[0]["KeyId"]
    assert first[3] != second[3]


def test_without_a_seed_two_runs_differ() -> None:
    first, second = script(KMS()), script(KMS())
    assert first[0]["KeyId"] != second[0]["KeyId"]
    assert first[0]["CurrentKeyMaterialId"] != second[0]["CurrentKeyMaterialId"]
    assert first[1]["CiphertextBlob"] != second[1]["CiphertextBlob"]
    assert first[3] != second[3]                         # the plaintext data keys


def test_seeded_run_never_reuses_a_nonce_under_one_material() -> None:
    kms = KMS(seed=9)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    nonces = {kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"][49:61]
              for _ in range(2000)}
    assert len(nonces) == 2000
