"""What every simulated service shares: its KMS, boto3-style calls, and counting KMS calls.

`AWSService` is the base of `S3`, `SecretsManager`, `Lambda` and `RDS`. The
``@api`` decorator gives their operations boto3's manners (keyword arguments only,
known parameters only, required ones present), turns a failed KMS request made on the
caller's behalf into the service's own AWS-named error, and attributes every KMS call
to the service operation that made it. Attribution reads the KMS audit trail (each KMS
request appends exactly one ``AwsApiCall`` event), so it counts what CloudTrail would
show, including calls made through `kmssim.envelope`; when one service calls another
(Secrets Manager invoking a Lambda rotation function), each KMS call counts for the
innermost operation only.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from kmssim.core.errors import KMSError
from kmssim.services.errors import AWSServiceError, ParamValidationError

if TYPE_CHECKING:
    from kmssim.core import KMS

__all__ = ["AWSService", "api", "StreamingBody"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(slots=True)
class _Ledger:
    """Per KMS: which service operations are running, and how far the trail is counted."""

    running: list[tuple[AWSService, str | None]] = field(default_factory=list)
    counted: int = 0


_LEDGERS: weakref.WeakKeyDictionary[KMS, _Ledger] = weakref.WeakKeyDictionary()


class AWSService:
    """Base of the simulated services: one account and Region, on top of one `KMS`.

    ``kms_calls`` counts the KMS requests this service made for you (as CloudTrail
    would list them); `kms_calls_for` counts them for one resource (bucket, secret,
    function, DB instance) and `kms_calls_by_operation` by KMS operation.
    """

    service: ClassVar[str] = "aws"
    exceptions: ClassVar[type] = object
    invalid_parameter: ClassVar[type[AWSServiceError]] = AWSServiceError

    def __init__(self, kms: KMS) -> None:
        from kmssim.core import KMS  # the core never imports services; services import it lazily
        if not isinstance(kms, KMS):
            raise self.invalid_parameter(
                f"{type(self).__name__}(kms) needs a kmssim.KMS, got {type(kms).__name__}.")
        self.kms = kms
        self._kms_counts: Counter[tuple[str | None, str]] = Counter()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kms.region} {self.kms.account_id}: " \
               f"{self.kms_calls} KMS calls>"

    # -- naming -------------------------------------------------------------------
    @property
    def _endpoint(self) -> str:
        """This service's endpoint, the value of kms:ViaService for its KMS requests."""
        return f"{self.service}.{self.kms.region}.amazonaws.com"

    def _arn(self, resource: str) -> str:
        return f"arn:aws:{self.service}:{self.kms.region}:{self.kms.account_id}:{resource}"

    # -- KMS call counts -----------------------------------------------------------
    @property
    def kms_calls(self) -> int:
        """How many KMS requests this service has made for you, all resources together."""
        self._settle()
        return sum(self._kms_counts.values())

    def kms_calls_for(self, resource: str) -> int:
        """How many KMS requests this service made for one bucket, secret, function or
        DB instance (by name)."""
        self._settle()
        return sum(n for (owner, _), n in self._kms_counts.items() if owner == resource)

    def kms_calls_by_operation(self, resource: str | None = None) -> dict[str, int]:
        """KMS requests made by this service, per KMS operation, sorted by name; for one
        bucket, secret, function or DB instance if ``resource`` names it."""
        self._settle()
        totals: Counter[str] = Counter()
        for (owner, name), n in self._kms_counts.items():
            if resource is None or owner == resource:
                totals[name] += n
        return dict(sorted(totals.items()))

    def _settle(self) -> None:
        _attribute(self.kms)

    @contextmanager
    def _attributed(self, resource: str | None) -> Iterator[None]:
        """KMS calls made inside the block count for ``resource`` of this service."""
        ledger = _attribute(self.kms)
        ledger.running.append((self, resource))
        try:
            yield
        finally:
            _attribute(self.kms)
            ledger.running.pop()

    # -- errors ---------------------------------------------------------------------
    def _kms_failure(self, error: KMSError) -> AWSServiceError:
        """The service's own error for a KMS request that failed (subclasses refine)."""
        return AWSServiceError(error.message)

    def _resource_name(self, value: Any) -> str | None:
        """The resource a request is about, for counting (subclasses may normalise)."""
        return value if isinstance(value, str) else None


def _attribute(kms: KMS) -> _Ledger:
    """Give the trail events not yet counted to the innermost running operation."""
    ledger = _LEDGERS.get(kms)
    if ledger is None:
        ledger = _LEDGERS[kms] = _Ledger(counted=len(kms.trail))
    end = len(kms.trail)
    if ledger.running and end > ledger.counted:
        service, resource = ledger.running[-1]
        for index in range(ledger.counted, end):
            event = kms.trail[index]
            if event.event_type == "AwsApiCall":
                service._kms_counts[(resource, event.name)] += 1
    ledger.counted = end
    return ledger


def api(name: str, *, required: tuple[str, ...] = (), resource: str | None = None
        ) -> Callable[[F], F]:
    """Make a method the service operation ``name`` (its AWS name, e.g. ``"PutObject"``).

    ``resource`` names the parameter that identifies the resource (``"Bucket"``), for
    `AWSService.kms_calls_for`.
    """

    def decorate(method: F) -> F:
        accepted = tuple(p for p in inspect.signature(method).parameters if p != "self")

        @functools.wraps(method)
        def call(self: AWSService, *args: Any, **kwargs: Any) -> Any:
            try:
                _check_arguments(accepted, required, args, kwargs)
                # KMS requests made here are made through this service: kms:ViaService
                # (AWS managed keys allow use only this way).
                with self._attributed(self._resource_name(kwargs.get(resource or ""))), \
                        self.kms.via_service(self._endpoint):
                    return method(self, **kwargs)
            except AWSServiceError as error:
                if error.operation is None:
                    error.operation = name
                raise
            except KMSError as error:
                translated = self._kms_failure(error)
                translated.operation = name
                translated.hint = translated.hint or error.hint   # kmssim's KMS explanation
                raise translated from error

        return call  # type: ignore[return-value]

    return decorate


def _check_arguments(accepted: tuple[str, ...], required: tuple[str, ...],
                     args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    problems = []
    if args:
        problems.append(f"This call takes keyword arguments only, as boto3 clients do, "
                        f"but got {len(args)} positional.")
    problems += [f'Unknown parameter in input: "{given}", must be one of: '
                 + ", ".join(accepted) for given in kwargs if given not in accepted]
    problems += [f'Missing required parameter in input: "{needed}"'
                 for needed in required if kwargs.get(needed) is None]
    if problems:
        raise ParamValidationError("Parameter validation failed:\n" + "\n".join(problems))


class StreamingBody:
    """A response body, like botocore's: call ``read()`` for the bytes."""

    __slots__ = ("_data", "_position")

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._position = 0

    def read(self, amt: int | None = None) -> bytes:
        """The next ``amt`` bytes (all the rest by default)."""
        end = len(self._data) if amt is None else min(len(self._data), self._position + amt)
        chunk = self._data[self._position:end]
        self._position = end
        return chunk

    def close(self) -> None:
        """Nothing to release; kept for boto3 compatibility."""

    def __repr__(self) -> str:
        return f"<StreamingBody: {len(self._data)} bytes>"
