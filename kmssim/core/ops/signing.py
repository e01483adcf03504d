"""Asymmetric signing keys: Sign, Verify, GetPublicKey, and data key pairs.

Part of `kmssim.KMS`. A key with ``KeyUsage="SIGN_VERIFY"`` (RSA_2048/3072/4096 or
ECC_NIST_P256/P384/P521, ECC_SECG_P256K1) signs inside KMS: the private key never leaves
it, the public key does (`get_public_key`), so anyone can check a signature locally with
`cryptography`. Asymmetric keys never rotate: to change a signing key you make a new key
and move an alias (lesson 7), keeping the old public key for signatures already out there.

ECC private keys come from the simulator's random stream (``ec.derive_private_key``), so a
seeded simulator makes the same ECC keys every run, and ECDSA signatures are deterministic
(RFC 6979). RSA keys cannot be derived from a seed: they differ on every run, and so do
RSASSA-PSS signatures, whose salt is random.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from kmssim.core import params
from kmssim.core.calls import operation
from kmssim.core.errors import (
    InvalidKeyUsageException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
    ValidationException,
)
from kmssim.core.keys import Key, SecretBytes
from kmssim.core.state import Service

__all__ = ["SigningOps", "ECC_CURVES", "RSA_SIGNING", "signing_algorithms",
           "new_private_key", "public_der"]

#: ECC key spec → the curve `cryptography` names it by.
ECC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1, "ECC_SECG_P256K1": ec.SECP256K1,
}
#: The one signing algorithm AWS allows for each ECC key spec (S-MODEL, KeySpec docs).
_ECC_ALGORITHM = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384",
                  "ECC_NIST_P521": "ECDSA_SHA_512", "ECC_SECG_P256K1": "ECDSA_SHA_256"}
RSA_SIGNING = ("RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
               "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
               "RSASSA_PKCS1_V1_5_SHA_512")
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
#: Algorithms in AWS's model that kmssim does not model (their key specs are not modelled).
_UNMODELLED_ALGORITHMS = ("SM2DSA", "ML_DSA_SHAKE_256", "ED25519_SHA_512", "ED25519_PH_SHA_512")
_ALL_ALGORITHMS = RSA_SIGNING + ("ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512") \
    + _UNMODELLED_ALGORITHMS
_MESSAGE_TYPES = ("RAW", "DIGEST", "EXTERNAL_MU")
_KEY_PAIR_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096") + tuple(ECC_CURVES)
_UNMODELLED_PAIR_SPECS = ("SM2", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768",
                          "ML_KEM_1024")


def signing_algorithms(key_spec: str) -> list[str]:
    """The ``SigningAlgorithms`` a SIGN_VERIFY key of this spec supports."""
    if key_spec.startswith("RSA_"):
        return list(RSA_SIGNING)
    return [_ECC_ALGORITHM[key_spec]]


def new_private_key(key_spec: str, stream: Any) -> Any:
    """A fresh private key of an RSA or ECC spec.

    ECC keys come from ``stream`` (the simulator's `Entropy`), so they repeat under a
    seed. The value is taken below 2**(bits-1), which every curve order here exceeds,
    so it is always a valid private scalar. RSA keys come from the OS, as
    `cryptography` cannot generate them from a seed.
    """
    if key_spec in ECC_CURVES:
        curve = ECC_CURVES[key_spec]()
        bits = curve.key_size
        raw = int.from_bytes(stream.bytes((bits + 7) // 8 + 8), "big")
        return ec.derive_private_key(1 + raw % (2 ** (bits - 1) - 1), curve)
    return rsa.generate_private_key(public_exponent=65537, key_size=int(key_spec[4:]))


def private_der(private: Any) -> bytes:
    """A private key as PKCS#8 DER (what KMS returns as PrivateKeyPlaintext)."""
    return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def public_der(private: Any) -> bytes:
    """The DER SubjectPublicKeyInfo of a private key (what GetPublicKey returns)."""
    return private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


class SigningOps(Service):
    """Sign, Verify, GetPublicKey, GenerateDataKeyPair(WithoutPlaintext)."""

    def _private_key(self, key: Key) -> Any:
        material = key.current
        private = self._ciphers.get(material.material_id)
        if private is None:
            private = serialization.load_der_private_key(material.secret, password=None)
            self._ciphers[material.material_id] = private
        return private

    def _signing_key(self, key_ref: Any, algorithm: Any, operation_name: str) -> tuple[Key, str]:
        key = self._usable(self._key(key_ref))
        if key.key_usage != "SIGN_VERIFY":
            # Recorded AWS text (aws_kms_recordings.json: sign_with_hmac_key,
            # verify_with_encrypt_key); key usage is checked before the algorithm.
            raise InvalidKeyUsageException(
                f"{key.arn} key usage is {key.key_usage} which is not valid for "
                f"{operation_name}.",
                hint="Only keys created with KeyUsage='SIGN_VERIFY' (RSA or ECC) sign and "
                     "verify; symmetric keys encrypt, HMAC keys make MACs.")
        if algorithm in _UNMODELLED_ALGORITHMS:
            raise UnsupportedOperationException(
                f"SigningAlgorithm {algorithm} is valid in AWS, but kmssim does not model it.",
                hint="kmssim models RSASSA_PSS_*, RSASSA_PKCS1_V1_5_* and ECDSA_*; SM2, ML-DSA "
                     "and Ed25519 keys are not simulated.")
        chosen = params.choice("SigningAlgorithm", algorithm, _ALL_ALGORITHMS)
        if chosen not in signing_algorithms(key.key_spec):
            # The pattern AWS uses for a MAC algorithm that does not fit the key spec
            # (recording verify_mac_algorithm_spec_mismatch); no Sign recording exists.
            raise InvalidKeyUsageException(
                f"Algorithm {chosen} is incompatible with key spec {key.key_spec}.",
                hint=f"A {key.key_spec} key signs with "
                     f"{', '.join(signing_algorithms(key.key_spec))}.")
        return key, chosen

    @staticmethod
    def _message(message: Any, message_type: Any, algorithm: str) -> tuple[bytes, bool]:
        """The message bytes and whether they are a digest (checked against AWS's limits)."""
        kind = params.choice("MessageType", message_type or "RAW", _MESSAGE_TYPES)
        if kind == "EXTERNAL_MU":
            raise UnsupportedOperationException(
                "MessageType EXTERNAL_MU is valid in AWS (for ML-DSA keys), but kmssim does "
                "not model it.", hint="Use MessageType RAW or DIGEST.")
        data = params.blob("Message", message, high=4096)
        if kind == "DIGEST":
            size = hashes.Hash(_HASHES[algorithm[-3:]]()).algorithm.digest_size
            if len(data) != size:
                # AWS's newer wording (recorded 2025-06-26 for every spec, see NOTES.md
                # "Disagreements"); 2023 recordings said "Digest is invalid length for
                # algorithm <alg>."
                raise ValidationException(
                    "The provided data must be the same length as the hash algorithm's "
                    "digest size.",
                    hint=f"With MessageType DIGEST, Message is the {size}-byte hash of your "
                         f"message for {algorithm}; send RAW to let KMS hash it.")
        return data, kind == "DIGEST"

    @staticmethod
    def _scheme(algorithm: str, digest: bool) -> tuple[Any, Any]:
        """(padding or ECDSA object, hash) for `cryptography`'s sign and verify."""
        hash_algorithm = _HASHES[algorithm[-3:]]()
        chosen = Prehashed(hash_algorithm) if digest else hash_algorithm
        if algorithm.startswith("ECDSA"):
            return ec.ECDSA(chosen, deterministic_signing=True), None
        if algorithm.startswith("RSASSA_PSS"):
            # AWS's PSS uses MGF1 with the same hash and a salt as long as the digest.
            return padding.PSS(mgf=padding.MGF1(hash_algorithm),
                               salt_length=hash_algorithm.digest_size), chosen
        return padding.PKCS1v15(), chosen

    @operation("Sign", required=("KeyId", "Message", "SigningAlgorithm"))
    def sign(self, KeyId: str, Message: bytes, SigningAlgorithm: str,
             MessageType: str | None = None, GrantTokens: list[str] | None = None,
             DryRun: bool | None = None) -> dict[str, Any]:
        """Sign ``Message`` with an asymmetric SIGN_VERIFY key (id, ARN or alias).

        ``MessageType="RAW"`` (default): up to 4,096 bytes that KMS hashes;
        ``"DIGEST"``: the hash itself, exactly as long as the algorithm's digest.
        Returns ``KeyId`` (ARN), ``Signature`` and ``SigningAlgorithm``. Raises
        InvalidKeyUsageException (not a signing key, or an algorithm the key spec does
        not allow), ValidationException, DisabledException, KMSInvalidStateException.
        """
        key, algorithm = self._signing_key(KeyId, SigningAlgorithm, "Sign")
        data, digest = self._message(Message, MessageType, algorithm)
        self._dry_run(DryRun)
        scheme, hash_algorithm = self._scheme(algorithm, digest)
        private = self._private_key(key)
        if hash_algorithm is None:
            signature = private.sign(data, scheme)
        else:
            signature = private.sign(data, scheme, hash_algorithm)
        self._touch(key, key.current.material_id)
        return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": algorithm}

    @operation("Verify", required=("KeyId", "Message", "Signature", "SigningAlgorithm"))
    def verify(self, KeyId: str, Message: bytes, Signature: bytes, SigningAlgorithm: str,
               MessageType: str | None = None, GrantTokens: list[str] | None = None,
               DryRun: bool | None = None) -> dict[str, Any]:
        """Check a signature made by `sign` (or by anyone with the private key).

        Returns ``{"KeyId", "SignatureValid": True, "SigningAlgorithm"}``; a signature
        that does not match raises KMSInvalidSignatureException (AWS never answers
        ``SignatureValid: False``). You can verify without KMS too: load the key from
        `get_public_key` with `cryptography` and call its ``verify``.
        """
        key, algorithm = self._signing_key(KeyId, SigningAlgorithm, "Verify")
        data, digest = self._message(Message, MessageType, algorithm)
        signature = params.blob("Signature", Signature, high=6144)
        self._dry_run(DryRun)
        scheme, hash_algorithm = self._scheme(algorithm, digest)
        public = self._private_key(key).public_key()
        self._touch(key, key.current.material_id)
        try:
            if hash_algorithm is None:
                public.verify(signature, data, scheme)
            else:
                public.verify(signature, data, scheme, hash_algorithm)
        except (InvalidSignature, ValueError):
            # AWS sends this error with an empty message (recording verify_bad_signature_*).
            raise KMSInvalidSignatureException(
                "", hint=f"The signature does not match this message under {key.arn} with "
                         f"{algorithm}: the message changed, the signature was made by "
                         "another key (an older one, after a manual rotation?), or with "
                         "another algorithm or MessageType.") from None
        return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": algorithm}

    @operation("GetPublicKey", required=("KeyId",))
    def get_public_key(self, KeyId: str, GrantTokens: list[str] | None = None) -> dict[str, Any]:
        """The public key of an asymmetric key, as DER SubjectPublicKeyInfo.

        Load it with ``serialization.load_der_public_key(response["PublicKey"])`` and
        verify signatures (or encrypt, for an RSA ENCRYPT_DECRYPT key) without KMS.
        Returns ``KeyId`` (ARN), ``PublicKey``, ``CustomerMasterKeySpec``, ``KeySpec``,
        ``KeyUsage`` and ``SigningAlgorithms`` or ``EncryptionAlgorithms``.
        """
        key = self._usable(self._key(KeyId))
        if key.symmetric or key.key_spec.startswith("HMAC_"):
            raise UnsupportedOperationException(
                f"{key.arn} is a {key.key_spec} key, which has no public key.",
                hint="Only asymmetric (RSA or ECC) keys have a public key to download.")
        self._touch(key, key.current.material_id)
        response: dict[str, Any] = {
            "KeyId": key.arn, "PublicKey": public_der(self._private_key(key)),
            "CustomerMasterKeySpec": key.key_spec, "KeySpec": key.key_spec,
            "KeyUsage": key.key_usage}
        if key.key_usage == "SIGN_VERIFY":
            response["SigningAlgorithms"] = signing_algorithms(key.key_spec)
        else:
            response["EncryptionAlgorithms"] = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
        return response

    # -- data key pairs -----------------------------------------------------------
    def _key_pair(self, key_ref: Any, spec: Any, context: Any, dry_run: Any,
                  operation_name: str) -> tuple[Key, str, Any, bytes]:
        context = params.context("EncryptionContext", context)
        if spec in _UNMODELLED_PAIR_SPECS:
            raise UnsupportedOperationException(
                f"KeyPairSpec {spec} is valid in AWS, but kmssim does not model it.",
                hint=f"kmssim makes {', '.join(_KEY_PAIR_SPECS)} key pairs.")
        chosen = params.choice("KeyPairSpec", spec, _KEY_PAIR_SPECS)
        key = self._usable(self._key(key_ref))
        if key.key_usage != "ENCRYPT_DECRYPT" or not key.symmetric:
            raise InvalidKeyUsageException(
                f"{key.arn} key usage is {key.key_usage} which is not valid for "
                f"{operation_name}." if key.key_usage != "ENCRYPT_DECRYPT" else
                f"{key.arn} key spec is {key.key_spec} which is not valid for "
                f"{operation_name}.",
                hint="A data key pair's private key is encrypted under a symmetric "
                     "encryption key.")
        self._dry_run(dry_run)
        private = new_private_key(chosen, self.entropy)
        secret = SecretBytes(private_der(private))
        return key, chosen, private, self._seal(key, secret, context)

    @operation("GenerateDataKeyPair", required=("KeyId", "KeyPairSpec"))
    def generate_data_key_pair(self, KeyId: str, KeyPairSpec: str,
                               EncryptionContext: dict[str, str] | None = None,
                               GrantTokens: list[str] | None = None,
                               Recipient: dict[str, Any] | None = None,
                               DryRun: bool | None = None) -> dict[str, Any]:
        """A fresh RSA or ECC key pair for use outside KMS, its private key also
        encrypted under a symmetric KMS key.

        Returns ``PrivateKeyPlaintext`` (PKCS#8 DER; prints as a fingerprint),
        ``PrivateKeyCiphertextBlob`` (decrypt it later with `decrypt`), ``PublicKey``
        (DER SubjectPublicKeyInfo), ``KeyId`` (ARN), ``KeyPairSpec``, ``KeyMaterialId``.
        """
        if Recipient is not None:
            raise ValidationException("kmssim does not model Nitro Enclaves (Recipient).")
        key, spec, private, wrapped = self._key_pair(KeyId, KeyPairSpec, EncryptionContext,
                                                     DryRun, "GenerateDataKeyPair")
        return {"PrivateKeyCiphertextBlob": wrapped,
                "PrivateKeyPlaintext": SecretBytes(private_der(private)),
                "PublicKey": public_der(private), "KeyId": key.arn, "KeyPairSpec": spec,
                "KeyMaterialId": key.current.material_id}

    @operation("GenerateDataKeyPairWithoutPlaintext", required=("KeyId", "KeyPairSpec"))
    def generate_data_key_pair_without_plaintext(
            self, KeyId: str, KeyPairSpec: str, EncryptionContext: dict[str, str] | None = None,
            GrantTokens: list[str] | None = None, DryRun: bool | None = None) -> dict[str, Any]:
        """Like `generate_data_key_pair` without ``PrivateKeyPlaintext``."""
        key, spec, private, wrapped = self._key_pair(KeyId, KeyPairSpec, EncryptionContext,
                                                     DryRun,
                                                     "GenerateDataKeyPairWithoutPlaintext")
        return {"PrivateKeyCiphertextBlob": wrapped, "PublicKey": public_der(private),
                "KeyId": key.arn, "KeyPairSpec": spec, "KeyMaterialId": key.current.material_id}

