"""Lesson 7 (rotation at the edges): exercises, and the scenarios that answer them."""

from __future__ import annotations

from datetime import timedelta

from kmssim.core import Cloud, envelope
from kmssim.lessons.checks import Exercise
from kmssim.lessons.exercises._common import START, error_code, new_key, sim

__all__ = ["EXERCISES"]


def _rotate_signing_key() -> str | None:
    kms = sim()
    key_id = new_key(kms, KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")
    return error_code(lambda: kms.rotate_key_on_demand(KeyId=key_id))


def _records_readable_after_expiry() -> int:
    kms = sim()
    key_id = new_key(kms, Origin="EXTERNAL")

    def bring(material: bytes, **kwargs: object) -> None:
        wrapping = kms.get_parameters_for_import(KeyId=key_id, WrappingKeySpec="RSA_2048",
                                                 WrappingAlgorithm="RSAES_OAEP_SHA_256")
        kms.import_key_material(
            KeyId=key_id, ImportToken=wrapping["ImportToken"],
            EncryptedKeyMaterial=envelope.wrap_key_material(wrapping["PublicKey"], material),
            **kwargs)

    bring(bytes(32), ValidTo=kms.now + timedelta(days=30))
    first = kms.encrypt(KeyId=key_id, Plaintext=b"v1 record")["CiphertextBlob"]
    kms.advance(days=10)
    bring(bytes(range(32)), ImportType="NEW_KEY_MATERIAL",
          ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.rotate_key_on_demand(KeyId=key_id)
    second = kms.encrypt(KeyId=key_id, Plaintext=b"v2 record")["CiphertextBlob"]
    kms.advance(days=21)
    return sum(error_code(lambda blob=blob: kms.decrypt(CiphertextBlob=blob)) is None
               for blob in (first, second))


def _replica_versions_after_a_year() -> int:
    cloud = Cloud(seed="exercises", start=START)
    primary = cloud.region("us-east-1")
    key_id = new_key(primary, MultiRegion=True)
    primary.replicate_key(KeyId=key_id, ReplicaRegion="eu-west-1")
    primary.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    cloud.advance(days=365)
    return len(cloud.region("eu-west-1").history(key_id).versions)


EXERCISES = (
    Exercise("7.1", "error",
             "Only symmetric encryption keys rotate inside KMS. Try it on a key made with "
             "KeySpec='ECC_NIST_P384', KeyUsage='SIGN_VERIFY'.",
             "asymmetric keys never rotate, automatically or on demand: "
             "UnsupportedOperationException.",
             _rotate_signing_key),
    Exercise("7.2", "int",
             "When any material that is not pending rotation expires, the whole key goes to "
             "PendingImport.",
             "the first material (v1) expired on day 30, so the whole key is PendingImport: "
             "neither record decrypts until v1 is imported again.",
             _records_readable_after_expiry),
    Exercise("7.3", "int",
             "The replica gets every rotation of its primary. Count the rotations in 365 days "
             "of a 90-day period, plus the original material.",
             "the original material plus rotations on days 90, 180, 270 and 360.",
             _replica_versions_after_a_year),
)
