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


def _define(name: str, doc: str) -> type[KMSError]:
    cls = type(name, (KMSError,), {"__doc__": doc, "code": name, "__module__": __name__})
    return cls


AlreadyExistsException = _define(
    "AlreadyExistsException", "A resource with that name (for example an alias) already exists.")
AccessDeniedException = _define(
    "AccessDeniedException", "The caller is not allowed to do this to the key.")
ConflictException = _define(
    "ConflictException", "An automatic rotation is running or is due within 20 minutes.")
DisabledException = _define("DisabledException", "The KMS key is disabled.")
DryRunOperationException = _define(
    "DryRunOperationException", "The request would have succeeded; DryRun was set.")
IncorrectKeyException = _define(
    "IncorrectKeyException",
    "The KMS key named in the request is not the one that encrypted the ciphertext.")
InvalidAliasNameException = _define(
    "InvalidAliasNameException", "The alias name is not valid or is reserved.")
InvalidArnException = _define("InvalidArnException", "The ARN in the request is not valid.")
InvalidCiphertextException = _define(
    "InvalidCiphertextException",
    "The ciphertext, or its encryption context, is corrupted, missing or wrong.")
InvalidKeyUsageException = _define(
    "InvalidKeyUsageException", "The key's KeyUsage or KeySpec does not allow this operation.")
InvalidMarkerException = _define(
    "InvalidMarkerException", "The Marker is not one this service returned.")
KMSInvalidMacException = _define(
    "KMSInvalidMacException", "The MAC does not verify with this key, message and algorithm.")
KMSInvalidStateException = _define(
    "KMSInvalidStateException", "The key's state does not allow this operation.")
LimitExceededException = _define(
    "LimitExceededException", "A length limit or quota was exceeded.")
NotFoundException = _define("NotFoundException", "The key, alias or other entity does not exist.")
UnsupportedOperationException = _define(
    "UnsupportedOperationException", "The operation is not supported for this key.")
ValidationException = _define(
    "ValidationException", "A parameter is missing, of the wrong type, or out of range.")


class CorruptScenarioError(ValidationException):  # type: ignore[misc, valid-type]
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
