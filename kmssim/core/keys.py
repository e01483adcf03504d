"""A KMS key and its key materials (the versions that rotation adds).

A `Key` holds an ordered list of `KeyMaterial`; the last one is current and
encrypts, every one decrypts what it encrypted. Rotation appends a material and
changes nothing else: not the key id, not the ARN, not the aliases. The service
(`kmssim.core.kms.KMS`) is the only thing that changes a key, and only through these
methods, after it has checked that the change is allowed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["KeyMaterial", "Key", "SYMMETRIC", "SecretBytes", "fingerprint", "StateChange",
           "ImportInfo"]

SYMMETRIC = "SYMMETRIC_DEFAULT"
#: How many on-demand rotations AWS allows per key (not adjustable).
ON_DEMAND_LIMIT = 25


def fingerprint(secret: bytes) -> str:
    """A short, one-way stand-in for secret bytes, safe to print."""
    return "fp:" + hashlib.sha256(b"kmssim-fingerprint" + secret).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """One version of a key's material.

    ``rotation_type`` is None for the material the key was created with, else
    ``"AUTOMATIC"`` or ``"ON_DEMAND"``. ``secret`` never appears in a repr.
    """

    material_id: str
    created: datetime
    rotation_type: str | None
    secret: bytes = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return (f"KeyMaterial(material_id={self.material_id[:12]}…, created="
                f"{self.created.isoformat()}, rotation_type={self.rotation_type!r}, "
                f"secret={fingerprint(self.secret)})")


@dataclass(slots=True)
class ImportInfo:
    """What ImportKeyMaterial said about one imported material (Origin EXTERNAL only).

    ``imported`` is False once the material expired or was deleted: its id stays, its
    secret is gone (``KeyMaterial.secret == b""``) until the same bytes are imported again.
    """

    description: str | None
    expiration_model: str              # KEY_MATERIAL_EXPIRES or KEY_MATERIAL_DOES_NOT_EXPIRE
    valid_to: datetime | None
    imported: bool = True


@dataclass(frozen=True, slots=True)
class StateChange:
    """The key entered ``state`` at ``at``."""

    at: datetime
    state: str


@dataclass(slots=True, eq=False)
class Key:
    """A KMS key: metadata, state, rotation schedule and its materials."""

    key_id: str
    arn: str
    created: datetime
    key_spec: str
    key_usage: str
    description: str
    manager: str                      # "CUSTOMER" or "AWS"
    # A list, appended to in place: adding a material is O(1) however many a key has
    # (a tuple copied on each rotation made a long run of rotations quadratic).
    materials: list[KeyMaterial]
    state: str = "Enabled"
    rotation_enabled: bool = False
    rotation_period_days: int | None = None
    rotation_anchor: datetime | None = None   # when the current schedule started
    next_rotation: datetime | None = None
    on_demand_rotations: int = 0
    deletion_date: datetime | None = None
    pending_window_days: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    policy: str | None = None
    ordinal: int = 0                  # creation order within the simulator
    history: list[StateChange] = field(default_factory=list)
    origin: str = "AWS_KMS"           # or "EXTERNAL": material the customer imports
    # EXTERNAL keys only: per material id, what its import said; and the material imported
    # with ImportType NEW_KEY_MATERIAL that waits for RotateKeyOnDemand (PENDING_ROTATION).
    imports: dict[str, ImportInfo] = field(default_factory=dict)
    pending: KeyMaterial | None = None
    # Multi-Region keys (id "mrk-…"): every related key (one per Region, same id and
    # material) records the primary's Region and the replicas' Regions.
    multi_region: bool = False
    primary_region: str | None = None
    replica_regions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.materials = list(self.materials)

    def __repr__(self) -> str:
        return (f"Key({self.key_id}, {self.key_spec}, {self.state}, "
                f"versions={len(self.materials)}, rotation="
                f"{self.rotation_period_days if self.rotation_enabled else 'off'})")

    # -- what the key is ---------------------------------------------------
    @property
    def symmetric(self) -> bool:
        return self.key_spec == SYMMETRIC

    @property
    def rotatable(self) -> bool:
        """Whether KMS can rotate this key's material itself (symmetric encryption only)."""
        return self.symmetric

    @property
    def external(self) -> bool:
        return self.origin == "EXTERNAL"

    def is_replica_in(self, region: str) -> bool:
        """Whether this is a multi-Region replica key (its copy in ``region``)."""
        return self.multi_region and self.primary_region != region

    @property
    def current(self) -> KeyMaterial:
        """The material that encrypts now (an EXTERNAL key has none before its first import)."""
        return self.materials[-1]

    def replace_material(self, material: KeyMaterial) -> None:
        """Put ``material`` in place of the material with the same id (to drop or restore
        an imported material's secret)."""
        if self.pending is not None and self.pending.material_id == material.material_id:
            self.pending = material
            return
        self.materials = [material if m.material_id == material.material_id else m
                          for m in self.materials]

    def material(self, material_id: str) -> KeyMaterial | None:
        """The material with this id, or None. Newest first: recent data is commonest.
        (Material still pending rotation is not one the key uses: see ``pending``.)"""
        for material in reversed(self.materials):
            if material.material_id == material_id:
                return material
        return None

    def version_of(self, material_id: str) -> int:
        """1-based version number of a material (1 is the original)."""
        for number, material in enumerate(self.materials, start=1):
            if material.material_id == material_id:
                return number
        raise KeyError(material_id)

    # -- changes (the service checks first; these only apply) ---------------
    def set_state(self, state: str, at: datetime) -> None:
        self.state = state
        self.history.append(StateChange(at, state))

    def add_material(self, material: KeyMaterial) -> None:
        self.materials.append(material)
        if material.rotation_type == "ON_DEMAND":
            self.on_demand_rotations += 1

    def start_schedule(self, period_days: int, anchor: datetime) -> datetime:
        """Turn automatic rotation on, first due one period after ``anchor``."""
        self.rotation_enabled = True
        self.rotation_period_days = period_days
        self.rotation_anchor = anchor
        self.next_rotation = anchor + timedelta(days=period_days)
        return self.next_rotation

    def stop_schedule(self) -> None:
        self.rotation_enabled = False
        self.next_rotation = None
        self.rotation_anchor = None

    def advance_schedule(self, now: datetime) -> datetime:
        """After a rotation at ``now``: the next date on the same grid after ``now``."""
        assert self.next_rotation is not None and self.rotation_period_days is not None
        period = timedelta(days=self.rotation_period_days)
        nxt = self.next_rotation
        while nxt <= now:
            nxt += period
        self.next_rotation = nxt
        return nxt


class SecretBytes(bytes):
    """Bytes that print as a fingerprint: the plaintext data key of GenerateDataKey.

    It *is* ``bytes`` (pass it to AESGCM, compare it, slice it), but its ``repr``
    and ``str`` never show the key, so printing a response is safe in a lesson.
    ``bytes(secret)`` or ``secret.hex()`` reveals it deliberately.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<secret {len(self)} bytes {fingerprint(self)}>"

    __str__ = __repr__
