"""The KMS JSON 1.1 wire protocol: one request in, one response out.

`dispatch` is the single place where a request as AWS SDKs and the AWS CLI send it
(an ``X-Amz-Target: TrentService.<Operation>`` header and a JSON body, blobs in
base64) becomes a call of a `kmssim.KMS` operation, and its result or AWS-named
error becomes the JSON response AWS would send. The HTTP endpoint
(`kmssim.aws.server`) and the in-process boto3 bridge (`kmssim.bridge`) both use it.
It needs neither boto3 nor botocore: member types come from `kmssim.core.model`.

Besides KMS's operations it answers two of the simulator's own, under the target
prefix ``KmsSim``:

``KmsSim.Advance``  body ``{"Days": 30}`` (also ``Weeks``, ``Hours``, ``Minutes``,
                    ``Seconds``; numbers, may be combined): moves simulated time
                    forward and returns ``{"Now": <epoch seconds>, "Events": [...]}``,
                    one entry per rotation or deletion KMS performed meanwhile
                    (``EventTime``, ``EventName``, ``KeyId``, ``KeyArn`` and, for
                    rotations, ``RotationType``, ``PreviousKeyMaterialId``,
                    ``CurrentKeyMaterialId``).
``KmsSim.Now``      body ``{}``: returns ``{"Now": …}`` and, when a rotation or
                    deletion is scheduled, ``NextEventTime``.

Every failure is an AWS-shaped JSON error ``{"__type": code, "message": text}``:
HTTP 400 for the caller's mistakes (``UnknownOperationException``,
``SerializationException`` for a body that is not JSON of the right types,
``ValidationException``, and every error a KMS operation raises) and HTTP 500
``KMSInternalException`` if the simulator itself fails. `dispatch` never raises.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kmssim.core import model as api
from kmssim.core import HIDDEN, received_over_the_wire
from kmssim.core.errors import KMSError, ValidationException

if TYPE_CHECKING:
    from kmssim.core import KMS, ServiceEvent

__all__ = ["dispatch", "encode", "Response", "CONTENT_TYPE", "MAX_BODY_BYTES", "MAX_DEPTH",
           "UNKNOWN_VALUE", "SIMULATOR_PREFIX",
           "SerializationException", "UnknownOperationException"]

#: The content type of KMS requests and responses.
CONTENT_TYPE = "application/x-amz-json-1.1"
#: The largest request body accepted. KMS's own largest inputs (a 32 KiB key policy,
#: 4 KiB of plaintext in base64) fit many times over.
MAX_BODY_BYTES = 256 * 1024
#: The deepest nesting of arrays and objects a request may have. KMS's own requests are
#: at most four deep (a list of tag structures); anything far deeper is refused.
MAX_DEPTH = 32
#: What the audit trail records in place of the value of a member the model does not
#: have: its name is kept, its value (perhaps a misplaced secret, perhaps huge) is not.
UNKNOWN_VALUE = HIDDEN   # what CloudTrail writes in place of a value it hides
#: The ``X-Amz-Target`` prefix of the simulator's own operations.
SIMULATOR_PREFIX = "KmsSim"

#: ``(HTTP status, headers, body)``.
Response = tuple[int, dict[str, str], bytes]

_log = logging.getLogger(__name__)


class SerializationException(KMSError):
    """The request body is not a JSON object whose members have the model's types."""

    code = "SerializationException"


class UnknownOperationException(KMSError):
    """The ``X-Amz-Target`` names no operation this endpoint serves."""

    code = "UnknownOperationException"


def dispatch(kms: KMS, target: str | None, body: bytes | str | None) -> Response:
    """Serve one JSON-protocol request against ``kms``; return ``(status, headers, body)``.

    ``target`` is the ``X-Amz-Target`` header, e.g. ``"TrentService.Encrypt"``;
    ``body`` the request's JSON. Never raises: every failure is an AWS error response.
    """
    try:
        return _response(200, _call(kms, target or "", body))
    except KMSError as error:
        return _error(400, error.code, error.message)
    except Exception as error:  # a bug in the simulator: answer as AWS would, keep serving
        # One line at ERROR; the traceback only for whoever turns on DEBUG logging, so a
        # request that trips a bug cannot fill stderr with tracebacks.
        _log.error("kmssim failed while serving %s: %s: %s", target, type(error).__name__,
                   str(error)[:200])
        _log.debug("traceback of that failure", exc_info=True)
        return _error(500, "KMSInternalException",
                      "The simulator failed on this request; the failure is logged.")


def _call(kms: KMS, target: str, body: bytes | str | None) -> dict[str, Any]:
    prefix, _, name = target.partition(".")
    simulator_operation = _SIMULATOR_OPERATIONS.get(name) if prefix == SIMULATOR_PREFIX else None
    if simulator_operation is None and not (prefix == api.TARGET_PREFIX
                                            and name in api.OPERATIONS):
        raise UnknownOperationException(
            f"Unknown operation {target!r}: expected {api.TARGET_PREFIX}.<Operation> for one of "
            f"the {len(api.OPERATIONS)} KMS operations kmssim implements, or "
            f"{SIMULATOR_PREFIX}.Advance / {SIMULATOR_PREFIX}.Now.")
    request = _parse(body)
    if simulator_operation is not None:
        return simulator_operation(kms, request)
    params = _decode(api.input_type(name), request, "")
    # Whoever sent this may have skipped botocore's checks: the operation makes them itself,
    # as the service does, and answers with the service's errors.
    with received_over_the_wire():
        return getattr(kms, api.method_name(name))(**params)


