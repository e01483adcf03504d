"""What the core tests share: UTC dates, making a key, and a simulator's saved state."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kmssim import KMS


def utc(year: int, month: int = 1, day: int = 1, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    """An aware UTC datetime, the kind every kmssim date is."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def new_key(kms: KMS, **kwargs: Any) -> str:
    """Create a key (symmetric unless ``KeySpec`` says otherwise) and return its id."""
    return kms.create_key(**kwargs)["KeyMetadata"]["KeyId"]


def saved_state(kms: KMS, path: Path) -> dict[str, Any]:
    """Everything `KMS.save` writes (keys, materials, aliases, clock, queue, random-stream
    position, trail), read back as plain JSON data, without the file's digest (it is a
    hash of the rest, so callers that set the trail aside can compare what remains)."""
    kms.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("digest", None)
    return data
