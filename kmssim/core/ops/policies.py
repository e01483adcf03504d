"""Key policy operations: PutKeyPolicy, GetKeyPolicy, ListKeyPolicies.

Part of `kmssim.KMS`. A key has exactly one key policy, named ``default``. A new policy is
validated as the model's CreateKey/PutKeyPolicy documentation describes: JSON, every
statement with a principal that exists (an account, or a user or role made with
``kms.iam``), at most 32 KB (LimitExceededException), and, unless
``BypassPolicyLockoutSafetyCheck`` is true, it must still let the caller call
PutKeyPolicy afterwards (the lockout safety check). How policies are evaluated is
`kmssim.core.iam`.
"""

from __future__ import annotations

from typing import Any

from kmssim.core import params
from kmssim.core import policy as policies
from kmssim.core.calls import operation
from kmssim.core.errors import (
    AccessDeniedException,
    MalformedPolicyDocumentException,
    NotFoundException,
)
from kmssim.core.iam import authorize
from kmssim.core.paging import page
from kmssim.core.state import Service

__all__ = ["PolicyOps", "key_policy_document"]

#: The model's PolicyType allows up to 131072 characters (longer → ValidationException);
#: KMS's own limit, 32768 bytes, answers LimitExceededException (see kmssim.core.policy).
_MODEL_MAX = 131072


def key_policy_document(service: Service, text: Any, resource: str,
                        bypass: Any) -> policies.Policy:
    """Validate a key policy for CreateKey or PutKeyPolicy on ``resource``; with the
    lockout safety check unless ``bypass``."""
    if not isinstance(text, dict):
        text = params.text("Policy", text, low=1, high=_MODEL_MAX)
    document = policies.parse(text, known=lambda name: service.iam.exists(name)
                              or name == service.caller.arn or name == service.caller.shown)
    if not bypass:
        caller = service.caller
        request = policies.Request(caller.arn, caller.account, "kms:PutKeyPolicy", resource,
                                   {"kms:calleraccount": caller.account,
                                    "aws:principalarn": caller.arn})
        try:
            authorize(request, caller, document, service.iam.policies_of(caller.arn), False,
                      service.account_id)
        except AccessDeniedException:
            raise MalformedPolicyDocumentException(
                policies.LOCKOUT,
                hint="After this change you could no longer call PutKeyPolicy on the key, "
                     "so nobody might be able to manage it again. Keep a statement that "
                     "allows you (or your account) kms:PutKeyPolicy, or set "
                     "BypassPolicyLockoutSafetyCheck=True if you really mean it.") from None
    return document


def _policy_name(name: Any) -> str:
    name = params.text("PolicyName", "default" if name is None else name, low=1, high=128)
    if name != "default":
        raise NotFoundException(
            f"No such policy exists: {name}",
            hint="A KMS key has exactly one key policy, and its name is 'default'.")
    return name


class PolicyOps(Service):
    """PutKeyPolicy, GetKeyPolicy, ListKeyPolicies."""

    @operation("PutKeyPolicy", required=("KeyId", "Policy"))
    def put_key_policy(self, KeyId: str, Policy: str, PolicyName: str | None = None,
                       BypassPolicyLockoutSafetyCheck: bool | None = None) -> dict[str, Any]:
        """Replace a key's policy (``PolicyName`` is ``default`` or omitted). Returns ``{}``.

        Raises MalformedPolicyDocumentException (not JSON, a statement without principal,
        an unknown principal, or the lockout check), LimitExceededException (over 32 KB),
        AccessDeniedException (the current policy does not let you).
        """
        _policy_name(PolicyName)
        if not isinstance(Policy, dict):
            params.text("Policy", Policy, low=1, high=_MODEL_MAX)
        key = self._key(KeyId, aliases=False)
        document = key_policy_document(self, Policy, key.arn, BypassPolicyLockoutSafetyCheck)
        self._touch(key)
        key.policy = document.text
        return {}

    @operation("GetKeyPolicy", required=("KeyId",))
    def get_key_policy(self, KeyId: str, PolicyName: str | None = None) -> dict[str, Any]:
        """Return ``{"Policy": <the document, as set>, "PolicyName": "default"}``.

        A key created without a policy has AWS's default key policy, exactly as AWS
        returns it (the account may do everything, and IAM policies decide for its users
        and roles).
        """
        name = _policy_name(PolicyName)
        key = self._key(KeyId, aliases=False)
        self._touch(key)
        return {"Policy": key.policy, "PolicyName": name}

    @operation("ListKeyPolicies", required=("KeyId",))
    def list_key_policies(self, KeyId: str, Limit: int | None = None,
                          Marker: str | None = None) -> dict[str, Any]:
        """List the names of a key's policies: always ``["default"]``."""
        key = self._key(KeyId, aliases=False)
        self._touch(key)
        names, fields = page(["default"], Limit, Marker, high=1000)
        return {"PolicyNames": list(names), **fields}
