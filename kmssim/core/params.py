"""Checks of request parameters, worded like AWS's validation errors.

Each function returns the value in the form the operations use, or raises
`ValidationException` naming the parameter, the way the real service reports
``1 validation error detected: Value at 'x' failed to satisfy constraint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kmssim.core.errors import ValidationException

__all__ = ["blob", "context", "integer", "choice", "text", "flag"]


def _fail(name: str, constraint: str) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value at '{name[0].lower()}{name[1:]}' "
        f"failed to satisfy constraint: {constraint}")


def blob(name: str, value: Any, *, low: int = 1, high: int) -> bytes:
    """Bytes of length ``low``..``high``; ``str`` is taken as UTF-8, as botocore does."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif type(value) is not bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ValidationException(
                f"Invalid type for parameter {name}, value: {value!r}, type: "
                f"{type(value).__name__}, valid types: bytes, bytearray, str")
        value = bytes(value)
    if len(value) < low:
        raise _fail(name, f"Member must have length greater than or equal to {low}")
    if len(value) > high:
        raise _fail(name, f"Member must have length less than or equal to {high}")
    return value


def context(name: str, value: Any) -> dict[str, str] | None:
    """An encryption context: a mapping of non-empty strings to strings (None if empty)."""
    if value is None:
        return None
    if type(value) is not dict and not isinstance(value, Mapping):
        raise ValidationException(
            f"Invalid type for parameter {name}, type: {type(value).__name__}, "
            "valid types: dict (a map of strings to strings)")
    for key, val in value.items():
        if not isinstance(key, str) or not isinstance(val, str):
            raise ValidationException(
                f"Invalid type in {name}: every key and value must be a string, got "
                f"{key!r}: {val!r}")
        if not key:
            raise _fail(name, "Keys must have length greater than or equal to 1")
    return dict(value) or None


def integer(name: str, value: Any, low: int, high: int) -> int:
    """An int in ``low``..``high`` (bools are refused, as botocore refuses them)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationException(
            f"Invalid type for parameter {name}, value: {value!r}, type: "
            f"{type(value).__name__}, valid types: int")
    if value < low:
        raise _fail(name, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise _fail(name, f"Member must have value less than or equal to {high}")
    return value


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``."""
    if value not in allowed:
        raise _fail(name, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return str(value)


def text(name: str, value: Any, *, low: int = 0, high: int = 8192) -> str:
    """A string of length ``low``..``high``."""
    if not isinstance(value, str):
        raise ValidationException(
            f"Invalid type for parameter {name}, value: {value!r}, type: "
            f"{type(value).__name__}, valid types: str")
    if not low <= len(value) <= high:
        raise _fail(name, f"Member must have length between {low} and {high}")
    return value


def flag(name: str, value: Any) -> bool:
    """A boolean."""
    if not isinstance(value, bool):
        raise ValidationException(
            f"Invalid type for parameter {name}, value: {value!r}, type: "
            f"{type(value).__name__}, valid types: bool")
    return value
