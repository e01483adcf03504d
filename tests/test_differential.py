"""The optimized call path against the reference path, on seeded random call sequences.

Parameter checks run, on every call, through acceptors compiled from the model's rules
(`kmssim.core.params.compiled`); the interpreter of the same rules
(`reference_client_problems`, `reference_service_problems`) words the reports and is the
reference. Two simulators with the same seed get the same random sequence of valid and
invalid calls, one of them forced onto the reference path (`reference_path`); their
responses, errors, trails (as CloudTrail JSON) and saved scenarios must be identical.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kmssim import KMS
from kmssim.core import calls, params
from kmssim.core._model_shapes import OPERATIONS
from kmssim.core.errors import KMSError, ParamValidationError


@contextmanager
def reference_path() -> Iterator[None]:
    """Calls inside check their parameters with the interpreter alone."""
    saved = calls.client_problems, calls.service_problems
    calls.client_problems = params.reference_client_problems
    calls.service_problems = params.reference_service_problems
    calls.ACCEPTORS_ON = False
    calls.FAST_PATHS_ON = False
    try:
        yield
    finally:
        calls.client_problems, calls.service_problems = saved
        calls.ACCEPTORS_ON = True
        calls.FAST_PATHS_ON = True


# -- random values, valid and not ----------------------------------------------------------
_ODD = [None, True, 0, -1, 3.5, "", "x", "\ud800", "é" * 3, b"", b"\x00" * 5, bytearray(b"ab"),
        [], ["a"], ("t",), {}, {"a": "b"}, {"": "v"}, {"k": 1}, {1: "v"}, "A" * 9000,
        "alias/ok", "alias/bad name", "RSAES_OAEP_SHA_1", "HMAC_SHA_256", "AES_128", 10**30]


def _valid(rule: dict[str, Any], rng: random.Random) -> Any:
    kind = rule["type"]
    if "enum" in rule:
        return rng.choice(rule["enum"])
    if kind == "string":
        low = rule.get("min", 0)
        return "a" * rng.randint(low, max(low, min(rule.get("max", 8), 8)))
    if kind == "blob":
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    if kind in ("integer", "long"):
        low = rule.get("min", 0)
        return rng.randint(low, max(low, min(rule.get("max", 100), 100)))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "list":
        return [_valid(rule["member"], rng) for _ in range(rng.randint(1, 2))]
    if kind == "map":
        return {f"k{i}": f"v{i}" for i in range(rng.randint(0, 2))}
    if kind == "structure":
        return {name: _valid(sub, rng) for name, sub in rule["members"].items()
                if name in rule["required"] or rng.random() < 0.3}
    return None


def _mutated(request: dict[str, Any], rule: dict[str, Any], rng: random.Random) -> None:
    roll = rng.random()
    members = list(rule["members"])
    if roll < 0.15 and request:
        del request[rng.choice(list(request))]
    elif roll < 0.25:
        request[rng.choice(["PlainText", "keyid", "Extra"])] = rng.choice(_ODD)
    elif members:
        request[rng.choice(members)] = rng.choice(_ODD)


def _request(name: str, rng: random.Random, keys: list[str], blobs: list[bytes]) -> dict:
    rule = OPERATIONS[name]["rules"]
    request = _valid(rule, rng)
    for member in ("KeyId", "TargetKeyId", "DestinationKeyId", "SourceKeyId"):
        if member in request or (member in rule["members"] and member in rule["required"]):
            request[member] = rng.choice(keys)
    if "CiphertextBlob" in rule["members"] and blobs:
        request["CiphertextBlob"] = rng.choice(blobs)
    if "EncryptionContext" in request and rng.random() < 0.7:
        request["EncryptionContext"] = {"purpose": "test"}
    if name == "GenerateDataKey" and "KeySpec" in request and "NumberOfBytes" in request:
        del request[rng.choice(["KeySpec", "NumberOfBytes"])]
    if rng.random() < 0.35:
        _mutated(request, rule, rng)
    return request


_OPERATIONS = ["Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
               "ReEncrypt", "GenerateMac", "VerifyMac", "GenerateRandom", "DescribeKey",
               "CreateAlias", "DisableKey", "EnableKey", "ListAliases", "UpdateKeyDescription",
               "TagResource", "EnableKeyRotation", "RotateKeyOnDemand"]


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _outcome(kms: KMS, name: str, request: dict[str, Any], wire: bool = False) -> Any:
    try:
        if wire:  # as the HTTP endpoint calls: the service makes botocore's checks too
            with calls.received_over_the_wire():
                return ("ok", getattr(kms, _snake(name))(**request))
        return ("ok", getattr(kms, _snake(name))(**request))
    except ParamValidationError as error:
        return ("client", str(error))
    except KMSError as error:
        return ("service", error.code, error.message)


@pytest.mark.parametrize("seed", range(4))
def test_random_sequences_match_the_reference_path(seed: int, tmp_path: Path) -> None:
    fast, slow = KMS(seed=seed), KMS(seed=seed)
    rng = random.Random(seed)
    keys: list[str] = ["alias/missing", "not-a-key"]
    blobs: list[bytes] = [b"\x01" * 80]
    for spec in (None, "HMAC_256"):
        extra = {"KeySpec": spec, "KeyUsage": "GENERATE_VERIFY_MAC"} if spec else {}
        made = fast.create_key(**extra)["KeyMetadata"]
        with reference_path():
            assert slow.create_key(**extra)["KeyMetadata"] == made
        keys += [made["KeyId"], made["Arn"]]
    for step in range(1500):
        name = rng.choice(_OPERATIONS)
        request = _request(name, rng, keys, blobs)
        wire = rng.random() < 0.3
        ours = _outcome(fast, name, dict(request), wire)
        with reference_path():
            theirs = _outcome(slow, name, dict(request), wire)
        assert repr(ours) == repr(theirs), (step, name, request)
        if name == "CreateAlias" and ours[0] == "ok":
            keys.append(request["AliasName"])
        if ours[0] == "ok" and "CiphertextBlob" in ours[1]:
            blobs.append(ours[1]["CiphertextBlob"])
        if step % 97 == 0:
            days = rng.randint(1, 120)
            fast.advance(days=days)
            slow.advance(days=days)
    assert json.dumps(fast.trail.to_cloudtrail()) == json.dumps(slow.trail.to_cloudtrail())
    fast.save(tmp_path / "fast.json")
    slow.save(tmp_path / "slow.json")
    assert (tmp_path / "fast.json").read_bytes() == (tmp_path / "slow.json").read_bytes()


@pytest.mark.parametrize("seed", range(3))
def test_acceptors_agree_with_the_interpreter(seed: int) -> None:
    """Every operation's compiled acceptor passes exactly the requests the interpreter
    finds no problem in, on the client, the service, and the service over the wire."""
    for name, rule, request in _random_requests(random.Random(1000 + seed), 60, 0.6):
        assert params.client_problems(rule, request) == \
            params.reference_client_problems(rule, request), (name, request)
        for checked in (True, False):
            assert params.service_problems(rule, request, client_checked=checked) == \
                params.reference_service_problems(rule, request,
                                                  client_checked=checked), (name, request)


def _random_requests(rng: random.Random, per_operation: int, mutated: float,
                     ) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """``per_operation`` valid requests for every operation, a share ``mutated`` of them
    broken in one place: (operation, its rules, the request)."""
    for name, entry in OPERATIONS.items():
        rule = entry["rules"]
        for _ in range(per_operation):
            request = _valid(rule, rng)
            if rng.random() < mutated:
                _mutated(request, rule, rng)
            yield name, rule, request


@pytest.mark.parametrize("seed", range(2))
def test_acceptors_decide_alone_and_the_interpreter_only_words(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request the rules accept never reaches the interpreter: the compiled acceptors
    decide it by themselves (the point of compiling them), and each acceptor's verdict is
    the interpreter's."""
    requests = []
    for name, rule, request in _random_requests(random.Random(2000 + seed), 30, 0.5):
        acceptors = params.compiled(rule)
        assert acceptors.client(request) == \
            (not params.reference_client_problems(rule, request)), (name, request)
        assert acceptors.service(request) == \
            (not params.reference_service_problems(rule, request)), (name, request)
        assert acceptors.wire(request) == (not params.reference_service_problems(
            rule, request, client_checked=False)), (name, request)
        requests.append((rule, request, acceptors.client(request),
                         acceptors.service(request), acceptors.wire(request)))

    def interpreted(*args: object, **kwargs: object) -> list[str]:
        raise AssertionError("the interpreter ran for a request the rules accept")

    monkeypatch.setattr(params, "reference_client_problems", interpreted)
    monkeypatch.setattr(params, "reference_service_problems", interpreted)
    accepted = [0, 0, 0]
    for rule, request, client, service, wire in requests:
        if client:
            accepted[0] += 1
            assert params.client_problems(rule, request) == []
        if service:
            accepted[1] += 1
            assert params.service_problems(rule, request) == []
        if wire:
            accepted[2] += 1
            assert params.service_problems(rule, request, client_checked=False) == []
    assert min(accepted) > 100, accepted


