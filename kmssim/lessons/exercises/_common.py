"""What the exercise scenarios share: a fresh seeded simulator and small shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag

from kmssim.core import KMS, KMSError
from kmssim.core.errors import ParamValidationError

START = datetime(2025, 1, 1, tzinfo=UTC)


def sim(start: datetime = START) -> KMS:
    """A fresh simulator with the exercises' own seed: every answer is reproducible."""
    return KMS(seed="exercises", start=start)


def error_code(call: Callable[[], Any]) -> str | None:
    """The AWS error code ``call`` fails with, or None if it succeeds.

    A failed local AES-GCM check (cryptography's InvalidTag) answers "InvalidTag", and a
    parameter botocore would refuse before sending answers "ParamValidationError".
    """
    try:
        call()
    except KMSError as error:
        return error.code
    except InvalidTag:
        return "InvalidTag"
    except ParamValidationError:
        return "ParamValidationError"
    return None


def new_key(kms: KMS, **kwargs: Any) -> str:
    """Create a key and return its id."""
    return str(kms.create_key(**kwargs)["KeyMetadata"]["KeyId"])


def rotating_key(kms: KMS, period: int = 365) -> str:
    """Create a key with automatic rotation every ``period`` days and return its id."""
    key_id = new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=period)
    return key_id
