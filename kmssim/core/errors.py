"""AWS-named exceptions: one class per KMS error code, all under `KMSError`.

Every operation of the simulator fails only with these, or with `ParamValidationError`
for what botocore refuses on the client before a request is sent. Each `KMSError`
carries the AWS error code (``err.code``, also ``err.response["Error"]["Code"]`` in the
manner of botocore's ``ClientError``) and the message real AWS sends (``err.message``,
empty where AWS sends none). kmssim's own explanation for learners, when it has one,
is ``err.hint``: shown by the lesson helpers, never sent over the wire.
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
    "ExpiredImportTokenException",
    "IncorrectKeyMaterialException",
    "InvalidGrantIdException",
    "InvalidGrantTokenException",
    "InvalidImportTokenException",
    "KMSInternalException",
    "KMSInvalidSignatureException",
    "KeyUnavailableException",
    "MalformedPolicyDocumentException",
    "TagException",
    "DependencyTimeoutException",
    "ScenarioFileError",
    "CorruptScenarioError",
    "ParamValidationError",
    "error_class",
    "HINT_LABEL",
    "aws_words",
    "hint_line",
]


class KMSError(Exception):
    """Base class of every error the simulated KMS raises.

    ``code`` is the AWS error code (the class name), ``message`` the text AWS
    would send (``""`` where AWS sends none), ``hint`` kmssim's own explanation for a
    learner (or None), and ``operation`` the API operation name when known.
    """

    code: str = "KMSError"

    def __init__(self, message: str = "", *, hint: str | None = None,
                 operation: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
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


class ExpiredImportTokenException(KMSError):
    """The import token has expired: get a new one with GetParametersForImport."""

    code = "ExpiredImportTokenException"


class IncorrectKeyMaterialException(KMSError):
    """The imported key material is not the material this key had, or is invalid."""

    code = "IncorrectKeyMaterialException"


class InvalidGrantIdException(KMSError):
    """The GrantId is not valid."""

    code = "InvalidGrantIdException"


class InvalidGrantTokenException(KMSError):
    """The grant token is not valid."""

    code = "InvalidGrantTokenException"


class InvalidImportTokenException(KMSError):
    """The import token is invalid or belongs to another KMS key."""

    code = "InvalidImportTokenException"


class KMSInternalException(KMSError):
    """An internal error occurred; the request can be retried."""

    code = "KMSInternalException"


class KMSInvalidSignatureException(KMSError):
    """The signature does not verify with this key, message and algorithm."""

    code = "KMSInvalidSignatureException"


class KeyUnavailableException(KMSError):
    """The KMS key is not available; the request can be retried."""

    code = "KeyUnavailableException"


class MalformedPolicyDocumentException(KMSError):
    """The policy is not syntactically or semantically correct."""

    code = "MalformedPolicyDocumentException"


class TagException(KMSError):
    """One or more tags are not valid."""

    code = "TagException"


class DependencyTimeoutException(KMSError):
    """The system timed out; the request can be retried."""

    code = "DependencyTimeoutException"


class ScenarioFileError(ValidationException):
    """A scenario file could not be written or read: the folder is missing, the path is
    a directory, permission is denied, the path holds a NUL character. Raised by
    ``KMS.save`` (and, as its subclass `CorruptScenarioError`, by ``KMS.load``). Not an
    AWS error: its code is ``ValidationException``, as for every mistake of the caller.
    """


class CorruptScenarioError(ScenarioFileError):
    """A saved scenario file could not be read, or is not exactly what kmssim wrote
    (damaged, edited, ill-typed). Its code is ``ValidationException``."""


class ParamValidationError(Exception):
    """What botocore raises on the client, before anything is sent, for a parameter it
    checks itself (a missing required member, a wrong Python type, an unknown member,
    a string or list shorter than its minimum length, a number under its minimum).

    Not a `KMSError`: the request never reaches KMS, so there is no error code, and no
    audit event. ``report`` is botocore's text after its first line; ``hint`` is kmssim's
    own explanation for a learner, or None.
    """

    def __init__(self, report: str, *, hint: str | None = None) -> None:
        super().__init__(report)
        self.report = report
        self.hint = hint

    def __str__(self) -> str:
        return f"Parameter validation failed:\n{self.report}"


_BY_CODE: dict[str, type[KMSError]] = {
    cls.code: cls for cls in KMSError.__subclasses__() if cls.code != KMSError.code
}


def error_class(code: str) -> type[KMSError]:
    """The exception class for an AWS error code (``KMSError`` when unknown)."""
    return _BY_CODE.get(code, KMSError)


#: How kmssim marks its own explanation wherever it is shown beside AWS's words.
HINT_LABEL = "kmssim hint:"


def aws_words(error: KMSError | ParamValidationError) -> str:
    """What AWS (or botocore) says, as a lesson prints it: ``Code: message`` (the code
    alone when AWS sends no message), or botocore's ``Parameter validation failed:`` text."""
    if isinstance(error, ParamValidationError):
        return str(error)
    return f"{error.code}: {error.message}" if error.message else error.code


def hint_line(error: BaseException) -> str | None:
    """kmssim's explanation of ``error`` as one marked line, or None if it has none."""
    hint = getattr(error, "hint", None)
    return f"{HINT_LABEL} {hint}" if hint else None
