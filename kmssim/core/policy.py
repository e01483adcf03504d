"""Policy documents as data: parsing, validation and evaluation of key and IAM policies.

A `Policy` is the text a caller gave (kept byte for byte, as `GetKeyPolicy` returns it)
and its statements, parsed once. `Policy.decide` answers, for one request, whether a
statement of the document explicitly denies it, allows it (and for whom: the caller by
name, or the caller's account, which is how a key policy delegates to IAM), or says
nothing. How the answers of the key policy, the caller's identity policies and grants
combine is `kmssim.core.iam.authorize`.

Sources for the rules used here (IAM User Guide, "IAM JSON policy elements reference",
"Condition operators", "Single-valued vs. multivalued context keys" and "Policy evaluation
logic"): statements are OR-ed; an explicit Deny wins over any Allow; several values of one
condition key are OR-ed; several keys under one operator and several operators in one
``Condition`` are AND-ed; a key missing from the request makes a condition false, except
for the negated operators (``StringNotEquals``, ``NumericNotEquals``, ``ArnNotLike``, …),
``…IfExists`` (true when missing) and ``Null``; ``ForAllValues`` is true for an empty or
missing multivalued key, ``ForAnyValue`` false. Condition key names are case-insensitive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from kmssim.core.errors import LimitExceededException, MalformedPolicyDocumentException

__all__ = ["Policy", "Statement", "Request", "parse", "default_key_policy",
           "aws_managed_key_policy", "POLICY_SIZE_LIMIT", "INVALID_PRINCIPALS", "LOCKOUT"]

#: "The key policy cannot exceed 32 kilobytes (32768 bytes)" (KMS quotas; the model's
#: CreateKey/PutKeyPolicy docs: "If the key policy exceeds the length constraint, KMS
#: returns a LimitExceededException").
POLICY_SIZE_LIMIT = 32768

#: Real AWS text: an AWS SDK error quoted in a GitHub repository (find_string id 24027593668:
#: "ErrorCode=[MalformedPolicyDocumentException], ErrorMessage=[Policy contains a statement
#: with one or more invalid principals.]"), the same wording in the AWS CDK docs.
INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."

#: Real AWS text: /work/research/aws_kms_recordings.json, scenarios put_key_policy_lockout and
#: create_key_policy_lockout (AWS errors pasted in GitHub issues).
LOCKOUT = "The new key policy will not allow you to update the key policy in the future."

# AWS's JSON layout for the policies it writes (GetKeyPolicy of the default key policy in
# botocore's examples-1.json, "to-retrieve-a-key-policy-1479170128325"): two-space indent,
# " : " between name and value, arrays of objects opened as "[ {" and closed as "} ]".
_DEFAULT_KEY_POLICY = """{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::%(account)s:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}"""

# The policies of AWS managed keys. AWS does not print them in its documentation; for the
# five services the lessons use (S3, EBS, RDS, Lambda, Secrets Manager) these are the texts a
# real account returns, as copied from one with GetKeyPolicy (FogSecurity's
# aws-managed-kms-keys collection, reference_key_policies/*.json): every principal of the
# account may *use* the key, but only through its service (kms:ViaService and
# kms:CallerAccount), and the account may read the key's metadata (and, for some services,
# revoke its grants) directly. Nobody may manage it: no EnableKeyRotation, DisableKey,
# ScheduleKeyDeletion, PutKeyPolicy. They differ by service in their Id, the service's name,
# the actions, and the order of the two condition keys. For the other services kmssim can
# make a managed key for, `_GENERIC` follows the same pattern (the README says so).
_USE_STATEMENT = """{
    "Sid" : "Allow access through %(label)s for all principals in the account that are \
authorized to use %(label)s",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "*"
    },
    "Action" : %(actions)s,
    "Resource" : "*",
    "Condition" : {
%(conditions)s
    }
  }"""
_METADATA_STATEMENT = """{
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::%(account)s:root"
    },
    "Action" : %(actions)s,
    "Resource" : "*"
  }"""
_CALLER = '        "kms:CallerAccount" : "%(account)s"'
_VIA = '        "kms:ViaService" : "%(endpoint)s.%(region)s.amazonaws.com"'
_USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
_READ = ["kms:Describe*", "kms:Get*", "kms:List*"]


def _actions(names: list[str]) -> str:
    return "[ " + ", ".join(f'"{name}"' for name in names) + " ]"


def _use(label: str, actions: list[str], via_first: bool) -> str:
    pair = (_VIA, _CALLER) if via_first else (_CALLER, _VIA)
    return _USE_STATEMENT % {"label": label, "actions": _actions(actions),
                             "conditions": "      \"StringEquals\" : {\n" + ",\n".join(pair)
                             + "\n      }"}


# The account's direct access: read the key; for services that use grants, revoke them too.
_READ_ONLY = _METADATA_STATEMENT % {"account": "%(account)s", "actions": _actions(_READ)}
_READ_AND_REVOKE = _METADATA_STATEMENT % {"account": "%(account)s",
                                          "actions": _actions([*_READ, "kms:RevokeGrant"])}

#: alias/aws/<service> → (kms:ViaService's endpoint prefix, the policy's Id, its statements)
_MANAGED = {
    "s3": ("s3", "auto-s3-2", [
        _use("S3", [*_USE, "kms:DescribeKey"], via_first=False),
        _READ_ONLY]),
    "ebs": ("ec2", "auto-ebs-2", [
        _use("EBS", [*_USE, "kms:CreateGrant", "kms:DescribeKey"], via_first=True),
        _READ_AND_REVOKE]),
    "rds": ("rds", "auto-rds-2", [
        _use("RDS", [*_USE, "kms:CreateGrant", "kms:ListGrants", "kms:DescribeKey"],
             via_first=True),
        _READ_AND_REVOKE]),
    "lambda": ("lambda", "auto-awslambda", [
        _use("AWS Lambda", [*_USE, "kms:CreateGrant", "kms:DescribeKey"], via_first=False),
        _READ_AND_REVOKE]),
    "secretsmanager": ("secretsmanager", "auto-secretsmanager-2", [
        _use("AWS Secrets Manager", ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
                                     "kms:CreateGrant", "kms:DescribeKey"], via_first=True),
        # Data keys through Secrets Manager in any Region.
        (_USE_STATEMENT % {
            "label": "AWS Secrets Manager", "actions": '"kms:GenerateDataKey*"',
            "conditions": '      "StringEquals" : {\n' + _CALLER + '\n      },\n'
                          '      "StringLike" : {\n'
                          '        "kms:ViaService" : "secretsmanager.*.amazonaws.com"\n'
                          '      }'}),
        _READ_AND_REVOKE]),
}
_GENERIC = [_use("%(label)s", [*_USE, "kms:CreateGrant", "kms:DescribeKey"], via_first=False),
            _READ_AND_REVOKE]


def default_key_policy(account: str) -> str:
    """The key policy KMS attaches when CreateKey gets no ``Policy``, as GetKeyPolicy returns it."""
    return _DEFAULT_KEY_POLICY % {"account": account}


def aws_managed_key_policy(service: str, account: str, region: str) -> str:
    """The key policy of the AWS managed key ``alias/aws/<service>`` (see `_MANAGED`)."""
    endpoint, policy_id, statements = _MANAGED.get(
        service, (service, f"auto-{service}-2", _GENERIC))
    text = ('{\n  "Version" : "2012-10-17",\n  "Id" : "' + policy_id
            + '",\n  "Statement" : [ ' + ", ".join(statements) + " ]\n}")
    return text % {"account": account, "region": region, "endpoint": endpoint,
                   "label": service}


@dataclass(frozen=True, slots=True)
class Request:
    """What evaluation needs to know about one request.

    ``principal`` is the caller's IAM ARN (a role, not its session), ``account`` its
    account; ``action`` is ``kms:<Action>``; ``resource`` the key ARN or ``*``;
    ``context`` maps lower-cased condition key names to a string, a number, or a list of
    strings (multivalued keys such as ``kms:EncryptionContextKeys``).
    """

    principal: str
    account: str
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    service: str | None = None      # a service principal (``rds.amazonaws.com``) calling


def _listed(value: Any, what: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [value]
    raise MalformedPolicyDocumentException(
        "", hint=f"{what} must be a string or a list of strings, not {type(value).__name__}.")


@lru_cache(maxsize=1024)
def _glob(pattern: str, case: bool) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` any one character."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (0 if case else re.IGNORECASE))


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    return _glob(pattern, case).match(value) is not None


@dataclass(frozen=True, slots=True)
class Principals:
    """A statement's ``Principal`` (or ``NotPrincipal``): ``*``, or AWS and Service names."""

    anyone: bool = False
    aws: tuple[str, ...] = ()
    services: tuple[str, ...] = ()

    def match(self, principal: str, account: str, service: str | None) -> str | None:
        """``"direct"`` if this names the caller (or anyone), ``"account"`` if it names the
        caller's account (a delegation to the account's IAM policies), else None."""
        if self.anyone:
            return "direct"
        if service is not None and service in self.services:
            return "direct"
        for name in self.aws:
            if name == "*" or name == principal:
                return "direct"
            if name in (account, f"arn:aws:iam::{account}:root"):
                return "direct" if principal == f"arn:aws:iam::{account}:root" else "account"
        return None


