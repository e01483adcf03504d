"""The machinery under every operation: the clock, key lookup, state checks, audit.

`Service` is the base of `kmssim.KMS`. The ``@operation`` decorator gives each
boto3-shaped method the behaviour boto3's client has (keyword arguments only, known
parameters only, required ones present) and records one audit event per call,
successful or not. Operations check everything before they change anything, so a
call that raises leaves the simulator exactly as it was.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from .audit import AuditEvent, AuditTrail
from .clock import Clock, Due, as_utc
from .entropy import Entropy
from .errors import (
    DisabledException, DryRunOperationException, InvalidArnException, KMSError,
    KMSInvalidStateException, NotFoundException, ValidationException,
)
from .keys import Key, KeyMaterial

__all__ = ["Service", "ServiceEvent", "ClockListener", "operation", "AWS_MANAGED_SERVICES"]

F = TypeVar("F", bound=Callable[..., dict[str, Any]])

#: The ``alias/aws/<service>`` names for which KMS makes an AWS managed key on first use.
AWS_MANAGED_SERVICES = ("s3", "secretsmanager", "lambda", "rds", "ebs", "dynamodb", "sns",
                        "sqs", "ssm", "acm", "redshift", "elasticfilesystem", "logs", "kinesis")
_SECRET_PARAMETERS = frozenset({"Plaintext", "CiphertextBlob", "Message", "Mac"})


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """Something KMS did by itself as time passed: a ``RotateKey`` or a ``DeleteKey``."""

    time: datetime
    name: str
    key_id: str
    key_arn: str
    rotation_type: str | None = None
    previous_material_id: str | None = None
    current_material_id: str | None = None

    def __str__(self) -> str:
        when = self.time.strftime("%Y-%m-%d %H:%M")
        if self.name == "RotateKey":
            return (f"{when}  RotateKey ({self.rotation_type})  {self.key_id}  "
                    f"{(self.previous_material_id or '')[:8]}… → "
                    f"{(self.current_material_id or '')[:8]}…")
        return f"{when}  {self.name}  {self.key_id}"


class ClockListener(Protocol):
    """Something built on a `KMS` that acts as simulated time passes (see
    `Service.add_clock_listener`): for example Secrets Manager's rotation schedules."""

    def next_due(self) -> datetime | None:
        """When it next wants to act, or None."""

    def run_due(self, now: datetime) -> None:
        """Act on everything due at or before ``now``; afterwards `next_due` must be
        None or later than ``now``. Must not raise for what it does on schedule."""


@dataclass(slots=True)
class _Call:
    key: Key | None = None
    material_id: str | None = None
    source: Key | None = None
    source_material_id: str | None = None
    # What KMS did because of the call (a RotateKey), logged after the call itself ...
    service_events: list[tuple[str, Key, dict[str, Any]]] | None = None
    # ... and how to take back what the call did before it failed (see `_undo_on_failure`).
    undo: list[Callable[[], None]] | None = None


