"""A local HTTP endpoint for one simulator, so the AWS CLI and any SDK can use it.

``python -m kmssim serve --port 4599`` (see `kmssim.__main__`) runs `run`; tests
and notebooks can start one in a thread with `make_server`. Each POST is a KMS
JSON-protocol request handled by `kmssim.aws.protocol.dispatch`; requests are served
concurrently (the simulator serialises its operations with a lock). The endpoint
binds loopback addresses only unless told otherwise, reads at most
`kmssim.aws.protocol.MAX_BODY_BYTES` of a request, and answers anything malformed with
an AWS-shaped JSON error (HTTP 400), never a traceback on stderr.

Connections: HTTP/1.1 with keep-alive (an SDK sends every request on one connection),
each response written in one piece, and a connection idle for `_Handler.timeout` seconds
closed by the server, so idle clients cannot pile up threads.

Requests are read by `_Handler.parse_request`, not http.server's own: the request line
as http.server reads it, and the headers split here (at most `MAX_HEADERS` lines of at
most `MAX_LINE` bytes; a folded or colon-less header line is a 400) instead of by the
``email`` package, which cost a fifth of the server's CPU time per request.

Hardening: a listen backlog of `BACKLOG` (bursts of connections are queued, not reset);
exactly one Content-Length of ASCII digits, and a body shorter than it is never
executed; and, unless serving remote clients, requests must name a loopback host in
their ``Host`` header (``127.0.0.1``, ``localhost``, ``[::1]``, with or without a port),
so that a web page cannot reach the simulator through DNS rebinding.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kmssim.aws.protocol import CONTENT_TYPE, MAX_BODY_BYTES, Response, dispatch
from kmssim.core import KMS, __version__
from kmssim.core.errors import KMSError

__all__ = ["KMSServer", "make_server", "serving", "run", "is_loopback", "DEFAULT_PORT"]

#: The port ``python -m kmssim serve`` uses when none is given.
DEFAULT_PORT = 4599
#: How many connections the kernel queues before the server accepts them.
BACKLOG = 128
#: The host names (before any ``:port``) a loopback-only endpoint answers to.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
#: At most this many header lines in a request, each at most `MAX_LINE` bytes (as
#: http.client allows), else 431.
MAX_HEADERS = 100
MAX_LINE = 65536
_LENGTH = re.compile(r"[0-9]{1,12}")
_VERSION = re.compile(r"HTTP/([0-9]{1,10})\.([0-9]{1,10})")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HOST = re.compile(r"(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::[0-9]{1,5})?")


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
                               for info in infos)


class _Headers:
    """A request's headers, looked up without regard to case: what the handler and
    http.server ask of them (``get``, ``get_all``), and a little more for logging."""

    __slots__ = ("_fields", "_count")

    def __init__(self) -> None:
        self._fields: dict[str, list[tuple[str, str]]] = {}   # by lower-case name
        self._count = 0

    def add(self, name: str, value: str) -> None:
        self._fields.setdefault(name.lower(), []).append((name, value))
        self._count += 1

    def get(self, name: str, default: str | None = None) -> str | None:
        found = self._fields.get(name.lower())
        return found[0][1] if found else default

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        found = self._fields.get(name.lower())
        return [value for _, value in found] if found else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def items(self) -> list[tuple[str, str]]:
        return [field for fields in self._fields.values() for field in fields]

    def __len__(self) -> int:
        return self._count


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as SDKs expect
    server_version = f"kmssim/{__version__}"
    timeout = 60                     # an idle keep-alive connection frees its thread
    disable_nagle_algorithm = True   # headers and body go out at once, not 40 ms apart
    server: KMSServer

    def parse_request(self) -> bool:
        """Read the request line (in ``raw_requestline``) and the headers; on a
        malformed request answer it (``send_error``) and return False.

        Sets what http.server's own parsing sets: ``command``, ``path``,
        ``request_version``, ``headers`` and ``close_connection`` (HTTP/1.1 keeps the
        connection unless it says ``Connection: close``; HTTP/1.0 closes it unless it says
        ``keep-alive``), and answers ``Expect: 100-continue``.
        """
        self.command = None
        self.request_version = "HTTP/0.9"
        self.close_connection = True
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        words = line.split()
        if not words:
            return False
        if len(words) == 3:
            matched = _VERSION.fullmatch(words[2])
            if matched is None:
                self.send_error(400, f"Bad request version ({words[2][:40]!r})")
                return False
            if int(matched[1]) >= 2:
                self.send_error(505, f"HTTP version {words[2][:40]} is not served")
                return False
            self.request_version = words[2]
            self.close_connection = (int(matched[1]), int(matched[2])) < (1, 1)
        elif len(words) != 2 or words[0] != "GET":   # two words: an HTTP/0.9 GET
            self.send_error(400, f"Bad request syntax ({line[:100]!r})")
            return False
        self.command, self.path = words[0], words[1]
        headers = self._read_headers()
        if headers is None:
            return False
        self.headers = headers   # type: ignore[assignment]
        connection = (headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if (headers.get("Expect") or "").lower() == "100-continue" and \
                self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _read_headers(self) -> _Headers | None:
        headers = _Headers()
        while True:
            raw = self.rfile.readline(MAX_LINE + 1)
            if len(raw) > MAX_LINE:
                self.send_error(431, "A header line is longer than the server reads")
                return None
            if raw in (b"\r\n", b"\n", b""):
                return headers
            if len(headers) == MAX_HEADERS:
                self.send_error(431, f"More than {MAX_HEADERS} header lines")
                return None
            name, colon, value = raw.decode("iso-8859-1").partition(":")
            if not colon or not _TOKEN.fullmatch(name):
                # No colon, a space before it, or a folded continuation line.
                self.send_error(400, "Malformed header line")
                return None
            headers.add(name, value.strip(" \t\r\n"))

    def do_POST(self) -> None:
        if not self._host_allowed():
            return
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._reply(_error(411, "ValidationException",
                               "Send the request with a Content-Length, not chunked."))
            return
        lengths = self.headers.get_all("Content-Length") or ["0"]
        text = lengths[0].strip()
        length = int(text) if len(lengths) == 1 and _LENGTH.fullmatch(text) else -1
        if not 0 <= length <= MAX_BODY_BYTES:
            # Do not read a body we will not serve; close so its bytes are not taken
            # for the next request on this connection.
            self.close_connection = True
            why = ("one Content-Length header" if len(lengths) > 1 else
                   "a Content-Length of ASCII digits" if length < 0 else
                   f"a Content-Length of at most {MAX_BODY_BYTES} bytes")
            self._reply(_error(400, "ValidationException",
                               f"The request must have {why}."))
            return
        try:
            body = self.rfile.read(length)
        except OSError:           # the client went away, or stalled past the timeout
            self.close_connection = True
            return
        if len(body) != length:
            # The client closed its side early: a partial request is never executed.
            self.close_connection = True
            self._reply(_error(400, "ValidationException",
                               f"The request body ended after {len(body)} of the "
                               f"{length} bytes its Content-Length announced; it was not "
                               "executed."))
            return
        self._reply(dispatch(self.server.kms, self.headers.get("X-Amz-Target"), body))

    def _host_allowed(self) -> bool:
        """Whether the ``Host`` header names this server as a loopback endpoint may be
        named; if not, answer 403 and close. (Skipped when serving remote clients.)"""
        if self.server.allow_remote:
            return True
        hosts = self.headers.get_all("Host") or []
        if not hosts:
            return True    # HTTP/1.0 without Host: not a browser, so not DNS rebinding
        matched = _HOST.fullmatch(hosts[0].strip()) if len(hosts) == 1 else None
        name = matched.group(1).lower() if matched else None
        if name in LOOPBACK_NAMES or name == self.server.bound_name:
            return True
        self.close_connection = True
        self._reply(_error(403, "AccessDeniedException",
                           f"This kmssim endpoint answers only requests addressed to a "
                           f"loopback name ({', '.join(sorted(LOOPBACK_NAMES))}), not "
                           f"{hosts[0][:100]!r}: this guards against DNS rebinding."))
        return False

    def do_GET(self) -> None:
        if not self._host_allowed():
            return
        kms = self.server.kms
        info = {"Service": "kmssim", "Version": __version__, "Region": kms.region,
                "AccountId": kms.account_id, "Now": kms.now.isoformat()}
        body = json.dumps(info).encode()
        self._reply((200, {"Content-Type": "application/json",
                           "Content-Length": str(len(body))}, body))

    def _refuse(self) -> None:
        self.close_connection = True
        self._reply(_error(405, "UnknownOperationException",
                           f"{self.command} is not served; send KMS requests as POST."))

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse

    def _reply(self, response: Response) -> None:
        status, headers, body = response
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        send_body = self.command != "HEAD"
        if self.request_version == "HTTP/0.9" or not hasattr(self, "_headers_buffer"):
            self.end_headers()   # a garbage request line: http.server sends no headers
            if send_body:
                self.wfile.write(body)
            return
        # Headers and body leave in one write (one system call, one segment on loopback)
        # rather than two per response on a kept-alive connection.
        self._headers_buffer.append(b"\r\n")
        if send_body:
            self._headers_buffer.append(body)
        self.flush_headers()

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's answer to a request it cannot parse, as an AWS JSON error."""
        self.close_connection = True
        kind = "UnknownOperationException" if code == 501 else "ValidationException"
        self._reply(_error(code, kind, message or explain or "The HTTP request is malformed."))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        headers = getattr(self, "headers", None)   # absent if the request line was garbage
        target = headers.get("X-Amz-Target", "-") if headers else "-"
        self.log_message("%s %s %s", self.command, target, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        # No wall-clock stamp: in kmssim the only time is the simulated one.
        if self.server.verbose:
            sys.stderr.write(f"kmssim: {self.address_string()} {format % args}\n")


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, {"Content-Type": CONTENT_TYPE, "Content-Length": str(len(body))}, body


class KMSServer(ThreadingHTTPServer):
    """A threading HTTP server answering KMS requests from one `KMS` simulator."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = BACKLOG   # socketserver's default of 5 reset bursts of clients

    def __init__(self, kms: KMS, host: str, port: int, *, verbose: bool = False,
                 allow_remote: bool = False) -> None:
        self.kms = kms
        self.verbose = verbose
        self.allow_remote = allow_remote
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        bound = str(self.server_address[0])
        self.bound_name = f"[{bound}]" if ":" in bound else bound

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection failed outside any request (a reset, a timeout): say so in one
        line when verbose, instead of socketserver's traceback on stderr."""
        if self.verbose:
            error = sys.exc_info()[1]
            sys.stderr.write(f"kmssim: connection from {client_address[0]} failed: "
                             f"{type(error).__name__}\n")

    @property
    def url(self) -> str:
        """The endpoint URL to give ``--endpoint-url`` or ``endpoint_url=``."""
        host, port = str(self.server_address[0]), self.server_address[1]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(kms: KMS, host: str = "127.0.0.1", port: int = 0, *,
                allow_remote: bool = False, verbose: bool = False) -> KMSServer:
    """Bind (not yet serve) an endpoint for ``kms``; port 0 picks a free port.

    Refuses (ValueError) a host that is not a loopback address unless
    ``allow_remote``: the simulator has no authentication, and a saved scenario
    holds key material. With ``allow_remote`` the ``Host`` header is not checked either
    (remote clients name the machine as they know it); otherwise only loopback names
    are served. Call ``serve_forever()`` (in a thread), then ``shutdown()``
    and ``server_close()``.
    """
    if not allow_remote and not is_loopback(host):
        raise ValueError(f"Refusing to listen on {host!r}: it is not a loopback address, and "
                         "anyone who can reach it could use and change the simulator. Pass "
                         "--allow-remote (allow_remote=True) if you really mean it.")
    return KMSServer(kms, host, port, verbose=verbose, allow_remote=allow_remote)


@contextlib.contextmanager
def serving(kms: KMS, host: str = "127.0.0.1", port: int = 0, *, allow_remote: bool = False,
            verbose: bool = False) -> Iterator[KMSServer]:
    """Serve ``kms`` from a background thread for the duration of a ``with`` block::

        with serving(kms) as server:
            aws = boto3.client("kms", endpoint_url=server.url, ...)
    """
    server = make_server(kms, host, port, allow_remote=allow_remote, verbose=verbose)
    # A short poll interval makes shutdown() quick; an idle poll costs next to nothing.
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="kmssim-http", daemon=True)
    worker.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        worker.join()


