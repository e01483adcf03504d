"""``%aws kms …`` in notebooks: the magic, and that it prints what the real AWS CLI prints."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kmssim import KMS
from kmssim.aws import magic
from kmssim.aws.cli import OK, SERVICE_ERROR, USAGE, Outcome, run
from kmssim.core.keys import SecretBytes
from kmssim.aws.server import serving

# Runs many commands with the real AWS CLI's own driver in one process (the `aws` program
# is `sys.exit(awscli.clidriver.main())`), so that twenty-odd commands cost one CLI start.
CLI_RUNNER = """
import contextlib, io, json, sys, urllib.request
from awscli.clidriver import create_clidriver
url, results, driver = sys.argv[1], [], create_clidriver()
for argv in json.load(sys.stdin):
    if argv[0] == "advance":
        request = urllib.request.Request(url, data=json.dumps({"Days": argv[1]}).encode(),
                                         headers={"X-Amz-Target": "KmsSim.Advance"})
        urllib.request.urlopen(request).close()
        continue
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = driver.main(["--endpoint-url", url, *argv])
    results.append([status, out.getvalue(), err.getvalue()])
json.dump(results, sys.stdout)
"""


def test_magic_prints_exactly_what_the_real_aws_cli_prints(tmp_path, monkeypatch):
    """The same commands on two simulators with the same seed: one through ``%aws``'s
    engine, one served over HTTP to the real CLI (v1, set to print ISO 8601 times as
    v2 does). Every byte of output must match."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "note.txt").write_bytes(b"meet at noon")
    ours = KMS(seed=9)
    twin = KMS(seed=9)    # learns the ids the keys will get
    key, spare = (twin.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
    commands: list[list[Any]] = [
        ["create-key", "--description", "orders", "--tags", "TagKey=team,TagValue=data"],
        ["create-key", "--description", "spare"],
        ["create-alias", "--alias-name", "alias/app", "--target-key-id", key],
        ["describe-key", "--key-id", "alias/app"],
        ["enable-key-rotation", "--key-id", key, "--rotation-period-in-days", "180"],
        ["get-key-rotation-status", "--key-id", key],
        ["encrypt", "--key-id", "alias/app", "--plaintext", "fileb://note.txt",
         "--encryption-context", "purpose=test"],
        ["advance", 400],
        ["list-key-rotations", "--key-id", key, "--include-key-material", "ALL_KEY_MATERIAL"],
        ["rotate-key-on-demand", "--key-id", key],
        ["decrypt", "--ciphertext-blob", "fileb://note.enc", "--encryption-context",
         "purpose=test"],
        ["decrypt", "--ciphertext-blob", "fileb://note.enc"],
        ["re-encrypt", "--ciphertext-blob", "fileb://note.enc", "--source-encryption-context",
         "purpose=test", "--destination-key-id", "alias/app"],
        ["generate-data-key", "--key-id", "alias/app", "--number-of-bytes", "16"],
        ["generate-data-key-without-plaintext", "--key-id", "alias/app", "--key-spec", "AES_256"],
        ["update-alias", "--alias-name", "alias/app", "--target-key-id", spare],
        ["list-aliases", "--key-id", key],
        ["list-keys"],
        ["list-resource-tags", "--key-id", key],
        ["disable-key-rotation", "--key-id", key],
        ["disable-key", "--key-id", key],
        ["encrypt", "--key-id", key, "--plaintext", "fileb://note.txt"],
        ["enable-key", "--key-id", key],
        ["schedule-key-deletion", "--key-id", key, "--pending-window-in-days", "7"],
        ["cancel-key-deletion", "--key-id", key],
        ["describe-key", "--key-id", key, "--query", "KeyMetadata.KeyState", "--output", "text"],
        ["describe-key", "--key-id", "alias/missing"],
    ]
    expected = []
    for command in commands:
        if command[0] == "advance":
            ours.advance(days=command[1])
            continue
        outcome = run(ours, ["kms", *command])
        expected.append((outcome.status == OK, outcome.stdout, outcome.stderr.strip()))
        if command[0] == "encrypt" and outcome.status == OK:
            blob = json.loads(outcome.stdout)["CiphertextBlob"]
            (tmp_path / "note.enc").write_bytes(base64.b64decode(blob))
    assert key in ours.key_ids()

    (tmp_path / "config").write_text("[default]\ncli_timestamp_format = iso8601\n")
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_PAGER": "", "TZ": "UTC"}
    with serving(KMS(seed=9)) as server:
        done = subprocess.run([sys.executable, "-c", CLI_RUNNER, server.url],
                              input=json.dumps([["kms", *map(str, c)] if c[0] != "advance"
                                                else c for c in commands]),
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    actual = [(status == 0, out, err.strip()) for status, out, err in json.loads(done.stdout)]
    assert len(actual) == len(expected)
    for command, mine, theirs in zip([c for c in commands if c[0] != "advance"], expected,
                                     actual, strict=True):
        if '"Plaintext": "<secret' in mine[1]:
            # The one deliberate difference: a data key prints as its fingerprint.
            printed, real = json.loads(mine[1]), json.loads(theirs[1])
            secret = SecretBytes(base64.b64decode(real["Plaintext"]))
            assert printed["Plaintext"] == repr(secret)
            printed["Plaintext"] = real["Plaintext"]
            mine = (mine[0], json.dumps(printed, indent=4) + "\n", mine[2])
        assert mine == theirs, command
    assert [ok for ok, _, _ in expected].count(False) == 3


# -- the engine's own behaviour -------------------------------------------------------------
@pytest.fixture
def kms() -> KMS:
    simulator = KMS(seed=2)
    simulator.create_key(Description="app")
    return simulator


def test_empty_responses_print_nothing_and_timestamps_print_in_iso_8601(kms):
    key_id = kms.key_ids()[0]
    assert run(kms, f"kms enable-key-rotation --key-id {key_id}") == Outcome(OK, "", "")
    out = run(kms, f"aws kms get-key-rotation-status --key-id {key_id}").stdout
    assert json.loads(out)["NextRotationDate"] == "2024-12-31T00:00:00+00:00"
    assert out.startswith('{\n    "KeyRotationEnabled": true,\n')


def test_errors_print_as_the_cli_prints_them(kms):
    outcome = run(kms, "kms describe-key --key-id alias/nope")
    assert outcome.status == SERVICE_ERROR and outcome.stdout == ""
    assert outcome.stderr == ("An error occurred (NotFoundException) when calling the "
                              "DescribeKey operation: Alias arn:aws:kms:us-east-1:111122223333:"
                              "alias/nope is not found.\n")


@pytest.mark.parametrize("line, message", [
    ("kms describe-key", "the following arguments are required: --key-id"),
    ("kms frobnicate", "Invalid choice 'frobnicate'"),
    ("kms list-keys --colour blue", "Unknown options: --colour"),
    ("s3 ls", "kms commands only"),
    ("kms encrypt --key-id k --plaintext hello", 'Invalid base64: "hello"'),
    ("kms encrypt --key-id k --plaintext fileb://no/such/file", "Unable to load paramfile"),
    ("kms enable-key-rotation --key-id k --rotation-period-in-days soon", "invalid int value"),
    ("kms list-keys --query 'Keys[' ", "Bad value for --query"),
    ("kms list-keys --output yaml", "--output json or text"),
    ("kms describe-key --key-id 'unclosed", "cannot split"),
])
def test_bad_command_lines_are_usage_errors_that_call_nothing(kms, line, message):
    before = len(kms.trail)
    outcome = run(kms, line)
    assert outcome.status == USAGE and message in outcome.stderr, outcome
    assert len(kms.trail) == before


def test_blobs_shorthand_json_lists_and_flags_are_read_as_the_cli_reads_them(kms, tmp_path):
    key_id = kms.key_ids()[0]
    tags = '[{"TagKey": "a", "TagValue": "1"}]'
    assert run(kms, ["kms", "tag-resource", "--key-id", key_id, "--tags", tags]).status == OK
    assert run(kms, f"kms tag-resource --key-id {key_id} --tags TagKey=b,TagValue=2 "
                    "TagKey=c,TagValue=3").status == OK
    assert len(kms.list_resource_tags(KeyId=key_id)["Tags"]) == 3
    sealed = run(kms, f"kms encrypt --key-id {key_id} --plaintext aGk= --grant-tokens t1 t2 "
                      '--encryption-context \'{"x": "y"}\' --query CiphertextBlob --output text')
    assert kms.trail[-1].request["grantTokens"] == ["t1", "t2"]
    (tmp_path / "c.bin").write_bytes(base64.b64decode(sealed.stdout))
    opened = run(kms, f"kms decrypt --ciphertext-blob fileb://{tmp_path}/c.bin "
                      "--encryption-context x=y --query Plaintext --output text")
    assert opened.stdout == "aGk=\n"   # your own data prints as the CLI prints it
    raw = run(kms, f"kms encrypt --key-id {key_id} --plaintext hi --cli-binary-format "
                   "raw-in-base64-out --no-dry-run")
    assert raw.status == OK
    assert run(kms, f"kms encrypt --key-id {key_id} --plaintext aGk= --dry-run").status == \
        SERVICE_ERROR


def test_list_commands_fetch_every_page(kms):
    for _ in range(4):
        kms.create_key()
    out = run(kms, "kms list-keys --page-size 2")
    assert list(json.loads(out.stdout)) == ["Keys"] and len(json.loads(out.stdout)["Keys"]) == 5
    single = json.loads(run(kms, "kms list-keys --limit 2").stdout)
    assert len(single["Keys"]) == 2 and single["Truncated"] is True


def test_a_plaintext_data_key_prints_as_a_fingerprint(kms):
    out = run(kms, f"kms generate-data-key --key-id {kms.key_ids()[0]} --key-spec AES_256")
    printed = json.loads(out.stdout)["Plaintext"]
    assert printed.startswith("<secret 32 bytes") and "fp:" in printed


def test_help_lists_commands_and_options(kms):
    assert "enable-key-rotation" in run(kms, "kms help").stdout
    assert "--rotation-period-in-days  integer" in run(kms, "kms enable-key-rotation help").stdout
    assert run(kms, "kms").stdout == run(kms, "kms help").stdout


def test_another_region_is_refused(kms):
    outcome = run(kms, "kms list-keys --region eu-west-1")
    assert outcome.status != OK and "Region us-east-1" in outcome.stderr


# -- the magic in IPython ------------------------------------------------------------------
@pytest.fixture
def shell() -> Iterator[Any]:
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    made = interactive.InteractiveShell.instance()
    assert made.run_cell("%load_ext kmssim").success
    yield made
    magic.use(None)
    interactive.InteractiveShell.clear_instance()


def test_load_ext_adds_aws_which_runs_on_the_notebook_simulator(shell, capsys):
    shell.run_cell("from kmssim import KMS\nkms = KMS(seed=1)")
    shell.run_cell("%aws kms create-key --description orders")
    created = json.loads(capsys.readouterr().out)
    shell.user_ns["key_id"] = created["KeyMetadata"]["KeyId"]
    # The rotation guide's two commands, with IPython filling in the key id.
    assert shell.run_cell("%aws kms enable-key-rotation --key-id {key_id}").success
    shell.run_cell("%aws kms get-key-rotation-status --key-id $key_id")
    status = json.loads(capsys.readouterr().out)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365
    assert shell.user_ns["kms"].key_ids() == [created["KeyMetadata"]["KeyId"]]


def test_an_error_prints_one_line_and_no_traceback(shell, capsys):
    shell.run_cell("from kmssim import KMS\nkms = KMS()")
    result = shell.run_cell("%aws kms describe-key --key-id alias/app")
    captured = capsys.readouterr()
    assert result.success and result.result is None
    assert captured.out == ""
    assert captured.err.startswith("An error occurred (NotFoundException) when calling the "
                                   "DescribeKey operation: ")
    assert "Traceback" not in captured.err


def test_cell_magic_runs_each_line_and_stops_at_the_first_failure(shell, capsys):
    shell.run_cell("from kmssim import KMS\nkms = KMS()")
    shell.run_cell("%%aws\n# make two keys\nkms create-key\nkms describe-key --key-id nope\n"
                   "kms create-key\n")
    assert len(shell.user_ns["kms"].key_ids()) == 1
    assert "NotFoundException" in capsys.readouterr().err


def test_cell_magic_joins_lines_continued_with_a_backslash(shell, capsys):
    # The AWS docs write long commands over several lines, each ending in a backslash.
    shell.run_cell("from kmssim import KMS\nkms = KMS()\n"
                   "key_id = kms.create_key()['KeyMetadata']['KeyId']")
    result = shell.run_cell("%%aws\nkms enable-key-rotation \\\n    --key-id {key_id} \\\n"
                            "    --rotation-period-in-days 180\n"
                            "kms get-key-rotation-status --key-id {key_id}\n")
    captured = capsys.readouterr()
    assert result.success and captured.err == ""
    assert json.loads(captured.out)["RotationPeriodInDays"] == 180


def test_which_simulator_the_magic_uses(shell, capsys):
    shell.run_cell("%aws kms list-keys")
    assert "No simulator yet" in capsys.readouterr().err
    shell.run_cell("from kmssim import KMS\nlab = KMS(region='eu-west-1')\n"
                   "prod = KMS(region='eu-central-1')")
    shell.run_cell("%aws kms list-keys")
    assert "Several simulators (lab, prod)" in capsys.readouterr().err
    shell.run_cell("%aws --use prod kms create-key")
    assert json.loads(capsys.readouterr().out)["KeyMetadata"]["Arn"].startswith(
        "arn:aws:kms:eu-central-1:")
    shell.run_cell("kms = lab")
    shell.run_cell("%aws kms create-key --query KeyMetadata.Arn --output text")
    assert capsys.readouterr().out.startswith("arn:aws:kms:eu-west-1:")
    magic.use(shell.user_ns["prod"])
    shell.run_cell("%aws kms list-keys --query 'length(Keys)'")
    assert capsys.readouterr().out == "1\n"
    shell.run_cell("%aws --use nothing kms list-keys")
    assert "no kmssim.KMS called 'nothing'" in capsys.readouterr().err
    with pytest.raises(TypeError):
        magic.use("prod")  # type: ignore[arg-type]


def test_importing_kmssim_does_not_import_ipython():
    done = subprocess.run([sys.executable, "-c",
                           "import sys, kmssim; print('IPython' in sys.modules)"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    assert callable(__import__("kmssim").load_ipython_extension)
    assert Path(magic.__file__).name == "magic.py"


def test_the_cli_keeps_aws_words_and_the_magic_adds_the_hint_below(shell, capsys):
    kms = KMS(seed=1)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=key_id)
    outcome = run(kms, f"kms encrypt --key-id {key_id} --plaintext aGk=")
    assert outcome.stderr == ("An error occurred (DisabledException) when calling the Encrypt "
                              f"operation: arn:aws:kms:us-east-1:111122223333:key/{key_id} "
                              "is disabled.\n")
    assert outcome.hint.startswith("kmssim hint: ") and outcome.hint.endswith("\n")
    shell.user_ns.update(kms=kms, key_id=key_id)
    shell.run_cell("%aws kms encrypt --key-id {key_id} --plaintext aGk=")
    aws, hint = capsys.readouterr().err.splitlines()
    assert aws.startswith("An error occurred (DisabledException)")
    assert hint == outcome.hint.strip()


def test_an_escaping_kms_error_shows_aws_words_and_the_hint_not_kmssims_frames(shell, capsys):
    shell.run_cell("from kmssim import KMS\nkms = KMS(seed=1)\n"
                   "key = kms.create_key()['KeyMetadata']['KeyId']\n"
                   "blob = kms.encrypt(KeyId=key, Plaintext=b'x', EncryptionContext={'a': 'b'})"
                   "['CiphertextBlob']")
    capsys.readouterr()
    result = shell.run_cell("x = 1\nkms.decrypt(CiphertextBlob=blob)")
    # The error itself is unchanged (its name and text are what nbval would compare) ...
    assert type(result.error_in_exec).__name__ == "InvalidCiphertextException"
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "line 2: kms.decrypt(CiphertextBlob=blob)",
        "InvalidCiphertextException: An error occurred (InvalidCiphertextException) when "
        "calling the Decrypt operation: ",
        "kmssim hint: Authentication failed: the ciphertext was changed, or the "
        "EncryptionContext is not exactly (case-sensitive) the one used to encrypt. AWS does "
        "not say which.",
        "(%tb shows the full traceback)"]
    assert "kmssim/core" not in out
    # ... and %tb still shows every frame.
    shell.run_cell("%tb")
    assert "kmssim/core/ops/crypto.py" in capsys.readouterr().out


def test_importing_the_lessons_in_a_kernel_shows_errors_briefly(capsys):
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    made = interactive.InteractiveShell.instance()
    try:
        made.run_cell("import importlib, kmssim.lessons\nimportlib.reload(kmssim.lessons)")
        made.run_cell("from kmssim import KMS\nKMS().describe_key(KeyId='fake-key-id')")
        out = capsys.readouterr().out
        assert ("NotFoundException: An error occurred (NotFoundException) when calling the "
                "DescribeKey operation: Invalid keyId 'fake-key-id'") in out
        assert "Traceback" not in out and "kmssim hint: A key ID is a UUID" in out
    finally:
        interactive.InteractiveShell.clear_instance()