def operation(name: str, *, required: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Make a method a KMS operation named ``name`` (its AWS name, e.g. ``"Encrypt"``)."""

    def decorate(method: F) -> F:
        accepted = tuple(p for p in inspect.signature(method).parameters if p != "self")
        known = frozenset(accepted)

        @functools.wraps(method)
        def call(self: Service, *args: Any, **kwargs: Any) -> dict[str, Any]:
            with self._lock:
                frame = _Call()
                self._calls.append(frame)
                try:
                    if args or not known.issuperset(kwargs):
                        _refuse_arguments(name, accepted, args, kwargs)
                    for needed in required:
                        if kwargs.get(needed) is None:
                            raise ValidationException(
                                f'Missing required parameter in input: "{needed}"')
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


def _refuse_arguments(name: str, accepted: tuple[str, ...], args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> None:
    if args:
        raise ValidationException(
            f"{name} takes keyword arguments only, as boto3 clients do "
            f"(for example KeyId=...), but got {len(args)} positional.")
    for given in kwargs:
        if given not in accepted:
            raise ValidationException(
                f'Unknown parameter in input: "{given}", must be one of: '
                + ", ".join(accepted))


class Service:
    """State shared by every operation: keys, aliases, clock, randomness, trail."""

    def __init__(self, seed: int | str | bytes | None = None, start: datetime | None = None,
                 region: str = "us-east-1", account_id: str = "111122223333") -> None:
        if not isinstance(region, str) or not region:
            raise ValidationException("region must be a non-empty string such as 'us-east-1'.")
        if not (isinstance(account_id, str) and len(account_id) == 12 and account_id.isdigit()):
            raise ValidationException("account_id must be 12 digits, e.g. '111122223333'.")
        self.region = region
        self.account_id = account_id
        self.clock = Clock(start)
        self.entropy = Entropy(seed)
        self.trail = AuditTrail()
        self._keys: dict[str, Key] = {}
        # alias name → (target key id, created, last updated)
        self._aliases: dict[str, tuple[str, datetime, datetime]] = {}
        self._deleted: dict[str, Key] = {}   # key id → the key as it was, materials destroyed
        self._invocations = 0                # makes every nonce unique within this simulator
        self._principal = f"arn:aws:iam::{account_id}:user/learner"
        self._calls: list[_Call] = []
        self._lock = threading.RLock()
        self._ciphers: dict[str, Any] = {}   # material id → ready cipher object (a cache)
        self._listeners: dict[str, ClockListener] = {}   # name → listener; not saved

    # -- time ---------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The simulated time (UTC, timezone-aware)."""
        return self.clock.now

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0,
                seconds: float = 0, weeks: float = 0) -> list[ServiceEvent]:
        """Move simulated time forward and return what KMS did meanwhile, in order.

        Rotations and deletions due at or before the new time happen, each at its own
        scheduled instant. ``kms.advance(days=365)`` is a year.
        """
        try:
            step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds, weeks=weeks)
        except TypeError as error:
            raise ValidationException(f"advance() takes numbers: {error}") from None
        except (ValueError, OverflowError):  # NaN, infinity, more than 999,999,999 days
            raise ValidationException("advance() takes a finite step of at most "
                                      "999,999,999 days.") from None
        if step < timedelta(0):
            raise ValidationException("Simulated time cannot go backwards: the step is negative.")
        with self._lock:  # read "now" and move from it at once, so concurrent steps add up
            try:
                target = self.now + step
            except OverflowError:
                raise ValidationException("That step would move simulated time past the year "
                                          "9999.") from None
            return self.advance_to(target)

    def advance_to(self, when: datetime) -> list[ServiceEvent]:
        """Move simulated time to ``when`` (not before now); see `advance`.

        Clock listeners (`add_clock_listener`) act at their own due instants on the
        way, after KMS's events due at the same instant.
        """
        with self._lock:
            target = as_utc(when)
            fired: list[ServiceEvent] = []
            while target >= self.now and (due := self._listener_due(target)) is not None:
                fired += self.clock.run_until(due, self._fire)
                for name, listener in list(self._listeners.items()):
                    pending = listener.next_due()
                    if pending is not None and pending <= self.now:
                        listener.run_due(self.now)
                        pending = listener.next_due()
                        if pending is not None and pending <= self.now:
                            raise RuntimeError(f"clock listener {name!r} is still due at "
                                               f"{self.now.isoformat()} after run_due()")
            return fired + self.clock.run_until(target, self._fire)

    def _listener_due(self, target: datetime) -> datetime | None:
        dues = [due for listener in self._listeners.values()
                if (due := listener.next_due()) is not None and due <= target]
        return max(min(dues), self.now) if dues else None

    def add_clock_listener(self, name: str, listener: ClockListener) -> None:
        """Let something built on this KMS act as simulated time passes.

        `advance` and `advance_to` stop at every instant ``listener.next_due()``
        names, fire KMS's own rotations and deletions due by then, and call
        ``listener.run_due(now)``. This is how a service scenario (Secrets Manager's
        rotation schedule) shares the one clock without KMS knowing about it.
        A listener registered under a ``name`` already in use replaces the earlier
        one, so re-running a notebook cell leaves no stale copy behind. Listeners are
        not part of a saved scenario.
        """
        with self._lock:
            self._listeners[name] = listener

    def remove_clock_listener(self, name: str) -> None:
        """Stop calling the listener registered under ``name`` (no error if none)."""
        with self._lock:
            self._listeners.pop(name, None)

    def next_event_time(self) -> datetime | None:
        """When KMS will next rotate or delete a key by itself, or a clock listener
        (such as a secret's rotation schedule) is next due; None if nothing is."""
        with self._lock:
            times = [key.deletion_date if key.state == "PendingDeletion" else key.next_rotation
                     for key in self._keys.values()
                     if key.state == "PendingDeletion" or (key.state == "Enabled"
                                                           and key.rotation_enabled)]
            times += [listener.next_due() for listener in self._listeners.values()]
            return min((t for t in times if t is not None), default=None)

    def _still_due(self, entry: Due) -> bool:
        key = self._keys.get(entry.key_id)
        if key is None:
            return False
        if entry.kind == "delete":
            return key.deletion_date == entry.due
        return key.rotation_enabled and key.next_rotation == entry.due and key.state == "Enabled"

    def _fire(self, entry: Due) -> ServiceEvent | None:
        if not self._still_due(entry):
            return None
        key = self._keys[entry.key_id]
        if entry.kind == "delete":
            return self._delete(key)
        event = self._rotate(key, "AUTOMATIC")
        key.rotation_anchor = self.now
        self.clock.schedule(key.advance_schedule(self.now), "rotate", key.key_id)
        return event

    # -- who is calling -------------------------------------------------------
    @property
    def principal(self) -> str:
        """The IAM identity the audit trail records for calls made now."""
        return self._principal

    @contextlib.contextmanager
    def acting_as(self, identity: str) -> Iterator[str]:
        """Within the block, calls are made by ``identity`` (a name or an IAM ARN).

        ``with kms.acting_as("alice"): ...`` records calls as
        ``arn:aws:iam::<account>:user/alice``; ``"role/app"`` becomes a role ARN.
        """
        if not isinstance(identity, str) or not identity:
            raise ValidationException("acting_as() needs a user name, 'role/<name>' or an ARN.")
        if not identity.startswith("arn:"):
            kind = "" if "/" in identity else "user/"
            identity = f"arn:aws:iam::{self.account_id}:{kind}{identity}"
        with self._lock:
            before, self._principal = self._principal, identity
        try:
            yield identity
        finally:
            self._principal = before

    # -- naming -------------------------------------------------------------
    def _arn(self, resource: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:{resource}"

    def _key(self, key_ref: Any, *, aliases: bool = True, parameter: str = "KeyId") -> Key:
        """The key named by an id, key ARN, alias name or alias ARN (or raise as AWS does)."""
        if not isinstance(key_ref, str) or not key_ref:
            raise ValidationException(f"Invalid type for parameter {parameter}: expected a "
                                      f"key id, key ARN, alias name or alias ARN string.")
        resource = key_ref
        if key_ref.startswith("arn:"):
            parts = key_ref.split(":", 5)
            if (len(parts) != 6 or parts[2] != "kms" or not parts[1].startswith("aws")
                    or not parts[5].startswith(("key/", "alias/"))):
                raise InvalidArnException(
                    f"Invalid arn {key_ref!r}: expected "
                    "arn:aws:kms:<region>:<account>:key/<id> or :alias/<name>.")
            if parts[3] != self.region or parts[4] != self.account_id:
                raise NotFoundException(f"Key '{key_ref}' does not exist in this simulator "
                                        f"({self.region}, account {self.account_id}).")
            resource = parts[5]
        if resource.startswith("alias/"):
            if not aliases:
                raise NotFoundException(
                    f"Invalid keyId '{key_ref}': this operation takes a key ID or key ARN, "
                    "not an alias.")
            return self._note(self._alias_target(resource))
        key_id = resource[4:] if resource.startswith("key/") else resource
        key = self._keys.get(key_id)
        if key is None:
            raise NotFoundException(f"Key '{self._arn('key/' + key_id)}' does not exist")
        return self._note(key)

    def _alias_target(self, name: str) -> Key:
        entry = self._aliases.get(name)
        if entry is None and name.startswith("alias/aws/") \
                and name[len("alias/aws/"):] in AWS_MANAGED_SERVICES:
            return self._create_aws_managed(name)
        if entry is None:
            raise NotFoundException(f"Alias {self._arn(name)} is not found.")
        return self._keys[entry[0]]

    def _create_aws_managed(self, alias: str) -> Key:  # pragma: no cover - KeyOps defines it
        raise NotImplementedError

    # -- state checks -------------------------------------------------------
    def _usable(self, key: Key) -> Key:
        """Check that ``key`` may be used in a cryptographic operation."""
        if key.state == "Disabled":
            raise DisabledException(f"{key.arn} is disabled.")
        if key.state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        return key

    @staticmethod
    def _dry_run(dry_run: Any) -> None:
        """Stop here, changing nothing, if the caller asked for a dry run."""
        if dry_run:
            raise DryRunOperationException(
                "The request would have succeeded, but the DryRun option is set.")

    def _not_pending_deletion(self, key: Key) -> Key:
        if key.state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        return key

    # -- audit --------------------------------------------------------------
    def _note(self, key: Key) -> Key:
        """Name ``key`` in this call's audit event unless the call already names one, so
        that a call that fails (a DisabledException, say) still says which key it was for."""
        if self._calls:
            frame = self._calls[-1]
            if frame.key is None and frame.source is None:
                frame.key = key
        return key

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
                     error: KMSError | None, frame: _Call) -> None:
        request = {_camel(k): _recordable(v) for k, v in params.items()
                   if v is not None and k not in _SECRET_PARAMETERS}
        if name == "Decrypt":  # CloudTrail always records the algorithm a Decrypt used
            request.setdefault("encryptionAlgorithm", "SYMMETRIC_DEFAULT")
        key = frame.key or frame.source
        elements = None
        if response is not None and name not in _QUIET and key is not None:
            elements = {"keyId": key.arn}
        if frame.source is not None and frame.key is not None:
            request["sourceKeyMaterialId"] = frame.source_material_id
            request["sourceKeyId"] = frame.source.arn
        self.trail.append(AuditEvent(
            self.trail.next_sequence(), self.now, name, "AwsApiCall", self._principal,
            key.arn if key else None, request or None, elements,
            error.code if error else None, error.message if error else None,
            frame.material_id, self.region, self.account_id))

    def _record_service(self, name: str, key: Key, details: dict[str, Any]) -> None:
        if self._calls:
            # KMS did this because of a call (RotateKeyOnDemand, EnableKey): CloudTrail
            # logs the call first, then this, so the call's wrapper records it after.
            frame = self._calls[-1]
            if frame.service_events is None:
                frame.service_events = []
            frame.service_events.append((name, key, details))
            return
        self.trail.append(AuditEvent(
            self.trail.next_sequence(), self.now, name, "AwsServiceEvent", "AWS Internal",
            key.arn, None, details, None, None, details.get("currentKeyMaterialId"),
            self.region, self.account_id))

    # -- what KMS does by itself --------------------------------------------
    def _new_material(self, rotation_type: str | None) -> KeyMaterial:
        return KeyMaterial(self.entropy.hex_id(), self.now, rotation_type, self.entropy.bytes(32))

    def _rotate(self, key: Key, rotation_type: str) -> ServiceEvent:
        previous = key.current.material_id
        key.add_material(self._new_material(rotation_type))
        current = key.current.material_id
        self._record_service("RotateKey", key, {
            "keyId": key.key_id, "rotationType": rotation_type, "keyOrigin": "AWS_KMS",
            "previousKeyMaterialId": previous, "currentKeyMaterialId": current})
        return ServiceEvent(self.now, "RotateKey", key.key_id, key.arn, rotation_type,
                            previous, current)

    def _delete(self, key: Key) -> ServiceEvent:
        del self._keys[key.key_id]
        for name in [n for n, (target, _, _) in self._aliases.items() if target == key.key_id]:
            del self._aliases[name]
        for material in key.materials:
            self._ciphers.pop(material.material_id, None)
        # Keep what the key was, for history and for explaining failures, but destroy
        # its material: ciphertexts under it are now unrecoverable, as in AWS.
        key.materials = tuple(KeyMaterial(m.material_id, m.created, m.rotation_type, b"")
                              for m in key.materials)
        key.set_state("Deleted", self.now)
        self._deleted[key.key_id] = key
        self._record_service("DeleteKey", key, {"keyId": key.key_id})
        return ServiceEvent(self.now, "DeleteKey", key.key_id, key.arn)


def _recordable(value: Any) -> Any:
    """A request parameter as a CloudTrail record holds it: JSON data, copied (so the
    trail does not change when the caller's dict does, and always saves), bytes unshown."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _recordable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_recordable(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    return value.isoformat() if isinstance(value, datetime) else repr(value)


@functools.cache
def _camel(parameter: str) -> str:
    """CloudTrail's name for a request parameter: ``KeyId`` → ``keyId``."""
    return parameter[0].lower() + parameter[1:]


#: Operations whose CloudTrail entries carry no responseElements.
_QUIET = frozenset({"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey",
                    "GenerateDataKeyWithoutPlaintext", "GenerateRandom", "GenerateMac",
                    "VerifyMac", "DescribeKey", "ListKeys", "ListAliases", "ListKeyRotations",
                    "GetKeyRotationStatus"})
