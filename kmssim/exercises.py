"""Self-checks for the lessons' "On your own" exercises.

``check("2.1", answer)`` prints whether ``answer`` is right, with a hint when it is
not (and a gentle reminder when it is still ``None``). The expected answers are not
typed in here: each exercise runs its own small scenario on a fresh, seeded `KMS`
the first time it is checked, so they always agree with what the simulator does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, UTC
from typing import Any

from .envelope import open_with_data_key, rewrap, seal, unseal
from .errors import KMSError, ValidationException
from .exercises_services import SERVICE_EXERCISES
from .selfcheck import Exercise, Verdict, judge

__all__ = ["Exercise", "Verdict", "EXERCISES", "check", "evaluate", "expected"]


# -- scenarios that compute the expected answers ----------------------------------

def _sim(start: datetime = datetime(2025, 1, 1, tzinfo=UTC)) -> Any:
    from .kms import KMS  # imported here: kms imports nothing from the lesson helpers
    return KMS(seed="exercises", start=start)


def _error_code(call: Callable[[], Any]) -> str | None:
    try:
        call()
    except KMSError as error:
        return error.code
    return None


def _new_key(kms: Any, **kwargs: Any) -> str:
    return str(kms.create_key(**kwargs)["KeyMetadata"]["KeyId"])


def _context_case() -> str | None:
    kms = _sim()
    record = seal(kms, _new_key(kms), b"order 1001", {"order": "1001"})
    return _error_code(lambda: unseal(kms, record, {"Order": "1001"}))


def _encrypt_too_big() -> str | None:
    kms = _sim()
    key_id = _new_key(kms)
    return _error_code(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x" * 5000))


def _calls_to_read_one_mb() -> int:
    kms = _sim()
    record = seal(kms, _new_key(kms), b"x" * 1_000_000)
    before = len(kms.trail)
    unseal(kms, record)
    return len(kms.trail) - before


def _first_rotation_date() -> date:
    kms = _sim(datetime(2025, 1, 1, tzinfo=UTC))
    key_id = _new_key(kms)
    kms.advance_to(datetime(2025, 3, 15, tzinfo=UTC))
    kms.enable_key_rotation(KeyId=key_id)
    first = kms.advance(days=800)[0]
    return first.time.date()


def _versions_after_1000_days() -> int:
    kms = _sim()
    key_id = _new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=180)
    kms.advance(days=1000)
    return len(kms.history(key_id).versions)


def _next_rotation_after_on_demand() -> date:
    kms = _sim(datetime(2025, 1, 1, tzinfo=UTC))
    key_id = _new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=730)
    kms.advance_to(datetime(2026, 12, 28, tzinfo=UTC))
    kms.rotate_key_on_demand(KeyId=key_id)
    return kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"].date()


def _on_demand_left_after_three() -> int:
    kms = _sim()
    key_id = _new_key(kms)
    for _ in range(3):
        kms.rotate_key_on_demand(KeyId=key_id)
    left = 0
    while _error_code(lambda: kms.rotate_key_on_demand(KeyId=key_id)) is None:
        left += 1
    return left


def _three_years_of_records() -> tuple[Any, list[Any]]:
    from .teach import write_records
    kms = _sim()
    key_id = _new_key(kms)
    kms.enable_key_rotation(KeyId=key_id)
    return kms, write_records(kms, key_id, 37, every_days=30)


def _records_on_version_2() -> int:
    from .teach import write_records
    kms = _sim()
    key_id = _new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=200)
    records = write_records(kms, key_id, 40, every_days=30)
    return sum(1 for r in records if kms.inspect_ciphertext(r.encrypted_data_key).version == 2)


def _current_version_after_rewrap_and_rotation() -> int:
    kms, records = _three_years_of_records()
    records = [rewrap(kms, r) for r in records]
    kms.advance(days=365)
    current = kms.describe_key(KeyId=records[0].key_arn)["KeyMetadata"]["CurrentKeyMaterialId"]
    return sum(1 for r in records
               if kms.inspect_ciphertext(r.encrypted_data_key).key_material_id == current)


def _leaked_key_after_rotation() -> bool:
    kms = _sim()
    key_id = _new_key(kms)
    record = seal(kms, key_id, b"salary: 100", {"employee": "7"})
    leaked = kms.decrypt(CiphertextBlob=record.encrypted_data_key,
                         EncryptionContext=record.context)["Plaintext"]
    kms.rotate_key_on_demand(KeyId=key_id)
    record = rewrap(kms, record)
    return _error_code(lambda: open_with_data_key(record, leaked)) is None


def _rotation_status_while_pending_deletion() -> bool:
    kms = _sim()
    key_id = _new_key(kms)
    kms.enable_key_rotation(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    return bool(kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])


def _deletion_date_by_default() -> date:
    kms = _sim(datetime(2025, 1, 6, 9, 0, tzinfo=UTC))
    key_id = _new_key(kms)
    return kms.schedule_key_deletion(KeyId=key_id)["DeletionDate"].date()


def _hmac_rotation() -> str | None:
    kms = _sim()
    key_id = _new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    return _error_code(lambda: kms.enable_key_rotation(KeyId=key_id))


def _old_key_disabled_after_alias_moved() -> str | None:
    kms = _sim()
    old = _new_key(kms)
    kms.create_alias(AliasName="alias/app", TargetKeyId=old)
    record = seal(kms, "alias/app", b"old data", {"order": "1"})
    kms.update_alias(AliasName="alias/app", TargetKeyId=_new_key(kms))
    kms.disable_key(KeyId=old)
    return _error_code(lambda: unseal(kms, record))


def _aws_managed_versions_after_three_years() -> int:
    kms = _sim()
    key_id = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"]
    kms.advance(days=3 * 365)
    return len(kms.history(key_id).versions)


def _keys_after_two_manual_rotations() -> int:
    kms = _sim()
    kms.create_alias(AliasName="alias/app", TargetKeyId=_new_key(kms))
    for _ in range(2):
        kms.update_alias(AliasName="alias/app", TargetKeyId=_new_key(kms))
    return len(kms.list_keys()["Keys"])


def _ex(exercise_id: str, kind: str, hint: str, why: str,
        solve: Callable[[], Any]) -> tuple[str, Exercise]:
    return exercise_id, Exercise(exercise_id, kind, hint, why, solve)


EXERCISES: dict[str, Exercise] = dict([
    _ex("1.1", "error",
        "Try it: teach.attempt(lambda: unseal(kms, record, {\"Table\": \"orders\", "
        "\"order_id\": \"1001\"})). Is \"Table\" the same label as \"table\"?",
        "a context that differs in any way, even only in case, fails authentication.",
        _context_case),
    _ex("1.2", "error",
        "Encrypt takes at most 4,096 bytes. Try kms.encrypt(KeyId=key_id, "
        "Plaintext=b\"x\" * 5000) inside teach.attempt.",
        "the request is rejected before any key is used; that size limit is why large "
        "data is encrypted locally with a data key.",
        _encrypt_too_big),
    _ex("1.3", "int",
        "Count the events kms.trail gains while unseal() runs: len(kms.trail) before "
        "and after.",
        "KMS only decrypts the small data key; the megabyte is decrypted locally.",
        _calls_to_read_one_mb),
    _ex("2.1", "date",
        "The first automatic rotation comes one period after rotation is *enabled*, "
        "not after the key was created.",
        "365 days after 15 March 2025, whatever the key's creation date.",
        _first_rotation_date),
    _ex("2.2", "int",
        "Count the original material too: 1 + the number of 180-day periods that fit "
        "in 1000 days. Or simulate it and look at len(kms.history(key_id).versions).",
        "the original material plus one version at days 180, 360, 540, 720 and 900.",
        _versions_after_1000_days),
    _ex("2.3", "date",
        "An on-demand rotation does not move the automatic schedule. Look at "
        "NextRotationDate before and after rotate_key_on_demand.",
        "the automatic rotation stays due 730 days after rotation was enabled.",
        _next_rotation_after_on_demand),
    _ex("2.4", "int",
        "AWS allows a fixed number of on-demand rotations per key (older pages say "
        "10; that was the 2024 limit). Rotate until LimitExceededException.",
        "the limit is 25 per key and cannot be raised.",
        _on_demand_left_after_three),
    _ex("3.1", "int",
        "Version 2 is current from day 200 to day 400. Or simulate it: "
        "teach.write_records(kms, key_id, 40, every_days=30), then print(plot.exposure(kms, "
        "records)).",
        "version 2 wraps the records of days 210 to 390, one every 30 days.",
        _records_on_version_2),
    _ex("3.2", "int",
        "Re-wrapping moves every data key to the material that is current *then*. Which "
        "data keys does a version made a year later wrap?",
        "a new version only wraps data keys made after it appeared; re-wrapped data keys "
        "stay with the version that was current when you re-wrapped them.",
        _current_version_after_rewrap_and_rotation),
    _ex("3.3", "bool",
        "Rotation and ReEncrypt change how the data key is *wrapped*, not the data key "
        "itself. Try envelope.open_with_data_key(record, leaked) after re-wrapping.",
        "the record is still encrypted under the same data key; only re-encrypting the "
        "record with a new data key (seal it again) locks the leaked key out.",
        _leaked_key_after_rotation),
    _ex("3.4", "bool",
        "Schedule the deletion of a key that rotates, then call get_key_rotation_status.",
        "KMS does not rotate a key that is pending deletion, and says so; if you cancel "
        "the deletion, the earlier rotation setting comes back.",
        _rotation_status_while_pending_deletion),
    _ex("3.5", "date",
        "When you leave out PendingWindowInDays, the waiting period is the longest one "
        "allowed. Look at DeletionDate in the response of schedule_key_deletion.",
        "the default waiting period is 30 days (you may choose 7 to 30).",
        _deletion_date_by_default),
    _ex("4.1", "error",
        "HMAC keys are symmetric, but automatic rotation is only for symmetric "
        "*encryption* keys. Try it inside teach.attempt.",
        "only SYMMETRIC_DEFAULT keys rotate; HMAC and RSA keys rotate manually.",
        _hmac_rotation),
    _ex("4.2", "error",
        "Reading an old record needs the key that wrapped its data key, whatever the alias "
        "says now. What state is that key in?",
        "the old key still holds the only material that can unwrap the old data keys: keep "
        "it enabled until everything is re-encrypted to the new key.",
        _old_key_disabled_after_alias_moved),
    _ex("4.3", "int",
        "AWS rotates its managed keys every 365 days, counted from the key's creation. "
        "Count the original material too.",
        "the original material plus one rotation a year, three years running.",
        _aws_managed_versions_after_three_years),
    _ex("4.4", "int",
        "Manual rotation creates a new key each time, and the old keys stay (enabled) "
        "so old data still decrypts. Count kms.list_keys()[\"Keys\"].",
        "the original key plus two new ones: each is a separate KMS key, billed "
        "separately.",
        _keys_after_two_manual_rotations),
])
# Lessons 5 and 6 (services, audit, compliance, cost) keep their scenarios in their own module.
EXERCISES.update(SERVICE_EXERCISES)


@functools.cache
def expected(exercise_id: str) -> Any:
    """The right answer to an exercise, computed by running its scenario once."""
    return _exercise(exercise_id).solve()


def _exercise(exercise_id: str) -> Exercise:
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise ValidationException(
            f"There is no exercise {exercise_id!r}; the exercises are "
            f"{', '.join(EXERCISES)}.") from None


def evaluate(exercise_id: str, answer: Any) -> Verdict:
    """Compare ``answer`` with the computed answer of ``exercise_id``; print nothing."""
    return judge(_exercise(exercise_id), answer, lambda: expected(exercise_id))


def check(exercise_id: str, answer: Any) -> None:
    """Print whether ``answer`` to exercise ``exercise_id`` (e.g. ``"2.1"``) is right.

    ``None`` means "not answered yet" and prints the hint. Answers are compared
    with what the simulator computes; names and words ignore case.
    """
    print(evaluate(exercise_id, answer).message)
