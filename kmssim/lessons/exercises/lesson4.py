"""Lesson 4 (manual rotation with aliases): exercises, and the scenarios that answer them."""

from __future__ import annotations

from kmssim.core.envelope import seal, unseal
from kmssim.lessons.checks import Exercise
from kmssim.lessons.exercises._common import error_code, new_key, sim

__all__ = ["EXERCISES"]


def _hmac_rotation() -> str | None:
    kms = sim()
    key_id = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    return error_code(lambda: kms.enable_key_rotation(KeyId=key_id))


def _old_key_disabled_after_alias_moved() -> str | None:
    kms = sim()
    old = new_key(kms)
    kms.create_alias(AliasName="alias/app", TargetKeyId=old)
    record = seal(kms, "alias/app", b"old data", {"order": "1"})
    kms.update_alias(AliasName="alias/app", TargetKeyId=new_key(kms))
    kms.disable_key(KeyId=old)
    return error_code(lambda: unseal(kms, record))


def _aws_managed_versions_after_three_years() -> int:
    kms = sim()
    key_id = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"]
    kms.advance(days=3 * 365)
    return len(kms.history(key_id).versions)


def _keys_after_two_manual_rotations() -> int:
    kms = sim()
    kms.create_alias(AliasName="alias/app", TargetKeyId=new_key(kms))
    for _ in range(2):
        kms.update_alias(AliasName="alias/app", TargetKeyId=new_key(kms))
    return len(kms.list_keys()["Keys"])


EXERCISES = (
    Exercise("4.1", "error",
        "HMAC keys are symmetric, but automatic rotation is only for symmetric "
        "*encryption* keys. Try it inside teach.attempt.",
        "only symmetric encryption keys (SYMMETRIC_DEFAULT, outside custom key stores) rotate in "
        "KMS; HMAC and RSA keys rotate manually.",
        _hmac_rotation),
        Exercise("4.2", "error",
        "Reading an old record needs the key that wrapped its data key, whatever the alias "
        "says now. What state is that key in?",
        "the old key still holds the only material that can unwrap the old data keys: keep "
        "it enabled until everything is re-encrypted to the new key.",
        _old_key_disabled_after_alias_moved),
        Exercise("4.3", "int",
        "AWS rotates its managed keys every 365 days, counted from the key's creation. "
        "Count the original material too.",
        "the original material plus one rotation a year, three years running.",
        _aws_managed_versions_after_three_years),
        Exercise("4.4", "int",
        "Manual rotation creates a new key each time, and the old keys stay (enabled) "
        "so old data still decrypts. Count kms.list_keys()[\"Keys\"].",
        "the original key plus two new ones: each is a separate KMS key, billed "
        "separately.",
        _keys_after_two_manual_rotations),
)
