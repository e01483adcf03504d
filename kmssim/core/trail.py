"""The audit trail: one CloudTrail-shaped event for every call and service action.

Events are kept packed as plain tuples and built into small frozen `AuditEvent`
records when first read; `AuditEvent.to_cloudtrail` renders the full CloudTrail JSON
shape on demand, so keeping a million events stays cheap. Nothing
secret is ever recorded: no plaintext, no data key, no key material, no blob.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import operator
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from kmssim.core._gc import collector_paused

__all__ = ["AuditEvent", "AuditTrail", "SERVICE_PRINCIPAL", "user_identity", "issued_by"]

SERVICE_PRINCIPAL = "AWS Internal"
_EVENT_NAMESPACE = uuid.UUID("6f1c7a52-0d3e-4c1b-9a57-5e1d2b7c9e10")


def _packed_key(mapping: Mapping[str, Any] | None) -> Any:
    """The key `AuditTrail.columns` files a built event's request or response under: the
    same as for the packed form `AuditTrail.add` makes of it (so a file does not depend
    on which events were read before the save)."""
    if mapping is None:
        return None
    return ("r", tuple(mapping), tuple(
        tuple(value.items()) if type(value) is dict and all(
            type(k) is str and type(v) is str for k, v in value.items()) else value
        for value in mapping.values()))


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of the trail.

    ``event_type`` is ``"AwsApiCall"`` for calls and ``"AwsServiceEvent"`` for what
    KMS does by itself (``RotateKey``, ``DeleteKey``). ``key_arn`` is the key the
    call acted on, when it got that far; ``key_material_id`` the material it used.
    """

    sequence: int
    time: datetime
    name: str
    event_type: str
    principal: str
    key_arn: str | None
    request: Mapping[str, Any] | None
    response: Mapping[str, Any] | None
    error_code: str | None
    error_message: str | None
    key_material_id: str | None
    region: str
    account_id: str

    @property
    def succeeded(self) -> bool:
        return self.error_code is None

    @property
    def event_id(self) -> str:
        """A stable id, derived from the account and the event's place in the trail."""
        return str(uuid.uuid5(_EVENT_NAMESPACE, f"{self.account_id}/{self.sequence}"))

    def to_cloudtrail(self) -> dict[str, Any]:
        """The event as CloudTrail would record it (a fresh dict)."""
        service = self.event_type == "AwsServiceEvent"
        record: dict[str, Any] = {
            "eventVersion": "1.11",
            "userIdentity": ({"accountId": self.account_id, "invokedBy": SERVICE_PRINCIPAL}
                             if service else user_identity(self.principal, self.account_id,
                                                           self.time)),
            "eventTime": self.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "kms.amazonaws.com",
            "eventName": self.name,
            "awsRegion": self.region,
            "requestParameters": None if service else dict(self.request or {}),
            "responseElements": None if self.response is None or service else dict(self.response),
            "eventID": self.event_id,
            "readOnly": self.name.startswith(("Describe", "Get", "List", "Encrypt", "Decrypt",
                                              "ReEncrypt", "Generate", "Verify")),
            "resources": ([{"accountId": self.account_id, "type": "AWS::KMS::Key",
                            "ARN": self.key_arn}] if self.key_arn else []),
            "eventType": self.event_type,
            "managementEvent": True,
            "recipientAccountId": self.account_id,
            "eventCategory": "Management",
        }
        if service:
            record["serviceEventDetails"] = dict(self.response or {})
        if self.error_code is not None:
            record["errorCode"] = self.error_code
            record["errorMessage"] = self.error_message
        if self.key_material_id is not None:
            record["additionalEventData"] = {"keyMaterialId": self.key_material_id}
        return record


def _unique_id(prefix: str, arn: str, length: int = 17) -> str:
    """A stand-in for an IAM unique id (``AIDA…`` for a user, ``AROA…`` for a role,
    ``ASIA…``/``AKIA…`` for access keys): made up by kmssim, but the same for the same
    ARN in every run, so a lesson's CloudTrail JSON prints the same."""
    digest = hashlib.sha256(f"{prefix}/{arn}".encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:length]