# -- the crypto fast paths against the general path ---------------------------------------
# Encrypt, Decrypt and GenerateDataKey(WithoutPlaintext) have fast paths
# (kmssim/core/ops/crypto_fast.py) that remember verdicts, key resolutions, plans and
# authorization decisions. These sequences change, between the calls, everything those
# depend on (key state, key policy, identity policies, grants, aliases, rotation, the
# principal, deletion) and mix valid calls with invalid ones; the reference simulator runs
# with the fast paths and remembered decisions off.
_ACCOUNT = "111122223333"
_IDENTITY = {
    "role/app": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
         "Resource": "*"}]}],
    "limited": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}]}],
    "conditional": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:purpose": "test"}}}]}],
    "granted": [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]}],
}
_DENY_ENCRYPT = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Resource": "*"}]}
_CALLERS = [None, None, "role/app", "limited", "conditional", "granted", "newcomer"]
_RESTRICTIVE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": f"arn:aws:iam::{_ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "No secrets for the app", "Effect": "Deny",
     "Principal": {"AWS": f"arn:aws:iam::{_ACCOUNT}:role/app"}, "Action": "kms:Decrypt",
     "Resource": "*", "Condition": {"StringEquals": {"kms:EncryptionContext:purpose": "other"}}},
    {"Sid": "Nothing for limited", "Effect": "Deny",
     "Principal": {"AWS": f"arn:aws:iam::{_ACCOUNT}:user/limited"}, "Action": "kms:*",
     "Resource": "*"}]})
