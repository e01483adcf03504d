"""The KMS JSON protocol dispatcher: requests as SDKs send them, answers as AWS gives them."""

from __future__ import annotations

import base64
import inspect
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmssim import KMS
from kmssim.core import model as api
from kmssim.aws import protocol
from kmssim.aws.protocol import MAX_BODY_BYTES, dispatch


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=5)


def call(kms: KMS, operation: str, body: object = None, *,
         prefix: str = "TrentService") -> tuple[int, dict]:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body or {})
    status, headers, payload = dispatch(kms, f"{prefix}.{operation}", raw)
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert int(headers["Content-Length"]) == len(payload)
    return status, json.loads(payload)


def error_of(kms: KMS, operation: str, body: object = None, **kw: str) -> tuple[int, str]:
    status, answer = call(kms, operation, body, **kw)
    assert set(answer) == {"__type", "message"}
    # AWS sends InvalidCiphertextException without a message (recorded; tests/parity).
    assert answer["message"] or answer["__type"] == "InvalidCiphertextException"
    return status, answer["__type"]


def new_key(kms: KMS) -> str:
    return call(kms, "CreateKey")[1]["KeyMetadata"]["KeyId"]


# -- the model table -------------------------------------------------------------------
def test_every_parameter_of_the_model_is_a_keyword_of_the_core_method():
    for operation in api.OPERATIONS:
        method = inspect.unwrap(getattr(KMS, api.method_name(operation)))
        accepted = {p for p in inspect.signature(method).parameters if p != "self"}
        assert accepted == set(api.input_type(operation)["structure"]), operation


def test_names_are_derived_as_botocore_and_the_cli_derive_them():
    xform_name = pytest.importorskip("botocore").xform_name
    for operation, spec in api.OPERATIONS.items():
        assert api.method_name(operation) == xform_name(operation)
        assert api.operation_for(xform_name(operation, "-")) == operation
        for member in spec["input"]["structure"]:
            assert api.cli_option(member) == "--" + xform_name(member, "-")


def test_unmodelled_parameters_are_accepted_and_recorded_in_the_audit_trail(kms):
    key_id = new_key(kms)
    status, _ = call(kms, "Encrypt", {"KeyId": key_id, "Plaintext": "aGk=",
                                      "GrantTokens": ["token-1"]})
    assert status == 200
    assert kms.trail[-1].request["grantTokens"] == ["token-1"]
    status, _ = call(kms, "GetKeyPolicy", {"KeyId": key_id, "PolicyName": "default"})
    assert status == 200


# -- successful calls ------------------------------------------------------------------
def test_blobs_travel_as_base64_and_timestamps_as_epoch_seconds(kms):
    status, created = call(kms, "CreateKey", {"Description": "orders"})
    assert status == 200
    assert created["KeyMetadata"]["CreationDate"] == kms.now.timestamp() == 1704067200.0
    key_id = created["KeyMetadata"]["KeyId"]
    plaintext = base64.b64encode(b"card 4111").decode()
    status, sealed = call(kms, "Encrypt", {"KeyId": key_id, "Plaintext": plaintext,
                                           "EncryptionContext": {"table": "orders"}})
    assert status == 200 and base64.b64decode(sealed["CiphertextBlob"])
    status, opened = call(kms, "Decrypt", {"CiphertextBlob": sealed["CiphertextBlob"],
                                           "EncryptionContext": {"table": "orders"}})
    assert status == 200 and opened["Plaintext"] == plaintext
    assert opened["KeyId"] == created["KeyMetadata"]["Arn"]


def test_empty_response_is_an_empty_object_and_empty_body_means_no_parameters(kms):
    key_id = new_key(kms)
    assert call(kms, "EnableKeyRotation", {"KeyId": key_id}) == (200, {})
    assert call(kms, "ListKeys", b"")[1]["Keys"][0]["KeyId"] == key_id


def test_null_members_count_as_absent(kms):
    status, answer = call(kms, "CreateKey", {"Description": None, "Tags": None})
    assert status == 200 and answer["KeyMetadata"]["Description"] == ""


