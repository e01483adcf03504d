"""The audit trail: one CloudTrail-shaped event for every call and service action.

Events are small frozen records; `AuditEvent.to_cloudtrail` renders the full
CloudTrail JSON shape on demand, so keeping 100,000 events stays cheap. Nothing
secret is ever recorded: no plaintext, no data key, no key material, no blob.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["AuditEvent", "AuditTrail", "SERVICE_PRINCIPAL"]

SERVICE_PRINCIPAL = "AWS Internal"
_EVENT_NAMESPACE = uuid.UUID("6f1c7a52-0d3e-4c1b-9a57-5e1d2b7c9e10")


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
                             if service else
                             {"type": "IAMUser" if ":user/" in self.principal else "AssumedRole",
                              "arn": self.principal, "accountId": self.account_id}),
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


class AuditTrail:
    """The ordered list of `AuditEvent` for one simulator, with simple queries."""

    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events: list[AuditEvent] = []

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[AuditEvent]:
        return iter(self._events)

    def __getitem__(self, index: int) -> AuditEvent:
        return self._events[index]

    def __repr__(self) -> str:
        return f"<AuditTrail: {len(self._events)} events>"

    def append(self, event: AuditEvent) -> None:
        self._events.append(event)

    def next_sequence(self) -> int:
        return len(self._events)

    def query(self, *, key: str | None = None, name: str | tuple[str, ...] | None = None,
              principal: str | None = None, since: datetime | None = None,
              until: datetime | None = None, failed: bool | None = None) -> list[AuditEvent]:
        """Events matching every filter given.

        ``key`` matches a key ARN or the key id at its end; ``name`` an event name or
        a tuple of names; ``since``/``until`` are inclusive; ``failed=True`` keeps
        only calls that raised, ``False`` only those that succeeded.
        """
        names = (name,) if isinstance(name, str) else name
        out = []
        for event in self._events:
            if key is not None and (event.key_arn is None
                                    or not (event.key_arn == key
                                            or event.key_arn.endswith("/" + key))):
                continue
            if names is not None and event.name not in names:
                continue
            if principal is not None and event.principal != principal:
                continue
            if since is not None and event.time < since:
                continue
            if until is not None and event.time > until:
                continue
            if failed is not None and failed == event.succeeded:
                continue
            out.append(event)
        return out

    def to_cloudtrail(self, events: list[AuditEvent] | None = None) -> list[dict[str, Any]]:
        """CloudTrail records for ``events`` (default: the whole trail)."""
        return [event.to_cloudtrail() for event in (self._events if events is None else events)]
