"""AWS-named exceptions: one class per KMS error code, all under `KMSError`.

Every operation of the simulator fails only with these. Each carries the AWS error
code (``err.code``, also ``err.response["Error"]["Code"]`` in the manner of
botocore's ``ClientError``) and a message worded as AWS words it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "KMSError",
    "AlreadyExistsException",
    "AccessDeniedException",
    "ConflictException",
    "DryRunOperationException",
    "DisabledException",
    "IncorrectKeyException",
    "InvalidAliasNameException",
    "InvalidArnException",
    "InvalidCiphertextException",
    "InvalidKeyUsageException",
    "InvalidMarkerException",
    "KMSInvalidMacException",
    "KMSInvalidStateException",
    "LimitExceededException",
    "NotFoundException",
    "UnsupportedOperationException",
    "ValidationException",
    "CorruptScenarioError",
    "error_class",
]


class KMSError(Exception):
    """Base class of every error the simulated KMS raises.

    ``code`` is the AWS error code (the class name), ``message`` the text AWS
    would send, and ``operation`` the boto3-style operation name when known.
    """

    code: str = "KMSError"

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation

    @property
    def response(self) -> dict[str, Any]:
        """The error in botocore's ``ClientError.response`` shape."""
        return {"Error": {"Code": self.code, "Message": self.message}}

    def __str__(self) -> str:
        where = f" when calling the {self.operation} operation" if self.operation else ""
        return f"An error occurred ({self.code}){where}: {self.message}"


class AlreadyExistsException(KMSError):
    """A resource with that name (for example an alias) already exists."""

    code = "AlreadyExistsException"


class AccessDeniedException(KMSError):
    """The caller is not allowed to do this to the key."""

    code = "AccessDeniedException"


class ConflictException(KMSError):
    """An automatic rotation is running or is due within 20 minutes."""

    code = "ConflictException"


class DisabledException(KMSError):
    """The KMS key is disabled."""

    code = "DisabledException"


class DryRunOperationException(KMSError):
    """The request would have succeeded; DryRun was set."""

    code = "DryRunOperationException"


class IncorrectKeyException(KMSError):
    """The KMS key named in the request is not the one that encrypted the ciphertext."""

    code = "IncorrectKeyException"


class InvalidAliasNameException(KMSError):
    """The alias name is not valid or is reserved."""

    code = "InvalidAliasNameException"


class InvalidArnException(KMSError):
    """The ARN in the request is not valid."""

    code = "InvalidArnException"


class InvalidCiphertextException(KMSError):
    """The ciphertext, or its encryption context, is corrupted, missing or wrong."""

    code = "InvalidCiphertextException"


class InvalidKeyUsageException(KMSError):
    """The key's KeyUsage or KeySpec does not allow this operation."""

    code = "InvalidKeyUsageException"


class InvalidMarkerException(KMSError):
    """The Marker is not one this service returned."""

    code = "InvalidMarkerException"


class KMSInvalidMacException(KMSError):
    """The MAC does not verify with this key, message and algorithm."""

    code = "KMSInvalidMacException"


class KMSInvalidStateException(KMSError):
    """The key's state does not allow this operation."""

    code = "KMSInvalidStateException"


class LimitExceededException(KMSError):
    """A length limit or quota was exceeded."""

    code = "LimitExceededException"


class NotFoundException(KMSError):
    """The key, alias or other entity does not exist."""

    code = "NotFoundException"


class UnsupportedOperationException(KMSError):
    """The operation is not supported for this key."""

    code = "UnsupportedOperationException"


class ValidationException(KMSError):
    """A parameter is missing, of the wrong type, or out of range."""

    code = "ValidationException"


class CorruptScenarioError(ValidationException):
    """A saved scenario file could not be read. Its code is ``ValidationException``."""


_BY_CODE: dict[str, type[KMSError]] = {
    cls.code: cls
    for cls in (
        AccessDeniedException, AlreadyExistsException, ConflictException, DisabledException,
        DryRunOperationException, IncorrectKeyException,
        InvalidAliasNameException, InvalidArnException, InvalidCiphertextException,
        InvalidKeyUsageException, InvalidMarkerException, KMSInvalidMacException,
        KMSInvalidStateException, LimitExceededException, NotFoundException,
        UnsupportedOperationException, ValidationException,
    )
}


def error_class(code: str) -> type[KMSError]:
    """The exception class for an AWS error code (``KMSError`` when unknown)."""
    return _BY_CODE.get(code, KMSError)
