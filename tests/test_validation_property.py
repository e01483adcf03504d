"""Every operation, driven with generated bad input, answers the error due for that input
and changes nothing (issue 10's first "Done when").

Each example takes a valid request for one operation (built from the model's rules), spoils
ONE member in one way, and calls the direct API. What the call must raise depends only on
the way it was spoiled, per the table `EXPECTED` below:

* what botocore checks on the client (types, None, unknown members, minimums; and kmssim's
  own refusal of lone surrogates, which botocore cannot encode) is a ParamValidationError
  in botocore's words: it never reaches KMS, so it leaves no trail event;
* what only the service checks (maximums, enums, patterns matched in full, blob lengths)
  is a ValidationException in AWS's standard form, with exactly one trail event.

After every call the simulator's whole state (keys, materials, aliases, clock and queue,
the nonce counter, the seeded stream's position) is what it was before.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmssim import KMS
from kmssim.core import model as api
from kmssim.core.errors import ParamValidationError, ValidationException
from kms_support import new_key, state_without_trail

OPERATIONS = sorted(api.OPERATIONS)

#: A value matching each pattern the implemented operations' inputs have.
PATTERN_SAMPLES = {"^[a-zA-Z0-9:/_-]+$": "alias/sample", "[\\u0020-\\u00FF]*": "kmssim:0",
                   "[\\w]+": "default", "^[a-zA-Z0-9-_.]+$": "xks-key.1",
                   "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+": '{"Version": "2012-10-17"}',
                   # principals, service principals and ARNs (CreateGrant, ListGrants, ...)
                   "^[\\w+=,.@:/-]+$": "arn:aws:iam::111122223333:role/sample",
                   "^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$":
                       "rds.us-east-1.amazonaws.com",
                   "^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$":
                       "arn:aws:rds:us-east-1:111122223333:db:sample",
                   "^([a-z]+-){2,3}\\d+$": "eu-west-1", "^[a-f0-9]+$": "0a" * 32,
                   "^[a-zA-Z0-9:/_\\s.-]+$": "v1 material"}


def valid(rule: dict[str, Any]) -> Any:
    """A value that satisfies ``rule`` (required members only, for structures)."""
    kind = rule["type"]
    if kind == "structure":
        return {m: valid(rule["members"][m]) for m in rule["required"]}
    if kind == "list":
        return [valid(rule["member"])] * max(rule.get("min", 1), 1)
    if kind == "map":
        return {"k": valid(rule["value"])}
    if kind == "blob":
        return b"x" * max(rule.get("min", 1), 1)
    if kind == "string":
        if "enum" in rule:
            return rule["enum"][0]
        if "pattern" in rule:
            return PATTERN_SAMPLES[rule["pattern"]]
        return "k" * max(rule.get("min", 1), 1)
    if kind in ("integer", "long"):
        return rule.get("min", 1)
    if kind == "boolean":
        return False
    raise AssertionError(kind)


def test_the_valid_requests_pass_validation() -> None:
    from kmssim.core.params import client_problems, service_problems
    for operation in OPERATIONS:
        rules = api.input_rules(operation)
        request = valid(rules)
        assert client_problems(rules, request) == [] == service_problems(rules, request)


# -- the ways of spoiling one member ----------------------------------------------------------
_WRONG = {  # values of the wrong Python type for each model type
    "string": st.one_of(st.integers(), st.floats(allow_nan=False), st.binary(min_size=1),
                        st.booleans(), st.lists(st.text(max_size=3), max_size=2)),
    "integer": st.one_of(st.text(max_size=5), st.floats(allow_nan=False), st.booleans(),
                         st.binary(min_size=1)),
    "boolean": st.one_of(st.integers(0, 1), st.text(max_size=5), st.binary(min_size=1)),
    "blob": st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(),
                      st.lists(st.integers(0, 255), max_size=3)),
    "list": st.one_of(st.text(max_size=5), st.integers(), st.binary(min_size=1),
                      st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2)),
    "map": st.one_of(st.text(max_size=5), st.integers(), st.binary(min_size=1),
                     st.lists(st.text(max_size=3), max_size=2)),
    "structure": st.one_of(st.text(max_size=5), st.integers(), st.binary(min_size=1),
                           st.lists(st.text(max_size=3), max_size=2)),
}
_WRONG["long"] = _WRONG["integer"]
# botocore takes a datetime, or anything its timestamp parser reads (epoch numbers, ISO text);
# a list or a dict is never a timestamp.
_WRONG["timestamp"] = st.one_of(st.lists(st.integers(), min_size=1, max_size=2),
                                st.dictionaries(st.text(max_size=3), st.integers(), min_size=1,
                                                max_size=2))
NESTED = st.recursive(st.one_of(st.integers(), st.text(max_size=3), st.binary(max_size=3)),
                      lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=3),
                                              st.dictionaries(st.text(max_size=3), inner,
                                                              min_size=1, max_size=3)),
                      max_leaves=30).map(lambda deep: [[deep]])
SECRET = b"\x9c\x01data-key-bytes\xff"


def members(operation: str, where: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [m for m, r in api.input_rules(operation)["members"].items() if where(r)]


def candidates(operation: str, kind: str) -> list[str]:
    """The members of ``operation`` that can be spoilt in the way ``kind``."""
    every = lambda r: True  # noqa: E731
    return {
        "wrong type": lambda: members(operation, every),
        "None": lambda: members(operation, every),
        "nested": lambda: members(operation, every),
        "unknown member": lambda: ["(new)"],
        "surrogate": lambda: members(operation, lambda r: r["type"] in ("string", "blob", "map")),
        "below minimum": lambda: members(operation, lambda r: r["type"] in ("string", "integer")
                                         and r.get("min", 0) > 0),
        "over maximum": lambda: members(operation, lambda r: "max" in r
                                        and r["type"] in ("string", "blob", "integer")),
        "not in enum": lambda: members(operation, lambda r: "enum" in r),
        "pattern": lambda: members(operation, lambda r: "pattern" in r),
    }[kind]()


def spoilt(operation: str, kind: str, draw: st.DrawFn) -> tuple[dict[str, Any], str, Any] | None:
    """A request for ``operation`` spoilt in the way ``kind``: (request, member, value),
    or None when the operation has no member that can be spoilt that way."""
    rules = api.input_rules(operation)
    request = valid(rules)
    candidates_ = candidates(operation, kind)
    if not candidates_:
        return None
    member = draw(st.sampled_from(candidates_))
    rule = rules["members"].get(member, {})
    if kind == "wrong type":
        value = draw(_WRONG[rule["type"]])
    elif kind == "None":
        value = None
    elif kind == "nested":
        value = draw(NESTED)
    elif kind == "unknown member":
        member = draw(st.sampled_from(["PlainText", "keyId", "Context", "Foo"])
                      | st.from_regex(r"[A-Z][A-Za-z]{0,10}", fullmatch=True)
                      .filter(lambda n: n not in rules["members"]))
        value = draw(st.sampled_from([SECRET, "4111 1111 1111 1111", 1, {"a": [1]}]))
    elif kind == "surrogate":
        lone = draw(st.sampled_from(["\ud800", "\udfff", "x\udc80y"]))
        if rule["type"] == "map":
            value = draw(st.sampled_from([{lone: "v"}, {"k": lone}]))
        else:
            value = valid(rule)
            value = (value if isinstance(value, str) else "text") + lone
    elif kind == "below minimum":
        value = ("" if rule["type"] == "string"
                 else draw(st.integers(max_value=rule["min"] - 1) | st.just(-10 ** 5000)))
    elif kind == "over maximum":
        if rule["type"] == "integer":
            value = draw(st.integers(min_value=rule["max"] + 1) | st.just(10 ** 5000))
        elif rule["type"] == "blob":
            value = b"x" * (rule["max"] + draw(st.integers(1, 3)))
        else:
            value = "k" * (rule["max"] + draw(st.integers(1, 3)))
    elif kind == "not in enum":
        value = draw(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=12)
                     .filter(lambda v: v not in rule["enum"]))
    else:  # pattern: a character outside every pattern, or a final newline
        allows_newline = "\\u000A" in rule["pattern"] or "\\s" in rule["pattern"]
        # Same length as a valid value, so that a min or max length (KeyMaterialId is
        # exactly 64) is never what is wrong.
        size, sample = max(rule.get("min", 1), 1), valid(rule)
        choices = ["Ā" * size, sample[:-1] + "Ā"] + ([] if allows_newline
                                                      else [sample[:-1] + "\n"])
        value = draw(st.sampled_from(choices))
    request[member] = value
    return request, member, value


def camel(member: str) -> str:
    return member[0].lower() + member[1:]


def byte_values(value: Any) -> list[bytes]:
    """Every bytes object in ``value``, however deep."""
    if isinstance(value, bytes):
        return [value] if len(value) > 1 else []   # a lone byte could match by chance
    if isinstance(value, dict):
        return [b for k, v in value.items() for b in byte_values(k) + byte_values(v)]
    if isinstance(value, (list, tuple)):
        return [b for v in value for b in byte_values(v)]
    return []


def expect_client(line: Callable[[str, Any], str]) -> Callable[..., None]:
    def check(error: BaseException, member: str, value: Any) -> None:
        assert type(error) is ParamValidationError
        assert str(error).startswith("Parameter validation failed:\n")
        # One problem, one line (unless the echoed value itself has a newline, as in botocore).
        assert re.fullmatch(line(member, value), error.report, re.DOTALL), (
            line(member, value), error.report)
        for secret in byte_values(value):                               # no bytes echoed
            assert repr(secret) not in error.report
    return check


def expect_service(constraint: Callable[[str, Any], str]) -> Callable[..., None]:
    def check(error: BaseException, member: str, value: Any) -> None:
        assert type(error) is ValidationException
        assert re.fullmatch(r"[1-9] validation errors? detected: .+", error.message, re.DOTALL)
        assert re.search(constraint(member, value), error.message, re.DOTALL), error.message
        for secret in byte_values(value):
            assert repr(secret) not in error.message
    return check


def _type_line(member: str, value: Any) -> str:
    shown = (rf"<{len(value)} bytes>" if isinstance(value, bytes) else ".*")
    return (rf"Invalid type for parameter {re.escape(member)}(\[0\])?(\.\S+)?, "
            rf"value: {shown}, type: <class '\w+'>, valid types: .+")


#: For each way of spoiling a request: who refuses it (the client or the service), and how.
EXPECTED: dict[str, tuple[str, Callable[..., None]]] = {
    # botocore/validate.py, ValidationErrors._format_error ('invalid type'): str(value) is
    # echoed, except that kmssim shows bytes as <N bytes>.
    "wrong type": ("client", expect_client(_type_line)),
    "None": ("client", expect_client(
        lambda m, v: rf"Invalid type for parameter {m}, value: None, type: "
                     r"<class 'NoneType'>, valid types: .+")),
    "nested": ("client", expect_client(_type_line)),
    # botocore: 'Unknown parameter in input: "X", must be one of: A, B' (the value unshown).
    "unknown member": ("client", expect_client(
        lambda m, v: rf'Unknown parameter in input: "{re.escape(m)}", must be one of: .+')),
    # kmssim's own line in botocore's manner (botocore cannot encode a lone surrogate).
    "surrogate": ("client", expect_client(
        lambda m, v: rf"Invalid value for parameter {m}(\.k| \(key: .*\))?: the string has a "
                     r"lone surrogate at index \d+, which is not Unicode text and cannot be "
                     r"encoded as UTF-8")),
    # botocore: 'Invalid length for parameter X, value: 0, valid min length: 1' /
    # 'Invalid value for parameter X, value: 89, valid min value: 90'.
    "below minimum": ("client", expect_client(
        lambda m, v: rf"Invalid (length|value) for parameter {m}, value: -?[\d<].*, "
                     r"valid min (length|value): \d+")),
    # AWS's form, from the recordings: localstack snapshot generate-random-exc ('Value '1025'
    # at 'numberOfBytes' ... less than or equal to 1024') and invalid-plaintext-size-encrypt
    # ('Value at 'plaintext' ...': blob values unshown).
    "over maximum": ("service", expect_service(
        lambda m, v: rf"Value( '.+')? at '{camel(m)}' failed to satisfy constraint: Member "
                     r"must have (length|value) less than or equal to \d+")),
    # AWS's form: localstack snapshot create-hmac-key-invalid-spec and TestKMS::
    # test_invalid_generate_mac ('Member must satisfy enum value set: [...]').
    "not in enum": ("service", expect_service(
        lambda m, v: rf"Value '.*' at '{camel(m)}' failed to satisfy constraint: Member must "
                     r"satisfy enum value set: \[.+\]")),
    # AWS's standard pattern constraint (botocore model patterns, matched in full).
    "pattern": ("service", expect_service(
        lambda m, v: rf"at '{camel(m)}' failed to satisfy constraint: Member must satisfy "
                     r"regular expression pattern: ")),
}


@pytest.fixture(scope="module")
def kms() -> KMS:
    kms = KMS(seed=404)
    for _ in range(2):
        key = new_key(kms)
    kms.encrypt(KeyId=key, Plaintext=b"x")
    kms.create_alias(AliasName="alias/sample", TargetKeyId=key)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    return kms


def state(kms: KMS) -> dict[str, Any]:
    """Everything `KMS.save` writes, trail apart: keys, materials, aliases, clock and queue,
    the seeded stream's position and the nonce counter."""
    return state_without_trail(kms)