@dataclass(frozen=True, slots=True)
class Statement:
    """One parsed statement. A statement without Action or Resource never applies (the
    model's PutKeyPolicy docs: such a statement "has no effect")."""

    sid: str | None
    effect: str
    principals: Principals | None            # None in identity policies
    not_principals: Principals | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[tuple[str, str, tuple[Any, ...]], ...]   # (operator, key, values)

    def applies(self, request: Request) -> str | None:
        """None if the statement does not apply; else ``"direct"`` or ``"account"``."""
        if self.actions is None and self.not_actions is None:
            return None
        if self.resources is None and self.not_resources is None:
            return None
        who = "direct"
        if self.principals is not None:
            matched = self.principals.match(request.principal, request.account, request.service)
            if matched is None:
                return None
            who = matched
        if self.not_principals is not None and self.not_principals.match(
                request.principal, request.account, request.service) is not None:
            return None
        if self.actions is not None and not any(
                _like(a, request.action, case=False) for a in self.actions):
            return None
        if self.not_actions is not None and any(
                _like(a, request.action, case=False) for a in self.not_actions):
            return None
        if self.resources is not None and not any(
                _like(r, request.resource) for r in self.resources):
            return None
        if self.not_resources is not None and any(
                _like(r, request.resource) for r in self.not_resources):
            return None
        if not all(_condition(op, key, values, request.context)
                   for op, key, values in self.conditions):
            return None
        return who


