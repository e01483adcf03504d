"""How a method becomes a KMS operation: boto3's argument rules and one audit event.

The ``@operation`` decorator gives each boto3-shaped method of `kmssim.KMS` the
behaviour boto3's client has: keyword arguments only (else botocore's TypeError), and
botocore's client-side parameter checks from the model (`kmssim.core.params`), which
raise `ParamValidationError` before the call reaches the simulated service: no lock, no
audit event, nothing changed. Then, holding the simulator's lock, it makes the service's
own checks of every constraint of the model (ValidationException in AWS's words) before
the operation runs, and records one CloudTrail-shaped event per call that reached the
service, successful or not. A request received over HTTP (inside `received_over_the_wire`)
skips the client side, as curl or a client with validation turned off does: the service
reports what botocore would have caught, in its own words. Operations check everything
before they change anything; the little that must happen first (making an AWS
managed key on first use) registers an undo step, so a call that raises leaves the
simulator exactly as it was.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from kmssim.core.errors import KMSError, ParamValidationError, ValidationException
from kmssim.core._model_shapes import OPERATIONS
from kmssim.core.params import (
    client_problems,
    compiled,
    service_problems,
    shown,
    validation_error,
)
from kmssim.core.trail import AuditTrail

if TYPE_CHECKING:
    from kmssim.core.keys import Key

__all__ = ["operation", "AuditedCalls", "CallFrame", "KEYLESS",
           "received_over_the_wire"]

#: Operations on no key (their resource is ``*``): authorized from identity policies alone,
#: right after the argument checks, before the operation looks at any value.
KEYLESS = frozenset({"CreateKey", "ListKeys", "ListAliases", "GenerateRandom",
                     "ListRetirableGrants"})

F = TypeVar("F", bound=Callable[..., dict[str, Any]])

_SECRET_PARAMETERS = frozenset({"Plaintext", "CiphertextBlob", "Message", "Mac"})
#: What CloudTrail writes in place of a value it does not record.
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

_OVER_THE_WIRE: ContextVar[bool] = ContextVar("kmssim_over_the_wire", default=False)


@contextmanager
def received_over_the_wire() -> Iterator[None]:
    """Calls made inside come from the HTTP endpoint: botocore's client-side checks did not
    necessarily run, so the service makes them itself and answers ValidationException
    (never ParamValidationError). Context-local: other threads are unaffected."""
    token = _OVER_THE_WIRE.set(True)
    try:
        yield
    finally:
        _OVER_THE_WIRE.reset(token)


@dataclass(slots=True)
class CallFrame:
    """What one call has touched so far, for its audit event and its undo."""

    key: Key | None = None
    # The operation and its arguments, for authorization (`Service._authorize`) ...
    name: str | None = None
    params: dict[str, Any] | None = None
    # ... and the (key id, action) pairs it has already authorized.
    checked: set[tuple[str | None, str]] | None = None
    material_id: str | None = None
    source: Key | None = None
    source_material_id: str | None = None
    # What KMS did because of the call (a RotateKey), logged after the call itself ...
    service_events: list[tuple[str, Key, dict[str, Any]]] | None = None
    # ... and how to take back what the call did before it failed (see `_undo_on_failure`).
    undo: list[Callable[[], None]] | None = None


def operation(name: str, *, required: tuple[str, ...] = (),
              fast: Callable[[Any, dict[str, Any], str], dict[str, Any] | None] | None = None,
              ) -> Callable[[F], F]:
    """Make a method a KMS operation named ``name`` (its AWS name, e.g. ``"Encrypt"``).

    Which members are required, and every other constraint, comes from the model
    (`kmssim.core.model.input_rules`, read here from the generated table); ``required``
    only documents them at the method.

    ``fast`` is the operation's fast path (a hot cryptographic operation has one): called
    with the lock held, the keyword arguments and ``name``, for a call made in-process with no other
    call in progress, it either does the whole call, audit event included, and returns
    the response, or returns None having changed nothing, and the call takes the general
    path below. It must decide only through the rules the general path uses (see
    `kmssim.core.ops.crypto` for how it does).
    """

    def decorate(method: F) -> F:
        rules = OPERATIONS[name]["rules"]
        known = frozenset(rules["members"])
        # The rules compiled into acceptors (`kmssim.core.params.compiled`): a request they
        # accept has no problem to report; any other is checked by the interpreter, which
        # words the report (and which `reference_path` in the tests uses alone).
        acceptors = compiled(rules)
        accept_client, accept_service, accept_wire = (
            acceptors.client, acceptors.service, acceptors.wire)

        over_the_wire = _OVER_THE_WIRE.get

        @functools.wraps(method)
        def call(self: AuditedCalls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            if args:  # botocore's words for a positional argument
                raise TypeError(f"{method.__name__}() only accepts keyword arguments.")
            wire = over_the_wire()
            if fast is not None and not wire and FAST_PATHS_ON:
                # (acquire and release: measurably cheaper than ``with`` on this hot path)
                lock = self._lock
                lock.acquire()
                try:
                    response = None if self._calls else fast(self, kwargs, name)
                finally:
                    lock.release()
                if response is not None:
                    return response
            if not wire and not _accepts(accept_client, kwargs):
                problems = client_problems(rules, kwargs)
                if problems:  # botocore would not send the request: KMS never sees it
                    raise ParamValidationError("\n".join(problems))
            with self._lock:
                frame = CallFrame(name=name, params=kwargs)
                self._calls.append(frame)
                try:
                    if not (_accepts(accept_wire, kwargs) and known.issuperset(kwargs)
                            if wire else _accepts(accept_service, kwargs)):
                        _service_checks(rules, known, kwargs, wire)
                    if name in KEYLESS:  # no key to resolve: identity policies decide now
                        self._authorize(None)
                    response = method(self, **kwargs)
                except KMSError as error:
                    error.operation = name
                    for step in reversed(frame.undo or ()):
                        step()
                    self._record_call(name, kwargs, None, error, frame)
                    raise
                finally:
                    self._calls.pop()
                self._record_call(name, kwargs, response, None, frame)
                for event in frame.service_events or ():
                    self._record_service(*event)
                return response

        return call  # type: ignore[return-value]

    return decorate


#: False only while the tests' reference path runs: every request then goes to the
#: interpreter, as it did before the acceptors existed.
ACCEPTORS_ON = True
#: False only while the tests' reference path runs: no operation takes its fast path, and
#: no remembered authorization decision is used (`kmssim.core.state.Service._authorize`).
FAST_PATHS_ON = True


def _accepts(accept: Callable[[Any], bool], kwargs: dict[str, Any]) -> bool:
    """Whether the compiled acceptor passes ``kwargs`` (False if it cannot tell)."""
    if not ACCEPTORS_ON:
        return False
    try:
        return accept(kwargs)
    except Exception:  # noqa: BLE001 - the interpreter meets the same value and decides
        return False


def _service_checks(rules: Mapping[str, Any], known: frozenset[str], kwargs: dict[str, Any],
                    wire: bool) -> None:
    """Every constraint of the model, checked as the service checks it, before anything
    changes. Over the wire an unknown member cannot reach the method: it is refused
    (AWS's own answer to one is not recorded; kmssim keeps botocore's words for it)."""
    if wire:
        for given in kwargs:
            if given not in known:
                raise ValidationException(
                    f'Unknown parameter in input: "{shown(given)}", must be one of: '
                    + ", ".join(rules["members"]))
    problems = service_problems(rules, kwargs, client_checked=not wire)
    if problems:
        raise validation_error(problems)


class AuditedCalls:
    """The audit side of the simulator: what the current call touched, and the trail."""

    trail: AuditTrail
    region: str
    account_id: str
    _principal: str
    _calls: list[CallFrame]
    _lock: threading.RLock

    @property
    def now(self) -> datetime:  # pragma: no cover - Service defines it
        raise NotImplementedError

    @property
    def principal(self) -> str:  # pragma: no cover - Service defines it
        raise NotImplementedError

    def _note(self, key: Key) -> Key:
        """Name ``key`` in this call's audit event unless the call already names one, so
        that a call that fails (a DisabledException, say) still says which key it was for."""
        if self._calls:
            frame = self._calls[-1]
            if frame.key is None and frame.source is None:
                frame.key = key
        return key

    def _authorize(self, key: Key | None, action: str | None = None) -> None:
        """Raise AccessDeniedException unless the caller may do the current call's action
        (or ``action``) to ``key`` (None: a call on no key). `Service` implements it."""

    def _undo_on_failure(self, step: Callable[[], None]) -> None:
        """Run ``step`` if the current call goes on to fail: a failed call changes nothing."""
        if self._calls:
            frame = self._calls[-1]
            if frame.undo is None:
                frame.undo = []
            frame.undo.append(step)

    def _touch(self, key: Key, material_id: str | None = None, *, source: bool = False) -> None:
        """Note, for this call's audit event, the key (and material) it used."""
        frame = self._calls[-1]
        if source:
            frame.source, frame.source_material_id = key, material_id
        else:
            frame.key, frame.material_id = key, material_id

    def _record_call(self, name: str, params: dict[str, Any], response: dict[str, Any] | None,
                     error: KMSError | None, frame: CallFrame) -> None:
        request = _request_record(name, params, self.trail.shared_pairs)
        key = frame.key or frame.source
        elements = None
        if response is not None and name not in _QUIET and key is not None:
            elements = {"keyId": key.arn}
        if frame.source is not None and frame.key is not None:
            request["sourceKeyMaterialId"] = frame.source_material_id
            request["sourceKeyId"] = frame.source.arn
        self.trail.add(
            self.now, name, "AwsApiCall", self.principal,
            key.arn if key else None, request or None, elements,
            error.code if error else None, error.message if error else None,
            frame.material_id, self.region, self.account_id)

    def _record_service(self, name: str, key: Key, details: dict[str, Any]) -> None:
        if self._calls:
            # KMS did this because of a call (RotateKeyOnDemand, EnableKey): CloudTrail
            # logs the call first, then this, so the call's wrapper records it after.
            frame = self._calls[-1]
            if frame.service_events is None:
                frame.service_events = []
            frame.service_events.append((name, key, details))
            return
        self.trail.add(
            self.now, name, "AwsServiceEvent", "AWS Internal",
            key.arn, None, details, None, None, details.get("currentKeyMaterialId"),
            self.region, self.account_id)