def test_each_call_is_audited_once_and_a_refused_request_not_at_all(kms):
    new_key(kms)
    before = len(kms.trail)
    error_of(kms, "DescribeKey", {"KeyId": "alias/missing"})
    error_of(kms, "DescribeKey", b"{not json")
    assert [e.name for e in kms.trail][before:] == ["DescribeKey"]
    assert kms.trail[-1].error_code == "NotFoundException"


# -- errors ----------------------------------------------------------------------------
@pytest.mark.parametrize("operation, body, code", [
    ("DescribeKey", {"KeyId": "alias/missing"}, "NotFoundException"),
    ("DescribeKey", {}, "ValidationException"),
    ("ScheduleKeyDeletion", {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
                             "PendingWindowInDays": 3}, "ValidationException"),
    ("Decrypt", {"CiphertextBlob": base64.b64encode(b"junk" * 10).decode()},
     "InvalidCiphertextException"),
    ("EnableKeyRotation", {"KeyId": "arn:aws:s3:::bucket"}, "InvalidArnException"),
    ("ListKeys", {"Marker": "nope"}, "InvalidMarkerException"),
    ("CreateAlias", {"AliasName": "alias/aws/mine", "TargetKeyId": "x"},
     "InvalidAliasNameException"),
    ("CreateKey", {"Origin": "AWS_CLOUDHSM"}, "UnsupportedOperationException"),
    ("CreateKey", {"Nonsense": 1}, "ValidationException"),
])
def test_simulator_errors_become_400_with_the_same_aws_code(kms, operation, body, code):
    assert error_of(kms, operation, body) == (400, code)


def test_the_error_code_is_the_one_the_direct_call_raises(kms):
    key_id = new_key(kms)
    kms.disable_key(KeyId=key_id)
    with pytest.raises(Exception) as direct:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert error_of(kms, "Encrypt", {"KeyId": key_id, "Plaintext": "eA=="}) == \
        (400, direct.value.code)


@pytest.mark.parametrize("target", [
    "", "TrentService", "TrentService.", "TrentService.DeriveSharedSecret", "TrentService.encrypt",
    "Kinesis.Encrypt", "KmsSim.Rewind", ".Encrypt", "TrentService.Encrypt.Extra",
])
def test_unknown_targets_are_unknown_operation_exceptions(kms, target):
    status, _, payload = dispatch(kms, target, b"{}")
    assert status == 400 and json.loads(payload)["__type"] == "UnknownOperationException"


def test_missing_target_header_is_an_unknown_operation(kms):
    status, _, payload = dispatch(kms, None, b"{}")
    assert (status, json.loads(payload)["__type"]) == (400, "UnknownOperationException")


@pytest.mark.parametrize("body", [
    b"{", b"[]", b"42", b'"text"', b"null", b"\xff\xfe{}", b"[" * 50_000 + b"]" * 50_000,
])
def test_bodies_that_are_not_a_json_object_are_serialization_exceptions(kms, body):
    assert error_of(kms, "ListKeys", body) == (400, "SerializationException")


@pytest.mark.parametrize("body", [
    {"KeyId": 7},
    {"KeyId": "k", "RotationPeriodInDays": "90"},
    {"KeyId": "k", "RotationPeriodInDays": True},
    {"KeyId": "k", "RotationPeriodInDays": 90.5},
    {"KeyId": ["k"]},
])
def test_members_of_the_wrong_type_are_serialization_exceptions(kms, body):
    assert error_of(kms, "EnableKeyRotation", body) == (400, "SerializationException")


@pytest.mark.parametrize("body", [
    {"KeyId": "k", "Plaintext": "not base64!"},
    {"KeyId": "k", "Plaintext": 12},
    {"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": {"a": 1}},
    {"KeyId": "k", "Plaintext": "eA==", "EncryptionContext": ["a"]},
    {"KeyId": "k", "Plaintext": "eA==", "GrantTokens": "one"},
    {"KeyId": "k", "Plaintext": "eA==", "DryRun": "yes"},
])
def test_blobs_maps_lists_and_booleans_are_type_checked(kms, body):
    assert error_of(kms, "Encrypt", body) == (400, "SerializationException")


