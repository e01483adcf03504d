"""The self-checks of lessons 5 and 6: their computed answers are the documented ones, and
they are registered beside the exercises of lessons 1 to 4."""

from __future__ import annotations

import pytest

from kmssim.lessons import teach
from kmssim.lessons.exercises import EXERCISES, evaluate, expected
from datetime import UTC


@pytest.mark.parametrize("exercise_id, answer", [
    ("5.1", 150),          # 50 GenerateDataKey + 100 Decrypt, no Bucket Key
    ("5.2", 2),            # last secret rotation on day 480: after the key's first rotation
    ("5.3", 6),            # original, day 0, 30, 60 (failed, finished by the retry), 90, 120
    ("5.4", "refused"),    # RDS creates its grant in the caller's name (RDS User Guide)
    ("5.5", 3),            # two yearly rotations in two and a half years
    ("6.1", 13),           # records of days 0..360 were wrapped by version 1
    ("6.2", 9),            # $1 + 8 rotations × $1 before April 2024
    ("6.3", "reporting"),  # userIdentity of the Decrypt record
    ("6.4", "manual"),     # 60 days < 90-day minimum; 61 rotations > 25 on-demand
])
def test_the_computed_answers_are_what_aws_documents(exercise_id, answer):
    assert evaluate(exercise_id, answer).right, evaluate(exercise_id, answer).message


def test_lessons_5_and_6_have_their_exercises_registered_in_order():
    ids = [i for i in EXERCISES if i[0] in "56"]
    assert ids == ["5.1", "5.2", "5.3", "5.4", "5.5", "6.1", "6.2", "6.3", "6.4"]
    assert list(EXERCISES).index("6.4") < list(EXERCISES).index("7.1")
    assert all(EXERCISES[i].hint and EXERCISES[i].why for i in ids)


@pytest.mark.parametrize("exercise_id, answer", [
    ("7.1", "UnsupportedOperationException"),   # asymmetric keys never rotate (kms-facts 2.7)
    ("7.2", 0),          # an expired non-pending material locks the whole key (kms-facts 2.6)
    ("7.3", 5),          # v1 + rotations on days 90, 180, 270, 360, copied to the replica
])
def test_lesson_7_answers_are_what_aws_documents(exercise_id, answer):
    assert evaluate(exercise_id, answer).right, evaluate(exercise_id, answer).message
    assert EXERCISES[exercise_id].hint and EXERCISES[exercise_id].why


def test_text_answers_ignore_case_and_spaces():
    assert evaluate("5.4", " REFUSED ").right
    assert evaluate("6.3", "Reporting").right
    assert evaluate("6.4", "on-demand").status == "wrong"


def test_reading_exercises_print_their_cloudtrail_record(capsys):
    teach.material("6.3")
    out = capsys.readouterr().out
    assert '"userIdentity"' in out and "role/reporting" in out
    teach.material("3.5")
    out = capsys.readouterr().out
    assert '"keyMaterialId"' in out and "ListKeyRotations" in out


def test_an_exercise_without_material_says_so():
    from kmssim.core.errors import ValidationException
    with pytest.raises(ValidationException, match="nothing to read"):
        teach.material("2.4")


def test_an_unanswered_service_exercise_prints_its_hint(capsys):
    teach.check("5.1", None)
    out = capsys.readouterr().out
    assert out.startswith("Exercise 5.1: not answered yet — hint: ") and "Bucket Key" in out


def test_the_answers_do_not_depend_on_the_learners_simulator():
    # The learner tries 2.4 on a KMS of their own seed; the solver uses the exercises' seed.
    from datetime import datetime

    from kmssim import KMS

    kms = KMS(seed=1, start=datetime(2025, 2, 10, tzinfo=UTC))
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=100)
    kms.advance_to(datetime(2025, 4, 1, tzinfo=UTC))
    kms.rotate_key_on_demand(KeyId=key_id)
    automatic = [e for e in kms.advance(days=400) if e.rotation_type == "AUTOMATIC"]
    assert automatic[1].time.date() == expected("2.4")
