"""AWS Lambda: functions whose environment variables are encrypted at rest under KMS.

``Lambda(kms)`` is shaped like ``boto3.client("lambda")`` for the calls that matter to
KMS. A function's handler is a Python callable ``handler(event, context)`` (instead of
a zip file); its environment variables are encrypted with a data key from KMS under the
AWS managed key ``aws/lambda``, or under the customer managed key ``KMSKeyArn``, with
the encryption context ``{"aws:lambda:FunctionArn": <function ARN>}``.

When an invocation needs a new execution environment (a *cold start*), Lambda asks KMS
to decrypt the variables, as the function's execution role, and the handler finds them
in ``context.environment`` (a simulator stand-in for ``os.environ``, which kmssim does
not touch). A warm environment is reused for ``Lambda.WARM_FOR`` (ten minutes) after
each invocation without asking KMS again; AWS does not publish how long idle
environments live, and ten minutes is within what users observe. Changing the
configuration starts fresh environments. Because the ciphertext names the key material
that encrypted it, functions keep working across KMS key rotations.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kmssim.core.envelope import SealedRecord, seal, unseal
from kmssim.core.errors import KMSError
from kmssim.services.caller import AWSService, StreamingBody, api
from kmssim.services.errors import AWSServiceError
from kmssim.services.errors import LambdaExceptions as Errors

if TYPE_CHECKING:
    from kmssim.core import KMS, CiphertextInfo

__all__ = ["Lambda", "LambdaContext"]

_DEFAULT_KEY = "alias/aws/lambda"
_ENV_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The ``context`` a handler receives (the fields of the Python runtime's object),
    plus ``environment``: the function's decrypted environment variables."""

    invoked_function_arn: str
    aws_request_id: str
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"

    @property
    def function_name(self) -> str:
        return self.invoked_function_arn.rsplit(":", 1)[-1]

    def get_remaining_time_in_millis(self) -> int:
        return 3000


@dataclass(slots=True)
class _Function:
    name: str
    arn: str
    role: str
    handler: Callable[..., Any]
    runtime: str
    description: str
    timeout: int
    memory: int
    kms_key_arn: str | None              # None: the AWS managed key aws/lambda
    environment: SealedRecord | None     # None: no variables
    last_modified: datetime
    warm_until: datetime | None = None
    warm_environment: dict[str, str] | None = field(default=None, repr=False)

    @property
    def handler_name(self) -> str:
        return f"{getattr(self.handler, '__module__', 'handler')}." \
               f"{getattr(self.handler, '__qualname__', type(self.handler).__name__)}"


