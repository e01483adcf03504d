"""Parity with real AWS KMS for parameter validation: recorded scenarios replayed through
`kmssim.bridge.client` (real boto3, in process) and compared on error code and exact message.

Each scenario cites its recording in /work/research/aws_kms_recordings.json (id) and the
public source it comes from: localstack's AWS-validated snapshot
tests/aws/services/kms/test_kms.snapshot.json (commit 931e0a25f8633537fa7d3aa4b520b978128ff103;
the snapshot key and test named at each case), or a GitHub issue quoting a real AWS answer.
Recordings made with client validation off are replayed with
``Config(parameter_validation=False)``. Enum lists are compared as sets, and a recording
older than the model loses to the model: AWS has added key specs and usages since 2023, so
the recorded enum must be a subset of the model's, and kmssim lists the model's whole enum.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from kmssim import KMS
from kmssim.aws.bridge import client
from kmssim.core import model as api

SNAPSHOT = "localstack tests/aws/services/kms/test_kms.snapshot.json @ 931e0a25"


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    kms = KMS(seed=2023)
    aws = client(kms)
    raw = client(kms, config=Config(parameter_validation=False,
                                    retries={"total_max_attempts": 1}))
    symmetric = aws.create_key()["KeyMetadata"]["KeyId"]
    hmac = aws.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"][
        "KeyId"]
    return {"kms": kms, "aws": aws, "raw": raw, "key": symmetric, "hmac": hmac}


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def enum_of(message: str) -> tuple[str, set[str]]:
    """(the message up to the enum list, the set of values listed)."""
    head, _, rest = message.partition("Member must satisfy enum value set: [")
    assert rest.endswith("]"), message
    return head, set(rest[:-1].split(", "))


# -- exact messages ------------------------------------------------------------------------------
EXACT = [
    # generate_random_missing_number_of_bytes: TestKMS::test_generate_random_invalid_number_of_bytes
    # [None], snapshot key generate-random-exc; recorded with parameter_validation=False.
    ("generate_random_missing_number_of_bytes", "raw",
     lambda w: w["raw"].generate_random(),
     "ValidationException", "NumberOfBytes is required."),
    # generate_random_zero_bytes: same test [0], validation off.
    ("generate_random_zero_bytes", "raw",
     lambda w: w["raw"].generate_random(NumberOfBytes=0),
     "ValidationException", "1 validation error detected: Value '0' at 'numberOfBytes' failed "
     "to satisfy constraint: Member must have value greater than or equal to 1"),
    # generate_random_1025_bytes: same test [1025], validation off.
    ("generate_random_1025_bytes", "raw",
     lambda w: w["raw"].generate_random(NumberOfBytes=1025),
     "ValidationException", "1 validation error detected: Value '1025' at 'numberOfBytes' "
     "failed to satisfy constraint: Member must have value less than or equal to 1024"),
    # encrypt_plaintext_over_4096: TestKMS::test_plaintext_size_for_encrypt, snapshot key
    # invalid-plaintext-size-encrypt (4,400 bytes; a blob's value is not echoed).
    ("encrypt_plaintext_over_4096", "aws",
     lambda w: w["aws"].encrypt(KeyId=w["key"],
                                Plaintext=(b"test message 123 !%$@ 1234567890" * 200)[:4400]),
     "ValidationException", "1 validation error detected: Value at 'plaintext' failed to "
     "satisfy constraint: Member must have length less than or equal to 4096"),
    # create_key_tag_key_too_long: TestKMS::test_create_key_with_invalid_tag_key[too_long_key],
    # snapshot key invalid-tag-key (list members as 'tags.1.member.tagKey').
    ("create_key_tag_key_too_long", "aws",
     lambda w: w["aws"].create_key(Description="test key 123", KeyUsage="ENCRYPT_DECRYPT",
                                   Tags=[{"TagKey": "a" * 129, "TagValue": "value1"}]),
     "ValidationException", "1 validation error detected: Value '" + "a" * 129 + "' at "
     "'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than "
     "or equal to 128"),
    # create_key_tag_value_too_long: TestKMS::test_key_with_long_tag_value_raises_error.
    ("create_key_tag_value_too_long", "aws",
     lambda w: w["aws"].create_key(Description="test key 123", KeyUsage="ENCRYPT_DECRYPT",
                                   Tags=[{"TagKey": "tag1", "TagValue": "v" * 257}]),
     "ValidationException", "1 validation error detected: Value '" + "v" * 257 + "' at "
     "'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less "
     "than or equal to 256"),
    # create_key_hmac_without_key_usage: TestKMS::test_hmac_create_key_invalid_operations,
    # snapshot key create-hmac-key-without-key-usage.
    ("create_key_hmac_without_key_usage", "aws",
     lambda w: w["aws"].create_key(Description="test HMAC key without key usage",
                                   KeySpec="HMAC_256"),
     "ValidationException", "You must specify a KeyUsage value for all KMS keys except for "
     "symmetric encryption keys."),
    # create_key_key_agreement_with_rsa: TestKMS::test_derive_shared_secret, snapshot key
    # response-invalid-key-spec (no final period).
    ("create_key_key_agreement_with_rsa", "aws",
     lambda w: w["aws"].create_key(KeySpec="RSA_2048", KeyUsage="KEY_AGREEMENT"),
     "ValidationException", "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"),
]


@pytest.mark.parametrize("call, code, message",
                         [pytest.param(c, code, m, id=i) for i, _, c, code, m in EXACT])
def test_recorded_validation_errors_match_exactly(world, call, code: str, message: str) -> None:
    events = len(world["kms"].trail)
    assert error_of(lambda: call(world)) == (code, message)
    # The request reached the service: CloudTrail has it, with AWS's message.
    [event] = list(world["kms"].trail)[events:]
    assert (event.error_code, event.error_message) == (code, message)


# -- RSA plaintext limits (a rule across KeySpec, algorithm and plaintext length) -----------------
# encrypt_rsa_plaintext_too_large_*: TestKMS::test_encrypt_validate_plaintext_size_per_key_type
# [<spec>-<algorithm>], 1,200 bytes of plaintext.
@pytest.mark.parametrize("spec, algorithm, limit", [
    ("RSA_2048", "RSAES_OAEP_SHA_1", 214), ("RSA_2048", "RSAES_OAEP_SHA_256", 190),
    ("RSA_3072", "RSAES_OAEP_SHA_1", 342), ("RSA_3072", "RSAES_OAEP_SHA_256", 318),
    ("RSA_4096", "RSAES_OAEP_SHA_1", 470), ("RSA_4096", "RSAES_OAEP_SHA_256", 446)])
def test_rsa_plaintext_limits_match_the_recordings(world, spec: str, algorithm: str,
                                                   limit: int) -> None:
    keys = world.setdefault("rsa", {})
    if spec not in keys:
        keys[spec] = world["aws"].create_key(KeySpec=spec, KeyUsage="ENCRYPT_DECRYPT")[
            "KeyMetadata"]["KeyId"]
    plaintext = (b"more than 500 bytes and less than 4096 bytes" * 20)[:1200]
    assert error_of(lambda: world["aws"].encrypt(
        KeyId=keys[spec], Plaintext=plaintext, EncryptionAlgorithm=algorithm)) == (
        "ValidationException", f"Algorithm {algorithm} and key spec {spec} cannot encrypt data "
        f"larger than {limit} bytes.")


# -- enums (compared as sets; the model's list is the whole enum) ---------------------------------
ENUMS = [
    # create_key_invalid_key_spec_enum: TestKMS::test_hmac_create_key_invalid_operations,
    # snapshot key create-hmac-key-invalid-spec (recorded 13-04-2023, 12 specs).
    ("create_key_invalid_key_spec_enum", "CreateKey", "KeySpec",
     lambda w: w["aws"].create_key(Description="test invalid HMAC spec", KeySpec="HMAC_random"),
     "1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to satisfy "
     "constraint: ",
     {"RSA_2048", "ECC_NIST_P384", "ECC_NIST_P256", "ECC_NIST_P521", "HMAC_384", "RSA_3072",
      "ECC_SECG_P256K1", "RSA_4096", "SYMMETRIC_DEFAULT", "HMAC_256", "HMAC_224", "HMAC_512"}),
    # create_key_invalid_key_usage_enum: same test, create-hmac-key-invalid-key-usage (only
    # the enum error is reported although the KeySpec/KeyUsage pair is also wrong).
    ("create_key_invalid_key_usage_enum", "CreateKey", "KeyUsage",
     lambda w: w["aws"].create_key(Description="test invalid HMAC spec", KeySpec="HMAC_256",
                                   KeyUsage="RANDOM"),
     "1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy constraint: ",
     {"ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"}),
    # generate_mac_invalid_algorithm_enum: TestKMS::test_invalid_generate_mac[HMAC_256-INVALID].
    ("generate_mac_invalid_algorithm_enum", "GenerateMac", "MacAlgorithm",
     lambda w: w["aws"].generate_mac(KeyId=w["hmac"], Message=b"some important message",
                                     MacAlgorithm="INVALID"),
     "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy "
     "constraint: ", {"HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"}),
    # verify_mac_invalid_algorithm_enum: TestKMS::test_invalid_verify_mac[HMAC_256-INVALID-...].
    ("verify_mac_invalid_algorithm_enum", "VerifyMac", "MacAlgorithm",
     lambda w: w["aws"].verify_mac(KeyId=w["hmac"], Message=b"some important message",
                                   MacAlgorithm="INVALID", Mac=b"\x00" * 32),
     "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy "
     "constraint: ", {"HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"}),
    # list_key_rotations_include_material_invalid_enum: TestKMS::
    # test_list_key_rotations_include_key_material (recorded 15/16-07-2025, localstack branch
    # commit 5ec95efd58651aa7ffe36ed82000b91e5140dc4a).
    ("list_key_rotations_include_material_invalid_enum", "ListKeyRotations",
     "IncludeKeyMaterial",
     lambda w: w["aws"].list_key_rotations(KeyId=w["key"], IncludeKeyMaterial="INVALID_VALUE"),
     "1 validation error detected: Value 'INVALID_VALUE' at 'includeKeyMaterial' failed to "
     "satisfy constraint: ", {"ALL_KEY_MATERIAL", "ROTATIONS_ONLY"}),
]


@pytest.mark.parametrize("operation, member, call, head, recorded",
                         [pytest.param(*case[1:], id=case[0]) for case in ENUMS])
def test_recorded_enum_errors_match_with_the_models_whole_enum(
        world, operation: str, member: str, call, head: str, recorded: set[str]) -> None:
    code, message = error_of(lambda: call(world))
    assert code == "ValidationException"
    got_head, listed = enum_of(message)
    assert got_head == head
    model = set(api.input_rules(operation)["members"][member]["enum"])
    assert listed == model
    assert recorded <= model                     # the recording is older, never wider


# -- what botocore refuses on the client, and what reaches the server ----------------------------
def test_a_period_of_89_days_is_botocores_error_and_2561_the_services(world) -> None:
    # botocore/validate.py: range_check on RotationPeriodInDaysType (min 90) and
    # ValidationErrors._format_error('invalid range'); botocore never checks the max 2560.
    with pytest.raises(ParamValidationError) as raised:
        world["aws"].enable_key_rotation(KeyId=world["key"], RotationPeriodInDays=89)
    assert str(raised.value) == ("Parameter validation failed:\nInvalid value for parameter "
                                 "RotationPeriodInDays, value: 89, valid min value: 90")
    events = len(world["kms"].trail)
    assert error_of(lambda: world["aws"].enable_key_rotation(
        KeyId=world["key"], RotationPeriodInDays=2561)) == (
        "ValidationException", "1 validation error detected: Value '2561' at "
        "'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than "
        "or equal to 2560")
    assert len(world["kms"].trail) == events + 1


def test_the_direct_api_words_client_errors_exactly_as_botocore(world) -> None:
    from kmssim.core.errors import ParamValidationError as KmssimParamValidationError
    kms, aws = world["kms"], world["aws"]
    cases = [dict(KeyId=world["key"], RotationPeriodInDays=89), dict(RotationPeriodInDays=90),
             dict(KeyId=1), dict(KeyId=world["key"], Foo=1), dict(KeyId="")]
    for kwargs in cases:
        with pytest.raises(ParamValidationError) as theirs:
            aws.enable_key_rotation(**kwargs)
        with pytest.raises(KmssimParamValidationError) as ours:
            kms.enable_key_rotation(**kwargs)
        assert str(ours.value) == str(theirs.value), kwargs


def test_a_malformed_key_id_over_the_wire_gets_the_services_minimum_length_error(world) -> None:
    # A real AWS answer quoted in stelligent/mu#382 (2018): KeyId '' sent by a Go SDK.
    assert error_of(lambda: world["raw"].describe_key(KeyId="")) == (
        "ValidationException", "1 validation error detected: Value '' at 'keyId' failed to "
        "satisfy constraint: Member must have length greater than or equal to 1")


def test_alias_names_must_match_the_pattern_in_full(world) -> None:
    # The model's AliasNameType pattern; kmssim matches it in full, as Java's matches() does.
    code, message = error_of(lambda: world["aws"].create_alias(AliasName="alias/x\n",
                                                               TargetKeyId=world["key"]))
    assert code == "ValidationException"
    assert re.fullmatch(r"1 validation error detected: Value 'alias/x\n' at 'aliasName' failed "
                        r"to satisfy constraint: Member must satisfy regular expression "
                        r"pattern: \^\[a-zA-Z0-9:/_-\]\+\$", message)
