"""Saving and loading a scenario: a loaded simulator continues exactly as the saved one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmssim import KMS
from kmssim.core.errors import (
    CorruptScenarioError, NotFoundException, ParamValidationError, ValidationException,
)
from kms_support import new_key, saved_state, utc


def build(kms: KMS) -> dict[str, object]:
    """A scenario with rotations, a pending deletion, a deleted key, aliases, disabled
    keys and on-demand rotations; returns what later steps need."""
    rotating, pending, gone, disabled = (new_key(kms) for _ in range(4))
    kms.create_alias(AliasName="alias/app", TargetKeyId=rotating)
    kms.enable_key_rotation(KeyId=rotating, RotationPeriodInDays=90)
    kms.rotate_key_on_demand(KeyId=rotating)
    blob = kms.encrypt(KeyId="alias/app", Plaintext=b"old", EncryptionContext={"a": "1"})
    kms.schedule_key_deletion(KeyId=gone, PendingWindowInDays=7)
    kms.advance(days=100)
    kms.schedule_key_deletion(KeyId=pending, PendingWindowInDays=20)
    kms.disable_key(KeyId=disabled)
    kms.describe_key(KeyId="alias/aws/s3")
    with kms.acting_as("alice"):
        kms.encrypt(KeyId=rotating, Plaintext=b"by alice")
    return {"rotating": rotating, "pending": pending, "gone": gone, "disabled": disabled,
            "blob": blob["CiphertextBlob"]}


def carry_on(kms: KMS, keys: dict[str, object]) -> list[object]:
    """What happens next, as data: new ids, blobs, data keys, events and their times."""
    out: list[object] = [new_key(kms)]
    out.append(kms.encrypt(KeyId="alias/app", Plaintext=b"new")["CiphertextBlob"])
    out.append(bytes(kms.generate_data_key(KeyId=keys["rotating"], KeySpec="AES_256")["Plaintext"]))
    out.append(kms.decrypt(CiphertextBlob=keys["blob"], EncryptionContext={"a": "1"})["Plaintext"])
    out += [(e.name, e.key_id, e.time, e.current_material_id) for e in kms.advance(days=400)]
    kms.enable_key(KeyId=keys["disabled"])
    out.append(kms.rotate_key_on_demand(KeyId=keys["disabled"]))
    out.append([e.to_cloudtrail() for e in kms.trail])
    return out


def test_loaded_scenario_continues_exactly_like_the_original(tmp_path: Path) -> None:
    original = KMS(seed=21, start=utc(2023, 6, 1))
    keys = build(original)
    original.save(tmp_path / "scenario.json")
    loaded = KMS.load(tmp_path / "scenario.json")
    assert repr(loaded) == repr(original)
    assert loaded.next_event_time() == original.next_event_time()
    assert carry_on(loaded, keys) == carry_on(original, keys)
    assert saved_state(loaded, tmp_path / "a.json") == saved_state(original, tmp_path / "b.json")


def test_loaded_scenario_keeps_keys_states_aliases_and_history(tmp_path: Path) -> None:
    kms = KMS(seed=22)
    keys = build(kms)
    kms.save(tmp_path / "s.json")
    loaded = KMS.load(tmp_path / "s.json")
    for key in (keys["rotating"], keys["pending"], keys["disabled"]):
        assert loaded.describe_key(KeyId=key) == kms.describe_key(KeyId=key)
        assert loaded.history(key) == kms.history(key)
    assert loaded.history(keys["gone"]) == kms.history(keys["gone"])
    with pytest.raises(NotFoundException):
        loaded.decrypt(CiphertextBlob=loaded.encrypt(KeyId=keys["rotating"], Plaintext=b"x")[
            "CiphertextBlob"], KeyId=keys["gone"])
    assert loaded.list_aliases() == kms.list_aliases()
    assert loaded.principal == kms.principal
    assert len(loaded.trail) == len(kms.trail) + 2


def test_loaded_scenario_remembers_on_demand_rotations_used(tmp_path: Path) -> None:
    kms = KMS(seed=23)
    key = new_key(kms)
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key)
    kms.save(tmp_path / "s.json")
    with pytest.raises(Exception) as raised:
        KMS.load(tmp_path / "s.json").rotate_key_on_demand(KeyId=key)
    assert raised.value.code == "LimitExceededException"


@pytest.mark.parametrize("seed", [None, 7, "lesson-3", b"\x00\xff"])
def test_every_kind_of_seed_survives_a_round_trip(tmp_path: Path, seed) -> None:
    kms = KMS(seed=seed)
    key = new_key(kms)
    kms.save(tmp_path / "s.json")
    loaded = KMS.load(tmp_path / "s.json")
    assert loaded.entropy.seed == seed
    if seed is not None:
        assert loaded.encrypt(KeyId=key, Plaintext=b"x") == kms.encrypt(KeyId=key, Plaintext=b"x")


def test_save_replaces_the_file_atomically_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    kms = KMS(seed=24)
    target = tmp_path / "s.json"
    target.write_text("an older scenario")
    new_key(kms)
    kms.save(target)
    kms.save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
    assert json.loads(target.read_text())["format"] == "kmssim-scenario"


def test_save_works_after_calls_that_failed_on_odd_arguments(tmp_path: Path) -> None:
    kms = KMS(seed=25)
    key = new_key(kms)
    for bad in (b"bytes-key-id", object(), ("a", "b"), {1: "x"}):
        with pytest.raises(ParamValidationError):
            kms.describe_key(KeyId=bad)
    with pytest.raises(ParamValidationError):
        kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={("a",): "b"})
    with pytest.raises(ValidationException):        # reaches the service, and the trail
        kms.describe_key(KeyId="k" * 2049)
    kms.save(tmp_path / "s.json")
    loaded = KMS.load(tmp_path / "s.json")
    assert len(loaded.trail) == len(kms.trail)
    assert [e.to_cloudtrail() for e in loaded.trail] == [e.to_cloudtrail() for e in kms.trail]


def _damage(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("damage", [
    lambda p: p.write_text("{ not json"),
    lambda p: p.write_text(p.read_text()[: len(p.read_text()) // 2]),
    lambda p: p.write_bytes(b"\xff\xfe\x00garbage"),
    lambda p: p.write_text("[]"),
    lambda p: p.write_text("{}"),
    lambda p: _damage(p, lambda d: d.update(format="something-else")),
    lambda p: _damage(p, lambda d: d.update(version=99)),
    lambda p: _damage(p, lambda d: d.pop("keys")),
    lambda p: _damage(p, lambda d: d.update(now="yesterday")),
    lambda p: _damage(p, lambda d: d["keys"][0].update(materials=[])),
    lambda p: _damage(p, lambda d: d["keys"][0].update(materials="abc")),
    lambda p: _damage(p, lambda d: d["aliases"].append(["alias/x", "no-such-key", None, None])),
    lambda p: _damage(p, lambda d: d.update(seed={"type": "float", "value": 1.5})),
    lambda p: _damage(p, lambda d: d["trail"]["columns"][1].append(0)),
    lambda p: p.unlink(),
], ids=["not-json", "truncated", "not-utf8", "list", "empty", "format", "version", "no-keys",
        "bad-time", "no-material", "bad-material", "dangling-alias", "bad-seed", "bad-event",
        "missing"])
def test_damaged_or_missing_file_raises_corrupt_scenario(tmp_path: Path, damage) -> None:
    kms = KMS(seed=26)
    key = new_key(kms)
    kms.create_alias(AliasName="alias/app", TargetKeyId=key)
    path = tmp_path / "s.json"
    kms.save(path)
    damage(path)
    with pytest.raises(CorruptScenarioError) as raised:
        KMS.load(path)
    assert raised.value.code == "ValidationException"


def test_the_file_does_not_depend_on_which_events_were_read(tmp_path: Path) -> None:
    """Format 4 writes the trail from packed and built events alike, byte for byte."""
    kms = KMS(seed=27)
    key = new_key(kms)
    for index in range(6):
        kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"n": str(index % 2)})
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": "t", "TagValue": str(index % 2)}])
    kms.save(tmp_path / "packed.json")
    kms.trail[:5]            # some events built, the rest still packed
    kms.save(tmp_path / "mixed.json")
    list(kms.trail)          # every event built
    kms.save(tmp_path / "built.json")
    packed = (tmp_path / "packed.json").read_bytes()
    assert (tmp_path / "mixed.json").read_bytes() == packed
    assert (tmp_path / "built.json").read_bytes() == packed
    assert KMS.load(tmp_path / "packed.json").trail.to_cloudtrail() == kms.trail.to_cloudtrail()


def test_the_file_and_digest_are_written_in_pieces_with_the_same_bytes(tmp_path: Path) -> None:
    """save and digest write the JSON member by member; joined, it is json.dumps's text."""
    from kmssim.core import persist
    kms = KMS(seed=28)
    key = new_key(kms)
    kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"é": "ü\u2028", "a": "b"})
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "t", "TagValue": "v"}])
    data = persist._scenario(kms)
    for sort in (True, False):
        assert "".join(persist._json_chunks(data, sort=sort)) == json.dumps(
            data, sort_keys=sort, separators=(",", ":"), default=persist._unfold)
    kms.save(tmp_path / "s.json")
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["digest"] == persist.digest(saved)
