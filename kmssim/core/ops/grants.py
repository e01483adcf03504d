"""Grant operations: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

Part of `kmssim.KMS`. A grant lets one principal (the grantee) do some operations with one
key, optionally only with a given encryption context (``EncryptionContextEquals`` or
``EncryptionContextSubset``). AWS services such as RDS and EBS use KMS keys through grants.
AWS makes a new grant effective everywhere within moments and returns a grant token for
using it at once; kmssim's grants are effective immediately, and a grant token it
returned is accepted wherever ``GrantTokens`` are.

An unknown token in ``GrantTokens`` is ignored (a difference from AWS, kept so that
requests naming made-up tokens keep working); RetireGrant with an unknown ``GrantToken``
raises InvalidGrantTokenException.

A grant allows, but never overrides an explicit Deny in the key policy or an IAM policy
(KMS Developer Guide, "Grants in AWS KMS"); who may retire a grant is said by the grant:
its retiring principal, its grantee if the grant allows ``RetireGrant``, or the account
that owns it (KMS Developer Guide, "Retiring and revoking grants").
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kmssim.core import params
from kmssim.core.calls import operation
from kmssim.core.errors import (
    AccessDeniedException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    LimitExceededException,
    NotFoundException,
    ValidationException,
)
from kmssim.core.iam import Caller
from kmssim.core.keys import Key
from kmssim.core.paging import page
from kmssim.core.state import Service

__all__ = ["GrantOps", "Grant", "GRANT_OPERATIONS"]

#: The model's GrantOperation enum, in its order.
GRANT_OPERATIONS = ("Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                    "ReEncryptFrom", "ReEncryptTo", "Sign", "Verify", "GetPublicKey",
                    "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
                    "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
                    "DeriveSharedSecret", "Encapsulate", "Decapsulate")
#: Operations that take an encryption context, so that a grant constraint can apply.
_WITH_CONTEXT = {"Decrypt": "EncryptionContext", "Encrypt": "EncryptionContext",
                 "GenerateDataKey": "EncryptionContext",
                 "GenerateDataKeyWithoutPlaintext": "EncryptionContext",
                 "ReEncryptFrom": "SourceEncryptionContext",
                 "ReEncryptTo": "DestinationEncryptionContext"}
#: "Grants per KMS key: 50,000" (KMS Developer Guide, "Resource quotas").
GRANTS_PER_KEY = 50000


@dataclass(slots=True)
class Grant:
    """One grant on one key."""

    grant_id: str
    key_id: str
    key_arn: str
    created: datetime
    grantee: str
    operations: tuple[str, ...]
    issuing_account: str
    token: str
    name: str | None = None
    retiring: str | None = None
    constraints: dict[str, dict[str, str]] | None = None

    def entry(self) -> dict[str, Any]:
        """The grant as ListGrants returns it (botocore examples-1.json,
        to-list-grants-for-a-cmk-1481067365389: KeyId is the key ARN)."""
        row: dict[str, Any] = {"KeyId": self.key_arn, "GrantId": self.grant_id}
        if self.name is not None:
            row["Name"] = self.name
        row.update({"CreationDate": self.created, "GranteePrincipal": self.grantee})
        if self.retiring is not None:
            row["RetiringPrincipal"] = self.retiring
        row.update({"IssuingAccount": self.issuing_account, "Operations": list(self.operations)})
        if self.constraints:
            row["Constraints"] = {k: dict(v) for k, v in self.constraints.items()}
        return row

    def allows(self, action: str, context: dict[str, str] | None) -> bool:
        if action not in self.operations:
            return False
        if not self.constraints or action not in _WITH_CONTEXT:
            return True
        # In a grant constraint a pair's key is compared without regard to case, its value
        # exactly (the model's GrantConstraints documentation).
        given = {k.lower(): v for k, v in (context or {}).items()}
        equals = self.constraints.get("EncryptionContextEquals")
        if equals is not None and given != {k.lower(): v for k, v in equals.items()}:
            return False
        subset = self.constraints.get("EncryptionContextSubset")
        return subset is None or all(given.get(k.lower()) == v for k, v in subset.items())

    def to_json(self) -> dict[str, Any]:
        return {"grant_id": self.grant_id, "key_id": self.key_id, "key_arn": self.key_arn,
                "created": self.created.isoformat(), "grantee": self.grantee,
                "operations": list(self.operations), "issuing_account": self.issuing_account,
                "token": self.token, "name": self.name, "retiring": self.retiring,
                "constraints": self.constraints}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grant:
        created = datetime.fromisoformat(data["created"])
        if created.tzinfo is None:
            raise ValueError("grant creation time without a time zone")
        return cls(data["grant_id"], data["key_id"], data["key_arn"], created,
                   data["grantee"], tuple(data["operations"]), data["issuing_account"],
                   data["token"], data["name"], data["retiring"], data["constraints"])


def _principal(name: str, value: Any) -> str:
    value = params.text(name, value, low=1, high=256)
    if not all(c.isalnum() or c in "_+=,.@:/-" for c in value):
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{name[0].lower() + name[1:]}' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "^[\\w+=,.@:/-]+$")
    return value


class GrantOps(Service):
    """CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant."""

    # -- using grants ------------------------------------------------------------------
    @staticmethod
    def _check_tokens(tokens: Any) -> None:
        """Grant tokens as the model shapes them (a list of at most 10 strings). kmssim's
        grants are effective at once, so a token adds nothing; tokens it did not issue
        are accepted and ignored (AWS would refuse a token it cannot read with
        InvalidGrantTokenException; kmssim keeps accepting them, as before grants existed)."""
        if tokens is None:
            return
        if not isinstance(tokens, list) or len(tokens) > 10:
            raise ValidationException("GrantTokens must be a list of at most 10 grant tokens.")
        for token in tokens:
            params.text("GrantTokens", token, low=1, high=8192)

    def _granted(self, key: Key, caller: Caller, action: str, params: dict[str, Any]) -> bool:
        self._check_tokens(params.get("GrantTokens"))
        context = params.get(_WITH_CONTEXT.get(action, "EncryptionContext"))
        for grant in self._grants.values():
            if grant.key_id == key.key_id and grant.grantee in (caller.arn, caller.shown) \
                    and grant.allows(action, context if isinstance(context, dict) else None):
                return True
        return False

    # -- operations --------------------------------------------------------------------
    @operation("CreateGrant", required=("KeyId", "Operations"))
    def create_grant(self, KeyId: str, Operations: list[str],
                     GranteePrincipal: str | None = None, RetiringPrincipal: str | None = None,
                     Constraints: dict[str, Any] | None = None,
                     GrantTokens: list[str] | None = None, Name: str | None = None,
                     DryRun: bool | None = None, GranteeServicePrincipal: str | None = None,
                     RetiringServicePrincipal: str | None = None) -> dict[str, Any]:
        """Let ``GranteePrincipal`` do ``Operations`` with the key; returns ``GrantId``
        and ``GrantToken``. ``Constraints`` limits cryptographic operations to an
        ``EncryptionContextEquals`` / ``EncryptionContextSubset``. A retried request with
        the same ``Name`` and parameters returns the existing grant.
        """
        grantee = _principal("GranteePrincipal", GranteePrincipal or GranteeServicePrincipal)
        retiring = None
        if RetiringPrincipal is not None or RetiringServicePrincipal is not None:
            retiring = _principal("RetiringPrincipal",
                                  RetiringPrincipal or RetiringServicePrincipal)
        if not isinstance(Operations, list) or not Operations:
            raise ValidationException("Operations must be a non-empty list of grant operations.")
        operations = tuple(params.choice("Operations", op, GRANT_OPERATIONS)
                           for op in Operations)
        name = None if Name is None else params.text("Name", Name, low=1, high=256)
        constraints = None
        if Constraints is not None:
            if not isinstance(Constraints, dict) or not set(Constraints) <= {
                    "EncryptionContextSubset", "EncryptionContextEquals", "SourceArn"}:
                raise ValidationException("Constraints takes EncryptionContextSubset and/or "
                                          "EncryptionContextEquals.")
            constraints = {k: dict(params.context(k, v) or {}) for k, v in Constraints.items()
                           if k != "SourceArn"}
        self._check_tokens(GrantTokens)
        key = self._usable(self._key(KeyId, aliases=False))
        self._dry_run(DryRun)
        self._touch(key)
        for grant in self._grants.values():
            if name is not None and grant.key_id == key.key_id and grant.name == name \
                    and grant.grantee == grantee and grant.operations == operations \
                    and grant.constraints == constraints and grant.retiring == retiring:
                return {"GrantToken": grant.token, "GrantId": grant.grant_id}
        if sum(1 for g in self._grants.values() if g.key_id == key.key_id) \
                >= GRANTS_PER_KEY:
            raise LimitExceededException(
                "", hint=f"A KMS key can have at most {GRANTS_PER_KEY} grants.")
        grant_id = self.entropy.bytes(32).hex()
        token = base64.urlsafe_b64encode(bytes.fromhex(grant_id) + self.entropy.bytes(48)) \
            .decode().rstrip("=")
        grant = Grant(grant_id, key.key_id, key.arn, self.now, grantee, operations,
                      f"arn:aws:iam::{self.account_id}:root", token, name, retiring,
                      constraints or None)
        self._grants[grant_id] = grant
        return {"GrantToken": token, "GrantId": grant_id}

    @operation("ListGrants", required=("KeyId",))
    def list_grants(self, KeyId: str, Limit: int | None = None, Marker: str | None = None,
                    GrantId: str | None = None, GranteePrincipal: str | None = None,
                    GranteeServicePrincipal: str | None = None) -> dict[str, Any]:
        """List a key's grants (``Grants``, ``Truncated``, ``NextMarker``), oldest first,
        optionally only one ``GrantId`` or one ``GranteePrincipal``."""
        if GrantId is not None:
            params.text("GrantId", GrantId, low=1, high=128)
        grantee = GranteePrincipal or GranteeServicePrincipal
        key = self._key(KeyId, aliases=False)
        self._touch(key)
        rows = [g for g in self._grants.values() if g.key_id == key.key_id
                and (GrantId is None or g.grant_id == GrantId)
                and (grantee is None or g.grantee == grantee)]
        chunk, fields = page(rows, Limit, Marker, default=50, high=100)
        return {"Grants": [g.entry() for g in chunk], **fields}

    @operation("ListRetirableGrants")
    def list_retirable_grants(self, Limit: int | None = None, Marker: str | None = None,
                              RetiringPrincipal: str | None = None,
                              RetiringServicePrincipal: str | None = None) -> dict[str, Any]:
        """List the grants, on every key of the account, that ``RetiringPrincipal`` may retire."""
        retiring = _principal("RetiringPrincipal", RetiringPrincipal or RetiringServicePrincipal)
        rows = [g for g in self._grants.values() if g.retiring == retiring]
        chunk, fields = page(rows, Limit, Marker, default=50, high=100)
        return {"Grants": [g.entry() for g in chunk], **fields}

    def _grant(self, key: Key, grant_id: Any) -> Grant:
        grant_id = params.text("GrantId", grant_id, low=1, high=128)
        grant = self._grants.get(grant_id)
        if grant is None or grant.key_id != key.key_id:
            if not all(c in "0123456789abcdef" for c in grant_id):
                raise InvalidGrantIdException(
                    "", hint=f"{grant_id!r} is not a grant id: grant ids are 64 hex digits.")
            raise NotFoundException(
                "", hint=f"{key.arn} has no grant {grant_id}: it was never made, or it was "
                "retired or revoked.")
        return grant

    @operation("RetireGrant")
    def retire_grant(self, GrantToken: str | None = None, KeyId: str | None = None,
                     GrantId: str | None = None, DryRun: bool | None = None) -> dict[str, Any]:
        """Retire a grant, named by its ``GrantToken`` or by ``KeyId`` and ``GrantId``.

        Its retiring principal may retire it, its grantee if the grant allows
        ``RetireGrant``, and the account that owns it. Returns ``{}``.
        """
        if GrantToken is not None:
            params.text("GrantToken", GrantToken, low=1, high=8192)
            grant = next((g for g in self._grants.values() if g.token == GrantToken), None)
            if grant is None:
                raise InvalidGrantTokenException(
                    "", hint="This grant token names no grant of this simulation.")
            key = self._find_any(grant.key_id)
            self._note(key)
        elif KeyId is not None and GrantId is not None:
            key = self._key(KeyId, aliases=False)
            grant = self._grant(key, GrantId)
        else:
            raise ValidationException("RetireGrant needs GrantToken, or KeyId and GrantId.")
        caller = self.caller
        # KMS Developer Guide, "Retiring and revoking grants": the grant says who may
        # retire it (its retiring principal; its grantee if it allows RetireGrant; the
        # account that created it); the account can delegate kms:RetireGrant to its IAM
        # principals, as the retiring principal's account can to its own; a Deny of
        # kms:RetireGrant refuses; an Allow in a key policy has no effect.
        denied, iam_allows = self._explicit_deny_or_iam_allow(key, caller, "RetireGrant", {})
        retiring_account = (grant.retiring or "").split(":")[4:5]
        allowed = not denied and (
            caller.arn == f"arn:aws:iam::{self.account_id}:root"
            or grant.retiring in (caller.arn, caller.shown)
            or (grant.grantee in (caller.arn, caller.shown)
                and "RetireGrant" in grant.operations)
            or (iam_allows and (caller.account == self.account_id
                                or retiring_account == [caller.account])))
        if not allowed:
            raise AccessDeniedException(
                f"User: {caller.shown} is not authorized to perform: kms:RetireGrant on "
                f"resource: {key.arn}",
                hint="A Deny of kms:RetireGrant applies to the caller." if denied else
                     "Only the grant's retiring principal, its grantee (if the grant allows "
                     "RetireGrant), the account, or a principal the account allows "
                     "kms:RetireGrant in an IAM policy may retire a grant.")
        self._dry_run(DryRun)
        self._touch(key)
        del self._grants[grant.grant_id]
        return {}

    @operation("RevokeGrant", required=("KeyId", "GrantId"))
    def revoke_grant(self, KeyId: str, GrantId: str,
                     DryRun: bool | None = None) -> dict[str, Any]:
        """Revoke (delete) a grant: the key policy decides who may. Returns ``{}``."""
        key = self._key(KeyId, aliases=False)
        grant = self._grant(key, GrantId)
        self._dry_run(DryRun)
        self._touch(key)
        del self._grants[grant.grant_id]
        return {}
