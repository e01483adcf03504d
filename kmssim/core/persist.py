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

Format version 4 makes a large scenario about a third of the size of version 3 (a
fleet of 1,000 keys x 41 versions with 100,000 events: 8 MiB instead of 26) by writing
each repeated value once:

- ``values``: a top-level array of every distinct value the keys' materials and the
  trail use (material ids, times as ISO 8601 text, names, ARNs, error messages, and
  the members of requests and responses, a context object being one value). Everything
  below that says "index" means a position in this array.
- each key's ``materials`` is an object of parallel arrays, one entry per material,
  oldest first: ``ids``, ``created`` and ``rotation`` (indexes), ``secrets`` (base64)
  and one ``check`` for the key: the check value of version 2, computed over every
  material id and secret of the key in order (`kmssim.core.schema.key_check_value`)
  instead of once per material.
- the ``trail`` is ``{"shapes": [...], "records": [...], "columns": [...]}``: a shape is
  the list of member names of a request or response; a record is ``null`` or
  ``[shape, index, ...]`` (one index per member, in the shape's order), each distinct
  request or response once; the ten columns of version 3 hold indexes into ``records``
  (request, response) or ``values`` (the other eight), and each column is run-length
  coded: an entry is an index (one event) or ``[index, count]`` (``count`` >= 2 events
  in a row with that index).

The schema checks every index and run before it builds any event, then each event and
key exactly as in version 3. Versions 1 to 3 are still read (a file saved again is
written as version 4).
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
FORMAT_VERSION = 4
#: The older versions `load` still reads.
READABLE_VERSIONS = (1, 2, 3, 4)


class _Values:
    """The ``values`` table of a format-4 file being written: each distinct value once,
    in order of first use. Scalars are told apart by type (``1``, ``1.0`` and ``true``
    are different values; a string is its own key, every other key a tuple); objects and
    arrays by their JSON text."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] = {}

    def add(self, value: Any) -> int:
        kind = type(value)
        key = value if kind is str else (kind, value) if kind in _SCALARS else \
            ("j", json.dumps(value, default=str))
        at = self._index.get(key)
        if at is None:
            at = self._index[key] = len(self.values)
            self.values.append(value)
        return at


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else _at(value)


def _at(value: str) -> datetime:
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"time {value!r} has no time zone")
    return when


def _materials_to_json(key: Key, table: _Values) -> dict[str, Any]:
    materials = key.materials
    return {"ids": [table.add(m.material_id) for m in materials],
            "created": [table.add(_time(m.created)) for m in materials],
            "rotation": [table.add(m.rotation_type) for m in materials],
            "secrets": _Secrets(materials),
            "check": schema.key_check_value(key.key_id, [(m.material_id, m.secret)
                                                         for m in materials])}


class _Secrets:
    """A key's secrets as the array of their base64 text, made each time it is written
    (by `_json_chunks`, for the digest and then for the file) rather than held: a large
    scenario's secrets are a sixth of its file."""

    __slots__ = ("materials",)

    def __init__(self, materials: list[KeyMaterial]) -> None:
        self.materials = materials

    def text(self) -> list[str]:
        return [base64.b64encode(m.secret).decode() for m in self.materials]


def _unfold(value: Any) -> Any:
    """``default`` for `json.dumps`: a key's secrets as their array (for that one key
    while it is written), a time as ISO 8601 text."""
    return value.text() if type(value) is _Secrets else _time(value)


def _key_to_json(key: Key, table: _Values) -> dict[str, Any]:
    return {
        "key_id": key.key_id, "arn": key.arn, "created": _time(key.created),
        "key_spec": key.key_spec, "key_usage": key.key_usage, "description": key.description,
        "manager": key.manager, "state": key.state,
        "materials": _materials_to_json(key, table),
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


def _key_from_json(data: dict[str, Any], values: list[Any] | None = None) -> Key:
    """A key from its JSON; ``values`` is a format-4 file's table (None before version 4)."""
    rows = data["materials"] if values is None else schema.material_rows(data["materials"],
                                                                         values)
    materials = [KeyMaterial(mid, _at(created), rtype, base64.b64decode(secret))
                 for mid, created, rtype, secret, *_ in rows]
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


def _keys_from_json(group: list[Any], values: list[Any] | None) -> Iterator[Key]:
    """The keys of a ``keys`` or ``deleted`` array, each key's JSON dropped from ``group``
    once its key is built (the parsed secrets are not held beside the built ones)."""
    for at, data in enumerate(group):
        group[at] = None
        yield _key_from_json(data, values)


def _event_to_json(event: AuditEvent) -> list[Any]:
    return [event.sequence, _time(event.time), event.name, event.event_type, event.principal,
            event.key_arn, event.request, event.response, event.error_code,
            event.error_message, event.key_material_id]


def _scenario(kms: Service) -> dict[str, Any]:
    seed = kms.entropy.seed
    table = _Values()
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
        "keys": [_key_to_json(k, table) for k in kms._keys.values()],
        "deleted": [_key_to_json(k, table) for k in kms._deleted.values()],
        "aliases": [[name, key_id, _time(created), _time(updated)]
                    for name, (key_id, created, updated) in kms._aliases.items()],
        "trail": _trail_to_json(kms, table),
        # Who may do what (key policies are saved with their keys): IAM users and roles
        # with their identity policies, and the grants.
        "iam": kms.iam.to_json(),
        "grants": [g.to_json() for g in kms._grants.values()],
        # Last: every value the materials and the trail above refer to by index.
        "values": table.values,
    }


class _Runs:
    """One format-4 trail column being written: run-length coded as it grows."""

    __slots__ = ("coded", "previous", "count")

    def __init__(self) -> None:
        self.coded: list[Any] = []
        self.previous, self.count = -1, 0

    def add(self, at: int) -> None:
        if at == self.previous:
            self.count += 1
            return
        self.close()
        self.previous, self.count = at, 1

    def close(self) -> None:
        if self.count:
            self.coded.append(self.previous if self.count == 1 else [self.previous, self.count])
            self.count = 0


def _trail_to_json(kms: Service, table: _Values) -> dict[str, Any]:
    """The trail in format 4, in one pass over its packed events (`AuditTrail.rows`):
    each value becomes one entry of ``table``, each distinct request or response one
    record (a tuple of indexes, which is also its own key for finding it again, so
    nothing of the trail's own objects is held), and the columns are run-length coded
    as they are written."""
    shapes: list[list[str]] = []
    shape_index: dict[tuple[str, ...], int] = {}
    records: list[Any] = [None]    # record 0: no request (or no response)
    record_index: dict[tuple[int, ...], int] = {}
    contexts: dict[tuple[tuple[str, str], ...], int] = {}
    times: dict[Any, int] = {}
    add = table.add

    def value(item: Any) -> int:
        if type(item) is tuple:     # a flat context as the trail shares it: its pairs
            at = contexts.get(item)
            if at is None:
                at = contexts[item] = add(dict(item))
            return at
        return add(item)

    def record(packed: Any) -> int:
        if packed is None:
            return 0
        _, names, values = packed
        shape = shape_index.get(names)
        if shape is None:
            shape = shape_index[names] = len(shapes)
            shapes.append(list(names))
        made = (shape, *map(value, values))
        at = record_index.get(made)
        if at is None:
            at = record_index[made] = len(records)
            records.append(made)
        return at

    columns = [_Runs() for _ in range(10)]
    (c_time, c_name, c_type, c_principal, c_arn, c_request, c_response, c_code, c_message,
     c_material) = (column.add for column in columns)
    for time, name, etype, principal, arn, request, response, code, message, material \
            in kms.trail.rows():
        key = (time, time.tzinfo)
        at = times.get(key)
        if at is None:
            at = times[key] = add(time.isoformat())
        c_time(at)
        c_name(add(name))
        c_type(add(etype))
        c_principal(add(principal))
        c_arn(add(arn))
        c_request(record(request))
        c_response(record(response))
        c_code(add(code))
        c_message(add(message))
        c_material(add(material))
    for column in columns:
        column.close()
    return {"shapes": shapes, "records": records, "columns": [c.coded for c in columns]}


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
    neither saving nor the digest holds the whole text of a large scenario at once; a
    key's secrets (`_Secrets`) are encoded as that key is written."""
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
        yield json.dumps(value, sort_keys=sort, separators=(",", ":"), default=_unfold)


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


def _trail_from_records(kms: Service, trail: dict[str, Any], values: list[Any]) -> None:
    """Add the events of a format-4 trail (checked by the schema) to ``kms.trail``, each
    distinct time parsed once (`AuditTrail.add` keeps a request's values, not its dict,
    so a record's dict is made for the call and dropped, once per run of equal ones)."""
    times: dict[int, datetime] = {}
    requests = schema.record_builder(trail, values)
    responses = schema.record_builder(trail, values)
    add, region, account = kms.trail.add, kms.region, kms.account_id
    for (time, name, etype, principal, arn, request, response, code, message,
         material) in zip(*map(schema.expand_runs, trail["columns"])):
        when = times.get(time)
        if when is None:
            when = times[time] = _at(values[time])
        add(when, values[name], values[etype], values[principal], values[arn],
            requests(request), responses(response), values[code], values[message],
            values[material], region, account)


class _Integers(dict[str, int]):
    """``parse_int`` for `json.loads`: each distinct integer of the file made once. A
    format-4 file refers to its values by index, the same index many times, and a
    parsed integer above 256 is otherwise a new object each time it appears."""

    def __call__(self, text: str) -> int:
        number = self.get(text)
        if number is None:
            number = self[text] = int(text)
        return number


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
                          parse_constant=_no_constant, parse_int=_Integers())
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
        values = data["values"] if version >= 4 else None
        kms._keys = {k.key_id: k for k in _keys_from_json(data["keys"], values)}
        kms._deleted = {k.key_id: k for k in _keys_from_json(data["deleted"], values)}
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
        if version >= 4:
            _trail_from_records(kms, data["trail"], data["values"])
        elif version == 3:
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
