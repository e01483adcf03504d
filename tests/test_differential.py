"""The optimized call path against the reference path, on seeded random call sequences.

Parameter checks run, on every call, through acceptors compiled from the model's rules
(`kmssim.core.params.compiled`); the interpreter of the same rules
(`reference_client_problems`, `reference_service_problems`) words the reports and is the
reference. Two simulators with the same seed get the same random sequence of valid and
invalid calls, one of them forced onto the reference path (`reference_path`); their
responses, errors, trails (as CloudTrail JSON) and saved scenarios must be identical.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kmssim import KMS
from kmssim.core import calls, params
from kmssim.core._model_shapes import OPERATIONS
from kmssim.core.errors import KMSError, ParamValidationError


@contextmanager
def reference_path() -> Iterator[None]:
    """Calls inside check their parameters with the interpreter alone."""
    saved = calls.client_problems, calls.service_problems
    calls.client_problems = params.reference_client_problems
    calls.service_problems = params.reference_service_problems
    calls.ACCEPTORS_ON = False
    calls.FAST_PATHS_ON = False
    try:
        yield
    finally:
        calls.client_problems, calls.service_problems = saved
        calls.ACCEPTORS_ON = True
        calls.FAST_PATHS_ON = True


# -- random values, valid and not ----------------------------------------------------------
_ODD = [None, True, 0, -1, 3.5, "", "x", "\ud800", "é" * 3, b"", b"\x00" * 5, bytearray(b"ab"),
        [], ["a"], ("t",), {}, {"a": "b"}, {"": "v"}, {"k": 1}, {1: "v"}, "A" * 9000,
        "alias/ok", "alias/bad name", "RSAES_OAEP_SHA_1", "HMAC_SHA_256", "AES_128", 10**30]


def _valid(rule: dict[str, Any], rng: random.Random) -> Any:
    kind = rule["type"]
    if "enum" in rule:
        return rng.choice(rule["enum"])
    if kind == "string":
        low = rule.get("min", 0)
        return "a" * rng.randint(low, max(low, min(rule.get("max", 8), 8)))
    if kind == "blob":
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    if kind in ("integer", "long"):
        low = rule.get("min", 0)
        return rng.randint(low, max(low, min(rule.get("max", 100), 100)))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "list":
        return [_valid(rule["member"], rng) for _ in range(rng.randint(1, 2))]
    if kind == "map":
        return {f"k{i}": f"v{i}" for i in range(rng.randint(0, 2))}
    if kind == "structure":
        return {name: _valid(sub, rng) for name, sub in rule["members"].items()
                if name in rule["required"] or rng.random() < 0.3}
    return None


def _mutated(request: dict[str, Any], rule: dict[str, Any], rng: random.Random) -> None:
    roll = rng.random()
    members = list(rule["members"])
    if roll < 0.15 and request:
        del request[rng.choice(list(request))]
    elif roll < 0.25:
        request[rng.choice(["PlainText", "keyid", "Extra"])] = rng.choice(_ODD)
    elif members:
        request[rng.choice(members)] = rng.choice(_ODD)


def _request(name: str, rng: random.Random, keys: list[str], blobs: list[bytes]) -> dict:
    rule = OPERATIONS[name]["rules"]
    request = _valid(rule, rng)
    for member in ("KeyId", "TargetKeyId", "DestinationKeyId", "SourceKeyId"):
        if member in request or (member in rule["members"] and member in rule["required"]):
            request[member] = rng.choice(keys)
    if "CiphertextBlob" in rule["members"] and blobs:
        request["CiphertextBlob"] = rng.choice(blobs)
    if "EncryptionContext" in request and rng.random() < 0.7:
        request["EncryptionContext"] = {"purpose": "test"}
    if name == "GenerateDataKey" and "KeySpec" in request and "NumberOfBytes" in request:
        del request[rng.choice(["KeySpec", "NumberOfBytes"])]
    if rng.random() < 0.35:
        _mutated(request, rule, rng)
    return request


_OPERATIONS = ["Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
               "ReEncrypt", "GenerateMac", "VerifyMac", "GenerateRandom", "DescribeKey",
               "CreateAlias", "DisableKey", "EnableKey", "ListAliases", "UpdateKeyDescription",
               "TagResource", "EnableKeyRotation", "RotateKeyOnDemand"]


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _outcome(kms: KMS, name: str, request: dict[str, Any], wire: bool = False) -> Any:
    try:
        if wire:  # as the HTTP endpoint calls: the service makes botocore's checks too
            with calls.received_over_the_wire():
                return ("ok", getattr(kms, _snake(name))(**request))
        return ("ok", getattr(kms, _snake(name))(**request))
    except ParamValidationError as error:
        return ("client", str(error))
    except KMSError as error:
        return ("service", error.code, error.message)


@pytest.mark.parametrize("seed", range(4))
def test_random_sequences_match_the_reference_path(seed: int, tmp_path: Path) -> None:
    fast, slow = KMS(seed=seed), KMS(seed=seed)
    rng = random.Random(seed)
    keys: list[str] = ["alias/missing", "not-a-key"]
    blobs: list[bytes] = [b"\x01" * 80]
    for spec in (None, "HMAC_256"):
        extra = {"KeySpec": spec, "KeyUsage": "GENERATE_VERIFY_MAC"} if spec else {}
        made = fast.create_key(**extra)["KeyMetadata"]
        with reference_path():
            assert slow.create_key(**extra)["KeyMetadata"] == made
        keys += [made["KeyId"], made["Arn"]]
    for step in range(1500):
        name = rng.choice(_OPERATIONS)
        request = _request(name, rng, keys, blobs)
        wire = rng.random() < 0.3
        ours = _outcome(fast, name, dict(request), wire)
        with reference_path():
            theirs = _outcome(slow, name, dict(request), wire)
        assert repr(ours) == repr(theirs), (step, name, request)
        if name == "CreateAlias" and ours[0] == "ok":
            keys.append(request["AliasName"])
        if ours[0] == "ok" and "CiphertextBlob" in ours[1]:
            blobs.append(ours[1]["CiphertextBlob"])
        if step % 97 == 0:
            days = rng.randint(1, 120)
            fast.advance(days=days)
            slow.advance(days=days)
    assert json.dumps(fast.trail.to_cloudtrail()) == json.dumps(slow.trail.to_cloudtrail())
    fast.save(tmp_path / "fast.json")
    slow.save(tmp_path / "slow.json")
    assert (tmp_path / "fast.json").read_bytes() == (tmp_path / "slow.json").read_bytes()


@pytest.mark.parametrize("seed", range(3))
def test_acceptors_agree_with_the_interpreter(seed: int) -> None:
    """Every operation's compiled acceptor passes exactly the requests the interpreter
    finds no problem in, on the client, the service, and the service over the wire."""
    rng = random.Random(1000 + seed)
    for name, entry in OPERATIONS.items():
        rule = entry["rules"]
        for _ in range(60):
            request = _valid(rule, rng)
            if rng.random() < 0.6:
                _mutated(request, rule, rng)
            assert params.client_problems(rule, request) == \
                params.reference_client_problems(rule, request), (name, request)
            for checked in (True, False):
                assert params.service_problems(rule, request, client_checked=checked) == \
                    params.reference_service_problems(rule, request,
                                                      client_checked=checked), (name, request)