@st.composite
def bad_calls(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], str, Any]:
    kind = draw(st.sampled_from(sorted(EXPECTED)))
    operation = draw(st.sampled_from([op for op in OPERATIONS if candidates(op, kind)]))
    made = spoilt(operation, kind, draw)
    assert made is not None
    return (kind, operation, *made)


SEEN: dict[str, set[str]] = {}


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=bad_calls())
def test_bad_input_to_any_operation_is_refused_as_aws_would_and_changes_nothing(
        kms: KMS, call: tuple[str, str, dict[str, Any], str, Any]) -> None:
    refused_as_aws_would(kms, *call)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@settings(max_examples=8, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_each_operation_refuses_bad_input_as_aws_would(kms: KMS, operation: str,
                                                       data: st.DataObject) -> None:
    # Random sampling over all operations may miss one (how often depends on Hypothesis's
    # version); this walks every operation on purpose, with a few kinds of bad input each.
    kind = data.draw(st.sampled_from([k for k in sorted(EXPECTED) if candidates(operation, k)]))
    made = spoilt(operation, kind, data.draw)
    assert made is not None
    refused_as_aws_would(kms, kind, operation, *made)


def refused_as_aws_would(kms: KMS, kind: str, operation: str, request: dict[str, Any],
                         member: str, value: Any) -> None:
    SEEN.setdefault(kind, set()).add(operation)
    side, check = EXPECTED[kind]
    before, events = state(kms), len(kms.trail)
    with pytest.raises((ParamValidationError, ValidationException)) as raised:
        getattr(kms, api.method_name(operation))(**request)
    check(raised.value, member, value)
    assert state(kms) == before
    added = list(kms.trail)[events:]
    if side == "client":        # never sent: AWS, and its CloudTrail, never see it
        assert added == []
    else:                       # the service answered: one event with its error
        [event] = added
        assert (event.name, event.error_code, event.error_message) == (
            operation, "ValidationException", raised.value.message)
    if isinstance(value, bytes) and kind in ("wrong type", "unknown member"):
        assert repr(value) not in str(raised.value)


def test_the_property_test_covered_every_kind_and_every_operation() -> None:
    # Runs after the property test in file order; every kind was drawn, and every operation.
    if not SEEN:
        pytest.skip("run together with the property test")
    assert set(SEEN) == set(EXPECTED)
    assert set().union(*SEEN.values()) == set(OPERATIONS)


# -- the client side is botocore's, word for word --------------------------------------------------
def _differs_on_purpose(value: Any) -> bool:
    """Inputs whose report kmssim words differently on purpose (see kmssim.core.params):
    bytes (shown as <N bytes>), bools where numbers belong, lone surrogates."""
    if isinstance(value, (bytes, bool)):
        return True
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_differs_on_purpose(k) or _differs_on_purpose(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_differs_on_purpose(v) for v in value)
    return False


@functools.cache
def _botocore_model() -> Any:
    return pytest.importorskip("botocore.session").get_session().get_service_model("kms")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=bad_calls())
