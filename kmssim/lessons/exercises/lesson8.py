"""Lesson 8 (who may rotate): exercises, and the scenarios that answer them."""

from __future__ import annotations

import json

from kmssim.lessons.checks import Exercise
from kmssim.lessons.exercises._common import error_code, new_key, sim

__all__ = ["EXERCISES", "APP_POLICY", "ADMIN_POLICY", "capped_key_policy"]

#: The identity policies lesson 8 gives its two roles.
APP_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
    "Resource": "*"}]}
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["kms:Describe*", "kms:Get*", "kms:List*",
                                  "kms:EnableKeyRotation", "kms:DisableKeyRotation",
                                  "kms:RotateKeyOnDemand"], "Resource": "*"}]}


def capped_key_policy(account: str, days: int) -> str:
    """A key policy that keeps the default statement and refuses EnableKeyRotation with a
    period over ``days`` (a call that names no period is evaluated with the default, 365
    days, so it is refused too when ``days`` is shorter)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": f"Rotate at least every {days} days", "Effect": "Deny",
         "Principal": {"AWS": "*"}, "Action": "kms:EnableKeyRotation", "Resource": "*",
         "Condition": {"NumericGreaterThan": {"kms:RotationPeriodInDays": str(days)}}}]},
        indent=2)


def _app_rotates_on_demand() -> str | None:
    kms = sim()
    kms.iam.create_role("orders-app", policies=[APP_POLICY])
    key_id = new_key(kms)
    with kms.acting_as("role/orders-app"):
        return error_code(lambda: kms.rotate_key_on_demand(KeyId=key_id))


def _longest_allowed_period() -> int:
    kms = sim()
    kms.iam.create_role("platform-admin", policies=[ADMIN_POLICY])
    key_id = new_key(kms)
    kms.put_key_policy(KeyId=key_id, Policy=capped_key_policy(kms.account_id, 180))
    longest = 0
    with kms.acting_as("role/platform-admin"):
        for days in (90, 120, 180, 181, 365):
            if error_code(lambda d=days: kms.enable_key_rotation(
                    KeyId=key_id, RotationPeriodInDays=d)) is None:
                longest = max(longest, days)
    return longest


def _schedule_deletion_of_aws_s3() -> str | None:
    kms = sim()
    key_id = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]
    return error_code(lambda: kms.schedule_key_deletion(KeyId=key_id))


def _denials_in_the_trail() -> int:
    kms = sim()
    kms.iam.create_role("orders-app", policies=[APP_POLICY])
    key_id = new_key(kms)
    with kms.acting_as("role/orders-app"):
        for call in (lambda: kms.enable_key_rotation(KeyId=key_id),
                     lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"),
                     lambda: kms.disable_key(KeyId=key_id)):
            error_code(call)
    return len(kms.trail.query(failed=True))


EXERCISES = (
    Exercise("8.1", "error",
        "The application role's identity policy allows Encrypt, Decrypt and GenerateDataKey "
        "only. Try it inside teach.attempt, acting as role/orders-app.",
        "the default key policy hands the decision to IAM, and no identity policy of the "
        "role allows kms:RotateKeyOnDemand.",
        _app_rotates_on_demand),
    Exercise("8.2", "int",
        "The Deny applies when the period is NumericGreaterThan 180. Which of 90, 120, 180, "
        "181 and 365 pass?",
        "a Deny with NumericGreaterThan 180 refuses 181 and more; 180 itself passes.",
        _longest_allowed_period),
    Exercise("8.3", "error",
        "Read aws/s3's key policy: what may the account do directly?",
        "the policy AWS gives aws/s3 lets the account only Describe*, Get* and List* the key "
        "directly; nothing allows ScheduleKeyDeletion, so it is refused.",
        _schedule_deletion_of_aws_s3),
    Exercise("8.4", "int",
        "Every refused call is a failed call in the trail, as CloudTrail records it. Count "
        "kms.trail.query(failed=True).",
        "the Encrypt succeeded; EnableKeyRotation and DisableKey were refused and each left "
        "one failed event.",
        _denials_in_the_trail),
)
