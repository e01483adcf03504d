"""``aws kms …`` command lines run against a simulator, printed as the AWS CLI prints them.

`run` takes the words after ``aws`` (``"kms enable-key-rotation --key-id alias/app"``),
calls the simulator operation they name and returns what the AWS CLI (version 2)
would print and its exit status. Commands and options come from the KMS model
(`kmssim.core.model`): the command is the kebab-case operation name, an option is ``--``
plus the kebab-case member name (``RotationPeriodInDays`` → ``--rotation-period-in-days``),
booleans are ``--dry-run`` / ``--no-dry-run``, lists take several words, maps and
structures take JSON or shorthand (``Purpose=test,Team=a``), ``file://`` and
``fileb://`` read a value from a file. As in CLI v2, blobs typed inline are base64
(``--cli-binary-format raw-in-base64-out`` takes them as text). List commands fetch
every page. Output is the CLI's JSON: members in the model's order, blobs in base64,
timestamps in ISO 8601 (as CLI v2 prints them on a machine set to UTC), nothing for
an empty response; ``--query`` (JMESPath, if the ``jmespath`` package is installed) and
``--output text`` for scalar results work too.

One deliberate difference: a ``Plaintext`` that kmssim treats as secret (the data key
of ``generate-data-key``, and what ``decrypt`` returns, which may well be a data key)
prints as its fingerprint, never its bytes, as it does everywhere in kmssim.
"""

from __future__ import annotations

import base64
import binascii
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kmssim.core import KMS, SecretBytes
from kmssim.core import model as api
from kmssim.core.errors import HINT_LABEL, KMSError, ParamValidationError

__all__ = ["run", "render", "Outcome", "parse", "Command", "UsageError"]

#: Exit statuses of AWS CLI v2.
OK, USAGE, SERVICE_ERROR, OTHER_ERROR = 0, 252, 254, 255

_GLOBAL_VALUES = {"output", "query", "region", "profile", "endpoint-url", "cli-binary-format",
                  "color", "ca-bundle", "cli-read-timeout", "cli-connect-timeout", "page-size"}
_GLOBAL_FLAGS = {"no-cli-pager", "no-paginate", "debug", "no-verify-ssl", "no-sign-request",
                 "no-cli-auto-prompt"}


class UsageError(Exception):
    """The command line is not a valid ``aws kms`` command (the CLI's exit status 252)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the CLI would print, and its exit status; ``hint`` is kmssim's explanation of
    an error (a ``kmssim hint: …`` line, or ""), which the AWS CLI would not print."""

    status: int
    stdout: str = ""
    stderr: str = ""
    hint: str = ""


@dataclass(slots=True)
class Command:
    """A parsed ``aws kms`` command: the operation, its parameters, the output options."""

    operation: str | None
    params: dict[str, Any] = field(default_factory=dict)
    output: str = "json"
    query: str | None = None
    region: str | None = None
    paginate: bool = True
    page_size: int | None = None
    binary_format: str = "base64"
    help: bool = False


def run(kms: KMS, line: str | Sequence[str]) -> Outcome:
    """Run one ``aws`` command line (with or without the leading ``aws``) against ``kms``."""
    try:
        command = parse(line)
    except UsageError as error:
        return Outcome(USAGE, stderr=f"aws: error: {error}\n")
    if command.help:
        return Outcome(OK, stdout=_help(command.operation))
    assert command.operation is not None
    if command.region not in (None, kms.region):
        return Outcome(OTHER_ERROR, stderr=f"kmssim: this simulator is Region {kms.region}, "
                                           f"not {command.region}.\n")
    try:
        response = _call(kms, command)
    except KMSError as error:
        return Outcome(SERVICE_ERROR, stderr=f"An error occurred ({error.code}) when calling "
                                             f"the {command.operation} operation: "
                                             f"{error.message}\n",
                       hint=f"{HINT_LABEL} {error.hint}\n" if error.hint else "")
    except ParamValidationError as error:
        # What the CLI prints when botocore refuses a parameter before sending it.
        return Outcome(USAGE, stderr=f"\n{error}\n",
                       hint=f"{HINT_LABEL} {error.hint}\n" if error.hint else "")
    try:
        return Outcome(OK, stdout=render(command.operation, response, query=command.query,
                                         output=command.output))
    except UsageError as error:
        return Outcome(OTHER_ERROR, stderr=f"aws: error: {error}\n")


