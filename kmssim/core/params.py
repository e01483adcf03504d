"""Checks of request parameters, from the rules of AWS's KMS model (`kmssim.core.model`).

The model says, for every member of every request, its type and its constraints
(required, minimum and maximum length or value, pattern, enum, sensitive). Two parties
check them, and kmssim checks in the same two places:

* **botocore, on the client**, before anything is sent (`client_problems`): required
  members, Python types, unknown members, the *minimum* length of strings and lists and
  the *minimum* of numbers. Never maximums, patterns, enums or blob lengths. What it
  finds is a ``ParamValidationError`` worded exactly as botocore's
  ``botocore/validate.py`` words it: the request never reaches KMS, so it has no error
  code and no CloudTrail event.
* **the service** (`service_problems`): every constraint, maximums, patterns (matched
  against the *whole* value), enums and blob lengths included, reported in AWS's standard
  form ``1 validation error detected: Value 'X' at 'member' failed to satisfy
  constraint: …`` (``N validation errors detected: …; …`` for several), the value
  echoed except for blobs and members the model marks sensitive. A request that arrives
  over HTTP has skipped botocore (curl, other SDKs, clients with validation turned off),
  so there the service also reports what botocore would have caught, in its own form
  (``Value null at 'keyId' failed to satisfy constraint: Member must not be null``).

Deliberate differences from botocore, each so that a mistake cannot leak a secret or
crash later: byte values are shown as ``<N bytes>``, never echoed; ``True``/``False``
where a number belongs is refused (botocore lets a bool through as an int and the
service then fails to read it); a ``memoryview`` or file-like object where a blob
belongs is refused; a string holding a lone surrogate (``"\\ud800"``), which is not
Unicode text and which botocore cannot encode as a blob, is refused on the client for
every member, with a botocore-style line of kmssim's own wording that never echoes it.

The small helpers below (`blob`, `context`, `integer`, `choice`, `text`, `flag`) are for
checks the model cannot express (a window of 7–30 days where the model allows 1–365) and
for the simulator's own functions (`kmssim.envelope`).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from kmssim.core.errors import ValidationException

__all__ = ["client_problems", "service_problems", "reference_client_problems",
           "reference_service_problems", "compiled", "Gate", "validation_error", "member_path",
           "shown", "lone_surrogate", "blob", "context", "integer", "choice", "text", "flag"]

#: botocore's accepted Python types per model type (``ParamValidator.SCALAR_TYPES`` and
#: ``CONTAINER_TYPES``), as its messages name them.
_VALID_TYPES = {
    "string": "<class 'str'>",
    "integer": "<class 'int'>",
    "long": "<class 'int'>",
    "boolean": "<class 'bool'>",
    "double": "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>",
    "float": "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>",
    "structure": "<class 'dict'>",
    "map": "<class 'dict'>",
    "list": "<class 'list'>, <class 'tuple'>",
    "blob": "<class 'bytes'>, <class 'bytearray'>, file-like object",
    "timestamp": "<class 'datetime.datetime'>, timestamp-string",
}


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("double", "float"):
        return isinstance(value, (float, decimal.Decimal, int)) and not isinstance(value, bool)
    if kind in ("structure", "map"):
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, (list, tuple))
    if kind == "blob":
        return isinstance(value, (bytes, bytearray, str))
    if kind == "timestamp":
        return isinstance(value, (datetime, str))
    return False


# -- showing values without leaking them ---------------------------------------------------
def _printable(text: str) -> str:
    """``text`` with any lone surrogate written as ``\\udXXX``, so a message can be printed."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _number(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than int->str allows
        return f"<an integer of {value.bit_length()} bits>"


_ITEMS = 1000  # a longer list or dict is shown cut short


