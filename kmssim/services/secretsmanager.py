"""AWS Secrets Manager: secrets whose every version is envelope-encrypted under a KMS key.

``SecretsManager(kms)`` is shaped like ``boto3.client("secretsmanager")``. Each time a
secret's value changes, Secrets Manager asks KMS for a fresh data key
(``GenerateDataKey`` with the encryption context
``{"SecretARN": <arn>, "SecretVersionId": <version id>}``), encrypts the value with it
outside KMS and keeps only the encrypted data key (see `kmssim.envelope`). Reading a
version asks KMS to ``Decrypt`` that data key. So a secret that rotates every 30 days
and a KMS key that rotates every year are two clocks: each secret version stays
readable under whichever key material was current when it was written.

Versions carry staging labels: ``AWSCURRENT`` (what applications read),
``AWSPREVIOUS`` (the one before) and ``AWSPENDING`` (a rotation in progress). A version
without labels is deprecated but can still be read by its ``VersionId``. Rotation
(`rotate_secret`, schedules on the simulated clock) lives in
`kmssim.services.secrets_rotation`.
"""

from __future__ import annotations

import re
from datetime import timedelta
import string
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kmssim.core import Table
from kmssim.core.envelope import SealedRecord, seal, unseal
from kmssim.core.errors import KMSError
from kmssim.services.caller import api
from kmssim.services.errors import AWSServiceError
from kmssim.services.errors import SecretsManagerExceptions as Errors
from kmssim.services.secret_records import SecretRecord, SecretVersion
from kmssim.services.secrets_rotation import RotationOps

if TYPE_CHECKING:
    from kmssim.core import KMS
    from kmssim.services.awslambda import Lambda

__all__ = ["SecretsManager"]

