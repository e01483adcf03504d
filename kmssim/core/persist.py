"""Save and load a whole scenario as versioned JSON, written atomically.

A workshop can checkpoint a simulator and resume it later, or hand attendees the
same starting point. The file holds everything: keys with every version of their
material, aliases, the clock and its queue, the audit trail and the position of the
seeded random stream, so a loaded simulator continues exactly as the saved one would.

Format version 2 adds two integrity checks against accidental edits (a stray
keystroke, a bad merge, a truncated copy), so that a damaged file is refused with a
`CorruptScenarioError` naming what is wrong instead of loading a simulator that fails
later or decrypts wrongly:

- ``digest``: ``"sha256:"`` and the SHA-256 of the canonical JSON of every other member
  (sorted keys, no spaces, ASCII). Any edit of the content changes it.
- a check value beside each key material (`kmssim.core.schema.check_value`), binding
  the secret to its key and material ids;
- and, behind both, a strict schema (`kmssim.core.schema.check`): every member's JSON
  type, ranges, time zones, id shapes, references between keys, aliases and materials.

Neither is a signature: anyone with the file can recompute them. They protect against
accidents, not against someone who means to change the file. Version 1 files (no
digest, no check values) are still read, through the same schema.

Format version 3 stores the audit trail column-wise, written straight from the trail's
packed events (`kmssim.core.trail.AuditTrail.columns`):
``"trail": {"values": [...], "columns": [[...] x 10]}``. ``values`` holds each distinct
JSON value of the trail once (times as ISO 8601 text, requests and responses as
objects, names, ARNs, null); the ten columns (time, name, event type, principal, key
ARN, request, response, error code, error message, key material id) hold, per event in
order, the index of its value; an event's sequence number is its position. A trail of
100,000 similar calls takes about 2 MB instead of 40. The schema checks the columns
(same length, indexes in range) and then every event as in version 2; version 2
files (one array per event) are still read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from kmssim.core import policy, schema
from kmssim.core.entropy import Entropy
from kmssim.core.errors import CorruptScenarioError, ScenarioFileError
from kmssim.core.keys import ImportInfo, Key, KeyMaterial, StateChange
from kmssim.core.ops.grants import Grant
from kmssim.core.state import Service
from kmssim.core.trail import AuditEvent

# The simulator class to build: persistence works on the state every simulator has
# (`Service`) and receives the class to build, so it never imports the facade.
S = TypeVar("S", bound=Service)

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION"]

FORMAT = "kmssim-scenario"
FORMAT_VERSION = 3
#: The older versions `load` still reads.
READABLE_VERSIONS = (1, 2, 3)


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
                       base64.b64encode(m.secret).decode(),
                       schema.check_value(key.key_id, m.material_id, m.secret)]
                      for m in key.materials],
        "rotation_enabled": key.rotation_enabled,
        "rotation_period_days": key.rotation_period_days,
        "rotation_anchor": _time(key.rotation_anchor), "next_rotation": _time(key.next_rotation),
        "on_demand_rotations": key.on_demand_rotations,
        "deletion_date": _time(key.deletion_date), "pending_window_days": key.pending_window_days,
        "tags": key.tags, "policy": key.policy, "ordinal": key.ordinal,
        "history": [[_time(c.at), c.state] for c in key.history],
        # Added with imported key material (optional when loading: older files lack them).
        "origin": key.origin,
        "imports": {mid: [i.description, i.expiration_model, _time(i.valid_to), i.imported]
                    for mid, i in key.imports.items()},
        "pending": None if key.pending is None else _material_to_json(key.pending),
        # Added with multi-Region keys (optional when loading).
        "multi_region": key.multi_region, "primary_region": key.primary_region,
        "replica_regions": list(key.replica_regions),
    }


def _material_to_json(m: KeyMaterial) -> list[Any]:
    return [m.material_id, _time(m.created), m.rotation_type,
            base64.b64encode(m.secret).decode()]


def _key_from_json(data: dict[str, Any]) -> Key:
    materials = [KeyMaterial(mid, _at(created), rtype, base64.b64decode(secret))
                 for mid, created, rtype, secret, *_ in data["materials"]]
    origin = data.get("origin", "AWS_KMS")
    if not materials and origin != "EXTERNAL":
        raise ValueError("a key without key material")
    pending = data.get("pending")
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
               history=[StateChange(_at(at), state) for at, state in data["history"]],
               origin=origin,
               imports={mid: ImportInfo(desc, model, _parse_time(valid_to), bool(imported))
                        for mid, (desc, model, valid_to, imported)
                        in data.get("imports", {}).items()},
               pending=None if pending is None else KeyMaterial(
                   pending[0], _at(pending[1]), pending[2], base64.b64decode(pending[3])),
               multi_region=bool(data.get("multi_region", False)),
               primary_region=data.get("primary_region"),
               replica_regions=list(data.get("replica_regions", [])))


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
        "principal": kms._principal,   # the default, not an acting_as block's
        "keys": [_key_to_json(k) for k in kms._keys.values()],
        "deleted": [_key_to_json(k) for k in kms._deleted.values()],
        "aliases": [[name, key_id, _time(created), _time(updated)]
                    for name, (key_id, created, updated) in kms._aliases.items()],
        "trail": _trail_to_json(kms),
        # Who may do what (key policies are saved with their keys): IAM users and roles
        # with their identity policies, and the grants.
        "iam": kms.iam.to_json(),
        "grants": [g.to_json() for g in kms._grants.values()],
    }


def _trail_to_json(kms: Service) -> dict[str, Any]:
    values, columns = kms.trail.columns()
    return {"values": values, "columns": columns}


def save(kms: Service, path: str | os.PathLike[str]) -> None:
    """Write ``kms`` to ``path``: a temporary file in the same folder, then a rename,
    so the file on disk is always either the old scenario or the whole new one.

    The file is created with mode 0600 (owner only): it holds key material. Temporary
    files that an earlier, killed save to the same path left behind are removed first.
    Any failure to write (missing folder, a directory, no permission, a NUL in the
    path) is a `ScenarioFileError` naming the path and the reason.
    """
    try:
        target = Path(path)
        folder = target.parent
        if "\x00" in str(target):
            raise ValueError("the path contains a NUL character")
        if target.is_dir():
            raise IsADirectoryError(21, "Is a directory")
    except (TypeError, ValueError, OSError) as error:
        raise ScenarioFileError(f"Cannot save the scenario to {str(path)!r}: "
                                f"{_reason(error)}") from None
    scenario = _scenario(kms)
    scenario["digest"] = digest(scenario)
    try:
        _remove_abandoned(target)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.",
                                             suffix=".tmp")   # mode 0600
    except OSError as error:
        raise ScenarioFileError(f"Cannot save the scenario to {str(path)!r}: "
                                f"{_reason(error)}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            _hold(out.fileno())   # tells a later save that this file is not abandoned
            for chunk in _json_chunks(scenario, sort=False):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            os.replace(temporary, target)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ScenarioFileError(f"Cannot save the scenario to {str(path)!r}: "
                                    f"{_reason(error)}") from None
        raise


def digest(scenario: dict[str, Any]) -> str:
    """The integrity digest of a scenario's JSON data: SHA-256 over the canonical JSON
    of every member but ``digest`` itself. A check against accidental edits, not a
    signature."""
    content = {name: value for name, value in scenario.items() if name != "digest"}
    hashed = hashlib.sha256()
    for chunk in _json_chunks(content, sort=True):
        hashed.update(chunk.encode("ascii"))
    return "sha256:" + hashed.hexdigest()


def _json_chunks(value: Any, *, sort: bool, depth: int = 3) -> Iterator[str]:
    """The compact JSON text of ``value`` (ASCII; keys sorted if ``sort``), in pieces:
    joined, exactly ``json.dumps(value, separators=(",", ":"), sort_keys=sort)``. The
    outer objects and arrays (``depth`` levels) are written member by member, so that
    neither saving nor the digest holds the whole text of a large scenario at once."""
    if depth and type(value) is dict:
        yield "{"
        for at, (name, item) in enumerate(sorted(value.items()) if sort else value.items()):
            yield ("," if at else "") + json.dumps(name) + ":"
            yield from _json_chunks(item, sort=sort, depth=depth - 1)
        yield "}"
    elif depth and type(value) is list:
        yield "["
        for at, item in enumerate(value):
            if at:
                yield ","
            yield from _json_chunks(item, sort=sort, depth=depth - 1)
        yield "]"
    else:
        yield json.dumps(value, sort_keys=sort, separators=(",", ":"), default=_time)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        names = [name for name, _ in pairs]
        twice = next(name for name in names if names.count(name) > 1)
        raise CorruptScenarioError(f"member {twice!r} appears twice in one object")
    return data


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

def _hold(descriptor: int) -> None:
    """Lock the temporary file being written, for as long as this process lives."""
    if fcntl is not None:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _remove_abandoned(target: Path) -> None:
    """Remove the temporary files of saves to ``target`` that were killed mid-write
    (they hold key material): those no live process holds a lock on. Without POSIX
    file locks there is no telling a killed save from a running one: nothing is removed."""
    if fcntl is None:  # pragma: no cover - not POSIX
        return
    for leftover in target.parent.glob(f".{_glob_escape(target.name)}.*.tmp"):
        try:
            descriptor = os.open(leftover, os.O_RDONLY)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue          # a save in progress in another process
            else:
                leftover.unlink(missing_ok=True)
            finally:
                os.close(descriptor)
        except OSError:
            continue


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _trail_from_columns(kms: Service, trail: dict[str, Any]) -> None:
    """Add the events of a format-3 trail (checked by the schema) to ``kms.trail``,
    packed as they were, with each distinct time parsed once."""
    values = trail["values"]
    times: dict[int, datetime] = {}
    add, region, account = kms.trail.add, kms.region, kms.account_id
    for (time, name, etype, principal, arn, request, response, code, message,
         material) in zip(*trail["columns"]):
        when = times.get(time)
        if when is None:
            when = times[time] = _at(values[time])
        add(when, values[name], values[etype], values[principal], values[arn],
            values[request], values[response], values[code], values[message],
            values[material], region, account)


def _no_constant(name: str) -> Any:
    raise CorruptScenarioError(f"{name} is not a number kmssim writes")


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
    where = repr(str(path))
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates,
                          parse_constant=_no_constant)
    except CorruptScenarioError as error:
        raise CorruptScenarioError(f"Scenario {where} is damaged: {error.message}") from None
    except (OSError, ValueError, TypeError, RecursionError) as error:
        # ValueError: bad UTF-8, bad JSON, a NUL in the path, an integer over 4,300 digits
        raise CorruptScenarioError(f"Cannot read scenario {where}: {_reason(error)}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CorruptScenarioError(f"{where} is not a kmssim scenario file.")
    version = data.get("version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise CorruptScenarioError(
            f"{where} is scenario format version {version!r}; this kmssim reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}.")
    try:
        schema.check(data, version=version)
    except CorruptScenarioError as error:
        raise CorruptScenarioError(f"Scenario {where} is damaged: {error.message}") from None
    except RecursionError:
        raise CorruptScenarioError(f"Scenario {where} is damaged: nested too deeply") from None
    if version >= 2 and data["digest"] != digest(data):
        raise CorruptScenarioError(
            f"Scenario {where} was changed after kmssim saved it: its digest does not match "
            "its content. (The digest guards against accidental edits; re-save the "
            "scenario from a simulator rather than editing the file.)")
    try:
        kms = factory(seed=None, start=_parse_time(data["now"]), region=data["region"],
                  account_id=data["account_id"])
        kms.entropy = Entropy(_seed(data["seed"]), data["stream_position"],
                              scope=(kms.region, kms.account_id))
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
        for key in [*kms._keys.values(), *kms._deleted.values()]:
            if key.policy is not None:   # a key policy must still be a valid document
                policy.parse(key.policy)
        # Scenarios saved before policies and grants existed have neither section.
        kms.iam.restore(data.get("iam", []))
        kms._grants = {g.grant_id: g for g in map(Grant.from_json, data.get("grants", []))}
        for grant in kms._grants.values():
            if grant.key_id not in kms._keys:
                raise ValueError(f"grant {grant.grant_id} is for a missing key")
        if version >= 3:
            _trail_from_columns(kms, data["trail"])
        else:
            for row in data["trail"]:
                sequence, time, name, etype, principal, arn, request, response, code, \
                    message, material = row
                kms.trail.append(AuditEvent(sequence, _at(time), name, etype, principal, arn,
                                            request, response, code, message, material,
                                            kms.region, kms.account_id))
    except CorruptScenarioError:
        raise
    except Exception as error:  # any malformed field: report the file, never a raw traceback
        raise CorruptScenarioError(
            f"Scenario {str(path)!r} is damaged: {type(error).__name__}: {error}") from None
    return kms