_CONTEXTS = [{"purpose": "test"}, {"purpose": "other"}, {}, {"a": "1", "b": "2"},
             {"b": "2", "a": "1"}, {"": "x"}, {"k": 1}, {"purpose": "\ud800"}, ["purpose"]]


class _Pair:
    """The same calls on a fast simulator and a reference one, compared as they go."""

    def __init__(self, seed: int) -> None:
        self.fast, self.slow = KMS(seed=seed), KMS(seed=seed)
        self.steps = 0

    def both(self, call: Any, caller: str | None = None) -> Any:
        def run(kms: KMS) -> Any:
            try:
                if caller is None:
                    return ("ok", call(kms))
                with kms.acting_as(caller):
                    return ("ok", call(kms))
            except ParamValidationError as error:
                return ("client", str(error))
            except KMSError as error:
                return ("service", error.code, error.message)
            except Exception as error:  # noqa: BLE001 - whatever it is, both must agree
                return ("raised", type(error).__name__, str(error))
        ours = run(self.fast)
        with reference_path():
            theirs = run(self.slow)
        self.steps += 1
        assert repr(ours) == repr(theirs), (self.steps, ours, theirs)
        return ours


def _crypto_call(rng: random.Random, keys: list[str], blobs: list[bytes]) -> tuple[str, dict]:
    name = rng.choice(["Encrypt", "Encrypt", "Decrypt", "Decrypt", "GenerateDataKey",
                       "GenerateDataKeyWithoutPlaintext"])
    request: dict[str, Any] = {}
    if name == "Decrypt":
        request["CiphertextBlob"] = rng.choice(blobs)
    else:
        request["KeyId"] = rng.choice(keys)
    if name == "Encrypt":
        request["Plaintext"] = rng.choice([b"x" * rng.randint(1, 64), b"y" * 1024])
    elif name != "Decrypt":
        request["KeySpec"] = rng.choice(["AES_256", "AES_256", "AES_128"])
    if rng.random() < 0.8:
        request["EncryptionContext"] = dict(rng.choice(_CONTEXTS[:5]))
    if rng.random() < 0.5:
        request = dict(rng.sample(list(request.items()), len(request)))  # another order
    roll = rng.random()
    if roll < 0.2:  # something unusual or wrong
        odd = rng.choice([
            ("EncryptionContext", rng.choice(_CONTEXTS[5:])), ("Plaintext", b""),
            ("Plaintext", b"z" * 4097), ("Plaintext", "text"), ("Plaintext", bytearray(b"ab")),
            ("KeyId", rng.choice(["not-a-key", "alias/missing", "", 5])),
            ("CiphertextBlob", b"\x01" * 80), ("CiphertextBlob", b""),
            ("GrantTokens", ["token"]), ("DryRun", True),
            ("EncryptionAlgorithm", "RSAES_OAEP_SHA_1"),
            ("NumberOfBytes", 16), ("KeySpec", "AES_512"), ("KeySpec", None), ("PlainText", b"x")])
        request[odd[0]] = odd[1]
    return name, request


