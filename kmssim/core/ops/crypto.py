"""Cryptographic operations: encrypt, decrypt, re-encrypt, data keys, random, MACs.

Part of `kmssim.KMS`. Symmetric keys use AES-256-GCM with the blob header and the
canonical encryption context as associated data (see `kmssim.core.blob`); RSA keys use
RSA-OAEP; HMAC keys use HMAC. Every way a ciphertext can be bad (truncated, tampered,
foreign, wrong context) surfaces as one InvalidCiphertextException.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmssim.core import blob, params
from kmssim.core.calls import operation
from kmssim.core.errors import (
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInvalidMacException,
    NotFoundException,
    ValidationException,
)
from kmssim.core.keys import SYMMETRIC, Key, KeyMaterial, SecretBytes
from kmssim.core.ops.crypto_fast import DATA_KEY_SPECS, fast_data_key, fast_decrypt, fast_encrypt
from kmssim.core.state import Service

__all__ = ["CryptoOps"]

_RSA_HASHES = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}
_RSA_LIMITS = {("RSA_2048", "RSAES_OAEP_SHA_1"): 214, ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
               ("RSA_3072", "RSAES_OAEP_SHA_1"): 342, ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
               ("RSA_4096", "RSAES_OAEP_SHA_1"): 470, ("RSA_4096", "RSAES_OAEP_SHA_256"): 446}
_HMAC_HASHES = {"HMAC_SHA_224": hashlib.sha224, "HMAC_SHA_256": hashlib.sha256,
                "HMAC_SHA_384": hashlib.sha384, "HMAC_SHA_512": hashlib.sha512}
_DATA_KEY_SPECS = DATA_KEY_SPECS


class CryptoOps(Service):
    """Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom,
    GenerateMac, VerifyMac."""

    # -- the symmetric core ---------------------------------------------------
    def _aesgcm(self, material: KeyMaterial) -> AESGCM:
        cipher = self._ciphers.get(material.material_id)
        if cipher is None:
            cipher = self._ciphers[material.material_id] = AESGCM(material.secret)
        return cipher

    def _seal(self, key: Key, plaintext: bytes, context: dict[str, str] | None) -> bytes:
        """Encrypt under the key's current material; a `SecretBytes` plaintext is
        marked in the header as a data key, so decrypt keeps it out of sight too."""
        material = key.current
        sealed = self._sealed(self._sealer(key, material, isinstance(plaintext, SecretBytes)),
                              plaintext, blob.canonical_context(context))
        self._touch(key, material.material_id)
        return sealed

    def _sealer(self, key: Key, material: KeyMaterial, data_key: bool) -> tuple[AESGCM, bytes]:
        """What sealing under ``material`` needs: its cipher, and the header's prefix
        (`kmssim.core.blob.prefix`) for data, or for a data key if ``data_key``."""
        return self._aesgcm(material), blob.prefix(key.key_id, material.material_id, data_key)

    def _sealed(self, sealer: tuple[AESGCM, bytes], plaintext: bytes,
                encoded_context: bytes) -> bytes:
        """The blob of ``plaintext`` with an encoded context, by a `_sealer`."""
        cipher, prefix = sealer
        # The nonce is a counter unique within this simulator, plus stream bytes: a
        # (material, nonce) pair can never repeat, seeded or not.
        self._invocations = count = self._invocations + 1
        nonce = count.to_bytes(8, "big") + self.entropy.bytes(4)
        # The header (`kmssim.core.blob.header`) is the prefix followed by the nonce.
        head = prefix + nonce
        return head + cipher.encrypt(nonce, plaintext, head + encoded_context)

    def _open(self, ciphertext: bytes, context: dict[str, str] | None, key_ref: Any,
              *, source: bool = False) -> tuple[Key, KeyMaterial, bytes]:
        parsed = blob.parse(ciphertext)
        key = self._blob_key(parsed.key_id)
        # The header must name a key *and* a material of that key: a blob whose ids were
        # changed names no such pair and is as invalid as any other damaged blob.
        material = None if key is None else key.material(parsed.material_id)
        if key is None or material is None:
            raise InvalidCiphertextException(
                "", hint="The ciphertext's header names a KMS key or key material that is not "
                         "one of this account's: it was damaged, or made elsewhere.")
        self._note(key)
        if key.state == "Deleted":
            raise NotFoundException(
                f"Key '{key.arn}' does not exist",
                hint=f"The key was deleted on {key.history[-1].at.date().isoformat()}; its "
                     "key material is gone and this ciphertext can never be decrypted.")
        self._authorize(key, "ReEncryptFrom" if source else None)
        if key_ref is not None:
            named = self._key(key_ref, parameter="SourceKeyId" if source else "KeyId")
            if named is not key:
                raise _incorrect_key(named, key)
        self._decryptable(key)
        try:
            plaintext = self._aesgcm(material).decrypt(
                parsed.nonce, parsed.body, parsed.header + blob.canonical_context(context))
        except InvalidTag:
            raise InvalidCiphertextException(
                "", hint="Authentication failed: the ciphertext was changed, or the "
                         "EncryptionContext is not exactly (case-sensitive) the one used to "
                         "encrypt. AWS does not say which.") from None
        self._touch(key, material.material_id, source=source)
        return key, material, SecretBytes(plaintext) if parsed.data_key else plaintext

    def _decryptable(self, key: Key) -> None:
        """Check that ``key`` (named by a symmetric blob) can decrypt it now."""
        self._usable(key)
        if not key.symmetric:
            raise InvalidCiphertextException("", hint="The ciphertext is not a symmetric blob.")

    def _encrypt_checks(self, key: Key) -> None:
        """Encrypt's checks of its key, for an Encrypt with no EncryptionAlgorithm."""
        self._algorithm(self._for_encryption(key, "Encrypt"), None, "EncryptionAlgorithm")

    def _data_key_checks(self, key: Key, operation_name: str) -> None:
        """GenerateDataKey(WithoutPlaintext)'s checks of its key."""
        self._symmetric_only(self._for_encryption(key, operation_name), operation_name)

    @staticmethod
    def _encrypted(ciphertext: bytes, key: Key, algorithm: str) -> dict[str, Any]:
        return {"CiphertextBlob": ciphertext, "KeyId": key.arn, "EncryptionAlgorithm": algorithm}

    @staticmethod
    def _decrypted(key: Key, plaintext: bytes, material: KeyMaterial) -> dict[str, Any]:
        # A data key comes back as SecretBytes (it prints as a fingerprint); data you
        # encrypted yourself comes back as plain bytes.
        return {"KeyId": key.arn, "Plaintext": plaintext,
                "EncryptionAlgorithm": SYMMETRIC, "KeyMaterialId": material.material_id}

    @staticmethod
    def _data_key_response(key: Key, data_key: SecretBytes | None,
                           wrapped: bytes) -> dict[str, Any]:
        """GenerateDataKey's response (without ``Plaintext`` when ``data_key`` is None)."""
        if data_key is None:
            return {"CiphertextBlob": wrapped, "KeyId": key.arn,
                    "KeyMaterialId": key.current.material_id}
        return {"CiphertextBlob": wrapped, "Plaintext": data_key, "KeyId": key.arn,
                "KeyMaterialId": key.current.material_id}

    def _encryption_key(self, key_ref: Any, operation_name: str) -> Key:
        # ReEncrypt's destination is authorized as kms:ReEncryptTo (there is no
        # kms:ReEncrypt permission: KMS Developer Guide, "AWS KMS permissions").
        key = self._key(key_ref, parameter="DestinationKeyId"
                        if operation_name == "ReEncryptTo" else "KeyId")
        return self._for_encryption(key, operation_name)

    def _for_encryption(self, key: Key, operation_name: str) -> Key:
        """Check that ``key`` can encrypt now, in ``operation_name``."""
        self._usable(key)
        if key.key_usage != "ENCRYPT_DECRYPT":
            raise _wrong_usage(key, operation_name)
        return key

    @staticmethod
    def _symmetric_only(key: Key, operation_name: str) -> None:
        if not key.symmetric:
            raise InvalidKeyUsageException(
                f"{key.arn} is a {key.key_spec} key; {operation_name} needs a symmetric "
                "encryption key.")

    @staticmethod
    def _algorithm(key: Key, algorithm: Any, parameter: str) -> str:
        if key.symmetric:
            if algorithm not in (None, SYMMETRIC):
                raise InvalidKeyUsageException(
                    f"{parameter} {algorithm} is not valid for a symmetric key; use "
                    "SYMMETRIC_DEFAULT.")
            return SYMMETRIC
        if algorithm not in _RSA_HASHES:
            raise InvalidKeyUsageException(
                f"{key.arn} is an {key.key_spec} key: {parameter} must be RSAES_OAEP_SHA_1 "
                "or RSAES_OAEP_SHA_256.")
        return str(algorithm)

    def _rsa_private(self, key: Key) -> Any:
        private = self._ciphers.get(key.current.material_id)
        if private is None:
            private = serialization.load_der_private_key(key.current.secret, password=None)
            self._ciphers[key.current.material_id] = private
        return private

    @staticmethod
    def _oaep(algorithm: str) -> padding.OAEP:
        digest = _RSA_HASHES[algorithm]()
        return padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)

    # -- operations ---------------------------------------------------------
    @operation("Encrypt", required=("KeyId", "Plaintext"), fast=fast_encrypt)
    def encrypt(self, KeyId: str, Plaintext: bytes, EncryptionContext: dict[str, str] | None = None,
                GrantTokens: list[str] | None = None, EncryptionAlgorithm: str | None = None,
                DryRun: bool | None = None) -> dict[str, Any]:
        """Encrypt up to 4,096 bytes under a KMS key (id, ARN, alias or alias ARN).

        Returns ``CiphertextBlob``, ``KeyId`` (the key ARN) and ``EncryptionAlgorithm``.
        A symmetric key encrypts with its *current* key material; pass the same
        ``EncryptionContext`` again to decrypt. Raises ValidationException (empty or
        too long), NotFoundException, DisabledException, KMSInvalidStateException,
        InvalidKeyUsageException.
        """
        plaintext = params.blob("Plaintext", Plaintext, high=4096)
        context = params.context("EncryptionContext", EncryptionContext)
        key = self._encryption_key(KeyId, "Encrypt")
        algorithm = self._algorithm(key, EncryptionAlgorithm, "EncryptionAlgorithm")
        if key.symmetric:
            self._dry_run(DryRun)
            return self._encrypted(self._seal(key, plaintext, context), key, algorithm)
        self._check_rsa_plaintext(key, algorithm, plaintext, context)
        self._dry_run(DryRun)
        return {"CiphertextBlob": self._rsa_seal(key, algorithm, plaintext),
                "KeyId": key.arn, "EncryptionAlgorithm": algorithm}

    @staticmethod
    def _check_rsa_plaintext(key: Key, algorithm: str, plaintext: bytes,
                             context: dict[str, str] | None) -> None:
        if context:
            raise ValidationException("EncryptionContext is not supported with asymmetric keys.")
        limit = _RSA_LIMITS[(key.key_spec, algorithm)]
        if len(plaintext) > limit:
            # AWS's words: localstack snapshot, TestKMS::
            # test_encrypt_validate_plaintext_size_per_key_type.
            raise ValidationException(
                f"Algorithm {algorithm} and key spec {key.key_spec} cannot encrypt data larger "
                f"than {limit} bytes.",
                hint=f"The plaintext is {len(plaintext)} bytes. RSA encrypts only short data "
                     "such as a data key: for more, use envelope encryption.")

    def _rsa_seal(self, key: Key, algorithm: str, plaintext: bytes) -> bytes:
        self._touch(key, key.current.material_id)
        public = self._rsa_private(key).public_key()
        return bytes(public.encrypt(bytes(plaintext), self._oaep(algorithm)))

    def _rsa_open(self, key: Key, algorithm: str, ciphertext: bytes, *,
                  source: bool = False) -> bytes:
        try:
            plaintext = self._rsa_private(key).decrypt(ciphertext, self._oaep(algorithm))
        except ValueError:
            raise InvalidCiphertextException(
                "", hint="The ciphertext could not be decrypted with this RSA key and "
                         "algorithm: it was made by another key or algorithm, or "
                         "changed.") from None
        self._touch(key, key.current.material_id, source=source)
        return plaintext

    @operation("Decrypt", fast=fast_decrypt)
    def decrypt(self, CiphertextBlob: bytes | None = None,
                EncryptionContext: dict[str, str] | None = None,
                GrantTokens: list[str] | None = None, KeyId: str | None = None,
                EncryptionAlgorithm: str | None = None, Recipient: dict[str, Any] | None = None,
                DryRun: bool | None = None,
                DryRunModifiers: list[str] | None = None) -> dict[str, Any]:
        """Decrypt a ciphertext made by `encrypt`, `generate_data_key` or `re_encrypt`.

        For symmetric ciphertext ``KeyId`` is optional: the blob says which key and
        which key material encrypted it, so data from every earlier rotation decrypts
        without naming a version. If you pass a ``KeyId`` (or alias) that names a
        different key, IncorrectKeyException. Returns ``KeyId`` (ARN), ``Plaintext``,
        ``EncryptionAlgorithm`` and ``KeyMaterialId``. A wrong or missing
        ``EncryptionContext`` or a damaged blob raises InvalidCiphertextException.
        RSA ciphertext needs ``KeyId`` and ``EncryptionAlgorithm``.
        """
        if Recipient is not None:
            raise ValidationException("kmssim does not model Nitro Enclaves (Recipient).")
        ciphertext = params.blob("CiphertextBlob", CiphertextBlob, high=6144)
        context = params.context("EncryptionContext", EncryptionContext)
        named = None if KeyId is None else self._key(KeyId)
        if named is not None and named.key_usage != "ENCRYPT_DECRYPT":
            raise _incorrect_key(named, None)
        if named is not None and not named.symmetric:
            if context:
                raise ValidationException(
                    "EncryptionContext is not supported with asymmetric keys.")
            self._usable(named)
            algorithm = self._algorithm(named, EncryptionAlgorithm, "EncryptionAlgorithm")
            self._dry_run(DryRun)
            plaintext = self._rsa_open(named, algorithm, ciphertext)
            return {"KeyId": named.arn, "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}
        if EncryptionAlgorithm not in (None, SYMMETRIC):
            raise InvalidKeyUsageException(
                f"EncryptionAlgorithm {EncryptionAlgorithm} needs KeyId naming an RSA key.")
        key, material, plaintext = self._open(ciphertext, context, KeyId)
        self._dry_run(DryRun)
        return self._decrypted(key, plaintext, material)

    @operation("ReEncrypt", required=("CiphertextBlob", "DestinationKeyId"))
    def re_encrypt(self, CiphertextBlob: bytes | None = None, DestinationKeyId: str = "",
                   SourceEncryptionContext: dict[str, str] | None = None,
                   SourceKeyId: str | None = None,
                   DestinationEncryptionContext: dict[str, str] | None = None,
                   SourceEncryptionAlgorithm: str | None = None,
                   DestinationEncryptionAlgorithm: str | None = None,
                   GrantTokens: list[str] | None = None, DryRun: bool | None = None,
                   DryRunModifiers: list[str] | None = None) -> dict[str, Any]:
        """Decrypt and re-encrypt inside KMS, without the plaintext ever leaving it.

        Use it to move old ciphertext to the *current* material of the same key after
        a rotation, to another key after a manual rotation, or to a new encryption
        context. RSA ciphertext is re-encrypted too (name the RSA key as ``SourceKeyId``
        with ``SourceEncryptionAlgorithm``), and an RSA key can be the destination
        (``DestinationEncryptionAlgorithm``; its ciphertext has no key material id).
        Returns ``CiphertextBlob``, ``SourceKeyId``, ``KeyId`` (destination),
        the algorithms and ``SourceKeyMaterialId`` / ``DestinationKeyMaterialId``.
        Raises what `decrypt` and `encrypt` raise.
        """
        ciphertext = params.blob("CiphertextBlob", CiphertextBlob, high=6144)
        source_context = params.context("SourceEncryptionContext", SourceEncryptionContext)
        target_context = params.context("DestinationEncryptionContext",
                                        DestinationEncryptionContext)
        # AWS checks the source first: a source key that cannot have made the ciphertext is
        # an IncorrectKeyException even when the destination is wrong too.
        named = None if SourceKeyId is None else self._key(SourceKeyId, parameter="SourceKeyId")
        if named is not None and named.key_usage != "ENCRYPT_DECRYPT":
            raise _incorrect_key(named, None)
        rsa_source = named if named is not None and not named.symmetric else None
        if rsa_source is None and SourceEncryptionAlgorithm not in (None, SYMMETRIC):
            raise InvalidKeyUsageException(
                f"SourceEncryptionAlgorithm {SourceEncryptionAlgorithm} needs SourceKeyId "
                "naming an RSA key.")
        destination = self._encryption_key(DestinationKeyId, "ReEncryptTo")
        target_algorithm = self._algorithm(destination, DestinationEncryptionAlgorithm,
                                           "DestinationEncryptionAlgorithm")
        if target_context and not destination.symmetric:
            raise ValidationException("EncryptionContext is not supported with asymmetric keys.")
        material: KeyMaterial | None = None
        if rsa_source is not None:          # RSA ciphertext: the key must be named
            if source_context:
                raise ValidationException(
                    "EncryptionContext is not supported with asymmetric keys.")
            source = self._usable(rsa_source)
            source_algorithm = self._algorithm(source, SourceEncryptionAlgorithm,
                                               "SourceEncryptionAlgorithm")
            self._dry_run(DryRun)
            plaintext = self._rsa_open(source, source_algorithm, ciphertext, source=True)
        else:
            source, material, plaintext = self._open(ciphertext, source_context, SourceKeyId,
                                                     source=True)
            source_algorithm = SYMMETRIC
            self._dry_run(DryRun)
        if destination.symmetric:
            new_blob = self._seal(destination, plaintext, target_context)
        else:
            self._check_rsa_plaintext(destination, target_algorithm, plaintext, None)
            new_blob = self._rsa_seal(destination, target_algorithm, plaintext)
        response: dict[str, Any] = {
            "CiphertextBlob": new_blob, "SourceKeyId": source.arn, "KeyId": destination.arn,
            "SourceEncryptionAlgorithm": source_algorithm,
            "DestinationEncryptionAlgorithm": target_algorithm}
        # Key material ids belong to symmetric keys only, as in DescribeKey.
        if material is not None:
            response["SourceKeyMaterialId"] = material.material_id
        if destination.symmetric:
            response["DestinationKeyMaterialId"] = destination.current.material_id
        return response

    def _data_key(self, key_ref: Any, context: Any, number_of_bytes: Any, key_spec: Any,
                  dry_run: Any, operation_name: str) -> tuple[Key, SecretBytes, bytes]:
        context = params.context("EncryptionContext", context)
        if (number_of_bytes is None) == (key_spec is None):
            raise ValidationException("Specify exactly one of KeySpec (AES_256 or AES_128) "
                                      "and NumberOfBytes.")
        size = (_DATA_KEY_SPECS[params.choice("KeySpec", key_spec, tuple(_DATA_KEY_SPECS))]
                if key_spec is not None
                else params.integer("NumberOfBytes", number_of_bytes, 1, 1024))
        key = self._encryption_key(key_ref, operation_name)
        self._symmetric_only(key, operation_name)   # (as `_data_key_checks`)
        self._dry_run(dry_run)
        data_key = SecretBytes(self.entropy.bytes(size))
        return key, data_key, self._seal(key, data_key, context)

    @operation("GenerateDataKey", required=("KeyId",), fast=fast_data_key)
    def generate_data_key(self, KeyId: str, EncryptionContext: dict[str, str] | None = None,
                          NumberOfBytes: int | None = None, KeySpec: str | None = None,
                          GrantTokens: list[str] | None = None,
                          Recipient: dict[str, Any] | None = None,
                          DryRun: bool | None = None) -> dict[str, Any]:
        """Make a fresh data key for envelope encryption.

        Give ``KeySpec`` (``AES_256`` or ``AES_128``) or ``NumberOfBytes`` (1–1024).
        Returns ``Plaintext`` (use it locally, then forget it; it prints as a
        fingerprint), ``CiphertextBlob`` (the same key encrypted under the KMS key's
        current material: store it beside your data), ``KeyId`` (ARN) and
        ``KeyMaterialId``.
        """
        if Recipient is not None:
            raise ValidationException("kmssim does not model Nitro Enclaves (Recipient).")
        key, data_key, wrapped = self._data_key(KeyId, EncryptionContext, NumberOfBytes,
                                                KeySpec, DryRun, "GenerateDataKey")
        return self._data_key_response(key, data_key, wrapped)

    @operation("GenerateDataKeyWithoutPlaintext", required=("KeyId",),
               fast=fast_data_key)
    def generate_data_key_without_plaintext(
            self, KeyId: str, EncryptionContext: dict[str, str] | None = None,
            KeySpec: str | None = None, NumberOfBytes: int | None = None,
            GrantTokens: list[str] | None = None, DryRun: bool | None = None) -> dict[str, Any]:
        """Like `generate_data_key` but return only the encrypted copy (``CiphertextBlob``,
        ``KeyId``, ``KeyMaterialId``): for a component that will use the key later."""
        key, _, wrapped = self._data_key(KeyId, EncryptionContext, NumberOfBytes, KeySpec,
                                         DryRun, "GenerateDataKeyWithoutPlaintext")
        return self._data_key_response(key, None, wrapped)

    @operation("GenerateRandom")
    def generate_random(self, NumberOfBytes: int | None = None,
                        CustomKeyStoreId: str | None = None,
                        Recipient: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return ``{"Plaintext": <NumberOfBytes random bytes>}`` (1–1024)."""
        if CustomKeyStoreId is not None or Recipient is not None:
            raise ValidationException("kmssim does not model custom key stores or Recipient.")
        if NumberOfBytes is None:
            # Not required by the model, so botocore sends the request; AWS's answer is
            # localstack's AWS-validated snapshot generate-random-exc (parameter None).
            raise ValidationException("NumberOfBytes is required.")
        size = params.integer("NumberOfBytes", NumberOfBytes, 1, 1024)
        return {"Plaintext": self.entropy.bytes(size)}

    def _mac_key(self, key_ref: Any, algorithm: Any, operation_name: str) -> tuple[Key, str]:
        algorithm = params.choice("MacAlgorithm", algorithm, tuple(_HMAC_HASHES))
        key = self._usable(self._key(key_ref))
        if key.key_usage != "GENERATE_VERIFY_MAC":
            raise _wrong_usage(key, operation_name)
        expected = "HMAC_SHA_" + key.key_spec[5:]
        if algorithm != expected:
            raise InvalidKeyUsageException(
                f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.",
                hint=f"An {key.key_spec} key computes {expected} MACs only.")
        return key, expected

    def _mac(self, key: Key, algorithm: str, message: bytes) -> bytes:
        self._touch(key, key.current.material_id)
        return hmac.new(key.current.secret, message, _HMAC_HASHES[algorithm]).digest()

    @operation("GenerateMac", required=("Message", "KeyId", "MacAlgorithm"))
    def generate_mac(self, Message: bytes, KeyId: str, MacAlgorithm: str,
                     GrantTokens: list[str] | None = None,
                     DryRun: bool | None = None) -> dict[str, Any]:
        """HMAC of ``Message`` (≤ 4,096 bytes) with an HMAC key: ``Mac``,
        ``MacAlgorithm``, ``KeyId``."""
        message = params.blob("Message", Message, high=4096)
        key, algorithm = self._mac_key(KeyId, MacAlgorithm, "GenerateMac")
        self._dry_run(DryRun)
        return {"Mac": self._mac(key, algorithm, message), "MacAlgorithm": algorithm,
                "KeyId": key.arn}

    @operation("VerifyMac", required=("Message", "KeyId", "MacAlgorithm", "Mac"))
    def verify_mac(self, Message: bytes, KeyId: str, MacAlgorithm: str, Mac: bytes,
                   GrantTokens: list[str] | None = None,
                   DryRun: bool | None = None) -> dict[str, Any]:
        """Check an HMAC: ``{"KeyId", "MacValid": True, "MacAlgorithm"}``, or
        KMSInvalidMacException when it does not match."""
        message = params.blob("Message", Message, high=4096)
        mac = params.blob("Mac", Mac, high=6144)
        key, algorithm = self._mac_key(KeyId, MacAlgorithm, "VerifyMac")
        self._dry_run(DryRun)
        if not hmac.compare_digest(self._mac(key, algorithm, message), mac):
            raise KMSInvalidMacException(
                "", hint=f"The MAC is not the {algorithm} of this message under {key.arn}: "
                         "the message, the MAC or the key differs from when it was made.")
        return {"KeyId": key.arn, "MacValid": True, "MacAlgorithm": algorithm}


def _wrong_usage(key: Key, operation_name: str) -> InvalidKeyUsageException:
    """AWS's error for a key whose KeyUsage does not allow the operation (ReEncrypt's
    destination is named ``ReEncryptTo``, after its permission)."""
    return InvalidKeyUsageException(
        f"{key.arn} key usage is {key.key_usage} which is not valid for {operation_name}.")


def _incorrect_key(named: Key, actual: Key | None) -> IncorrectKeyException:
    """AWS's error when the key named in a Decrypt or ReEncrypt cannot have made the
    ciphertext (it still calls KMS keys CMKs here)."""
    if actual is not None:
        hint = (f"The request names {named.arn}, but the ciphertext was encrypted under "
                f"{actual.arn}. Omit KeyId, or name the key that encrypted it.")
    else:
        hint = (f"The request names {named.arn}, a {named.key_spec} key with KeyUsage "
                f"{named.key_usage}: it cannot decrypt.")
    return IncorrectKeyException(
        "The key ID in the request does not identify a CMK that can perform this operation.",
        hint=hint)
