"""Lesson 1 (envelope encryption): exercises, and the scenarios that answer them."""

from __future__ import annotations

from kmssim.core.envelope import seal, unseal
from kmssim.lessons.checks import Exercise
from kmssim.lessons.exercises._common import error_code, new_key, sim

__all__ = ["EXERCISES"]


def _context_case() -> str | None:
    kms = sim()
    record = seal(kms, new_key(kms), b"order 1001", {"order": "1001"})
    return error_code(lambda: unseal(kms, record, {"Order": "1001"}))


def _encrypt_too_big() -> str | None:
    kms = sim()
    key_id = new_key(kms)
    return error_code(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x" * 5000))


def _calls_to_read_one_mb() -> int:
    kms = sim()
    record = seal(kms, new_key(kms), b"x" * 1_000_000)
    before = len(kms.trail)
    unseal(kms, record)
    return len(kms.trail) - before


EXERCISES = (
    Exercise("1.1", "error",
        "Try it: teach.attempt(lambda: unseal(kms, record, {\"Table\": \"orders\", "
        "\"order_id\": \"1001\"})). Is \"Table\" the same label as \"table\"?",
        "a context that differs in any way, even only in case, fails authentication.",
        _context_case),
        Exercise("1.2", "error",
        "Encrypt takes at most 4,096 bytes. Try kms.encrypt(KeyId=key_id, "
        "Plaintext=b\"x\" * 5000) inside teach.attempt.",
        "the request is rejected before any key is used; that size limit is why large "
        "data is encrypted locally with a data key.",
        _encrypt_too_big),
        Exercise("1.3", "int",
        "Count the events kms.trail gains while unseal() runs: len(kms.trail) before "
        "and after.",
        "KMS only decrypts the small data key; the megabyte is decrypted locally.",
        _calls_to_read_one_mb),
)