def _inner(value: Any, depth: int = 0) -> str:
    """``repr`` as Python prints items inside a container, bytes and depth kept short."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return _number(value)
    if isinstance(value, str):
        return _printable(repr(value))
    if depth >= 100 and isinstance(value, (list, tuple, dict)):  # str() itself would recurse
        return "[...]" if not isinstance(value, dict) else "{...}"
    if isinstance(value, (list, tuple)):
        items = ", ".join(_inner(v, depth + 1) for v in list(value)[:_ITEMS])
        more = ", ..." if len(value) > _ITEMS else ""
        return f"({items}{more})" if isinstance(value, tuple) else f"[{items}{more}]"
    if isinstance(value, dict):
        items = ", ".join(f"{_inner(k, depth + 1)}: {_inner(v, depth + 1)}"
                          for k, v in list(value.items())[:_ITEMS])
        return "{" + items + (", ..." if len(value) > _ITEMS else "") + "}"
    return _printable(repr(value))


def shown(value: Any) -> str:
    """A value as botocore's messages show it (``str(value)``), except that bytes, even
    inside a list or dict, are ``<N bytes>``: a data key passed by mistake never ends up
    in a message or the audit trail."""
    if isinstance(value, str):
        return _printable(value)
    return _inner(value)


def _java(value: Any) -> str:
    """A value as AWS's validation messages echo it (Java's ``toString``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _number(value)
    if isinstance(value, str):
        return _printable(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_java(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_java(k)}={_java(v)}" for k, v in value.items()) + "}"
    return shown(value)


