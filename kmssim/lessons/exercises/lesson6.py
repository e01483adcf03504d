"""Lesson 6 (audit and best practices): exercises, and the scenarios that answer them."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from kmssim.lessons.checks import Exercise
from kmssim.lessons.exercises._common import rotating_key, sim
from kmssim.lessons.records import write_records

__all__ = ["EXERCISES"]


def _decrypts_served_by_version_1() -> int:
    from kmssim.analysis.auditing import material_usage
    from kmssim.core.envelope import unseal
    kms = sim()
    key_id = rotating_key(kms)
    records = write_records(kms, key_id, 25, every_days=30)
    for record in records:
        unseal(kms, record)
    return int(material_usage(kms, key_id).where(version=1)[0]["decrypted"])


def _pre_2024_price_in_month_25() -> int:
    from kmssim.analysis.cost import PRE_2024, monthly_costs
    kms = sim()
    rotating_key(kms, period=90)
    kms.advance_to(datetime(2027, 2, 1, tzinfo=UTC))
    return round(monthly_costs(kms, PRE_2024).where(month="2027-01")[0]["total $"])


def _rule_for_use_after_scheduled_deletion() -> str:
    from kmssim.analysis.compliance import Policy, compliance
    from kmssim.core.errors import KMSError
    kms = sim()
    key_id = rotating_key(kms)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"still needed")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    kms.advance(days=10)
    with contextlib.suppress(KMSError):       # refused: the key is pending deletion
        kms.decrypt(CiphertextBlob=blob)
    findings = compliance(kms, Policy(require_aliases=False))
    return str(findings[0]["rule"])


def _keys_rotating_too_slowly_in_a_small_fleet() -> int:
    from kmssim.analysis.compliance import Policy, compliance
    from kmssim.analysis.fleet import build_fleet
    kms = sim()
    build_fleet(kms, keys=20, years=2, seed=3)
    findings = compliance(kms, Policy(max_rotation_days=365))
    return len(findings.where(rule="rotation-period"))


EXERCISES = (
    Exercise("6.1", "int",
        "Version 1 wrapped the data keys of every record written before the first rotation. "
        "Or simulate it and look at the 'decrypted' column of auditing.material_usage.",
        "the 13 records written on days 0 to 360 have data keys wrapped by version 1; each "
        "was decrypted once.",
        _decrypts_served_by_version_1),
        Exercise("6.2", "int",
        "Before April 2024, every rotation added $1 a month, for ever. How many 90-day "
        "rotations has the key had by January 2027? Or use cost.monthly_costs(kms, "
        "cost.PRE_2024).",
        "eight rotations by 22 December 2026, so $1 + 8 × $1 for all of January 2027; under "
        "today's prices it would be $3.",
        _pre_2024_price_in_month_25),
        Exercise("6.3", "text",
        "Run compliance(kms) after a call on a key that is pending deletion and read the "
        "'rule' column.",
        "a call after ScheduleKeyDeletion means something still depends on the key: cancel "
        "the deletion (and disable the key first next time).",
        _rule_for_use_after_scheduled_deletion),
        Exercise("6.4", "int",
        "Build it: small = KMS(seed=1); build_fleet(small, keys=20, years=2, seed=3); then "
        "count compliance(small, Policy(max_rotation_days=365)).where(rule=\"rotation-period\").",
        "those are the keys whose automatic rotation is on but slower than 365 days (the "
        "fleet's \"2 years\" profile).",
        _keys_rotating_too_slowly_in_a_small_fleet),
)