def run(*, host: str = "127.0.0.1", port: int = DEFAULT_PORT, scenario: str | None = None,
        seed: str | None = None, region: str = "us-east-1", save_on_exit: bool = False,
        allow_remote: bool = False, verbose: bool = False) -> int:
    """Serve until SIGINT or SIGTERM; the ``python -m kmssim serve`` command.

    With ``scenario``, an existing file is loaded on start (``seed`` and ``region``
    then come from the file), and with ``save_on_exit`` the simulator is saved back to
    it on the way out. Returns the process exit status.
    """
    if save_on_exit and not scenario:
        print("kmssim: --save-on-exit needs --scenario FILE to save to.", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if scenario and Path(scenario).exists():
            kms = KMS.load(scenario)
            origin = f"loaded from {scenario}"
        else:
            kms = KMS(seed=_seed(seed), region=region)
            origin = "new" + (f", seed {seed}" if seed is not None else "")
        with serving(kms, host, port, allow_remote=allow_remote, verbose=verbose) as server:
            print(f"kmssim {__version__} serving KMS ({kms.region}, account {kms.account_id}, "
                  f"{origin}, simulated time {kms.now.isoformat()}) at {server.url}", flush=True)
            print(f"  try: aws --endpoint-url {server.url} kms list-keys", flush=True)
            while not stop.wait(0.5):
                pass
        if save_on_exit and scenario:
            kms.save(scenario)
            print(f"kmssim: saved the scenario to {scenario}", flush=True)
    except (KMSError, ValueError, OSError) as error:
        print(f"kmssim: {error}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _seed(seed: str | None) -> int | str | None:
    if seed is None:
        return None
    return int(seed) if seed.lstrip("-").isdigit() else seed


def environment_endpoint() -> str:
    """Where ``python -m kmssim advance`` finds the endpoint without ``--endpoint-url``."""
    return (os.environ.get("AWS_ENDPOINT_URL_KMS") or os.environ.get("AWS_ENDPOINT_URL")
            or f"http://127.0.0.1:{DEFAULT_PORT}")