def test_the_client_side_report_is_botocores_own(call) -> None:
    from botocore.validate import ParamValidator
    from kmssim.core.params import client_problems
    kind, operation, request, member, value = call
    if _differs_on_purpose(value) or (isinstance(value, int) and abs(value) > 10 ** 4000):
        return
    service = _botocore_model()
    theirs = ParamValidator().validate(request, service.operation_model(operation).input_shape)
    ours = client_problems(api.input_rules(operation), request)
    assert "\n".join(ours) == (theirs.generate_report() if theirs.has_errors() else "")


# -- over HTTP the service checks everything itself ------------------------------------------------
#: Over the wire nothing checked the request first: what botocore would have refused is the
#: service's ValidationException (one trail event); what is not JSON text is refused before
#: any operation runs (no event). Never a 500.
WIRE_EXPECTED: dict[str, tuple[str, str]] = {
    # AWS's standard form for a missing member (Coral's 'Member must not be null').
    "None": ("ValidationException", r"Value null at '{m}' failed to satisfy constraint: "
                                    r"Member must not be null"),
    # stelligent/mu#382 quotes AWS: "Value '' at 'keyId' ... greater than or equal to 1".
    "below minimum": ("ValidationException", r"at '{m}' failed to satisfy constraint: Member "
                                             r"must have (length|value) greater than or equal"),
    "over maximum": ("ValidationException", r"at '{m}' failed to satisfy constraint: Member "
                                            r"must have (length|value) less than or equal"),
    "not in enum": ("ValidationException", r"at '{m}' failed to satisfy constraint: Member "
                                           r"must satisfy enum value set"),
    "pattern": ("ValidationException", r"at '{m}' failed to satisfy constraint: Member must "
                                       r"satisfy regular expression pattern"),
    # kmssim's choice (AWS's answer to a lone surrogate escape is not recorded).
    "surrogate": ("SerializationException", r"lone surrogate"),
    # kmssim keeps botocore's words (AWS's answer is not recorded); recorded by name only.
    "unknown member": ("ValidationException", r'Unknown parameter in input: "[^"]+"'),
}