def lone_surrogate(value: str) -> int | None:
    """The index of the first lone surrogate in ``value`` (not encodable as UTF-8), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start
    return None


# -- botocore's checks ----------------------------------------------------------------------
def client_problems(rules: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """The lines of botocore's ``ParamValidationError`` report for ``params`` (empty when
    botocore would send the request), in botocore's order and words.

    A request the rules accept (nearly every one) is passed by ``rules``' compiled
    acceptor (`compiled`) without a word being formatted; one they refuse is worded by
    the interpreter, `reference_client_problems`, from the same rules."""
    try:
        if compiled(rules).client(params):
            return []
    except Exception:  # noqa: BLE001 - the interpreter meets the same value and decides
        pass
    return reference_client_problems(rules, params)


def reference_client_problems(rules: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """`client_problems` by interpreting the rules member by member: the words of every
    report, and the reference the compiled acceptor is tested against."""
    problems: list[str] = []
    _client(params, rules, "", problems)
    return problems


def _name(name: str) -> str:
    return name[1:] if name.startswith(".") else (name or "input")


def _client(value: Any, rule: Mapping[str, Any], name: str, problems: list[str]) -> None:
    kind = rule["type"]
    if not _type_ok(kind, value):
        problems.append(f"Invalid type for parameter {_name(name)}, value: {shown(value)}, "
                        f"type: {type(value)}, valid types: {_VALID_TYPES[kind]}")
        return
    if kind == "structure":
        members = rule["members"]
        for needed in rule["required"]:
            if needed not in value:
                problems.append(f'Missing required parameter in {_name(name)}: "{needed}"')
        for given in value:
            if given not in members:
                shown_name = _printable(given) if isinstance(given, str) else shown(given)
                problems.append(f'Unknown parameter in {_name(name)}: "{shown_name}", '
                                f'must be one of: {", ".join(members)}')
        for given, item in value.items():
            if given in members:
                _client(item, members[given], f"{name}.{given}", problems)
        return
    if kind == "list":
        _minimum(len(value), rule, name, "length", problems)
        for i, item in enumerate(value):
            _client(item, rule["member"], f"{name}[{i}]", problems)
        return
    if kind == "map":
        for key, item in value.items():
            _client(key, rule["key"], f"{name} (key: {shown(key)})", problems)
            _client(item, rule["value"], f"{name}.{shown(key)}", problems)
        return
    if kind == "string" or (kind == "blob" and isinstance(value, str)):
        at = lone_surrogate(value)
        if at is not None:  # kmssim's own check, worded in botocore's manner
            problems.append(f"Invalid value for parameter {_name(name)}: the string has a "
                            f"lone surrogate at index {at}, which is not Unicode text and "
                            "cannot be encoded as UTF-8")
            return
    if kind == "string":
        _minimum(len(value), rule, name, "length", problems)
    elif kind in ("integer", "long", "double", "float"):
        _minimum(value, rule, name, "value", problems)


def _minimum(measure: Any, rule: Mapping[str, Any], name: str, what: str,
             problems: list[str]) -> None:
    low = rule.get("min")
    if low is not None and measure < low:
        word = "length" if what == "length" else "value"
        shown_value = _number(measure) if isinstance(measure, int) else shown(measure)
        problems.append(f"Invalid {word} for parameter {_name(name)}, value: {shown_value}, "
                        f"valid min {word}: {low}")


# -- the service's checks -------------------------------------------------------------------
def member_path(name: str) -> str:
    """AWS's name for a member in a validation message: ``NumberOfBytes`` →
    ``numberOfBytes`` (first letter lower case)."""
    return name[:1].lower() + name[1:]


def service_problems(rules: Mapping[str, Any], params: Mapping[str, Any],
                     *, client_checked: bool = True) -> list[str]:
    """The constraint failures the service reports for ``params``, each in AWS's form
    (``Value '1025' at 'numberOfBytes' failed to satisfy constraint: …``).

    With ``client_checked=False`` (a request that came over HTTP, which botocore may not
    have checked) it also reports missing required members and the minimums. Types are
    assumed right: the wire protocol refuses a wrong JSON type before this runs.
    """
    try:
        acceptors = compiled(rules)
        if (acceptors.service if client_checked else acceptors.wire)(params):
            return []
    except Exception:  # noqa: BLE001 - the interpreter meets the same value and decides
        pass
    return reference_service_problems(rules, params, client_checked=client_checked)


def reference_service_problems(rules: Mapping[str, Any], params: Mapping[str, Any],
                               *, client_checked: bool = True) -> list[str]:
    """`service_problems` by interpreting the rules: the words of every report, and the
    reference the compiled acceptor is tested against."""
    problems: list[str] = []
    _service_structure(params, rules, "", problems, client_checked)
    return problems


def _service_structure(value: Mapping[str, Any], rule: Mapping[str, Any], path: str,
                       problems: list[str], client_checked: bool) -> None:
    members = rule["members"]
    if not client_checked:
        for member in rule["required"]:
            if value.get(member) is None:
                where = f"{path}.{member_path(member)}" if path else member_path(member)
                problems.append(f"Value null at '{where}' failed to satisfy constraint: "
                                "Member must not be null")
    for member, item in value.items():
        member_rule = members.get(member)
        if item is None or member_rule is None or not _constrained(member_rule):
            continue
        where = f"{path}.{member_path(member)}" if path else member_path(member)
        _service(item, member_rule, where, problems, client_checked)


def _constrained(rule: Mapping[str, Any]) -> bool:
    """Whether the service checks anything of a value of ``rule`` (cached per rule)."""
    entry = _CONSTRAINED.get(id(rule))
    if entry is not None and entry[0] is rule:
        return entry[1]
    parts = (*rule.get("members", {}).values(),
             *(rule[k] for k in ("member", "key", "value") if k in rule))
    known = (any(trait in rule for trait in ("min", "max", "pattern", "enum"))
             or bool(rule.get("required")) or any(_constrained(sub) for sub in parts))
    _CONSTRAINED[id(rule)] = (rule, known)  # holding the rule keeps its id unique
    return known


_CONSTRAINED: dict[int, tuple[Mapping[str, Any], bool]] = {}


def _fails(problems: list[str], value: Any, rule: Mapping[str, Any], path: str,
           constraint: str) -> None:
    hidden = rule["type"] == "blob" or rule.get("sensitive")
    shown_value = "" if hidden else f" '{_java(value)}'"
    problems.append(f"Value{shown_value} at '{path}' failed to satisfy constraint: {constraint}")


def _service(value: Any, rule: Mapping[str, Any], path: str, problems: list[str],
             client_checked: bool) -> None:
    kind = rule["type"]
    if not _type_ok(kind, value):
        return  # the client side (or the wire protocol) reports types
    if kind == "structure":
        _service_structure(value, rule, path, problems, client_checked)
        return
    low, high = rule.get("min"), rule.get("max")
    if kind in ("integer", "long", "double", "float"):
        if low is not None and value < low and not client_checked:
            _fails(problems, value, rule, path,
                   f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            _fails(problems, value, rule, path,
                   f"Member must have value less than or equal to {high}")
        return
    if kind in ("string", "blob", "list", "map"):
        size = len(value.encode("utf-8", "surrogatepass")) if kind == "blob" \
            and isinstance(value, str) else len(value)
        # botocore checks the minimum length of strings and lists, never of blobs or maps.
        low_checked = client_checked and kind in ("string", "list")
        if low is not None and size < low and not low_checked:
            _fails(problems, value, rule, path,
                   f"Member must have length greater than or equal to {low}")
        if high is not None and size > high:
            _fails(problems, value, rule, path,
                   f"Member must have length less than or equal to {high}")
    if kind == "string":
        pattern = rule.get("pattern")
        if pattern is not None and not _regex(pattern).fullmatch(value):
            _fails(problems, value, rule, path,
                   f"Member must satisfy regular expression pattern: {pattern}")
        enum = rule.get("enum")
        if enum is not None and value not in enum:
            _fails(problems, value, rule, path,
                   f"Member must satisfy enum value set: [{', '.join(enum)}]")
    elif kind == "list":
        for i, item in enumerate(value, start=1):
            _service(item, rule["member"], f"{path}.{i}.member", problems, client_checked)
    elif kind == "map":
        for key, item in value.items():
            _service(key, rule["key"], f"{path}.{_map_key(key)}.key", problems, client_checked)
            _service(item, rule["value"], f"{path}.{_map_key(key)}.value", problems,
                     client_checked)


def _map_key(key: Any) -> str:
    return _printable(key) if isinstance(key, str) else shown(key)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    # The model's patterns are Java regular expressions: \w, \s and \d mean ASCII there.
    return re.compile(pattern, re.ASCII)


# -- the same rules, compiled ----------------------------------------------------------------
# Interpreting the rules member by member costs as much as a whole Encrypt. Each operation's
# rules are therefore also compiled, once, into closures that only *accept*: each answers
# whether the interpreter above would find no problem at all, doing the same comparisons in
# the same way but formatting nothing. A value they refuse (or that makes them raise) goes
# to the interpreter, which words the report; so the words and order come from one place,
# and the acceptors come from the same rule table. tests/test_differential.py checks that
# accepting and an empty report always agree.
Accept = Callable[[Any], bool]


def _always(value: Any) -> bool:
    return True


def _type_test(kind: str) -> Accept:
    """`_type_ok` for one kind, with the common exact types tried first."""
    if kind == "string":
        return lambda v: type(v) is str or isinstance(v, str)
    if kind == "blob":
        return lambda v: type(v) is bytes or isinstance(v, (bytes, bytearray, str))
    if kind in ("structure", "map"):
        return lambda v: type(v) is dict or isinstance(v, dict)
    return lambda v: _type_ok(kind, v)


def _text_ok(value: str) -> bool:
    return value.isascii() or lone_surrogate(value) is None


def _client_acceptor(rule: Mapping[str, Any]) -> Accept:
    """Whether `_client` reports nothing for a value of ``rule``."""
    kind = rule["type"]
    typed = _type_test(kind)
    low = rule.get("min")
    if kind == "structure":
        required = tuple(rule["required"])
        subs = {name: _client_acceptor(sub) for name, sub in rule["members"].items()}

        def structure(value: Any) -> bool:
            if not (type(value) is dict or isinstance(value, dict)):
                return False
            for needed in required:
                if needed not in value:
                    return False
            for given, item in value.items():
                sub = subs.get(given)
                if sub is None or not sub(item):
                    return False
            return True
        return structure
    if kind == "list":
        item_ok = _client_acceptor(rule["member"])

        def items(value: Any) -> bool:
            if not typed(value) or (low is not None and len(value) < low):
                return False
            return all(item_ok(item) for item in value)
        return items
    if kind == "map":
        key_ok, value_ok = _client_acceptor(rule["key"]), _client_acceptor(rule["value"])

        def pairs(value: Any) -> bool:
            if not (type(value) is dict or isinstance(value, dict)):
                return False
            return all(key_ok(key) and value_ok(item) for key, item in value.items())
        return pairs
    if kind == "string":
        least = 0 if low is None else low

        def text(value: Any) -> bool:
            return ((type(value) is str or isinstance(value, str))
                    and (value.isascii() or lone_surrogate(value) is None)
                    and len(value) >= least)
        return text
    if kind == "blob":
        def data(value: Any) -> bool:
            if type(value) is bytes:
                return True
            return typed(value) and (not isinstance(value, str) or _text_ok(value))
        return data
    if kind in ("integer", "long", "double", "float") and low is not None:
        return lambda v: typed(v) and not v < low
    return typed


def _blob_size(value: Any) -> int:
    return len(value.encode("utf-8", "surrogatepass")) if isinstance(value, str) else len(value)


def _service_acceptor(rule: Mapping[str, Any], client_checked: bool) -> Accept:
    """Whether `_service` reports nothing for a value of ``rule``."""
    kind = rule["type"]
    typed = _type_test(kind)
    if kind == "structure":
        required = () if client_checked else tuple(rule["required"])
        subs = {name: _service_acceptor(sub, client_checked)
                for name, sub in rule["members"].items() if _constrained(sub)}

        def structure(value: Any) -> bool:
            if not (type(value) is dict or isinstance(value, dict)):
                return True  # the client side (or the wire protocol) reports types
            for needed in required:
                if value.get(needed) is None:
                    return False
            for given, item in value.items():
                if item is not None:
                    sub = subs.get(given)
                    if sub is not None and not sub(item):
                        return False
            return True
        return structure
    low, high = rule.get("min"), rule.get("max")
    if kind in ("integer", "long", "double", "float"):
        least = low if not client_checked else None
        if least is None and high is None:
            return _always

        def number(value: Any) -> bool:
            if not typed(value):
                return True
            if least is not None and value < least:
                return False
            return high is None or not value > high
        return number
    if kind not in ("string", "blob", "list", "map"):
        return _always
    least = None if client_checked and kind in ("string", "list") else low
    blob = kind == "blob"
    matcher = _regex(rule["pattern"]).fullmatch if "pattern" in rule else None
    enum = rule.get("enum") if kind == "string" else None
    item_ok = _service_acceptor(rule["member"], client_checked) if kind == "list" else None
    key_ok = _service_acceptor(rule["key"], client_checked) if kind == "map" else _always
    value_ok = _service_acceptor(rule["value"], client_checked) if kind == "map" else _always
    pairs = kind == "map" and not (key_ok is _always and value_ok is _always)
    if kind == "string" and matcher is None and enum is None:
        def text(value: Any) -> bool:
            if not (type(value) is str or isinstance(value, str)):
                return True
            size = len(value)
            return (least is None or size >= least) and (high is None or size <= high)
        return text

    def sized(value: Any) -> bool:
        if not typed(value):
            return True
        size = _blob_size(value) if blob else len(value)
        if least is not None and size < least:
            return False
        if high is not None and size > high:
            return False
        if kind == "string":
            if matcher is not None and matcher(value) is None:
                return False
            if enum is not None and value not in enum:
                return False
        elif item_ok is not None:
            for item in value:
                if not item_ok(item):
                    return False
        elif pairs:
            for key, item in value.items():
                if not (key_ok(key) and value_ok(item)):
                    return False
        return True
    return sized


@dataclass(frozen=True, slots=True)
class _Acceptors:
    client: Accept    # botocore's checks
    service: Accept   # the service's, after botocore's
    wire: Accept      # the service's, for a request botocore may not have checked


def compiled(rules: Mapping[str, Any]) -> _Acceptors:
    """The acceptors for one operation's rules, compiled on first use (cached per rules
    object, which the cache holds so that its id stays unique)."""
    entry = _COMPILED.get(id(rules))
    if entry is not None and entry[0] is rules:
        return entry[1]
    acceptors = _Acceptors(_client_acceptor(rules), _service_acceptor(rules, True),
                           _service_acceptor(rules, False))
    _COMPILED[id(rules)] = (rules, acceptors)
    return acceptors


_COMPILED: dict[int, tuple[Mapping[str, Any], _Acceptors]] = {}


class Gate:
    """The compiled acceptors' verdicts on single members of one operation's requests,
    remembered, for the operation's fast path (see `kmssim.core.ops.crypto_fast`).

    botocore's checks and the service's (after botocore's) accept a request exactly when
    its members are known, the required ones are there, and each member's value is
    accepted by that member's own acceptor: so a verdict per value is a verdict on the
    value wherever it appears. A string accepted once is accepted again; a blob's checks
    are its length bounds, so an exact ``bytes`` of an accepted length is accepted; an
    encryption context (a dict of strings) is remembered by its pairs, with what
    `context` makes of it. ``extra`` adds, per member, the operation's own checks the
    model cannot express (functions of the value that raise, e.g. `blob` with its
    ``high``); a value is remembered only if they pass too. Every memo is bounded.
    """

    def __init__(self, rules: Mapping[str, Any],
                 extra: Mapping[str, Callable[[Any], Any]] | None = None,
                 encode: Callable[[Mapping[str, str] | None], bytes] | None = None) -> None:
        members = rules["members"]
        self.members = frozenset(members)
        self.required = frozenset(rules["required"])
        self._client = {name: _client_acceptor(rule) for name, rule in members.items()}
        self._service = {name: _service_acceptor(rule, True) for name, rule in members.items()
                         if _constrained(rule)}
        self._extra = dict(extra or {})
        self._encode = encode
        #: member → the strings accepted for it
        self.texts: dict[str, set[str]] = {name: set() for name in members}
        #: member → the lengths of the bytes accepted for it
        self.sizes: dict[str, set[int]] = {name: set() for name in members}
        #: the pairs of an accepted context → (its encoding by ``encode``, the pairs)
        self.contexts: dict[tuple[tuple[str, str], ...],
                            tuple[bytes, tuple[tuple[str, str], ...]]] = {}

    def accepts(self, member: str, value: Any) -> bool:
        """Whether every check of ``member`` passes ``value`` (False if one raises)."""
        try:
            service = self._service.get(member, _always)
            if not (self._client[member](value) and service(value)):
                return False
            extra = self._extra.get(member)
            if extra is not None:
                extra(value)
        except Exception:  # noqa: BLE001 - the general path meets the same value and decides
            return False
        return True

    def text(self, member: str, value: Any) -> bool:
        """Check a string not yet remembered for ``member``; remember it if accepted."""
        if type(value) is not str or not self.accepts(member, value):
            return False
        memo = self.texts[member]
        if len(memo) >= 4096:
            memo.clear()
        memo.add(value)
        return True

    def size(self, member: str, value: Any) -> bool:
        """Check bytes of a length not yet remembered for ``member``; remember it."""
        if type(value) is not bytes or not self.accepts(member, value):
            return False
        self.sizes[member].add(len(value))
        return True

    def context(self, member: str, value: Any) -> tuple[bytes, tuple[tuple[str, str], ...]] | None:
        """Check an encryption context not yet remembered; remember and return its entry
        (None if it is not accepted, or not a plain dict of plain strings)."""
        if type(value) is not dict or not self.accepts(member, value) or not all(
                type(k) is str and type(v) is str for k, v in value.items()):
            return None
        try:
            checked = context(member, value)
        except ValidationException:
            return None
        pairs = tuple(value.items())
        if len(self.contexts) >= 1024:
            self.contexts.clear()
        entry = self.contexts[pairs] = (
            self._encode(checked) if self._encode is not None else b"", pairs)
        return entry


def validation_error(problems: list[str], **kwargs: Any) -> ValidationException:
    """AWS's ValidationException for one or more constraint failures."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return ValidationException(f"{count} validation {noun} detected: " + "; ".join(problems),
                               **kwargs)