@functools.lru_cache(maxsize=256)
def _identity_parts(principal: str, account_id: str) -> tuple[str, str, str, str, str]:
    """(kind, account, name, session, issuer ARN) of a principal the trail recorded."""
    parts = principal.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return "AWSService", account_id, principal, "", ""
    account, resource = parts[4] or account_id, parts[5]
    if parts[2] == "sts" and resource.startswith("assumed-role/"):
        _, role, session = (resource.split("/", 2) + ["", ""])[:3]
        return "AssumedRole", account, role, session, f"arn:aws:iam::{account}:role/{role}"
    if resource == "root":
        return "Root", account, "", "", ""
    if resource.startswith("role/"):   # a role ARN recorded by an earlier kmssim
        return "Role", account, resource.rsplit("/", 1)[-1], "", principal
    return "IAMUser", account, resource.rsplit("/", 1)[-1], "", ""


def user_identity(principal: str, account_id: str, time: datetime) -> dict[str, Any]:
    """CloudTrail's ``userIdentity`` for a call made by ``principal``, shaped as AWS
    shapes it (CloudTrail User Guide, "CloudTrail userIdentity element"; the KMS
    Developer Guide's CloudTrail examples, e.g. "Amazon EC2 example two" for a role's
    session): an IAM user; a role's session (``AssumedRole``, its ``sessionIssuer`` the
    role); the account root; an AWS service principal (``AWSService``, ``invokedBy``).
    Unique ids and access key ids are kmssim's deterministic stand-ins."""
    identity = dict(_identity(principal, account_id))
    context = identity.get("sessionContext")
    if context is not None:   # the session's creation: kmssim starts one per call
        identity["sessionContext"] = {
            "sessionIssuer": dict(context["sessionIssuer"]),
            "attributes": {"creationDate": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "mfaAuthenticated": "false"}}
    return identity


@functools.lru_cache(maxsize=256)
def _identity(principal: str, account_id: str) -> dict[str, Any]:
    """`user_identity` without the session's creation date (cached: do not change it)."""
    kind, account, name, session, issuer = _identity_parts(principal, account_id)
    if kind == "AWSService":
        # A regional service principal (rds.us-east-1.amazonaws.com) is invoked by the
        # service's global name (rds.amazonaws.com).
        service = name.split(".", 1)[0]
        return {"type": "AWSService", "invokedBy": f"{service}.amazonaws.com"}
    if kind == "Root":
        return {"type": "Root", "principalId": account, "arn": principal,
                "accountId": account, "accessKeyId": _unique_id("AKIA", principal, 16)}
    if kind == "IAMUser":
        return {"type": "IAMUser", "principalId": _unique_id("AIDA", principal),
                "arn": principal, "accountId": account,
                "accessKeyId": _unique_id("AKIA", principal, 16), "userName": name}
    role_id = _unique_id("AROA", issuer)
    if kind == "Role":
        session = "kmssim"
        principal = f"arn:aws:sts::{account}:assumed-role/{name}/{session}"
    return {"type": "AssumedRole", "principalId": f"{role_id}:{session}", "arn": principal,
            "accountId": account, "accessKeyId": _unique_id("ASIA", principal, 16),
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": issuer,
                                  "accountId": account, "userName": name}}}


def issued_by(principal: str, account_id: str) -> str | None:
    """The role whose session ``principal`` is (``arn:aws:iam::<account>:role/<name>``),
    CloudTrail's ``sessionIssuer.arn``; None for other principals."""
    kind, _, _, _, issuer = _identity_parts(principal, account_id)
    return issuer if kind in ("AssumedRole", "Role") else None


