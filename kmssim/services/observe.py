"""Windows onto the simulated services, for lessons: rotation steps, secret versions over
time, and how many KMS calls each way of using a service makes.

- `StepLog` wraps a secret's rotation function and notes every step it runs
  (createSecret, setSecret, testSecret, finishSecret), how it ended, and which versions
  carry AWSPENDING, AWSCURRENT and AWSPREVIOUS right after it: what the function's
  CloudWatch log and ``describe_secret`` would tell you, side by side.
- `secret_periods` says when each version of a secret was AWSCURRENT and which KMS key
  and key-material version encrypt it; `kmssim.lessons.plot_services.secret_timeline` draws it.
- `kms_calls_table` puts the KMS requests of several usage patterns (a service and one
  of its buckets, secrets, functions or DB instances) side by side, per KMS operation.
- `show_environment` is a ready-made Lambda handler that returns what it was given, so
  a lesson can invoke a function without defining one.

Nothing here calls KMS or shows a secret value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kmssim.core import Table
from kmssim.services.caller import AWSService
from kmssim.services.secretsmanager import SecretsManager

__all__ = ["StepLog", "StepRecord", "secret_periods", "kms_calls_table", "show_environment",
           "LABELS"]

#: The staging labels a rotation moves, in the order a rotation uses them.
LABELS = ("AWSPENDING", "AWSCURRENT", "AWSPREVIOUS")


def _short(version_id: str | None) -> str | None:
    return version_id[:8] if version_id else None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step of a rotation: when, which step, for which version, how it ended
    (``"ok"``, or the error as ``"<type>: <message>"``), and the version holding each
    label just after it (``labels``: label → version id)."""

    time: datetime
    step: str
    version_id: str
    outcome: str
    labels: Mapping[str, str | None]


class StepLog:
    """A rotation function that notes each step it runs; wrap the real one with it.

    ``StepLog(RotationFunction(sm, db), sm)`` is called exactly like the function it
    wraps (as the Lambda handler, or as ``RotationLambdaARN``) and passes every step
    on unchanged; a failing step still fails. ``log.table()`` shows the steps.
    """

    def __init__(self, function: Callable[..., Any], secrets: SecretsManager) -> None:
        if not callable(function):
            raise TypeError("StepLog wraps a rotation function fn(event, context).")
        self.function = function
        self.secrets = secrets
        self.records: list[StepRecord] = []

    def __repr__(self) -> str:
        return f"<StepLog of {self.function!r}: {len(self.records)} steps>"

    def __call__(self, event: dict[str, Any], context: Any = None) -> Any:
        try:
            result = self.function(event, context)
        except Exception as problem:
            self._note(event, f"{type(problem).__name__}: {problem}")
            raise
        self._note(event, "ok")
        return result

    def _note(self, event: dict[str, Any], outcome: str) -> None:
        stages = self.secrets.describe_secret(SecretId=event["SecretId"])["VersionIdsToStages"]
        labels = {label: next((v for v, held in stages.items() if label in held), None)
                  for label in LABELS}
        self.records.append(StepRecord(self.secrets.kms.now, str(event.get("Step")),
                                       str(event.get("ClientRequestToken")), outcome, labels))

    def table(self, last: int | None = None) -> Table:
        """The steps, oldest first (only the ``last`` few if given). Version ids are
        cut to their first 8 characters; ``-`` means no version has that label."""
        records = self.records[-last:] if last else self.records
        rows = [{"time": r.time, "step": r.step, "version": _short(r.version_id),
                 "outcome": r.outcome,
                 **{label: _short(r.labels[label]) or "-" for label in LABELS}}
                for r in records]
        return Table.of(("time", "step", "version", "outcome", *LABELS), rows,
                        "rotation steps, and the labels right after each")


def secret_periods(secrets: SecretsManager, secret_id: str) -> Table:
    """One row per version of a secret, oldest first: when it was created, when it was
    AWSCURRENT (``current from`` … ``current until``; until is empty while it still is),
    its labels now, and which KMS key and key-material version encrypt it.

    A version made by a rotation became current when that rotation succeeded; one whose
    rotation never finished was never current (``current from`` is empty). Versions
    written outside a rotation (``create_secret``, ``put_secret_value``) count as
    current from when they were written, unless they only carry AWSPENDING.
    """
    name = secrets.describe_secret(SecretId=secret_id)["Name"]
    attempts = [a for a in secrets.rotation_attempts if a.secret == name]
    finished = {a.version_id: a.started for a in attempts if a.succeeded}
    rotated = {a.version_id for a in attempts}
    rows = []
    for row in secrets.versions(secret_id):
        version_id, stages = row["version id"], row["stages"]
        if version_id in finished:
            since = finished[version_id]
        elif version_id in rotated or row["kms key"] == "(empty)" or stages == "AWSPENDING":
            since = None
        else:
            since = row["created"]
        rows.append({"version id": version_id, "created": row["created"],
                     "current from": since, "stages": stages, "kms key": row["kms key"],
                     "key version": row["key version"]})
    # Each current version stays current until the next one takes over (versions that
    # became current at the same instant take over in the order they were made).
    ordered = sorted((r for r in rows if r["current from"] is not None),
                     key=lambda r: r["current from"])
    for row in rows:
        row["current until"] = None
    for row, following in zip(ordered, ordered[1:], strict=False):
        row["current until"] = following["current from"]
    return Table.of(("version id", "created", "current from", "current until", "stages",
                     "kms key", "key version"), rows, f"versions of {name} over time")


def kms_calls_table(patterns: Mapping[str, tuple[AWSService, str | None]]) -> Table:
    """The KMS requests each usage pattern made, side by side.

    ``patterns`` maps a label to ``(service, resource)``: the resource is a bucket,
    secret, function or DB instance name, or None for everything that service did.
    One row per pattern: the total, then one column per KMS operation.
    """
    counts = {}
    for label, (service, resource) in patterns.items():
        if not isinstance(service, AWSService):
            raise TypeError(f"{label!r}: expected (service, resource name or None), e.g. "
                            "(s3, \"logs\").")
        counts[label] = service.kms_calls_by_operation(resource)
    operations = sorted({name for by_name in counts.values() for name in by_name})
    rows = [{"pattern": label, "KMS calls": sum(by_name.values()),
             **{name: by_name.get(name, 0) for name in operations}}
            for label, by_name in counts.items()]
    return Table.of(("pattern", "KMS calls", *operations), rows, "KMS calls per pattern")


def show_environment(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """A Lambda handler that returns its function's name and the environment variables
    Lambda decrypted for it (``context.environment``)."""
    return {"function": context.function_name, "variables": dict(context.environment)}