# -- checks the model cannot express ---------------------------------------------------------
def _fail(name: str, value: Any, constraint: str, *, hidden: bool = False) -> ValidationException:
    shown_value = "" if hidden else f" '{_java(value)}'"
    return validation_error([f"Value{shown_value} at '{member_path(name)}' failed to satisfy "
                             f"constraint: {constraint}"])


def blob(name: str, value: Any, *, low: int = 1, high: int) -> bytes:
    """Bytes of length ``low``..``high``; ``str`` is taken as UTF-8, as botocore does."""
    if isinstance(value, str):
        if lone_surrogate(value) is not None:
            raise ValidationException(f"{name} is a string with a lone surrogate, which "
                                      "cannot be encoded as UTF-8.")
        value = value.encode("utf-8")
    elif type(value) is not bytes:
        if not isinstance(value, (bytes, bytearray)):
            raise ValidationException(
                f"Invalid type for parameter {name}, value: {shown(value)}, type: "
                f"{type(value)}, valid types: {_VALID_TYPES['blob']}")
        value = bytes(value)
    if len(value) < low:
        raise _fail(name, value, f"Member must have length greater than or equal to {low}",
                    hidden=True)
    if len(value) > high:
        raise _fail(name, value, f"Member must have length less than or equal to {high}",
                    hidden=True)
    return value


