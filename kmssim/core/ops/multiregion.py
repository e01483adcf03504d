"""Multi-Region keys: ReplicateKey and UpdatePrimaryRegion.

Part of `kmssim.KMS`. ``CreateKey(MultiRegion=True)`` makes a primary key with an
``mrk-`` id; `replicate_key` makes a replica with the same id and key material in
another Region of the same `kmssim.core.cloud.Cloud`, so a ciphertext made in one Region
decrypts in the other. Rotation is a property of the primary (S-MODEL EnableKeyRotation:
"set the property on the primary key"; S-ROT "Rotating multi-Region keys"): it is turned
on, off or triggered only there, and each rotation copies the new material to every
replica before it is used.
"""

from __future__ import annotations

from typing import Any

from kmssim.core import params
from kmssim.core.calls import operation
from kmssim.core.errors import (
    AlreadyExistsException,
    KMSInvalidStateException,
    UnsupportedOperationException,
    ValidationException,
)
from kmssim.core.keys import ImportInfo, Key, KeyMaterial
from kmssim.core.ops.policies import key_policy_document
from kmssim.core.state import Service

__all__ = ["MultiRegionOps"]


def _without_secret(material: KeyMaterial) -> KeyMaterial:
    return KeyMaterial(material.material_id, material.created, material.rotation_type, b"")


