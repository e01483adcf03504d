"""Real boto3 KMS clients whose requests a simulator serves, in process.

The only module of kmssim that imports boto3 or botocore. botocore does everything
it does against AWS (validates parameters, serialises the request, signs it with
dummy credentials, parses the response or the error) except the network round
trip: a ``before-send`` event handler passes the request to `kmssim.aws.protocol.dispatch`
and hands botocore the simulator's answer.

Two ways in:

``client(kms)``
    A ``boto3.client("kms")`` served by the simulator ``kms``::

        kms = kmssim.KMS(seed=1)
        aws = kmssim.bridge.client(kms)
        key_id = aws.create_key()["KeyMetadata"]["KeyId"]
        kms.advance(days=365)            # time still moves through the simulator

``mock_kms()``
    In the manner of moto's ``mock_aws``: a context manager, also usable as a
    decorator, inside which *every* KMS client created, however it is created,
    talks to a simulator. There is one simulator per Region and account, as in AWS,
    made on first use and kept in the mock (``mock.simulator("eu-west-1")``)::

        @mock_kms
        def test_rotation():
            aws = boto3.client("kms", region_name="us-east-1")
            ...

        with mock_kms(seed=7) as mock:
            aws = boto3.client("kms", region_name="us-east-1")
            ...
            mock.simulator("us-east-1").advance(days=365)

Errors arrive as ``botocore.exceptions.ClientError`` with the AWS code, and
``aws.exceptions.NotFoundException`` and its siblings work as against AWS.
"""

from __future__ import annotations

import functools
import io
import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from kmssim.aws import protocol
from kmssim.core import KMS, Cloud, requires_extra

# Without boto3 this says to install the [aws] extra (kmssim.core.extras).
with requires_extra("aws", __name__):
    import boto3
    import botocore.session
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse
    from botocore.client import BaseClient
    from botocore.config import Config

__all__ = ["client", "mock_kms", "KMSMock", "simulator", "DUMMY_CREDENTIALS"]

#: The credentials kmssim's clients sign with; nothing checks them.
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_DEFAULT_ACCOUNT = "111122223333"
_DEFAULT_REGION = "us-east-1"
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/")

F = TypeVar("F", bound=Callable[..., Any])