def _json(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


@st.composite
def bad_wire_calls(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], str, Any]:
    kind = draw(st.sampled_from(sorted(WIRE_EXPECTED)))
    if kind == "None":  # only a required member, left out, is an error over the wire
        operation = draw(st.sampled_from([op for op in OPERATIONS
                                          if api.input_rules(op)["required"]]))
        request = valid(api.input_rules(operation))
        member = draw(st.sampled_from(api.input_rules(operation)["required"]))
        request[member] = None
        return kind, operation, request, member, None
    operation = draw(st.sampled_from([op for op in OPERATIONS if candidates(op, kind)]))
    made = spoilt(operation, kind, draw)
    assert made is not None
    return (kind, operation, *made)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=bad_wire_calls())
def test_over_http_every_rule_is_the_services_and_changes_nothing(kms: KMS, call) -> None:
    from kmssim.aws import protocol
    kind, operation, request, member, value = call
    if isinstance(value, int) and abs(value) > 10 ** 4000:
        return  # JSON has no such number (the server's size limits answer it)
    body = json.dumps(_json(request))
    code, pattern = WIRE_EXPECTED[kind]
    before, events = state(kms), len(kms.trail)
    status, _, payload = protocol.dispatch(kms, f"TrentService.{operation}", body)
    answer = json.loads(payload)
    assert (status, answer["__type"]) == (400, code), answer
    assert re.search(pattern.format(m=camel(member)), answer["message"], re.DOTALL), answer
    assert state(kms) == before
    added = list(kms.trail)[events:]
    if code == "SerializationException":
        assert added == []
        return
    [event] = added
    assert (event.name, event.error_code, event.error_message) == (
        operation, code, answer["message"])
    if kind == "unknown member":   # by name only: a misspelled PlainText must not leak
        assert event.request[camel(member)] == "HIDDEN_DUE_TO_SECURITY_REASONS"
        if isinstance(value, (str, bytes)):
            assert json.dumps(_json(value)) not in json.dumps(event.to_cloudtrail())
