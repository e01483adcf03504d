"""The state under every operation: keys, aliases, the clock, key lookup, state checks.

`Service` is the base of `kmssim.KMS`: it owns the keys and aliases, moves simulated
time (firing rotations and deletions at their instants), resolves the ways a key can
be named, and checks key states. How a method becomes an audited, boto3-shaped
operation is `kmssim.core.calls`.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from kmssim.core import blob, calls
from kmssim.core import policy as policies
from kmssim.core.aliases import AliasTable
from kmssim.core.calls import KEYLESS, AuditedCalls, CallFrame
from kmssim.core.clock import Clock, Due, as_utc
from kmssim.core.entropy import Entropy
from kmssim.core._gc import collector_paused
from kmssim.core.errors import (
    AccessDeniedException,
    DisabledException,
    DryRunOperationException,
    InvalidArnException,
    KMSError,
    KMSInvalidStateException,
    NotFoundException,
    ValidationException,
)
from kmssim.core.iam import (
    IAM,
    Caller,
    authorize,
    caller_of,
    identity_decision,
    is_service_principal,
    session_of,
)
from kmssim.core.keys import Key, KeyMaterial
from kmssim.core.trail import AuditTrail

__all__ = ["Service", "ServiceEvent", "ClockListener", "AWS_MANAGED_SERVICES", "LOCK_SLICE"]

#: The longest an `advance` holds the simulator's lock at a time, in seconds, before it
#: lets other calls in (see `Service.advance_to`).
LOCK_SLICE = 0.05

# The AWS service a KMS request is made through (``s3.us-east-1.amazonaws.com``), for the
# kms:ViaService condition key; set by `Service.via_service`, per thread and task.
_VIA_SERVICE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kmssim_via_service", default=None)

#: The key a request names, by the parameter that names it, when the action differs from
#: the operation's name (ReEncrypt is kms:ReEncryptFrom on the source key, kms:ReEncryptTo
#: on the destination).
_ACTION_OF_PARAMETER = {"SourceKeyId": "ReEncryptFrom", "DestinationKeyId": "ReEncryptTo"}
#: Which request parameter holds the encryption context an action's conditions see.
_CONTEXT_OF_ACTION = {"ReEncryptFrom": "SourceEncryptionContext",
                      "ReEncryptTo": "DestinationEncryptionContext"}


@lru_cache(maxsize=512)
def _parsed(text: str) -> policies.Policy:
    """A stored key policy, parsed (it was validated when it was set)."""
    return policies.parse(text)


def _unconditional(documents: list[policies.Policy | None]) -> bool:
    """Whether no statement of ``documents`` has a condition: then what they decide
    depends only on who asks, for what action, on which key, never on request values."""
    return all(document is None or not any(s.conditions for s in document.statements)
               for document in documents)


#: The ``alias/aws/<service>`` names for which KMS makes an AWS managed key on first use.
#: What AWS accepts as a key ID: a UUID, or ``mrk-`` and 32 hex digits (multi-Region).
_KEY_ID = re.compile(r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$")
AWS_MANAGED_SERVICES = ("s3", "secretsmanager", "lambda", "rds", "ebs", "dynamodb", "sns",
                        "sqs", "ssm", "acm", "redshift", "elasticfilesystem", "logs", "kinesis")


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


_REGION = re.compile(r"([a-z]+-){2,3}\d+", re.ASCII)


class Service(AuditedCalls):
    """State shared by every operation: keys, aliases, clock, randomness, trail."""

    def __init__(self, seed: int | str | bytes | None = None, start: datetime | None = None,
                 region: str = "us-east-1", account_id: str = "111122223333") -> None:
        # The model's RegionType pattern, matched in full (so "us-east-1:999" or a trailing
        # newline cannot slip into every ARN).
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            raise ValidationException("region must be an AWS Region name such as 'us-east-1'.")
        if not (isinstance(account_id, str) and len(account_id) == 12 and account_id.isdigit()):
            raise ValidationException("account_id must be 12 digits, e.g. '111122223333'.")
        self.region = region
        self.account_id = account_id
        self.clock = Clock(start)
        self.entropy = Entropy(seed, scope=(region, account_id))
        self.trail = AuditTrail()
        self._keys: dict[str, Key] = {}
        # alias name → (target key id, created, last updated), indexed by key (see below)
        self._aliases = AliasTable()
        self._deleted: dict[str, Key] = {}   # key id → the key as it was, materials destroyed
        self._invocations = 0                # makes every nonce unique within this simulator
        self._principal = f"arn:aws:iam::{account_id}:user/learner"
        # Who `acting_as` says is calling, per thread and per asyncio task: each thread
        # starts from an empty context, so a block in one thread never names the caller
        # of another, and nothing outlives the block that set it.
        self._acting: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            "kmssim_acting_as", default=None)
        self._calls: list[CallFrame] = []
        self._lock = threading.RLock()
        # Held for a whole advance (which releases `_lock` between slices), so that two
        # advances never interleave and concurrent steps still add up.
        self._advancing = threading.RLock()
        self._ciphers: dict[str, Any] = {}   # material id → ready cipher object (a cache)
        # KeyId text (a key id or key ARN) → the key id it names, once it named a key: a
        # pure function of the text, so it is never stale; the key itself is looked up
        # in the key table on every call. Aliases are not cached: they change.
        self._named_ids: dict[str, str] = {}
        self._listeners: dict[str, ClockListener] = {}   # name → listener; not saved
        self.iam = IAM(account_id, self._lock)
        self._default_policy = policies.default_key_policy(account_id)
        self._grants: dict[str, Any] = {}    # grant id → Grant (see core/ops/grants.py)
        # Authorization decisions that depend on no request value, remembered with what
        # they depend on: (principal, key id, action) → (key, its key policy, IAM version).
        # See `_authorize`.
        self._decisions: dict[tuple[str, str, str], tuple[Key, str | None, int]] = {}
        # The fast paths' plans (`_plan`): (principal, key id, operation) → (key, its
        # state, its key policy, IAM version) for which the general checks all passed.
        self._plans: dict[tuple[str, str, str], tuple[Key, str, str | None, int]] = {}
        # (operation, argument names) → how its fast path records a call with them, for
        # the trail it was made for (see `kmssim.core.calls.call_layout`), or None.
        self._layouts: dict[tuple[str, tuple[str, ...]], Any] = {}
        # The fast paths' requests seen before, and what their checks found (see
        # `kmssim.core.ops.crypto_fast`).
        self._fast_calls: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._import_tokens: dict[bytes, Any] = {}       # ImportToken → parameters; not saved
        # The `kmssim.core.cloud.Cloud` this Region belongs to (one clock, related
        # multi-Region keys), or None for a simulator of one Region on its own.
        self._cloud: Any = None

    @property
    def _aliases(self) -> AliasTable:
        """The alias table; assigning a plain dict (as loading does) indexes it."""
        return self._alias_table

    @_aliases.setter
    def _aliases(self, entries: dict[str, tuple[str, datetime, datetime]]) -> None:
        self._alias_table = entries if type(entries) is AliasTable else AliasTable(entries)

    # -- time ---------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The simulated time (UTC, timezone-aware)."""
        return self.clock.now

    def advance(self, days: float = 0, *, hours: float = 0, minutes: float = 0,
                seconds: float = 0, weeks: float = 0) -> list[ServiceEvent]:
        """Move simulated time forward and return what KMS did meanwhile, in order.

        Rotations and deletions due at or before the new time happen, each at its own
        scheduled instant. ``kms.advance(days=365)`` (or ``kms.advance(365)``) is a year.
        Any span up to the year 9999 is accepted: a long one does not block other
        callers, because the lock is let go every 50 ms between events (`advance_to`).
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
        if self._cloud is not None:     # every Region of a Cloud moves together
            return self.advance_to(self._target(step))
        if self._holds_lock():
            return self._advance_all(self._target(step))
        with self._advancing:   # no other advance moves the clock until this one is done
            with self._lock:
                target = self._target(step)
            return self.advance_to(target)

    def _target(self, step: timedelta) -> datetime:
        try:
            return self.now + step
        except OverflowError:
            raise ValidationException("That step would move simulated time past the year "
                                      "9999.") from None

    def advance_to(self, when: datetime) -> list[ServiceEvent]:
        """Move simulated time to ``when`` (not before now); see `advance`.

        Clock listeners (`add_clock_listener`) act at their own due instants on the
        way, after KMS's events due at the same instant.

        However long the span, the simulator's lock is held for at most about
        `LOCK_SLICE` (50 ms) at a time: between due events the advance lets other calls
        in, and those calls see the clock at the instant of the last event fired (never
        beyond an event not yet fired). Advances themselves run one at a time, so
        concurrent steps add up. (Called by a thread that already holds the lock, an
        advance runs to its end without letting go.) In a `Cloud`, every Region moves
        together, and the events of every Region are returned.
        """
        if self._cloud is not None:
            return list(self._cloud.advance_to(when))
        return self._advance_here(when)

    def _advance_here(self, when: datetime) -> list[ServiceEvent]:
        target = as_utc(when)
        if self._holds_lock():
            return self._advance_all(target)
        fired: list[ServiceEvent] = []
        with self._advancing:
            with self._lock:
                if target < self.now:
                    raise ValidationException(
                        f"Simulated time cannot go backwards: {target.isoformat()} is before "
                        f"now ({self.now.isoformat()}).")
            # The collector waits for the whole advance, not only within each slice: let
            # back in every 50 ms, its passes over the growing heap made a 10-year advance
            # over 10,000 keys 9% slower per rotation than over 1,000 (see `_gc`).
            with collector_paused():
                while True:
                    with self._lock:
                        if target < self.now or self._advance_slice(
                                target, fired, time.perf_counter() + LOCK_SLICE):
                            return fired
                    # Python's locks do not hand over on release: give up the interpreter
                    # for a moment so a thread waiting for the lock gets it first.
                    time.sleep(0)

    def _holds_lock(self) -> bool:
        owned = getattr(self._lock, "_is_owned", None)
        return bool(owned and owned())

    def _advance_all(self, target: datetime) -> list[ServiceEvent]:
        fired: list[ServiceEvent] = []
        with self._lock:
            self._advance_slice(target, fired, None)
        return fired

    def _advance_slice(self, target: datetime, fired: list[ServiceEvent],
                       deadline: float | None) -> bool:
        """Fire what is due up to ``target`` into ``fired`` until ``deadline``; whether
        ``target`` was reached. Called with the lock held."""
        while target >= self.now and (due := self._listener_due(target)) is not None:
            part, reached = self.clock.run_some(due, self._fire, deadline)
            fired += part
            if not reached:
                return False
            for name, listener in list(self._listeners.items()):
                pending = listener.next_due()
                if pending is not None and pending <= self.now:
                    listener.run_due(self.now)
                    pending = listener.next_due()
                    if pending is not None and pending <= self.now:
                        raise RuntimeError(f"clock listener {name!r} is still due at "
                                           f"{self.now.isoformat()} after run_due()")
            if deadline is not None and time.perf_counter() > deadline:
                return False
        part, reached = self.clock.run_some(target, self._fire, deadline)
        fired += part
        return reached

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
                     if key.state == "PendingDeletion" or (
                         key.state == "Enabled" and key.rotation_enabled
                         and not key.is_replica_in(self.region))]
            times += [info.valid_to for key in self._keys.values()
                      for info in key.imports.values() if info.imported and info.valid_to]
            times += [listener.next_due() for listener in self._listeners.values()]
            return min((t for t in times if t is not None), default=None)

    def _still_due(self, entry: Due) -> bool:
        key = self._keys.get(entry.key_id)
        if key is None:
            return False
        if entry.kind == "delete":
            return key.deletion_date == entry.due
        if entry.kind == "expire":
            # Each Region's key has its own imports and expiry dates (Developer Guide,
            # "Importing key material into multi-Region keys": the key states of related
            # multi-Region keys are independent of each other).
            return any(info.imported and info.valid_to is not None and info.valid_to <= entry.due
                       for info in key.imports.values())
        if key.is_replica_in(self.region):
            return False                  # only a primary rotates
        return key.rotation_enabled and key.next_rotation == entry.due and key.state == "Enabled"

    def _fire(self, entry: Due) -> ServiceEvent | None:
        if not self._still_due(entry):
            return None
        key = self._keys[entry.key_id]
        if entry.kind == "delete":
            return self._delete(key)
        if entry.kind == "expire":
            return self._expire(key)
        event = self._rotate(key, "AUTOMATIC")
        key.rotation_anchor = self.now
        self.clock.schedule(key.advance_schedule(self.now), "rotate", key.key_id)
        self._sync_replicas(key)
        return event

    # -- who is calling -------------------------------------------------------
    @property
    def principal(self) -> str:
        """The IAM identity the audit trail records for calls made now, in this thread
        (or asyncio task): the innermost `acting_as` block's, else the default."""
        return self._acting.get() or self._principal

    @contextlib.contextmanager
    def acting_as(self, identity: str) -> Iterator[str]:
        """Within the block, calls are made by ``identity`` (a name, an IAM or STS ARN,
        or an AWS service principal such as ``"rds.us-east-1.amazonaws.com"``).

        ``with kms.acting_as("alice"): ...`` records calls as
        ``arn:aws:iam::<account>:user/alice``. A role is used as AWS uses one, through a
        session: ``"role/app"`` (or the role's ARN) calls as
        ``arn:aws:sts::<account>:assumed-role/app/kmssim``, the ARN that error messages
        and the trail show (CloudTrail's ``userIdentity.arn``; the role's own ARN is its
        ``sessionIssuer``, and ``kms.trail.query(principal=<role ARN>)`` finds the
        session's calls). Policies are evaluated for the role. Yields the ARN recorded.
        The identity is context-local: it applies to calls made in this thread (or
        asyncio task) inside the block, never to other threads' calls, and ends with
        the block. A new thread starts as the default principal, whatever blocks other
        threads are in.
        """
        if not isinstance(identity, str) or not identity:
            raise ValidationException("acting_as() needs a user name, 'role/<name>' or an ARN.")
        if not identity.startswith("arn:") and not is_service_principal(identity):
            kind = "" if "/" in identity else "user/"
            identity = f"arn:aws:iam::{self.account_id}:{kind}{identity}"
        identity = session_of(identity, self.account_id)
        token = self._acting.set(identity)
        try:
            yield identity
        finally:
            self._acting.reset(token)

    @contextlib.contextmanager
    def via_service(self, endpoint: str) -> Iterator[str]:
        """Within the block, KMS requests are made through an AWS service: the
        ``kms:ViaService`` condition key is ``endpoint`` (e.g. ``s3.us-east-1.amazonaws.com``),
        as when S3 calls KMS for you. The simulated services use it; AWS managed keys allow
        use only this way."""
        token = _VIA_SERVICE.set(endpoint)
        try:
            yield endpoint
        finally:
            _VIA_SERVICE.reset(token)

    # -- who may do what ------------------------------------------------------
    @property
    def caller(self) -> Caller:
        """The current principal, resolved: its IAM ARN, the ARN AWS shows, its account."""
        return caller_of(self.principal, self.account_id)

    def _authorize(self, key: Key | None, action: str | None = None) -> None:
        """Raise AccessDeniedException unless the caller may do this call's action (or
        ``action``) to ``key``; see `kmssim.core.iam.authorize` for the rules. Called once
        the key is known (after NotFoundException, before key state and key usage checks);
        for calls on no key, by the operation decorator."""
        if not self._calls:
            return
        frame = self._calls[-1]
        action = action or frame.name
        if action is None:
            return
        mark = (None if key is None else key.key_id, action)
        if frame.checked is None:
            frame.checked = set()
        elif mark in frame.checked:
            return
        params = frame.params or {}
        principal = self.principal
        if key is not None and params.get("GrantTokens") is None \
                and self._remembered(principal, key, action):
            frame.checked.add(mark)
            return
        caller = caller_of(principal, self.account_id)
        identity = self.iam.policies_of(caller.arn)
        if caller.account == self.account_id and identity is None \
                and (key is None or key.policy == self._default_policy):
            # The common case, decided without building a request: an administrator of the
            # account (no identity policy attached) and the default key policy, which
            # delegates everything to the account (grants only add, so none can refuse).
            if key is not None:
                self._remember(principal, key, action)
            frame.checked.add(mark)
            return
        if action == "RetireGrant":  # who may retire is said by the grant, not by policies
            return
        granted = key is not None and self._granted(key, caller, action, params)
        try:
            self._decide(caller, key, action, params, identity, granted)
        except AccessDeniedException as error:
            if key is not None and key.manager == "AWS":
                error.hint = ("This is an AWS managed key. AWS's key policy for it lets your "
                              "account read it (Describe*, Get*, List*) and use it only through "
                              "its service (kms:ViaService); nobody can change, disable, delete "
                              "or rotate it. AWS rotates it every year by itself.")
            raise
        if key is not None and not granted and _unconditional(
                [self._key_policy(key), *(identity or ())]):
            # Allowed by policies alone, none of which looks at a request value: the same
            # request from the same principal is allowed until the key policy or IAM
            # changes (a grant can only add). Grants, conditions and denials are never
            # remembered: they are evaluated on every call.
            self._remember(principal, key, action)
        frame.checked.add(mark)

    @staticmethod
    def _key_policy(key: Key | None) -> policies.Policy | None:
        return None if key is None or key.policy is None else _parsed(key.policy)

    def _decide(self, caller: Caller, key: Key | None, action: str, params: dict[str, Any],
                identity: list[policies.Policy] | None, granted: bool) -> None:
        """Raise AccessDeniedException unless policies (or ``granted``) allow the request."""
        request = policies.Request(caller.arn, caller.account, "kms:" + action,
                                   "*" if key is None else key.arn,
                                   self._condition_context(caller, key, action, params),
                                   caller.arn if caller.service else None)
        authorize(request, caller, self._key_policy(key), identity, granted, self.account_id)

    def _remember(self, principal: str, key: Key, action: str) -> None:
        if len(self._decisions) >= 4096:   # bounded, whatever the callers do
            self._decisions.clear()
        self._decisions[(principal, key.key_id, action)] = (key, key.policy, self.iam.version)

    def _remembered(self, principal: str, key: Key, action: str) -> bool:
        """Whether ``principal`` was allowed ``action`` on ``key`` by a decision that holds
        still: the same key, key policy and IAM (see `_authorize`)."""
        if not calls.FAST_PATHS_ON:
            return False
        entry = self._decisions.get((principal, key.key_id, action))
        return (entry is not None and entry[0] is key and entry[1] is key.policy
                and entry[2] == self.iam.version)

    def _plan(self, principal: str, key: Key, operation: str, action: str,
              check: Callable[[Key], Any]) -> bool:
        """For a fast path: whether ``principal`` may do ``operation`` with ``key`` as it is
        now, by the general path's own rules: ``check`` (the operation's checks of the key:
        state, usage, spec) raises nothing, and ``action`` is allowed by a decision that
        depends on no request value. Remembered, with what it depends on, in `_plans`
        (which the fast path reads first); False (nothing remembered) in any other case,
        which the general path then decides and words."""
        try:
            check(key)
        except KMSError:
            return False
        if not self._remembered(principal, key, action):
            caller = caller_of(principal, self.account_id)
            identity = self.iam.policies_of(caller.arn)
            if not _unconditional([self._key_policy(key), *(identity or ())]):
                return False
            try:
                self._decide(caller, key, action, {}, identity, False)
            except AccessDeniedException:
                return False
            self._remember(principal, key, action)
        if len(self._plans) >= 4096:
            self._plans.clear()
        self._plans[(principal, key.key_id, operation)] = (
            key, key.state, key.policy, self.iam.version)
        return True

    def _explicit_deny_or_iam_allow(self, key: Key, caller: Caller, action: str,
                                    params: dict[str, Any]) -> tuple[bool, bool]:
        """(an explicit Deny in the key policy or the caller's identity policies, an
        identity policy allows) for ``action`` on ``key``; kmssim's administrator default
        counts as an identity policy allowing. For the permissions that the grant, not the
        key policy, governs (kms:RetireGrant)."""
        request = policies.Request(caller.arn, caller.account, "kms:" + action, key.arn,
                                   self._condition_context(caller, key, action, params),
                                   caller.arn if caller.service else None)
        theirs = None if key.policy is None else _parsed(key.policy).decide(request)
        mine = identity_decision([] if caller.service else self.iam.policies_of(caller.arn),
                                 request)
        return (bool(theirs and theirs.denied) or mine.denied), mine.allowed_direct

    def _condition_context(self, caller: Caller, key: Key | None, action: str,
                           params: dict[str, Any]) -> dict[str, Any]:
        """The condition keys of a request (names lower-cased: IAM compares them
        case-insensitively)."""
        context: dict[str, Any] = {"kms:calleraccount": caller.account,
                                   "aws:principalarn": caller.arn,
                                   "aws:principalaccount": caller.account}
        via = _VIA_SERVICE.get()
        if via is not None:
            context["kms:viaservice"] = via
        if action in ("CreateGrant", "ListGrants", "RevokeGrant"):
            # True when an AWS service integrated with KMS calls the grant operation on
            # the caller's behalf (KMS Developer Guide, "kms:GrantIsForAWSResource").
            context["kms:grantisforawsresource"] = via is not None
        if key is not None:
            context.update({"kms:keyspec": key.key_spec, "kms:keyusage": key.key_usage,
                            "kms:keyorigin": key.origin})
        elif action == "CreateKey":
            spec = params.get("KeySpec") or params.get("CustomerMasterKeySpec") \
                or "SYMMETRIC_DEFAULT"
            context.update({"kms:keyspec": spec, "kms:keyorigin": params.get("Origin")
                            or "AWS_KMS", "kms:keyusage": params.get("KeyUsage")
                            or ("GENERATE_VERIFY_MAC" if str(spec).startswith("HMAC")
                                else "ENCRYPT_DECRYPT")})
        encryption_context = params.get(_CONTEXT_OF_ACTION.get(action, "EncryptionContext"))
        if isinstance(encryption_context, dict) and encryption_context:
            for name, value in encryption_context.items():
                context[f"kms:encryptioncontext:{str(name).lower()}"] = value
            context["kms:encryptioncontextkeys"] = list(encryption_context)
        if action == "EnableKeyRotation":
            # A condition on a request parameter "works even when the parameter doesn't
            # appear in the request, such as when you use the parameter's default value"
            # (KMS Developer Guide, "AWS KMS condition keys"); the period's default is 365
            # days (API Reference, EnableKeyRotation).
            period = params.get("RotationPeriodInDays")
            context["kms:rotationperiodindays"] = 365 if period is None else period
        if params.get("BypassPolicyLockoutSafetyCheck") is not None:
            context["kms:bypasspolicylockoutsafetycheck"] = bool(
                params["BypassPolicyLockoutSafetyCheck"])
        if action == "CreateGrant":
            if isinstance(params.get("Operations"), list):
                context["kms:grantoperations"] = list(params["Operations"])
            for name in ("GranteePrincipal", "RetiringPrincipal"):
                if params.get(name) is not None:
                    context["kms:" + name.lower()] = params[name]
        return context

    def _granted(self, key: Key, caller: Caller, action: str,
                 params: dict[str, Any]) -> bool:  # pragma: no cover - GrantOps defines it
        return False

    # -- naming -------------------------------------------------------------
    def _arn(self, resource: str) -> str:
        return f"arn:aws:kms:{self.region}:{self.account_id}:{resource}"

    def _key(self, key_ref: Any, *, aliases: bool = True, parameter: str = "KeyId") -> Key:
        """The key named by an id, key ARN, alias name or alias ARN (or raise as AWS does).

        AWS tells a malformed key id (``Invalid keyId 'fake-key-id'``) from a well-formed
        one that names no key (``Key '<its ARN here>' does not exist``), and answers a key
        ARN of another Region with ``Invalid arn <that region>``.
        """
        if type(key_ref) is str:
            known_id = self._named_ids.get(key_ref)
            if known_id is not None:
                key = self._keys.get(known_id)
                if key is not None:
                    return self._resolved(key, parameter)   # authorized on every call
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
            if parts[3] != self.region:
                raise NotFoundException(
                    f"Invalid arn {parts[3]}",
                    hint=f"This simulator is Region {self.region}; the ARN names a key in "
                         f"{parts[3]}. KMS keys are Regional: use an ARN of {self.region}.")
            if parts[4] != self.account_id:
                raise NotFoundException(
                    f"Key '{key_ref}' does not exist",
                    hint=f"The ARN names account {parts[4]}; kmssim simulates account "
                         f"{self.account_id} only and has no keys shared from other accounts.")
            resource = parts[5]
        if resource.startswith("alias/"):
            if not aliases:
                raise NotFoundException(
                    f"Invalid keyId '{key_ref}'",
                    hint="This operation takes a key ID or key ARN, not an alias: look the "
                         "key up first, e.g. kms.describe_key(KeyId=alias)['KeyMetadata']"
                         "['KeyId'].")
            return self._resolved(self._alias_target(resource), parameter)
        key_id = resource[4:] if resource.startswith("key/") else resource
        if not _KEY_ID.fullmatch(key_id):
            raise NotFoundException(
                f"Invalid keyId '{key_ref}'",
                hint="A key ID is a UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab (or "
                     "mrk- and 32 hex digits for a multi-Region key); an alias name starts "
                     "with alias/.")
        key = self._keys.get(key_id)
        if key is None:
            raise NotFoundException(
                f"Key '{self._arn('key/' + key_id)}' does not exist",
                hint="This key was deleted, with all its key material: nothing can use it "
                     "again." if key_id in self._deleted else None)
        if type(key_ref) is str:
            if len(self._named_ids) >= 4096:   # bounded, whatever the callers send
                self._named_ids.clear()
            self._named_ids[key_ref] = key_id
        return self._resolved(key, parameter)

    def _resolved(self, key: Key, parameter: str) -> Key:
        """A key a request named: noted for the audit event, then authorized."""
        self._note(key)
        if self._calls and self._calls[-1].name not in KEYLESS:
            self._authorize(key, _ACTION_OF_PARAMETER.get(parameter))
        return key

    def _blob_key(self, blob_key_id: str) -> Key | None:
        """The key (live or deleted) a ciphertext header names, multi-Region ones too."""
        for key_id in (blob_key_id, blob.mrk_id(blob_key_id)):
            key = self._keys.get(key_id) or self._deleted.get(key_id)
            if key is not None:
                return key
        return None

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
            raise DisabledException(
                f"{key.arn} is disabled.",
                hint="A disabled key keeps its key material but cannot be used; EnableKey "
                     "makes it usable again.")
        if key.state == "PendingImport":
            # Recorded AWS text (aws_kms_recordings.json: encrypt_pending_import).
            raise KMSInvalidStateException(
                f"{key.arn} is pending import.",
                hint="This key's imported key material is missing (never imported, expired "
                     "or deleted). Import the same material again (ImportKeyMaterial with "
                     "ImportType EXISTING_KEY_MATERIAL) and everything works again.")
        return self._not_pending_deletion(key)

    @staticmethod
    def _dry_run(dry_run: Any) -> None:
        """Stop here, changing nothing, if the caller asked for a dry run."""
        if dry_run:
            raise DryRunOperationException(
                "The request would have succeeded, but the DryRun option is set.")

    def _not_pending_deletion(self, key: Key) -> Key:
        if key.state == "PendingDeletion":
            raise KMSInvalidStateException(
                f"{key.arn} is pending deletion.",
                hint=f"The key will be deleted on {key.deletion_date:%Y-%m-%d}; until then "
                     "CancelKeyDeletion stops it (the key comes back Disabled).")
        if key.state == "PendingReplicaDeletion":
            # The key-state table gives PendingDeletion and PendingReplicaDeletion one
            # column and the same "is pending deletion" message (kms-facts.md 6.2, S-STATE).
            raise KMSInvalidStateException(
                f"{key.arn} is pending deletion.",
                hint=f"This multi-Region primary key is PendingReplicaDeletion: it is "
                     f"scheduled for deletion but still has replicas "
                     f"({', '.join(key.replica_regions)}). Its {key.pending_window_days}-day "
                     "waiting period starts only when the last replica is deleted; "
                     "CancelKeyDeletion stops it (the key comes back Disabled).")
        return key

    # -- what KMS does by itself --------------------------------------------
    def _new_material(self, rotation_type: str | None) -> KeyMaterial:
        return KeyMaterial(self.entropy.hex_id(), self.now, rotation_type, self.entropy.bytes(32))

    def _rotate(self, key: Key, rotation_type: str,
                material: KeyMaterial | None = None) -> ServiceEvent:
        """Make ``material`` (new KMS-made material if None) the key's current material."""
        previous = key.current.material_id
        key.add_material(material or self._new_material(rotation_type))
        current = key.current.material_id
        # A multi-Region primary copies the new material to every replica before it is
        # used (S-ROT, "Rotating multi-Region keys"); kmssim does it at the same instant.
        for replica in self._related(key):
            replica.add_material(key.current)
        self._record_service("RotateKey", key, {
            "keyId": key.key_id, "rotationType": rotation_type, "keyOrigin": key.origin,
            "previousKeyMaterialId": previous, "currentKeyMaterialId": current})
        return ServiceEvent(self.now, "RotateKey", key.key_id, key.arn, rotation_type,
                            previous, current)

    def _drop_imported(self, key: Key, material_id: str) -> None:
        """Forget an imported material's secret (it expired or was deleted). Unless it was
        only pending rotation, the key cannot work without it: it goes to PendingImport."""
        info = key.imports[material_id]
        info.imported = False
        pending = key.pending is not None and key.pending.material_id == material_id
        material = key.pending if pending else key.material(material_id)
        assert material is not None
        key.replace_material(KeyMaterial(material.material_id, material.created,
                                         material.rotation_type, b""))
        self._ciphers.pop(material_id, None)
        if not pending and key.state not in ("PendingImport", "PendingDeletion",
                                             "PendingReplicaDeletion"):
            key.set_state("PendingImport", self.now)

    def _expire(self, key: Key) -> ServiceEvent | None:
        """Delete every imported material of ``key`` whose ValidTo has come."""
        gone = [mid for mid, info in key.imports.items()
                if info.imported and info.valid_to is not None and info.valid_to <= self.now]
        for material_id in gone:
            self._drop_imported(key, material_id)
            self._record_service("DeleteExpiredKeyMaterial", key, {
                "keyId": key.key_id, "keyMaterialId": material_id})
        if not gone:
            return None
        return ServiceEvent(self.now, "DeleteExpiredKeyMaterial", key.key_id, key.arn,
                            previous_material_id=gone[0])

    def _related(self, key: Key) -> list[Key]:
        """The other Regions' keys related to a multi-Region ``key`` (none without a Cloud)."""
        if not key.multi_region or self._cloud is None:
            return []
        return self._cloud.related(key, self.region)

    def _related_in_regions(self, key: Key) -> list[tuple[Service, Key]]:
        """Each other Region's simulator with its key related to a multi-Region ``key``."""
        if not key.multi_region or self._cloud is None:
            return []
        return [(self._cloud.region(other.arn.split(":")[3]), other)
                for other in self._cloud.related(key, self.region)]

    def _sync_replicas(self, key: Key) -> None:
        """Copy a multi-Region primary's shared properties (rotation schedule, material) to
        its replicas, which never rotate by themselves."""
        for replica in self._related(key):
            replica.rotation_enabled = key.rotation_enabled
            replica.rotation_period_days = key.rotation_period_days
            replica.rotation_anchor = key.rotation_anchor
            replica.next_rotation = key.next_rotation
            replica.on_demand_rotations = key.on_demand_rotations
            if not key.external:
                replica.materials = list(key.materials)

    def _leave_multi_region_set(self, replica: Key) -> None:
        """A deleted replica leaves its multi-Region set. If its primary is waiting for
        the last replica to go (PendingReplicaDeletion), the primary's waiting period
        starts now: it becomes PendingDeletion (API Reference, ScheduleKeyDeletion)."""
        related = self._related_in_regions(replica)
        remaining = [r for r in replica.replica_regions if r != self.region]
        for kms, other in related:
            other.replica_regions = list(remaining)
            if other.state == "PendingReplicaDeletion" and not remaining:
                assert other.pending_window_days is not None
                # This Region's clock: the others may not have been moved to now yet.
                other.deletion_date = self.now + timedelta(days=other.pending_window_days)
                other.set_state("PendingDeletion", self.now)
                kms.clock.schedule(other.deletion_date, "delete", other.key_id)

    def _delete(self, key: Key) -> ServiceEvent:
        del self._keys[key.key_id]
        self._grants = {i: g for i, g in self._grants.items() if g.key_id != key.key_id}
        for name in self._aliases.names_of(key.key_id):
            del self._aliases[name]
        for material in key.materials:
            self._ciphers.pop(material.material_id, None)
        # Keep what the key was, for history and for explaining failures, but destroy
        # its material: ciphertexts under it are now unrecoverable, as in AWS.
        key.materials = [KeyMaterial(m.material_id, m.created, m.rotation_type, b"")
                         for m in key.materials]
        key.set_state("Deleted", self.now)
        self._deleted[key.key_id] = key
        self._record_service("DeleteKey", key, {"keyId": key.key_id})
        if key.is_replica_in(self.region):
            self._leave_multi_region_set(key)
        return ServiceEvent(self.now, "DeleteKey", key.key_id, key.arn)
