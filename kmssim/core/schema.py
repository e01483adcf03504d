"""The strict schema of a scenario file, checked before anything is built from it.

`check` walks the JSON a scenario file holds and raises `CorruptScenarioError` naming
the first thing that is not exactly what `kmssim.core.persist.save` writes: a member
missing or unknown, a value of the wrong JSON type (``true`` is not an int, ``1.0`` is
not an int), a number out of its range (``rotation_period_days`` within 90..2560), a
time without a time zone, an id of the wrong shape, an ARN that does not name its own
key, an alias pointing at no key, a key material id used twice, a material (format 2
and 3) or a key's materials (format 4) whose check value does not match the ids and
secrets, an index of a format-4 file outside its table, a history whose last state is
not the key's state. Together with the file's digest (see `persist`), this is what lets
``KMS.load`` refuse a damaged or edited file instead of building a simulator that
fails later, or decrypts wrongly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from kmssim.core.errors import CorruptScenarioError

__all__ = ["check", "check_value", "key_check_value", "TOP_MEMBERS"]

TOP_MEMBERS = frozenset({"format", "version", "digest", "region", "account_id", "now", "queue",
                         "seed", "stream_position", "invocations", "principal", "keys",
                         "deleted", "aliases", "trail"})
#: Sections added with permissions (`kmssim.core.iam`, `kmssim.core.ops.grants`): optional,
#: so that files written before them still load.
OPTIONAL_MEMBERS = frozenset({"iam", "grants"})
IDENTITY_MEMBERS = frozenset({"arn", "policies"})
GRANT_MEMBERS = frozenset({"grant_id", "key_id", "key_arn", "created", "grantee", "operations",
                           "issuing_account", "token", "name", "retiring", "constraints"})
KEY_MEMBERS = frozenset({"key_id", "arn", "created", "key_spec", "key_usage", "description",
                         "manager", "state", "materials", "rotation_enabled",
                         "rotation_period_days", "rotation_anchor", "next_rotation",
                         "on_demand_rotations", "deletion_date", "pending_window_days", "tags",
                         "policy", "ordinal", "history"})
#: Members added with imported material and multi-Region keys (branch rot25): optional,
#: so files written before them still load.
KEY_OPTIONAL_MEMBERS = frozenset({"origin", "imports", "pending", "multi_region",
                                  "primary_region", "replica_regions"})
_EXPIRATION_MODELS = frozenset({"KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"})
# key spec → (key usage, secret length in bytes or None for a DER private key)
SPECS = {"SYMMETRIC_DEFAULT": ("ENCRYPT_DECRYPT", 32),
         "RSA_2048": ("ENCRYPT_DECRYPT", None), "RSA_3072": ("ENCRYPT_DECRYPT", None),
         "RSA_4096": ("ENCRYPT_DECRYPT", None),
         "ECC_NIST_P256": ("SIGN_VERIFY", None), "ECC_NIST_P384": ("SIGN_VERIFY", None),
         "ECC_NIST_P521": ("SIGN_VERIFY", None), "ECC_SECG_P256K1": ("SIGN_VERIFY", None),
         "HMAC_224": ("GENERATE_VERIFY_MAC", 28), "HMAC_256": ("GENERATE_VERIFY_MAC", 32),
         "HMAC_384": ("GENERATE_VERIFY_MAC", 48), "HMAC_512": ("GENERATE_VERIFY_MAC", 64)}
LIVE_STATES = frozenset({"Enabled", "Disabled", "PendingDeletion", "PendingImport",
                         "PendingReplicaDeletion"})
ALL_STATES = LIVE_STATES | {"Deleted"}
_KEY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                     r"|mrk-[0-9a-f]{32}")
_MATERIAL_ID = re.compile(r"[0-9a-f]{64}")
_CHECK = re.compile(r"[0-9a-f]{32}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_REGION = re.compile(r"[a-z0-9-]{1,64}")
_ACCOUNT = re.compile(r"[0-9]{12}")
_ALIAS = re.compile(r"alias/[a-zA-Z0-9/_-]{1,250}")
_PRINCIPAL = re.compile(r"arn:aws:iam::[0-9]{12}:\S+")
_IDENTITY = re.compile(r"arn:aws:iam::[0-9]{12}:(?:user|role)/[A-Za-z0-9+=,.@_-]+")
_ROTATION_DAYS = (90, 2560)
_MAX_INT = 2**63 - 1


def check_value(key_id: str, material_id: str, secret: bytes) -> str:
    """The check value a scenario file stores beside each key material: a hash binding
    the secret to its key and material ids, so a changed secret or id is found even
    when the file's digest was recomputed. (Like a key check value; not a secret.)"""
    return hashlib.sha256(b"kmssim-material-check\x00" + key_id.encode() + b"\x00"
                          + material_id.encode() + b"\x00" + secret).hexdigest()[:32]


