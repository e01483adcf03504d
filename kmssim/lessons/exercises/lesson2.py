"""Lesson 2 (automatic and on-demand rotation): exercises, and the scenarios that answer them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from kmssim.lessons.checks import Exercise
from kmssim.lessons.exercises._common import new_key, sim

__all__ = ["EXERCISES"]


def _first_rotation_date() -> date:
    kms = sim(datetime(2025, 1, 1, tzinfo=UTC))
    key_id = new_key(kms)
    kms.advance_to(datetime(2025, 3, 15, tzinfo=UTC))
    kms.enable_key_rotation(KeyId=key_id)
    first = kms.advance(days=800)[0]
    return first.time.date()


def _versions_after_1000_days() -> int:
    kms = sim()
    key_id = new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    kms.advance(days=1000)
    return len(kms.history(key_id).versions)


def _next_rotation_after_on_demand() -> date:
    kms = sim(datetime(2025, 1, 1, tzinfo=UTC))
    key_id = new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=730)
    kms.advance_to(datetime(2026, 12, 28, tzinfo=UTC))
    kms.rotate_key_on_demand(KeyId=key_id)
    return kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"].date()


def _second_automatic_rotation_after_on_demand() -> date:
    kms = sim(datetime(2025, 2, 10, tzinfo=UTC))
    key_id = new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=100)
    kms.advance_to(datetime(2025, 4, 1, tzinfo=UTC))
    kms.rotate_key_on_demand(KeyId=key_id)
    automatic = [event for event in kms.advance(days=400)
                 if event.name == "RotateKey" and event.rotation_type == "AUTOMATIC"]
    return automatic[1].time.date()


EXERCISES = (
    Exercise("2.1", "date",
        "The first automatic rotation comes one period after rotation is *enabled*, "
        "not after the key was created.",
        "365 days after 15 March 2025, whatever the key's creation date.",
        _first_rotation_date),
        Exercise("2.2", "int",
        "Count the original material too: 1 + the number of 180-day periods that fit "
        "in 1000 days. Or simulate it and look at len(kms.history(key_id).versions).",
        "the original material plus one version at days 180, 360, 540, 720 and 900.",
        _versions_after_1000_days),
        Exercise("2.3", "date",
        "An on-demand rotation does not move the automatic schedule. Look at "
        "NextRotationDate before and after rotate_key_on_demand.",
        "the automatic rotation stays due 730 days after rotation was enabled.",
        _next_rotation_after_on_demand),
        Exercise("2.4", "date",
        "Write your prediction down before you simulate. Does the on-demand rotation "
        "restart the count? Then check: KMS(seed=1, start=datetime(2025, 2, 10, "
        "tzinfo=timezone.utc)), enable with RotationPeriodInDays=100, advance_to 1 April, "
        "rotate_key_on_demand, then print the events of kms.advance(days=400).",
        "automatic rotations stay on their own schedule, every 100 days from enabling "
        "(21 May, then 29 August 2025); the on-demand rotation of 1 April moves nothing.",
        _second_automatic_rotation_after_on_demand),
)
