"""Who may call: IAM users and roles with identity policies, and the authorization decision.

`IAM` is the small, explicit IAM of a simulation (``kms.iam``): ``create_user`` and
``create_role`` make principals, in the simulator's account or another, with identity
policies attached; `attach_policy` adds one later. Principals a key policy names must
exist here (or be an account), as AWS requires them to exist.

`authorize` combines, for one request, the key policy, the caller's identity policies and
the key's grants, as AWS KMS does (KMS Developer Guide, "Determining access to AWS KMS
keys" and "Allowing users in other accounts to use a KMS key"; IAM User Guide, "Policy
evaluation logic" and "Cross-account policy evaluation logic"):

1. an explicit Deny in the key policy or in an identity policy denies;
2. a caller in the key's account is allowed if the key policy allows it by name (or
   ``*``), or if the key policy allows the account (``arn:aws:iam::<account>:root``,
   which delegates to IAM) *and* an identity policy allows it, or if a grant allows it;
3. a caller in another account needs both: the key policy must allow it (by name or
   through its account) *and* its own identity policies must allow it, or a grant.

kmssim's forgiving default (DESIGN.md decision 12): a principal with no identity policy
attached is treated as an administrator of its account (as if ``Allow *`` were attached),
so a simulator built without policies behaves for everyone as it always has.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from kmssim.core import policy as policies
from kmssim.core.errors import AccessDeniedException, ValidationException
from kmssim.core.policy import Decision, Policy, Request

__all__ = ["IAM", "Caller", "Identity", "caller_of", "authorize", "ROLE_SESSION",
           "session_of", "is_service_principal", "SERVICE_ACCOUNT", "identity_decision"]

#: The session name kmssim gives every assumed role (``acting_as("role/app")`` is a session
#: of role ``app``): ``arn:aws:sts::<account>:assumed-role/app/kmssim``.
ROLE_SESSION = "kmssim"


#: The account of an AWS service principal (``rds.us-east-1.amazonaws.com``) calling KMS:
#: none of the simulation's, so no identity policy and no account delegation applies to it.
SERVICE_ACCOUNT = ""


def is_service_principal(principal: str) -> bool:
    """Whether ``principal`` names an AWS service (``rds.amazonaws.com``,
    ``rds.us-east-1.amazonaws.com``), as a grant's grantee or a key policy's
    ``"Service"`` principal does."""
    return not principal.startswith("arn:") and principal.endswith(".amazonaws.com")


@dataclass(frozen=True, slots=True)
class Caller:
    """The principal making a call: its IAM ARN (for a role, the role, not the session),
    the ARN AWS shows in messages and CloudTrail (for a role, the assumed-role session),
    its account (`SERVICE_ACCOUNT` for an AWS service principal)."""

    arn: str
    shown: str
    account: str

    @property
    def service(self) -> bool:
        """Whether an AWS service principal, not an IAM identity, is calling."""
        return self.account == SERVICE_ACCOUNT


@lru_cache(maxsize=256)
def session_of(principal: str, default_account: str) -> str:
    """What CloudTrail records as the caller ``principal`` (a name such as ``"alice"`` or
    ``"role/app"``, an IAM ARN, an STS ARN or a service principal): for a role, the
    session kmssim assumes, ``arn:aws:sts::<account>:assumed-role/<role>/kmssim``; else
    the IAM ARN. CloudTrail's ``userIdentity.arn`` is the session's ARN, and its
    ``sessionContext.sessionIssuer.arn`` the role's (CloudTrail User Guide, "CloudTrail
    userIdentity element"; KMS Developer Guide, "Amazon EC2 example two")."""
    if is_service_principal(principal):
        return principal
    return caller_of(principal, default_account).shown


@lru_cache(maxsize=256)
def caller_of(principal: str, default_account: str) -> Caller:
    """Resolve the simulator's current principal (a name, an IAM ARN, an STS
    assumed-role ARN or an AWS service principal) to a `Caller`."""
    if is_service_principal(principal):
        return Caller(principal, principal, SERVICE_ACCOUNT)
    if not principal.startswith("arn:"):
        kind = "" if "/" in principal else "user/"
        principal = f"arn:aws:iam::{default_account}:{kind}{principal}"
    parts = principal.split(":", 5)
    account = parts[4] if len(parts) == 6 and parts[4] else default_account
    resource = parts[5] if len(parts) == 6 else ""
    if parts[2:3] == ["sts"] and resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        return Caller(f"arn:aws:iam::{account}:role/{role}", principal, account)
    if resource.startswith("role/"):
        role = resource.rsplit("/", 1)[-1]
        return Caller(principal, f"arn:aws:sts::{account}:assumed-role/{role}/{ROLE_SESSION}",
                      account)
    return Caller(principal, principal, account)