class Lambda(AWSService):
    """A simulated AWS Lambda on top of a `kmssim.KMS`.

    >>> from kmssim import KMS
    >>> kms = KMS(seed=4); lam = Lambda(kms)
    >>> def report(event, context):
    ...     return {"db": context.environment["DB_HOST"]}
    >>> _ = lam.create_function(FunctionName="report", Handler=report,
    ...                         Environment={"Variables": {"DB_HOST": "orders.db"}})
    >>> lam.invoke(FunctionName="report")["Payload"].read()
    b'{"db": "orders.db"}'
    """

    service = "lambda"
    exceptions = Errors
    invalid_parameter = Errors.InvalidParameterValueException
    #: How long an idle execution environment stays warm (AWS does not publish this).
    WARM_FOR = timedelta(minutes=10)

    def __init__(self, kms: KMS) -> None:
        super().__init__(kms)
        self.warm_for = self.WARM_FOR
        self._functions: dict[str, _Function] = {}
        self.cold_starts = 0

    def _kms_failure(self, error: KMSError) -> AWSServiceError:
        if error.operation == "Decrypt":
            kind = {"DisabledException": Errors.KMSDisabledException,
                    "KMSInvalidStateException": Errors.KMSInvalidStateException,
                    "NotFoundException": Errors.KMSNotFoundException,
                    }.get(error.code, Errors.KMSAccessDeniedException)
            return kind("Lambda was unable to decrypt the environment variables because KMS "
                        f"refused ({error.code}): {error.message}")
        return Errors.InvalidParameterValueException(
            "Lambda was unable to encrypt your environment variables with the KMS key "
            f"({error.code}): {error.message}")

    # -- finding and checking ---------------------------------------------------------
    def _function(self, name: Any) -> _Function:
        if isinstance(name, str):
            key = name.rsplit(":function:", 1)[-1].split(":")[0]
            if key in self._functions:
                return self._functions[key]
        raise Errors.ResourceNotFoundException(f"Function not found: {self._arn('function:')}"
                                               f"{name}")

    def has_function(self, name: str) -> bool:
        """Whether a function with this name or ARN exists."""
        try:
            self._function(name)
        except Errors.ResourceNotFoundException:
            return False
        return True

    def _resource_name(self, value: Any) -> str | None:
        return value.rsplit(":function:", 1)[-1] if isinstance(value, str) else None

    def _role(self, role: Any, function_name: str) -> str:
        if role is None:
            role = f"role/{function_name}-role"
        if not isinstance(role, str) or not role:
            raise Errors.InvalidParameterValueException("Role must be an IAM role ARN.")
        return role if role.startswith("arn:") else \
            f"arn:aws:iam::{self.kms.account_id}:{role if '/' in role else 'role/' + role}"

    @staticmethod
    def _variables(environment: Any) -> dict[str, str] | None:
        if environment is None:
            return None
        variables = environment.get("Variables") if isinstance(environment, Mapping) else None
        if not isinstance(variables, Mapping) or not all(
                isinstance(k, str) and k and isinstance(v, str) for k, v in variables.items()):
            raise Errors.InvalidParameterValueException(
                'Environment must look like {"Variables": {"NAME": "value", ...}}.')
        if len(json.dumps(variables).encode()) > _ENV_LIMIT:
            raise Errors.InvalidParameterValueException(
                "Lambda was unable to configure your environment variables because the "
                "environment variables you have provided exceeded the 4KB limit.")
        return dict(variables)

    def _seal_environment(self, function_arn: str, key_arn: str | None,
                          variables: dict[str, str] | None) -> SealedRecord | None:
        if not variables:
            return None
        return seal(self.kms, key_arn or _DEFAULT_KEY, json.dumps(variables).encode(),
                    {"aws:lambda:FunctionArn": function_arn})

    def _configuration(self, function: _Function,
                       environment: dict[str, Any] | None) -> dict[str, Any]:
        digest = hashlib.sha256(function.handler_name.encode()).digest()
        config: dict[str, Any] = {
            "FunctionName": function.name, "FunctionArn": function.arn,
            "Runtime": function.runtime, "Role": function.role,
            "Handler": function.handler_name, "CodeSize": 0,
            "Description": function.description, "Timeout": function.timeout,
            "MemorySize": function.memory,
            "LastModified": function.last_modified.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "CodeSha256": base64.b64encode(digest).decode(), "Version": "$LATEST"}
        if environment is not None:
            config["Environment"] = environment
        if function.kms_key_arn is not None:
            config["KMSKeyArn"] = (function.environment.key_arn if function.environment
                                   else function.kms_key_arn)
        config.update(State="Active", LastUpdateStatus="Successful", PackageType="Zip")
        return config

    # -- operations -------------------------------------------------------------------------
    @api("CreateFunction", required=("FunctionName", "Handler"), resource="FunctionName")
    def create_function(self, FunctionName: str, Handler: Callable[..., Any],
                        Role: str | None = None, Code: dict[str, Any] | None = None,
                        Runtime: str | None = None, Description: str | None = None,
                        Timeout: int | None = None, MemorySize: int | None = None,
                        Environment: dict[str, Any] | None = None,
                        KMSKeyArn: str | None = None, Publish: bool | None = None,
                        Tags: dict[str, str] | None = None) -> dict[str, Any]:
        """Create a function whose ``Handler`` is a Python callable ``(event, context)``.

        ``Environment={"Variables": {...}}`` (4 KB at most) is encrypted at once under
        ``KMSKeyArn`` or ``aws/lambda``. ``Role`` (default ``role/<name>-role``) is the
        execution role that decrypts the variables at cold starts. ``Code`` is accepted
        and ignored. Returns the function configuration. Raises
        ResourceConflictException, InvalidParameterValueException.
        """
        if not isinstance(FunctionName, str) or not FunctionName \
                or not FunctionName.replace("-", "").replace("_", "").isalnum():
            raise Errors.InvalidParameterValueException(
                f"Invalid function name {FunctionName!r}: letters, digits, - and _ only.")
        if FunctionName in self._functions:
            raise Errors.ResourceConflictException(f"Function already exist: {FunctionName}")
        if not callable(Handler):
            raise Errors.InvalidParameterValueException(
                "In kmssim, Handler is a Python callable handler(event, context).")
        variables = self._variables(Environment)
        arn = self._arn(f"function:{FunctionName}")
        record = self._seal_environment(arn, KMSKeyArn, variables)
        function = _Function(FunctionName, arn, self._role(Role, FunctionName), Handler,
                             Runtime or "python3.12", Description or "", Timeout or 3,
                             MemorySize or 128, KMSKeyArn or None, record, self.kms.now)
        self._functions[FunctionName] = function
        return self._configuration(function, {"Variables": variables or {}})

    def _decrypted(self, function: _Function) -> dict[str, str]:
        if function.environment is None:
            return {}
        return json.loads(unseal(self.kms, function.environment))

    @api("GetFunctionConfiguration", required=("FunctionName",), resource="FunctionName")
    def get_function_configuration(self, FunctionName: str,
                                   Qualifier: str | None = None) -> dict[str, Any]:
        """The function's configuration, with its environment variables decrypted (a
        KMS Decrypt as you). If KMS refuses, ``Environment`` holds an ``Error``
        (``ErrorCode``, ``Message``) instead of ``Variables``, as Lambda reports it."""
        function = self._function(FunctionName)
        try:
            environment: dict[str, Any] = {"Variables": self._decrypted(function)}
        except KMSError as error:
            failure = self._kms_failure(error)
            environment = {"Error": {"ErrorCode": failure.code, "Message": failure.message}}
        return self._configuration(function, environment)

    @api("UpdateFunctionConfiguration", required=("FunctionName",), resource="FunctionName")
    def update_function_configuration(self, FunctionName: str,
                                      Environment: dict[str, Any] | None = None,
                                      KMSKeyArn: str | None = None, Role: str | None = None,
                                      Handler: Callable[..., Any] | None = None,
                                      Description: str | None = None,
                                      Timeout: int | None = None,
                                      MemorySize: int | None = None) -> dict[str, Any]:
        """Change a function's settings. New ``Environment`` variables, or a new
        ``KMSKeyArn`` (``""`` goes back to ``aws/lambda``), re-encrypt the variables
        under the key's *current* material. The next invocation is a cold start."""
        function = self._function(FunctionName)
        if Handler is not None and not callable(Handler):
            raise Errors.InvalidParameterValueException("Handler must be a Python callable.")
        variables = self._variables(Environment)
        role = function.role if Role is None else self._role(Role, function.name)
        key_arn = function.kms_key_arn if KMSKeyArn is None else (KMSKeyArn or None)
        if variables is not None or KMSKeyArn is not None:
            plain = variables if variables is not None else self._decrypted(function)
            function.environment = self._seal_environment(function.arn, key_arn, plain)
            function.kms_key_arn = key_arn
        function.role = role
        function.handler = Handler or function.handler
        function.description = function.description if Description is None else Description
        function.timeout, function.memory = Timeout or function.timeout, \
            MemorySize or function.memory
        function.last_modified = self.kms.now
        function.warm_until = function.warm_environment = None
        return self._configuration(function, None)

    @api("Invoke", required=("FunctionName",), resource="FunctionName")
    def invoke(self, FunctionName: str, Payload: Any = None,
               InvocationType: str | None = None, Qualifier: str | None = None,
               LogType: str | None = None, ClientContext: str | None = None
               ) -> dict[str, Any]:
        """Run the function's handler with ``Payload`` (JSON bytes or str, or a dict).

        A cold start decrypts the environment variables first (KMS Decrypt as the
        execution role); a warm environment reuses them. Returns ``StatusCode``
        (200), ``ExecutedVersion`` and ``Payload`` (JSON; ``.read()`` it); if the
        handler raised, also ``FunctionError: "Unhandled"``. Raises
        ResourceNotFoundException, and KMSDisabledException, KMSInvalidStateException,
        KMSNotFoundException or KMSAccessDeniedException when the variables cannot be
        decrypted.
        """
        function = self._function(FunctionName)
        event = _event(Payload)
        if InvocationType not in (None, "RequestResponse", "Event", "DryRun"):
            raise Errors.InvalidParameterValueException(
                "InvocationType must be RequestResponse, Event or DryRun.")
        if InvocationType == "DryRun":
            return {"StatusCode": 204}
        now = self.kms.now
        with self.kms.acting_as(function.role):
            if function.warm_until is None or now >= function.warm_until \
                    or function.warm_environment is None:
                function.warm_environment = self._decrypted(function)
                self.cold_starts += 1
            function.warm_until = now + self.warm_for
            context = LambdaContext(function.arn, self.kms.entropy.uuid4(),
                                    dict(function.warm_environment))
            try:
                result, error = function.handler(event, context), None
            except Exception as problem:  # noqa: BLE001 - reported as Lambda reports it
                result, error = None, problem
        response: dict[str, Any] = {"StatusCode": 202 if InvocationType == "Event" else 200,
                                    "ExecutedVersion": "$LATEST"}
        if error is not None:
            response["FunctionError"] = "Unhandled"
            result = {"errorMessage": str(error), "errorType": type(error).__name__,
                      "stackTrace": []}
        body = b"" if InvocationType == "Event" else json.dumps(result, default=str).encode()
        response["Payload"] = StreamingBody(body)
        return response

    @api("ListFunctions")
    def list_functions(self) -> dict[str, Any]:
        """Every function's configuration, by name (without environment variables)."""
        return {"Functions": [self._configuration(f, None)
                              for _, f in sorted(self._functions.items())]}

    @api("DeleteFunction", required=("FunctionName",), resource="FunctionName")
    def delete_function(self, FunctionName: str, Qualifier: str | None = None
                        ) -> dict[str, Any]:
        """Delete a function. Returns ``{}``."""
        del self._functions[self._function(FunctionName).name]
        return {}

    # -- looking inside (simulator only) ------------------------------------------------------
    def inspect_environment(self, function_name: str) -> CiphertextInfo | None:
        """Which KMS key and key material encrypt a function's variables (None if it
        has none). No KMS request."""
        record = self._function(function_name).environment
        return None if record is None else self.kms.inspect_ciphertext(record.encrypted_data_key)


def _event(payload: Any) -> Any:
    if payload is None:
        return {}
    if isinstance(payload, (bytes, bytearray, str)):
        try:
            return json.loads(payload or b"{}")
        except ValueError:
            raise Errors.InvalidParameterValueException(
                "Could not parse request body into json: the Payload is not JSON.") from None
    return payload
