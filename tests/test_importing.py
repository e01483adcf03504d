"""Imported key material (Origin EXTERNAL) and its on-demand rotation (kms-facts.md 2.6, 2.8;
AWS messages from /work/research/aws_kms_recordings.json)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmssim import KMS
from kmssim.core.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from kmssim.envelope import wrap_key_material
from kms_support import new_key

OLD = bytes(range(32))
NEW = bytes(range(32, 64))


def import_into(kms: KMS, key: str, material: bytes, *, algorithm: str = "RSAES_OAEP_SHA_256",
                spec: str = "RSA_2048", **kwargs: object) -> dict:
    wrapping = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm=algorithm,
                                             WrappingKeySpec=spec)
    kwargs.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    return kms.import_key_material(
        KeyId=key, ImportToken=wrapping["ImportToken"],
        EncryptedKeyMaterial=wrap_key_material(wrapping["PublicKey"], material, algorithm),
        **kwargs)


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=21)


def test_an_external_key_waits_for_its_material(kms: KMS) -> None:
    meta = kms.create_key(Origin="EXTERNAL", Description="test-key")["KeyMetadata"]
    # Recording create_key_external_response: no CurrentKeyMaterialId, disabled.
    assert meta["KeyState"] == "PendingImport" and meta["Enabled"] is False
    assert meta["Origin"] == "EXTERNAL" and "CurrentKeyMaterialId" not in meta
    with pytest.raises(KMSInvalidStateException) as raised:   # recording encrypt_pending_import
        kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"test content 123 !#")
    assert raised.value.message == f"{meta['Arn']} is pending import."
    # Recording rotate_on_demand_external_pending_import.
    with pytest.raises(KMSInvalidStateException) as raised:
        kms.rotate_key_on_demand(KeyId=meta["KeyId"])
    assert raised.value.message == f"{meta['Arn']} is pending import."


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256",
                                       "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"])
@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072"])
def test_material_wrapped_with_cryptography_imports_and_works(kms: KMS, algorithm: str,
                                                              spec: str) -> None:
    key = new_key(kms, Origin="EXTERNAL")
    answer = import_into(kms, key, OLD, algorithm=algorithm, spec=spec)
    assert answer["KeyId"].endswith(key) and len(answer["KeyMaterialId"]) == 64
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    # Recording describe_key_after_import.
    assert meta["KeyState"] == "Enabled" and meta["ExpirationModel"] == \
        "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert meta["CurrentKeyMaterialId"] == answer["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"hello")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"hello"


def test_the_material_id_is_derived_from_key_and_bytes(kms: KMS) -> None:
    first, second = new_key(kms, Origin="EXTERNAL"), new_key(kms, Origin="EXTERNAL")
    a = import_into(kms, first, OLD)["KeyMaterialId"]
    b = import_into(kms, second, OLD)["KeyMaterialId"]
    assert a != b                                   # same bytes, other key
    kms.delete_imported_key_material(KeyId=first)
    assert import_into(kms, first, OLD)["KeyMaterialId"] == a   # same key, same bytes


def test_the_aws_documentation_example_for_import_key_material_runs(kms: KMS) -> None:
    """examples-1.json: GetParametersForImport (RSAES_OAEP_SHA_1, RSA_2048), then
    ImportKeyMaterial with KEY_MATERIAL_DOES_NOT_EXPIRE (example ids replaced)."""
    key = new_key(kms, Origin="EXTERNAL")
    parameters = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_1",
                                               WrappingKeySpec="RSA_2048")
    assert set(parameters) == {"ImportToken", "KeyId", "ParametersValidTo", "PublicKey"}
    assert parameters["ParametersValidTo"] == kms.now + timedelta(hours=24)
    answer = kms.import_key_material(
        EncryptedKeyMaterial=wrap_key_material(parameters["PublicKey"], OLD, "RSAES_OAEP_SHA_1"),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE", ImportToken=parameters["ImportToken"],
        KeyId=key)
    assert set(answer) == {"KeyId", "KeyMaterialId"}


def test_wrapping_choices_aws_refuses(kms: KMS) -> None:
    key = new_key(kms, Origin="EXTERNAL")
    with pytest.raises(ValidationException):                 # refused since October 2023
        kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_PKCS1_V1_5",
                                      WrappingKeySpec="RSA_2048")
    with pytest.raises(UnsupportedOperationException):       # China Regions only
        kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="SM2PKE",
                                      WrappingKeySpec="SM2")
    symmetric = new_key(kms)
    arn = kms.describe_key(KeyId=symmetric)["KeyMetadata"]["Arn"]
    with pytest.raises(UnsupportedOperationException) as raised:
        kms.get_parameters_for_import(KeyId=symmetric, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_2048")
    # Recording get_parameters_for_import_aws_kms_origin.
    assert raised.value.message == f"{arn} origin is AWS_KMS which is not valid for this operation."


def test_tokens_expire_after_24_hours_and_belong_to_one_key(kms: KMS) -> None:
    key, other = new_key(kms, Origin="EXTERNAL"), new_key(kms, Origin="EXTERNAL")
    wrapping = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                             WrappingKeySpec="RSA_2048")
    wrapped = wrap_key_material(wrapping["PublicKey"], OLD)
    with pytest.raises(InvalidImportTokenException):
        kms.import_key_material(KeyId=other, ImportToken=wrapping["ImportToken"],
                                EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.advance(hours=24)
    with pytest.raises(ExpiredImportTokenException):
        kms.import_key_material(KeyId=key, ImportToken=wrapping["ImportToken"],
                                EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")


def test_bad_imports_are_refused_and_change_nothing(kms: KMS) -> None:
    key = new_key(kms, Origin="EXTERNAL")
    wrapping = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                             WrappingKeySpec="RSA_2048")
    good = wrap_key_material(wrapping["PublicKey"], OLD)
    with pytest.raises(ValidationException) as raised:
        kms.import_key_material(KeyId=key, ImportToken=wrapping["ImportToken"],
                                EncryptedKeyMaterial=good)
    # Recording import_key_material_expires_without_valid_to.
    assert raised.value.message == ("A validTo date must be set if the ExpirationModel is "
                                    "KEY_MATERIAL_EXPIRES")
    with pytest.raises(ValidationException):
        kms.import_key_material(KeyId=key, ImportToken=wrapping["ImportToken"],
                                EncryptedKeyMaterial=good, ValidTo=kms.now + timedelta(days=366))
    with pytest.raises(InvalidCiphertextException):
        kms.import_key_material(KeyId=key, ImportToken=wrapping["ImportToken"],
                                EncryptedKeyMaterial=b"\x01" * 256,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    with pytest.raises(IncorrectKeyMaterialException):
        kms.import_key_material(KeyId=key, ImportToken=wrapping["ImportToken"],
                                EncryptedKeyMaterial=wrap_key_material(wrapping["PublicKey"],
                                                                       b"short"),
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_rotating_imported_material_on_demand() -> None:
    """The 2025 flow (kms-facts 2.6): import NEW_KEY_MATERIAL, see PENDING_ROTATION, rotate."""
    kms = KMS(seed=5)
    key = new_key(kms, Origin="EXTERNAL")
    arn = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    first = import_into(kms, key, OLD, KeyMaterialDescription="2024 material")["KeyMaterialId"]
    before = kms.encrypt(KeyId=key, Plaintext=b"old data")["CiphertextBlob"]
    with pytest.raises(KMSInvalidStateException) as raised:
        kms.rotate_key_on_demand(KeyId=key)
    # Recording rotate_on_demand_external_no_pending_material.
    assert raised.value.message == f"No available key material pending rotation for the key: {arn}."
    kms.advance(days=30)
    second = import_into(kms, key, NEW, ImportType="NEW_KEY_MATERIAL",
                         KeyMaterialDescription="2025 material")["KeyMaterialId"]
    rows = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [r["KeyMaterialState"] for r in rows] == ["CURRENT", "PENDING_ROTATION"]
    assert "RotationDate" not in rows[1] and rows[1]["ImportState"] == "IMPORTED"
    assert kms.list_key_rotations(KeyId=key)["Rotations"] == []
    # Recording import_key_material_second_pending.
    with pytest.raises(KMSInvalidStateException) as raised:
        import_into(kms, key, bytes(64)[:32], ImportType="NEW_KEY_MATERIAL")
    assert raised.value.message.startswith("New key material (id: ")
    assert raised.value.message.endswith(f"cannot be imported into KMS key {key}, because "
                                         f"another key material (id: {second}) is pending "
                                         "rotation.")
    # Still encrypting with the first material until the rotation.
    assert kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"][17:49].hex() == first
    kms.rotate_key_on_demand(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == second
    rows = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert rows[0] == {"KeyId": key, "KeyMaterialId": first,
                       "KeyMaterialDescription": "2024 material", "ImportState": "IMPORTED",
                       "KeyMaterialState": "NON_CURRENT",
                       "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}
    assert rows[1] == {"KeyId": key, "KeyMaterialId": second,
                       "KeyMaterialDescription": "2025 material", "ImportState": "IMPORTED",
                       "KeyMaterialState": "CURRENT",
                       "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
                       "RotationDate": kms.now, "RotationType": "ON_DEMAND"}
    assert kms.decrypt(CiphertextBlob=before)["Plaintext"] == b"old data"
    for refused in (kms.enable_key_rotation, kms.disable_key_rotation):
        with pytest.raises(UnsupportedOperationException) as raised:
            refused(KeyId=key)
        assert raised.value.message == f"{arn} origin is EXTERNAL which is not valid for this " \
                                       "operation."


def test_an_expiry_locks_the_key_until_the_same_material_returns() -> None:
    kms = KMS(seed=8)
    key = new_key(kms, Origin="EXTERNAL")
    import_into(kms, key, OLD, ExpirationModel="KEY_MATERIAL_EXPIRES",
                ValidTo=kms.now + timedelta(days=90))
    early = kms.encrypt(KeyId=key, Plaintext=b"early")["CiphertextBlob"]
    kms.advance(days=10)
    import_into(kms, key, NEW, ImportType="NEW_KEY_MATERIAL")
    kms.rotate_key_on_demand(KeyId=key)
    late = kms.encrypt(KeyId=key, Plaintext=b"late")["CiphertextBlob"]
    assert kms.next_event_time() == kms.now + timedelta(days=80)
    events = kms.advance(days=81)
    assert [e.name for e in events] == ["DeleteExpiredKeyMaterial"]
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "PendingImport" and meta["Enabled"] is False
    for blob in (early, late):     # even data under the still-present new material is locked
        with pytest.raises(KMSInvalidStateException):
            kms.decrypt(CiphertextBlob=blob)
    rows = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [r["ImportState"] for r in rows] == ["PENDING_IMPORT", "IMPORTED"]
    with pytest.raises(IncorrectKeyMaterialException):   # other bytes do not unlock it
        import_into(kms, key, bytes(32))
    import_into(kms, key, OLD)                           # EXISTING_KEY_MATERIAL by default now
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.decrypt(CiphertextBlob=early)["Plaintext"] == b"early"
    assert kms.decrypt(CiphertextBlob=late)["Plaintext"] == b"late"
    assert any(e.name == "DeleteExpiredKeyMaterial" and e.event_type == "AwsServiceEvent"
               for e in kms.trail)


def test_deleting_material_then_reimporting(kms: KMS) -> None:
    key = new_key(kms, Origin="EXTERNAL")
    material = import_into(kms, key, OLD)["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"data")["CiphertextBlob"]
    answer = kms.delete_imported_key_material(KeyId=key, KeyMaterialId=material)
    assert answer == {"KeyId": kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"],
                      "KeyMaterialId": material}
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    # Recording describe_key_after_delete_imported_material.
    assert meta["KeyState"] == "PendingImport" and meta["CurrentKeyMaterialId"] == material
    assert "ExpirationModel" not in meta
    # Deleting material still pending rotation leaves the key usable.
    import_into(kms, key, OLD)
    pending = import_into(kms, key, NEW, ImportType="NEW_KEY_MATERIAL")["KeyMaterialId"]
    kms.delete_imported_key_material(KeyId=key, KeyMaterialId=pending)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"data"
    with pytest.raises(KMSInvalidStateException):
        kms.rotate_key_on_demand(KeyId=key)


def test_imported_material_survives_save_and_load(tmp_path: Path) -> None:
    kms = KMS(seed=3)
    key = new_key(kms, Origin="EXTERNAL")
    untouched = new_key(kms, Origin="EXTERNAL")
    import_into(kms, key, OLD, ExpirationModel="KEY_MATERIAL_EXPIRES",
                ValidTo=kms.now + timedelta(days=30), KeyMaterialDescription="v1")
    import_into(kms, key, NEW, ImportType="NEW_KEY_MATERIAL")
    blob = kms.encrypt(KeyId=key, Plaintext=b"kept")["CiphertextBlob"]
    kms.save(tmp_path / "s.json")
    saved = json.loads((tmp_path / "s.json").read_text())
    assert {k["origin"] for k in saved["keys"]} == {"EXTERNAL"}
    loaded = KMS.load(tmp_path / "s.json")
    assert loaded.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL") == \
        kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert loaded.describe_key(KeyId=untouched) == kms.describe_key(KeyId=untouched)
    assert [e.name for e in loaded.advance(days=31)] == ["DeleteExpiredKeyMaterial"]
    with pytest.raises(KMSInvalidStateException):
        loaded.decrypt(CiphertextBlob=blob)


@settings(max_examples=10, deadline=None)
@given(steps=st.lists(st.sampled_from(["encrypt", "expire", "reimport", "rotate"]),
                      min_size=1, max_size=8))
def test_every_ciphertext_decrypts_whenever_all_material_is_present(steps: list[str]) -> None:
    kms = KMS(seed=1)
    key = new_key(kms, Origin="EXTERNAL")
    materials = [OLD]
    import_into(kms, key, OLD, ExpirationModel="KEY_MATERIAL_EXPIRES",
                ValidTo=kms.now + timedelta(days=5))
    blobs: list[tuple[bytes, bytes]] = []
    for number, step in enumerate(steps):
        if step == "encrypt" and kms.describe_key(KeyId=key)["KeyMetadata"]["Enabled"]:
            text = b"record %d" % number
            blobs.append((kms.encrypt(KeyId=key, Plaintext=text)["CiphertextBlob"], text))
        elif step == "expire":
            kms.advance(days=6)
        elif step == "reimport":
            for material in materials:
                import_into(kms, key, material, ExpirationModel="KEY_MATERIAL_EXPIRES",
                            ValidTo=kms.now + timedelta(days=5))
        elif step == "rotate" and kms.describe_key(KeyId=key)["KeyMetadata"]["Enabled"]:
            fresh = bytes([number + 100]) * 32
            materials.append(fresh)
            import_into(kms, key, fresh, ImportType="NEW_KEY_MATERIAL",
                        ExpirationModel="KEY_MATERIAL_EXPIRES",
                        ValidTo=kms.now + timedelta(days=5))
            kms.rotate_key_on_demand(KeyId=key)
    for material in materials:
        import_into(kms, key, material)
    for blob, text in blobs:
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == text
