"""HTTP/1.1 keep-alive on the endpoint: many requests on one connection, each answered
in a single write, and an idle connection closed by the server after its timeout."""

from __future__ import annotations

import http.client
import json
import socket
import time

from kmssim import KMS
from kmssim.aws import server as server_module
from kmssim.aws.server import serving

_HEADERS = {"X-Amz-Target": "TrentService.ListKeys",
            "Content-Type": "application/x-amz-json-1.1"}


def test_many_requests_share_one_connection() -> None:
    accepted = []
    with serving(KMS(seed=7)) as server:
        original = server.process_request

        def counting(request, client_address):  # type: ignore[no-untyped-def]
            accepted.append(client_address)
            return original(request, client_address)

        server.process_request = counting  # type: ignore[method-assign]
        host, port = server.server_address[:2]
        connection = http.client.HTTPConnection(host, port, timeout=10)
        for _ in range(5):
            connection.request("POST", "/", body=b"{}", headers=_HEADERS)
            response = connection.getresponse()
            assert response.status == 200
            assert response.getheader("Connection") != "close"
            assert "Keys" in json.loads(response.read())
        connection.close()
    assert len(accepted) == 1


def test_a_response_is_one_write_of_headers_and_body() -> None:
    with serving(KMS(seed=7)) as server:
        host, port = server.server_address[:2]
        with socket.create_connection((host, port), timeout=10) as connection:
            connection.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               b"X-Amz-Target: TrentService.ListKeys\r\n"
                               b"Content-Length: 2\r\n\r\n{}")
            time.sleep(0.3)  # the whole answer is there at once, not headers first
            reply = connection.recv(65536)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert "Keys" in json.loads(body)


def test_an_idle_connection_is_closed_after_the_timeout(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(server_module._Handler, "timeout", 0.5)
    with serving(KMS(seed=7)) as server:
        host, port = server.server_address[:2]
        with socket.create_connection((host, port), timeout=10) as connection:
            started = time.monotonic()
            assert connection.recv(1) == b""   # the server hung up on the idle connection
            assert time.monotonic() - started < 5
