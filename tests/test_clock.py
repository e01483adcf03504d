"""The simulated clock: who owns time, the boundary rule, ordering, no going back."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import kmssim
from kmssim import KMS, Clock
from kmssim.core.errors import ValidationException
from kms_support import new_key, utc


def test_clock_starts_on_2024_01_01_utc_by_default() -> None:
    assert Clock().now == utc(2024, 1, 1)
    assert KMS().now == utc(2024, 1, 1)
    assert KMS().now.tzinfo is not None


def test_naive_start_is_read_as_utc_and_other_zones_are_converted() -> None:
    assert KMS(start=datetime(2022, 1, 1)).now == utc(2022, 1, 1)
    paris = timezone(timedelta(hours=1))
    assert KMS(start=datetime(2022, 1, 1, 1, tzinfo=paris)).now == utc(2022, 1, 1)
    assert KMS(start=datetime(2022, 1, 1, 1, tzinfo=paris)).now.utcoffset() == timedelta(0)


def test_entry_due_exactly_at_the_target_fires() -> None:
    clock = Clock(utc(2024))
    clock.schedule(utc(2024, 2, 1), "rotate", "k")
    fired = clock.run_until(utc(2024, 2, 1), lambda entry: entry.due)
    assert fired == [utc(2024, 2, 1)]
    assert clock.now == utc(2024, 2, 1)


def test_entry_due_after_the_target_waits() -> None:
    clock = Clock(utc(2024))
    clock.schedule(utc(2024, 2, 1), "rotate", "k")
    assert clock.run_until(utc(2024, 2, 1) - timedelta(microseconds=1), lambda e: e) == []
    assert clock.next_due() == utc(2024, 2, 1)


def test_each_entry_fires_with_now_at_its_own_instant() -> None:
    clock = Clock(utc(2024))
    for month in (5, 2, 9):
        clock.schedule(utc(2024, month, 1), "rotate", f"k{month}")
    seen = clock.run_until(utc(2025), lambda entry: (entry.key_id, clock.now))
    assert seen == [("k2", utc(2024, 2, 1)), ("k5", utc(2024, 5, 1)), ("k9", utc(2024, 9, 1))]
    assert clock.now == utc(2025)


def test_entries_due_at_the_same_instant_fire_in_the_order_they_were_scheduled() -> None:
    clock = Clock(utc(2024))
    for name in ("c", "a", "b"):
        clock.schedule(utc(2024, 3, 1), "rotate", name)
    assert clock.run_until(utc(2024, 3, 1), lambda entry: entry.key_id) == ["c", "a", "b"]


def test_entries_scheduled_while_firing_fire_in_the_same_run_when_due() -> None:
    clock = Clock(utc(2024))
    clock.schedule(utc(2024, 1, 2), "rotate", "k")

    def fire(entry):
        clock.schedule(entry.due + timedelta(days=1), "rotate", "k")
        return entry.due

    assert clock.run_until(utc(2024, 1, 5), fire) == [utc(2024, 1, n) for n in (2, 3, 4, 5)]
    assert clock.next_due() == utc(2024, 1, 6)


def test_clock_cannot_go_backwards() -> None:
    clock = Clock(utc(2024, 6))
    with pytest.raises(ValidationException, match="backwards"):
        clock.run_until(utc(2024, 5), lambda e: e)
    assert clock.now == utc(2024, 6)


def test_kms_advance_backwards_raises_and_leaves_time_alone() -> None:
    kms = KMS(seed=1, start=utc(2024, 6))
    with pytest.raises(ValidationException):
        kms.advance(days=-1)
    with pytest.raises(ValidationException):
        kms.advance_to(utc(2024, 5, 31))
    assert kms.now == utc(2024, 6)


@pytest.mark.parametrize("step", [{"days": "one"}, {"days": float("nan")}, {"days": 1e12},
                                  {"weeks": float("inf")}])
def test_advance_refuses_steps_that_are_not_sensible_numbers(step) -> None:
    kms = KMS(seed=1)
    with pytest.raises(ValidationException):
        kms.advance(**step)
    assert kms.now == utc(2024)


def test_advance_to_refuses_what_is_not_a_datetime() -> None:
    kms = KMS(seed=1)
    with pytest.raises(ValidationException):
        kms.advance_to("2025-01-01")  # type: ignore[arg-type]


def test_advance_moves_time_by_the_sum_of_its_units() -> None:
    kms = KMS(seed=1)
    kms.advance(weeks=1, days=2, hours=3, minutes=4, seconds=5)
    assert kms.now == utc(2024, 1, 10, 3, 4, 5)


def test_zero_advance_is_allowed_and_changes_nothing() -> None:
    kms = KMS(seed=1)
    assert kms.advance() == []
    assert kms.now == utc(2024)


def test_next_event_time_names_the_next_rotation_or_deletion() -> None:
    kms = KMS(seed=1)
    assert kms.next_event_time() is None
    rotating = new_key(kms)
    kms.enable_key_rotation(KeyId=rotating, RotationPeriodInDays=90)
    assert kms.next_event_time() == utc(2024) + timedelta(days=90)
    doomed = new_key(kms)
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    assert kms.next_event_time() == utc(2024, 1, 8)
    kms.advance_to(kms.next_event_time())
    assert kms.next_event_time() == utc(2024) + timedelta(days=90)


def test_next_event_time_ignores_disabled_keys() -> None:
    kms = KMS(seed=1)
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key)
    kms.disable_key(KeyId=key)
    assert kms.next_event_time() is None


def test_advance_returns_what_kms_did_in_time_order() -> None:
    kms = KMS(seed=1)
    fast, slow = new_key(kms), new_key(kms)
    kms.enable_key_rotation(KeyId=slow, RotationPeriodInDays=200)
    kms.enable_key_rotation(KeyId=fast, RotationPeriodInDays=90)
    events = kms.advance(days=365)
    assert [(e.key_id, e.time) for e in events] == [
        (fast, utc(2024) + timedelta(days=90)), (fast, utc(2024) + timedelta(days=180)),
        (slow, utc(2024) + timedelta(days=200)), (fast, utc(2024) + timedelta(days=270)),
        (fast, utc(2024) + timedelta(days=360))]
    assert all(e.name == "RotateKey" and e.rotation_type == "AUTOMATIC" for e in events)


_CORE_MODULES = sorted(
    path.relative_to(Path(kmssim.__file__).parent).as_posix()
    for path in (Path(kmssim.__file__).parent / "core").rglob("*.py"))


@pytest.mark.parametrize("module", _CORE_MODULES)
def test_core_never_reads_the_wall_clock(module: str) -> None:
    source = (Path(kmssim.__file__).parent / module).read_text(encoding="utf-8")
    assert not re.search(r"\.now\(|utcnow|\btime\.time\(|\bdate\.today\(|monotonic\(", source)


def test_advance_takes_days_by_position_too() -> None:
    kms = KMS(seed=3, start=utc(2024, 1, 1))
    kms.advance(365)
    assert kms.now == utc(2024, 12, 31)


def test_the_garbage_collector_pauses_while_entries_fire_and_resumes_after() -> None:
    """A long advance fires hundreds of thousands of entries; the cyclic collector's full
    passes over the growing heap made that superlinear (issue 15), so it pauses meanwhile."""
    import gc

    clock = Clock(utc(2024, 1, 1))
    clock.schedule(utc(2024, 1, 2), "rotate", "k1")
    clock.schedule(utc(2024, 1, 3), "rotate", "k2")
    seen = []
    assert gc.isenabled()
    clock.run_until(utc(2024, 1, 2), lambda entry: seen.append(gc.isenabled()))
    assert seen == [False] and gc.isenabled()

    def fail(entry: object) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        clock.run_until(utc(2024, 1, 5), fail)
    assert gc.isenabled()                   # resumed even though firing raised
    gc.disable()
    try:                                    # and left off when it was off before
        clock.schedule(utc(2024, 1, 6), "rotate", "k3")
        clock.run_until(utc(2024, 1, 7), lambda entry: None)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_entry_fired_is_the_one_scheduled() -> None:
    """Entries sit on the heap as they are (`Due` is a named tuple): firing builds nothing."""
    clock = Clock(utc(2024, 1, 1))
    entry = clock.schedule(utc(2024, 1, 2), "rotate", "k")
    assert list(clock.pending()) == [entry]
    fired, = clock.run_until(utc(2024, 1, 3), lambda due: due)
    assert fired is entry
    assert (fired.due, fired.kind, fired.key_id) == (utc(2024, 1, 2), "rotate", "k")
