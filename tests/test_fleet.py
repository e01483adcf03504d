"""A fleet of keys over years, and the compliance findings it should produce."""

from __future__ import annotations

import pytest

from kmssim import KMS
from kmssim.analysis.compliance import summary
from kmssim.core.errors import KMSInvalidStateException
from kmssim.analysis.fleet import Policy, build_fleet, compliance


@pytest.fixture(scope="module")
def built() -> tuple[KMS, object, list[tuple[int, int]]]:
    kms = KMS(seed=61)
    ticks: list[tuple[int, int]] = []
    fleet = build_fleet(kms, keys=40, years=2, seed=3,
                        progress=lambda done, total: ticks.append((done, total)))
    return kms, fleet, ticks


def _rules(findings, key_id: str) -> set[str]:
    return {row["rule"] for row in findings.where(key=key_id)}


def test_a_fleet_is_built_in_one_call_with_progress(built):
    kms, fleet, ticks = built
    assert len(fleet) == 40 and len(fleet.aws_managed) == 5
    assert ticks == [(month, 24) for month in range(1, 25)]
    assert (fleet.end - fleet.start).days == 731 and kms.now == fleet.end
    assert set(fleet.table().column("profile")) <= {"yearly", "90 days", "2 years", "none",
                                                    "on demand", "retired"}
    assert repr(fleet).startswith("<Fleet: 40 customer managed keys (")


def test_the_same_seeds_give_the_same_fleet_trail_and_findings(built):
    kms, fleet, _ = built
    again = KMS(seed=61)
    build_fleet(again, keys=40, years=2, seed=3)
    assert len(again.trail) == len(kms.trail)
    assert repr(compliance(again)) == repr(compliance(kms))
    other = KMS(seed=61)
    build_fleet(other, keys=40, years=2, seed=4)
    assert repr(compliance(other)) != repr(compliance(kms))


def test_findings_follow_how_each_key_was_designed(built):
    kms, fleet, _ = built
    findings = compliance(kms, Policy(max_rotation_days=365))
    for key in fleet.keys:
        rules = _rules(findings, key.key_id)
        assert ("rotation-enabled" in rules) == (key.profile in ("none", "on demand")), key
        assert ("rotation-period" in rules) == (key.profile == "2 years"), key
        assert ("used-after-deletion-scheduled" in rules) == key.lingering, key
        assert ("alias-in-apps" in rules) == (not key.by_alias), key
    for key_id in fleet.aws_managed:
        assert _rules(findings, key_id) == set()
    assert sum(row["findings"] for row in summary(findings)) == len(findings)


def test_the_policy_decides_which_rules_apply(built):
    kms, fleet, _ = built
    lenient = compliance(kms, Policy(max_rotation_days=730, require_aliases=False))
    assert not lenient.where(rule="rotation-period") and not lenient.where(rule="alias-in-apps")
    strict = compliance(kms, Policy(allow_aws_managed=False))
    assert set(strict.where(rule="aws-managed").column("key")) == set(fleet.aws_managed)
    assert "cannot choose its rotation period" in strict.where(rule="aws-managed")[0]["why"]


def test_each_finding_says_why_in_a_small_hand_built_account():
    kms = KMS(seed=62)
    never = kms.create_key()["KeyMetadata"]["KeyId"]
    slow = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=slow, RotationPeriodInDays=1000)
    kms.create_alias(AliasName="alias/slow", TargetKeyId=slow)
    hmac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"][
        "KeyId"]
    good = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=good)
    kms.create_alias(AliasName="alias/good", TargetKeyId=good)
    with kms.acting_as("role/app"):
        kms.generate_data_key(KeyId="alias/good", KeySpec="AES_256")
        kms.generate_data_key(KeyId=slow, KeySpec="AES_256")
    kms.schedule_key_deletion(KeyId=good, PendingWindowInDays=7)
    kms.advance(days=1)
    with kms.acting_as("role/app"), pytest.raises(KMSInvalidStateException):
        kms.generate_data_key(KeyId="alias/good", KeySpec="AES_256")
    found = {(row["key"], row["rule"]): row for row in compliance(kms)}
    assert found[(never, "rotation-enabled")]["why"] == "automatic rotation is off; never rotated."
    assert found[(slow, "rotation-period")]["why"] == (
        "rotates every 1000 days; the policy allows at most 365.")
    assert found[(slow, "rotation-period")]["alias"] == "alias/slow"
    assert found[(slow, "alias-in-apps")]["why"].startswith(
        "assumed-role/app/kmssim named the key by id or ARN in 1 GenerateDataKey call(s)")
    assert "rotate them manually" in found[(hmac, "rotation-enabled")]["why"]
    assert found[(good, "used-after-deletion-scheduled")]["why"].startswith(
        "assumed-role/app/kmssim made 1 GenerateDataKey call(s) after ScheduleKeyDeletion on "
        "2024-01-01")
    assert len(found) == 5
    kms.cancel_key_deletion(KeyId=good)              # cancelled: later use is fine again
    kms.enable_key(KeyId=good)
    kms.generate_data_key(KeyId="alias/good", KeySpec="AES_256")
    assert len(compliance(kms).where(rule="used-after-deletion-scheduled")) == 1


def test_bad_fleet_sizes_are_refused():
    with pytest.raises(ValueError):
        build_fleet(KMS(seed=1), keys=0)
    with pytest.raises(ValueError):
        build_fleet(KMS(seed=1), keys=3, years=0)
