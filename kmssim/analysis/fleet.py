"""A fleet: hundreds of keys with different rotation habits, used for years, in one call.

``fleet = build_fleet(kms, keys=200, years=5, seed=1)`` creates customer managed keys
with a seeded mix of profiles, a few AWS managed keys, aliases, and applications that
use the keys month after month while ``kms``'s clock moves forward, so the audit trail,
the compliance check (`kmssim.analysis.compliance.compliance`, re-exported here) and the cost
model (`kmssim.analysis.cost`) have something realistic to chew on.

Profiles (share of keys): ``yearly`` rotation (40%), ``90 days`` (10%), ``2 years``
(10%, too slow for a 365-day policy), ``none`` (15%, rotation never enabled),
``on demand`` (10%, rotated by hand once a year), ``retired`` (15%, scheduled for
deletion part-way; half of them still used by a forgotten application afterwards).
About a quarter of the applications name their key by id or ARN instead of by alias.
Everything is drawn from ``random.Random(seed)``, so the same seed (and a seeded
``KMS``) gives the same fleet, trail and findings on every run.

``progress(done, total)`` is called after each simulated month, for a progress bar:
in a notebook, ``progress=kmssim.widgets.ProgressBar("Five years")`` (this module
imports no widget library itself).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kmssim.analysis.compliance import Policy, compliance
from kmssim.core import Table
from kmssim.core.errors import KMSError

if TYPE_CHECKING:
    from kmssim.core import KMS

__all__ = ["build_fleet", "Fleet", "FleetKey", "PROFILES", "compliance", "Policy"]

#: Profile → (share of keys, automatic rotation period in days or None).
PROFILES: dict[str, tuple[float, int | None]] = {
    "yearly": (0.40, 365), "90 days": (0.10, 90), "2 years": (0.10, 730),
    "none": (0.15, None), "on demand": (0.10, None), "retired": (0.15, 365)}
_APPS = ("billing", "orders", "reports", "payments", "analytics", "search", "mobile", "backup")
_MANAGED = ("s3", "rds", "lambda", "secretsmanager", "ebs")


@dataclass(frozen=True, slots=True)
class FleetKey:
    """One key of the fleet, as it was designed (what the trail should then show)."""

    key_id: str
    alias: str | None
    app: str                      # the IAM role that uses it, e.g. "role/billing-service"
    profile: str
    by_alias: bool                # whether the app names the key by its alias
    retire_month: int | None      # month (from the start) its deletion was scheduled
    lingering: bool               # whether the app kept calling after that


@dataclass(frozen=True, slots=True)
class Fleet:
    """What `build_fleet` made: customer managed keys, AWS managed keys, the period."""

    keys: tuple[FleetKey, ...]
    aws_managed: tuple[str, ...]
    start: datetime
    end: datetime

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        counts = {p: sum(k.profile == p for k in self.keys) for p in PROFILES}
        mix = ", ".join(f"{n} {p}" for p, n in counts.items() if n)
        return (f"<Fleet: {len(self.keys)} customer managed keys ({mix}) and "
                f"{len(self.aws_managed)} AWS managed, {self.start.date()} to {self.end.date()}>")

    def table(self) -> Table:
        """One row per customer managed key: alias, app, profile, how the app names it."""
        rows = [{"key": k.key_id, "alias": k.alias, "app": k.app, "profile": k.profile,
                 "named by": "alias" if k.by_alias else "key id/ARN",
                 "retired in month": k.retire_month} for k in self.keys]
        return Table.of(("key", "alias", "app", "profile", "named by", "retired in month"),
                        rows, repr(self))


def _month_start(start: datetime, months: int) -> datetime:
    year, month = divmod(start.month - 1 + months, 12)
    return start.replace(year=start.year + year, month=month + 1, day=1, hour=0, minute=0,
                         second=0, microsecond=0)


def _design(rng: random.Random, count: int, months: int) -> list[dict[str, Any]]:
    names = list(PROFILES)
    weights = [PROFILES[p][0] for p in names]
    plans = []
    for index in range(count):
        profile = rng.choices(names, weights)[0]
        app = rng.choice(_APPS)
        has_alias = rng.random() < 0.85
        plans.append({
            "profile": profile, "app": f"role/{app}-service",
            "alias": f"alias/{app}-{index:03d}" if has_alias else None,
            "by_alias": has_alias and rng.random() < 0.75,
            "created": 0 if rng.random() < 0.7 else rng.randrange(0, min(12, months)),
            "retire": (rng.randrange(min(12, months - 1), months) if profile == "retired"
                       else None),
            "lingering": profile == "retired" and rng.random() < 0.5,
            "day": rng.randrange(28), "hour": rng.randrange(24),
            "calls": rng.randint(1, 4)})
    return plans


def build_fleet(kms: KMS, keys: int = 200, years: float = 5, *, seed: int = 0,
                progress: Callable[[int, int], Any] | None = None) -> Fleet:
    """Create ``keys`` customer managed keys and use them for ``years`` of simulated time.

    Starts at ``kms.now`` and leaves the clock ``years`` later (rotations and deletions
    happen on their dates on the way). Each month every live key's application makes
    a few GenerateDataKey calls and decrypts an older data key, as its IAM role; AWS
    managed keys for s3, rds, lambda, secretsmanager and ebs are used too. Returns a
    `Fleet` describing what was made.
    """
    if not isinstance(keys, int) or isinstance(keys, bool) or not 1 <= keys <= 5000:
        raise ValueError("keys must be a whole number from 1 to 5000")
    months = round(years * 12)
    if months < 1:
        raise ValueError("years must cover at least one month")
    rng = random.Random(seed)
    start = kms.now
    plans = _design(rng, keys, months)
    managed = [kms.describe_key(KeyId=f"alias/aws/{s}")["KeyMetadata"]["KeyId"]
               for s in _MANAGED]
    made: list[FleetKey | None] = [None] * keys
    stored: dict[str, dict[str, Any]] = {}        # key id → the last data key it made
    for month in range(months):
        month_start = _month_start(start, month)
        for index, plan in enumerate(plans):
            if plan["created"] == month:
                made[index] = _create(kms, plan, month_start)
        for when, index in sorted((month_start + timedelta(days=p["day"], hours=p["hour"]), i)
                                  for i, p in enumerate(plans) if made[i] is not None):
            kms.advance_to(max(when, kms.now))
            _use_month(kms, rng, plans[index], made[index], month, stored)  # type: ignore[arg-type]
        for service in _MANAGED:
            # An application stores data through the service, which asks KMS for a data
            # key under the service's AWS managed key (allowed only via the service).
            endpoint = {"ebs": "ec2"}.get(service, service)
            with kms.acting_as(f"role/{service}-app"), \
                    kms.via_service(f"{endpoint}.{kms.region}.amazonaws.com"):
                kms.generate_data_key(KeyId=f"alias/aws/{service}", KeySpec="AES_256")
        if progress is not None:
            progress(month + 1, months)
    end = _month_start(start, months)
    kms.advance_to(max(end, kms.now))
    built = tuple(k for k in made if k is not None)
    return Fleet(built, tuple(managed), start, end)


def _create(kms: KMS, plan: dict[str, Any], when: datetime) -> FleetKey:
    kms.advance_to(max(when, kms.now))
    with kms.acting_as("role/platform-admin"):
        key_id = kms.create_key(Description=f"{plan['app']} data ({plan['profile']})")[
            "KeyMetadata"]["KeyId"]
        period = PROFILES[plan["profile"]][1]
        if period is not None:
            kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=period)
        if plan["alias"]:
            kms.create_alias(AliasName=plan["alias"], TargetKeyId=key_id)
    return FleetKey(key_id, plan["alias"], plan["app"], plan["profile"],
                    plan["by_alias"], plan["retire"], plan["lingering"])


def _use_month(kms: KMS, rng: random.Random, plan: dict[str, Any], key: FleetKey,
               month: int, stored: dict[str, dict[str, Any]]) -> None:
    if plan["retire"] is not None and month >= plan["retire"]:
        if month == plan["retire"]:
            with kms.acting_as("role/platform-admin"):
                kms.schedule_key_deletion(KeyId=key.key_id, PendingWindowInDays=30)
        # A forgotten application keeps calling until the key is really gone.
        if not plan["lingering"] or kms.history(key.key_id).state == "Deleted":
            return
    if plan["profile"] == "on demand" and month % 12 == 11:
        with kms.acting_as("role/platform-admin"):
            kms.rotate_key_on_demand(KeyId=key.key_id)
    name = plan["alias"] if plan["by_alias"] else (
        key.key_id if rng.random() < 0.5 else kms.history(key.key_id).arn)
    with kms.acting_as(plan["app"]):
        try:
            for _ in range(plan["calls"]):
                response = kms.generate_data_key(KeyId=name, KeySpec="AES_256",
                                                 EncryptionContext={"app": plan["app"]})
                if key.key_id not in stored or rng.random() < 0.2:
                    stored[key.key_id] = response
            kms.decrypt(CiphertextBlob=stored[key.key_id]["CiphertextBlob"],
                        EncryptionContext={"app": plan["app"]})
        except KMSError:
            pass  # a retired key refuses; the trail records it, which is the point
