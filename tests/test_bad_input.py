"""Bad input, table-driven: each case raises the AWS-named exception and changes nothing.

"Changes nothing" means: everything `KMS.save` writes (keys, every material, states,
schedules, aliases, the clock and its queue, the seeded stream's position, the nonce
counter, the principal) is identical before and after the failed call. The audit trail
is the one exception, by design: a failed *operation* appends exactly one event carrying
its error code, and every earlier event is untouched. A failed simulator-only call
(advance, load, history, inspect_ciphertext, seal/unseal's own checks) appends nothing,
and neither does what botocore refuses on the client before sending anything
(ParamValidationError, or TypeError for positional arguments): AWS never sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kmssim import KMS
from kmssim.core.envelope import seal, unseal
from kmssim.core.errors import (
    AccessDeniedException, AlreadyExistsException, ConflictException, CorruptScenarioError,
    DisabledException,
    DryRunOperationException, IncorrectKeyException, InvalidAliasNameException,
    InvalidArnException, InvalidCiphertextException, InvalidKeyUsageException,
    InvalidMarkerException, KMSError, KMSInvalidMacException, KMSInvalidStateException,
    LimitExceededException, NotFoundException, UnsupportedOperationException,
    ParamValidationError, ValidationException,
)
from kms_support import new_key, saved_state, utc

CONTEXT = {"Department": "Finance"}
ARN = "arn:aws:kms:us-east-1:111122223333:key/"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """One scenario holding a key in every state the cases need, saved to a file."""
    tmp_path = tmp_path_factory.mktemp("bad-input")
    kms = KMS(seed=31, start=utc(2024, 1, 1))
    s = SimpleNamespace()
    s.sym, s.other, s.near, s.disabled, s.pending, s.exhausted, s.full, s.gone = (
        new_key(kms) for _ in range(8))
    s.rsa = new_key(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    s.hmac = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    s.managed = kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=s.sym)
    kms.create_alias(AliasName="alias/rsa", TargetKeyId=s.rsa)
    for n in range(50):
        kms.create_alias(AliasName=f"alias/full-{n}", TargetKeyId=s.full)
    kms.enable_key_rotation(KeyId=s.sym)
    kms.enable_key_rotation(KeyId=s.near, RotationPeriodInDays=90)
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=s.exhausted)
    s.blob = kms.encrypt(KeyId=s.sym, Plaintext=b"payroll", EncryptionContext=CONTEXT)[
        "CiphertextBlob"]
    s.disabled_blob = kms.encrypt(KeyId=s.disabled, Plaintext=b"x")["CiphertextBlob"]
    s.gone_blob = kms.encrypt(KeyId=s.gone, Plaintext=b"x")["CiphertextBlob"]
    s.record = seal(kms, s.sym, b"record", CONTEXT)
    s.mac = kms.generate_mac(KeyId=s.hmac, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    kms.disable_key(KeyId=s.disabled)
    kms.schedule_key_deletion(KeyId=s.gone, PendingWindowInDays=7)
    # Stop 10 minutes before `near` rotates: on-demand rotation of it must conflict.
    kms.advance_to(utc(2024, 1, 1) + timedelta(days=90, minutes=-10))
    kms.schedule_key_deletion(KeyId=s.pending)
    s.foreign = KMS(seed=99)
    s.foreign_blob = s.foreign.encrypt(KeyId=new_key(s.foreign), Plaintext=b"x")["CiphertextBlob"]
    s.saved = tmp_path / "scenario.json"
    kms.save(s.saved)
    s.corrupt = tmp_path / "corrupt.json"
    s.corrupt.write_text(s.saved.read_text()[:-40])
    return s


@pytest.fixture
def s(scenario: SimpleNamespace, tmp_path: Path) -> SimpleNamespace:
    """A fresh copy of the scenario for one case (loading is much faster than building)."""
    return SimpleNamespace(**vars(scenario), kms=KMS.load(scenario.saved), tmp=tmp_path)


def flipped(blob: bytes, index: int) -> bytes:
    return blob[:index] + bytes((blob[index] ^ 0x40,)) + blob[index + 1:]


def advance_nan(s):
    return s.kms.advance(days=float("nan"))


Call = Callable[[SimpleNamespace], Any]
CASES: list[tuple[str, Call, type[Exception]]] = [
    # -- naming keys -------------------------------------------------------------------
    ("unknown-key-id", lambda s: s.kms.describe_key(
        KeyId="1234abcd-12ab-34cd-56ef-1234567890ab"), NotFoundException),
    ("unknown-alias", lambda s: s.kms.encrypt(KeyId="alias/nope", Plaintext=b"x"),
     NotFoundException),
    ("unknown-aws-alias", lambda s: s.kms.describe_key(KeyId="alias/aws/nope"),
     NotFoundException),
    ("malformed-arn", lambda s: s.kms.describe_key(KeyId="arn:aws:kms:us-east-1:111122223333"),
     InvalidArnException),
    ("arn-of-another-service", lambda s: s.kms.describe_key(KeyId="arn:aws:s3:::bucket/key"),
     InvalidArnException),
    ("arn-of-another-region", lambda s: s.kms.describe_key(
        KeyId=f"arn:aws:kms:eu-west-1:111122223333:key/{s.sym}"), NotFoundException),
    ("arn-of-another-account", lambda s: s.kms.encrypt(
        KeyId=f"arn:aws:kms:us-east-1:444455556666:key/{s.sym}", Plaintext=b"x"),
     NotFoundException),
    ("empty-key-id", lambda s: s.kms.describe_key(KeyId=""), ParamValidationError),
    ("bytes-key-id", lambda s: s.kms.describe_key(KeyId=s.sym.encode()), ParamValidationError),
    ("alias-for-disable-key", lambda s: s.kms.disable_key(KeyId="alias/app"), NotFoundException),
    ("alias-for-rotation", lambda s: s.kms.enable_key_rotation(KeyId="alias/app"),
     NotFoundException),
    ("alias-arn-for-deletion", lambda s: s.kms.schedule_key_deletion(
        KeyId="arn:aws:kms:us-east-1:111122223333:alias/app"), NotFoundException),
    # -- aliases --------------------------------------------------------------------
    ("alias-without-prefix", lambda s: s.kms.create_alias(AliasName="app2", TargetKeyId=s.sym),
     ValidationException),
    ("alias-with-space", lambda s: s.kms.create_alias(AliasName="alias/my app",
                                                      TargetKeyId=s.sym),
     ValidationException),
    ("reserved-aws-alias", lambda s: s.kms.create_alias(AliasName="alias/aws/mine",
                                                        TargetKeyId=s.sym),
     InvalidAliasNameException),
    ("alias-exists", lambda s: s.kms.create_alias(AliasName="alias/app", TargetKeyId=s.other),
     AlreadyExistsException),
    ("alias-target-is-alias", lambda s: s.kms.create_alias(AliasName="alias/b",
                                                           TargetKeyId="alias/app"),
     NotFoundException),
    ("alias-target-pending", lambda s: s.kms.create_alias(AliasName="alias/b",
                                                          TargetKeyId=s.pending),
     KMSInvalidStateException),
    ("fifty-first-alias", lambda s: s.kms.create_alias(AliasName="alias/full-50",
                                                       TargetKeyId=s.full),
     LimitExceededException),
    ("update-alias-other-type", lambda s: s.kms.update_alias(AliasName="alias/app",
                                                             TargetKeyId=s.rsa),
     ValidationException),
    ("update-alias-to-managed", lambda s: s.kms.update_alias(AliasName="alias/app",
                                                             TargetKeyId=s.managed),
     AccessDeniedException),   # AWS managed keys' policy: the account may only read them
    ("update-unknown-alias", lambda s: s.kms.update_alias(AliasName="alias/nope",
                                                          TargetKeyId=s.sym),
     NotFoundException),
    ("delete-unknown-alias", lambda s: s.kms.delete_alias(AliasName="alias/nope"),
     NotFoundException),
    # -- rotation -------------------------------------------------------------------
    ("period-89", lambda s: s.kms.enable_key_rotation(KeyId=s.sym, RotationPeriodInDays=89),
     ParamValidationError),
    ("period-2561", lambda s: s.kms.enable_key_rotation(KeyId=s.sym, RotationPeriodInDays=2561),
     ValidationException),
    ("period-bool", lambda s: s.kms.enable_key_rotation(KeyId=s.sym, RotationPeriodInDays=True),
     ParamValidationError),
    ("period-str", lambda s: s.kms.enable_key_rotation(KeyId=s.sym, RotationPeriodInDays="365"),
     ParamValidationError),
    ("26th-on-demand", lambda s: s.kms.rotate_key_on_demand(KeyId=s.exhausted),
     LimitExceededException),
    ("on-demand-near-automatic", lambda s: s.kms.rotate_key_on_demand(KeyId=s.near),
     ConflictException),
    ("rotate-disabled", lambda s: s.kms.rotate_key_on_demand(KeyId=s.disabled),
     DisabledException),
    ("rotation-on-disabled", lambda s: s.kms.enable_key_rotation(KeyId=s.disabled),
     DisabledException),
    ("rotation-on-pending", lambda s: s.kms.disable_key_rotation(KeyId=s.pending),
     KMSInvalidStateException),
    ("rotation-on-rsa", lambda s: s.kms.enable_key_rotation(KeyId=s.rsa),
     UnsupportedOperationException),
    ("on-demand-hmac", lambda s: s.kms.rotate_key_on_demand(KeyId=s.hmac),
     UnsupportedOperationException),
    ("on-demand-managed", lambda s: s.kms.rotate_key_on_demand(KeyId=s.managed),
     AccessDeniedException),
    ("list-rotations-bad-choice", lambda s: s.kms.list_key_rotations(
        KeyId=s.sym, IncludeKeyMaterial="EVERYTHING"), ValidationException),
    # -- encrypt and data keys --------------------------------------------------------
    ("plaintext-0-bytes", lambda s: s.kms.encrypt(KeyId=s.sym, Plaintext=b""),
     ValidationException),
    ("plaintext-4097-bytes", lambda s: s.kms.encrypt(KeyId=s.sym, Plaintext=b"x" * 4097),
     ValidationException),
    ("plaintext-int", lambda s: s.kms.encrypt(KeyId=s.sym, Plaintext=7), ParamValidationError),
    ("context-not-a-dict", lambda s: s.kms.encrypt(KeyId=s.sym, Plaintext=b"x",
                                                   EncryptionContext="a=b"),
     ParamValidationError),
    ("context-int-value", lambda s: s.kms.encrypt(KeyId=s.sym, Plaintext=b"x",
                                                  EncryptionContext={"a": 1}),
     ParamValidationError),
    ("number-of-bytes-0", lambda s: s.kms.generate_data_key(KeyId=s.sym, NumberOfBytes=0),
     ParamValidationError),
    ("number-of-bytes-1025", lambda s: s.kms.generate_data_key(KeyId=s.sym, NumberOfBytes=1025),
     ValidationException),
    ("key-spec-and-number-of-bytes", lambda s: s.kms.generate_data_key(
        KeyId=s.sym, KeySpec="AES_256", NumberOfBytes=32), ValidationException),
    ("neither-key-spec-nor-bytes", lambda s: s.kms.generate_data_key(KeyId=s.sym),
     ValidationException),
    ("data-key-spec-aes-512", lambda s: s.kms.generate_data_key(KeyId=s.sym, KeySpec="AES_512"),
     ValidationException),
    ("data-key-from-rsa", lambda s: s.kms.generate_data_key(KeyId=s.rsa, KeySpec="AES_256"),
     InvalidKeyUsageException),
    ("encrypt-with-hmac", lambda s: s.kms.encrypt(KeyId=s.hmac, Plaintext=b"x"),
     InvalidKeyUsageException),
    ("rsa-algorithm-on-symmetric", lambda s: s.kms.encrypt(
        KeyId=s.sym, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1"),
     InvalidKeyUsageException),
    ("rsa-plaintext-too-long", lambda s: s.kms.encrypt(
        KeyId=s.rsa, Plaintext=b"x" * 215, EncryptionAlgorithm="RSAES_OAEP_SHA_1"),
     ValidationException),
    ("encrypt-disabled", lambda s: s.kms.encrypt(KeyId=s.disabled, Plaintext=b"x"),
     DisabledException),
    ("data-key-pending", lambda s: s.kms.generate_data_key(KeyId=s.pending, KeySpec="AES_256"),
     KMSInvalidStateException),
    ("dry-run", lambda s: s.kms.generate_data_key(KeyId=s.sym, KeySpec="AES_256", DryRun=True),
     DryRunOperationException),
    ("random-0-bytes", lambda s: s.kms.generate_random(NumberOfBytes=0), ParamValidationError),
    # -- decrypt ------------------------------------------------------------------------
    ("wrong-context", lambda s: s.kms.decrypt(CiphertextBlob=s.blob,
                                              EncryptionContext={"Department": "HR"}),
     InvalidCiphertextException),
    ("missing-context", lambda s: s.kms.decrypt(CiphertextBlob=s.blob),
     InvalidCiphertextException),
    ("case-changed-context", lambda s: s.kms.decrypt(CiphertextBlob=s.blob,
                                                     EncryptionContext={"department": "Finance"}),
     InvalidCiphertextException),
    ("truncated-blob", lambda s: s.kms.decrypt(CiphertextBlob=s.blob[:-1],
                                               EncryptionContext=CONTEXT),
     InvalidCiphertextException),
    ("header-only-blob", lambda s: s.kms.decrypt(CiphertextBlob=s.blob[:61],
                                                 EncryptionContext=CONTEXT),
     InvalidCiphertextException),
    ("tampered-body", lambda s: s.kms.decrypt(CiphertextBlob=flipped(s.blob, 70),
                                              EncryptionContext=CONTEXT),
     InvalidCiphertextException),
    ("tampered-key-id", lambda s: s.kms.decrypt(CiphertextBlob=flipped(s.blob, 5),
                                                EncryptionContext=CONTEXT),
     InvalidCiphertextException),
    ("tampered-material-id", lambda s: s.kms.decrypt(CiphertextBlob=flipped(s.blob, 30),
                                                     EncryptionContext=CONTEXT),
     InvalidCiphertextException),
    ("tampered-format-byte", lambda s: s.kms.decrypt(CiphertextBlob=flipped(s.blob, 0),
                                                     EncryptionContext=CONTEXT),
     InvalidCiphertextException),
    ("foreign-blob", lambda s: s.kms.decrypt(CiphertextBlob=s.foreign_blob),
     InvalidCiphertextException),
    ("empty-blob", lambda s: s.kms.decrypt(CiphertextBlob=b""), ValidationException),
    ("blob-over-6144-bytes", lambda s: s.kms.decrypt(CiphertextBlob=b"\x01" * 6145),
     ValidationException),
    ("decrypt-other-key-id", lambda s: s.kms.decrypt(CiphertextBlob=s.blob, KeyId=s.other,
                                                     EncryptionContext=CONTEXT),
     IncorrectKeyException),
    ("decrypt-with-unmade-aws-key", lambda s: s.kms.decrypt(
        CiphertextBlob=s.blob, KeyId="alias/aws/s3", EncryptionContext=CONTEXT),
     AccessDeniedException),   # aws/s3 may be used only through S3 (kms:ViaService)
    ("decrypt-disabled", lambda s: s.kms.decrypt(CiphertextBlob=s.disabled_blob),
     DisabledException),
    ("decrypt-deleted-key", lambda s: s.kms.decrypt(CiphertextBlob=s.gone_blob),
     NotFoundException),
    ("re-encrypt-bad-blob-to-unmade-aws-key", lambda s: s.kms.re_encrypt(
        CiphertextBlob=flipped(s.blob, 70), SourceEncryptionContext=CONTEXT,
        DestinationKeyId="alias/aws/lambda"), AccessDeniedException),
    ("re-encrypt-to-rsa", lambda s: s.kms.re_encrypt(
        CiphertextBlob=s.blob, SourceEncryptionContext=CONTEXT, DestinationKeyId="alias/rsa"),
     InvalidKeyUsageException),
    ("mac-with-unmade-aws-key", lambda s: s.kms.generate_mac(
        KeyId="alias/aws/sqs", Message=b"m", MacAlgorithm="HMAC_SHA_256"),
     AccessDeniedException),
    ("wrong-mac", lambda s: s.kms.verify_mac(KeyId=s.hmac, Message=b"n",
                                             MacAlgorithm="HMAC_SHA_256", Mac=s.mac),
     KMSInvalidMacException),
    # -- key lifecycle ---------------------------------------------------------------------
    ("window-6-days", lambda s: s.kms.schedule_key_deletion(KeyId=s.sym, PendingWindowInDays=6),
     ValidationException),
    ("window-31-days", lambda s: s.kms.schedule_key_deletion(KeyId=s.sym, PendingWindowInDays=31),
     ValidationException),
    ("schedule-pending-again", lambda s: s.kms.schedule_key_deletion(KeyId=s.pending),
     KMSInvalidStateException),
    ("enable-pending", lambda s: s.kms.enable_key(KeyId=s.pending), KMSInvalidStateException),
    ("cancel-not-pending", lambda s: s.kms.cancel_key_deletion(KeyId=s.sym),
     KMSInvalidStateException),
    ("disable-managed", lambda s: s.kms.disable_key(KeyId=s.managed),
     AccessDeniedException),
    ("delete-managed", lambda s: s.kms.schedule_key_deletion(KeyId=s.managed),
     AccessDeniedException),
    ("create-key-unknown-spec", lambda s: s.kms.create_key(KeySpec="AES_256"),
     ValidationException),
    ("create-hmac-without-usage", lambda s: s.kms.create_key(KeySpec="HMAC_256"),
     ValidationException),
    ("create-key-empty-policy", lambda s: s.kms.create_key(Policy=""), ParamValidationError),
    ("create-key-bad-tags", lambda s: s.kms.create_key(Tags={"a": "b"}), ParamValidationError),
    ("create-key-cloudhsm", lambda s: s.kms.create_key(Origin="AWS_CLOUDHSM"),
     UnsupportedOperationException),
    ("list-keys-bad-marker", lambda s: s.kms.list_keys(Marker="kmssim:999"),
     InvalidMarkerException),
    ("list-keys-limit-0", lambda s: s.kms.list_keys(Limit=0), ParamValidationError),
    # -- calling convention -------------------------------------------------------------------
    ("positional-args", lambda s: s.kms.encrypt(s.sym, b"x"), TypeError),
    ("unknown-kwarg", lambda s: s.kms.encrypt(KeyId=s.sym, Plaintext=b"x", Context={}),
     ParamValidationError),
    ("lowercase-kwarg", lambda s: s.kms.describe_key(keyId=s.sym), ParamValidationError),
    ("missing-required-kwarg", lambda s: s.kms.encrypt(KeyId=s.sym), ParamValidationError),
    ("required-kwarg-none", lambda s: s.kms.describe_key(KeyId=None), ParamValidationError),
    # -- simulator-only calls -------------------------------------------------------------------
    ("corrupt-save-file", lambda s: KMS.load(s.corrupt), CorruptScenarioError),
    ("advance-backwards", lambda s: s.kms.advance(days=-1), ValidationException),
    ("advance-to-the-past", lambda s: s.kms.advance_to(utc(2024, 1, 2)), ValidationException),
    ("advance-nan", advance_nan, ValidationException),
    ("history-unknown-key", lambda s: s.kms.history("alias/nope"), NotFoundException),
    ("inspect-garbage", lambda s: s.kms.inspect_ciphertext(b"\x01" * 100),
     InvalidCiphertextException),
    ("unseal-wrong-context", lambda s: unseal(s.kms, s.record, {"Department": "HR"}),
     InvalidCiphertextException),
    ("seal-non-bytes", lambda s: seal(s.kms, s.sym, 42), ValidationException),
]


def test_there_are_at_least_40_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("call, error", [pytest.param(c, e, id=i) for i, c, e in CASES])
def test_bad_input_raises_the_aws_error_and_changes_nothing(s: SimpleNamespace, call: Call,
                                                            error: type[Exception]) -> None:
    before = saved_state(s.kms, s.tmp / "before.json")
    trail_before = before.pop("trail")
    with pytest.raises(error) as raised:
        call(s)
    assert type(raised.value) is error                 # not merely a subclass of it
    after = saved_state(s.kms, s.tmp / "after.json")
    trail_after = after.pop("trail")
    assert after == before
    assert trail_after[:len(trail_before)] == trail_before
    added = trail_after[len(trail_before):]
    if not isinstance(raised.value, KMSError):          # refused by "botocore": never sent
        assert added == []
        return
    assert raised.value.code == error.code
    if raised.value.operation is None:                  # a simulator-only call
        assert added == []
    else:
        [event] = added
        assert event[2] == raised.value.operation        # eventName
        assert event[8] == error.code                    # errorCode