def _request_record(name: str, params: dict[str, Any],
                    shared_pairs: Callable[[Mapping[str, str]], Any]) -> dict[str, Any]:
    """The requestParameters CloudTrail records for a call of ``name`` with ``params``
    (before the call adds what it learned, such as the source key of a ReEncrypt)."""
    known = OPERATIONS[name]["rules"]["members"]
    recorded = _recorded_names(name)
    # An unknown member (a misspelled ``PlainText``, say) may hold a secret: recorded
    # by name only, as CloudTrail hides what it must not show.
    request = {}
    for k, v in params.items():
        if v is None:
            continue
        camel = recorded.get(k)
        if camel is not None:
            if type(v) is str:
                request[camel] = v
            elif type(v) is dict and all(type(a) is str and type(b) is str
                                         for a, b in v.items()):
                # An encryption context: packed as the trail packs one, shared with
                # every other event that has the same pairs (no copy of the dict).
                request[camel] = shared_pairs(v)
            else:
                request[camel] = _recordable(v)
        elif k not in _SECRET_PARAMETERS and k not in known:
            request[_camel(str(k))] = HIDDEN
    if name == "Decrypt":  # CloudTrail always records the algorithm a Decrypt used
        request.setdefault("encryptionAlgorithm", "SYMMETRIC_DEFAULT")
    return request