def key_check_value(key_id: str, materials: list[tuple[str, bytes]]) -> str:
    """The one check value a format-4 file stores for all of a key's materials: as
    `check_value`, over the key id and each ``(material id, secret)`` in order."""
    hashed = hashlib.sha256(b"kmssim-key-materials-check\x00" + key_id.encode())
    for material_id, secret in materials:
        hashed.update(b"\x00" + material_id.encode() + b"\x00"
                      + len(secret).to_bytes(4, "big") + secret)
    return hashed.hexdigest()[:32]


def _fail(path: str, what: str) -> CorruptScenarioError:
    return CorruptScenarioError(f"{path}: {what}")


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "an object", type(None): "null"}.get(type(value), "?")


def _object(value: Any, path: str, members: frozenset[str]) -> dict[str, Any]:
    if type(value) is not dict:
        raise _fail(path, f"expected an object, found {_type_name(value)}")
    missing = sorted(members - value.keys())
    if missing:
        raise _fail(path, f"missing member {missing[0]!r}")
    unknown = sorted(value.keys() - members)
    if unknown:
        raise _fail(path, f"unknown member {unknown[0]!r}")
    return value


def _array(value: Any, path: str, length: int | None = None) -> list[Any]:
    if type(value) is not list:
        raise _fail(path, f"expected an array, found {_type_name(value)}")
    if length is not None and len(value) != length:
        raise _fail(path, f"expected {length} items, found {len(value)}")
    return value


def _string(value: Any, path: str, pattern: re.Pattern[str] | None = None, *,
            choices: frozenset[str] | set[str] | None = None) -> str:
    if type(value) is not str:
        raise _fail(path, f"expected a string, found {_type_name(value)}")
    if pattern is not None and not pattern.fullmatch(value):
        raise _fail(path, f"{value[:80]!r} is not of the form {pattern.pattern}")
    if choices is not None and value not in choices:
        raise _fail(path, f"{value[:80]!r} is not one of {', '.join(sorted(choices))}")
    return value


def _optional(check: Callable[..., Any], value: Any, path: str, *args: Any,
              **kwargs: Any) -> Any:
    return None if value is None else check(value, path, *args, **kwargs)


def _integer(value: Any, path: str, low: int = 0, high: int = _MAX_INT) -> int:
    if type(value) is not int:   # a bool is not an int here, nor is 1.0
        raise _fail(path, f"expected an integer, found {_type_name(value)}")
    if not low <= value <= high:
        raise _fail(path, f"{value} is outside {low}..{high}")
    return value


def _boolean(value: Any, path: str) -> bool:
    if type(value) is not bool:
        raise _fail(path, f"expected true or false, found {_type_name(value)}")
    return value


def _time(value: Any, path: str) -> datetime:
    text = _string(value, path)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(path, f"{text[:40]!r} is not an ISO 8601 time") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise _fail(path, f"{text!r} has no time zone")
    return when


def _base64(value: Any, path: str) -> bytes:
    text = _string(value, path)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(path, "is not valid base64") from None
    if base64.b64encode(raw).decode() != text:
        raise _fail(path, "is not canonical base64")
    return raw


