"""Rotation operations: automatic schedules, on-demand rotation, rotation history.

Part of `kmssim.KMS`. Only symmetric encryption keys rotate (asymmetric and HMAC keys
answer UnsupportedOperationException, as in AWS); rotation adds key material and
never changes the key id, the ARN or the aliases. These operations take a key id or
key ARN, not an alias, as AWS's do.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kmssim.core import params
from kmssim.core.calls import operation
from kmssim.core.errors import (
    ConflictException,
    DisabledException,
    LimitExceededException,
    UnsupportedOperationException,
    ValidationException,
)
from kmssim.core.keys import ON_DEMAND_LIMIT, Key
from kmssim.core.paging import page
from kmssim.core.state import Service

__all__ = ["RotationOps"]

_CONFLICT_WINDOW = timedelta(minutes=20)


class RotationOps(Service):
    """EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
    ListKeyRotations."""

    def _primary_only(self, key: Key, action: str) -> Key:
        raise NotImplementedError  # pragma: no cover - MultiRegionOps defines it

    def _rotatable(self, key_ref: Any, *, managed_ok: bool = False,
                   enabled: bool = True, on_demand: bool = False,
                   external_ok: bool = False) -> Key:
        # AWS checks that the key exists, then its state, then its type: a disabled RSA
        # key asked to rotate on demand is a DisabledException.
        key = self._key(key_ref, aliases=False)
        if enabled:
            self._not_pending_deletion(key)
            if key.state == "Disabled":
                raise DisabledException(f"{key.arn} is disabled.")
        if not key.rotatable:
            why = (f"{key.arn} is a {key.key_spec} key. Only symmetric encryption keys support "
                   "automatic or on-demand rotation; rotate other keys manually with a new key "
                   "and UpdateAlias.")
            # AWS's RotateKeyOnDemand says nothing more than the code; for the other
            # rotation operations no recording shows AWS's words, so kmssim's stay.
            raise UnsupportedOperationException("" if on_demand else why,
                                                hint=why if on_demand else None)
        if key.external and not external_ok:
            # AWS's wording for an operation a key's origin does not allow (recordings
            # get_parameters_for_import_aws_kms_origin, rotate_on_demand_external_origin_2025_03).
            raise UnsupportedOperationException(
                f"{key.arn} origin is EXTERNAL which is not valid for this operation.",
                hint="Keys with imported key material never rotate automatically; rotate "
                     "them on demand after importing new material (NEW_KEY_MATERIAL).")
        if key.manager == "AWS" and not managed_ok:
            raise UnsupportedOperationException(
                f"{key.arn} is an AWS managed key: AWS rotates it every year and you cannot "
                "change or trigger that.")
        return key

    @operation("EnableKeyRotation", required=("KeyId",))
    def enable_key_rotation(self, KeyId: str,
                            RotationPeriodInDays: int | None = None) -> dict[str, Any]:
        """Turn on automatic rotation every ``RotationPeriodInDays`` (90–2560, default 365).

        The first rotation comes one period after this call, not after the key was
        created. Calling it again on a rotating key changes the period: the new period
        counts from the last automatic rotation (or from when rotation was turned on);
        if that date has already passed, the key rotates at the next clock advance.
        Returns ``{}``. Raises ValidationException (period out of range),
        DisabledException, KMSInvalidStateException, UnsupportedOperationException.
        """
        period = 365 if RotationPeriodInDays is None else params.integer(
            "RotationPeriodInDays", RotationPeriodInDays, 90, 2560)
        key = self._primary_only(self._rotatable(KeyId), "enable automatic rotation")
        self._touch(key)
        if key.rotation_enabled and key.rotation_anchor is not None:
            due = max(key.rotation_anchor + timedelta(days=period), self.now)
            key.rotation_period_days = period
            key.next_rotation = due
        else:
            due = key.start_schedule(period, self.now)
        self.clock.schedule(due, "rotate", key.key_id)
        self._sync_replicas(key)
        return {}

    @operation("DisableKeyRotation", required=("KeyId",))
    def disable_key_rotation(self, KeyId: str) -> dict[str, Any]:
        """Turn off automatic rotation. The key keeps encrypting with its current
        material and keeps every earlier material for decryption; turning rotation on
        again starts a fresh schedule. On-demand rotation still works. Returns ``{}``.
        """
        key = self._primary_only(self._rotatable(KeyId), "disable automatic rotation")
        self._touch(key)
        key.stop_schedule()
        self._sync_replicas(key)
        return {}

    @operation("GetKeyRotationStatus", required=("KeyId",))
    def get_key_rotation_status(self, KeyId: str) -> dict[str, Any]:
        """Whether automatic rotation is on, and if so its period and next date.

        Returns ``KeyRotationEnabled``, ``KeyId`` and, when enabled,
        ``RotationPeriodInDays`` and ``NextRotationDate``. A key pending deletion
        reports ``False``. AWS managed keys always report ``True``.
        """
        key = self._rotatable(KeyId, managed_ok=True, enabled=False)
        self._touch(key)
        enabled = key.rotation_enabled and key.state not in ("PendingDeletion",
                                                             "PendingReplicaDeletion")
        response: dict[str, Any] = {"KeyRotationEnabled": enabled, "KeyId": key.arn}
        if enabled:
            response["RotationPeriodInDays"] = key.rotation_period_days
            response["NextRotationDate"] = key.next_rotation
        return response

    @operation("RotateKeyOnDemand", required=("KeyId",))
    def rotate_key_on_demand(self, KeyId: str) -> dict[str, Any]:
        """Rotate the key's material now. Returns ``{"KeyId": <key ARN>}``.

        The automatic schedule, if any, is untouched. AWS allows 25 on-demand
        rotations per key: the 26th raises LimitExceededException. Raises
        ConflictException when an automatic rotation is due within 20 minutes.
        (AWS completes the rotation asynchronously; kmssim completes it at once.)
        """
        key = self._primary_only(self._rotatable(KeyId, on_demand=True, external_ok=True),
                                 "rotate on demand")
        if key.on_demand_rotations >= ON_DEMAND_LIMIT:
            raise LimitExceededException(
                "The on-demand rotations limit has been reached for the given keyId. No more "
                f"on-demand rotations can be performed for this key: {key.arn}",
                hint=f"AWS allows {ON_DEMAND_LIMIT} on-demand rotations per key over its "
                     "lifetime. Automatic rotation still works.")
        if key.rotation_enabled and key.next_rotation is not None \
                and key.next_rotation - self.now <= _CONFLICT_WINDOW:
            raise ConflictException(
                f"An automatic rotation of {key.arn} is due at "
                f"{key.next_rotation.isoformat()}, within 20 minutes. Try again later.")
        if key.external:
            self._rotate_imported(key)
            self._touch(key)
            return {"KeyId": key.arn}
        self._touch(key)
        self._rotate(key, "ON_DEMAND")
        self._sync_replicas(key)
        return {"KeyId": key.arn}

    def _rotate_imported(self, key: Key) -> None:  # pragma: no cover - ImportOps defines it
        raise NotImplementedError

    def _pending_state(self, key: Key) -> str:  # pragma: no cover - ImportOps defines it
        raise NotImplementedError

    @operation("ListKeyRotations", required=("KeyId",))
    def list_key_rotations(self, KeyId: str, IncludeKeyMaterial: str | None = None,
                           Limit: int | None = None, Marker: str | None = None) -> dict[str, Any]:
        """List the key's rotations, oldest first (``Rotations``, ``Truncated``).

        Each entry has ``KeyId``, ``KeyMaterialId``, ``KeyMaterialState`` (``CURRENT``
        encrypts and decrypts, ``NON_CURRENT`` only decrypts), ``RotationDate`` and
        ``RotationType`` (``AUTOMATIC`` or ``ON_DEMAND``).
        ``IncludeKeyMaterial="ALL_KEY_MATERIAL"`` also lists the original material,
        which has no rotation date or type.
        """
        include = params.choice("IncludeKeyMaterial", IncludeKeyMaterial or "ROTATIONS_ONLY",
                                ("ROTATIONS_ONLY", "ALL_KEY_MATERIAL"))
        key = self._key(KeyId, aliases=False)
        if include == "ALL_KEY_MATERIAL" and not key.rotatable:
            # Recorded AWS text (list_key_rotations_include_material_asymmetric).
            raise ValidationException(
                "Input parameter includeKeyMaterial can only be used with symmetric keys.")
        key = self._rotatable(KeyId, managed_ok=True, enabled=False, external_ok=True)
        materials = list(key.materials if include == "ALL_KEY_MATERIAL" else key.materials[1:])
        if include == "ALL_KEY_MATERIAL" and key.pending is not None:
            materials.append(key.pending)
        chunk, fields = page(materials, Limit, Marker)
        self._touch(key)
        current = key.current if key.materials else None
        rows = []
        for material in chunk:
            pending = material is key.pending
            row: dict[str, Any] = {"KeyId": key.key_id, "KeyMaterialId": material.material_id}
            info = key.imports.get(material.material_id)
            if info is not None:
                if info.description is not None:
                    row["KeyMaterialDescription"] = info.description
                row["ImportState"] = "IMPORTED" if info.imported else "PENDING_IMPORT"
            row["KeyMaterialState"] = (self._pending_state(key) if pending else
                                       "CURRENT" if material is current else "NON_CURRENT")
            if info is not None:
                row["ExpirationModel"] = info.expiration_model
                if info.valid_to is not None:
                    row["ValidTo"] = info.valid_to
            if material.rotation_type is not None and not pending:
                row["RotationDate"] = material.created
                row["RotationType"] = material.rotation_type
            rows.append(row)
        return {"Rotations": rows, **fields}