def _change(pair: _Pair, rng: random.Random, keys: list[str], grants: list[tuple[str, str]],
            key_ids: list[str]) -> None:
    """One change to what the fast paths depend on (or a step of time)."""
    key = rng.choice(key_ids)
    roll = rng.choice([0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 8, 9, 9])
    if roll == 0:
        pair.both(lambda kms: kms.disable_key(KeyId=key))
    elif roll == 1:
        if rng.random() < 0.5:
            pair.both(lambda kms: kms.cancel_key_deletion(KeyId=key))
        pair.both(lambda kms: kms.enable_key(KeyId=key))
    elif roll == 2:
        text = rng.choice([_RESTRICTIVE, policy_default(), policy_default()])
        pair.both(lambda kms: kms.put_key_policy(KeyId=key, Policy=text))
    elif roll == 3:
        made = pair.both(lambda kms: kms.create_grant(
            KeyId=key, GranteePrincipal=f"arn:aws:iam::{_ACCOUNT}:user/granted",
            Operations=["Encrypt", "Decrypt", "GenerateDataKey"],
            Constraints={"EncryptionContextSubset": {"purpose": "test"}}))
        if made[0] == "ok":
            grants.append((key, made[1]["GrantId"]))
    elif roll == 4 and grants:
        grant_key, grant_id = grants.pop(rng.randrange(len(grants)))
        pair.both(lambda kms: kms.revoke_grant(KeyId=grant_key, GrantId=grant_id))
    elif roll == 5:
        who = rng.choice(["limited", "role/app", "newcomer"])
        document = rng.choice([_IDENTITY["limited"][0], _IDENTITY["role/app"][0], _DENY_ENCRYPT])
        for kms in (pair.fast, pair.slow):
            if who == "newcomer" and not any(i.name == "newcomer" for i in kms.iam):
                kms.iam.create_user("newcomer", policies=[document])
            else:
                kms.iam.attach_policy(who, document)
    elif roll == 6:
        pair.both(lambda kms: kms.update_alias(AliasName="alias/moving", TargetKeyId=key))
    elif roll == 7:
        pair.both(lambda kms: kms.rotate_key_on_demand(KeyId=key))
    elif roll == 8:  # the last key may go all the way to deletion
        doomed = key_ids[-1]
        pair.both(lambda kms: kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7))
    else:
        days = rng.randint(1, 10)
        pair.fast.advance(days=days)
        pair.slow.advance(days=days)


def policy_default() -> str:
    from kmssim.core import policy
    return policy.default_key_policy(_ACCOUNT)


