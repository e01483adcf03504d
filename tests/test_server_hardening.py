"""The HTTP endpoint under bursts and hostile input (issue 10, items 6, 7 and 8).

Bounded: a few bursts of 100 simultaneous connections, and a list of malformed and
oversized requests; each must get its answer (400 for what is malformed), nothing may
reach stderr as a traceback, and the server must answer normally afterwards.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from kmssim import KMS
from kmssim.aws.protocol import MAX_BODY_BYTES, UNKNOWN_VALUE
from kmssim.aws.server import BACKLOG, serving


@pytest.fixture
def served() -> Iterator[tuple[KMS, str, int]]:
    kms = KMS(seed=6)
    with serving(kms) as server:
        host, port = server.server_address[:2]
        yield kms, host, port


def raw(host: str, port: int, data: bytes, *, half_close: bool = False,
        timeout: float = 10) -> tuple[int, dict]:
    """Send ``data`` as is on a new connection; return the status and JSON body."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(data)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < _length(reply):
            chunk = connection.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _length(reply: bytes) -> int:
    for line in reply.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def post(target: str, body: bytes, *, host: str = "127.0.0.1", extra: str = "",
         length: int | None = None) -> bytes:
    size = len(body) if length is None else length
    return (f"POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: {target}\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: {size}\r\n{extra}"
            "Connection: close\r\n\r\n").encode() + body


def list_keys(host: str, port: int) -> tuple[int, dict]:
    return raw(host, port, post("TrentService.ListKeys", b"{}"))


def test_the_listen_backlog_is_a_real_one(served):
    assert BACKLOG >= 128


def test_bursts_of_100_simultaneous_connections_get_no_resets(served):
    kms, host, port = served
    kms.create_key()
    outcomes: list[object] = []
    lock = threading.Lock()
    for _ in range(3):
        start = threading.Barrier(100)

        def client() -> None:
            try:
                start.wait(20)
                result: object = list_keys(host, port)[0]
            except (OSError, threading.BrokenBarrierError) as error:
                result = type(error).__name__
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=client) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    failures = [o for o in outcomes if o != 200]
    print(f"\n300 connections in 3 bursts of 100: {len(failures)} failed {failures[:5]}")
    assert len(outcomes) == 300 and failures == []


DEEP = b'{"KeyId": "x", "Bogus": ' + b"[" * 600 + b"]" * 600 + b"}"
MALFORMED = [
    ("int-over-4300-digits", post("TrentService.ListKeys", b'{"Limit": ' + b"9" * 5000 + b"}"),
     "SerializationException"),
    ("nested-600-deep", post("TrentService.DescribeKey", DEEP), "SerializationException"),
    ("nested-5000-deep", post("TrentService.DescribeKey", b"[" * 5000 + b"]" * 5000),
     "SerializationException"),
    ("nan", post("TrentService.ListKeys", b'{"Limit": NaN}'), "SerializationException"),
    ("oversized-length", post("TrentService.ListKeys", b"{}", length=MAX_BODY_BYTES + 1),
     "ValidationException"),
    ("oversized-body", post("TrentService.CreateKey",
                            json.dumps({"Description": "x" * MAX_BODY_BYTES}).encode()),
     "ValidationException"),
    ("two-content-lengths", post("TrentService.CreateKey", b"{}",
                                 extra="Content-Length: 2\r\n"), "ValidationException"),
    ("signed-content-length", post("TrentService.CreateKey", b"{}", length=0).replace(
        b"Content-Length: 0", b"Content-Length: +2"), "ValidationException"),
    ("superscript-marker", post("TrentService.ListKeys", '{"Marker": "kmssim:²"}'.encode()),
     "InvalidMarkerException"),
    ("not-utf8", post("TrentService.ListKeys", b'{"Marker": "\xff"}'), "SerializationException"),
]


