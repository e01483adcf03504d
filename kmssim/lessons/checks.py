"""How an answer to an "On your own" exercise is judged: right, wrong, or not yet given.

`judge` compares a learner's answer with the expected one after bringing both to one
form: exception names (or classes) and words ignore case, dates may be given as
``"YYYY-MM-DD"``, a `date` or a `datetime`, numbers as ``int`` (or digits), booleans
as ``True``/``False`` (or yes/no). The exercises themselves, and how their expected
answers are computed, are in `kmssim.lessons.exercises`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kmssim.core.errors import KMSError

__all__ = ["Exercise", "Verdict", "judge", "normalise"]


@dataclass(frozen=True, slots=True)
class Exercise:
    """One exercise: the answer's kind, a hint, why the answer is what it is, a solver.

    ``material``, when given, produces what the learner reads to answer (a CloudTrail
    record, a table) from the same scenario the solver runs; `teach.material` prints it.
    """

    exercise_id: str
    kind: str                      # "error", "int", "date", "bool" or "text"
    hint: str
    why: str
    solve: Callable[[], Any]
    material: Callable[[], str] | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking one answer: ``status`` and the message `check` prints."""

    status: str                    # "unanswered", "right" or "wrong"
    message: str

    @property
    def right(self) -> bool:
        return self.status == "right"


def normalise(kind: str, answer: Any) -> Any:
    """``answer`` in the form the exercise compares, or raise TypeError with advice."""
    if kind == "error":
        if isinstance(answer, type) and issubclass(answer, KMSError):
            return answer.code
        if isinstance(answer, KMSError):
            return answer.code
        if isinstance(answer, str) and answer.strip():
            return answer.strip()
        raise TypeError("Answer with the exception's name, e.g. \"NotFoundException\".")
    if kind == "int":
        if isinstance(answer, int) and not isinstance(answer, bool):
            return answer
        if isinstance(answer, str) and answer.strip().isdigit():
            return int(answer.strip())
        raise TypeError("Answer with a whole number, e.g. 3.")
    if kind == "date":
        if isinstance(answer, datetime):
            return answer.date()
        if isinstance(answer, date):
            return answer
        if isinstance(answer, str):
            try:
                return date.fromisoformat(answer.strip()[:10])
            except ValueError:
                pass
        raise TypeError("Answer with a date such as \"2026-01-31\" (year-month-day).")
    if kind == "bool":
        if isinstance(answer, bool):
            return answer
        words = {"true": True, "yes": True, "false": False, "no": False}
        if isinstance(answer, str) and answer.strip().lower() in words:
            return words[answer.strip().lower()]
        raise TypeError("Answer with True or False.")
    if isinstance(answer, str) and answer.strip():
        return answer.strip()
    raise TypeError("Answer with a word, in quotes, e.g. \"Enabled\".")


def judge(exercise: Exercise, answer: Any, want: Callable[[], Any]) -> Verdict:
    """The verdict on ``answer``; ``want()`` gives the expected answer (only if needed)."""
    name = exercise.exercise_id
    if answer is None:
        return Verdict("unanswered", f"Exercise {name}: not answered yet — hint: {exercise.hint}")
    try:
        given = normalise(exercise.kind, answer)
    except TypeError as advice:
        return Verdict("wrong", f"Exercise {name}: {advice}")
    expected = want()
    same = (given.lower() == str(expected).lower() if isinstance(given, str)
            else given == expected)
    if same:
        why = exercise.why[:1].upper() + exercise.why[1:]
        return Verdict("right", f"Exercise {name}: right! {why}")
    return Verdict("wrong", f"Exercise {name}: not quite ({answer!r}) — hint: {exercise.hint}")