class _Context(tuple):  # type: ignore[type-arg]
    """Stands for the encryption context a call layout takes (see `call_layout`)."""


#: How a fast path records a call: the request's member names, and its values' function.
Layout = tuple[tuple[str, ...], Callable[[dict[str, Any], Any], tuple[Any, ...]]]


def call_layout(name: str, names: tuple[str, ...]) -> Layout | None:
    """How a fast path records a successful call of ``name`` whose arguments are ``names``
    (each a string, a blob or an encryption context): the recorded request's member names,
    and a function of the arguments and the context's shared pairs that gives its values.

    Derived from `_request_record` itself, run once on stand-in values, so the fast path
    records exactly what the general path would. None if ``names`` are not all members of
    the operation or one is of another type, or if the call has response elements.
    """
    rules = OPERATIONS[name]["rules"]
    members = rules["members"]
    if name not in _QUIET or not all(n in members for n in names) \
            or sum(members[n]["type"] == "map" for n in names) > 1:
        return None
    stand_in: dict[str, Any] = {}
    for n in names:
        kind = members[n]["type"]
        if kind == "string":
            stand_in[n] = "\x00" + n
        elif kind == "blob":
            stand_in[n] = b"\x00"
        elif kind == "map":
            stand_in[n] = {"\x00": n}
        else:
            return None
    request = _request_record(name, stand_in, lambda pairs: _Context(pairs.items()))
    if not request:
        return None
    parts = []
    for value in request.values():
        if type(value) is _Context:
            parts.append("pairs")
        elif type(value) is str and value.startswith("\x00") and value[1:] in stand_in:
            parts.append(f"kw[{value[1:]!r}]")
        else:
            parts.append(repr(value))  # a value the record always has (a Decrypt's algorithm)
    values = eval(f"lambda kw, pairs: ({''.join(part + ', ' for part in parts)})")  # noqa: S307
    return tuple(request), values


def _recordable(value: Any) -> Any:
    """A request parameter as a CloudTrail record holds it: JSON data, copied (so the
    trail does not change when the caller's dict does, and always saves), bytes unshown."""
    kind = type(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 10_000:
        return f"<an integer of {value.bit_length()} bits>"  # more digits than JSON will write
    if kind is str or kind is int or value is None or isinstance(value, (str, int, float)):
        return value
    if kind is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        return dict(value)  # the common case, an encryption context: a flat copy suffices
    if isinstance(value, Mapping):
        return {str(k): _recordable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_recordable(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    return value.isoformat() if isinstance(value, datetime) else repr(value)


@functools.cache
def _recorded_names(name: str) -> dict[str, str]:
    """Each member of operation ``name`` whose value CloudTrail records, by its name
    there (``KeyId`` → ``keyId``)."""
    return {member: _camel(member) for member in OPERATIONS[name]["rules"]["members"]
            if member not in _SECRET_PARAMETERS}


@functools.cache
def _camel(parameter: str) -> str:
    """CloudTrail's name for a request parameter: ``KeyId`` → ``keyId``."""
    return parameter[0].lower() + parameter[1:]


#: Operations whose CloudTrail entries carry no responseElements.
_QUIET = frozenset({"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
                    "GenerateDataKeyWithoutPlaintext", "GenerateRandom", "GenerateMac",
                    "VerifyMac", "DescribeKey", "ListKeys", "ListAliases", "ListKeyRotations",
                    "GetKeyRotationStatus", "Sign", "Verify", "GetPublicKey",
                    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"})
