"""Replay recorded real-AWS KMS scenarios (`corpus.py`) through a real boto3 client
answered by kmssim in process, and compare: error code and exact message, or the
response's keys, values and value types.

Run as a script (``python tests/parity/test_parity.py``) it prints how many scenarios
match and how each of the others differs, without stopping at the first.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).parent))
from corpus import SCENARIOS  # noqa: E402

import kmssim  # noqa: E402
from kmssim import bridge  # noqa: E402

REGION, OTHER_REGION, ACCOUNT = "us-east-1", "ap-southeast-1", "111122223333"
FIXED = {"region": REGION, "other_region": OTHER_REGION, "account": ACCOUNT,
         "alias_name_without_prefix": "parity-alias"}
#: Stand-ins of the recordings for "some bytes" (blobs whose value was not recorded).
BLOBS = {"ciphertext-blob", "plaintext", "<mac>", "<signature>", "public-key", "shared-secret",
         "private-key-ciphertext-blob", "private-key-plaintext"}
MATERIAL_IDS = {"key-material-id", "<key_material_id>"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_PLACEHOLDER = re.compile(r"<([a-z_]+)>")


def _fill(value: Any, ctx: dict[str, Any]) -> Any:
    """``value`` with its placeholders replaced by what setup saved."""
    if isinstance(value, dict):
        if "$bytes" in value:
            return value["$bytes"].encode() * value.get("$times", 1)
        return {k: _fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in ctx:
            return ctx[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(ctx.get(m.group(1), m.group(0))), value)
    return value


def _get(response: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        response = response[part]
    return response


def _clients(validation: bool) -> dict[str, Any]:
    config = Config(retries={"total_max_attempts": 1}, parameter_validation=validation)
    return {name: bridge.client(kmssim.KMS(seed=seed, region=region), config=config)
            for name, seed, region in (("main", 1, REGION), ("other_region", 2, OTHER_REGION))}


def _setup(scenario: dict[str, Any], clients: dict[str, Any]) -> dict[str, Any]:
    ctx = dict(FIXED)
    for step in scenario["setup"]:
        if step[0] == "$strip_header":
            ctx[step[2]] = ctx[step[1]][kmssim.core.HEADER_SIZE:]
            continue
        if step[0] == "$append":
            ctx[step[2]] = ctx[step[1]] + step[3].encode()
            continue
        op, params, saves = step[:3]
        client = clients[step[3] if len(step) > 3 and step[3] else "main"]
        for _ in range(step[4] if len(step) > 4 else 1):
            response = getattr(client, botocore.xform_name(op))(**_fill(params, ctx))
        for name, path in saves.items():
            ctx[name] = _get(response, path)
    return ctx


def _compare(expected: Any, actual: Any, ctx: dict[str, Any], where: str) -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        if set(expected) != set(actual):
            return [f"{where}: keys {sorted(actual)} != recorded {sorted(expected)}"]
        return [d for k in expected for d in _compare(expected[k], actual[k], ctx, f"{where}.{k}")]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} entries, got {actual!r}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for d in _compare(e, a, ctx, f"{where}[{i}]")]
    if expected == "datetime":
        return [] if isinstance(actual, datetime) else [f"{where}: {actual!r} is no timestamp"]
    if expected in BLOBS:
        return [] if isinstance(actual, bytes) else [f"{where}: {actual!r} is no blob"]
    if expected in MATERIAL_IDS:
        ok = isinstance(actual, str) and _HEX64.match(actual)
        return [] if ok else [f"{where}: {actual!r} is no key material id"]
    if isinstance(expected, str) and (alt := re.fullmatch(r"<([a-z_]+)\|([a-z_]+)>", expected)):
        allowed = (ctx[alt.group(1)], ctx[alt.group(2)])
        return [] if actual in allowed else [f"{where}: {actual!r} not in {allowed}"]
    wanted = _fill(expected, ctx)
    if type(wanted) is not type(actual) or wanted != actual:
        return [f"{where}: {actual!r} != recorded {wanted!r}"]
    return []


def replay(scenario: dict[str, Any]) -> list[str]:
    """The differences between kmssim's answer and the recording (empty: it matches)."""
    clients = _clients(scenario["client_validation"])
    ctx = _setup(scenario, clients)
    method = getattr(clients["main"], botocore.xform_name(scenario["operation"]))
    expected = scenario["expected"]
    try:
        response = method(**_fill(scenario["request"], ctx))
    except ClientError as error:
        got = error.response["Error"]
        if "error" not in expected:
            return [f"error {got['Code']}: {got['Message']!r}, recorded a response"]
        want = {"Code": expected["error"]["Code"],
                "Message": _fill(expected["error"]["Message"], ctx)}
        diffs = []
        if got["Code"] != want["Code"]:
            diffs.append(f"code {got['Code']} != recorded {want['Code']}")
        if got.get("Message", "") != want["Message"]:
            diffs.append(f"message {got.get('Message', '')!r} != recorded {want['Message']!r}")
        return diffs
    if "error" in expected:
        return [f"succeeded, recorded {expected['error']['Code']}"]
    response.pop("ResponseMetadata", None)
    if scenario["operation"] == "CreateKey":   # the key the request itself made
        ctx.update(key_id=response["KeyMetadata"]["KeyId"], key_arn=response["KeyMetadata"]["Arn"])
    wanted = expected["response"]
    if "only" in expected:
        response = {k: response[k] for k in expected["only"] if k in response}
    for extra in scenario.get("model_newer_keys", ()):
        if extra not in wanted:
            response.pop(extra, None)
    return _compare(wanted, response, ctx, "response")


def test_corpus_is_large_enough_and_cited() -> None:
    assert len(SCENARIOS) >= 45
    assert len({s["id"] for s in SCENARIOS}) == len(SCENARIOS)
    for scenario in SCENARIOS:
        source = scenario["source"]
        assert source.get("repo") or source.get("url"), scenario["id"]
        assert source.get("commit") or source.get("recorded_date") or source.get("url") \
            or source.get("date") or source.get("version"), scenario["id"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_kmssim_answers_as_aws_did(scenario: dict[str, Any]) -> None:
    assert replay(scenario) == []


if __name__ == "__main__":
    failed = 0
    for scenario in SCENARIOS:
        try:
            diffs = replay(scenario)
        except Exception as error:  # noqa: BLE001 - a report, not a test
            diffs = [f"setup failed: {type(error).__name__}: {error}"]
        if diffs:
            failed += 1
            print(f"DIFF {scenario['id']}: " + "; ".join(diffs))
    print(f"{len(SCENARIOS) - failed}/{len(SCENARIOS)} scenarios match")