def check(data: Any, *, version: int) -> None:
    """Raise CorruptScenarioError naming the first member of ``data`` (a parsed scenario
    file of format ``version``) that is not as `save` writes it."""
    members = TOP_MEMBERS if version >= 2 else TOP_MEMBERS - {"digest"}
    if version >= 4:
        members = members | {"values"}
    if type(data) is dict:
        members = members | (OPTIONAL_MEMBERS & data.keys())
    _object(data, "the file", members)
    if version >= 2:
        _string(data["digest"], "digest", _DIGEST)
    region = _string(data["region"], "region", _REGION)
    account = _string(data["account_id"], "account_id", _ACCOUNT)
    now = _time(data["now"], "now")
    _seed(data["seed"])
    _integer(data["stream_position"], "stream_position")
    if data["seed"] is None and data["stream_position"] != 0:
        raise _fail("stream_position", "must be 0 when there is no seed")
    _integer(data["invocations"], "invocations", 0, 2**64 - 1)
    _string(data["principal"], "principal", _PRINCIPAL)
    values = _array(data["values"], "values") if version >= 4 else None

    materials_seen: set[str] = set()
    ordinals: set[int] = set()
    live: set[str] = set()
    for group, states in (("keys", LIVE_STATES), ("deleted", frozenset({"Deleted"}))):
        for index, key in enumerate(_array(data[group], group)):
            path = f"{group}[{index}]"
            key_id = _key(key, path, region, account, now, states, materials_seen, version,
                          values)
            if key_id in live:
                raise _fail(f"{path}.key_id", f"{key_id} appears twice")
            live.add(key_id)
            if key["ordinal"] in ordinals:
                raise _fail(f"{path}.ordinal", f"{key['ordinal']} is used by another key")
            ordinals.add(key["ordinal"])
    live_keys = {key["key_id"] for key in data["keys"]}

    for index, entry in enumerate(_array(data["queue"], "queue")):
        path = f"queue[{index}]"
        due, kind, key_id = _array(entry, path, 3)
        if _time(due, f"{path}[0]") < now:
            raise _fail(f"{path}[0]", "is before now")
        _string(kind, f"{path}[1]", choices={"rotate", "delete", "expire"})
        _string(key_id, f"{path}[2]", _KEY_ID)

    names: set[str] = set()
    for index, entry in enumerate(_array(data["aliases"], "aliases")):
        path = f"aliases[{index}]"
        name, key_id, created, updated = _array(entry, path, 4)
        _string(name, f"{path}[0]", _ALIAS)
        if name in names:
            raise _fail(f"{path}[0]", f"{name} appears twice")
        names.add(name)
        _string(key_id, f"{path}[1]", _KEY_ID)
        if key_id not in live_keys:
            raise _fail(f"{path}[1]", f"alias {name} points to {key_id}, which is not a key")
        if _time(created, f"{path}[2]") > _time(updated, f"{path}[3]"):
            raise _fail(f"{path}[3]", "is before the alias was created")

    if version >= 4:
        rows = record_rows(data["trail"], values)
    elif version == 3:
        rows = trail_rows(data["trail"])
    else:
        rows = _array(data["trail"], "trail")
    for index, row in enumerate(rows):
        _event(row, f"trail[{index}]", index)
    _permissions(data, live_keys, now)


def _permissions(data: dict[str, Any], live_keys: set[str], now: datetime) -> None:
    """The optional ``iam`` and ``grants`` sections (policy documents are parsed on load)."""
    for index, row in enumerate(_array(data.get("iam", []), "iam")):
        path = f"iam[{index}]"
        _object(row, path, IDENTITY_MEMBERS)
        _string(row["arn"], f"{path}.arn", _IDENTITY)
        for number, document in enumerate(_array(row["policies"], f"{path}.policies")):
            _string(document, f"{path}.policies[{number}]")
    seen: set[str] = set()
    for index, grant in enumerate(_array(data.get("grants", []), "grants")):
        path = f"grants[{index}]"
        _object(grant, path, GRANT_MEMBERS)
        grant_id = _string(grant["grant_id"], f"{path}.grant_id", _MATERIAL_ID)
        if grant_id in seen:
            raise _fail(f"{path}.grant_id", f"{grant_id} appears twice")
        seen.add(grant_id)
        key_id = _string(grant["key_id"], f"{path}.key_id", _KEY_ID)
        if key_id not in live_keys:
            raise _fail(f"{path}.key_id", f"grant {grant_id} is for {key_id}, which is not a key")
        _string(grant["key_arn"], f"{path}.key_arn")
        if _time(grant["created"], f"{path}.created") > now:
            raise _fail(f"{path}.created", "is after now")
        for name in ("grantee", "issuing_account", "token"):
            _string(grant[name], f"{path}.{name}")
        for name in ("name", "retiring"):
            _optional(_string, grant[name], f"{path}.{name}")
        for number, operation in enumerate(_array(grant["operations"], f"{path}.operations")):
            _string(operation, f"{path}.operations[{number}]")
        if grant["constraints"] is not None and type(grant["constraints"]) is not dict:
            raise _fail(f"{path}.constraints", "expected an object or null")