# -- parsing ------------------------------------------------------------------------
def parse(line: str | Sequence[str]) -> Command:
    """Read a command line into a `Command`; raise UsageError as the CLI would refuse it."""
    try:
        words = shlex.split(line) if isinstance(line, str) else list(line)
    except ValueError as error:
        raise UsageError(f"cannot split the command line: {error}") from None
    if words and words[0] == "aws":
        words = words[1:]
    command = Command(None)
    for at, word in enumerate(words):   # it decides how blobs read, wherever it stands
        if word.startswith("--cli-binary-format"):
            value = word.partition("=")[2] or (words[at + 1] if at + 1 < len(words) else "")
            _set_global(command, "cli-binary-format", value)
    positional: list[str] = []
    members: dict[str, Any] = {}
    required: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("--"):
            positional.append(word)
            if word == "help" and len(positional) in (2, 3):
                command.help = True
            elif len(positional) == 2:
                command.operation, members, required = _operation(positional)
            elif len(positional) > 2:
                raise UsageError(f"Unknown options: {word}")
            continue
        name, has_value, value = word[2:].partition("=")
        if name in _GLOBAL_FLAGS:
            command.paginate = command.paginate and name != "no-paginate"
            continue
        if name in _GLOBAL_VALUES:
            if not has_value:
                value, i = _one(words, i, word)
            _set_global(command, name, value)
            continue
        if command.operation is None:
            raise UsageError("the following arguments are required: command")
        member = _member(members, name, word)
        spec = members[member]
        if spec == "boolean":
            command.params[member] = not name.startswith("no-")
            continue
        if has_value:
            values = [value]
        elif isinstance(spec, dict) and "list" in spec:
            values = []
            while i < len(words) and not words[i].startswith("--"):
                values.append(words[i])
                i += 1
        else:
            single, i = _one(words, i, word)
            values = [single]
        if not values:
            raise UsageError(f"argument {word}: expected at least one argument")
        command.params[member] = _convert(spec, values, word, command.binary_format)
    if len(positional) == 1:
        if positional[0] != "kms":
            raise UsageError(f"kmssim runs kms commands only, not {positional[0]!r}.")
        command.help = True
    if command.help:
        return command
    if command.operation is None:
        raise UsageError("the following arguments are required: command (try: kms help)")
    missing = [api.cli_option(m) for m in required if m not in command.params]
    if missing:
        raise UsageError("the following arguments are required: " + ", ".join(missing))
    return command


def _operation(positional: list[str]) -> tuple[str | None, dict[str, Any], list[str]]:
    service, name = positional
    if service != "kms":
        raise UsageError(f"kmssim runs kms commands only, not {service!r}.")
    operation = api.operation_for(name) if "_" not in name else None
    if operation is None:
        raise UsageError(f"argument operation: Invalid choice {name!r}; kmssim's kms commands "
                         "are listed by: kms help")
    shape = api.input_type(operation)
    return operation, shape["structure"], shape.get("required", [])


def _one(words: list[str], i: int, option: str) -> tuple[str, int]:
    if i >= len(words):
        raise UsageError(f"argument {option}: expected one argument")
    return words[i], i + 1


def _set_global(command: Command, name: str, value: str) -> None:
    if name == "output":
        if value not in ("json", "text"):
            raise UsageError(f"kmssim prints --output json or text, not {value!r}.")
        command.output = value
    elif name == "query":
        _compile(value)   # refuse a bad expression before calling, as the CLI does
        command.query = value
    elif name == "region":
        command.region = value
    elif name == "cli-binary-format":
        if value not in ("base64", "raw-in-base64-out"):
            raise UsageError(f"argument --cli-binary-format: invalid choice: {value!r} "
                             "(choose from 'base64', 'raw-in-base64-out')")
        command.binary_format = value
    elif name == "page-size":
        command.page_size = _integer(value, "--page-size")
    # --profile, --endpoint-url and the connection options do not apply to a simulator.


def _member(members: dict[str, Any], name: str, word: str) -> str:
    for member, spec in members.items():
        option = api.cli_option(member)[2:]
        if name == option or (spec == "boolean" and name == "no-" + option):
            return member
    raise UsageError(f"Unknown options: {word}")


def _read(raw: str, option: str) -> str | bytes:
    for prefix, binary in (("fileb://", True), ("file://", False)):
        if raw.startswith(prefix):
            path = Path(raw[len(prefix):]).expanduser()
            try:
                return path.read_bytes() if binary else path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise UsageError(f"Error parsing parameter '{option}': Unable to load paramfile "
                                 f"{raw}: {error}") from None
    return raw


def _convert(spec: Any, values: list[str], option: str, binary_format: str) -> Any:
    loaded = [_read(value, option) for value in values]
    if isinstance(spec, dict) and "list" in spec:
        if len(loaded) == 1 and str(loaded[0]).lstrip().startswith("["):
            items = _json(loaded[0], option)
            if not isinstance(items, list):
                raise UsageError(f"Error parsing parameter '{option}': expected a JSON list")
            return items
        return [_scalar_or_structure(spec["list"], v, option, binary_format) for v in loaded]
    return _scalar_or_structure(spec, loaded[0], option, binary_format)


def _scalar_or_structure(spec: Any, raw: str | bytes, option: str, binary_format: str) -> Any:
    if spec == "blob":
        if isinstance(raw, bytes):
            return raw
        if binary_format == "raw-in-base64-out":
            return raw.encode("utf-8")
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise UsageError(f'Invalid base64: "{raw}"') from None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if spec in ("integer", "long"):
        return _integer(text, option)
    if spec == "string":
        return text
    if isinstance(spec, dict) and ("map" in spec or "structure" in spec):
        if text.lstrip().startswith("{"):
            return _json(text, option)
        return _shorthand(text, option)
    if spec == "timestamp":
        return _timestamp(text, option)
    raise UsageError(f"kmssim cannot read {option} (type {spec}) from the command line.")


