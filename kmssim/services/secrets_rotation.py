"""Secret rotation in Secrets Manager: `rotate_secret`, schedules on the simulated clock.

Part of `kmssim.services.SecretsManager`. A rotation runs the secret's rotation
function (a Lambda; here any Python callable ``fn(event, context)``, or a function in
the simulated `Lambda`) four times, with ``Step`` = ``createSecret``, ``setSecret``,
``testSecret``, ``finishSecret``. Before the first step Secrets Manager creates an
empty version labelled AWSPENDING whose ``VersionId`` is the rotation's
``ClientRequestToken``; ``finishSecret`` moves AWSCURRENT onto it.

If a step fails, the rotation stops there: AWSCURRENT stays where it was and the
AWSPENDING version stays. Calling `rotate_secret` again then fails with AWS's "A previous
rotation isn't complete" error. As in AWS ("If rotation fails, Secrets Manager retries the
entire rotation process multiple times", DescribeSecret's NextRotationDate), the rotation
is retried from ``createSecret`` with the same token, in the background on the simulated
clock: kmssim retries ``MAX_RETRIES`` (3) times, ``RETRY_DELAY`` (an hour) apart (AWS does
not publish its count or spacing; these are kmssim's). If every retry fails, the next
scheduled rotation reattempts the pending version. (To give up on it, remove its AWSPENDING
label with ``update_secret_version_stage``.) Failures do not raise: `rotation_history`
shows every attempt, and what started it (``RotateSecret``, ``schedule`` or ``retry``).

Schedules: ``RotationRules={"AutomaticallyAfterDays": N}`` (or ``"ScheduleExpression":
"rate(N days)"``) puts the next rotation window on the UTC day N days after the day of the
previous rotation. The window starts at midnight and lasts ``Duration`` (e.g. ``"3h"``) or,
without one, to the end of that UTC day, as the RotationRules documentation says; Secrets
Manager rotates "at any time during this window". kmssim picks the minute from a hash of the
simulator's seed, the secret's ARN and the window's date, so a seeded simulator always picks
the same time and no other random draw moves (unseeded: a random minute).
``NextRotationDate`` is the window's last second, the latest the rotation will start.
``kms.advance(days=…)`` runs rotations and retries at their own instants.

Simplified: `rotate_secret` runs its first attempt before it returns (AWS starts it in
the background, a moment later), and the first try of every rotation happens at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kmssim.core import Table
from kmssim.services.caller import AWSService, api
from kmssim.services.errors import SecretsManagerExceptions as Errors
from kmssim.services.secret_records import SecretRecord, SecretVersion

__all__ = ["RotationOps", "RotationAttempt", "ROTATION_STEPS", "MAX_RETRIES", "RETRY_DELAY"]

ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
MAX_RETRIES = 3                      # kmssim's choice: AWS says "multiple times"
RETRY_DELAY = timedelta(hours=1)     # kmssim's choice: AWS does not publish the spacing
_RATE = re.compile(r"^rate\((\d+) days?\)$")
_DURATION = re.compile(r"^(\d+)h$")
_DEFAULT_ROLE = "role/SecretsManagerRotation"


@dataclass(frozen=True, slots=True)
class RotationAttempt:
    """One run of a secret's rotation function, successful or not."""

    started: datetime
    secret: str
    version_id: str
    trigger: str                 # "RotateSecret" (you asked), "schedule" or "retry"
    failed_step: str | None      # None if every step succeeded
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.failed_step is None


class RotationStepFailed(Exception):
    """A rotation function invoked through Lambda reported an error."""


