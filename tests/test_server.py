"""The HTTP endpoint: the real AWS CLI against ``python -m kmssim serve``, malformed
requests, concurrent clients, loopback-only binding, saving on exit."""

from __future__ import annotations

import base64
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from kmssim import KMS
from kmssim.aws.server import is_loopback, make_server, serving

START = 1704067200.0   # 2024-01-01T00:00:00Z, where a simulator's clock starts
DAY = 86400.0


# -- a served simulator in a child process ---------------------------------------------
def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="", TZ="UTC", **extra)
    return env


@contextmanager
def kmssim_serve(*args: str) -> Iterator[str]:
    """Run ``python -m kmssim serve --port 0 …``; yield its URL; stop it with SIGTERM."""
    proc = subprocess.Popen([sys.executable, "-m", "kmssim", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env())
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        line = proc.stdout.readline() if ready else ""
        assert " at http://127.0.0.1:" in line, (line, proc.poll())
        yield line.rsplit(" at ", 1)[1].strip()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        proc.stdout.close()
        proc.stderr.close()


def aws(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real AWS CLI (awscli from PyPI), as a learner would run it."""
    return subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", url, "kms", *args],
                          capture_output=True, text=True, env=clean_env(), cwd=cwd, timeout=60)


def test_the_aws_cli_creates_rotates_lists_encrypts_and_decrypts(tmp_path):
    scenario = tmp_path / "workshop.json"
    with kmssim_serve("--seed", "1", "--scenario", str(scenario), "--save-on-exit") as url:
        created = aws(url, "create-key", "--description", "orders", cwd=tmp_path)
        assert created.returncode == 0, created.stderr
        meta = json.loads(created.stdout)["KeyMetadata"]
        assert (meta["KeyState"], meta["Description"], meta["CreationDate"]) == \
            ("Enabled", "orders", START)
        key_id = meta["KeyId"]

        enabled = aws(url, "enable-key-rotation", "--key-id", key_id,
                      "--rotation-period-in-days", "90", cwd=tmp_path)
        assert (enabled.returncode, enabled.stdout) == (0, "")

        advanced = subprocess.run([sys.executable, "-m", "kmssim", "advance", "--days", "200"],
                                  capture_output=True, text=True, timeout=60,
                                  env=clean_env(AWS_ENDPOINT_URL=url))
        assert advanced.returncode == 0, advanced.stderr
        moved = json.loads(advanced.stdout)
        assert moved["Now"] == "2024-07-19T00:00:00+00:00"
        assert [(e["EventName"], e["EventTime"]) for e in moved["Events"]] == [
            ("RotateKey", "2024-03-31T00:00:00+00:00"), ("RotateKey", "2024-06-29T00:00:00+00:00")]

        status = aws(url, "get-key-rotation-status", "--key-id", key_id, cwd=tmp_path)
        assert json.loads(status.stdout) == {
            "KeyRotationEnabled": True, "KeyId": meta["Arn"], "RotationPeriodInDays": 90,
            "NextRotationDate": START + 270 * DAY}

        listed = aws(url, "list-key-rotations", "--key-id", key_id, cwd=tmp_path)
        rotations = json.loads(listed.stdout)["Rotations"]
        assert [(r["RotationDate"], r["RotationType"], r["KeyMaterialState"])
                for r in rotations] == [(START + 90 * DAY, "AUTOMATIC", "NON_CURRENT"),
                                        (START + 180 * DAY, "AUTOMATIC", "CURRENT")]

        (tmp_path / "note.txt").write_bytes(b"meet at noon")
        sealed = aws(url, "encrypt", "--key-id", key_id, "--plaintext", "fileb://note.txt",
                     "--query", "CiphertextBlob", "--output", "text", cwd=tmp_path)
        assert sealed.returncode == 0, sealed.stderr
        (tmp_path / "note.enc").write_bytes(base64.b64decode(sealed.stdout))
        opened = aws(url, "decrypt", "--ciphertext-blob", "fileb://note.enc", cwd=tmp_path)
        answer = json.loads(opened.stdout)
        assert base64.b64decode(answer["Plaintext"]) == b"meet at noon"
        assert (answer["KeyId"], answer["KeyMaterialId"]) == \
            (meta["Arn"], rotations[-1]["KeyMaterialId"])

        missing = aws(url, "describe-key", "--key-id", "alias/missing", cwd=tmp_path)
        assert missing.returncode == 255 and missing.stdout == ""
        assert missing.stderr.strip() == (
            "An error occurred (NotFoundException) when calling the DescribeKey operation: "
            "Alias arn:aws:kms:us-east-1:111122223333:alias/missing is not found.")
    assert scenario.exists()

    # The saved scenario comes back on the next start, clock included.
    with kmssim_serve("--scenario", str(scenario)) as url:
        request = urllib.request.Request(url, data=b"{}",
                                         headers={"X-Amz-Target": "KmsSim.Now"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert json.loads(reply.read())["Now"] == START + 200 * DAY
        client = boto3.client("kms", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        assert client.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "orders"
        client.close()


def test_serve_refuses_a_non_loopback_address_and_advance_reports_no_endpoint():
    refused = subprocess.run([sys.executable, "-m", "kmssim", "serve", "--host", "0.0.0.0"],
                             capture_output=True, text=True, timeout=60, env=clean_env())
    assert refused.returncode == 1 and "--allow-remote" in refused.stderr
    with socket.socket() as probe:        # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lost = subprocess.run([sys.executable, "-m", "kmssim", "advance", "--days", "1",
                           "--endpoint-url", f"http://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=60, env=clean_env())
    assert lost.returncode == 255 and "Could not connect" in lost.stderr


def test_only_loopback_hosts_are_accepted_without_allow_remote():
    kms = KMS()
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    assert not is_loopback("no-such-host.invalid")
    for host in ("0.0.0.0", "", "192.0.2.1"):
        with pytest.raises(ValueError, match="allow-remote"):
            make_server(kms, host)
    server = make_server(kms, "localhost")
    server.server_close()


# -- malformed HTTP ---------------------------------------------------------------------
@pytest.fixture
def served() -> Iterator[tuple[KMS, str, int]]:
    kms = KMS(seed=4)
    with serving(kms) as server:
        host, port = server.server_address[:2]
        yield kms, host, port


def exchange(host: str, port: int, method: str, body: bytes = b"",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.putrequest(method, "/")
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        connection.close()


@pytest.mark.parametrize("method, body, headers, status, code", [
    ("POST", b"{oops", {"X-Amz-Target": "TrentService.ListKeys", "Content-Length": "5"},
     400, "SerializationException"),
    ("POST", b"{}", {"Content-Length": "2"}, 400, "UnknownOperationException"),
    ("POST", b"{}", {"X-Amz-Target": "TrentService.Nope", "Content-Length": "2"},
     400, "UnknownOperationException"),
    ("POST", b"", {"X-Amz-Target": "TrentService.ListKeys", "Content-Length": "99999999"},
     400, "ValidationException"),
    ("POST", b"", {"X-Amz-Target": "TrentService.ListKeys", "Content-Length": "many"},
     400, "ValidationException"),
    ("POST", b"2\r\n{}\r\n0\r\n\r\n",
     {"X-Amz-Target": "TrentService.ListKeys", "Transfer-Encoding": "chunked"},
     411, "ValidationException"),
    ("DELETE", b"", {}, 405, "UnknownOperationException"),
    ("BREW", b"", {}, 501, "UnknownOperationException"),
])
def test_malformed_requests_get_aws_shaped_errors_and_the_server_carries_on(
        served, method, body, headers, status, code):
    kms, host, port = served
    answer = exchange(host, port, method, body, headers)
    assert answer[0] == status
    assert answer[1]["__type"] == code and answer[1]["message"]
    ok = exchange(host, port, "POST", b"{}", {"X-Amz-Target": "TrentService.ListKeys",
                                              "Content-Length": "2"})
    assert ok == (200, {"Keys": [], "Truncated": False})


def test_garbage_instead_of_http_does_not_stop_the_server(served):
    kms, host, port = served
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        assert b"ValidationException" in raw.recv(4096)
    assert exchange(host, port, "GET")[1]["Service"] == "kmssim"


# -- concurrency ------------------------------------------------------------------------
def test_concurrent_clients_leave_a_consistent_simulator(served):
    kms, host, port = served
    url = f"http://{host}:{port}"
    keys = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2)]
    for key_id in keys:
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    workers, rounds = 4, 25
    clients = [boto3.client("kms", endpoint_url=url, region_name="us-east-1",
                            aws_access_key_id="x", aws_secret_access_key="x",
                            config=Config(retries={"total_max_attempts": 1}))
               for _ in range(workers)]
    sealed: dict[str, tuple[bytes, bytes]] = {}
    failures: list[BaseException] = []
    before = len(kms.trail)

    def work(n: int) -> None:
        try:
            for i in range(rounds):
                tag, plaintext = f"{n}-{i}", os.urandom(24)
                blob = clients[n].encrypt(KeyId=keys[i % 2], Plaintext=plaintext,
                                          EncryptionContext={"call": tag})["CiphertextBlob"]
                opened = clients[n].decrypt(CiphertextBlob=blob,
                                            EncryptionContext={"call": tag})
                assert opened["Plaintext"] == plaintext
                sealed[tag] = (blob, plaintext)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    def move_time() -> None:
        for _ in range(4):
            request = urllib.request.Request(url, data=b'{"Days": 30}',
                                             headers={"X-Amz-Target": "KmsSim.Advance"})
            with urllib.request.urlopen(request, timeout=10) as reply:
                assert reply.status == 200

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    threads += [threading.Thread(target=move_time) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for client in clients:
        client.close()
    assert not failures, failures
    assert len(sealed) == workers * rounds
    # Eight concurrent steps of 30 days add up to 240: rotations at days 90 and 180.
    assert kms.now.timestamp() == START + 240 * DAY
    assert len(kms.history(KeyId=keys[0]).versions) == 3

    # Every call is in the trail exactly once, and the trail is in order.
    events = list(kms.trail)
    calls = Counter((e.name, e.request["encryptionContext"]["call"]) for e in events[before:]
                    if e.event_type == "AwsApiCall")
    assert calls == Counter({(name, tag): 1 for tag in sealed for name in ("Encrypt", "Decrypt")})
    assert [e.sequence for e in events] == list(range(len(events)))
    assert all(a.time <= b.time for a, b in zip(events, events[1:], strict=False))
    # Every ciphertext decrypts, whichever key material was current when it was made.
    for tag, (blob, plaintext) in sealed.items():
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"call": tag})["Plaintext"] \
            == plaintext