def _parse(body: bytes | str | None) -> dict[str, Any]:
    if body is None:
        return {}
    if isinstance(body, str):
        body = body.encode("utf-8")
    if len(body) > MAX_BODY_BYTES:
        raise ValidationException(
            f"The request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}.")
    if not body.strip():
        return {}
    try:
        request = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise SerializationException(f"The request body is nested more than {MAX_DEPTH} "
                                     "levels deep.") from None
    except ValueError as error:   # also: an integer of more than 4,300 digits
        raise SerializationException(
            f"The request body is not valid JSON: {str(error)[:200]}") from None
    if not isinstance(request, dict):
        raise SerializationException(
            f"The request body must be a JSON object, not {_json_type(request)}.")
    if _depth(request) > MAX_DEPTH:
        raise SerializationException(f"The request body is nested more than {MAX_DEPTH} "
                                     "levels deep.")
    _refuse_lone_surrogates(request)
    return request


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_lone_surrogates(value: Any) -> None:
    """JSON may escape half of a surrogate pair (``"\\ud800"``), which decodes to a
    string that is not Unicode text: refused before anything runs, never a 500."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise SerializationException(
                    "The request body has a string with a lone surrogate (an unpaired "
                    "\\uD800-\\uDFFF escape), which is not valid Unicode.") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# -- JSON → Python, by the model's types --------------------------------------------
def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "an array", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _wrong(path: str, expected: str, value: Any) -> SerializationException:
    return SerializationException(f"{path or 'The request'} must be {expected}, "
                                  f"not {_json_type(value)}.")


def _decode(spec: Any, value: Any, path: str) -> Any:
    """``value`` from JSON as the Python value boto3 would pass, checking its type."""
    if isinstance(spec, str):
        return _decode_scalar(spec, value, path)
    if "structure" in spec:
        if not isinstance(value, dict):
            raise _wrong(path, "an object", value)
        members = spec["structure"]
        # Unknown members go through by name: the operation itself rejects them with the
        # same ValidationException a direct call gets, and the audit trail records the
        # name but not the value (a misspelt "PlainText" must not land in the trail).
        return {name: (_decode(members[name], item, f"{path}.{name}".lstrip("."))
                       if name in members else UNKNOWN_VALUE)
                for name, item in value.items() if item is not None}
    if "list" in spec:
        if not isinstance(value, list):
            raise _wrong(path, "an array", value)
        return [_decode(spec["list"], item, f"{path}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        raise _wrong(path, "an object (a map)", value)
    key_spec, value_spec = spec["map"]
    return {_decode(key_spec, key, f"{path} key"): _decode(value_spec, item, f"{path}.{key}")
            for key, item in value.items()}


def _decode_scalar(kind: str, value: Any, path: str) -> Any:
    if kind == "string":
        if not isinstance(value, str):
            raise _wrong(path, "a string", value)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _wrong(path, "true or false", value)
        return value
    if kind in ("integer", "long"):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(path, "an integer", value)
        return value
    if kind == "blob":
        if not isinstance(value, str):
            raise _wrong(path, "a base64-encoded string", value)
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SerializationException(f"{path} is not valid base64.") from None
    if kind in ("double", "timestamp"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise _wrong(path, "a number", value)
        if kind == "timestamp":
            return datetime.fromtimestamp(value, UTC)
        return float(value)
    raise SerializationException(f"{path} has type {kind}, which kmssim does not read.")


# -- Python → JSON ----------------------------------------------------------------
def encode(value: Any) -> Any:
    """A response value as JSON data: blobs base64, datetimes epoch seconds, Nones dropped."""
    if isinstance(value, Mapping):
        return {key: encode(item) for key, item in value.items() if item is not None}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    return value


def _response(status: int, payload: Mapping[str, Any]) -> Response:
    body = json.dumps(encode(payload), separators=(",", ":")).encode("utf-8")
    return status, {"Content-Type": CONTENT_TYPE, "Content-Length": str(len(body)),
                    "x-amzn-RequestId": str(uuid.uuid4())}, body


def _error(status: int, code: str, message: str) -> Response:
    return _response(status, {"__type": code, "message": message})


# -- the simulator's own operations ---------------------------------------------------
_STEPS = {"Weeks": "weeks", "Days": "days", "Hours": "hours", "Minutes": "minutes",
          "Seconds": "seconds"}


def _advance(kms: KMS, request: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, float] = {}
    for name, value in request.items():
        if name not in _STEPS:
            raise ValidationException(f'Unknown parameter in input: "{name}", must be one of: '
                                      + ", ".join(_STEPS))
        step[_STEPS[name]] = _decode_scalar("double", value, name)
    # The time this step reached, even if another request follows at once: no other
    # advance can start before this one has read it (other calls may interleave, and
    # see the clock mid-way, while a long advance lets go of the lock between events).
    with kms._advancing:
        events = kms.advance(**step)
        now = kms.now
    return {"Now": now, "Events": [_service_event(event) for event in events]}


def _service_event(event: ServiceEvent) -> dict[str, Any]:
    return {"EventTime": event.time, "EventName": event.name, "KeyId": event.key_id,
            "KeyArn": event.key_arn, "RotationType": event.rotation_type,
            "PreviousKeyMaterialId": event.previous_material_id,
            "CurrentKeyMaterialId": event.current_material_id}


def _now(kms: KMS, request: dict[str, Any]) -> dict[str, Any]:
    if request:
        raise ValidationException(f"{SIMULATOR_PREFIX}.Now takes no parameters.")
    return {"Now": kms.now, "NextEventTime": kms.next_event_time()}


_SIMULATOR_OPERATIONS: dict[str, Callable[[KMS, dict[str, Any]], dict[str, Any]]] = {
    "Advance": _advance, "Now": _now}