@dataclass(frozen=True, slots=True)
class Decision:
    """What one document says about one request."""

    denied: bool = False
    allowed_direct: bool = False    # an Allow naming the caller (or anyone, or a service)
    allowed_account: bool = False   # an Allow naming the caller's account: IAM must also allow


@dataclass(frozen=True, slots=True)
class Policy:
    """A policy document: the text as given and its parsed statements."""

    text: str
    statements: tuple[Statement, ...]

    def decide(self, request: Request) -> Decision:
        denied = direct = account = False
        for statement in self.statements:
            who = statement.applies(request)
            if who is None:
                continue
            if statement.effect == "Deny":
                denied = True
            elif who == "direct":
                direct = True
            else:
                account = True
        return Decision(denied, direct, account)

    def principals(self) -> Iterable[str]:
        """Every AWS principal the document names."""
        for statement in self.statements:
            for group in (statement.principals, statement.not_principals):
                if group is not None:
                    yield from group.aws


_OPERATORS = {
    "stringequals", "stringnotequals", "stringequalsignorecase", "stringnotequalsignorecase",
    "stringlike", "stringnotlike", "numericequals", "numericnotequals", "numericlessthan",
    "numericlessthanequals", "numericgreaterthan", "numericgreaterthanequals", "bool",
    "arnequals", "arnlike", "arnnotequals", "arnnotlike", "null", "dateequals",
    "datenotequals", "datelessthan", "datelessthanequals", "dategreaterthan",
    "dategreaterthanequals", "ipaddress", "notipaddress", "binaryequals",
}
_NEGATED = {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "numericnotequals",
            "arnnotequals", "arnnotlike", "datenotequals", "notipaddress"}