def context(name: str, value: Any) -> dict[str, str] | None:
    """An encryption context: a mapping of strings to strings (None if empty)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationException(
            f"Invalid type for parameter {name}, value: {shown(value)}, type: {type(value)}, "
            f"valid types: {_VALID_TYPES['map']}")
    for key, val in value.items():
        for part in (key, val):
            if not isinstance(part, str):
                raise ValidationException(
                    f"Invalid type for parameter {name}, value: {shown(part)}, type: "
                    f"{type(part)}, valid types: {_VALID_TYPES['string']}")
            if not part.isascii() and lone_surrogate(part) is not None:
                raise ValidationException(f"{name} has a string with a lone surrogate, "
                                          "which cannot be encoded as UTF-8.")
        if not key:  # the model sets no minimum; kmssim keeps refusing an empty key
            raise _fail(name, value, "Keys must have length greater than or equal to 1")
    return dict(value) or None


def integer(name: str, value: Any, low: int, high: int) -> int:
    """An int in ``low``..``high`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationException(
            f"Invalid type for parameter {name}, value: {shown(value)}, type: "
            f"{type(value)}, valid types: {_VALID_TYPES['integer']}")
    if value < low:
        raise _fail(name, value, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise _fail(name, value, f"Member must have value less than or equal to {high}")
    return value


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """One of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise _fail(name, value, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return value


def text(name: str, value: Any, *, low: int = 0, high: int = 8192) -> str:
    """A string of length ``low``..``high``."""
    if not isinstance(value, str):
        raise ValidationException(
            f"Invalid type for parameter {name}, value: {shown(value)}, type: "
            f"{type(value)}, valid types: {_VALID_TYPES['string']}")
    if len(value) < low:
        raise _fail(name, value, f"Member must have length greater than or equal to {low}")
    if len(value) > high:
        raise _fail(name, value, f"Member must have length less than or equal to {high}")
    return value


def flag(name: str, value: Any) -> bool:
    """A boolean."""
    if not isinstance(value, bool):
        raise ValidationException(
            f"Invalid type for parameter {name}, value: {shown(value)}, type: "
            f"{type(value)}, valid types: {_VALID_TYPES['boolean']}")
    return value