#: The most events a format-4 trail may hold (its runs could claim any number): about
#: 9 GB of trail in memory, far beyond any lesson or workshop.
MAX_EVENTS = 2**26

#: The columns of a format-3 trail, in order (each event's sequence is its position).
TRAIL_COLUMNS = ("time", "name", "event_type", "principal", "key_arn", "request", "response",
                 "error_code", "error_message", "key_material_id")


def trail_rows(trail: Any) -> Iterator[list[Any]]:
    """The events of a format-3 trail (``{"values": [...], "columns": [...]}``), one at a
    time, each as format 2 writes it (``[sequence, time, name, ...]``), after checking
    that the columns are ten arrays of the same length holding indexes into ``values``."""
    _object(trail, "trail", frozenset({"values", "columns"}))
    values = _array(trail["values"], "trail.values")
    columns = _array(trail["columns"], "trail.columns", len(TRAIL_COLUMNS))
    count = None
    for number, column in enumerate(columns):
        path = f"trail.columns[{number}]"
        _array(column, path)
        if count is None:
            count = len(column)
        elif len(column) != count:
            raise _fail(path, f"has {len(column)} entries where trail.columns[0] has {count}")
        limit = len(values)
        for at, entry in enumerate(column):
            if type(entry) is not int or not 0 <= entry < limit:
                raise _fail(f"{path}[{at}]", f"is not an index into trail.values "
                                             f"(0 to {limit - 1})")
    for sequence, row in enumerate(zip(*columns)):
        yield [sequence, *(values[at] for at in row)]


def _index(entry: Any, path: str, limit: int, table: str) -> int:
    if type(entry) is not int or not 0 <= entry < limit:
        raise _fail(path, f"is not an index into {table} (0 to {limit - 1})")
    return entry


def expand_runs(column: list[Any]) -> Iterator[int]:
    """The indexes of a run-length coded format-4 column (checked by `record_rows`)."""
    for entry in column:
        if type(entry) is int:
            yield entry
        else:
            at, count = entry
            for _ in range(count):
                yield at


def record_builder(trail: dict[str, Any], values: list[Any]) -> Callable[[int], Any]:
    """A function from a record's index in a format-4 trail to its request or response
    (a fresh dict, or None). The last record built is kept and given again while the
    same index is asked for (a run of equal calls builds one dict); no other is kept,
    so a trail of distinct records never holds them all at once."""
    shapes, records = trail["shapes"], trail["records"]
    last: list[Any] = [-1, None]

    def build(at: int) -> Any:
        if at == last[0]:
            return last[1]
        record = records[at]
        made = None if record is None else dict(
            zip(shapes[record[0]], [values[i] for i in record[1:]]))
        last[:] = at, made
        return made
    return build