@dataclass(slots=True)
class Identity:
    """An IAM user or role and the identity policies attached to it."""

    arn: str
    policies: list[Policy] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


class IAM:
    """The simulation's IAM: users and roles (in any account) and their identity policies.

    >>> from kmssim import KMS
    >>> kms = KMS(seed=1)
    >>> kms.iam.create_role("orders-app", policies=[{"Version": "2012-10-17", "Statement": [
    ...     {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}]}])
    'arn:aws:iam::111122223333:role/orders-app'
    """

    def __init__(self, account_id: str, lock: threading.RLock | None = None) -> None:
        self.account_id = account_id
        self._identities: dict[str, Identity] = {}
        self._lock = lock or threading.RLock()
        #: Counts every change to users, roles and their policies: a cached authorization
        #: decision (`kmssim.core.state.Service._authorize`) holds only while it is unchanged.
        self.version = 0

    def __repr__(self) -> str:
        return f"<IAM {len(self._identities)} users and roles>"

    # -- making principals ------------------------------------------------------------
    def _arn(self, kind: str, name: str, account: str | None) -> str:
        account = self.account_id if account is None else account
        if not (isinstance(account, str) and len(account) == 12 and account.isdigit()):
            raise ValidationException("account must be 12 digits, e.g. '444455556666'.")
        if not isinstance(name, str) or not name or not all(
                c.isalnum() or c in "+=,.@_-" for c in name):
            raise ValidationException(
                f"An IAM {kind} name is letters, digits and +=,.@_- (got {name!r}).")
        return f"arn:aws:iam::{account}:{kind}/{name}"

    def _create(self, arn: str, policies: Iterable[Any] | None) -> str:
        parsed = [policies_parse(p) for p in (policies or ())]
        with self._lock:
            if arn in self._identities:
                raise ValidationException(f"{arn} already exists (EntityAlreadyExists).")
            self._identities[arn] = Identity(arn, parsed)
            self.version += 1
        return arn

    def create_user(self, name: str, *, policies: Iterable[Any] | None = None,
                    account: str | None = None) -> str:
        """Create IAM user ``name`` (in ``account``, default the simulator's) with identity
        ``policies`` (JSON strings or dicts) attached. Returns its ARN."""
        return self._create(self._arn("user", name, account), policies)

    def create_role(self, name: str, *, policies: Iterable[Any] | None = None,
                    account: str | None = None) -> str:
        """Create IAM role ``name`` with identity ``policies`` attached. Returns its ARN.
        ``kms.acting_as("role/<name>")`` then calls as a session of this role."""
        return self._create(self._arn("role", name, account), policies)

    def attach_policy(self, identity: str, policy: Any) -> None:
        """Attach one more identity policy to a user or role (a name such as
        ``"role/app"``, or an ARN). A principal with no policy attached is an
        administrator (kmssim's default); once one is attached, only its policies count."""
        parsed = policies_parse(policy)
        with self._lock:
            found = self._find(identity)
            if found is None:
                raise ValidationException(
                    f"No IAM user or role {identity!r}: create it with kms.iam.create_user or "
                    "kms.iam.create_role.")
            found.policies.append(parsed)
            self.version += 1

    def delete(self, identity: str) -> None:
        """Delete a user or role. Key policies that name it keep the name, but it no longer
        matches anyone, and new key policies cannot name it."""
        with self._lock:
            found = self._find(identity)
            if found is not None:
                del self._identities[found.arn]
                self.version += 1

    def _find(self, identity: str) -> Identity | None:
        arn = caller_of(identity, self.account_id).arn
        return self._identities.get(arn)

    # -- questions ---------------------------------------------------------------------
    def __iter__(self) -> Iterator[Identity]:
        return iter(list(self._identities.values()))

    def exists(self, name: str) -> bool:
        """Whether a key policy may name ``name``: an account (12 digits or its root ARN),
        a user or role created here, or an assumed-role session of such a role."""
        if len(name) == 12 and name.isdigit():
            return True
        parts = name.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] not in ("iam", "sts") or not (
                len(parts[4]) == 12 and parts[4].isdigit()):
            return False
        if parts[2] == "iam" and parts[5] == "root":
            return True
        return caller_of(name, self.account_id).arn in self._identities

    def policies_of(self, arn: str) -> list[Policy] | None:
        """The identity policies of a principal, or None when it has none attached (or is
        not an IAM user or role created here): then kmssim treats it as an administrator."""
        found = self._identities.get(arn)
        return list(found.policies) if found is not None and found.policies else None

    # -- saving ------------------------------------------------------------------------
    def to_json(self) -> list[dict[str, Any]]:
        return [{"arn": i.arn, "policies": [p.text for p in i.policies]}
                for i in self._identities.values()]

    def restore(self, rows: list[dict[str, Any]]) -> None:
        self.version += 1
        self._identities = {row["arn"]: Identity(row["arn"], [policies_parse(p)
                                                                for p in row["policies"]])
                            for row in rows}