def _split_operator(operator: str) -> tuple[str | None, str, bool]:
    """``ForAllValues:StringLikeIfExists`` → (``forallvalues``, ``stringlike``, True)."""
    name = operator.lower()
    qualifier = None
    if ":" in name:
        qualifier, name = name.split(":", 1)
        if qualifier not in ("forallvalues", "foranyvalue"):
            raise MalformedPolicyDocumentException(
                "", hint=f"Unknown condition set operator {operator!r}.")
    if_exists = name.endswith("ifexists") and name != "null"
    if if_exists:
        name = name[:-len("ifexists")]
    if name not in _OPERATORS:
        raise MalformedPolicyDocumentException(
            "", hint=f"Unknown condition operator {operator!r}.")
    return qualifier, name, if_exists


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _one(name: str, actual: Any, wanted: Any) -> bool:
    """The positive form of operator ``name`` for one request value and one policy value."""
    base = name.replace("not", "", 1) if name in _NEGATED else name
    if base.startswith("numeric"):
        a, w = _number(actual), _number(wanted)
        if a is None or w is None:
            return False
        return {"numericequals": a == w, "numericlessthan": a < w,
                "numericlessthanequals": a <= w, "numericgreaterthan": a > w,
                "numericgreaterthanequals": a >= w}[base]
    if base == "bool":
        return str(actual).lower() == str(wanted).lower()
    actual, wanted = str(actual), str(wanted)
    if base in ("stringequals", "arnequals", "dateequals", "binaryequals", "ipaddress"):
        return actual == wanted if base != "arnequals" else _like(wanted, actual)
    if base == "stringequalsignorecase":
        return actual.lower() == wanted.lower()
    if base in ("stringlike", "arnlike"):
        return _like(wanted, actual)
    return False


def _condition(operator: str, key: str, values: tuple[Any, ...],
               context: Mapping[str, Any]) -> bool:
    qualifier, name, if_exists = _split_operator(operator)
    present = key in context
    actual = context.get(key)
    if name == "null":
        return any(str(v).lower() == ("false" if present else "true") for v in values)
    negated = name in _NEGATED

    def single(value: Any) -> bool:
        hit = any(_one(name, value, wanted) for wanted in values)
        return not hit if negated else hit

    if qualifier is not None:
        items = actual if isinstance(actual, list) else ([] if actual is None else [actual])
        if qualifier == "forallvalues":
            return all(single(v) for v in items)
        if not items:
            return if_exists and not present
        return any(single(v) for v in items)
    if not present:
        return if_exists or negated
    if isinstance(actual, list):
        return any(single(v) for v in actual)
    return single(actual)


# -- parsing --------------------------------------------------------------------------
_ALLOWED_CHARACTERS = re.compile(r"^[\t\n\r\u0020-\u00ff]+$")


