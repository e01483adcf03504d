"""Lesson 6 (audit and best practices): exercises, and the scenarios that answer them."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

from kmssim.lessons.checks import Exercise
from kmssim.lessons.exercises._common import error_code, new_key, rotating_key, sim
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


@functools.cache
def _decrypt_by_a_role() -> tuple[str, str]:
    """Two roles use one key; the full CloudTrail record of the reporting role's Decrypt."""
    kms = sim()
    with kms.acting_as("role/platform-admin"):
        key_id = rotating_key(kms, period=180)
    with kms.acting_as("role/orders-app"):
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"order 1",
                           EncryptionContext={"order": "1"})["CiphertextBlob"]
    kms.advance(days=200)
    with kms.acting_as("role/reporting"):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"order": "1"})
    event = kms.trail[-1]
    text = json.dumps(event.to_cloudtrail(), indent=2, default=str)
    return "CloudTrail record of one KMS call:\n" + text, "reporting"


def _strategy_for_a_60_day_policy() -> str:
    """Try each way of rotating every 60 days for ten years; answer the one that works."""
    for strategy in ("automatic", "on-demand", "manual"):
        kms = sim()
        key_id = new_key(kms)
        kms.create_alias(AliasName="alias/cards", TargetKeyId=key_id)
        if strategy == "automatic":
            if error_code(functools.partial(kms.enable_key_rotation, KeyId=key_id,
                                  RotationPeriodInDays=60)):
                continue
            return strategy  # pragma: no cover - KMS refuses periods under 90 days
        ok = True
        for _ in range(61):                 # every 60 days for ten years
            kms.advance(days=60)
            if strategy == "on-demand":
                ok = error_code(functools.partial(kms.rotate_key_on_demand, KeyId=key_id)) is None
            else:
                ok = error_code(functools.partial(kms.update_alias, AliasName="alias/cards",
                                        TargetKeyId=new_key(kms))) is None
            if not ok:
                break
        if ok:
            return strategy
    raise AssertionError("no strategy met the policy")  # pragma: no cover


EXERCISES = (
    Exercise("6.1", "int",
        "Version 1 wrapped the data keys of every record written before the first rotation. "
        "Or simulate it and look at the 'decrypted' column of auditing.material_usage.",
        "the 13 records written on days 0 to 360 have data keys wrapped by version 1; each "
        "was decrypted once.",
        _decrypts_served_by_version_1),
        Exercise("6.2", "int",
        "A counterfactual: 90-day periods did not exist before April 2024, but apply the old "
        "rule that every rotation added $1 a month, for ever. How many 90-day rotations "
        "has the key had by January 2027? Or use cost.monthly_costs(kms, cost.PRE_2024).",
        "eight rotations by 22 December 2026, so $1 + 8 × $1 for all of January 2027; under "
        "today's prices it would be $3.",
        _pre_2024_price_in_month_25),
        Exercise("6.3", "text",
        "Print it with teach.material(\"6.3\"), find userIdentity, and answer with the "
        "role's name as its ARN shows it (after role/ or assumed-role/), e.g. \"orders-app\".",
        "userIdentity names the caller, a session of the reporting role (its arn is "
        "assumed-role/reporting/kmssim, its sessionIssuer role/reporting); the key was created "
        "by platform-admin and the data encrypted by orders-app.",
        lambda: _decrypt_by_a_role()[1], lambda: _decrypt_by_a_role()[0]),
        Exercise("6.4", "text",
        "Answer \"automatic\", \"on-demand\" or \"manual\". Which periods does "
        "EnableKeyRotation accept? How many on-demand rotations does a key get, and how many "
        "would ten years at 60 days need?",
        "automatic rotation accepts 90 to 2,560 days, and 25 on-demand rotations last about "
        "four years at one every 60 days; only manual rotation (a new key and UpdateAlias "
        "every 60 days) keeps up for ten years.",
        _strategy_for_a_60_day_policy),
)
