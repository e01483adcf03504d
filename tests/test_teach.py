"""The lesson helpers: one-line errors, CLI-style printing, tampering, records over
time, envelope re-wrapping, and the exercises' self-checks."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest
from cryptography.exceptions import InvalidTag

from kmssim import KMS
from kmssim.core import errors
from kmssim.lessons import teach
from kmssim.core.envelope import open_with_data_key, rewrap, seal, unseal
from kmssim.lessons.exercises import EXERCISES, evaluate, expected

START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def kms() -> KMS:
    return KMS(seed="teach-tests", start=START)


@pytest.fixture
def key_id(kms: KMS) -> str:
    return kms.create_key()["KeyMetadata"]["KeyId"]


# -- attempt / expect_error ---------------------------------------------------------

def test_attempt_prints_aws_words_then_the_marked_hint_and_returns_none(kms, key_id, capsys):
    kms.disable_key(KeyId=key_id)
    result = teach.attempt(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"))
    assert result is None
    aws, hint = capsys.readouterr().out.splitlines()
    assert aws == f"DisabledException: arn:aws:kms:us-east-1:111122223333:key/{key_id} is disabled."
    assert hint.startswith("kmssim hint: ")


def test_attempt_prints_the_code_alone_where_aws_sends_no_message(kms, key_id, capsys):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"k": "v"})["CiphertextBlob"]
    teach.attempt(lambda: kms.decrypt(CiphertextBlob=blob))
    aws, hint = capsys.readouterr().out.splitlines()
    assert aws == "InvalidCiphertextException"
    assert hint.startswith("kmssim hint: ") and "EncryptionContext" in hint


def test_attempt_shows_a_param_validation_error_as_botocore_words_it(capsys):
    def refused():
        raise errors.ParamValidationError(
            "Invalid range for parameter RotationPeriodInDays, value: 89, valid min value: 90",
            hint="Automatic rotation periods are 90 to 2,560 days.")
    teach.attempt(refused)
    assert capsys.readouterr().out.splitlines() == [
        "Parameter validation failed:",
        "Invalid range for parameter RotationPeriodInDays, value: 89, valid min value: 90",
        "kmssim hint: Automatic rotation periods are 90 to 2,560 days."]


def test_attempt_returns_the_result_of_a_successful_call(kms, key_id, capsys):
    response = teach.attempt(lambda: kms.describe_key(KeyId=key_id))
    assert response["KeyMetadata"]["KeyId"] == key_id
    assert capsys.readouterr().out == ""


def test_attempt_lets_bugs_through():
    with pytest.raises(ZeroDivisionError):
        teach.attempt(lambda: 1 / 0)


def test_attempt_refuses_a_non_callable(kms, key_id):
    with pytest.raises(errors.ValidationException):
        teach.attempt(kms.describe_key(KeyId=key_id))


def test_expect_error_prints_and_swallows_the_expected_error(kms, capsys):
    with teach.expect_error("NotFoundException"):
        kms.describe_key(KeyId="alias/nothing-here")
    assert capsys.readouterr().out.startswith("NotFoundException: ")


def test_expect_error_says_so_when_nothing_fails(kms, key_id, capsys):
    with teach.expect_error("DisabledException"):
        kms.describe_key(KeyId=key_id)
    assert "No error" in capsys.readouterr().out


def test_expect_error_reraises_an_unexpected_code(kms):
    with pytest.raises(errors.NotFoundException), teach.expect_error("DisabledException"):
        kms.describe_key(KeyId="alias/nothing-here")


# -- show -----------------------------------------------------------------------------

def test_show_prints_cli_style_json_with_iso_dates(kms, key_id, capsys):
    kms.enable_key_rotation(KeyId=key_id)
    teach.show(kms.get_key_rotation_status(KeyId=key_id))
    out = capsys.readouterr().out
    assert '"KeyRotationEnabled": true' in out
    assert '"NextRotationDate": "2026-01-01T00:00:00+00:00"' in out


def test_show_never_prints_a_data_key_or_a_whole_blob(kms, key_id, capsys):
    response = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    teach.show(response)
    out = capsys.readouterr().out
    assert bytes(response["Plaintext"]).hex() not in out
    assert "<secret 32 bytes fp:" in out
    assert f"<{len(response['CiphertextBlob'])} bytes: " in out


def test_show_prints_only_the_named_fields_in_order(kms, key_id, capsys):
    teach.show(kms.describe_key(KeyId=key_id)["KeyMetadata"], "KeyState", "KeyId")
    out = capsys.readouterr().out
    assert out.index("KeyState") < out.index("KeyId") and "Arn" not in out


def test_show_names_a_missing_field(kms, key_id):
    with pytest.raises(errors.ValidationException, match="NoSuchField"):
        teach.show(kms.describe_key(KeyId=key_id), "NoSuchField")


# -- tamper -----------------------------------------------------------------------------

def test_a_tampered_record_fails_to_unseal_with_invalid_tag(kms, key_id):
    record = seal(kms, key_id, b"pay 10 EUR to Bob", {"order": "7"})
    with pytest.raises(InvalidTag):
        unseal(kms, teach.tamper(record))
    assert unseal(kms, record) == b"pay 10 EUR to Bob"   # the original is untouched


def test_a_tampered_blob_fails_to_decrypt_with_invalid_ciphertext(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    damaged = teach.tamper(blob, at=0)
    assert damaged != blob and len(damaged) == len(blob)
    with pytest.raises(errors.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=damaged)


# -- write_records -----------------------------------------------------------------------

def test_write_records_spreads_records_over_the_versions_of_a_rotating_key(kms, key_id):
    kms.enable_key_rotation(KeyId=key_id)
    records = teach.write_records(kms, key_id, 25, every_days=30)
    versions = [kms.inspect_ciphertext(r.encrypted_data_key).version for r in records]
    assert versions == [1] * 13 + [2] * 12
    assert kms.now == datetime(2026, 12, 22, tzinfo=UTC)   # 24 steps of 30 days
    assert unseal(kms, records[0]) == b"record 1"
    assert records[-1].context == {"record": "record-25"}


def test_write_records_rejects_a_negative_count(kms, key_id):
    with pytest.raises(errors.ValidationException):
        teach.write_records(kms, key_id, -1)


# -- envelope additions ---------------------------------------------------------------------

def test_rewrap_moves_the_data_key_to_current_material_and_keeps_the_record(kms, key_id):
    record = seal(kms, key_id, b"old", {"k": "v"})
    kms.rotate_key_on_demand(KeyId=key_id)
    moved = rewrap(kms, record)
    assert kms.inspect_ciphertext(moved.encrypted_data_key).version == 2
    assert moved.ciphertext == record.ciphertext
    assert moved.key_material_id == kms.describe_key(KeyId=key_id)["KeyMetadata"][
        "CurrentKeyMaterialId"]
    assert unseal(kms, moved) == b"old"


def test_rewrap_to_another_key_after_manual_rotation(kms, key_id):
    record = seal(kms, key_id, b"old")
    new_key = kms.create_key()["KeyMetadata"]
    moved = rewrap(kms, record, new_key["KeyId"])
    assert moved.key_arn == new_key["Arn"]
    kms.disable_key(KeyId=key_id)
    assert unseal(kms, moved) == b"old"


def test_a_leaked_data_key_opens_its_record_even_after_rotation_and_rewrap(kms, key_id):
    record = seal(kms, key_id, b"salary", {"employee": "7"})
    leaked = kms.decrypt(CiphertextBlob=record.encrypted_data_key,
                         EncryptionContext=record.context)["Plaintext"]
    kms.rotate_key_on_demand(KeyId=key_id)
    calls = len(kms.trail)
    assert open_with_data_key(rewrap(kms, record), leaked) == b"salary"
    assert len(kms.trail) == calls + 1   # only the ReEncrypt; the leak needs no KMS call


def test_the_wrong_data_key_does_not_open_a_record(kms, key_id):
    record = seal(kms, key_id, b"salary")
    with pytest.raises(InvalidTag):
        open_with_data_key(record, bytes(32))


def test_attempt_prints_a_local_invalid_tag_as_one_line(kms, key_id, capsys):
    record = seal(kms, key_id, b"pay 10 EUR to Bob", {"order": "7"})
    assert teach.attempt(lambda: unseal(kms, teach.tamper(record))) is None
    out = capsys.readouterr().out
    assert out.startswith("InvalidTag") and "no KMS" in out and out.count("\n") == 1


# -- exercises ----------------------------------------------------------------------------

def test_every_exercise_has_a_computed_answer_that_checks_as_right():
    for exercise_id in EXERCISES:
        answer = expected(exercise_id)
        assert answer is not None, exercise_id
        assert evaluate(exercise_id, answer).right, exercise_id


@pytest.mark.parametrize("exercise_id, answer", [
    ("1.1", "InvalidCiphertextException"), ("1.2", "ValidationException"), ("1.3", 1),
    # 2.4: enabled 2025-02-10 every 100 days -> 2025-05-21, 2025-08-29 (on-demand moves nothing)
    ("2.1", "2026-03-15"), ("2.2", 6), ("2.3", "2027-01-01"), ("2.4", "2025-08-29"),
    # 3.3: only sealing again under a new data key locks a leaked data key out;
    # 3.4: versions 1 and 2 (13 + 12 records) are more than a year old at the end;
    # 3.5: record 20 (day 570, 2026) was written under version 2.
    ("3.1", 7), ("3.2", 0), ("3.3", "reseal"), ("3.4", 25), ("3.5", 2),
    ("4.1", "UnsupportedOperationException"), ("4.2", "DisabledException"),
    ("4.3", 4), ("4.4", 3),
])
def test_the_computed_answers_are_what_aws_documents(exercise_id, answer):
    assert evaluate(exercise_id, answer).right


def test_an_unanswered_exercise_prints_its_hint(capsys):
    teach.check("2.1", None)
    out = capsys.readouterr().out
    assert out.startswith("Exercise 2.1: not answered yet — hint: ")
    assert "enabled" in out


def test_a_wrong_answer_says_not_quite_with_the_hint():
    verdict = evaluate("2.2", 10)
    assert verdict.status == "wrong" and "not quite (10)" in verdict.message
    assert "hint:" in verdict.message


def test_answers_are_accepted_in_their_natural_forms():
    assert evaluate("4.2", errors.DisabledException).right
    assert evaluate("1.1", "invalidciphertextexception").right
    assert evaluate("2.1", datetime(2026, 3, 15, 12, tzinfo=UTC)).right
    assert evaluate("3.3", "  ReSeal ").right
    assert evaluate("3.4", "25").right


def test_an_answer_of_the_wrong_kind_gets_advice_not_a_crash():
    verdict = evaluate("2.2", "six")
    assert verdict.status == "wrong" and "whole number" in verdict.message
    assert evaluate("3.3", 1).status == "wrong"   # 1 is not one of the words


def test_an_unknown_exercise_names_the_ones_that_exist():
    with pytest.raises(errors.ValidationException, match="1.1"):
        teach.check("9.9", 1)


# -- table ---------------------------------------------------------------------------------

def test_table_prints_rotations_as_aligned_columns(kms, key_id, capsys):
    kms.rotate_key_on_demand(KeyId=key_id)
    kms.advance(days=3)
    kms.rotate_key_on_demand(KeyId=key_id)
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    teach.table(rotations, "RotationDate", "RotationType", "KeyMaterialState", "KeyMaterialId")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RotationDate", "RotationType", "KeyMaterialState",
                                "KeyMaterialId"]
    assert lines[1].startswith("2025-01-01 00:00  ON_DEMAND     NON_CURRENT")
    assert lines[2].startswith("2025-01-04 00:00  ON_DEMAND     CURRENT")
    assert lines[2].endswith(rotations[1]["KeyMaterialId"][:8] + "…")


def test_table_marks_missing_fields_and_empty_lists(kms, key_id, capsys):
    rows = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    teach.table(rows, "KeyMaterialState", "RotationType")
    assert capsys.readouterr().out.splitlines()[1].split() == ["CURRENT", "-"]
    teach.table([])
    assert capsys.readouterr().out == "(no entries)\n"
