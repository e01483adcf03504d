"""Imported key material (Origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
DeleteImportedKeyMaterial.

Part of `kmssim.KMS`. A key made with ``CreateKey(Origin="EXTERNAL")`` has no material
and is ``PendingImport`` until you import 32 bytes of your own, wrapped under the RSA
public key that `get_parameters_for_import` hands out (see
`kmssim.envelope.wrap_key_material` for how a learner wraps it with `cryptography`, as
AWS's docs do with OpenSSL). KMS derives each material's id from the key id and the
bytes, so importing the same bytes again gives the same id.

Since 2025 a symmetric key with imported material can rotate on demand: import new
material with ``ImportType="NEW_KEY_MATERIAL"`` (it waits as ``PENDING_ROTATION``), then
call `rotate_key_on_demand`. Material can expire (``ValidTo``, at most 365 days ahead) or
be deleted; when any material other than the pending one is gone, the whole key is
``PendingImport`` and nothing encrypts or decrypts until that same material is imported
again (kms-facts.md 2.6).

A multi-Region key with imported material keeps one list of material ids, set by its
primary, but each Region imports the bytes itself (Developer Guide, "Importing key
material into multi-Region keys": KMS does not copy imported material to replicas). A
replica starts with every material of its primary ``PENDING_IMPORT``; new material goes
into the primary (``NEW_KEY_MATERIAL``), waits as ``PENDING_MULTI_REGION_IMPORT_AND_ROTATION``
until each replica has imported the same bytes (``EXISTING_KEY_MATERIAL``), then as
``PENDING_ROTATION``, and `rotate_key_on_demand` on the primary makes it current
everywhere. Expiry and deletion are each Region's own: a replica's expiry locks only that
replica (except that deleting material still pending rotation on the primary deletes it
from every replica too, as the API Reference for DeleteImportedKeyMaterial says).

Import tokens live in the simulator only: a saved scenario does not keep them (ask for
new parameters after loading), as the wrapping key's private half is not worth saving.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, keywrap
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kmssim.core import params
from kmssim.core.calls import operation
from kmssim.core.clock import as_utc
from kmssim.core.errors import (
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from kmssim.core.keys import ImportInfo, Key, KeyMaterial
from kmssim.core.ops.signing import public_der
from kmssim.core.state import Service

__all__ = ["ImportOps", "WRAPPING_ALGORITHMS", "material_id_for"]

WRAPPING_ALGORITHMS = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1",
                       "RSA_AES_KEY_WRAP_SHA_256")
_WRAPPING_KEY_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")
_TOKEN_LIFETIME = timedelta(hours=24)
_MAX_VALID_TO = timedelta(days=365)
_EXPIRATION_MODELS = ("KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE")
_IMPORT_TYPES = ("NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL")


def material_id_for(key_id: str, secret: bytes) -> str:
    """The KeyMaterialId of imported material: derived from the key id and the bytes, so
    the same bytes imported into the same key (or a replica of it) get the same id."""
    return hashlib.sha256(b"kmssim-imported-key-material\x00" + key_id.encode() + b"\x00"
                          + secret).hexdigest()


@dataclass(frozen=True, slots=True)
class _ImportParameters:
    key_id: str
    algorithm: str
    private: Any = None
    valid_to: datetime | None = None


class ImportOps(Service):
    """GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial."""

    _import_tokens: dict[bytes, _ImportParameters]

    def _external(self, key: Key) -> Key:
        if not key.external:
            # Recorded AWS text (get_parameters_for_import_aws_kms_origin).
            raise UnsupportedOperationException(
                f"{key.arn} origin is {key.origin} which is not valid for this operation.",
                hint="Only keys created with Origin='EXTERNAL' take imported key material.")
        return self._not_pending_deletion(key)

    @operation("GetParametersForImport", required=("KeyId", "WrappingAlgorithm",
                                                   "WrappingKeySpec"))
    def get_parameters_for_import(self, KeyId: str, WrappingAlgorithm: str,
                                  WrappingKeySpec: str) -> dict[str, Any]:
        """An RSA public key to wrap your key material with, and an import token.

        Both are valid for 24 (simulated) hours. ``WrappingAlgorithm``:
        ``RSAES_OAEP_SHA_1``, ``RSAES_OAEP_SHA_256``, ``RSA_AES_KEY_WRAP_SHA_1`` or
        ``RSA_AES_KEY_WRAP_SHA_256``; ``WrappingKeySpec``: ``RSA_2048``/``3072``/``4096``.
        Returns ``KeyId`` (ARN), ``ImportToken``, ``PublicKey`` (DER) and
        ``ParametersValidTo``.
        """
        if WrappingAlgorithm == "RSAES_PKCS1_V1_5":
            raise ValidationException(
                "RSAES_PKCS1_V1_5 is not supported as a wrapping algorithm.",
                hint="AWS stopped accepting RSAES_PKCS1_V1_5 for imports in October 2023; "
                     "use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.")
        if WrappingAlgorithm == "SM2PKE" or WrappingKeySpec == "SM2":
            raise UnsupportedOperationException(
                "SM2 wrapping is available only in AWS China Regions.",
                hint="kmssim simulates the RSA wrapping keys of the other Regions.")
        algorithm = params.choice("WrappingAlgorithm", WrappingAlgorithm,
                                  WRAPPING_ALGORITHMS + ("RSAES_PKCS1_V1_5", "SM2PKE"))
        spec = params.choice("WrappingKeySpec", WrappingKeySpec, _WRAPPING_KEY_SPECS + ("SM2",))
        key = self._external(self._key(KeyId, aliases=False))
        if not key.symmetric:
            raise UnsupportedOperationException(
                f"{key.arn} is a {key.key_spec} key.",
                hint="kmssim imports material into symmetric encryption keys only.")
        self._touch(key)
        private = rsa.generate_private_key(public_exponent=65537, key_size=int(spec[4:]))
        token = self.entropy.bytes(32)
        valid_to = self.now + _TOKEN_LIFETIME
        self._import_tokens[token] = _ImportParameters(key.key_id, algorithm, private, valid_to)
        return {"KeyId": key.arn, "ImportToken": token, "PublicKey": public_der(private),
                "ParametersValidTo": valid_to}

    def _unwrap(self, parameters: _ImportParameters, wrapped: bytes) -> bytes:
        digest: hashes.HashAlgorithm = (hashes.SHA1() if parameters.algorithm.endswith("SHA_1")
                                        else hashes.SHA256())
        oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
        private = parameters.private
        try:
            if parameters.algorithm.startswith("RSAES_OAEP"):
                return bytes(private.decrypt(wrapped, oaep))
            size = private.key_size // 8
            aes_key = private.decrypt(wrapped[:size], oaep)
            return keywrap.aes_key_unwrap_with_padding(aes_key, wrapped[size:])
        except (ValueError, keywrap.InvalidUnwrap):
            raise InvalidCiphertextException(
                "", hint=f"The EncryptedKeyMaterial is not key material wrapped with this "
                         f"import's public key and {parameters.algorithm}. Wrap it with the "
                         "PublicKey from the same GetParametersForImport response as the "
                         "ImportToken (see kmssim.envelope.wrap_key_material).") from None

    @operation("ImportKeyMaterial", required=("KeyId", "ImportToken", "EncryptedKeyMaterial"))
    def import_key_material(self, KeyId: str, ImportToken: bytes, EncryptedKeyMaterial: bytes,
                            ValidTo: datetime | None = None,
                            ExpirationModel: str | None = None, ImportType: str | None = None,
                            KeyMaterialDescription: str | None = None,
                            KeyMaterialId: str | None = None) -> dict[str, Any]:
        """Import key material wrapped with `get_parameters_for_import`'s public key.

        ``ImportType``: ``NEW_KEY_MATERIAL`` (the default for a key that never had
        material; later, new material waits as PENDING_ROTATION until
        `rotate_key_on_demand`) or ``EXISTING_KEY_MATERIAL`` (the default after that: the
        same bytes again, after an expiry or a deletion, or with a new ``ValidTo``).
        ``ExpirationModel`` is ``KEY_MATERIAL_EXPIRES`` (the default; then ``ValidTo``,
        at most 365 days ahead, is required) or ``KEY_MATERIAL_DOES_NOT_EXPIRE``.
        Returns ``KeyId`` (ARN) and ``KeyMaterialId``.
        """
        token = params.blob("ImportToken", ImportToken, high=6144)
        wrapped = params.blob("EncryptedKeyMaterial", EncryptedKeyMaterial, high=6144)
        model = params.choice("ExpirationModel", ExpirationModel or "KEY_MATERIAL_EXPIRES",
                              _EXPIRATION_MODELS)
        description = None if KeyMaterialDescription is None else params.text(
            "KeyMaterialDescription", KeyMaterialDescription, high=256)
        key = self._external(self._key(KeyId, aliases=False))
        replica = key.is_replica_in(self.region)
        # A replica only ever takes its primary's material, so its default is
        # EXISTING_KEY_MATERIAL even before its first import (API Reference,
        # ImportKeyMaterialRequest.ImportType: "The import type for the replica Region key
        # should be EXISTING_KEY_MATERIAL").
        import_type = params.choice(
            "ImportType", ImportType or ("EXISTING_KEY_MATERIAL" if key.imports or replica
                                         else "NEW_KEY_MATERIAL"), _IMPORT_TYPES)
        if replica and import_type == "NEW_KEY_MATERIAL":
            # AWS's words for this refusal are not recorded: the code is a guess and the
            # message is left empty (README, "Where kmssim and AWS differ").
            raise UnsupportedOperationException(
                "", hint=f"{key.arn} is a multi-Region replica key: new key material goes "
                         f"into the primary key in {key.primary_region} (ImportType "
                         "NEW_KEY_MATERIAL); then import the same bytes here with ImportType "
                         "EXISTING_KEY_MATERIAL (API Reference, ImportKeyMaterial).")
        valid_to = self._valid_to(model, ValidTo)
        parameters = self._import_tokens.get(token)
        if parameters is None or parameters.key_id != key.key_id:
            raise InvalidImportTokenException(
                "", hint="Use the ImportToken from a GetParametersForImport call for this "
                         "same key (tokens are not kept in a saved scenario).")
        if parameters.valid_to is not None and parameters.valid_to <= self.now:
            raise ExpiredImportTokenException(
                "", hint="Import parameters are valid for 24 hours: call "
                         "GetParametersForImport again and re-wrap the material.")
        secret = self._unwrap(parameters, wrapped)
        if len(secret) != 32:
            raise IncorrectKeyMaterialException(
                "", hint=f"A symmetric key's material is 32 bytes (AES-256); this is "
                         f"{len(secret)}.")
        material_id = material_id_for(key.key_id, secret)
        if KeyMaterialId is not None and KeyMaterialId != material_id:
            raise IncorrectKeyMaterialException(
                "", hint=f"These bytes are material {material_id[:12]}…, not the "
                         f"KeyMaterialId {KeyMaterialId[:12]}… the request names.")
        self._touch(key, material_id)
        if import_type == "EXISTING_KEY_MATERIAL":
            self._reimport(key, material_id, secret)
        else:
            self._import_new(key, material_id, secret)
        key.imports[material_id] = ImportInfo(
            description if description is not None else
            (key.imports[material_id].description if material_id in key.imports else None),
            model, valid_to)
        if import_type == "NEW_KEY_MATERIAL":
            self._announce_to_replicas(key, material_id, model)
        if valid_to is not None:
            self.clock.schedule(valid_to, "expire", key.key_id)
        if key.state == "PendingImport" and all(
                key.imports[m.material_id].imported for m in key.materials):
            key.set_state("Enabled", self.now)
        return {"KeyId": key.arn, "KeyMaterialId": material_id}

    def _valid_to(self, model: str, valid_to: Any) -> datetime | None:
        if model == "KEY_MATERIAL_DOES_NOT_EXPIRE":
            if valid_to is not None:
                raise ValidationException(
                    "ValidTo cannot be set when ExpirationModel is "
                    "KEY_MATERIAL_DOES_NOT_EXPIRE.")
            return None
        if valid_to is None:
            # Recorded AWS text (import_key_material_expires_without_valid_to).
            raise ValidationException(
                "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
                hint="Pass ValidTo (at most 365 days ahead), or "
                     "ExpirationModel='KEY_MATERIAL_DOES_NOT_EXPIRE'.")
        if not isinstance(valid_to, datetime):
            raise ValidationException("ValidTo must be a datetime.")
        when = as_utc(valid_to)
        if when <= self.now or when > self.now + _MAX_VALID_TO:
            raise ValidationException(
                "ValidTo must be in the future and at most 365 days after the request.",
                hint=f"Simulated now is {self.now.isoformat()}.")
        return when

    def _reimport(self, key: Key, material_id: str, secret: bytes) -> None:
        known = key.material(material_id) or (
            key.pending if key.pending and key.pending.material_id == material_id else None)
        if known is None and key.is_replica_in(self.region):
            # The model's IncorrectKeyMaterialException: "it is not the same key material
            # that was previously imported"; AWS's message is not recorded.
            raise IncorrectKeyMaterialException(
                "", hint=f"{key.arn} is a multi-Region replica key: it takes only material "
                         f"its primary key in {key.primary_region} has (see ListKeyRotations "
                         "with IncludeKeyMaterial='ALL_KEY_MATERIAL' there). These bytes are "
                         "not any of them: import the same bytes as into the primary, or "
                         "import new material into the primary first.")
        if known is None:
            raise IncorrectKeyMaterialException(
                "", hint="EXISTING_KEY_MATERIAL must be bytes this key had before; to add "
                         "new material for a rotation, use ImportType NEW_KEY_MATERIAL.")
        key.replace_material(KeyMaterial(known.material_id, known.created, known.rotation_type,
                                         secret))

    def _import_new(self, key: Key, material_id: str, secret: bytes) -> None:
        if not key.materials:          # the first import: the key's original material
            key.materials = [KeyMaterial(material_id, self.now, None, secret)]
            return
        if key.pending is not None and not key.imports[key.pending.material_id].imported:
            # Material pending rotation that was deleted is "not permanently associated
            # with the KMS key. You can delete this key material and import different key
            # material in its place" (API Reference, RotationsListEntry.KeyMaterialState).
            del key.imports[key.pending.material_id]
            key.pending = None
        if key.pending is not None:
            # Recorded AWS text (import_key_material_second_pending).
            raise KMSInvalidStateException(
                f"New key material (id: {material_id}) cannot be imported into KMS key "
                f"{key.key_id}, because another key material (id: "
                f"{key.pending.material_id}) is pending rotation.",
                hint="Rotate the pending material in with RotateKeyOnDemand first, or "
                     "delete it with DeleteImportedKeyMaterial.")
        if key.material(material_id) is not None:
            raise IncorrectKeyMaterialException(
                "", hint="This key already has these bytes; import them with ImportType "
                         "EXISTING_KEY_MATERIAL, or import different bytes as new material.")
        key.pending = KeyMaterial(material_id, self.now, "ON_DEMAND", secret)

    def _announce_to_replicas(self, key: Key, material_id: str, model: str) -> None:
        """After new material went into a multi-Region primary: each replica learns its id
        and waits for the same bytes (``PENDING_IMPORT`` there)."""
        material = key.pending if key.pending is not None else key.current
        for _, other in self._related_in_regions(key):
            placeholder = KeyMaterial(material.material_id, material.created,
                                      material.rotation_type, b"")
            stale = other.pending
            if stale is not None and stale.material_id != material_id:
                other.imports.pop(stale.material_id, None)
            if material is key.pending:
                other.pending = placeholder
            elif not other.materials:
                other.materials = [placeholder]
            other.imports[material_id] = ImportInfo(None, model, None, imported=False)

    def _pending_state(self, key: Key) -> str:
        """PENDING_ROTATION once every related key has imported the pending material, else
        PENDING_MULTI_REGION_IMPORT_AND_ROTATION (API Reference, RotationsListEntry)."""
        assert key.pending is not None
        material_id = key.pending.material_id
        for other in [key, *self._related(key)]:
            info = other.imports.get(material_id)
            if other.pending is None or other.pending.material_id != material_id \
                    or info is None or not info.imported:
                return "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"
        return "PENDING_ROTATION"

    def _replicas_missing(self, key: Key, material_id: str) -> list[str]:
        return [kms.region for kms, other in self._related_in_regions(key)
                if material_id not in other.imports or not other.imports[material_id].imported]

    @operation("DeleteImportedKeyMaterial", required=("KeyId",))
    def delete_imported_key_material(self, KeyId: str,
                                     KeyMaterialId: str | None = None) -> dict[str, Any]:
        """Delete imported material now (default: the current one). Unless it was only
        pending rotation, the key becomes PendingImport until the same bytes are imported
        again. Returns ``KeyId`` (ARN) and ``KeyMaterialId``."""
        key = self._external(self._key(KeyId, aliases=False))
        if not key.materials:
            raise KMSInvalidStateException(f"{key.arn} is pending import.",
                                           hint="This key has no material to delete yet.")
        material_id = key.current.material_id if KeyMaterialId is None else KeyMaterialId
        if material_id not in key.imports:
            raise ValidationException(
                f"Key material {material_id} does not belong to {key.arn}.")
        self._touch(key, material_id)
        pending = key.pending is not None and key.pending.material_id == material_id
        if key.imports[material_id].imported:
            self._drop_imported(key, material_id)
        if pending and not key.is_replica_in(self.region):
            # Deleting material pending rotation in the primary deletes it from the
            # replicas too; deleting a replica's material changes only that replica
            # (API Reference, DeleteImportedKeyMaterial).
            for kms, other in self._related_in_regions(key):
                info = other.imports.get(material_id)
                if info is not None and info.imported:
                    kms._drop_imported(other, material_id)
        return {"KeyId": key.arn, "KeyMaterialId": material_id}

    def _rotate_imported(self, key: Key) -> None:
        """RotateKeyOnDemand on an EXTERNAL key: the pending material becomes current."""
        if key.state == "PendingImport":
            self._usable(key)
        if key.pending is None or not key.imports[key.pending.material_id].imported:
            # Recorded AWS text (rotate_on_demand_external_no_pending_material).
            raise KMSInvalidStateException(
                f"No available key material pending rotation for the key: {key.arn}.",
                hint="Import new material first (ImportKeyMaterial with ImportType "
                     "NEW_KEY_MATERIAL), then rotate.")
        if self._pending_state(key) != "PENDING_ROTATION":
            # No material is PENDING_ROTATION yet, so the recorded text above applies; the
            # hint says which replicas still need the bytes.
            missing = self._replicas_missing(key, key.pending.material_id)
            raise KMSInvalidStateException(
                f"No available key material pending rotation for the key: {key.arn}.",
                hint="The new material is PENDING_MULTI_REGION_IMPORT_AND_ROTATION: import "
                     "the same bytes (ImportType EXISTING_KEY_MATERIAL) into the replica "
                     f"key in {', '.join(missing)} first; then it is PENDING_ROTATION and "
                     "RotateKeyOnDemand rotates it in everywhere.")
        pending, key.pending = key.pending, None
        for _, other in self._related_in_regions(key):
            other.pending = None
        self._rotate(key, "ON_DEMAND", KeyMaterial(pending.material_id, self.now, "ON_DEMAND",
                                                   pending.secret))
        self._sync_replicas(key)