_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_DEFAULT_KEY = "alias/aws/secretsmanager"
_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class SecretsManager(RotationOps):
    """A simulated AWS Secrets Manager on top of a `kmssim.KMS`.

    ``functions`` is the simulated `Lambda` in which rotation functions named by ARN
    live; a plain Python callable can be given as ``RotationLambdaARN`` instead.
    Scheduled rotations run as ``kms.advance(...)`` moves the clock (they are not in
    its return value: see `rotation_history`). One Secrets Manager per KMS keeps the
    schedule: creating another on the same KMS (re-running a cell) takes it over.

    >>> from kmssim import KMS
    >>> kms = KMS(seed=2); sm = SecretsManager(kms)
    >>> arn = sm.create_secret(Name="db/app", SecretString="hunter2")["ARN"]
    >>> sm.get_secret_value(SecretId="db/app")["SecretString"]
    'hunter2'
    """

    service = "secretsmanager"
    exceptions = Errors
    invalid_parameter = Errors.InvalidParameterException

    def __init__(self, kms: KMS, *, functions: Lambda | None = None) -> None:
        super().__init__(kms)
        self.functions = functions
        self._secrets: dict[str, SecretRecord] = {}
        self._start_schedules()

    def _kms_failure(self, error: KMSError) -> AWSServiceError:
        if error.operation == "Decrypt":
            return Errors.DecryptionFailure(
                f"Secrets Manager can't decrypt the protected secret text using the provided "
                f"KMS key: {error.message}")
        return Errors.EncryptionFailure(
            f"Secrets Manager can't encrypt the secret value with the KMS key: {error.message}")

    # -- finding things ---------------------------------------------------------------
    def _secret(self, secret_id: Any) -> SecretRecord:
        if isinstance(secret_id, str):
            if secret_id in self._secrets:
                return self._secrets[secret_id]
            for secret in self._secrets.values():
                # A full ARN, or a partial one without the random six-character suffix.
                if secret_id in (secret.arn, secret.arn[:-7]):
                    return secret
        raise Errors.ResourceNotFoundException("Secrets Manager can't find the specified "
                                               f"secret: {secret_id!r}")

    def _resource_name(self, value: Any) -> str | None:
        try:
            return self._secret(value).name
        except Errors.ResourceNotFoundException:
            return value if isinstance(value, str) else None

    def _version(self, secret: SecretRecord, version_id: Any, stage: Any) -> SecretVersion:
        if version_id is not None:
            version = secret.versions.get(version_id)
            if version is None or (stage is not None and stage not in version.stages):
                raise Errors.ResourceNotFoundException(
                    f"Secrets Manager can't find the specified secret version: {version_id}")
            return version
        version = secret.holder(stage or "AWSCURRENT")
        if version is None:
            raise Errors.ResourceNotFoundException(
                f"Secrets Manager can't find the specified secret value for staging label: "
                f"{stage or 'AWSCURRENT'}")
        return version

    # -- checks -------------------------------------------------------------------------
    def _token(self, token: Any) -> str:
        if token is None:
            return self.kms.entropy.uuid4()
        if not isinstance(token, str) or not 32 <= len(token) <= 64:
            raise Errors.InvalidParameterException(
                "ClientRequestToken must be 32 to 64 characters (a UUID is typical).")
        return token

    @staticmethod
    def _tags(tags: Any) -> list[dict[str, str]]:
        if tags is None:
            return []
        if not isinstance(tags, list) or not all(
                isinstance(t, Mapping) and set(t) == {"Key", "Value"}
                and isinstance(t["Key"], str) and isinstance(t["Value"], str) for t in tags):
            raise Errors.InvalidParameterException(
                'Tags must be a list of {"Key": str, "Value": str}.')
        return [dict(t) for t in tags]

    @staticmethod
    def _value(string: Any, binary: Any, *, required: bool) -> tuple[bytes, bool] | None:
        if string is not None and binary is not None:
            raise Errors.InvalidParameterException(
                "You can't specify both a binary secret value and a string secret value.")
        if string is None and binary is None:
            if required:
                raise Errors.InvalidParameterException(
                    "You must provide either SecretString or SecretBinary.")
            return None
        if string is not None:
            if not isinstance(string, str):
                raise Errors.InvalidParameterException("SecretString must be a str.")
            return string.encode(), False
        if not isinstance(binary, (bytes, bytearray)):
            raise Errors.InvalidParameterException("SecretBinary must be bytes.")
        return bytes(binary), True

    # -- versions -----------------------------------------------------------------------
    def _add_version(self, secret: SecretRecord, token: str, value: tuple[bytes, bool],
                     stages: list[str]) -> SecretVersion:
        """Encrypt ``value`` as version ``token`` and give it ``stages``.

        Reusing a token is idempotent for the same value and fills an empty version
        a rotation started; a different value under a used token is refused.
        """
        data, binary = value
        existing = secret.versions.get(token)
        if existing is not None and existing.record is not None:
            if self._plaintext(secret, existing) != data:
                raise Errors.ResourceExistsException(
                    f"You can't modify an existing version, you can only create a new version. "
                    f"VersionId: {token}")
            return existing
        context = {"SecretARN": secret.arn, "SecretVersionId": token}
        record = seal(self.kms, secret.kms_key_id or _DEFAULT_KEY, data, context)
        version = existing or SecretVersion(token, self.kms.now, None)
        version.record, version.binary = record, binary
        secret.versions[token] = version
        for stage in stages:
            self._move_stage(secret, stage, version)
        secret.last_changed = self.kms.now
        return version

    def _move_stage(self, secret: SecretRecord, stage: str, to: SecretVersion | None) -> None:
        """Put ``stage`` on ``to`` (or nowhere). Moving AWSCURRENT puts AWSPREVIOUS on
        the version it leaves, as Secrets Manager does."""
        holder = secret.holder(stage)
        if holder is to:
            return
        if holder is not None:
            holder.stages.remove(stage)
        if to is not None:
            to.stages.append(stage)
        if stage == "AWSCURRENT" and holder is not None:
            self._move_stage(secret, "AWSPREVIOUS", holder)

    def _plaintext(self, secret: SecretRecord, version: SecretVersion) -> bytes:
        if version.record is None:
            raise Errors.ResourceNotFoundException(
                "Secrets Manager can't find the specified secret value for VersionId: "
                f"{version.version_id}")
        return unseal(self.kms, version.record)

    def _identity(self, secret: SecretRecord) -> dict[str, Any]:
        return {"ARN": secret.arn, "Name": secret.name}

    # -- operations -------------------------------------------------------------------
    @api("CreateSecret", required=("Name",), resource="Name")
    def create_secret(self, Name: str, SecretString: str | None = None,
                      SecretBinary: bytes | None = None, KmsKeyId: str | None = None,
                      Description: str | None = None, ClientRequestToken: str | None = None,
                      Tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """Create a secret, and its first version (labelled AWSCURRENT) if you give a value.

        ``KmsKeyId`` (id, ARN or alias of a symmetric key) defaults to the AWS managed
        key ``aws/secretsmanager``. Returns ``ARN``, ``Name`` and ``VersionId``. Raises
        ResourceExistsException, InvalidParameterException, EncryptionFailure (KMS
        refused: disabled key, key pending deletion, unknown key).
        """
        if not isinstance(Name, str) or not _NAME.match(Name):
            raise Errors.InvalidParameterException(
                f"Invalid name {Name!r}: 1–512 letters, digits and /_+=.@- only.")
        if Name in self._secrets:
            raise Errors.ResourceExistsException(
                f"The operation failed because the secret {Name} already exists.")
        if KmsKeyId is not None and (not isinstance(KmsKeyId, str) or not KmsKeyId):
            raise Errors.InvalidParameterException("KmsKeyId must be a key id, ARN or alias.")
        value = self._value(SecretString, SecretBinary, required=False)
        tags = self._tags(Tags)
        token = self._token(ClientRequestToken)
        suffix = "".join(_CHARS[b % len(_CHARS)] for b in self.kms.entropy.bytes(6))
        secret = SecretRecord(Name, self._arn(f"secret:{Name}-{suffix}"), self.kms.now,
                         Description or "", KmsKeyId, tags)
        response = self._identity(secret)
        if value is not None:
            self._add_version(secret, token, value, ["AWSCURRENT"])
            response["VersionId"] = token
        else:
            secret.last_changed = self.kms.now
        self._secrets[Name] = secret     # only once every check and KMS call succeeded
        return response

    @api("GetSecretValue", required=("SecretId",), resource="SecretId")
    def get_secret_value(self, SecretId: str, VersionId: str | None = None,
                         VersionStage: str | None = None) -> dict[str, Any]:
        """Read a version's value: AWSCURRENT by default, or the one with ``VersionStage``
        (``"AWSPREVIOUS"``, ``"AWSPENDING"``) or ``VersionId``.

        Secrets Manager asks KMS to decrypt that version's data key; versions written
        under earlier key material read back unchanged. Returns ``ARN``, ``Name``,
        ``VersionId``, ``SecretString`` or ``SecretBinary``, ``VersionStages``,
        ``CreatedDate``. Raises ResourceNotFoundException, DecryptionFailure.
        """
        secret = self._secret(SecretId)
        version = self._version(secret, VersionId, VersionStage)
        data = self._plaintext(secret, version)
        today = self.kms.now.replace(hour=0, minute=0, second=0, microsecond=0)
        version.last_accessed = secret.last_accessed = today
        response = {**self._identity(secret), "VersionId": version.version_id}
        response["SecretBinary" if version.binary else "SecretString"] = (
            data if version.binary else data.decode())
        response.update(VersionStages=list(version.stages), CreatedDate=version.created)
        return response

    @api("PutSecretValue", required=("SecretId",), resource="SecretId")
    def put_secret_value(self, SecretId: str, SecretString: str | None = None,
                         SecretBinary: bytes | None = None,
                         ClientRequestToken: str | None = None,
                         VersionStages: list[str] | None = None) -> dict[str, Any]:
        """Store a new version (labelled AWSCURRENT unless ``VersionStages`` says
        otherwise), encrypted with a fresh data key under the key's current material.

        Moving AWSCURRENT puts AWSPREVIOUS on the version it leaves. Returns ``ARN``,
        ``Name``, ``VersionId``, ``VersionStages``. Raises ResourceNotFoundException,
        ResourceExistsException (a used token with another value), EncryptionFailure.
        """
        secret = self._secret(SecretId)
        value = self._value(SecretString, SecretBinary, required=True)
        stages = ["AWSCURRENT"] if VersionStages is None else VersionStages
        if not isinstance(stages, list) or not all(isinstance(s, str) and s for s in stages):
            raise Errors.InvalidParameterException("VersionStages must be a list of labels.")
        assert value is not None
        version = self._add_version(secret, self._token(ClientRequestToken), value, stages)
        return {**self._identity(secret), "VersionId": version.version_id,
                "VersionStages": list(version.stages)}

    @api("UpdateSecret", required=("SecretId",), resource="SecretId")
    def update_secret(self, SecretId: str, SecretString: str | None = None,
                      SecretBinary: bytes | None = None, KmsKeyId: str | None = None,
                      Description: str | None = None,
                      ClientRequestToken: str | None = None) -> dict[str, Any]:
        """Change a secret's description, KMS key or value.

        A new ``KmsKeyId`` re-encrypts the AWSCURRENT, AWSPENDING and AWSPREVIOUS
        versions' data keys under the new key (with ReEncrypt, inside KMS); other
        versions stay under the old key, which must stay usable to read them. A new
        value becomes a new AWSCURRENT version under the (new) key.
        """
        secret = self._secret(SecretId)
        value = self._value(SecretString, SecretBinary, required=False)
        if value is not None and ClientRequestToken is not None:
            self._token(ClientRequestToken)   # refuse a bad token before changing anything
        if KmsKeyId is not None and KmsKeyId != secret.kms_key_id:
            rewrapped = {}
            for stage in ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"):
                version = secret.holder(stage)
                if version is not None and version.record is not None:
                    rewrapped[version.version_id] = _rewrap(self.kms, version.record, KmsKeyId)
            for version_id, record in rewrapped.items():   # all or nothing
                secret.versions[version_id].record = record
            secret.kms_key_id = KmsKeyId
        if Description is not None:
            secret.description = Description
        response = self._identity(secret)
        if value is not None:
            token = self._token(ClientRequestToken)
            self._add_version(secret, token, value, ["AWSCURRENT"])
            response["VersionId"] = token
        return response

    @api("DescribeSecret", required=("SecretId",), resource="SecretId")
    def describe_secret(self, SecretId: str) -> dict[str, Any]:
        """A secret's metadata: rotation settings and dates, and ``VersionIdsToStages``
        (versions with at least one label). No KMS call, no secret value."""
        secret = self._secret(SecretId)
        response: dict[str, Any] = self._identity(secret)
        if secret.description:
            response["Description"] = secret.description
        if secret.kms_key_id is not None:
            response["KmsKeyId"] = secret.kms_key_id
        response["RotationEnabled"] = secret.rotation_enabled
        if secret.rotation_function is not None:
            response["RotationLambdaARN"] = self._function_arn(secret.rotation_function)
        if secret.rotation_days is not None:
            response["RotationRules"] = {"AutomaticallyAfterDays": secret.rotation_days}
            if secret.window_hours is not None:
                response["RotationRules"]["Duration"] = f"{secret.window_hours}h"
        # NextRotationDate: "the latest date that rotation will occur", the window's last second.
        latest = None if secret.window_end is None or not secret.rotation_enabled \
            else secret.window_end - timedelta(seconds=1)
        for name, value in (("LastRotatedDate", secret.last_rotated),
                            ("LastChangedDate", secret.last_changed),
                            ("LastAccessedDate", secret.last_accessed),
                            ("NextRotationDate", latest)):
            if value is not None:
                response[name] = value
        if secret.tags:
            response["Tags"] = [dict(tag) for tag in secret.tags]
        response["VersionIdsToStages"] = {v.version_id: list(v.stages)
                                          for v in secret.versions.values() if v.stages}
        response["CreatedDate"] = secret.created
        return response

    @api("ListSecretVersionIds", required=("SecretId",), resource="SecretId")
    def list_secret_version_ids(self, SecretId: str, IncludeDeprecated: bool | None = None,
                                MaxResults: int | None = None,
                                NextToken: str | None = None) -> dict[str, Any]:
        """The secret's versions, oldest first: ``VersionId``, ``VersionStages``,
        ``CreatedDate``, ``KmsKeyIds``. Deprecated (unlabelled) versions only with
        ``IncludeDeprecated=True``."""
        secret = self._secret(SecretId)
        rows = []
        for version in secret.versions.values():
            if not version.stages and not IncludeDeprecated:
                continue
            row: dict[str, Any] = {"VersionId": version.version_id,
                                   "VersionStages": list(version.stages),
                                   "CreatedDate": version.created}
            if version.last_accessed is not None:
                row["LastAccessedDate"] = version.last_accessed
            if version.record is not None:
                row["KmsKeyIds"] = [version.record.key_arn]
            rows.append(row)
        return {"Versions": rows, **self._identity(secret)}

    @api("UpdateSecretVersionStage", required=("SecretId", "VersionStage"),
         resource="SecretId")
    def update_secret_version_stage(self, SecretId: str, VersionStage: str,
                                    RemoveFromVersionId: str | None = None,
                                    MoveToVersionId: str | None = None) -> dict[str, Any]:
        """Move a staging label to ``MoveToVersionId`` and/or off ``RemoveFromVersionId``.

        If the label is on a version, name that version in ``RemoveFromVersionId`` to
        move it. Moving AWSCURRENT puts AWSPREVIOUS on the version it leaves. This is
        what a rotation function's finishSecret step calls. Returns ``ARN``, ``Name``.
        """
        secret = self._secret(SecretId)
        holder = secret.holder(VersionStage)
        target = None
        if MoveToVersionId is not None:
            target = secret.versions.get(MoveToVersionId)
            if target is None:
                raise Errors.ResourceNotFoundException(
                    f"Secrets Manager can't find the specified secret version: {MoveToVersionId}")
        if RemoveFromVersionId is not None and (holder is None
                                                or holder.version_id != RemoveFromVersionId):
            raise Errors.InvalidParameterException(
                f"The staging label {VersionStage} is not attached to version "
                f"{RemoveFromVersionId}.")
        if holder is not None and target is not holder and RemoveFromVersionId is None:
            raise Errors.InvalidParameterException(
                f"The parameter RemoveFromVersionId can't be empty. Staging label "
                f"{VersionStage} is currently attached to version {holder.version_id}, so you "
                "must explicitly reference that version in RemoveFromVersionId.")
        if target is None and VersionStage == "AWSCURRENT":
            raise Errors.InvalidParameterException(
                "You can't remove the staging label AWSCURRENT without moving it to another "
                "version.")
        self._move_stage(secret, VersionStage, target)
        return self._identity(secret)

    @api("ListSecrets")
    def list_secrets(self) -> dict[str, Any]:
        """Every secret's metadata (as `describe_secret`, without version stages)."""
        return {"SecretList": [
            {k: v for k, v in self.describe_secret(SecretId=s.name).items()
             if k != "VersionIdsToStages"} for s in sorted(self._secrets.values(),
                                                          key=lambda s: s.name)]}

    @api("GetRandomPassword")
    def get_random_password(self, PasswordLength: int | None = None,
                            ExcludeCharacters: str | None = None,
                            ExcludeNumbers: bool | None = None,
                            ExcludePunctuation: bool | None = None,
                            ExcludeUppercase: bool | None = None,
                            ExcludeLowercase: bool | None = None,
                            IncludeSpace: bool | None = None,
                            RequireEachIncludedType: bool | None = None) -> dict[str, Any]:
        """A random password (``RandomPassword``), 32 characters by default, drawn from
        the simulator's seeded randomness so lessons print the same one each run."""
        length = 32 if PasswordLength is None else PasswordLength
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 4096:
            raise Errors.InvalidParameterException("PasswordLength must be 1 to 4096.")
        groups = [g for g, off in ((string.ascii_uppercase, ExcludeUppercase),
                                   (string.ascii_lowercase, ExcludeLowercase),
                                   (string.digits, ExcludeNumbers),
                                   (string.punctuation, ExcludePunctuation),
                                   (" ", not IncludeSpace)) if not off]
        if ExcludeCharacters is not None and not isinstance(ExcludeCharacters, str):
            raise Errors.InvalidParameterException("ExcludeCharacters must be a string.")
        excluded = set(ExcludeCharacters or "")
        groups = [kept for g in groups if (kept := "".join(c for c in g if c not in excluded))]
        if not groups:
            raise Errors.InvalidParameterException("Every character type is excluded.")
        alphabet = "".join(groups)
        need_each = RequireEachIncludedType is not False and length >= len(groups)
        while True:
            password = "".join(alphabet[b % len(alphabet)]
                               for b in self.kms.entropy.bytes(length))
            if not need_each or all(any(c in g for c in password) for g in groups):
                return {"RandomPassword": password}

    # -- looking inside (simulator only) ---------------------------------------------------
    def versions(self, secret_id: str) -> Table:
        """One row per version: labels, when written, and which KMS key and key-material
        version encrypt it (no KMS request, nothing secret)."""
        secret = self._secret(secret_id)
        rows = []
        for version in secret.versions.values():
            info = (self.kms.inspect_ciphertext(version.record.encrypted_data_key)
                    if version.record is not None else None)
            rows.append({"version id": version.version_id,
                         "stages": " ".join(version.stages) or "(deprecated)",
                         "created": version.created,
                         "kms key": info.key_id if info else "(empty)",
                         "key version": info.version if info else None})
        return Table.of(("version id", "stages", "created", "kms key", "key version"), rows,
                        f"versions of {secret.name}")


def _rewrap(kms: KMS, record: SealedRecord, key_id: str) -> SealedRecord:
    """The record with its data key re-encrypted under ``key_id`` (ReEncrypt, in KMS)."""
    context = dict(record.context or {})
    response = kms.re_encrypt(CiphertextBlob=record.encrypted_data_key,
                              SourceEncryptionContext=context, DestinationKeyId=key_id,
                              DestinationEncryptionContext=context)
    return replace(record, encrypted_data_key=response["CiphertextBlob"],
                   key_arn=response["KeyId"], key_material_id=response["DestinationKeyMaterialId"])
