"""Issue 10's hardening: context-local principals, seeds that round-trip, O(1) material
storage and sliced advances, markers, regional material, and loose ends of saving."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest

from kmssim import KMS
from kmssim.errors import (
    CorruptScenarioError,
    InvalidMarkerException,
    ParamValidationError,
    ScenarioFileError,
    ValidationException,
)


# -- item 2: acting_as is per thread (context-local) -------------------------------------
def test_overlapping_acting_as_blocks_in_threads_never_record_each_others_calls():
    kms = KMS(seed=2)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    inside = threading.Barrier(3)
    leave = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker(name: str | None, calls: int) -> None:
        try:
            if name is None:
                inside.wait(10)
                for _ in range(calls):
                    kms.describe_key(KeyId=key_id, GrantTokens=["third"])
                leave.wait(10)
                return
            with kms.acting_as(name):
                inside.wait(10)   # all three threads are now inside or beside the blocks
                for _ in range(calls):
                    kms.describe_key(KeyId=key_id, GrantTokens=[name])
                leave.wait(10)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n, 200)) for n in ("alice", "bob", None)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    account = kms.account_id
    expected = {"alice": f"arn:aws:iam::{account}:user/alice",
                "bob": f"arn:aws:iam::{account}:user/bob",
                "third": f"arn:aws:iam::{account}:user/learner"}
    seen = [e for e in kms.trail if e.name == "DescribeKey"]
    assert len(seen) == 600
    for event in seen:
        assert event.principal == expected[event.request["grantTokens"][0]]
    # After both blocks ended, nothing leaks: later calls are the default principal's,
    # in this thread and in a new one.
    assert kms.principal == expected["third"]
    kms.list_keys()
    later = threading.Thread(target=kms.list_aliases)
    later.start()
    later.join()
    assert [e.principal for e in kms.trail][-2:] == [expected["third"]] * 2


def test_acting_as_nests_and_restores_within_one_thread():
    kms = KMS(seed=2)
    with kms.acting_as("alice"):
        with kms.acting_as("role/app") as app:
            assert kms.principal == app
        assert kms.principal.endswith(":user/alice")
    assert kms.principal.endswith(":user/learner")


# -- item 4: seeds are limited to the types that save and load back -----------------------
@pytest.mark.parametrize("seed", [True, False, 1.5, [1], (1, 2), {"a": 1}, b"x".decode,
                                  bytearray(b"ab"), 2**4000, "\ud800", "x" * 5000])
def test_seeds_that_would_not_round_trip_are_refused_at_construction(seed):
    with pytest.raises(ValidationException) as raised:
        KMS(seed=seed)
    assert "seed" in str(raised.value).lower()
    assert raised.value.hint   # kmssim's explanation for a learner


@pytest.mark.parametrize("seed", [0, -5, 2**200, "", "lesson-1", "é✓", b"", b"\x00\xff"])
def test_seeds_of_the_accepted_types_save_and_load(tmp_path, seed):
    kms = KMS(seed=seed)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.save(tmp_path / "s.json")
    loaded = KMS.load(tmp_path / "s.json")
    assert loaded.entropy.seed == seed and type(loaded.entropy.seed) is type(seed)
    assert loaded.create_key()["KeyMetadata"] == kms.create_key()["KeyMetadata"]
    assert key_id in loaded.key_ids()


# -- item 10: Regions and accounts never share material under one seed ----------------------
def test_one_seed_gives_each_region_and_account_its_own_ids_and_material():
    made = {}
    for region, account in [("us-east-1", "111122223333"), ("eu-west-1", "111122223333"),
                            ("us-east-1", "444455556666"), ("eu-west-1", "444455556666")]:
        kms = KMS(seed=7, region=region, account_id=account)
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        made[region, account] = (key_id, kms._keys[key_id].current.secret,
                                 kms.generate_random(NumberOfBytes=32)["Plaintext"])
    assert len({ids for ids, _, _ in made.values()}) == 4
    assert len({secret for _, secret, _ in made.values()}) == 4
    assert len({random for _, _, random in made.values()}) == 4
    # Each pair still replays exactly.
    again = KMS(seed=7, region="eu-west-1")
    assert again.create_key()["KeyMetadata"]["KeyId"] == made["eu-west-1", "111122223333"][0]


def test_a_ciphertext_from_one_region_does_not_decrypt_in_another_under_mock_kms():
    boto3 = pytest.importorskip("boto3")
    from botocore.exceptions import ClientError

    from kmssim.bridge import mock_kms

    with mock_kms(seed=7):
        east = boto3.client("kms", region_name="us-east-1")
        west = boto3.client("kms", region_name="eu-west-1")
        east_id = east.create_key()["KeyMetadata"]["KeyId"]
        west_id = west.create_key()["KeyMetadata"]["KeyId"]
        assert east_id != west_id
        blob = east.encrypt(KeyId=east_id, Plaintext=b"regional")["CiphertextBlob"]
        assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"regional"
        with pytest.raises(ClientError) as raised:
            west.decrypt(CiphertextBlob=blob)
        # AWS: a ciphertext this Region's KMS cannot use is an InvalidCiphertextException
        # (NOTES.md, "Empty messages": InvalidCiphertextException for blobs it cannot open).
        assert raised.value.response["Error"]["Code"] == "InvalidCiphertextException"


# -- item 7 (markers): a marker that only looks numeric is an InvalidMarkerException -------
# (Markers outside the model's pattern [\u0020-\u00FF]*, such as "kmssim:١" or one ending in a
# newline, and markers that are not strings, are refused by parameter validation first:
# tests/test_validation_cases.py.)
@pytest.mark.parametrize("marker", ["kmssim:²", "kmssim: 1", "kmssim:+1", "kmssim:",
                                    "kmssim:9" * 30])
def test_markers_that_are_not_ours_are_invalid_marker_exceptions(marker):
    kms = KMS(seed=3)
    for _ in range(3):
        kms.create_key()
    with pytest.raises(InvalidMarkerException):
        kms.list_keys(Limit=1, Marker=marker)


def test_a_superscript_marker_over_http_protocol_is_a_400():
    from kmssim.aws.protocol import dispatch

    kms = KMS(seed=3)
    status, _, body = dispatch(kms, "TrentService.ListKeys", '{"Marker": "kmssim:²"}')
    assert status == 400 and b"InvalidMarkerException" in body
    first = kms.list_keys(Limit=1)
    assert first["Truncated"] is False


def test_a_superscript_marker_through_the_aws_cli_emulation_is_a_service_error():
    from kmssim.aws.cli import SERVICE_ERROR, run

    kms = KMS(seed=3)
    outcome = run(kms, "aws kms list-keys --marker kmssim:²")
    assert outcome.status == SERVICE_ERROR
    assert "InvalidMarkerException" in outcome.stderr


# -- item 5: O(1) material storage and an advance that lets other calls in ----------------
def test_adding_material_appends_in_place():
    kms = KMS(seed=5)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    materials = kms._keys[key_id].materials
    kms.rotate_key_on_demand(KeyId=key_id)
    assert kms._keys[key_id].materials is materials and len(materials) == 2


def test_a_long_advance_lets_other_calls_in_at_the_instant_of_the_last_event():
    kms = KMS(seed=5)
    ids = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(100)]
    for number, key_id in enumerate(ids):
        kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90 + number % 50)
    start = kms.now
    seen: list = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            seen.append(kms.get_key_rotation_status(KeyId=ids[0]) and kms.now)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        events = kms.advance(days=365 * 60)     # ~24,000 rotations: about a second of work
    finally:
        done.set()
        poller.join(30)
    target = kms.now
    middle = [now for now in seen if start < now < target]
    assert middle, "no call got in while the advance ran"
    fired_at = {event.time for event in events}
    assert set(middle) <= fired_at     # the clock stood at an event's instant, never beyond
    # Nothing was lost by letting go of the lock: every key rotated on its own grid.
    for number, key_id in enumerate(ids[:5]):
        period = 90 + number % 50
        versions = kms.history(key_id).versions
        assert len(versions) == 1 + (365 * 60) // period


def test_concurrent_advances_still_add_up():
    kms = KMS(seed=5)
    for _ in range(50):
        kms.enable_key_rotation(KeyId=kms.create_key()["KeyMetadata"]["KeyId"],
                                RotationPeriodInDays=90)
    start = kms.now
    threads = [threading.Thread(target=kms.advance, kwargs={"days": 3650}) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert (kms.now - start).days == 4 * 3650


# -- item 12: saving's loose ends ----------------------------------------------------------
def test_saved_files_are_private_to_their_owner(tmp_path):
    kms = KMS(seed=12)
    kms.create_key()
    target = tmp_path / "s.json"
    target.write_text("an older, world-readable file")
    target.chmod(0o644)
    kms.save(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path):
    target = tmp_path / "s.json"
    script = (
        "import os, sys\n"
        "from kmssim.core import persist\n"
        "from kmssim import KMS\n"
        "kms = KMS(seed=12); kms.create_key()\n"
        "real_replace = os.replace\n"
        "def die(*args):\n"
        "    os.kill(os.getpid(), 9)\n"          # killed after writing, before the rename
        "os.replace = die\n"
        f"kms.save({str(target)!r})\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == -9
    leftovers = list(tmp_path.glob(".s.json.*.tmp"))
    assert len(leftovers) == 1 and not target.exists()
    kms = KMS(seed=12)
    kms.create_key()
    kms.save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
    assert KMS.load(target).key_ids() == kms.key_ids()


@pytest.mark.parametrize("where", [
    lambda tmp: tmp,                                   # a directory
    lambda tmp: tmp / "missing-folder" / "s.json",     # FileNotFoundError
    lambda tmp: str(tmp / "nul\x00name.json"),         # ValueError from the OS layer
    lambda tmp: tmp / ("x" * 300 + ".json"),           # name too long (OSError)
], ids=["directory", "missing-folder", "nul", "too-long"])
def test_save_failures_are_scenario_file_errors_and_leave_nothing_behind(tmp_path, where):
    kms = KMS(seed=12)
    kms.create_key()
    with pytest.raises(ScenarioFileError) as raised:
        kms.save(where(tmp_path))
    assert raised.value.code == "ValidationException"
    assert not isinstance(raised.value, CorruptScenarioError)
    assert list(tmp_path.iterdir()) == []


def test_save_into_a_read_only_folder_is_a_scenario_file_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ScenarioFileError, match="Permission denied"):
            KMS(seed=12).save(folder / "s.json")
    finally:
        folder.chmod(0o700)


def test_load_of_a_path_with_a_nul_is_a_corrupt_scenario_error(tmp_path):
    with pytest.raises(CorruptScenarioError):
        KMS.load(str(tmp_path / "a\x00b.json"))


@pytest.mark.parametrize("marker", ["kmssim:١", "kmssim:1\n"])
def test_markers_outside_the_models_pattern_are_validation_errors(marker):
    # The model's Marker pattern is [\u0020-\u00FF]*; the service checks it before paging.
    kms = KMS(seed=3)
    with pytest.raises(ValidationException, match="regular expression pattern"):
        kms.list_keys(Limit=1, Marker=marker)


@pytest.mark.parametrize("marker", [5, None.__class__])
def test_markers_that_are_not_strings_are_refused_before_sending(marker):
    kms = KMS(seed=3)
    with pytest.raises(ParamValidationError, match="Invalid type for parameter Marker"):
        kms.list_keys(Limit=1, Marker=marker)
