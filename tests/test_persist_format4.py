"""Scenario format 4 reads what the last release wrote: a committed format-3 fixture.

``tests/data/scenario-format-3.json`` is the rich scenario of `test_load_fuzz` as kmssim
saved it at commit aa0e33c (format 3); ``scenario-format-3.expected.json`` beside it holds
what that simulator held (CloudTrail records, key materials with a hash of each secret,
aliases, time) and the ciphertexts and MACs it made. (Its CloudTrail records' ``userIdentity``
is rendered in the shape kmssim gives it since branch grants, with ``principalId``,
``accessKeyId`` and ``userName``: the saved principals are unchanged, only the rendering.) Loading the fixture must give exactly
that, and so must saving it again (as format 4) and loading the result. Versions 2 and 1
are made from the fixture the way those versions wrote the same content.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from test_load_fuzz import all_decrypt

from kmssim import KMS
from kmssim.core import persist, schema

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "scenario-format-3.json"


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads((DATA / "scenario-format-3.expected.json").read_text())


def _made(expected: dict[str, Any]) -> tuple[list, list]:
    made = [({name: base64.b64decode(value) if name == "CiphertextBlob" else value
              for name, value in request.items()}, base64.b64decode(plaintext))
            for request, plaintext in expected["made"]]
    macs = [(key, base64.b64decode(message), base64.b64decode(mac))
            for key, message, mac in expected["macs"]]
    return made, macs


def _held(kms: KMS) -> dict[str, Any]:
    keys = {**kms._keys, **kms._deleted}
    return {
        "cloudtrail": json.loads(json.dumps(kms.trail.to_cloudtrail(), default=str)),
        "keys": {key_id: [[m.material_id, m.created.isoformat(), m.rotation_type,
                           hashlib.sha256(m.secret).hexdigest()] for m in key.materials]
                 for key_id, key in sorted(keys.items())},
        "aliases": [[name, key_id, created.isoformat(), updated.isoformat()]
                    for name, (key_id, created, updated) in kms._aliases.items()],
        "now": kms.now.isoformat(),
    }


def _check(kms: KMS, expected: dict[str, Any]) -> None:
    held = _held(kms)
    for member in ("cloudtrail", "keys", "aliases", "now"):
        assert held[member] == expected[member], member
    made, macs = _made(expected)
    disabled = {k for k in kms.key_ids() if kms._keys[k].state == "Disabled"}
    assert all_decrypt(kms, made, macs, disabled)


def test_the_fixture_is_a_format_3_file() -> None:
    data = json.loads(FIXTURE.read_text())
    assert data["version"] == 3 and set(data["trail"]) == {"values", "columns"}


def test_a_format_3_file_loads_exactly(expected) -> None:
    _check(KMS.load(FIXTURE), expected)


def test_a_format_3_file_saved_again_is_format_4_with_the_same_content(tmp_path, expected):
    old = KMS.load(FIXTURE)
    old.save(tmp_path / "v4.json")
    data = json.loads((tmp_path / "v4.json").read_text())
    assert data["version"] == persist.FORMAT_VERSION == 4
    assert (tmp_path / "v4.json").stat().st_size < FIXTURE.stat().st_size
    new = KMS.load(tmp_path / "v4.json")
    new.save(tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == (tmp_path / "v4.json").read_bytes()
    assert _held(new) == _held(old)
    _check(KMS.load(tmp_path / "v4.json"), expected)
    # Both continue the seeded random stream, the clock and the queue alike.
    key = old.key_ids()[0]
    for kms in (old, new):
        kms.advance(days=400)
    assert old.encrypt(KeyId=key, Plaintext=b"after") == new.encrypt(KeyId=key,
                                                                    Plaintext=b"after")
    assert _held(old) == _held(new)


def _older(version: int) -> dict[str, Any]:
    """The fixture's content as format ``version`` (1 or 2) wrote it."""
    data = json.loads(FIXTURE.read_text())
    data["version"] = version
    data["trail"] = list(schema.trail_rows(data["trail"]))   # one array per event
    if version == 1:       # no digest, no check values
        del data["digest"]
        for group in ("keys", "deleted"):
            for key in data[group]:
                key["materials"] = [m[:4] for m in key["materials"]]
    else:
        data["digest"] = persist.digest(data)
    return data


@pytest.mark.parametrize("version", [1, 2])
def test_versions_1_and_2_still_load(tmp_path, expected, version):
    path = tmp_path / f"v{version}.json"
    path.write_text(json.dumps(_older(version)))
    _check(KMS.load(path), expected)


def test_a_format_4_fleet_is_a_third_of_format_3(tmp_path):
    """What format 4 saves: each material id, time and ARN written once (format 3 wrote
    them in each key, and again in each RotateKey event's request)."""
    kms = KMS(seed=9)
    for _ in range(20):
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.advance(days=3652)
    kms.save(tmp_path / "fleet.json")
    data = json.loads((tmp_path / "fleet.json").read_text())
    # The same content as format 3 wrote it, from the same packed trail.
    values = data["values"]
    rows = list(schema.record_rows(data["trail"], values))
    as3_keys = []
    for key in data["keys"]:
        materials = schema.material_rows(key["materials"], values)
        as3_keys.append({**key, "materials": [
            [*row, schema.check_value(key["key_id"], row[0], base64.b64decode(row[3]))]
            for row in materials]})
    table: dict[str, int] = {}
    columns: list[list[int]] = [[] for _ in range(10)]
    for row in rows:
        for number, value in enumerate(row[1:]):
            columns[number].append(table.setdefault(json.dumps(value), len(table)))
    as3 = {**{k: v for k, v in data.items() if k != "values"}, "version": 3,
           "keys": as3_keys,
           "trail": {"values": [json.loads(text) for text in table], "columns": columns}}
    size3 = len(json.dumps(as3, separators=(",", ":")))
    size4 = (tmp_path / "fleet.json").stat().st_size
    assert size4 < size3 / 2.5, (size4, size3)
