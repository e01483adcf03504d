"""What Secrets Manager stores for one secret: its versions, their staging labels and
its rotation settings. Shared by the API (`secretsmanager`) and the rotation engine
(`secrets_rotation`), so neither imports the other's internals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmssim.core.envelope import SealedRecord

__all__ = ["SecretRecord", "SecretVersion"]


@dataclass(slots=True)
class SecretVersion:
    version_id: str
    created: datetime
    record: SealedRecord | None          # None: an empty version a rotation has started
    binary: bool = False
    stages: list[str] = field(default_factory=list)
    last_accessed: datetime | None = None


@dataclass(slots=True)
class SecretRecord:
    name: str
    arn: str
    created: datetime
    description: str
    kms_key_id: str | None                # as given; None means aws/secretsmanager
    tags: list[dict[str, str]]
    versions: dict[str, SecretVersion] = field(default_factory=dict)
    last_changed: datetime | None = None
    last_accessed: datetime | None = None
    rotation_enabled: bool = False
    rotation_function: Any = None        # a callable, or a Lambda function name/ARN
    rotation_days: int | None = None
    last_rotated: datetime | None = None
    next_rotation: datetime | None = None  # when the next scheduled rotation runs (in its window)
    window_hours: int | None = None      # RotationRules Duration; None: to the end of the UTC day
    window_end: datetime | None = None   # end of the next rotation window (NextRotationDate)
    retry_at: datetime | None = None     # when a failed rotation is retried, if it will be
    retries_done: int = 0                # retries of the current failed rotation so far

    def holder(self, stage: str) -> SecretVersion | None:
        """The version carrying ``stage``, if any."""
        return next((v for v in self.versions.values() if stage in v.stages), None)
