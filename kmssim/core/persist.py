"""Save and load a whole scenario as versioned JSON, written atomically.

A workshop can checkpoint a simulator and resume it later, or hand attendees the
same starting point. The file holds everything: keys with every version of their
material, aliases, the clock and its queue, the audit trail and the position of the
seeded random stream, so a loaded simulator continues exactly as the saved one would.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from kmssim.core.entropy import Entropy
from kmssim.core.errors import CorruptScenarioError
from kmssim.core.keys import Key, KeyMaterial, StateChange
from kmssim.core.ops.grants import Grant
from kmssim.core.state import Service
from kmssim.core.trail import AuditEvent

# The simulator class to build: persistence works on the state every simulator has
# (`Service`) and receives the class to build, so it never imports the facade.
S = TypeVar("S", bound=Service)

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION"]

FORMAT = "kmssim-scenario"
FORMAT_VERSION = 1


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else _at(value)


def _at(value: str) -> datetime:
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone")
    return when


def _key_to_json(key: Key) -> dict[str, Any]:
    return {
        "key_id": key.key_id, "arn": key.arn, "created": _time(key.created),
        "key_spec": key.key_spec, "key_usage": key.key_usage, "description": key.description,
        "manager": key.manager, "state": key.state,
        "materials": [[m.material_id, _time(m.created), m.rotation_type,
                       base64.b64encode(m.secret).decode()] for m in key.materials],
        "rotation_enabled": key.rotation_enabled,
        "rotation_period_days": key.rotation_period_days,
        "rotation_anchor": _time(key.rotation_anchor), "next_rotation": _time(key.next_rotation),
        "on_demand_rotations": key.on_demand_rotations,
        "deletion_date": _time(key.deletion_date), "pending_window_days": key.pending_window_days,
        "tags": key.tags, "policy": key.policy, "ordinal": key.ordinal,
        "history": [[_time(c.at), c.state] for c in key.history],
    }


def _key_from_json(data: dict[str, Any]) -> Key:
    materials = tuple(KeyMaterial(mid, _at(created), rtype, base64.b64decode(secret))
                      for mid, created, rtype, secret in data["materials"])
    if not materials:
        raise ValueError("a key without key material")
    return Key(data["key_id"], data["arn"], _at(data["created"]), data["key_spec"],
               data["key_usage"], data["description"], data["manager"], materials,
               state=data["state"], rotation_enabled=data["rotation_enabled"],
               rotation_period_days=data["rotation_period_days"],
               rotation_anchor=_parse_time(data["rotation_anchor"]),
               next_rotation=_parse_time(data["next_rotation"]),
               on_demand_rotations=data["on_demand_rotations"],
               deletion_date=_parse_time(data["deletion_date"]),
               pending_window_days=data["pending_window_days"], tags=dict(data["tags"]),
               policy=data["policy"], ordinal=int(data["ordinal"]),
               history=[StateChange(_at(at), state) for at, state in data["history"]])


def _event_to_json(event: AuditEvent) -> list[Any]:
    return [event.sequence, _time(event.time), event.name, event.event_type, event.principal,
            event.key_arn, event.request, event.response, event.error_code,
            event.error_message, event.key_material_id]


def _scenario(kms: Service) -> dict[str, Any]:
    seed = kms.entropy.seed
    return {
        "format": FORMAT, "version": FORMAT_VERSION,
        "region": kms.region, "account_id": kms.account_id,
        "now": _time(kms.now),
        "queue": [[_time(e.due), e.kind, e.key_id] for e in kms.clock.pending()],
        "seed": (None if seed is None else
                 {"type": type(seed).__name__,
                  "value": base64.b64encode(seed).decode() if isinstance(seed, bytes)
                  else seed}),
        "stream_position": kms.entropy.position,
        "invocations": kms._invocations,
        "principal": kms.principal,
        "keys": [_key_to_json(k) for k in kms._keys.values()],
        "deleted": [_key_to_json(k) for k in kms._deleted.values()],
        "aliases": [[name, key_id, _time(created), _time(updated)]
                    for name, (key_id, created, updated) in kms._aliases.items()],
        "trail": [_event_to_json(e) for e in kms.trail],
        # Who may do what (key policies are saved with their keys): IAM users and roles
        # with their identity policies, and the grants.
        "iam": kms.iam.to_json(),
        "grants": [g.to_json() for g in kms._grants.values()],
    }


def save(kms: Service, path: str | os.PathLike[str]) -> None:
    """Write ``kms`` to ``path``: a temporary file in the same folder, then a rename,
    so the file on disk is always either the old scenario or the whole new one."""
    target = Path(path)
    text = json.dumps(_scenario(kms), separators=(",", ":"), default=_time)
    handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _seed(data: dict[str, Any] | None) -> int | str | bytes | None:
    if data is None:
        return None
    kind, value = data["type"], data["value"]
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "int":
        return int(value)
    if kind == "str":
        return str(value)
    raise ValueError(f"unknown seed type {kind!r}")


def load(factory: Callable[..., S], path: str | os.PathLike[str]) -> S:
    """Build a simulator with ``factory`` (the simulator class) from a file written by `save`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptScenarioError(f"Cannot read scenario {str(path)!r}: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CorruptScenarioError(f"{str(path)!r} is not a kmssim scenario file.")
    if data.get("version") != FORMAT_VERSION:
        raise CorruptScenarioError(
            f"{str(path)!r} is scenario format version {data.get('version')!r}; this kmssim "
            f"reads version {FORMAT_VERSION}.")
    try:
        kms = factory(seed=None, start=_parse_time(data["now"]), region=data["region"],
                  account_id=data["account_id"])
        kms.entropy = Entropy(_seed(data["seed"]), data["stream_position"])
        kms._invocations = int(data["invocations"])
        kms._principal = data["principal"]
        kms._keys = {k.key_id: k for k in map(_key_from_json, data["keys"])}
        kms._deleted = {k.key_id: k for k in map(_key_from_json, data["deleted"])}
        kms._aliases = {name: (key_id, _at(created), _at(updated))
                        for name, key_id, created, updated in data["aliases"]}
        for name, (key_id, _, _) in kms._aliases.items():
            if key_id not in kms._keys:
                raise ValueError(f"alias {name} points to a missing key")
        kms.clock.restore(_at(data["now"]),
                          [(_at(due), kind, key_id) for due, kind, key_id in data["queue"]])
        # Scenarios saved before policies and grants existed have neither section.
        kms.iam.restore(data.get("iam", []))
        kms._grants = {g.grant_id: g for g in map(Grant.from_json, data.get("grants", []))}
        for grant in kms._grants.values():
            if grant.key_id not in kms._keys:
                raise ValueError(f"grant {grant.grant_id} is for a missing key")
        for row in data["trail"]:
            sequence, time, name, etype, principal, arn, request, response, code, message, \
                material = row
            kms.trail.append(AuditEvent(sequence, _at(time), name, etype, principal, arn,
                                        request, response, code, message, material,
                                        kms.region, kms.account_id))
    except CorruptScenarioError:
        raise
    except Exception as error:  # any malformed field: report the file, never a raw traceback
        raise CorruptScenarioError(
            f"Scenario {str(path)!r} is damaged: {type(error).__name__}: {error}") from None
    return kms
