"""Issue 10's validation items, one test each: wrong types never slip through as defaults,
never raise a raw exception, lone surrogates change nothing, secrets never reach a message.
(The property tests in test_validation_property.py cover the same classes generally.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kmssim import KMS
from kmssim.aws import protocol
from kms_support import state_without_trail
from kmssim.core.errors import ParamValidationError, ValidationException


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=10)


def key_of(kms: KMS, **kwargs: Any) -> str:
    return kms.create_key(**kwargs)["KeyMetadata"]["KeyId"]


def state(kms: KMS) -> dict[str, Any]:
    return {**state_without_trail(kms), "trail": None}


# -- item 9: wrong types ----------------------------------------------------------------------------
def test_an_unhashable_algorithm_on_an_rsa_key_is_a_parameter_error_not_a_type_error(
        kms: KMS) -> None:
    rsa = key_of(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    with pytest.raises(ParamValidationError, match=r"Invalid type for parameter "
                       r"EncryptionAlgorithm, value: \[\], type: <class 'list'>"):
        kms.encrypt(KeyId=rsa, Plaintext=b"x", EncryptionAlgorithm=[])


def test_wrong_typed_values_never_stand_for_the_defaults(kms: KMS) -> None:
    with pytest.raises(ParamValidationError) as raised:
        kms.create_key(KeySpec="", KeyUsage=0, Description=[], Tags={})
    # botocore reports every member it refuses; KeySpec "" is the service's to refuse.
    assert raised.value.report.split("\n") == [
        "Invalid type for parameter KeyUsage, value: 0, type: <class 'int'>, valid types: "
        "<class 'str'>",
        "Invalid type for parameter Description, value: [], type: <class 'list'>, valid types: "
        "<class 'str'>",
        "Invalid type for parameter Tags, value: {}, type: <class 'dict'>, valid types: "
        "<class 'list'>, <class 'tuple'>"]
    with pytest.raises(ValidationException, match="at 'keySpec' failed to satisfy constraint: "
                                                  "Member must satisfy enum value set"):
        kms.create_key(KeySpec="")
    assert kms.list_keys()["Keys"] == []


@pytest.mark.parametrize("call, error", [
    (lambda k, key: k.list_key_rotations(KeyId=key, IncludeKeyMaterial=""), ValidationException),
    (lambda k, key: k.list_key_rotations(KeyId=key, IncludeKeyMaterial=0), ParamValidationError),
    (lambda k, key: k.encrypt(KeyId=key, Plaintext=b"x", DryRun="yes"), ParamValidationError),
    (lambda k, key: k.encrypt(KeyId=key, Plaintext=b"x", DryRun=1), ParamValidationError),
    (lambda k, key: k.create_key(MultiRegion="no"), ParamValidationError),
    (lambda k, key: k.create_key(MultiRegion=0), ParamValidationError),
    (lambda k, key: k.encrypt(KeyId=key, Plaintext=b"x", GrantTokens="token"),
     ParamValidationError),
    (lambda k, key: k.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=[1]), ParamValidationError),
    (lambda k, key: k.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=[""]),
     ParamValidationError),                                   # GrantTokenType: min length 1
    (lambda k, key: k.encrypt(KeyId=key, Plaintext=b"x", GrantTokens=["t"] * 11),
     ValidationException),                                    # GrantTokenList: at most 10
    (lambda k, key: k.create_alias(AliasName="alias/x\n", TargetKeyId=key), ValidationException),
])
def test_every_parameter_is_checked_before_anything_changes(kms: KMS, call, error) -> None:
    key = key_of(kms)
    before = state(kms)
    before.pop("trail")
    with pytest.raises(error):
        call(kms, key)
    after = state(kms)
    after.pop("trail")
    assert after == before


@pytest.mark.parametrize("region", ["us-east-1:999", "us-east-1\n", "US-EAST-1", "", 1])
def test_a_region_must_be_a_region_name(region) -> None:
    with pytest.raises(ValidationException):
        KMS(region=region)


# -- item 1: lone surrogates ------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {"Plaintext": b"x", "EncryptionContext": {"a": "\ud800"}},
    {"Plaintext": b"x", "EncryptionContext": {"\udfff": "a"}},
    {"Plaintext": "secret \ud800"},
])
def test_a_lone_surrogate_is_refused_before_the_nonce_or_the_stream_moves(kms: KMS,
                                                                         kwargs) -> None:
    key = key_of(kms)
    before, events = state(kms), len(kms.trail)
    with pytest.raises(ParamValidationError, match="lone surrogate") as raised:
        kms.encrypt(KeyId=key, **kwargs)
    assert state(kms) == before and len(kms.trail) == events
    str(raised.value).encode("utf-8")            # the message itself prints anywhere
    with pytest.raises(ParamValidationError, match="lone surrogate"):
        kms.decrypt(CiphertextBlob="\ud800")


def test_a_lone_surrogate_over_http_is_a_400_and_changes_nothing(kms: KMS) -> None:
    key = key_of(kms)
    before = state(kms)
    body = '{"KeyId": "%s", "Plaintext": "eA==", "EncryptionContext": {"a": "\\ud800"}}' % key
    status, _, payload = protocol.dispatch(kms, "TrentService.Encrypt", body)
    assert status == 400 and json.loads(payload)["__type"] == "SerializationException"
    assert state(kms) == before


# -- item 11: secrets never rendered -------------------------------------------------------------------
def test_data_key_bytes_passed_as_a_string_are_never_echoed(kms: KMS) -> None:
    key = key_of(kms)
    data_key = bytes(kms.generate_data_key(KeyId=key, KeySpec="AES_256")["Plaintext"])
    with pytest.raises(ParamValidationError) as raised:
        kms.describe_key(KeyId=data_key)
    assert "value: <32 bytes>, type: <class 'bytes'>" in str(raised.value)
    assert repr(data_key) not in str(raised.value) and repr(data_key)[2:-1] not in str(
        raised.value)
    events = len(kms.trail)
    with pytest.raises(ValidationException) as too_long:   # reaches the service, and the trail
        kms.encrypt(KeyId=key, Plaintext=data_key * 200)
    assert too_long.value.message == (
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
        "Member must have length less than or equal to 4096")
    [event] = list(kms.trail)[events:]
    assert repr(data_key)[2:-1] not in json.dumps(event.to_cloudtrail())


def test_a_misspelled_member_is_recorded_by_name_only(kms: KMS) -> None:
    key = key_of(kms)
    card = "4111 1111 1111 1111"
    events = len(kms.trail)
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "PlainText"'):
        kms.encrypt(KeyId=key, PlainText=card)
    assert len(kms.trail) == events                        # botocore never sends it
    body = json.dumps({"KeyId": key, "Plaintext": "eA==", "PlainText": card})
    status, _, payload = protocol.dispatch(kms, "TrentService.Encrypt", body)
    assert status == 400 and json.loads(payload)["__type"] == "ValidationException"
    [event] = list(kms.trail)[events:]
    assert event.request["plainText"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert card not in json.dumps(event.to_cloudtrail())


def test_a_wrong_json_type_is_a_serialization_error_that_changes_nothing(kms: KMS) -> None:
    before, events = state(kms), len(kms.trail)
    status, _, payload = protocol.dispatch(kms, "TrentService.DescribeKey", '{"KeyId": 5}')
    assert status == 400 and json.loads(payload)["__type"] == "SerializationException"
    assert state(kms) == before and len(kms.trail) == events


def test_a_marker_with_a_non_ascii_digit_is_an_invalid_marker_not_a_crash(kms: KMS) -> None:
    from kmssim.core.errors import InvalidMarkerException
    with pytest.raises(InvalidMarkerException):
        kms.list_keys(Marker="kmssim:²")     # "²".isdigit() is True, int("²") fails


def test_members_the_model_leaves_optional_are_never_a_python_type_error(kms: KMS) -> None:
    # ReEncrypt's model requires only DestinationKeyId: a call without CiphertextBlob reaches
    # the service, which refuses it as Decrypt does, never with a bare TypeError.
    key = key_of(kms)
    with pytest.raises(ValidationException, match="CiphertextBlob"):
        kms.re_encrypt(DestinationKeyId=key)