class AuditTrail:
    """The ordered list of `AuditEvent` for one simulator, with simple queries.

    Stored compactly: `add` keeps each event as one flat tuple (shared strings, the
    shape of its request and response interned, a flat encryption context as a shared
    tuple of pairs), about 150 bytes where an `AuditEvent` with its dicts takes ~570;
    `add_packed` keeps a successful call as its time and a tuple shared by every call
    with the same request (the fast paths', ~60 bytes).
    Reading builds the `AuditEvent` objects, once: events read before are not rebuilt,
    so queries after the first run over ready objects, as fast as a plain list.
    """

    __slots__ = ("_events", "_built", "_interned", "_lock")

    def __init__(self) -> None:
        # Each entry is an AuditEvent, or the tuple `add` packs (built on first read).
        self._events: list[AuditEvent | tuple[Any, ...]] = []
        self._built = 0          # every entry before this index is an AuditEvent
        self._interned: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[AuditEvent]:
        return iter(self._ready())

    @overload
    def __getitem__(self, index: int) -> AuditEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[AuditEvent]: ...

    def __getitem__(self, index: int | slice) -> AuditEvent | list[AuditEvent]:
        events = self._events
        if isinstance(index, slice):
            positions = range(*index.indices(len(events)))
            return [self._at(position) for position in positions]
        position = operator.index(index)
        if position < 0:
            position += len(events)
        if not 0 <= position < len(events):
            raise IndexError("audit trail index out of range")
        return self._at(position)

    def __repr__(self) -> str:
        return f"<AuditTrail: {len(self._events)} events>"

    def append(self, event: AuditEvent) -> None:
        """Add a ready event (its ``sequence`` should be `next_sequence`)."""
        if event.sequence == len(self._events):
            self.add(event.time, event.name, event.event_type, event.principal, event.key_arn,
                     event.request, event.response, event.error_code, event.error_message,
                     event.key_material_id, event.region, event.account_id)
        else:
            self._events.append(event)

    def add(self, time: datetime, name: str, event_type: str, principal: str,
            key_arn: str | None, request: Mapping[str, Any] | None,
            response: Mapping[str, Any] | None, error_code: str | None,
            error_message: str | None, key_material_id: str | None, region: str,
            account_id: str) -> None:
        """Record the next event (its sequence is its place), packed: the mappings'
        values are kept, not copied, except flat str-to-str dicts (a context), which
        become shared tuples of pairs and come back as fresh dicts."""
        interned = self._interned
        request_names, request_values = self._packed(request)
        response_names, response_values = self._packed(response)
        shapes = (request_names, response_names)
        fixed = (event_type, region, account_id)
        self._events.append((time, name, principal, key_arn, key_material_id,
                             None if error_code is None else (error_code, error_message),
                             interned.setdefault(fixed, fixed),
                             interned.setdefault(shapes, shapes))
                            + request_values + response_values)

    def _packed(self, mapping: Mapping[str, Any] | None
                ) -> tuple[tuple[str, ...] | None, tuple[Any, ...]]:
        """A request or response as `add` keeps it: its member names, interned, and its
        values, flat str-to-str dicts (a context) as shared tuples of pairs."""
        if mapping is None:
            return None, ()
        names, values = tuple(mapping), tuple(mapping.values())
        if dict in map(type, values):
            values = self._shared_contexts(values)
        return self._interned.setdefault(names, names), values

    def call_head(self, region: str, account_id: str,
                  request_names: tuple[str, ...]) -> tuple[Any, ...]:
        """The shared tail of the packed form of a successful call with request members
        ``request_names`` and no response elements, for `add_call`."""
        interned = self._interned
        fixed = ("AwsApiCall", region, account_id)
        names = interned.setdefault(request_names, request_names)
        shapes = (names, None)
        return (interned.setdefault(fixed, fixed), interned.setdefault(shapes, shapes))

    def packed_call(self, name: str, principal: str, key_arn: str,
                    key_material_id: str | None, head: tuple[Any, ...],
                    request_values: tuple[Any, ...]) -> tuple[Any, ...]:
        """A successful call packed as `add` packs it, but for its time (``head`` from
        `call_head`, the request's values in its members' order, each context as
        `shared_pairs` gives it): record it with `add_packed`, as often as it recurs."""
        return (name, principal, key_arn, key_material_id, None) + head + request_values

    def add_packed(self, time: datetime, packed: tuple[Any, ...]) -> None:
        """Record, at ``time``, a call packed by `packed_call`: kept as the pair of the two,
        so that the calls of a hot loop share one packed tuple (~60 bytes an event)."""
        self._events.append((time, packed))

    def shared_pairs(self, mapping: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        """A flat str-to-str mapping as `add` stores one: a shared tuple of its pairs (a
        request value given to `add` in this form comes back from the event as a dict)."""
        pairs = tuple(mapping.items())
        return self._interned.setdefault(pairs, pairs)

    def _shared_contexts(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """``values`` with each flat str-to-str dict replaced by a shared tuple of pairs."""
        interned = self._interned
        out = []
        for value in values:
            if type(value) is dict and all(type(k) is str and type(v) is str
                                           for k, v in value.items()):
                pairs = tuple(value.items())
                value = interned.setdefault(pairs, pairs)
            out.append(value)
        return tuple(out)

    def _build(self, sequence: int, row: tuple[Any, ...]) -> AuditEvent:
        if len(row) == 2:   # (time, a call packed by `packed_call`)
            row = (row[0], *row[1])
        time, name, principal, key_arn, material_id, error, fixed, shapes = row[:8]
        event_type, region, account_id = fixed
        request_names, response_names = shapes
        request = response = None
        at = 8
        if request_names is not None:
            request = {n: dict(v) if type(v) is tuple else v
                       for n, v in zip(request_names, row[at:at + len(request_names)], strict=True)}
            at += len(request_names)
        if response_names is not None:
            response = {n: dict(v) if type(v) is tuple else v
                        for n, v in zip(response_names, row[at:], strict=True)}
        code, message = error if error is not None else (None, None)
        return AuditEvent(sequence, time, name, event_type, principal, key_arn, request,
                          response, code, message, material_id, region, account_id)

    def _at(self, position: int) -> AuditEvent:
        item = self._events[position]
        if type(item) is tuple:
            with self._lock:
                item = self._events[position]
                if type(item) is tuple:
                    item = self._events[position] = self._build(position, item)
        return item  # type: ignore[return-value]

    def _ready(self) -> list[AuditEvent]:
        """Every event so far, built (a snapshot: later events are not in it)."""
        events = self._events
        count = len(events)
        if self._built < count:
            with self._lock, collector_paused():
                build = self._build
                for position in range(self._built, count):
                    item = events[position]
                    if type(item) is tuple:
                        events[position] = build(position, item)
                self._built = max(self._built, count)
        return events[:count]  # type: ignore[return-value]

    def next_sequence(self) -> int:
        return len(self._events)

    def query(self, *, key: str | None = None, name: str | tuple[str, ...] | None = None,
              principal: str | None = None, since: datetime | None = None,
              until: datetime | None = None, failed: bool | None = None) -> list[AuditEvent]:
        """Events matching every filter given.

        ``key`` matches a key ARN or the key id at its end; ``name`` an event name or
        a tuple of names; ``principal`` the ARN the trail recorded (CloudTrail's
        ``userIdentity.arn``: for a role, its session
        ``arn:aws:sts::<account>:assumed-role/<role>/<session>``) or, for a role, the
        role's own ARN ``arn:aws:iam::<account>:role/<role>``, which matches every
        session of it (as filtering CloudTrail on ``sessionIssuer.arn`` does);
        ``since``/``until`` are inclusive; ``failed=True`` keeps only calls that
        raised, ``False`` only those that succeeded.
        """
        names = (name,) if isinstance(name, str) else name
        role = principal is not None and ":role/" in principal and principal.startswith(
            "arn:aws:iam::")
        out = []
        for event in self._ready():
            if key is not None and (event.key_arn is None
                                    or not (event.key_arn == key
                                            or event.key_arn.endswith("/" + key))):
                continue
            if names is not None and event.name not in names:
                continue
            if principal is not None and event.principal != principal and (
                    not role or issued_by(event.principal, event.account_id) != principal):
                continue
            if since is not None and event.time < since:
                continue
            if until is not None and event.time > until:
                continue
            if failed is not None and failed == event.succeeded:
                continue
            out.append(event)
        return out

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Every event's fields for a scenario file, in order, without building events.

        Yields one tuple per event: time (a datetime), name, event type, principal, key
        ARN, request, response, error code, error message, key material id. The request
        and response are each None or ``("r", names, values)``: the member names and
        values as `add` packed them (a flat context as a tuple of its pairs), the same
        for a built event (`_packed_key`), so a file does not depend on which events
        were read before the save. The tuples are made as the events are read.
        """
        for item in self._events[:len(self._events)]:
            if type(item) is tuple:
                if len(item) == 2:   # (time, a call packed by `packed_call`)
                    item = (item[0], *item[1])
                time, name, principal, arn, material, error, fixed, shapes = item[:8]
                request_names, response_names = shapes
                code, message = error if error is not None else (None, None)
                split = 8 + (len(request_names) if request_names is not None else 0)
                yield (time, name, fixed[0], principal, arn,
                       None if request_names is None else ("r", request_names, item[8:split]),
                       None if response_names is None else ("r", response_names, item[split:]),
                       code, message, material)
            else:
                event = item
                yield (event.time, event.name, event.event_type, event.principal,
                       event.key_arn, _packed_key(event.request), _packed_key(event.response),
                       event.error_code, event.error_message, event.key_material_id)

    def to_cloudtrail(self, events: list[AuditEvent] | None = None) -> list[dict[str, Any]]:
        """CloudTrail records for ``events`` (default: the whole trail)."""
        return [event.to_cloudtrail() for event in (self._ready() if events is None else events)]
