"""Client-side envelope encryption on top of GenerateDataKey and Decrypt.

This is the pattern S3, Secrets Manager and your own code use: ask KMS for a fresh
data key, encrypt the record locally with AES-256-GCM, keep only the *encrypted* data
key beside the ciphertext, and forget the plaintext key. To read the record, ask KMS
to decrypt the data key, then decrypt locally. The KMS key never sees the record.

>>> from kmssim import KMS
>>> kms = KMS(seed=3)
>>> key = kms.create_key()["KeyMetadata"]["KeyId"]
>>> record = seal(kms, key, b"card 4111...", {"customer": "42"})
>>> unseal(kms, record)
b'card 4111...'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmssim.core import blob, params
from kmssim.core.errors import ValidationException

if TYPE_CHECKING:
    from kmssim.core.kms import KMS

__all__ = ["SealedRecord", "seal", "unseal", "rewrap", "open_with_data_key",
           "wrap_key_material"]

_RECORD_MAGIC = b"kmssim-envelope-v1"


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """An envelope-encrypted record: everything needed to read it back, nothing secret.

    ``encrypted_data_key`` is the KMS ciphertext of the data key; ``context`` is the
    encryption context, bound to both the data key and the record.
    """

    encrypted_data_key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)
    context: Mapping[str, str] | None = None
    key_arn: str = ""
    key_material_id: str = ""

    def __repr__(self) -> str:
        key = self.key_arn.rsplit("/")[-1]
        return (f"SealedRecord({len(self.ciphertext) - 16} bytes under {key}, material "
                f"{self.key_material_id[:8]}…, context={dict(self.context or {})})")

    @property
    def size(self) -> int:
        """Bytes stored: encrypted record plus encrypted data key."""
        return len(self.ciphertext) + len(self.encrypted_data_key) + len(self.nonce)


def _aad(context: Mapping[str, str] | None) -> bytes:
    return _RECORD_MAGIC + blob.canonical_context(context)


def _given(**params: Any) -> dict[str, Any]:
    """The parameters that have a value: as with boto3, None is not "absent" to KMS."""
    return {name: value for name, value in params.items() if value is not None}


def seal(kms: KMS, key_id: str, plaintext: bytes,
         context: Mapping[str, str] | None = None) -> SealedRecord:
    """Encrypt ``plaintext`` (any size) under a fresh data key from ``kms``.

    ``key_id`` is anything `KMS.generate_data_key` accepts (id, ARN, alias). Raises
    the errors GenerateDataKey raises.
    """
    data = params.blob("plaintext", plaintext, low=0, high=2**31)
    ctx = params.context("context", context)
    response = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256",
                                     **_given(EncryptionContext=ctx))
    nonce = kms.entropy.bytes(12)  # a fresh key per record, so a random nonce is safe
    ciphertext = AESGCM(response["Plaintext"]).encrypt(nonce, data, _aad(ctx))
    return SealedRecord(response["CiphertextBlob"], nonce, ciphertext, ctx,
                        response["KeyId"], response["KeyMaterialId"])


def unseal(kms: KMS, record: SealedRecord, context: Mapping[str, str] | None = None,
           *, key_id: str | None = None) -> bytes:
    """Decrypt a `SealedRecord`: KMS decrypts its data key, then AES-GCM the record.

    ``context`` defaults to the one stored in the record; pass another to see a wrong
    context fail. Two different failures, as in real code:

    - KMS's Decrypt of the data key fails with what Decrypt raises:
      InvalidCiphertextException when the encrypted data key was changed or the context
      is wrong (the context is bound to the data key), a disabled or deleted key,
      IncorrectKeyException for a ``key_id`` naming another key;
    - when KMS succeeded but the *record* itself was changed, the local AES-GCM check
      fails with ``cryptography.exceptions.InvalidTag``: no KMS call failed, so there
      is no AWS error code, just what the cryptography library raises.
    """
    if not isinstance(record, SealedRecord):
        raise ValidationException("unseal() takes a SealedRecord made by seal().")
    ctx = params.context("context", record.context if context is None else context)
    data_key = kms.decrypt(CiphertextBlob=record.encrypted_data_key,
                           **_given(EncryptionContext=ctx, KeyId=key_id))["Plaintext"]
    return _open_locally(data_key, record.nonce, record.ciphertext, ctx)


def _open_locally(data_key: bytes, nonce: bytes, ciphertext: bytes,
                  context: Mapping[str, str] | None) -> bytes:
    """AES-GCM decryption on this machine; a failed check raises `InvalidTag`.

    A nonce of the wrong length (a damaged record) fails the same way: AES-GCM would
    refuse it with ValueError, but to the reader it is the same "this record does
    not authenticate", so it is reported as the library reports a bad tag.
    """
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, _aad(context))
    except ValueError:
        raise InvalidTag() from None


def rewrap(kms: KMS, record: SealedRecord, key_id: str | None = None) -> SealedRecord:
    """Re-encrypt only the record's data key with ReEncrypt, inside KMS.

    The result wraps the same data key under the *current* material of ``key_id``
    (default: the key that wrapped it before, i.e. its newest material after a
    rotation; or another key after a manual rotation). The encrypted record itself
    is unchanged, and the plaintext data key never leaves KMS. Raises what
    ReEncrypt raises.
    """
    if not isinstance(record, SealedRecord):
        raise ValidationException("rewrap() takes a SealedRecord made by seal().")
    context = dict(record.context) if record.context else None
    response = kms.re_encrypt(CiphertextBlob=record.encrypted_data_key,
                              DestinationKeyId=record.key_arn if key_id is None else key_id,
                              **_given(SourceEncryptionContext=context,
                                       DestinationEncryptionContext=context))
    return replace(record, encrypted_data_key=response["CiphertextBlob"],
                   key_arn=response["KeyId"],
                   key_material_id=response["DestinationKeyMaterialId"])


def open_with_data_key(record: SealedRecord, data_key: bytes) -> bytes:
    """Decrypt a record with its plaintext data key alone, without asking KMS.

    This is what anyone holding a leaked data key can do: no KMS call, no key
    policy, no audit event, and rotating or re-wrapping the KMS key changes nothing.
    Raises ``cryptography.exceptions.InvalidTag`` if the key is not this record's
    data key (or the record was changed): a local failure, not a KMS error.
    """
    if not isinstance(record, SealedRecord):
        raise ValidationException("open_with_data_key() takes a SealedRecord made by seal().")
    key = params.blob("data_key", data_key, low=16, high=32)
    return _open_locally(key, record.nonce, record.ciphertext, record.context)


# -- bringing your own key material (Origin EXTERNAL) -------------------------------------
def wrap_key_material(public_key: bytes, material: bytes,
                      algorithm: str = "RSAES_OAEP_SHA_256") -> bytes:
    """Wrap your own key material for `KMS.import_key_material`, as AWS's docs do with
    OpenSSL, here with `cryptography`.

    ``public_key`` is the ``PublicKey`` (DER) from `KMS.get_parameters_for_import`, and
    ``algorithm`` the ``WrappingAlgorithm`` you asked for there:

    * ``RSAES_OAEP_SHA_1`` / ``RSAES_OAEP_SHA_256``: RSA-OAEP of the material itself
      (``openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:oaep -pkeyopt
      rsa_oaep_md:sha256``);
    * ``RSA_AES_KEY_WRAP_SHA_1`` / ``RSA_AES_KEY_WRAP_SHA_256``: a fresh AES-256 key
      wrapped with RSA-OAEP, followed by the material wrapped under that AES key with
      AES key wrap with padding (RFC 5649; ``openssl enc -id-aes256-wrap-pad``).

    >>> from kmssim import KMS
    >>> kms = KMS(seed=1)
    >>> key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    >>> wrapping = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
    ...                                          WrappingKeySpec="RSA_2048")
    >>> wrapped = wrap_key_material(wrapping["PublicKey"], bytes(32))
    >>> kms.import_key_material(KeyId=key, ImportToken=wrapping["ImportToken"],
    ...                         EncryptedKeyMaterial=wrapped,
    ...                         ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")["KeyMaterialId"][:8]
    '6c5dc988'
    """
    import os

    from cryptography.hazmat.primitives import hashes, keywrap, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    choices = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1",
               "RSA_AES_KEY_WRAP_SHA_256")
    params.choice("WrappingAlgorithm", algorithm, choices)
    public = serialization.load_der_public_key(public_key)
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValidationException("public_key must be the RSA PublicKey of "
                                  "get_parameters_for_import.")
    digest: hashes.HashAlgorithm = hashes.SHA1() if algorithm.endswith("SHA_1") \
        else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(bytes(material), oaep)
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + keywrap.aes_key_wrap_with_padding(aes_key,
                                                                             bytes(material))
