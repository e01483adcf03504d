"""`KMS`: the simulated AWS Key Management Service of one account and Region.

Its boto3-shaped operations come from its parts in `kmssim.core.ops` (keys, rotation,
crypto, signing, imported material, multi-Region keys, key policies, grants); this
module adds what only a simulator
has: looking inside a ciphertext, a key's version history, and saving a scenario.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kmssim.core import blob, persist
from kmssim.core._gc import collector_paused
from kmssim.core.errors import InvalidCiphertextException, NotFoundException
from kmssim.core.keys import Key, StateChange, fingerprint
from kmssim.core.ops.crypto import CryptoOps
from kmssim.core.ops.grants import GrantOps
from kmssim.core.ops.importing import ImportOps
from kmssim.core.ops.keys import KeyOps
from kmssim.core.ops.multiregion import MultiRegionOps
from kmssim.core.ops.policies import PolicyOps
from kmssim.core.ops.rotation import RotationOps
from kmssim.core.ops.signing import SigningOps

__all__ = ["KMS", "CiphertextInfo", "Version", "KeyHistory"]


@dataclass(frozen=True, slots=True)
class CiphertextInfo:
    """What a ciphertext blob's header says: which key and which key material."""

    key_id: str
    key_arn: str
    key_material_id: str
    version: int | None          # 1 = the key's original material; None if the key is gone
    material_created: datetime | None
    key_state: str               # "Enabled", "Disabled", "PendingDeletion" or "Deleted"
    is_current: bool

    def __str__(self) -> str:
        version = f"version {self.version}" if self.version else "unknown version"
        when = self.material_created.date().isoformat() if self.material_created else "?"
        current = "current" if self.is_current else "not current"
        return (f"key {self.key_id}, {version} (material {self.key_material_id[:8]}…, "
                f"created {when}, {current}), key is {self.key_state}")


@dataclass(frozen=True, slots=True)
class Version:
    """One key-material version of a key, as a timeline shows it."""

    number: int
    material_id: str
    created: datetime
    retired: datetime | None     # when a newer version became current; None while current
    rotation_type: str | None    # None for the original material
    fingerprint: str


@dataclass(frozen=True, slots=True)
class KeyHistory:
    """Everything about a key's life that can be shown without its secrets."""

    key_id: str
    arn: str
    key_spec: str
    manager: str
    created: datetime
    state: str
    versions: tuple[Version, ...]
    states: tuple[StateChange, ...]
    rotation_period_days: int | None
    next_rotation: datetime | None
    aliases: tuple[str, ...]