class MultiRegionOps(Service):
    """ReplicateKey, UpdatePrimaryRegion, and what the rest needs to know about replicas."""

    def _primary_only(self, key: Key, action: str) -> Key:
        """Refuse ``action`` on a replica: rotation belongs to the primary."""
        if key.is_replica_in(self.region):
            raise UnsupportedOperationException(
                f"{key.arn} is a multi-Region replica key; {action} only on its primary key "
                f"in {key.primary_region}.",
                hint="Rotation is shared by a set of related multi-Region keys and is set on "
                     "the primary key (AWS API Reference, EnableKeyRotation and "
                     "RotateKeyOnDemand; Developer Guide, 'Rotating multi-Region keys').")
        return key

    def _region_arn(self, region: str, key_id: str) -> str:
        return f"arn:aws:kms:{region}:{self.account_id}:key/{key_id}"

    def _multi_region_configuration(self, key: Key) -> dict[str, Any]:
        primary = key.primary_region or self.region
        return {"MultiRegionKeyType": "REPLICA" if key.is_replica_in(self.region) else "PRIMARY",
                "PrimaryKey": {"Arn": self._region_arn(primary, key.key_id), "Region": primary},
                "ReplicaKeys": [{"Arn": self._region_arn(r, key.key_id), "Region": r}
                                for r in key.replica_regions]}

    @operation("ReplicateKey", required=("KeyId", "ReplicaRegion"))
    def replicate_key(self, KeyId: str, ReplicaRegion: str, Policy: str | None = None,
                      BypassPolicyLockoutSafetyCheck: bool | None = None,
                      Description: str | None = None,
                      Tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """Make a replica of a multi-Region primary key in ``ReplicaRegion`` (same key id,
        same key material), which must be another Region of this simulator's `Cloud`.

        Returns ``ReplicaKeyMetadata`` (its state shows ``Creating``, as AWS's answer
        does; in kmssim the replica is usable at once), ``ReplicaPolicy`` and
        ``ReplicaTags``. A replica of an EXTERNAL key starts without material, in
        PendingImport: import the primary's material into it.
        """
        region = params.text("ReplicaRegion", ReplicaRegion, low=1, high=32)
        description = params.text("Description", Description or "", high=8192)
        tags = self._tags(Tags or [])
        key = self._not_pending_deletion(self._key(KeyId, aliases=False))
        if not key.multi_region or key.is_replica_in(self.region):
            # Recorded AWS text (replicate_replica_key).
            raise UnsupportedOperationException(
                f"{key.arn} is not a multi-region primary key.",
                hint="Only the primary key of a multi-Region key (CreateKey with "
                     "MultiRegion=True) can be replicated.")
        if self._cloud is None:
            raise UnsupportedOperationException(
                "", hint="This simulator is one Region on its own. Make Regions with "
                         "kmssim.Cloud (cloud.region('us-east-1'), cloud.region('eu-west-1')) "
                         "or use kmssim.bridge.mock_kms, then replicate.")
        if region == self.region or region in key.replica_regions:
            raise AlreadyExistsException(
                f"{key.arn} already has a key in {region}.",
                hint="A multi-Region key has at most one related key per Region.")
        target = self._cloud.region(region)
        if key.key_id in target._keys:
            raise AlreadyExistsException(f"Key {key.key_id} already exists in {region}.")
        # The replica's own key policy is checked as CreateKey checks one, before anything
        # is made; without one, the replica takes the primary's policy.
        document = (None if Policy is None else
                    key_policy_document(self, Policy, target._arn("key/" + key.key_id),
                                        BypassPolicyLockoutSafetyCheck))
        self._touch(key)
        # A replica of an EXTERNAL key knows its primary's material ids but has none of the
        # bytes: KMS does not copy imported material (Developer Guide, "Importing key
        # material into multi-Region keys"); each one is PENDING_IMPORT until imported here.
        replica = Key(key.key_id, target._arn("key/" + key.key_id), target.now, key.key_spec,
                      key.key_usage, description, key.manager,
                      [_without_secret(m) for m in key.materials] if key.external
                      else key.materials,
                      policy=key.policy if document is None else document.text,
                      ordinal=len(target._keys) + len(target._deleted), origin=key.origin,
                      multi_region=True, primary_region=self.region)
        if key.external:
            replica.pending = None if key.pending is None else _without_secret(key.pending)
            replica.imports = {mid: ImportInfo(None, info.expiration_model, None, imported=False)
                               for mid, info in key.imports.items()}
        replica.tags.update(tags)
        replica.set_state("PendingImport" if key.external else "Enabled", target.now)
        target._keys[key.key_id] = replica
        key.replica_regions.append(region)
        for related in [key, *self._related(key)]:
            related.replica_regions = list(key.replica_regions)
        self._sync_replicas(key)
        meta = target._metadata(replica)
        meta.update({"KeyState": "Creating", "Enabled": False})
        return {"ReplicaKeyMetadata": meta, "ReplicaPolicy": replica.policy,
                "ReplicaTags": [{"TagKey": k, "TagValue": v} for k, v in replica.tags.items()]}

    @operation("UpdatePrimaryRegion", required=("KeyId", "PrimaryRegion"))
    def update_primary_region(self, KeyId: str, PrimaryRegion: str) -> dict[str, Any]:
        """Make the replica in ``PrimaryRegion`` the primary key (call it on the current
        primary); the old primary becomes a replica. The rotation schedule moves with
        it. Returns ``{}``."""
        region = params.text("PrimaryRegion", PrimaryRegion, low=1, high=32)
        key = self._not_pending_deletion(self._key(KeyId, aliases=False))
        if not key.multi_region:
            raise UnsupportedOperationException(
                f"{key.arn} is not a multi-region key.",
                hint="Only multi-Region keys have a primary Region.")
        if key.is_replica_in(self.region):
            raise UnsupportedOperationException(
                f"{key.arn} is not a multi-region primary key.",
                hint=f"Call UpdatePrimaryRegion in the primary's Region, {key.primary_region}.")
        if region not in key.replica_regions:
            raise ValidationException(
                f"{key.key_id} has no replica key in {region}.",
                hint="The new primary Region must already have a replica (ReplicateKey).")
        assert self._cloud is not None
        new_primary_kms = self._cloud.region(region)
        new_primary = new_primary_kms._keys[key.key_id]
        if new_primary.state in ("PendingDeletion", "PendingReplicaDeletion"):
            raise KMSInvalidStateException(f"{new_primary.arn} is pending deletion.")
        self._touch(key)
        replicas = [r for r in key.replica_regions if r != region] + [self.region]
        for related in [key, *self._related(key)]:
            related.primary_region = region
            related.replica_regions = list(replicas)
        if new_primary.rotation_enabled and new_primary.next_rotation is not None:
            new_primary_kms.clock.schedule(max(new_primary.next_rotation, self.now), "rotate",
                                           key.key_id)
        return {}