@pytest.mark.parametrize("seed", range(4))
def test_crypto_fast_paths_match_the_general_path(seed: int, tmp_path: Path) -> None:
    pair = _Pair(seed)
    rng = random.Random(5000 + seed)
    for who, documents in _IDENTITY.items():
        for kms in (pair.fast, pair.slow):
            if who.startswith("role/"):
                kms.iam.create_role(who[5:], policies=documents)
            else:
                kms.iam.create_user(who, policies=documents)
    key_ids: list[str] = []
    keys: list[str] = ["alias/moving", "alias/missing"]
    for number in range(4):
        made = pair.both(lambda kms, n=number: kms.create_key(Description=f"key {n}"))[1]
        key_ids.append(made["KeyMetadata"]["KeyId"])
        keys += [made["KeyMetadata"]["KeyId"], made["KeyMetadata"]["Arn"]]
    hmac = pair.both(lambda kms: kms.create_key(KeySpec="HMAC_256",
                                                KeyUsage="GENERATE_VERIFY_MAC"))[1]
    keys.append(hmac["KeyMetadata"]["KeyId"])
    pair.both(lambda kms: kms.create_alias(AliasName="alias/moving", TargetKeyId=key_ids[0]))
    blobs: list[bytes] = [b"\x01" * 80]
    grants: list[tuple[str, str]] = []
    for _ in range(1200):
        if rng.random() < 0.06:
            _change(pair, rng, keys, grants, key_ids)
            continue
        name, request = _crypto_call(rng, keys, blobs)
        caller = rng.choice(_CALLERS)
        outcome = pair.both(lambda kms, name=name, request=request:
                            getattr(kms, _snake(name))(**dict(request)), caller)
        if outcome[0] == "ok" and "CiphertextBlob" in outcome[1]:
            blobs.append(outcome[1]["CiphertextBlob"])
            if len(blobs) > 40:
                blobs.pop(1)
    fast_trail = json.dumps(pair.fast.trail.to_cloudtrail())
    assert fast_trail == json.dumps(pair.slow.trail.to_cloudtrail())
    pair.fast.save(tmp_path / "fast.json")
    pair.slow.save(tmp_path / "slow.json")
    assert (tmp_path / "fast.json").read_bytes() == (tmp_path / "slow.json").read_bytes()


