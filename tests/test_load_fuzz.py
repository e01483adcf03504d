"""Scenario files: a full round trip through the strict schema, and a load-fuzz test.

Hundreds of random byte edits and type changes of a saved scenario must each either be
refused with CorruptScenarioError or load to a simulator in which every ciphertext made
before the save still decrypts (and every MAC still verifies). The fuzz runs twice: as
is (the digest catches any edit) and with the digest recomputed after each edit, so the
schema and the check values behind the digest are exercised too.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from kmssim import KMS
from kmssim.core import persist, schema
from kmssim.errors import AccessDeniedException, CorruptScenarioError

BYTE_EDITS = 300
TYPE_CHANGES = 150


S3_ENDPOINT = "s3.us-east-1.amazonaws.com"


def rich_scenario() -> tuple[KMS, list[tuple[dict[str, Any], bytes]], list[tuple]]:
    """A simulator using every feature a file records, and what it encrypted and MACed."""
    kms = KMS(seed=31)
    made: list[tuple[dict[str, Any], bytes]] = []

    def key(**kwargs: Any) -> str:
        return kms.create_key(**kwargs)["KeyMetadata"]["KeyId"]

    main, other, disabled, doomed, gone, revived = (key(Description=d) for d in
                                                    ("main", "other", "off", "doomed",
                                                     "gone", "revived"))
    kms.tag_resource(KeyId=main, Tags=[{"TagKey": "team", "TagValue": "orders"}])
    kms.create_alias(AliasName="alias/orders", TargetKeyId=main)
    kms.create_alias(AliasName="alias/other", TargetKeyId=other)
    kms.enable_key_rotation(KeyId=main, RotationPeriodInDays=90)
    kms.enable_key_rotation(KeyId=other, RotationPeriodInDays=365)
    for day in range(4):
        for key_id, context in ((main, {"order": str(day)}), (other, None), (disabled, None)):
            request = {"KeyId": key_id, "Plaintext": f"secret {key_id[:4]} {day}".encode()}
            if context:
                request["EncryptionContext"] = context
            blob = kms.encrypt(**request)["CiphertextBlob"]
            made.append(({"CiphertextBlob": blob, **({"EncryptionContext": context}
                                                     if context else {})},
                         request["Plaintext"]))
        kms.rotate_key_on_demand(KeyId=main)
        kms.advance(days=100)
    # AWS managed key, made on first use of its alias.
    # (AWS's policy for it allows use only through S3: kms:ViaService.)
    with kms.via_service(S3_ENDPOINT):
        blob = kms.encrypt(KeyId="alias/aws/s3", Plaintext=b"managed")["CiphertextBlob"]
    made.append(({"CiphertextBlob": blob}, b"managed"))
    rsa = key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    blob = kms.encrypt(KeyId=rsa, Plaintext=b"rsa", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    made.append(({"CiphertextBlob": blob["CiphertextBlob"], "KeyId": rsa,
                  "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}, b"rsa"))
    hmac = key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    macs = [(hmac, b"message", kms.generate_mac(KeyId=hmac, Message=b"message",
                                                MacAlgorithm="HMAC_SHA_256")["Mac"])]
    kms.disable_key(KeyId=disabled)
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=30)
    kms.schedule_key_deletion(KeyId=gone, PendingWindowInDays=7)
    kms.schedule_key_deletion(KeyId=revived, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=revived)
    kms.advance(days=10)
    with kms.acting_as("alice"):
        kms.list_keys()
    kms.generate_data_key(KeyId=main, KeySpec="AES_256")
    return kms, made, macs


def all_decrypt(kms: KMS, made: list[tuple[dict[str, Any], bytes]], macs: list[tuple],
                disabled: set[str], rsa_secrets: dict[str, bytes] | None = None,
                edited: bool = False) -> bool:
    """Whether everything made before the save decrypts (or verifies) in ``kms``. With
    ``rsa_secrets``, an RSA key whose private key is byte for byte the saved one counts
    as decrypting without the ~0.1 s it takes to load and check an RSA key each time
    (the round-trip test decrypts with it for real)."""
    for request, plaintext in made:
        info = kms.inspect_ciphertext(request["CiphertextBlob"]) \
            if "KeyId" not in request else None
        if info is not None and info.key_id in disabled:
            continue   # disabled before the save: it must not decrypt, in either
        rsa = request.get("KeyId")
        if rsa and rsa_secrets and rsa in kms._keys and \
                kms._keys[rsa].current.secret == rsa_secrets[rsa]:
            continue
        with kms.via_service(S3_ENDPOINT):   # as S3 would, for the aws/s3 ciphertext
            try:
                if kms.decrypt(**request)["Plaintext"] != plaintext:
                    return False
            except AccessDeniedException:
                # A key policy is a document the schema cannot judge: an edit that still
                # parses (an account id, a wildcard) may refuse the caller. The ciphertext
                # is intact; the edited file simply says no.
                if not edited:
                    raise
    for key_id, message, mac in macs:
        try:
            if not kms.verify_mac(KeyId=key_id, Message=message, Mac=mac,
                                  MacAlgorithm="HMAC_SHA_256")["MacValid"]:
                return False
        except AccessDeniedException:
            # As for decrypt above: an edited key policy may refuse the caller (which
            # edit lands on a policy depends on the file's layout).
            if not edited:
                raise
    return True


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[bytes, list, list, set[str], dict[str, bytes]]:
    kms, made, macs = rich_scenario()
    disabled = {k for k in kms.key_ids() if kms._keys[k].state == "Disabled"}
    rsa_secrets = {k: kms._keys[k].current.secret for k in kms.key_ids()
                   if kms._keys[k].key_spec.startswith("RSA_")}
    path = tmp_path_factory.mktemp("fuzz") / "scenario.json"
    kms.save(path)
    return path.read_bytes(), made, macs, disabled, rsa_secrets


def test_a_rich_scenario_round_trips_through_the_strict_schema(tmp_path, saved):
    content, made, macs, disabled, rsa_secrets = saved
    path = tmp_path / "s.json"
    path.write_bytes(content)
    loaded = KMS.load(path)
    loaded.save(tmp_path / "again.json")   # byte for byte what was loaded
    assert (tmp_path / "again.json").read_bytes() == content
    assert all_decrypt(loaded, made, macs, disabled)
    data = json.loads(content)
    assert data["version"] == persist.FORMAT_VERSION == 4
    assert data["digest"] == persist.digest(data)
    states = {k["state"] for k in data["keys"]} | {k["state"] for k in data["deleted"]}
    assert states == {"Enabled", "Disabled", "PendingDeletion", "Deleted"}


# Versions 1 to 3 are read from the committed format-3 fixture (tests/data), as the last
# release saved it: see tests/test_persist_format4.py.


def _first(column: list[Any]) -> int:
    """The first index of a run-length coded format-4 column."""
    return column[0] if type(column[0]) is int else column[0][0]


@pytest.mark.parametrize("change, named", [
    (lambda d: d.update(version=True), "version True"),
    (lambda d: d["keys"][0].update(rotation_period_days=0), "rotation_period_days"),
    (lambda d: d["keys"][0].update(rotation_period_days=2561), "rotation_period_days"),
    (lambda d: d["keys"][0].update(rotation_period_days=90.0), "rotation_period_days"),
    (lambda d: d["keys"][0].update(key_id=d["keys"][0]["key_id"].upper()), "key_id"),
    (lambda d: d["keys"][0].update(created="2024-01-01T00:00:00"), "no time zone"),
    (lambda d: d["keys"][0]["materials"]["ids"].__setitem__(
        1, d["keys"][0]["materials"]["ids"][0]), "used twice"),
    (lambda d: d["aliases"][0].__setitem__(1, d["deleted"][0]["key_id"]), "not a key"),
    (lambda d: d["keys"][0].update(state="Disabled"), "history"),
    (lambda d: d["keys"][0].update(on_demand_rotations=True), "on_demand_rotations"),
    (lambda d: d["keys"][0].update(extra=1), "unknown member 'extra'"),
    (lambda d: d.update(invocations=-1), "invocations"),
    (lambda d: d["keys"][0]["materials"]["secrets"].__setitem__(0, "AAAA"), "bytes"),
    # Format 4's tables: every index in range, runs of two or more, the check value.
    (lambda d: d["keys"][0]["materials"]["created"].__setitem__(0, len(d["values"])),
     r"materials.created\[0\]: is not an index into values"),
    (lambda d: d["keys"][0]["materials"]["created"].pop(), "expected 9 items"),
    (lambda d: d["keys"][0]["materials"]["secrets"].__setitem__(
        1, d["keys"][0]["materials"]["secrets"][2]), "materials.check: the check value"),
    (lambda d: d["keys"][0]["materials"].update(check="0" * 32), "materials.check"),
    (lambda d: d["trail"]["columns"][0].__setitem__(0, [0, 1]), r"\[0\]\[1\]: 1 is outside"),
    (lambda d: d["trail"]["columns"][5].append(len(d["trail"]["records"])),
     "not an index into trail.records"),
    (lambda d: d["trail"]["records"][1].append(0), "members, the record"),
    (lambda d: d["trail"]["shapes"][0].append(d["trail"]["shapes"][0][0]), "names a member twice"),
    (lambda d: d["values"].__setitem__(_first(d["trail"]["columns"][1]), 7),
     r"trail\[0\]\[2\]"),
    (lambda d: d.pop("values"), "missing member 'values'"),
    (lambda d: [column.append([_first(column), 2**26]) for column in d["trail"]["columns"]],
     "holds more than 67,108,864 events"),
], ids=["version-bool", "period-0", "period-big", "period-float", "id-upper", "naive-time",
        "material-twice", "alias-to-deleted", "state-vs-history", "bool-count", "unknown",
        "negative", "short-secret", "index-out", "arrays-differ", "secrets-swapped",
        "check", "run-of-one", "record-out", "record-length", "shape-twice", "value-type",
        "no-values", "huge-runs"])
def test_ill_typed_files_are_refused_naming_what_is_wrong(tmp_path, saved, change, named):
    data = json.loads(saved[0])
    change(data)
    data["digest"] = persist.digest(data)   # so the schema, not the digest, must refuse
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CorruptScenarioError, match=named) as raised:
        KMS.load(path)
    assert raised.value.code == "ValidationException"


def _byte_edit(content: bytes, rng: random.Random) -> bytes:
    position = rng.randrange(len(content))
    kind = rng.random()
    if kind < 0.6:     # replace one byte: often a plausible character
        plausible = b'0123456789abcdefABCDEF"{}[],:.-+ eEtrufalsn\\/'
        new = rng.choice(plausible + bytes([rng.randrange(256)]))
        return content[:position] + bytes([new]) + content[position + 1:]
    if kind < 0.8:     # delete one byte
        return content[:position] + content[position + 1:]
    return content[:position] + bytes([rng.randrange(32, 127)]) + content[position:]


_REPLACEMENTS: list[Any] = [None, True, False, 0, 1, -1, 90, 2**70, 10**5000 // 10**4990, 1.5,
                            1.0, "", "x", "2024-01-01T00:00:00", "2024-01-01T00:00:00+00:00",
                            [], [1], {}, {"a": 1}]


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(value, dict):
        for name, item in value.items():
            out += _paths(item, path + (name,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, path + (index,))
    return out


def _type_change(content: bytes, rng: random.Random) -> bytes:
    data = json.loads(content)
    path = rng.choice(_paths(data)[1:])
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    old = parent[path[-1]]
    choices = [r for r in _REPLACEMENTS if type(r) is not type(old) or r != old]
    parent[path[-1]] = rng.choice(choices)
    return json.dumps(data, separators=(",", ":")).encode()


def _with_digest_recomputed(content: bytes) -> bytes:
    try:
        data = json.loads(content)
    except ValueError:
        return content
    if isinstance(data, dict):
        try:
            data["digest"] = persist.digest(data)
        except (TypeError, ValueError):
            return content
        return json.dumps(data, separators=(",", ":")).encode()
    return content


@pytest.mark.parametrize("recompute", [False, True], ids=["as-is", "digest-recomputed"])
def test_random_edits_are_refused_or_keep_every_ciphertext_decrypting(tmp_path, saved,
                                                                       recompute):
    content, made, macs, disabled, rsa_secrets = saved
    rng = random.Random(1010 + recompute)
    path = tmp_path / "edited.json"
    outcomes = {"refused": 0, "loaded": 0, "unchanged": 0}
    started = time.perf_counter()
    for number in range(BYTE_EDITS + TYPE_CHANGES):
        edited = _byte_edit(content, rng) if number < BYTE_EDITS else _type_change(content, rng)
        if recompute:
            edited = _with_digest_recomputed(edited)
        if edited == content:
            outcomes["unchanged"] += 1
            continue
        path.write_bytes(edited)
        try:
            loaded = KMS.load(path)
        except CorruptScenarioError:
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        assert all_decrypt(loaded, made, macs, disabled, rsa_secrets, edited=True), \
            f"edit {number} broke decryption"
    elapsed = time.perf_counter() - started
    print(f"\nload fuzz ({'digest recomputed' if recompute else 'as is'}): {outcomes}, "
          f"{elapsed:.1f} s")
    assert outcomes["refused"] + outcomes["loaded"] + outcomes["unchanged"] == \
        BYTE_EDITS + TYPE_CHANGES
    if not recompute:
        assert outcomes["loaded"] == 0      # the digest catches every edit
    else:
        assert outcomes["loaded"] > 0       # edits the schema allows do load, and work
    assert elapsed < 20
