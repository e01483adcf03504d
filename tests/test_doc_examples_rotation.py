"""AWS's documentation examples for imported material, rotations and replicas, run as tests.

Each example's command or request is read from AWS's own text where it ships with the
packages kmssim installs: the AWS CLI's examples (``awscli/examples/kms/*.rst``, the text of
the CLI reference pages at docs.aws.amazon.com/cli/latest/reference/kms/) and botocore's
``examples-1.json`` (the API Reference examples). Only the example key id is replaced by the
simulator's. The botocore examples for ImportKeyMaterial and ReplicateKey run in
tests/test_importing.py and tests/test_multiregion.py; Sign and Verify in tests/test_signing.py.
The API Reference's ListKeyRotations example for ``IncludeKeyMaterial=ALL_KEY_MATERIAL`` is not
in either package; its test follows the API Reference's description of the response
(``ListKeyRotationsResponse.Rotations`` and ``RotationsListEntry``) instead, and says so.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import awscli
import botocore
import pytest

from kmssim import KMS, Cloud
from kmssim.aws.cli import run
from kmssim.envelope import wrap_key_material

EXAMPLE_KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
CLI_EXAMPLES = Path(awscli.__file__).parent / "examples" / "kms"
MATERIAL = bytes(range(100, 132))


def cli_example(name: str) -> tuple[str, dict | None]:
    """The command line and the printed output (None for "no output") of an AWS CLI example."""
    text = (CLI_EXAMPLES / f"{name}.rst").read_text(encoding="utf-8")
    command = re.search(r"::\n\n(\s+aws kms .*?)\n\n", text, re.S)
    assert command is not None, name
    line = " ".join(part.strip().rstrip("\\").strip()
                    for part in command.group(1).splitlines())
    output = re.search(r"Output::\n\n(.*?)\n\n(?:For more|\Z)", text, re.S)
    return line, None if output is None else json.loads(output.group(1))


def cli(kms: KMS, line: str) -> dict:
    outcome = run(kms, line)
    assert outcome.status == 0, outcome.stderr
    return json.loads(outcome.stdout) if outcome.stdout.strip() else {}


def test_the_cli_examples_for_get_parameters_for_import_and_import_key_material(
        tmp_path: Path) -> None:
    """awscli/examples/kms/get-parameters-for-import.rst and import-key-material.rst: an
    expiring import (ValidTo 2021-09-21T19:00:00Z); "When the key material expires, AWS KMS
    deletes the key material, the key state of the KMS key changes to Pending import"."""
    kms = KMS(seed=5, start=datetime(2021, 9, 1, tzinfo=timezone.utc))
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    line, shown = cli_example("get-parameters-for-import")
    parameters = cli(kms, line.replace(EXAMPLE_KEY, key))
    assert shown is not None and set(parameters) == set(shown)
    assert parameters["KeyId"] == shown["KeyId"].replace(EXAMPLE_KEY, key).replace(
        "us-west-2", kms.region)
    public_key = base64.b64decode(parameters["PublicKey"])
    (tmp_path / "EncryptedKeyMaterial.bin").write_bytes(
        wrap_key_material(public_key, MATERIAL, "RSAES_OAEP_SHA_256"))
    (tmp_path / "ImportToken.bin").write_bytes(base64.b64decode(parameters["ImportToken"]))

    line, shown = cli_example("import-key-material")
    line = line.replace(EXAMPLE_KEY, key).replace("fileb://", f"fileb://{tmp_path}/")
    answer = cli(kms, line)
    assert shown is not None and set(answer) == set(shown)
    assert re.fullmatch(r"[0-9a-f]{64}", answer["KeyMaterialId"])
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["ValidTo"] == \
        datetime(2021, 9, 21, 19, tzinfo=timezone.utc)
    blob = kms.encrypt(KeyId=key, Plaintext=b"until the 21st")["CiphertextBlob"]
    kms.advance_to(datetime(2021, 9, 21, 19, tzinfo=timezone.utc))
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"
    # "To restore the KMS key, you must reimport the same key material."
    parameters = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                               WrappingKeySpec="RSA_2048")
    kms.import_key_material(KeyId=key, ImportToken=parameters["ImportToken"],
                            EncryptedKeyMaterial=wrap_key_material(parameters["PublicKey"],
                                                                   MATERIAL),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"until the 21st"

    line, shown = cli_example("delete-imported-key-material")
    answer = cli(kms, line.replace(EXAMPLE_KEY, key))
    assert shown is not None and set(answer) == set(shown)
    assert answer["KeyMaterialId"] == kms.describe_key(KeyId=key)["KeyMetadata"][
        "CurrentKeyMaterialId"]


def test_the_cli_examples_for_rotate_key_on_demand_and_list_key_rotations() -> None:
    """awscli/examples/kms/rotate-key-on-demand.rst and list-key-rotations.rst: one automatic
    and one on-demand rotation, listed oldest first. (The CLI's example output predates
    KeyMaterialId and KeyMaterialState, which AWS added in 2025: those extra members are
    expected here.)"""
    kms = KMS(seed=6)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.advance(days=90)
    line, shown = cli_example("rotate-key-on-demand")
    answer = cli(kms, line.replace(EXAMPLE_KEY, key))
    # The example prints a bare key id; AWS answers with the key ARN (recording
    # rotate_on_demand_response_arn in /work/research/aws_kms_recordings.json).
    assert shown is not None and set(answer) == set(shown) and answer["KeyId"].endswith(key)
    line, shown = cli_example("list-key-rotations")
    answer = cli(kms, line.replace(EXAMPLE_KEY, key))
    # The CLI pages through the results and prints the merged list, without the paginator's
    # Truncated member (botocore's PageIterator.build_full_result keeps only the result key);
    # the example shows it, as --no-paginate prints it.
    assert shown is not None and set(answer) == set(shown) - {"Truncated"}
    answer = cli(kms, line.replace(EXAMPLE_KEY, key) + " --no-paginate")
    assert set(answer) == set(shown)
    assert [r["RotationType"] for r in answer["Rotations"]] == \
        [r["RotationType"] for r in shown["Rotations"]]
    for got, want in zip(answer["Rotations"], shown["Rotations"]):
        assert set(want) <= set(got)
        assert got["KeyId"] == want["KeyId"].replace(EXAMPLE_KEY, key)
        assert set(got) - set(want) == {"KeyMaterialId", "KeyMaterialState"}
        datetime.fromisoformat(got["RotationDate"])      # the same ISO 8601 form
    assert answer["Truncated"] is False


def test_list_key_rotations_with_all_key_material_as_the_api_reference_describes_it(
        tmp_path: Path) -> None:
    """API Reference, ListKeyRotationsResponse.Rotations: with ALL_KEY_MATERIAL "this list
    includes the first key material and any imported key material pending rotation";
    RotationsListEntry: RotationDate and RotationType are "not present for the first key
    material or an imported key material in PENDING_ROTATION state"; ImportState,
    ExpirationModel and KeyMaterialDescription only for EXTERNAL keys. The recorded AWS answer
    for an AWS_KMS key (aws_kms_recordings.json, list_key_rotations_all_key_material) has the
    same shape. Asked through the AWS CLI's --include-key-material option."""
    kms = KMS(seed=7)
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    for number, (material, import_type) in enumerate(
            [(MATERIAL, "NEW_KEY_MATERIAL"), (bytes(32), "NEW_KEY_MATERIAL"),
             (bytes([1]) * 32, "NEW_KEY_MATERIAL")]):
        parameters = kms.get_parameters_for_import(
            KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
        kms.import_key_material(
            KeyId=key, ImportToken=parameters["ImportToken"],
            EncryptedKeyMaterial=wrap_key_material(parameters["PublicKey"], material),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE", ImportType=import_type,
            KeyMaterialDescription=f"v{number + 1}")
        if number == 1:
            kms.rotate_key_on_demand(KeyId=key)
    answer = cli(kms, f"aws kms list-key-rotations --key-id {key} "
                      "--include-key-material ALL_KEY_MATERIAL")
    rows = answer["Rotations"]
    assert [(r["KeyMaterialDescription"], r["KeyMaterialState"]) for r in rows] == [
        ("v1", "NON_CURRENT"), ("v2", "CURRENT"), ("v3", "PENDING_ROTATION")]
    assert [("RotationDate" in r, "RotationType" in r) for r in rows] == [
        (False, False), (True, True), (False, False)]
    assert all(r["ImportState"] == "IMPORTED" and r["KeyId"] == key
               and r["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE" for r in rows)
    only = cli(kms, f"aws kms list-key-rotations --key-id {key}")["Rotations"]
    assert [r["KeyMaterialDescription"] for r in only] == ["v2"]   # ROTATIONS_ONLY


def test_the_replicate_key_example_for_a_key_with_imported_material() -> None:
    """botocore examples-1.json ReplicateKey (us-east-1 to us-west-2), with a primary of
    origin EXTERNAL: the replica is a REPLICA of the same id and origin, and waits for the
    same material (Developer Guide, "Importing key material into multi-Region keys")."""
    path = Path(botocore.__file__).parent / "data/kms/2014-11-01/examples-1.json"
    example = json.loads(path.read_text())["examples"]["ReplicateKey"][0]
    cloud = Cloud(seed=8)
    east = cloud.region("us-east-1")
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    request = dict(example["input"])
    request["KeyId"] = request["KeyId"].replace("mrk-1234abcd12ab34cd56ef1234567890ab", key)
    got = east.replicate_key(**request)["ReplicaKeyMetadata"]
    want = example["output"]["ReplicaKeyMetadata"]
    assert got["Arn"] == want["Arn"].replace("mrk-1234abcd12ab34cd56ef1234567890ab", key)
    assert got["Origin"] == "EXTERNAL" and got["MultiRegionConfiguration"][
        "MultiRegionKeyType"] == want["MultiRegionConfiguration"]["MultiRegionKeyType"]
    replica = cloud.region("us-west-2").describe_key(KeyId=key)["KeyMetadata"]
    assert replica["KeyState"] == "PendingImport" and replica["Enabled"] is False


@pytest.mark.parametrize("name", ["get-parameters-for-import", "import-key-material",
                                  "delete-imported-key-material", "rotate-key-on-demand",
                                  "list-key-rotations"])
def test_each_cli_example_parses(name: str) -> None:
    line, _ = cli_example(name)
    assert line.startswith("aws kms " + name)


def test_the_cli_reads_timestamps_as_iso_8601_or_epoch_seconds() -> None:
    kms = KMS(seed=9, start=datetime(2021, 9, 1, tzinfo=timezone.utc))
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    base = (f"aws kms import-key-material --key-id {key} --encrypted-key-material AAAA "
            "--import-token AAAA --expiration-model KEY_MATERIAL_EXPIRES --valid-to ")
    outcome = run(kms, base + "next-tuesday")
    assert outcome.status == 252 and "invalid timestamp value" in outcome.stderr
    # Both forms parse; the call then fails on the made-up token, as the service would.
    for when in ("2021-09-21T19:00:00Z", "1632250800"):
        outcome = run(kms, base + when)
        assert "InvalidImportTokenException" in outcome.stderr, outcome.stderr