def parse(text: Any, *, resource_policy: bool = True,
          known: Callable[[str], bool] | None = None) -> Policy:
    """Parse and validate a policy document, as CreateKey/PutKeyPolicy (resource policy)
    or kmssim's IAM API (identity policy) do.

    Raises MalformedPolicyDocumentException for a document that is not JSON, a statement
    without principals (key policies only), a principal ``known`` does not know, or an
    unknown condition operator; LimitExceededException over 32 KB. ``text`` may be a dict
    (it is then written out as JSON).
    """
    if isinstance(text, Mapping):
        text = json.dumps(text, indent=2)
    if not isinstance(text, str) or not text:
        raise MalformedPolicyDocumentException(
            "", hint="A policy document is a JSON string (or a dict kmssim writes as JSON).")
    if len(text.encode("utf-8")) > POLICY_SIZE_LIMIT:
        raise LimitExceededException(
            "", hint=f"The policy is {len(text.encode('utf-8'))} bytes; a key policy may be "
            f"at most {POLICY_SIZE_LIMIT} bytes (32 KB).")
    if not _ALLOWED_CHARACTERS.match(text):
        raise MalformedPolicyDocumentException(
            "", hint="A key policy may contain only printable characters up to \\u00FF, "
            "tab, line feed and carriage return.")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedPolicyDocumentException(
            "", hint=f"The policy is not JSON: {error}.") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise MalformedPolicyDocumentException(
            "", hint="A policy is a JSON object with a Statement element.")
    raw = document["Statement"]
    raw = raw if isinstance(raw, list) else [raw]
    statements = tuple(_statement(s, resource_policy, known) for s in raw)
    return Policy(text, statements)


def _principals(value: Any, known: Callable[[str], bool] | None) -> Principals:
    if value == "*":
        return Principals(anyone=True)
    if not isinstance(value, dict) or not value:
        raise MalformedPolicyDocumentException(INVALID_PRINCIPALS)
    aws: list[str] = []
    services: list[str] = []
    for kind, names in value.items():
        names = _listed(names, "Principal")
        if kind == "AWS":
            aws += names
        elif kind == "Service":
            services += names
        elif kind not in ("Federated", "CanonicalUser"):
            raise MalformedPolicyDocumentException(INVALID_PRINCIPALS)
    for name in aws:
        if not isinstance(name, str) or (name != "*" and known is not None and not known(name)):
            raise MalformedPolicyDocumentException(
                INVALID_PRINCIPALS, hint=f"{name!r} is not a principal this simulation knows: "
                "name an account (its 12-digit id or arn:aws:iam::<id>:root) or a user or role "
                "created with kms.iam.create_user / create_role.")
    return Principals(False, tuple(aws), tuple(services))


def _statement(raw: Any, resource_policy: bool,
               known: Callable[[str], bool] | None) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicyDocumentException("", hint="Each statement is a JSON object.")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicyDocumentException(
            "", hint=f"A statement's Effect is \"Allow\" or \"Deny\", not {effect!r}.")
    principals = not_principals = None
    if resource_policy:
        if "Principal" not in raw and "NotPrincipal" not in raw:
            # The model's docs: "Each statement in the key policy must contain one or more
            # principals."
            raise MalformedPolicyDocumentException(
                INVALID_PRINCIPALS, hint="Each statement of a key policy needs a Principal.")
        if "Principal" in raw:
            principals = _principals(raw["Principal"], known)
        if "NotPrincipal" in raw:
            not_principals = _principals(raw["NotPrincipal"], known)

    def strings(name: str) -> tuple[str, ...] | None:
        return None if name not in raw else tuple(str(v) for v in _listed(raw[name], name))

    conditions = []
    block = raw.get("Condition", {})
    if not isinstance(block, dict):
        raise MalformedPolicyDocumentException("", hint="Condition must be a JSON object.")
    for operator, tests in block.items():
        _split_operator(operator)
        if not isinstance(tests, dict):
            raise MalformedPolicyDocumentException(
                "", hint=f"Condition operator {operator} needs an object of key: value(s).")
        for key, values in tests.items():
            values = values if isinstance(values, list) else [values]
            conditions.append((operator, str(key).lower(), tuple(values)))
    return Statement(raw.get("Sid"), effect, principals, not_principals, strings("Action"),
                     strings("NotAction"), strings("Resource"), strings("NotResource"),
                     tuple(conditions))