def test_integral_floats_are_taken_as_integers(kms):
    key_id = new_key(kms)
    assert call(kms, "EnableKeyRotation", {"KeyId": key_id, "RotationPeriodInDays": 90.0}) \
        == (200, {})
    assert kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"] == 90


def test_a_body_over_the_limit_is_refused_unread(kms):
    body = json.dumps({"Description": "x" * MAX_BODY_BYTES}).encode()
    assert error_of(kms, "CreateKey", body) == (400, "ValidationException")
    assert kms.key_ids() == []


def test_a_failure_inside_the_simulator_is_a_500_not_a_crash(kms, monkeypatch, caplog):
    def broken(**_: object) -> dict:
        raise RuntimeError("bug")

    monkeypatch.setattr(kms, "list_keys", broken)
    assert error_of(kms, "ListKeys") == (500, "KMSInternalException")
    assert "bug" in caplog.text


@settings(max_examples=150, deadline=None)
@given(target=st.sampled_from([f"TrentService.{op}" for op in api.OPERATIONS]
                              + ["KmsSim.Advance", "KmsSim.Now",
                                 "TrentService.DeriveSharedSecret", ""]),
       body=st.one_of(st.binary(max_size=64),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8)
                                   | st.floats(allow_nan=False),
                                   lambda inner: st.lists(inner, max_size=3)
                                   | st.dictionaries(st.sampled_from(
                                       ["KeyId", "Plaintext", "CiphertextBlob", "Limit", "Days",
                                        "EncryptionContext", "Tags", "DryRun", "x"]), inner,
                                       max_size=4),
                                   max_leaves=8).map(lambda v: json.dumps(v).encode())))
def test_any_request_gets_a_json_answer_and_never_an_internal_failure(target, body):
    status, _, payload = dispatch(KMS(seed=1), target, body)
    answer = json.loads(payload)
    assert status in (200, 400), answer
    assert status == 200 or set(answer) == {"__type", "message"}


# -- the simulator's own operations -----------------------------------------------------
def test_advance_moves_time_and_returns_the_rotations_it_performed(kms):
    key_id = new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status, answer = call(kms, "Advance", {"Days": 180}, prefix="KmsSim")
    assert status == 200
    assert answer["Now"] == kms.now.timestamp()
    assert [(e["EventName"], e["KeyId"], e["RotationType"]) for e in answer["Events"]] == \
        [("RotateKey", key_id, "AUTOMATIC")] * 2
    assert answer["Events"][0]["EventTime"] == 1704067200.0 + 90 * 86400


def test_now_reports_the_time_and_the_next_scheduled_event(kms):
    assert call(kms, "Now", prefix="KmsSim") == (200, {"Now": 1704067200.0})
    key_id = new_key(kms)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    assert call(kms, "Now", prefix="KmsSim")[1]["NextEventTime"] == 1704067200.0 + 90 * 86400


@pytest.mark.parametrize("body, code", [
    ({"Days": -1}, "ValidationException"),
    ({"Years": 1}, "ValidationException"),
    ({"Days": "1"}, "SerializationException"),
    (b'{"Days": NaN}', "SerializationException"),
    ({"Days": 1e300}, "ValidationException"),
    ({"Days": 4_000_000}, "ValidationException"),
])
def test_bad_advances_are_refused_and_time_stays(kms, body, code):
    assert error_of(kms, "Advance", body, prefix="KmsSim") == (400, code)
    assert kms.now.timestamp() == 1704067200.0


def test_encode_drops_nones_and_converts_nested_values(kms):
    value = {"A": None, "B": [b"\x00", kms.now], "C": {"D": (1, 2)}}
    assert protocol.encode(value) == {"B": ["AA==", 1704067200.0], "C": {"D": [1, 2]}}
