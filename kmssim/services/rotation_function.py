"""A Secrets Manager rotation function for a database password, after AWS's template.

`RotationFunction(sm, db)` is a Python callable that plays the rotation Lambda:
Secrets Manager calls it as ``fn(event, context)`` with ``event["Step"]`` one of
``createSecret``, ``setSecret``, ``testSecret``, ``finishSecret``. It follows the
structure of AWS's sample (``SecretsManagerRotationTemplate/lambda_function.py``):

- **createSecret**: if the AWSPENDING version has no value yet, generate a password
  (``GetRandomPassword``) and store it with ``PutSecretValue(VersionStages=["AWSPENDING"])``.
- **setSecret**: make the database accept the pending credentials.
- **testSecret**: log in with the pending credentials.
- **finishSecret**: move AWSCURRENT to the new version (``UpdateSecretVersionStage``).

Two strategies, as AWS offers:

- ``"alternating-users"`` (the default here): the secret alternates between two users,
  ``app`` and ``app_clone``; setSecret changes the password of the user *not* in
  AWSCURRENT, so the credentials applications hold keep working throughout, even if a
  step fails. (AWS's template gets superuser rights from a second secret; the
  simulation uses ``db.admin()``.)
- ``"single-user"``: setSecret changes the one user's password. Between setSecret and
  finishSecret, AWSCURRENT no longer works; if testSecret fails there, applications
  are locked out until the rotation is resumed, though nothing is lost: the working
  password is in AWSPENDING.

``fn.fail_next("setSecret")`` makes the next run of that step fail (once), to practise
failed rotations; ``db.available = False`` makes every step that touches the database
fail, as in an outage.
"""

from __future__ import annotations

import json
from typing import Any

from kmssim.services.database import Database, DatabaseError, DatabaseUnavailable
from kmssim.services.secrets_rotation import ROTATION_STEPS
from kmssim.services.secretsmanager import SecretsManager

__all__ = ["RotationFunction", "RotationError"]

_STRATEGIES = ("alternating-users", "single-user")


class RotationError(Exception):
    """A rotation step failed (what the Lambda would log before exiting with an error)."""


class RotationFunction:
    """The rotation Lambda for a database password (see the module for the steps).

    ``name`` and ``role`` are the function's name and execution role: the KMS calls
    made during rotation are audited as that role.
    """

    def __init__(self, secrets: SecretsManager, database: Database, *,
                 strategy: str = "alternating-users", name: str = "SecretsManagerRotation",
                 role: str = "role/SecretsManagerRotation") -> None:
        if strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}, not {strategy!r}")
        self.secrets = secrets
        self.database = database
        self.strategy = strategy
        self.name = name
        self.role = role
        self._fail: dict[str, tuple[str, int]] = {}

    def __repr__(self) -> str:
        return f"<RotationFunction {self.name} ({self.strategy}) for {self.database.name}>"

    def fail_next(self, step: str, reason: str = "simulated failure", times: int = 1) -> None:
        """Make the next ``times`` runs of ``step`` (e.g. ``"setSecret"``) fail (once by
        default; ``times=4`` outlasts a rotation and all three of kmssim's retries)."""
        if step not in ROTATION_STEPS:
            raise ValueError(f"step must be one of {ROTATION_STEPS}, not {step!r}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a whole number of at least 1, not {times!r}")
        self._fail[step] = (reason, times)

    # -- the Lambda handler -------------------------------------------------------------
    def __call__(self, event: dict[str, Any], context: Any = None) -> None:
        arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        metadata = self.secrets.describe_secret(SecretId=arn)
        if not metadata["RotationEnabled"]:
            raise RotationError(f"Secret {arn} is not enabled for rotation")
        stages = metadata["VersionIdsToStages"]
        if token not in stages:
            raise RotationError(f"Secret version {token} has no stage for rotation of {arn}")
        if "AWSCURRENT" in stages[token]:
            return                                   # already finished
        if "AWSPENDING" not in stages[token]:
            raise RotationError(f"Secret version {token} not set as AWSPENDING for {arn}")
        if step in self._fail:
            reason, times = self._fail.pop(step)
            if times > 1:
                self._fail[step] = (reason, times - 1)
            raise RotationError(f"{step} failed: {reason}")
        steps = {"createSecret": self.create_secret, "setSecret": self.set_secret,
                 "testSecret": self.test_secret, "finishSecret": self.finish_secret}
        if step not in steps:
            raise RotationError(f"Invalid step parameter {step!r}")
        steps[step](arn, token)

    # -- the four steps -------------------------------------------------------------------
    def _value(self, arn: str, **version: str) -> dict[str, Any]:
        return json.loads(self.secrets.get_secret_value(SecretId=arn, **version)["SecretString"])

    def create_secret(self, arn: str, token: str) -> None:
        """Store new credentials as the AWSPENDING version, unless already there."""
        current = self._value(arn, VersionStage="AWSCURRENT")
        try:
            self._value(arn, VersionId=token, VersionStage="AWSPENDING")
            return                                   # a resumed rotation: keep its value
        except self.secrets.exceptions.ResourceNotFoundException:
            pass
        pending = dict(current)
        pending["password"] = self.secrets.get_random_password(
            ExcludeCharacters="/@\"'\\")["RandomPassword"]
        if self.strategy == "alternating-users":
            user = current["username"]
            pending["username"] = user[:-6] if user.endswith("_clone") else user + "_clone"
        self.secrets.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                      SecretString=json.dumps(pending),
                                      VersionStages=["AWSPENDING"])

    def set_secret(self, arn: str, token: str) -> None:
        """Make the database accept the pending credentials."""
        pending = self._value(arn, VersionId=token, VersionStage="AWSPENDING")
        user, password = pending["username"], pending["password"]
        if self.strategy == "alternating-users":
            admin = self.database.admin()
            if user in self.database.users():
                admin.set_password(password, user=user)
            else:
                admin.create_user(user, password)
            return
        try:
            self.database.connect(user, password)
            return                                   # set by an earlier, interrupted run
        except DatabaseUnavailable:
            raise
        except DatabaseError:
            pass
        for stage in ("AWSCURRENT", "AWSPREVIOUS"):
            try:
                old = self._value(arn, VersionStage=stage)
                connection = self.database.connect(old["username"], old["password"])
            except (DatabaseError, self.secrets.exceptions.ResourceNotFoundException):
                continue
            connection.set_password(password)
            return
        raise RotationError(f"setSecret: unable to log into database {self.database.name} "
                            "with the previous, current or pending secret")

    def test_secret(self, arn: str, token: str) -> None:
        """Log in with the pending credentials."""
        pending = self._value(arn, VersionId=token, VersionStage="AWSPENDING")
        self.database.connect(pending["username"], pending["password"])

    def finish_secret(self, arn: str, token: str) -> None:
        """Move AWSCURRENT to the new version (AWSPREVIOUS follows the old one)."""
        stages = self.secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]
        current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
        if current == token:
            return
        self.secrets.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                                 MoveToVersionId=token,
                                                 RemoveFromVersionId=current)
