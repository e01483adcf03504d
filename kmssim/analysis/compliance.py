"""Check every key of a KMS against a rotation policy, and say why each finding is one.

``compliance(kms, Policy(max_rotation_days=365))`` reads the keys (without calling
KMS) and the audit trail, and reports one row per finding, with the key, its alias,
the rule and a sentence saying why. The rules:

- ``rotation-enabled``: a customer managed key whose automatic rotation is off;
- ``rotation-period``: automatic rotation slower than ``max_rotation_days``;
- ``used-after-deletion-scheduled``: calls on a key after ScheduleKeyDeletion: some
  application still depends on it (cancel, and disable the key first next time);
- ``alias-in-apps``: applications that name a key by id or ARN when they encrypt,
  instead of by alias, so a manual rotation (UpdateAlias) would not reach them;
- ``aws-managed``: AWS managed keys in use, when the policy wants customer managed keys
  (you cannot choose their rotation period, trigger a rotation or edit their policy).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kmssim.analysis.auditing import (
    ENCRYPTING,
    event_key_id,
    follow_aliases,
    named_key,
    short_principal,
)
from kmssim.core import Table

if TYPE_CHECKING:
    from kmssim.core import KMS, KeyHistory

__all__ = ["Policy", "compliance", "summary", "RULES"]

RULES = ("rotation-enabled", "rotation-period", "used-after-deletion-scheduled",
         "alias-in-apps", "aws-managed")


@dataclass(frozen=True, slots=True)
class Policy:
    """What the organisation requires. Set a rule's field to False (or None) to skip it."""

    require_rotation: bool = True
    max_rotation_days: int | None = 365
    no_use_after_deletion_scheduled: bool = True
    require_aliases: bool = True
    allow_aws_managed: bool = True


def _day(when: datetime) -> str:
    return when.date().isoformat()


def _rotation_findings(key: KeyHistory, policy: Policy) -> list[tuple[str, str]]:
    if key.manager != "CUSTOMER" or key.state in ("PendingDeletion", "Deleted"):
        return []
    if key.rotation_period_days is None:
        if not policy.require_rotation:
            return []
        if key.key_spec != "SYMMETRIC_DEFAULT":
            return [("rotation-enabled", f"{key.key_spec} keys cannot rotate automatically: "
                     "rotate them manually (a new key, then UpdateAlias).")]
        on_demand = [v.created for v in key.versions if v.rotation_type == "ON_DEMAND"]
        since = f"; last rotated on demand on {_day(on_demand[-1])}" if on_demand else \
            "; never rotated"
        return [("rotation-enabled", f"automatic rotation is off{since}.")]
    if policy.max_rotation_days is not None and \
            key.rotation_period_days > policy.max_rotation_days:
        return [("rotation-period", f"rotates every {key.rotation_period_days} days; the "
                 f"policy allows at most {policy.max_rotation_days}.")]
    return []


def _trail_findings(kms: KMS, policy: Policy) -> dict[str, list[tuple[str, str]]]:
    """Findings read from the trail, by key id."""
    scheduled: dict[str, datetime] = {}            # key id → when deletion was scheduled
    late: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    raw: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    aliases: dict[str, str] = {}
    for event in kms.trail:
        follow_aliases(event, aliases)
        key_id = event_key_id(event, aliases)
        if event.event_type != "AwsApiCall" or key_id is None:
            continue
        named = named_key(event)
        if event.name == "ScheduleKeyDeletion" and event.error_code is None:
            scheduled[key_id] = event.time
        elif event.name == "CancelKeyDeletion" and event.error_code is None:
            scheduled.pop(key_id, None)
        elif key_id in scheduled and event.name not in ("DescribeKey", "ListAliases",
                                                        "GetKeyRotationStatus"):
            entry = late[key_id].setdefault(short_principal(event.principal),
                                            [0, set(), event.time, scheduled[key_id]])
            entry[0] += 1
            entry[1].add(event.name)
            entry[2] = event.time
        if event.name in ENCRYPTING and isinstance(named, str) and "alias/" not in named:
            entry = raw[key_id].setdefault(short_principal(event.principal), [0, set(), None])
            entry[0] += 1
            entry[1].add(event.name)
            entry[2] = event.time
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    if policy.no_use_after_deletion_scheduled:
        for key_id, callers in late.items():
            for who, (count, names, last, when) in sorted(callers.items()):
                found[key_id].append((
                    "used-after-deletion-scheduled",
                    f"{who} made {count} {'/'.join(sorted(names))} call(s) after "
                    f"ScheduleKeyDeletion on {_day(when)} (last {_day(last)}): something still "
                    "depends on this key."))
    if policy.require_aliases:
        for key_id, callers in raw.items():
            for who, (count, names, last) in sorted(callers.items()):
                found[key_id].append((
                    "alias-in-apps",
                    f"{who} named the key by id or ARN in {count} {'/'.join(sorted(names))} "
                    f"call(s) (last {_day(last)}); use an alias so UpdateAlias can move it."))
    return found


def compliance(kms: KMS, policy: Policy | None = None) -> Table:
    """Every finding for every key (deleted keys included), in key creation order:
    ``key``, ``alias``, ``rule``, ``why``. An empty table means compliant."""
    policy = policy or Policy()
    from_trail = _trail_findings(kms, policy)
    rows = []
    for key_id in kms.key_ids(include_deleted=True):
        key = kms.history(key_id)
        findings = _rotation_findings(key, policy) + from_trail.get(key_id, [])
        if not policy.allow_aws_managed and key.manager == "AWS" and key.state != "Deleted":
            findings.append(("aws-managed", "an AWS managed key: you cannot choose its rotation "
                             "period, rotate it on demand or edit its key policy; the policy "
                             "asks for customer managed keys."))
        alias = ", ".join(key.aliases) or None
        rows += [{"key": key_id, "alias": alias, "rule": rule, "why": why}
                 for rule, why in findings]
    return Table.of(("key", "alias", "rule", "why"), rows,
                    f"compliance: {len(rows)} finding(s)")


def summary(findings: Table) -> Table:
    """How many findings per rule (from a `compliance` table)."""
    counts = {rule: 0 for rule in RULES}
    keys: dict[str, set[str]] = {rule: set() for rule in RULES}
    for row in findings:
        counts[row["rule"]] += 1
        keys[row["rule"]].add(row["key"])
    return Table.of(("rule", "findings", "keys"),
                    [{"rule": r, "findings": counts[r], "keys": len(keys[r])} for r in RULES],
                    "findings per rule")