def record_rows(trail: Any, values: list[Any]) -> Iterator[list[Any]]:
    """The events of a format-4 trail, one at a time, each as format 2 writes it, after
    checking the shapes, the records and the ten run-length coded columns (indexes in
    range, runs of two or more, every column the same number of events)."""
    _object(trail, "trail", frozenset({"shapes", "records", "columns"}))
    shapes = _array(trail["shapes"], "trail.shapes")
    for number, shape in enumerate(shapes):
        path = f"trail.shapes[{number}]"
        for at, name in enumerate(_array(shape, path)):
            _string(name, f"{path}[{at}]")
        if len(set(shape)) != len(shape):
            raise _fail(path, "names a member twice")
    records = _array(trail["records"], "trail.records")
    for number, record in enumerate(records):
        if record is None:
            continue
        path = f"trail.records[{number}]"
        _array(record, path)
        if not record:
            raise _fail(path, "expected [shape, index, ...] or null")
        shape = shapes[_index(record[0], f"{path}[0]", len(shapes), "trail.shapes")]
        if len(record) != 1 + len(shape):
            raise _fail(path, f"shape {record[0]} has {len(shape)} members, the record "
                              f"{len(record) - 1} values")
        for at in range(1, len(record)):
            _index(record[at], f"{path}[{at}]", len(values), "values")
    columns = _array(trail["columns"], "trail.columns", len(TRAIL_COLUMNS))
    count = None
    for number, column in enumerate(columns):
        path = f"trail.columns[{number}]"
        limit, table = ((len(records), "trail.records") if TRAIL_COLUMNS[number] in
                        ("request", "response") else (len(values), "values"))
        length = 0
        for at, entry in enumerate(_array(column, path)):
            if type(entry) is int:
                _index(entry, f"{path}[{at}]", limit, table)
                length += 1
                continue
            if type(entry) is not list or len(entry) != 2:
                raise _fail(f"{path}[{at}]", "expected an index or [index, count]")
            _index(entry[0], f"{path}[{at}][0]", limit, table)
            length += _integer(entry[1], f"{path}[{at}][1]", 2, MAX_EVENTS)
            if length > MAX_EVENTS:
                # A few bytes of runs could otherwise claim more events than any
                # simulator has held, and keep `load` busy for hours building them.
                raise _fail(path, f"holds more than {MAX_EVENTS:,} events")
        if count is None:
            count = length
        elif length != count:
            raise _fail(path, f"has {length} events where trail.columns[0] has {count}")
    requests, responses = record_builder(trail, values), record_builder(trail, values)
    for sequence, (time, name, etype, principal, arn, request, response, code, message,
                   material) in enumerate(zip(*map(expand_runs, columns))):
        yield [sequence, values[time], values[name], values[etype], values[principal],
               values[arn], requests(request), responses(response), values[code],
               values[message], values[material]]


_MATERIAL_ARRAYS = ("ids", "created", "rotation", "secrets")


def material_rows(materials: Any, values: list[Any],
                  path: str = "materials") -> list[list[Any]]:
    """A format-4 key's ``materials`` as format 1 writes them (``[id, created, rotation
    type, base64 secret]`` each), after checking the parallel arrays and their indexes
    (`_key` then checks each material, and the key's check value)."""
    _object(materials, path, frozenset({*_MATERIAL_ARRAYS, "check"}))
    count = len(_array(materials["ids"], f"{path}.ids"))
    for name in _MATERIAL_ARRAYS[1:]:
        _array(materials[name], f"{path}.{name}", count)
    ids, created, rotation = (
        [values[_index(at, f"{path}.{name}[{n}]", len(values), "values")]
         for n, at in enumerate(materials[name])] for name in _MATERIAL_ARRAYS[:3])
    return [list(row) for row in zip(ids, created, rotation, materials["secrets"])]


def _extras(key: dict[str, Any], path: str) -> bool:
    """Check the optional members of imported material and multi-Region keys; whether the
    key's material is imported (origin EXTERNAL)."""
    origin = _string(key.get("origin", "AWS_KMS"), f"{path}.origin",
                     choices={"AWS_KMS", "EXTERNAL"})
    imports = key.get("imports", {})
    if type(imports) is not dict:
        raise _fail(f"{path}.imports", f"expected an object, found {_type_name(imports)}")
    for material_id, entry in imports.items():
        where = f"{path}.imports.{material_id[:12]}"
        _string(material_id, where, _MATERIAL_ID)
        description, model, valid_to, imported = _array(entry, where, 4)
        _optional(_string, description, f"{where}[0]")
        _string(model, f"{where}[1]", choices=_EXPIRATION_MODELS)
        _optional(_time, valid_to, f"{where}[2]")
        _boolean(imported, f"{where}[3]")
    pending = key.get("pending")
    if pending is not None:
        items = _array(pending, f"{path}.pending", 4)
        _string(items[0], f"{path}.pending[0]", _MATERIAL_ID)
        _time(items[1], f"{path}.pending[1]")
        _base64(items[3], f"{path}.pending[3]")
    _boolean(key.get("multi_region", False), f"{path}.multi_region")
    _optional(_string, key.get("primary_region"), f"{path}.primary_region", _REGION)
    for index, region in enumerate(_array(key.get("replica_regions", []),
                                          f"{path}.replica_regions")):
        _string(region, f"{path}.replica_regions[{index}]", _REGION)
    return origin == "EXTERNAL"


