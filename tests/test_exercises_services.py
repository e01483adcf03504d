"""The self-checks of lessons 5 and 6: their computed answers are the documented ones, and
they are registered beside the exercises of lessons 1 to 4."""

from __future__ import annotations

import pytest

from kmssim.lessons import teach
from kmssim.lessons.exercises import EXERCISES, evaluate, expected


@pytest.mark.parametrize("exercise_id, answer", [
    ("5.1", 150),          # 50 GenerateDataKey + 100 Decrypt, no Bucket Key
    ("5.2", 2),            # last secret rotation on day 480: after the key's first rotation
    ("5.3", "AWSPENDING"),
    ("5.4", 2),            # Decrypt under the old key, GenerateDataKey under the new one
    ("5.5", 3),            # two yearly rotations in two and a half years
    ("6.1", 13),           # records of days 0..360 were wrapped by version 1
    ("6.2", 9),            # $1 + 8 rotations × $1 before April 2024
    ("6.3", "used-after-deletion-scheduled"),
    ("6.4", 2),
])
def test_the_computed_answers_are_what_aws_documents(exercise_id, answer):
    assert evaluate(exercise_id, answer).right, evaluate(exercise_id, answer).message


def test_lessons_5_and_6_have_their_exercises_registered_in_order():
    ids = [i for i in EXERCISES if i[0] in "56"]   # later lessons follow them
    assert ids == ["5.1", "5.2", "5.3", "5.4", "5.5", "6.1", "6.2", "6.3", "6.4"]
    assert all(EXERCISES[i].hint and EXERCISES[i].why for i in ids)


def test_text_answers_ignore_case_and_spaces():
    assert evaluate("5.3", " awspending ").right
    assert evaluate("6.3", "USED-AFTER-DELETION-SCHEDULED").right
    assert evaluate("5.3", "AWSCURRENT").status == "wrong"


def test_an_unanswered_service_exercise_prints_its_hint(capsys):
    teach.check("5.1", None)
    out = capsys.readouterr().out
    assert out.startswith("Exercise 5.1: not answered yet — hint: ") and "Bucket Key" in out


def test_the_answers_do_not_depend_on_the_learners_simulator():
    # The 6.4 exercise tells learners to use KMS(seed=1); the solver uses its own seed.
    from kmssim import KMS
    from kmssim.analysis.compliance import Policy, compliance
    from kmssim.analysis.fleet import build_fleet

    small = KMS(seed=1)
    build_fleet(small, keys=20, years=2, seed=3)
    findings = compliance(small, Policy(max_rotation_days=365)).where(rule="rotation-period")
    assert len(findings) == expected("6.4")
