"""Self-checks for the lessons' "On your own" exercises.

``check("2.1", answer)`` prints whether ``answer`` is right, with a hint when it is
not (and a gentle reminder when it is still ``None``). The expected answers are not
typed in anywhere: each exercise runs its own small scenario on a fresh, seeded `KMS`
the first time it is checked, so they always agree with what the simulator does.
Each lesson's exercises and scenarios live in one module, ``lesson1`` to ``lesson8``.
"""

from __future__ import annotations

import functools
from typing import Any

from kmssim.core.errors import ValidationException
from kmssim.lessons.checks import Exercise, Verdict, judge
from kmssim.lessons.exercises import (
    lesson1,
    lesson2,
    lesson3,
    lesson4,
    lesson5,
    lesson6,
    lesson7,
    lesson8,
)

__all__ = ["Exercise", "Verdict", "EXERCISES", "check", "evaluate", "expected", "material"]

#: Every exercise by id, in lesson order.
EXERCISES: dict[str, Exercise] = {
    exercise.exercise_id: exercise
    for lesson in (lesson1, lesson2, lesson3, lesson4, lesson5, lesson6, lesson7, lesson8)
    for exercise in lesson.EXERCISES
}


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


def material(exercise_id: str) -> None:
    """Print what exercise ``exercise_id`` asks you to read (a CloudTrail record, …)."""
    exercise = _exercise(exercise_id)
    if exercise.material is None:
        raise ValidationException(f"Exercise {exercise_id} has nothing to read: it asks you "
                                  "to predict, then try it in the empty cell.")
    print(exercise.material())
