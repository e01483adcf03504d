"""`Cloud`: several Regions of one AWS account on one simulated clock.

Multi-Region keys need more than one Region: a primary key in one and replicas, with
the same key id and key material, in others. ``Cloud`` holds one `KMS` per Region,
made on first use, all at the same simulated time::

    cloud = Cloud(seed=7)
    east = cloud.region("us-east-1")
    west = cloud.region("us-west-2")
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]     # "mrk-…"
    east.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    blob = east.encrypt(KeyId=key, Plaintext=b"hi")["CiphertextBlob"]
    west.decrypt(CiphertextBlob=blob)                                     # works
    cloud.advance(days=365)      # or east.advance(...): every Region moves together

Each Region is an ordinary `KMS` (its own keys, aliases and audit trail); moving time
in any of them moves them all, and their rotations and expiries happen in time order.
`kmssim.bridge.mock_kms` keeps one Cloud per account, so boto3 clients of different
Regions see related multi-Region keys.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from kmssim.core.clock import as_utc
from kmssim.core.errors import CorruptScenarioError, ValidationException

if TYPE_CHECKING:
    from kmssim.core.keys import Key
    from kmssim.core.kms import KMS
    from kmssim.core.state import ServiceEvent

__all__ = ["Cloud"]

_FORMAT = "kmssim-cloud"


class Cloud:
    """The Regions of one account, sharing one simulated clock (see the module doc).

    ``seed`` makes every Region deterministic: each Region is ``KMS(seed=seed,
    region=…)``, whose random stream mixes in the Region and account, so Regions never
    repeat each other's ids or material, and us-east-1 makes what ``KMS(seed=seed)``
    makes. ``start`` is the simulated start date.
    """

    def __init__(self, seed: int | str | bytes | None = None, start: datetime | None = None,
                 account_id: str = "111122223333") -> None:
        self.seed = seed
        self.account_id = account_id
        self._start = start
        self._regions: dict[str, KMS] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<Cloud {self.account_id} at {self.now.isoformat()}: {sorted(self._regions)}>"

    def region(self, name: str) -> KMS:
        """The simulator of Region ``name`` (for example ``"eu-west-1"``), made now at the
        cloud's current time if no one has used it yet."""
        from kmssim.core.kms import KMS
        with self._lock:
            if name not in self._regions:
                kms = KMS(seed=self.seed, start=self._start if not self._regions
                          else self.now, region=name, account_id=self.account_id)
                self.add(kms)
            return self._regions[name]

    def add(self, kms: KMS) -> KMS:
        """Make an existing simulator one of this cloud's Regions (same account, same
        simulated time as the others; a Region may be added once)."""
        with self._lock:
            if kms.account_id != self.account_id:
                raise ValidationException(f"{kms!r} is account {kms.account_id}, not "
                                          f"{self.account_id}.")
            if kms.region in self._regions or kms._cloud is not None:
                raise ValidationException(f"Region {kms.region} is already in a cloud.")
            if self._regions and kms.now != self.now:
                raise ValidationException(f"{kms!r} is at {kms.now.isoformat()}, the cloud at "
                                          f"{self.now.isoformat()}: add it at the same time.")
            kms._cloud = self
            self._regions[kms.region] = kms
            return kms

    @property
    def regions(self) -> dict[str, KMS]:
        """The Regions made so far, by name."""
        with self._lock:
            return dict(self._regions)

    @property
    def now(self) -> datetime:
        """The simulated time of every Region."""
        with self._lock:
            first = next(iter(self._regions.values()), None)
            if first is None:
                from kmssim.core.clock import Clock
                return Clock(self._start).now
            return first.now

    # -- time -----------------------------------------------------------------------
    def advance(self, days: float = 0, *, hours: float = 0, minutes: float = 0,
                seconds: float = 0, weeks: float = 0) -> list[ServiceEvent]:
        """Move every Region forward together; returns what KMS did, in time order."""
        step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds, weeks=weeks)
        if step < timedelta(0):
            raise ValidationException("Simulated time cannot go backwards: the step is negative.")
        return self.advance_to(self.now + step)

    def advance_to(self, when: datetime) -> list[ServiceEvent]:
        """Move every Region to ``when``, stopping at each instant any Region has
        something due, so that a primary's rotation reaches its replicas in order."""
        target = as_utc(when)
        with self._lock:
            if target < self.now:
                raise ValidationException("Simulated time cannot go backwards.")
            fired: list[ServiceEvent] = []
            floor = self.now        # dues at or before this instant were already handled
            while True:
                dues = [due for kms in self._regions.values()
                        if (due := kms.next_event_time()) is not None and floor < due <= target]
                step = min(dues) if dues else target
                for kms in list(self._regions.values()):
                    fired += kms._advance_here(step)
                if step >= target:
                    break
                floor = step
            return sorted(fired, key=lambda e: e.time)

    # -- related keys -----------------------------------------------------------------
    def related(self, key: Key, region: str) -> list[Key]:
        """Every other Region's key of the multi-Region key ``key`` (seen from ``region``)."""
        regions = [key.primary_region or region] + list(key.replica_regions)
        found = []
        for name in regions:
            if name == region or name not in self._regions:
                continue
            other = self._regions[name]._keys.get(key.key_id)
            if other is not None:
                found.append(other)
        return found

    # -- saving -------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> None:
        """Write every Region (``<region>.json``, see `KMS.save`) and ``cloud.json`` into
        ``folder`` (made if missing)."""
        where = Path(folder)
        where.mkdir(parents=True, exist_ok=True)
        with self._lock:
            for name, kms in self._regions.items():
                kms.save(where / f"{name}.json")
            seed = self.seed.hex() if isinstance(self.seed, bytes) else self.seed
            (where / "cloud.json").write_text(json.dumps({
                "format": _FORMAT, "account_id": self.account_id,
                "seed": seed, "seed_is_bytes": isinstance(self.seed, bytes),
                "regions": sorted(self._regions)}), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Cloud:
        """Read a cloud written by `save`."""
        from kmssim.core.kms import KMS
        where = Path(folder)
        try:
            data = json.loads((where / "cloud.json").read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT:
                raise ValueError("not a kmssim cloud")
            seed = bytes.fromhex(data["seed"]) if data["seed_is_bytes"] else data["seed"]
            cloud = cls(seed=seed, account_id=data["account_id"])
            for name in data["regions"]:
                cloud.add(KMS.load(where / f"{name}.json"))
        except CorruptScenarioError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CorruptScenarioError(f"Cannot read cloud {str(where)!r}: {error}") from None
        return cloud