def test_the_fast_paths_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common calls do take the fast paths (which record through `add_packed`), from
    the second use of a KeyId text on; a disabled key sends them back to the general path."""
    from kmssim.core.trail import AuditTrail

    fast: list[str] = []
    record = AuditTrail.add_packed
    monkeypatch.setattr(AuditTrail, "add_packed",
                        lambda trail, time, packed: (fast.append(packed[0]),
                                                     record(trail, time, packed))[1])
    kms = KMS(seed=3)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    context = {"purpose": "test"}
    for _ in range(2):
        blob = kms.encrypt(KeyId=key, Plaintext=b"data",
                           EncryptionContext=context)["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    assert fast == ["Decrypt", "GenerateDataKey", "Encrypt", "Decrypt", "GenerateDataKey"]
    assert len(kms.trail) == 7
    kms.disable_key(KeyId=key)
    with pytest.raises(KMSError):
        kms.encrypt(KeyId=key, Plaintext=b"data")
    assert len(fast) == 5 and kms.trail[-1].error_code == "DisabledException"


def test_fast_paths_see_every_change_they_depend_on() -> None:
    """Each thing a remembered request depends on, changed right after the request was
    remembered (a second identical call takes the remembered entry), then the request
    again: the fast simulator must answer as the reference does."""
    pair = _Pair(7)
    for kms in (pair.fast, pair.slow):
        kms.iam.create_user("limited", policies=_IDENTITY["limited"])
        kms.iam.create_user("granted", policies=_IDENTITY["granted"])
        kms.iam.create_role("app", policies=_IDENTITY["role/app"])
    key = pair.both(lambda kms: kms.create_key())[1]["KeyMetadata"]["KeyId"]
    context = {"purpose": "test"}

    def encrypt(caller: str | None = None) -> Any:
        for _ in range(2):   # the second call is answered from what the first remembered
            outcome = pair.both(lambda kms: kms.encrypt(
                KeyId=key, Plaintext=b"data", EncryptionContext=dict(context)), caller)
        return outcome

    def decrypt(blob: bytes, caller: str | None = None) -> None:
        for _ in range(2):
            pair.both(lambda kms: kms.decrypt(CiphertextBlob=blob,
                                              EncryptionContext=dict(context)), caller)

    blob = encrypt()[1]["CiphertextBlob"]
    encrypt("limited")
    pair.both(lambda kms: kms.put_key_policy(KeyId=key, Policy=_RESTRICTIVE))  # denies limited
    assert encrypt("limited")[0] == "service"
    encrypt()
    pair.both(lambda kms: kms.put_key_policy(KeyId=key, Policy=policy_default()))
    encrypt("limited")
    for kms in (pair.fast, pair.slow):
        kms.iam.attach_policy("limited", _DENY_ENCRYPT)
    assert encrypt("limited")[0] == "service"
    encrypt()
    decrypt(blob)
    pair.both(lambda kms: kms.rotate_key_on_demand(KeyId=key))      # a new current material
    encrypt()
    decrypt(blob)
    pair.both(lambda kms: kms.create_grant(
        KeyId=key, GranteePrincipal=f"arn:aws:iam::{_ACCOUNT}:user/granted",
        Operations=["Encrypt", "Decrypt"],
        Constraints={"EncryptionContextSubset": {"purpose": "test"}}))
    encrypt("granted")
    decrypt(blob, "granted")
    encrypt()
    pair.both(lambda kms: kms.disable_key(KeyId=key))
    assert encrypt()[0] == "service"
    decrypt(blob)
    pair.both(lambda kms: kms.enable_key(KeyId=key))
    encrypt()
    decrypt(blob)
    pair.both(lambda kms: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7))
    decrypt(blob)
    pair.both(lambda kms: kms.cancel_key_deletion(KeyId=key))
    pair.both(lambda kms: kms.enable_key(KeyId=key))
    encrypt()
    decrypt(blob)
    pair.both(lambda kms: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7))
    pair.fast.advance(days=8)
    pair.slow.advance(days=8)
    decrypt(blob)
    assert encrypt()[0] == "service"
    assert json.dumps(pair.fast.trail.to_cloudtrail()) == \
        json.dumps(pair.slow.trail.to_cloudtrail())


class _OddContext(dict):  # type: ignore[type-arg]
    """A dict whose items cannot be read, nor its values hashed."""

    def items(self) -> Any:
        raise RuntimeError("no items")


def test_odd_arguments_reach_the_general_path_unharmed() -> None:
    """Arguments a fast path cannot even look up are the general path's to judge."""
    pair = _Pair(11)
    key = pair.both(lambda kms: kms.create_key())[1]["KeyMetadata"]["KeyId"]
    odd: list[Any] = [_OddContext(a="b"), {"a": ["b"]}, {"a": {"b": "c"}}, "a=b", ["a"]]
    for context in odd:
        for _ in range(2):
            pair.both(lambda kms, context=context: kms.encrypt(
                KeyId=key, Plaintext=b"x", EncryptionContext=context))
            pair.both(lambda kms, context=context: kms.generate_data_key(
                KeyId=key, KeySpec="AES_256", EncryptionContext=context))
    for key_ref in ([key], {key: 1}, None):
        pair.both(lambda kms, key_ref=key_ref: kms.encrypt(KeyId=key_ref, Plaintext=b"x"))


def test_a_data_key_given_to_encrypt_is_sealed_as_the_general_path_seals_it() -> None:
    """A `SecretBytes` Plaintext (a data key given back to Encrypt) is sealed as plain
    data, as the general path's argument check makes it bytes: the Encrypt fast path
    leaves such a value to the general path, and a bytes Plaintext takes the fast path;
    both decrypt to bytes, on both paths."""
    pair = _Pair(13)
    key = pair.both(lambda kms: kms.create_key())[1]["KeyMetadata"]["KeyId"]
    for _ in range(2):
        secret = pair.both(lambda kms: kms.generate_data_key(
            KeyId=key, KeySpec="AES_128"))[1]["Plaintext"]
        assert type(secret).__name__ == "SecretBytes"
        for plaintext in (secret, bytes(secret), secret):
            sealed = pair.both(lambda kms, p=plaintext: kms.encrypt(KeyId=key, Plaintext=p))
            opened = pair.both(lambda kms, s=sealed: kms.decrypt(
                CiphertextBlob=s[1]["CiphertextBlob"]))
            assert type(opened[1]["Plaintext"]) is bytes
    assert json.dumps(pair.fast.trail.to_cloudtrail()) == \
        json.dumps(pair.slow.trail.to_cloudtrail())