class _Body(io.BytesIO):
    """A response body as botocore reads one from urllib3."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def _answer(kms: KMS, request: AWSPreparedRequest) -> AWSResponse:
    target = request.headers.get("X-Amz-Target")
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    status, headers, payload = protocol.dispatch(kms, target, body)
    return AWSResponse(request.url, status, headers, _Body(payload))


def client(kms: KMS, region_name: str | None = None, **kwargs: Any) -> BaseClient:
    """A real ``boto3.client("kms")`` whose requests ``kms`` serves in process.

    ``region_name`` defaults to the simulator's Region (and must equal it: ARNs name
    one Region). Other keyword arguments go to ``boto3.client``; retries are off
    unless a ``config`` turns them on, since a simulator never throttles.
    """
    region = region_name or kms.region
    if region != kms.region:
        raise ValueError(f"This simulator is Region {kms.region}; a client for {region} "
                         "would see ARNs of another Region. Make KMS(region=...) instead.")
    kwargs.setdefault("config", Config(retries={"total_max_attempts": 1}))
    session = boto3.session.Session(region_name=region, **DUMMY_CREDENTIALS)
    made = session.client("kms", **kwargs)
    made.meta.events.register("before-send.kms", functools.partial(_serve, kms))
    return made


def _serve(kms: KMS, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
    return _answer(kms, request)


# -- mock_kms -----------------------------------------------------------------------
_lock = threading.RLock()
_active: list[KMSMock] = []          # started mocks, innermost last
_original_create_client: Callable[..., Any] | None = None


def _create_client(self: botocore.session.Session, service_name: str, *args: Any,
                   **kwargs: Any) -> Any:
    assert _original_create_client is not None
    made = _original_create_client(self, service_name, *args, **kwargs)
    with _lock:
        mock = _active[-1] if _active else None
    if service_name == "kms" and mock is not None:
        made.meta.events.register("before-send.kms", mock._serve)
    return made


class KMSMock:
    """Serve every KMS client created while it is active from simulators it keeps.

    Use `mock_kms` to make one. Simulators are the Regions of one `kmssim.Cloud` per
    account (one clock; multi-Region keys replicate between them), made on a Region's
    first request and thrown away when the mock starts again (each decorated call gets
    fresh ones); simulators passed in are kept, on their own clocks. The account is
    ``account_id``, or the client's access key id when
    that is 12 digits (as LocalStack does). While active, ``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY`` are set to dummies and boto3's default session is
    fresh, so real credentials are never used; a client made inside the mock keeps
    talking to it after it stops, never to AWS.
    """

    def __init__(self, *simulators: KMS, seed: int | str | bytes | None = None,
                 start: datetime | None = None, account_id: str = _DEFAULT_ACCOUNT) -> None:
        self.seed = seed
        self.start_time = start
        self.account_id = account_id
        self._given = {(k.region, k.account_id): k for k in simulators}
        self._simulators: dict[tuple[str, str], KMS] = dict(self._given)
        self._clouds: dict[str, Cloud] = {}
        self._depth = 0
        self._saved_env: dict[str, str | None] = {}
        self._saved_session: Any = None

    def __repr__(self) -> str:
        state = "active" if self.active else "stopped"
        return f"<KMSMock {state}: {sorted(self._simulators)}>"

    # -- the simulators ---------------------------------------------------------
    def simulator(self, region_name: str | None = None, account_id: str | None = None) -> KMS:
        """The simulator of a Region (default: ``AWS_DEFAULT_REGION`` or us-east-1) and
        account (default: the mock's), made now if no request has needed it yet."""
        region = region_name or os.environ.get("AWS_DEFAULT_REGION") or _DEFAULT_REGION
        where = (region, account_id or self.account_id)
        with _lock:
            if where not in self._simulators:
                # One Cloud per account: its Regions share one clock and see each other's
                # multi-Region keys (ReplicateKey, UpdatePrimaryRegion).
                cloud = self._clouds.get(where[1])
                if cloud is None:
                    cloud = Cloud(seed=self.seed, start=self.start_time, account_id=where[1])
                    self._clouds[where[1]] = cloud
                self._simulators[where] = cloud.region(where[0])
            return self._simulators[where]

    @property
    def simulators(self) -> dict[tuple[str, str], KMS]:
        """Every simulator made so far, by ``(region, account_id)``."""
        with _lock:
            return dict(self._simulators)

    def _serve(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        scope = _SCOPE.search(str(request.headers.get("Authorization", "")))
        account = region = None
        if scope:
            key_id, region = scope.groups()
            account = key_id if key_id.isdigit() and len(key_id) == 12 else None
        return _answer(self.simulator(region, account), request)

    # -- starting and stopping --------------------------------------------------
    @property
    def active(self) -> bool:
        return self._depth > 0

    def start(self) -> KMSMock:
        """Begin serving; made simulators start afresh (those passed in are kept)."""
        global _original_create_client
        with _lock:
            self._depth += 1
            if self._depth > 1:
                return self
            self._simulators = dict(self._given)
            self._clouds = {}
            self._saved_env = {name: os.environ.get(name)
                               for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
            os.environ["AWS_ACCESS_KEY_ID"] = DUMMY_CREDENTIALS["aws_access_key_id"]
            os.environ["AWS_SECRET_ACCESS_KEY"] = DUMMY_CREDENTIALS["aws_secret_access_key"]
            self._saved_session, boto3.DEFAULT_SESSION = boto3.DEFAULT_SESSION, None
            if not _active:
                _original_create_client = botocore.session.Session.create_client
                botocore.session.Session.create_client = _create_client  # type: ignore[method-assign]
            _active.append(self)
        return self

    def stop(self) -> None:
        """Stop serving new clients; undo `start`'s changes to the environment."""
        global _original_create_client
        with _lock:
            if self._depth == 0:
                raise RuntimeError("stop() called on a KMSMock that is not started.")
            self._depth -= 1
            if self._depth:
                return
            _active.remove(self)
            if not _active and _original_create_client is not None:
                botocore.session.Session.create_client = _original_create_client  # type: ignore[method-assign]
                _original_create_client = None
            for name, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            boto3.DEFAULT_SESSION = self._saved_session

    def __enter__(self) -> KMSMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __call__(self, func: F) -> F:
        """Decorate ``func`` so that each call runs inside this mock."""
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)
        return run  # type: ignore[return-value]


def mock_kms(*args: Any, seed: int | str | bytes | None = None, start: datetime | None = None,
             account_id: str = _DEFAULT_ACCOUNT) -> Any:
    """Serve every boto3 KMS client from kmssim simulators, like moto's ``mock_aws``.

    ``with mock_kms() as mock:``, ``@mock_kms`` and ``@mock_kms(seed=1)`` all work.
    Pass `kmssim.KMS` objects to serve their Region and account with them. Returns a
    `KMSMock`; ``mock.simulator(region)`` is the simulator behind that Region.
    """
    if len(args) == 1 and callable(args[0]) and not isinstance(args[0], KMS):
        return KMSMock(seed=seed, start=start, account_id=account_id)(args[0])
    return KMSMock(*args, seed=seed, start=start, account_id=account_id)


def simulator(region_name: str | None = None, account_id: str | None = None) -> KMS:
    """The simulator the innermost active `mock_kms` uses for a Region and account."""
    with _lock:
        if not _active:
            raise RuntimeError("No mock_kms is active.")
        mock = _active[-1]
    return mock.simulator(region_name, account_id)
