"""The audit trail is stored packed and built into `AuditEvent` objects on first read
(issue 15): what a reader sees is exactly what a plain list of events would give."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import timedelta

import pytest

from kmssim import KMS
from kmssim.core.errors import DisabledException
from kmssim.core.trail import AuditEvent, AuditTrail
from kms_support import new_key


def busy_kms() -> KMS:
    kms = KMS(seed=15)
    key = new_key(kms)
    kms.create_alias(AliasName="alias/app", TargetKeyId=key)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    context = {"tenant": "a", "purpose": "test"}
    blob = kms.encrypt(KeyId="alias/app", Plaintext=b"x", EncryptionContext=context)
    kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext=context)
    kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "team", "TagValue": "x"}])
    kms.advance(days=100)                         # a RotateKey service event
    kms.disable_key(KeyId=key)
    with pytest.raises(DisabledException):
        kms.encrypt(KeyId=key, Plaintext=b"refused")
    return kms


def test_a_packed_event_reads_back_as_the_event_it_was() -> None:
    kms = busy_kms()
    trail = AuditTrail()
    for event in kms.trail:          # build every event, then pack copies of them
        trail.add(event.time, event.name, event.event_type, event.principal, event.key_arn,
                  event.request, event.response, event.error_code, event.error_message,
                  event.key_material_id, event.region, event.account_id)
    assert list(trail) == list(kms.trail)
    assert [e.sequence for e in trail] == list(range(len(kms.trail)))
    assert trail.to_cloudtrail() == kms.trail.to_cloudtrail()


def test_events_are_built_once_and_later_reads_return_the_same_objects() -> None:
    kms = busy_kms()
    first = kms.trail[3]
    assert kms.trail[3] is first
    assert list(kms.trail)[3] is first
    everything = list(kms.trail)
    assert all(a is b for a, b in zip(everything, kms.trail, strict=True))
    assert kms.trail[-2:] == everything[-2:]


def test_reading_sees_events_added_after_an_earlier_read() -> None:
    kms = busy_kms()
    before = len(kms.trail.query(name="Encrypt"))
    kms.enable_key(KeyId=kms.key_ids()[0])
    kms.encrypt(KeyId="alias/app", Plaintext=b"y")
    assert len(kms.trail.query(name="Encrypt")) == before + 1
    assert kms.trail[-1].name == "Encrypt" and kms.trail[-1].sequence == len(kms.trail) - 1


def test_the_trail_does_not_change_when_the_callers_context_does() -> None:
    kms = KMS(seed=1)
    key = new_key(kms)
    context = {"tenant": "a"}
    kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext=context)
    context["tenant"] = "changed"
    assert kms.trail[-1].request["encryptionContext"] == {"tenant": "a"}
    # Each built event has its own dicts: changing one changes no other event.
    kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"tenant": "a"})
    kms.trail[-1].request["encryptionContext"]["tenant"] = "mutated"
    assert kms.trail[-2].request["encryptionContext"] == {"tenant": "a"}


def test_a_ready_event_appended_keeps_its_fields() -> None:
    trail = AuditTrail()
    event = AuditEvent(0, KMS().now, "Encrypt", "AwsApiCall", "arn:p", None,
                       {"keyId": "k", "nested": {"a": [1]}}, None, "X", "msg", None,
                       "us-east-1", "111122223333")
    trail.append(event)
    assert trail[0] == event
    odd = AuditEvent(7, event.time + timedelta(1), "Decrypt", "AwsApiCall", "arn:p", None, None,
                     None, None, None, None, "us-east-1", "111122223333")
    trail.append(odd)                 # a sequence out of place is kept as given
    assert trail[1] is odd and len(trail) == 2


def test_an_audited_call_keeps_under_200_bytes() -> None:
    kms = KMS(seed=3)
    key = new_key(kms)
    context = {"tenant": "bench"}
    kms.encrypt(KeyId=key, Plaintext=b"x" * 64, EncryptionContext=context)
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for _ in range(5000):
        kms.encrypt(KeyId=key, Plaintext=b"x" * 64, EncryptionContext=context)
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (after - before) / 5000 < 200