def _seed(seed: Any) -> None:
    if seed is None:
        return
    _object(seed, "seed", frozenset({"type", "value"}))
    kind = _string(seed["type"], "seed.type", choices={"int", "str", "bytes"})
    if kind == "int":
        _integer(seed["value"], "seed.value", -(2**3000), 2**3000)
    elif kind == "str":
        _string(seed["value"], "seed.value")
    else:
        _base64(seed["value"], "seed.value")


def _key(key: Any, path: str, region: str, account: str, now: datetime,
         states: frozenset[str], materials_seen: set[str], version: int,
         values: list[Any] | None = None) -> str:
    extra = KEY_OPTIONAL_MEMBERS & key.keys() if type(key) is dict else frozenset()
    _object(key, path, KEY_MEMBERS | extra)
    key_id = _string(key["key_id"], f"{path}.key_id", _KEY_ID)
    external = _extras(key, path)
    if key["arn"] != f"arn:aws:kms:{region}:{account}:key/{key_id}":
        raise _fail(f"{path}.arn", "does not name this key in this Region and account")
    created = _time(key["created"], f"{path}.created")
    if created > now:
        raise _fail(f"{path}.created", "is after now")
    spec = _string(key["key_spec"], f"{path}.key_spec", choices=set(SPECS))
    usage, length = SPECS[spec]
    _string(key["key_usage"], f"{path}.key_usage",
            choices={usage, "SIGN_VERIFY"} if spec.startswith("RSA_") else {usage})
    _string(key["description"], f"{path}.description")
    _string(key["manager"], f"{path}.manager", choices={"CUSTOMER", "AWS"})
    state = _string(key["state"], f"{path}.state", choices=states)
    _optional(_string, key["policy"], f"{path}.policy")
    _integer(key["ordinal"], f"{path}.ordinal")

    tags = key["tags"]
    if type(tags) is not dict:
        raise _fail(f"{path}.tags", f"expected an object, found {_type_name(tags)}")
    for name, value in tags.items():
        _string(value, f"{path}.tags.{name}")

    deleted = state == "Deleted"
    if version >= 4:
        materials = material_rows(key["materials"], values or [], f"{path}.materials")
        secrets: list[tuple[str, bytes]] = []
    else:
        materials = _array(key["materials"], f"{path}.materials")
    if not materials and not external:
        raise _fail(f"{path}.materials", "a key has at least one key material")
    if spec != "SYMMETRIC_DEFAULT" and len(materials) != 1:
        raise _fail(f"{path}.materials", f"a {spec} key has exactly one key material")
    previous = created
    on_demand = 0
    for number, entry in enumerate(materials):
        where = f"{path}.materials[{number}]"
        items = _array(entry, where, {2: 5, 3: 5}.get(version, 4))

        def at(item: int, where: str = where, number: int = number) -> str:
            if version >= 4:   # parallel arrays: name the array and the position
                return f"{path}.materials.{_MATERIAL_ARRAYS[item]}[{number}]"
            return f"{where}[{item}]"
        material_id = _string(items[0], at(0), _MATERIAL_ID)
        if material_id in materials_seen:
            raise _fail(at(0), "this key material id is used twice")
        materials_seen.add(material_id)
        when = _time(items[1], at(1))
        if not previous <= when <= now:
            raise _fail(at(1), "is out of order (before the previous material, or "
                                       "after now)")
        previous = when
        rotation = _optional(_string, items[2], at(2),
                             choices={"AUTOMATIC", "ON_DEMAND"})
        if (rotation is None) != (number == 0):
            raise _fail(at(2), "only the first material has no rotation type")
        on_demand += rotation == "ON_DEMAND"
        secret = _base64(items[3], at(3))
        if deleted:
            if secret:
                raise _fail(at(3), "a deleted key keeps no key material")
        elif external and not secret:
            pass      # imported material that expired or was deleted: its id stays
        elif length is not None and len(secret) != length:
            raise _fail(at(3), f"a {spec} key material is {length} bytes, "
                                       f"not {len(secret)}")
        elif length is None and not secret:
            raise _fail(at(3), "an RSA key needs its private key")
        if version >= 4:
            secrets.append((material_id, secret))
        elif version >= 2 and _string(items[4], at(4), _CHECK) != \
                check_value(key_id, material_id, secret):
            raise _fail(at(4), "the check value does not match this key material "
                                       "(its id or its secret was changed)")

    if version >= 4 and _string(key["materials"]["check"], f"{path}.materials.check",
                                _CHECK) != key_check_value(key_id, secrets):
        raise _fail(f"{path}.materials.check", "the check value does not match the key's "
                                               "materials (an id or a secret was changed)")

    rotation_enabled = _boolean(key["rotation_enabled"], f"{path}.rotation_enabled")
    period = _optional(_integer, key["rotation_period_days"], f"{path}.rotation_period_days",
                       *_ROTATION_DAYS)
    anchor = _optional(_time, key["rotation_anchor"], f"{path}.rotation_anchor")
    nxt = _optional(_time, key["next_rotation"], f"{path}.next_rotation")
    if rotation_enabled and (period is None or anchor is None or nxt is None):
        raise _fail(f"{path}.rotation_enabled", "rotation is on but its period, anchor or "
                                                "next date is missing")
    if not rotation_enabled and (anchor is not None or nxt is not None):
        raise _fail(f"{path}.rotation_enabled", "rotation is off but a next date is set")
    if rotation_enabled and spec != "SYMMETRIC_DEFAULT":
        raise _fail(f"{path}.rotation_enabled", f"a {spec} key cannot rotate")
    if _integer(key["on_demand_rotations"], f"{path}.on_demand_rotations", 0, 25) != on_demand:
        raise _fail(f"{path}.on_demand_rotations",
                    f"says {key['on_demand_rotations']}, but {on_demand} materials are "
                    "on-demand rotations")

    deletion = _optional(_time, key["deletion_date"], f"{path}.deletion_date")
    _optional(_integer, key["pending_window_days"], f"{path}.pending_window_days", 7, 30)
    if (state == "PendingDeletion") != (deletion is not None) and not deleted:
        raise _fail(f"{path}.deletion_date", "is set exactly when the key is pending deletion")
    if state == "PendingDeletion" and deletion is not None and deletion < now:
        raise _fail(f"{path}.deletion_date", "is before now, yet the key was not deleted")

    history = _array(key["history"], f"{path}.history")
    if not history:
        raise _fail(f"{path}.history", "a key has at least its creation in its history")
    last = created
    for number, change in enumerate(history):
        where = f"{path}.history[{number}]"
        at, changed_to = _array(change, where, 2)
        when = _time(at, f"{where}[0]")
        if not last <= when <= now:
            raise _fail(f"{where}[0]", "is out of order")
        last = when
        _string(changed_to, f"{where}[1]", choices=ALL_STATES)
    if history[-1][1] != state:
        raise _fail(f"{path}.history", f"ends in {history[-1][1]}, but the key is {state}")
    return key_id


def _event(row: Any, path: str, index: int) -> None:
    (sequence, time, name, event_type, principal, arn, request, response, code, message,
     material) = _array(row, path, 11)
    if _integer(sequence, f"{path}[0]") != index:
        raise _fail(f"{path}[0]", f"sequence {sequence} at position {index}")
    _time(time, f"{path}[1]")
    _string(name, f"{path}[2]", re.compile(r"[A-Za-z]{1,64}"))
    _string(event_type, f"{path}[3]", choices={"AwsApiCall", "AwsServiceEvent"})
    _string(principal, f"{path}[4]")
    _optional(_string, arn, f"{path}[5]")
    for number, value in ((6, request), (7, response)):
        if value is not None and type(value) is not dict:
            raise _fail(f"{path}[{number}]", f"expected an object or null, found "
                                             f"{_type_name(value)}")
    _optional(_string, code, f"{path}[8]")
    _optional(_string, message, f"{path}[9]")
    _optional(_string, material, f"{path}[10]", _MATERIAL_ID)
