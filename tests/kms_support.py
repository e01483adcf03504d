"""What the core tests share: UTC dates, making a key, and a simulator's saved state."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kmssim import KMS
from kmssim.core import persist, schema


def utc(year: int, month: int = 1, day: int = 1, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    """An aware UTC datetime, the kind every kmssim date is."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def new_key(kms: KMS, **kwargs: Any) -> str:
    """Create a key (symmetric unless ``KeySpec`` says otherwise) and return its id."""
    return kms.create_key(**kwargs)["KeyMetadata"]["KeyId"]


def saved_state(kms: KMS, path: Path) -> dict[str, Any]:
    """Everything `KMS.save` writes (keys, materials, aliases, clock, queue, random-stream
    position, trail as one list per event), read back as plain JSON data, without the file's digest (it is a
    hash of the rest, so callers that set the trail aside can compare what remains)."""
    kms.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("digest", None)
    # Format 4 refers to a table of values and stores the trail column-wise: give the
    # trail back one row per event, as format 2 wrote it, and each key's materials one
    # row each, so that callers can compare and slice them (the table goes: which values
    # it holds depends on the trail).
    values = data.pop("values")
    data["trail"] = list(schema.record_rows(data["trail"], values))
    for group in ("keys", "deleted"):
        for key in data[group]:
            key["materials"] = schema.material_rows(key["materials"], values)
    return data


def state_without_trail(kms: KMS) -> dict[str, Any]:
    """Everything `KMS.save` writes but the trail (keys with their materials one row each,
    aliases, clock and queue, the seeded stream's position, the nonce counter), as plain
    JSON data, without writing a file: what a refused call must leave unchanged."""
    data = json.loads(json.dumps(persist._scenario(kms), default=persist._unfold))
    values = data.pop("values")   # which values it holds depends on the trail
    data.pop("trail")
    for group in ("keys", "deleted"):
        for key in data[group]:
            key["materials"] = schema.material_rows(key["materials"], values)
    return data