@pytest.mark.parametrize("name, request_bytes, code", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_and_oversized_requests_get_400s_and_the_server_carries_on(
        served, capfd, name, request_bytes, code):
    kms, host, port = served
    status, body = raw(host, port, request_bytes)
    assert (status, body["__type"]) == (400, code) and body["message"]
    assert kms.key_ids() == []          # nothing was created by a refused request
    assert list_keys(host, port) == (200, {"Keys": [], "Truncated": False})
    assert "Traceback" not in capfd.readouterr().err


def test_a_body_shorter_than_its_content_length_is_never_executed(served):
    kms, host, port = served
    body = json.dumps({"Description": "x" * 180}).encode()
    assert len(body) >= 200 - 20
    status, answer = raw(host, port, post("TrentService.CreateKey", body[:25], length=200),
                         half_close=True)
    assert (status, answer["__type"]) == (400, "ValidationException")
    assert "25 of the 200 bytes" in answer["message"]
    assert kms.key_ids() == [] and len(kms.trail) == 0
    assert list_keys(host, port)[0] == 200


@pytest.mark.parametrize("host_header, allowed", [
    ("127.0.0.1", True), ("127.0.0.1:4599", True), ("localhost", True),
    ("LOCALHOST:80", True), ("[::1]", True), ("[::1]:4599", True),
    ("evil.example", False), ("evil.example:4599", False), ("127.0.0.1.evil.example", False),
    ("localhost@evil.example", False), ("", False),
])
def test_only_loopback_host_names_are_served(served, host_header, allowed):
    kms, host, port = served
    status, answer = raw(host, port, post("TrentService.CreateKey", b"{}", host=host_header))
    if allowed:
        assert status == 200
    else:
        assert (status, answer["__type"]) == (403, "AccessDeniedException")
        assert kms.key_ids() == []
    get = f"GET / HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n".encode()
    assert raw(host, port, get)[0] == (200 if allowed else 403)


def test_unknown_members_over_http_are_recorded_by_name_only(served):
    kms, host, port = served
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    body = json.dumps({"KeyId": key_id, "PlainText": "4111 1111 1111 1111"}).encode()
    status, answer = raw(host, port, post("TrentService.Encrypt", body))
    assert (status, answer["__type"]) == (400, "ValidationException")
    event = kms.trail[-1]
    assert event.name == "Encrypt" and event.request["plainText"] == UNKNOWN_VALUE
    assert "4111" not in json.dumps(kms.trail.to_cloudtrail())


# The server reads headers itself (not with the email package): what it refuses, and
# that it still finds names whatever their case.
HEADER_CASES = [
    ("folded-line", post("TrentService.ListKeys", b"{}", extra="X-Note: a\r\n b\r\n"), 400),
    ("no-colon", post("TrentService.ListKeys", b"{}", extra="Just words\r\n"), 400),
    ("space-before-colon", post("TrentService.ListKeys", b"{}", extra="X-Note : a\r\n"), 400),
    ("101-headers", post("TrentService.ListKeys", b"{}",
                         extra="".join(f"X-H{n}: v\r\n" for n in range(97))), 431),
    ("line-too-long", post("TrentService.ListKeys", b"{}", extra=f"X-Long: {'a' * 70000}\r\n"),
     431),
]


@pytest.mark.parametrize("name, request_bytes, status", HEADER_CASES,
                         ids=[case[0] for case in HEADER_CASES])
def test_malformed_header_sections_are_refused_and_the_server_carries_on(
        served, capfd, name, request_bytes, status):
    kms, host, port = served
    answer = raw(host, port, request_bytes)
    assert answer[0] == status and answer[1]["message"]
    assert list_keys(host, port) == (200, {"Keys": [], "Truncated": False})
    assert "Traceback" not in capfd.readouterr().err


def test_header_names_are_found_whatever_their_case(served):
    kms, host, port = served
    request = (b"POST / HTTP/1.1\r\nHOST: 127.0.0.1\r\nx-amz-target: TrentService.CreateKey\r\n"
               b"content-length: 2\r\nCONNECTION: close\r\n\r\n{}")
    assert raw(host, port, request)[0] == 200
    assert len(kms.key_ids()) == 1
    # 100 header lines are allowed: the limit is on the 101st.
    many = post("TrentService.ListKeys", b"{}",
                extra="".join(f"X-H{n}: v\r\n" for n in range(95)))
    assert raw(host, port, many)[0] == 200


@pytest.mark.parametrize("line", [b"POST / HTTP/2.0", b"POST / HTTP/1.x", b"POST / HTTP/1.1 x",
                                  b"POST /"], ids=["http-2", "bad-version", "four-words",
                                                   "0.9-post"])
def test_a_bad_request_line_gets_an_error_and_the_server_carries_on(served, capfd, line):
    """As http.server does, a request line it cannot take as HTTP/1.x is answered with
    the bare error body (no status line: the client may speak HTTP/0.9), then closed."""
    kms, host, port = served
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(line + b"\r\nHost: 127.0.0.1\r\n\r\n")
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    assert json.loads(reply)["__type"] == "ValidationException"
    assert list_keys(host, port) == (200, {"Keys": [], "Truncated": False})
    assert "Traceback" not in capfd.readouterr().err