def policies_parse(document: Any) -> Policy:
    """An identity policy: parsed and validated (no Principal element)."""
    return policies.parse(document, resource_policy=False)


_ADMINISTRATOR = Decision(allowed_direct=True)


def identity_decision(identity: list[Policy] | None, request: Request) -> Decision:
    """What the caller's identity policies say (None: kmssim's administrator default)."""
    if identity is None:
        return _ADMINISTRATOR
    denied = allowed = False
    for document in identity:
        decision = document.decide(request)
        denied |= decision.denied
        allowed |= decision.allowed_direct or decision.allowed_account
    return Decision(denied, allowed, False)


def authorize(request: Request, caller: Caller, key_policy: Policy | None,
              identity: list[Policy] | None, granted: bool, key_account: str) -> None:
    """Raise AccessDeniedException unless ``request`` is allowed (see the module's rules).

    ``key_policy`` is None for requests on no key (``CreateKey``, ``ListKeys``: resource
    ``*``), which only identity policies decide. ``granted`` says whether a grant allows it.

    The message follows AWS's format, recorded in /work/research/aws_kms_recordings.json
    (access_denied_identity_based, access_denied_resource_based): ``User: <arn> is not
    authorized to perform: kms:<Action> on resource: <arn> because no identity-based
    policy allows the kms:<Action> action`` (or ``no resource-based policy``); for an
    explicit deny, IAM's documented form ``... with an explicit deny in a resource-based
    policy`` (IAM User Guide, "Troubleshoot access denied error messages").
    """
    if caller.service:
        # An AWS service principal has no identity policies in the account: the key policy
        # (a "Service" principal) or a grant must allow it.
        identity = []
    mine = identity_decision(identity, request)
    theirs = key_policy.decide(request) if key_policy is not None else None
    start = (f"User: {caller.shown} is not authorized to perform: {request.action} "
             f"on resource: {request.resource}")
    if theirs is not None and theirs.denied:
        raise AccessDeniedException(
            f"{start} with an explicit deny in a resource-based policy",
            hint="A Deny statement of the key policy matches this request; a Deny always "
                 "wins over any Allow.")
    if mine.denied:
        raise AccessDeniedException(
            f"{start} with an explicit deny in an identity-based policy",
            hint="A Deny statement in an identity policy of the caller matches this request.")
    if theirs is None:  # no key: IAM alone decides
        if mine.allowed_direct:
            return
        raise AccessDeniedException(
            f"{start} because no identity-based policy allows the {request.action} action",
            hint="No identity policy of the caller allows this action.")
    if granted:
        return
    same_account = caller.account == key_account
    if (same_account or caller.service) and theirs.allowed_direct:
        return
    if (theirs.allowed_direct or theirs.allowed_account) and mine.allowed_direct:
        return
    if theirs.allowed_direct or theirs.allowed_account:
        raise AccessDeniedException(
            f"{start} because no identity-based policy allows the {request.action} action",
            hint=("The key policy lets the caller's account decide (it allows the account "
                  "principal), but no identity policy of the caller allows this action."
                  if same_account else
                  "Across accounts both sides must allow: the key policy does, but no "
                  "identity policy in the caller's own account allows this action."))
    raise AccessDeniedException(
        f"{start} because no resource-based policy allows the {request.action} action",
        hint="The key policy neither allows the caller nor delegates to the caller's "
             "account, and no grant allows it: identity policies cannot help here.")