class KMS(MultiRegionOps, ImportOps, SigningOps, CryptoOps, RotationOps, KeyOps, PolicyOps,
          GrantOps):
    """A simulated AWS KMS with its own clock, shaped like ``boto3.client("kms")``.

    ``KMS(seed=7)`` makes the same key ids, key material, data keys and nonces on
    every run; without a seed it uses the OS's randomness. ``start`` sets the
    simulated date (default 2024-01-01 UTC). Move time with `advance` or
    `advance_to`: automatic rotations and scheduled deletions happen on their dates.

    Every parameter AWS's KMS model defines for these operations is accepted and
    recorded in the audit trail. Some change nothing, because kmssim does not model
    what they are for: ``DryRunModifiers``. Every call is authorized as AWS authorizes
    it, from the key policy, the caller's identity policies (``kms.iam``) and grants;
    a simulator built without policies lets every principal of its account do
    everything the default key policy allows (see `kmssim.core.iam`). Others are
    refused with an AWS-named error when set, since kmssim cannot honour them:
    ``Origin`` ``AWS_CLOUDHSM`` or ``EXTERNAL_KEY_STORE``,
    ``CustomKeyStoreId``, ``XksKeyId`` and ``Recipient`` (Nitro Enclaves).
    ``MultiRegion=True`` keys work in one Region alone; to replicate them, hold several
    Regions on one clock with `kmssim.Cloud`.

    Parameters are checked as with a boto3 client against AWS (`kmssim.core.params`):
    what botocore refuses before sending (a missing or unknown member, a wrong type, a
    value under its minimum) raises `kmssim.errors.ParamValidationError` with botocore's
    text, leaves no audit event and changes nothing; what only the service checks
    (maximums, patterns, enums, blob lengths) raises ValidationException in AWS's words.
    A string holding a lone surrogate (``"\\ud800"``) is not Unicode text and botocore
    cannot encode it: it is refused as a ParamValidationError too, before anything changes.

    >>> kms = KMS(seed=1)
    >>> key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    >>> kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    {}
    >>> [e.name for e in kms.advance(days=180)]
    ['RotateKey', 'RotateKey']
    """

    def __repr__(self) -> str:
        return (f"<KMS {self.region} {self.account_id} at {self.now.isoformat()}: "
                f"{len(self._keys)} keys, {len(self._aliases)} aliases, "
                f"{len(self.trail)} audit events>")

    # -- looking inside -------------------------------------------------------
    def inspect_ciphertext(self, ciphertext: bytes) -> CiphertextInfo:
        """Read a symmetric ciphertext's header: key, key material, version, dates.

        Needs no permission and decrypts nothing (the header is in the clear, only
        authenticated). Raises InvalidCiphertextException for anything not a blob of
        this simulator.
        """
        with self._lock:
            parsed = blob.parse(ciphertext)
            key = self._blob_key(parsed.key_id)
            if key is None:
                raise InvalidCiphertextException(
                    "The ciphertext names a key this simulator never had.")
            material = key.material(parsed.material_id)
            if material is None:
                raise InvalidCiphertextException(
                    "The ciphertext names key material its key never had.")
            return CiphertextInfo(key.key_id, key.arn, material.material_id,
                                  key.version_of(material.material_id), material.created,
                                  key.state, material is key.current)

    def history(self, KeyId: str) -> KeyHistory:
        """A key's versions, state changes and schedule, for timelines and lessons.

        Accepts a key id, ARN or alias; deleted keys are found by id or ARN too.
        """
        with self._lock:
            key = self._find_any(KeyId)
            versions = []
            for number, material in enumerate(key.materials, start=1):
                after = key.materials[number] if number < len(key.materials) else None
                versions.append(Version(number, material.material_id, material.created,
                                        after.created if after else None,
                                        material.rotation_type,
                                        fingerprint(material.secret) if material.secret
                                        else "destroyed"))
            return KeyHistory(key.key_id, key.arn, key.key_spec, key.manager, key.created,
                              key.state, tuple(versions), tuple(key.history),
                              key.rotation_period_days if key.rotation_enabled else None,
                              key.next_rotation if key.rotation_enabled else None,
                              tuple(self._aliases_of(key.key_id)))

    def _find_any(self, key_ref: Any) -> Key:
        try:
            return self._key(key_ref)
        except NotFoundException:
            key_id = key_ref.rsplit("/", 1)[-1] if isinstance(key_ref, str) else None
            if key_id in self._deleted:
                return self._deleted[key_id]
            raise

    def key_ids(self, *, include_deleted: bool = False) -> list[str]:
        """Ids of the keys, in creation order (optionally with deleted ones)."""
        with self._lock:
            keys = list(self._keys.values())
            if include_deleted:
                keys += self._deleted.values()
            return [k.key_id for k in sorted(keys, key=lambda k: k.ordinal)]

    # -- saving and loading ---------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the whole scenario to ``path`` as versioned JSON, atomically.

        The file holds every key's material in base64 (like a backup would): it is
        written with mode 0600 and must be treated as a secret. Raises
        ScenarioFileError (code ValidationException) if it cannot be written.
        """
        with self._lock, collector_paused():   # builds a large object graph; no cycles
            persist.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KMS:
        """Read a scenario written by `save`; it continues exactly where it stopped.

        Raises CorruptScenarioError (code ValidationException), naming what is wrong, if
        the file is not a kmssim scenario, is damaged, or was edited after it was saved:
        every member is checked against a strict schema, each key material against its
        check value, and the whole content against the file's SHA-256 digest (an
        integrity check against accidental edits, not a signature).
        """
        with collector_paused():   # json builds 100,000s of objects, no cycles: see _gc
            return persist.load(cls, path)
