"""AWS-named errors of the simulated services: S3, Secrets Manager, Lambda, RDS.

Every class is a subclass of `AWSServiceError`, which is a subclass of
`kmssim.KMSError`: one ``except KMSError`` catches anything the simulator raises
(the widgets and lessons rely on that), while ``except S3Error`` or
``except s3.exceptions.NoSuchKey`` catch one service's or one code's errors, as with
boto3. Each error has ``code`` (the AWS error code), ``message`` and ``response``
shaped like botocore's ``ClientError.response``.

Two services can share an error name (Secrets Manager and Lambda both have a
``ResourceNotFoundException``), so each service's errors live in its own namespace
class below, which is also what the service's ``exceptions`` attribute holds. When a
KMS call a service makes for you fails, the service raises its own error (S3's
``KMS.DisabledException``, Secrets Manager's ``DecryptionFailure``, Lambda's
``KMSDisabledException``, RDS's ``KMSKeyNotAccessibleFault``) with the KMS error as
its ``__cause__``.
"""

from __future__ import annotations

from kmssim.core.errors import KMSError

__all__ = [
    "AWSServiceError", "ParamValidationError", "S3Error", "S3Exceptions",
    "SecretsManagerError", "SecretsManagerExceptions", "LambdaError", "LambdaExceptions",
    "RDSError", "RDSExceptions",
]


class AWSServiceError(KMSError):
    """Base class of the errors the simulated services raise; ``service`` names one."""

    service = "aws"
    code = "AWSServiceError"


class ParamValidationError(AWSServiceError):
    """A request with an unknown, positional or missing parameter, refused before it is
    sent (boto3 raises ``botocore.exceptions.ParamValidationError`` for these)."""

    code = "ParamValidationError"


class S3Error(AWSServiceError):
    """Base class of the simulated S3's errors."""

    service = "s3"


class S3KMSException(S3Error):
    """A KMS request S3 made for you failed. ``code`` is ``KMS.<KMS code>``, as S3
    reports it (``KMS.DisabledException``, ``KMS.NotFoundException``,
    ``KMS.KMSInvalidStateException``…); the KMS error is the ``__cause__``."""

    code = "KMS"

    def __init__(self, cause: KMSError, *, operation: str | None = None) -> None:
        super().__init__(cause.message, operation=operation)
        self.code = f"KMS.{cause.code}"


class S3Exceptions:
    """The simulated S3's errors, as ``s3.exceptions.<Name>``."""

    class NoSuchBucket(S3Error):
        """The specified bucket does not exist."""

        code = "NoSuchBucket"

    class NoSuchKey(S3Error):
        """The specified key does not exist."""

        code = "NoSuchKey"

    class BucketAlreadyOwnedByYou(S3Error):
        """You already own a bucket with that name."""

        code = "BucketAlreadyOwnedByYou"

    class InvalidArgument(S3Error):
        """A request argument is not valid."""

        code = "InvalidArgument"

    class InvalidBucketName(S3Error):
        """The bucket name is not valid."""

        code = "InvalidBucketName"

    class InvalidRequest(S3Error):
        """The request is not valid."""

        code = "InvalidRequest"

    KMSException = S3KMSException
    ParamValidationError = ParamValidationError


class SecretsManagerError(AWSServiceError):
    """Base class of the simulated Secrets Manager's errors."""

    service = "secretsmanager"


class SecretsManagerExceptions:
    """The simulated Secrets Manager's errors, as ``sm.exceptions.<Name>``."""

    class ResourceNotFoundException(SecretsManagerError):
        """Secrets Manager can't find the secret, or the version, or the value."""

        code = "ResourceNotFoundException"

    class ResourceExistsException(SecretsManagerError):
        """A secret with that name, or a version with that token, already exists."""

        code = "ResourceExistsException"

    class InvalidParameterException(SecretsManagerError):
        """A parameter value is not valid."""

        code = "InvalidParameterException"

    class InvalidRequestException(SecretsManagerError):
        """The request is not valid for the secret's current state."""

        code = "InvalidRequestException"

    class LimitExceededException(SecretsManagerError):
        """A Secrets Manager quota was exceeded."""

        code = "LimitExceededException"

    class EncryptionFailure(SecretsManagerError):
        """Secrets Manager can't encrypt the secret value with the KMS key."""

        code = "EncryptionFailure"

    class DecryptionFailure(SecretsManagerError):
        """Secrets Manager can't decrypt the protected secret text using the KMS key."""

        code = "DecryptionFailure"

    ParamValidationError = ParamValidationError


class LambdaError(AWSServiceError):
    """Base class of the simulated Lambda's errors."""

    service = "lambda"


class LambdaExceptions:
    """The simulated Lambda's errors, as ``lam.exceptions.<Name>``."""

    class ResourceNotFoundException(LambdaError):
        """The function does not exist."""

        code = "ResourceNotFoundException"

    class ResourceConflictException(LambdaError):
        """A function with that name already exists."""

        code = "ResourceConflictException"

    class InvalidParameterValueException(LambdaError):
        """A parameter value is not valid."""

        code = "InvalidParameterValueException"

    class KMSDisabledException(LambdaError):
        """Lambda could not decrypt the environment variables: the KMS key is disabled."""

        code = "KMSDisabledException"

    class KMSInvalidStateException(LambdaError):
        """Lambda could not decrypt the environment variables: the KMS key's state does not
        allow it (for example, pending deletion)."""

        code = "KMSInvalidStateException"

    class KMSNotFoundException(LambdaError):
        """Lambda could not decrypt the environment variables: the KMS key was not found."""

        code = "KMSNotFoundException"

    class KMSAccessDeniedException(LambdaError):
        """Lambda could not decrypt the environment variables: KMS refused."""

        code = "KMSAccessDeniedException"

    ParamValidationError = ParamValidationError


class RDSError(AWSServiceError):
    """Base class of the simulated RDS's errors."""

    service = "rds"


class RDSExceptions:
    """The simulated RDS's errors, as ``rds.exceptions.<Name>`` (botocore's class
    names end in ``Fault``; ``code`` is the AWS error code, e.g. ``DBSnapshotNotFound``)."""

    class DBInstanceNotFoundFault(RDSError):
        """No DB instance has that identifier."""

        code = "DBInstanceNotFound"

    class DBInstanceAlreadyExistsFault(RDSError):
        """A DB instance has that identifier."""

        code = "DBInstanceAlreadyExists"

    class DBSnapshotNotFoundFault(RDSError):
        """No DB snapshot has that identifier."""

        code = "DBSnapshotNotFound"

    class DBSnapshotAlreadyExistsFault(RDSError):
        """A DB snapshot has that identifier."""

        code = "DBSnapshotAlreadyExists"

    class InvalidDBInstanceStateFault(RDSError):
        """The DB instance is not in a state that allows this."""

        code = "InvalidDBInstanceState"

    class KMSKeyNotAccessibleFault(RDSError):
        """RDS can't use the KMS key (disabled, pending deletion, deleted or not found)."""

        code = "KMSKeyNotAccessibleFault"

    class InvalidParameterValue(RDSError):
        """A parameter value is not valid."""

        code = "InvalidParameterValue"

    class InvalidParameterCombination(RDSError):
        """These parameters can't be used together."""

        code = "InvalidParameterCombination"

    ParamValidationError = ParamValidationError