def _integer(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"argument {option}: invalid int value: {text!r}") from None


def _timestamp(text: str, option: str) -> datetime:
    """A timestamp as the AWS CLI takes one: ISO 8601 (``2021-09-21T19:00:00Z``) or seconds
    since the epoch. kmssim reads a time without a zone as UTC (the CLI: local time)."""
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"argument {option}: invalid timestamp value: {text!r} (write ISO "
                         "8601, e.g. 2021-09-21T19:00:00Z, or seconds since the epoch)") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _json(text: str | bytes, option: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"Error parsing parameter '{option}': Invalid JSON: {error}") from None


def _shorthand(text: str, option: str) -> dict[str, str]:
    pairs = {}
    for part in text.split(","):
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise UsageError(f"Error parsing parameter '{option}': Expected: '=', received: "
                             f"{part!r} (write Key=Value,Key2=Value2 or JSON)")
        pairs[key.strip()] = value
    return pairs


# -- calling ------------------------------------------------------------------------
def _call(kms: KMS, command: Command) -> dict[str, Any]:
    assert command.operation is not None
    method = getattr(kms, api.method_name(command.operation))
    pages = api.paginator(command.operation)
    params = dict(command.params)
    # As the CLI does, a --marker or --limit of the user's turns paging off.
    if pages is None or not command.paginate or pages["input_token"] in params \
            or pages["limit_key"] in params:
        return method(**params)
    if command.page_size is not None:
        params.setdefault(pages["limit_key"], command.page_size)
    # As the CLI does: fetch every page and print only the merged result list.
    results: list[Any] = []
    while True:
        page = method(**params)
        results.extend(page.get(pages["result_key"], []))
        if not page.get(pages["more_results"]):
            return {pages["result_key"]: results}
        params[pages["input_token"]] = page[pages["output_token"]]


# -- printing -----------------------------------------------------------------------
def render(operation: str, response: dict[str, Any], *, query: str | None = None,
           output: str = "json") -> str:
    """The text the AWS CLI prints for ``response`` of ``operation``."""
    data = _printable(api.output_type(operation), response)
    if query is not None:
        data = _compile(query).search(data)
    if output == "text":
        return _text(data)
    return "" if data == {} else json.dumps(data, indent=4, ensure_ascii=False) + "\n"


def _compile(query: str) -> Any:
    try:
        import jmespath
    except ImportError:
        raise UsageError("--query needs the jmespath package, which boto3 brings: "
                         'pip install "kmssim[aws]".') from None
    try:
        return jmespath.compile(query)
    except jmespath.exceptions.JMESPathError as error:
        raise UsageError(f"argument --query: Bad value for --query {query}: {error}") from None


def _printable(spec: Any, value: Any) -> Any:
    """``value`` as the CLI's JSON: model member order, blobs base64, ISO timestamps."""
    if isinstance(value, SecretBytes):
        return repr(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        members = spec.get("structure") if isinstance(spec, dict) else None
        if members is None:  # a map, or a member the model does not know
            inner = spec["map"][1] if isinstance(spec, dict) and "map" in spec else None
            return {k: _printable(inner, v) for k, v in value.items()}
        ordered = [m for m in members if m in value] + [m for m in value if m not in members]
        return {m: _printable(members.get(m), value[m]) for m in ordered
                if m != "ResponseMetadata" and value[m] is not None}
    if isinstance(value, (list, tuple)):
        inner = spec.get("list") if isinstance(spec, dict) else None
        return [_printable(inner, item) for item in value]
    return value


def _text(data: Any) -> str:
    def scalar(value: Any) -> str:
        return "None" if value is None else str(value)

    if isinstance(data, list) and not any(isinstance(v, (dict, list)) for v in data):
        return "\t".join(scalar(v) for v in data) + "\n"
    if not isinstance(data, (dict, list)):
        return scalar(data) + "\n"
    raise UsageError("kmssim prints --output text for a single value or a list of values; "
                     "add a --query that selects one, or use --output json.")


def _help(operation: str | None) -> str:
    if operation is None:
        names = sorted(api.cli_option(op)[2:] for op in api.OPERATIONS)
        return "kms commands kmssim runs:\n" + "".join(f"  {n}\n" for n in names)
    shape = api.input_type(operation)
    lines = [f"{api.cli_option(operation)[2:]} options:"]
    for member, spec in shape["structure"].items():
        kind = spec if isinstance(spec, str) else next(iter(spec))
        flag = " (required)" if member in shape.get("required", []) else ""
        lines.append(f"  {api.cli_option(member)}  {kind}{flag}")
    return "\n".join(lines) + "\n"