class RotationOps(AWSService):
    """RotateSecret, CancelRotateSecret, rotation schedules and their history."""

    _secrets: dict[str, SecretRecord]
    functions: Any

    if TYPE_CHECKING:  # defined by SecretsManager, which this class is part of
        def _secret(self, secret_id: Any) -> SecretRecord: ...
        def _token(self, token: Any) -> str: ...
        def _move_stage(self, secret: SecretRecord, stage: str, to: Any) -> None: ...

    def _start_schedules(self) -> None:
        self._attempts: list[RotationAttempt] = []
        # One clock, one listener name: a new SecretsManager on the same KMS (a re-run
        # notebook cell) takes over the schedule instead of rotating twice.
        self.kms.add_clock_listener("secretsmanager", self)

    # -- the rotation function ------------------------------------------------------------
    def _function_arn(self, function: Any) -> str:
        if isinstance(function, str):
            return function if function.startswith("arn:") else \
                self._lambda_arn(function)
        return getattr(function, "function_arn", None) or self._lambda_arn(
            getattr(function, "name", getattr(function, "__name__", "rotation-function")))

    def _lambda_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.kms.region}:{self.kms.account_id}:function:{name}"

    def _check_function(self, function: Any) -> None:
        if callable(function):
            return
        if not isinstance(function, str):
            raise Errors.InvalidParameterException(
                "RotationLambdaARN must be a Lambda function ARN or name, or (in kmssim) a "
                "Python callable fn(event, context).")
        if self.functions is None:
            raise Errors.InvalidParameterException(
                f"{function} names a Lambda function, but this SecretsManager has no Lambda: "
                "create it as SecretsManager(kms, functions=Lambda(kms)), or pass a callable.")
        if not self.functions.has_function(function):
            raise Errors.InvalidParameterException(
                f"The rotation function {function} doesn't exist.")

    def _invoke(self, secret: SecretRecord, token: str, step: str) -> None:
        event = {"SecretId": secret.arn, "ClientRequestToken": token, "Step": step}
        function = secret.rotation_function
        if isinstance(function, str):
            response = self.functions.invoke(FunctionName=function, Payload=event)
            if "FunctionError" in response:
                raise RotationStepFailed(json.loads(response["Payload"].read())["errorMessage"])
            return
        from kmssim.services.awslambda import LambdaContext
        role = getattr(function, "role", None) or _DEFAULT_ROLE
        with self.kms.acting_as(role):
            function(event, LambdaContext(self._function_arn(function), token))

    # -- running a rotation ---------------------------------------------------------------
    @staticmethod
    def _in_progress(secret: SecretRecord) -> Any:
        """The AWSPENDING version, if it is not also AWSCURRENT (an unfinished rotation)."""
        pending = secret.holder("AWSPENDING")
        return pending if pending is not None and "AWSCURRENT" not in pending.stages else None

    def _run_rotation(self, secret: SecretRecord, token: str, trigger: str) -> RotationAttempt:
        if token not in secret.versions:
            secret.versions[token] = SecretVersion(token, self.kms.now, None)
        self._move_stage(secret, "AWSPENDING", secret.versions[token])
        failed_step = error = None
        for step in ROTATION_STEPS:
            try:
                self._invoke(secret, token, step)
            except Exception as problem:  # noqa: BLE001 - a failed Lambda, recorded as AWS does
                failed_step, error = step, f"{type(problem).__name__}: {problem}"
                break
        else:
            if "AWSCURRENT" in secret.versions[token].stages:
                self._move_stage(secret, "AWSPENDING", None)
                secret.last_rotated = self.kms.now
            else:
                failed_step, error = "finishSecret", "AWSCURRENT was not moved to the new version"
        attempt = RotationAttempt(self.kms.now, secret.name, token, trigger, failed_step, error)
        self._attempts.append(attempt)
        secret.retry_at = None
        if not attempt.succeeded and secret.rotation_enabled \
                and secret.retries_done < MAX_RETRIES:
            secret.retries_done += 1
            secret.retry_at = self.kms.now + RETRY_DELAY
        return attempt

    def _start(self, secret: SecretRecord, token: str, trigger: str) -> RotationAttempt:
        """A new rotation (not a retry): it gets its own retries."""
        secret.retries_done = 0
        return self._run_rotation(secret, token, trigger)

    # -- rotation windows --------------------------------------------------------------------
    def _window_minute(self, secret: SecretRecord, start: datetime, minutes: int) -> int:
        """The minute of the window in which the rotation runs: a hash of the seed, the
        secret and the window's start when seeded (no draw from the shared stream)."""
        entropy = self.kms.entropy
        if entropy.seeded:
            material = f"{entropy.seed!r}|{secret.arn}|{start.isoformat()}".encode()
            number = int.from_bytes(hashlib.sha256(material).digest()[:8], "big")
        else:
            number = int.from_bytes(os.urandom(8), "big")
        return number % minutes

    def _schedule(self, secret: SecretRecord, after: datetime) -> None:
        """Put the next window ``rotation_days`` UTC days after the day of ``after``."""
        if secret.rotation_days is None:
            secret.next_rotation = secret.window_end = None
            return
        day = after.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day + timedelta(days=secret.rotation_days)
        length = timedelta(hours=secret.window_hours or 24)
        secret.window_end = start + length
        secret.next_rotation = start + timedelta(
            minutes=self._window_minute(secret, start, int(length.total_seconds()) // 60))

    @staticmethod
    def _duration(rules: dict[str, Any]) -> int | None:
        duration = rules.get("Duration")
        if duration is None:
            return None
        match = _DURATION.match(duration) if isinstance(duration, str) else None
        if match is None or not 1 <= int(match.group(1)) <= 24:
            raise Errors.InvalidParameterException(
                'Duration must be a whole number of hours from 1h to 24h, such as "3h" (the '
                "window starts at midnight UTC and must end within that day).")
        return int(match.group(1))

    @staticmethod
    def _rules(rules: Any) -> int:
        if not isinstance(rules, dict):
            raise Errors.InvalidParameterException(
                'RotationRules must be a dict such as {"AutomaticallyAfterDays": 30}.')
        days = rules.get("AutomaticallyAfterDays")
        expression = rules.get("ScheduleExpression")
        if expression is not None:
            match = _RATE.match(expression) if isinstance(expression, str) else None
            if match is None or days is not None:
                raise Errors.InvalidParameterException(
                    "kmssim supports ScheduleExpression 'rate(N days)' only, and not together "
                    "with AutomaticallyAfterDays.")
            days = int(match.group(1))
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 1000:
            raise Errors.InvalidParameterException(
                "AutomaticallyAfterDays must be a whole number of days from 1 to 1000.")
        return days

    @api("RotateSecret", required=("SecretId",), resource="SecretId")
    def rotate_secret(self, SecretId: str, ClientRequestToken: str | None = None,
                      RotationLambdaARN: Any = None, RotationRules: dict[str, Any] | None = None,
                      RotateImmediately: bool | None = None) -> dict[str, Any]:
        """Turn on rotation and rotate now (unless ``RotateImmediately=False``).

        ``RotationLambdaARN`` is the rotation function: a function of the simulated
        `Lambda` (ARN or name) or a Python callable ``fn(event, context)`` such as
        `RotationFunction`. ``RotationRules={"AutomaticallyAfterDays": 30}`` (or
        ``{"ScheduleExpression": "rate(30 days)"}``) schedules further rotations on the
        simulated clock. Returns ``ARN``, ``Name`` and ``VersionId`` (the new version).
        A failing step does not raise (see `rotation_history`). Raises
        ResourceNotFoundException, InvalidParameterException, and InvalidRequestException
        when a previous rotation isn't complete or no rotation function is set.
        """
        secret = self._secret(SecretId)
        days = None if RotationRules is None else self._rules(RotationRules)
        hours = None if RotationRules is None else self._duration(RotationRules)
        function = secret.rotation_function if RotationLambdaARN is None else RotationLambdaARN
        if function is None:
            raise Errors.InvalidRequestException(
                "No Lambda rotation function ARN is associated with this secret.")
        self._check_function(function)
        if self._in_progress(secret) is not None:
            raise Errors.InvalidRequestException(
                "A previous rotation isn't complete. That rotation will be reattempted.")
        if RotateImmediately is False and (days or secret.rotation_days) is None:
            raise Errors.InvalidParameterException(
                "RotateImmediately=False needs RotationRules to schedule the first rotation.")
        token = self._token(ClientRequestToken)
        if token in secret.versions:
            raise Errors.ResourceExistsException(
                f"A version with the ClientRequestToken {token} already exists.")
        secret.rotation_function, secret.rotation_enabled = function, True
        if days is not None:
            secret.rotation_days, secret.window_hours = days, hours
        self._schedule(secret, self.kms.now)
        if RotateImmediately is not False:
            self._start(secret, token, "RotateSecret")
        response = {"ARN": secret.arn, "Name": secret.name}
        if RotateImmediately is not False:
            response["VersionId"] = token
        return response

    @api("CancelRotateSecret", required=("SecretId",), resource="SecretId")
    def cancel_rotate_secret(self, SecretId: str) -> dict[str, Any]:
        """Turn automatic rotation off. A pending version keeps its AWSPENDING label
        (remove it with ``update_secret_version_stage`` to abandon it)."""
        secret = self._secret(SecretId)
        secret.rotation_enabled, secret.next_rotation = False, None
        secret.window_end = secret.retry_at = None
        response = {"ARN": secret.arn, "Name": secret.name}
        pending = self._in_progress(secret)
        if pending is not None:
            response["VersionId"] = pending.version_id
        return response

    # -- the schedule (a clock listener of the KMS) ------------------------------------------
    def next_due(self) -> datetime | None:
        """When the next scheduled rotation or retry of any secret falls due, or None."""
        dues = [when for s in self._secrets.values() if s.rotation_enabled
                for when in (s.next_rotation, s.retry_at) if when is not None]
        return min(dues, default=None)

    def run_due(self, now: datetime) -> None:
        """Run every rotation and retry due at or before ``now``, oldest first (called by
        ``kms.advance``)."""
        while True:
            due = [(when, secret.name, trigger, secret) for secret in self._secrets.values()
                   if secret.rotation_enabled
                   for trigger, when in (("retry", secret.retry_at),
                                         ("schedule", secret.next_rotation))
                   if when is not None and when <= now]
            if not due:
                return
            when, _, trigger, secret = min(due, key=lambda entry: entry[:3])
            if trigger == "schedule":
                self._schedule(secret, when)      # the next window counts from this one
            pending = self._in_progress(secret)
            token = pending.version_id if pending is not None else self.kms.entropy.uuid4()
            with self._attributed(secret.name):
                if trigger == "schedule":
                    self._start(secret, token, trigger)
                else:
                    self._run_rotation(secret, token, trigger)

    # -- history (simulator only) ------------------------------------------------------------
    def rotation_history(self, secret_id: str | None = None) -> Table:
        """Every rotation attempt (of one secret, or all), oldest first: when, what
        started it, the version, and the step that failed and why."""
        name = None if secret_id is None else self._secret(secret_id).name
        rows = [{"started": a.started, "secret": a.secret, "trigger": a.trigger,
                 "version id": a.version_id,
                 "outcome": "succeeded" if a.succeeded else f"failed at {a.failed_step}",
                 "error": a.error}
                for a in self._attempts if name is None or a.secret == name]
        return Table.of(("started", "secret", "trigger", "version id", "outcome", "error"),
                        rows, "rotations" + (f" of {name}" if name else ""))

    @property
    def rotation_attempts(self) -> list[RotationAttempt]:
        """Every rotation attempt so far, oldest first (as data)."""
        return list(self._attempts)
