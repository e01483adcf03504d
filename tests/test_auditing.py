"""Audit queries: who used a key and when, which key material each call used, the
rotations of a key, failed calls and why; and the tables they answer with."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import pytest

from kmssim import KMS, KMSError
from kmssim.analysis import auditing
from kmssim.services import S3
from kmssim.core.table import Table


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=51)


@pytest.fixture
def key(kms: KMS) -> str:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=key_id)
    return key_id


def _scenario(kms: KMS, key: str) -> bytes:
    """Alice encrypts before a rotation; Bob decrypts it after and encrypts anew."""
    with kms.acting_as("alice"):
        old = kms.encrypt(KeyId="alias/app", Plaintext=b"v1")["CiphertextBlob"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.advance(days=90)
    with kms.acting_as("role/reporting"):
        kms.decrypt(CiphertextBlob=old)
        kms.generate_data_key(KeyId="alias/app", KeySpec="AES_256")
    kms.rotate_key_on_demand(KeyId=key)
    return old


def test_key_usage_lists_each_call_with_who_and_which_material(kms, key):
    _scenario(kms, key)
    usage = auditing.key_usage(kms, key, crypto_only=True)
    assert [(r["who"], r["operation"], r["version"]) for r in usage] == [
        ("user/alice", "Encrypt", 1), ("assumed-role/reporting/kmssim", "Decrypt", 1),
        ("assumed-role/reporting/kmssim", "GenerateDataKey", 2)]
    everything = auditing.key_usage(kms, "alias/app")
    assert everything.column("operation")[:3] == ["CreateKey", "CreateAlias", "Encrypt"]
    later = auditing.key_usage(kms, key, since=kms.now - timedelta(days=1))
    assert later.column("operation") == ["Decrypt", "GenerateDataKey", "RotateKeyOnDemand"]


def test_who_used_summarises_per_principal(kms, key):
    _scenario(kms, key)
    summary = auditing.who_used(kms, key)
    assert summary.column("who") == ["user/learner", "assumed-role/reporting/kmssim", "user/alice"]
    reporting = summary.where(who="assumed-role/reporting/kmssim")[0]
    assert reporting["calls"] == 2 and reporting["refused"] == 0
    assert reporting["operations"] == "Decrypt ×1, GenerateDataKey ×1"
    assert reporting["first"] == reporting["last"] == datetime(2024, 3, 31, tzinfo=UTC)


def test_old_material_keeps_decrypting_after_it_stops_encrypting(kms, key):
    old = _scenario(kms, key)
    kms.advance(days=30)
    kms.decrypt(CiphertextBlob=old)
    materials = auditing.material_usage(kms, key)
    assert [(r["version"], r["encrypted"], r["decrypted"]) for r in materials] == [
        (1, 1, 2), (2, 1, 0), (3, 0, 0)]
    assert materials[0]["last used"] == kms.now and materials[0]["rotation"] == "(original)"
    assert materials[0]["until"] == materials[1]["current from"]


def test_rotations_show_automatic_and_on_demand_and_who_asked(kms, key):
    _scenario(kms, key)
    with kms.acting_as("role/security"):
        kms.rotate_key_on_demand(KeyId=key)
    table = auditing.rotations(kms, key)
    assert [(r["type"], r["requested by"], r["from version"], r["to version"]) for r in table] == [
        ("AUTOMATIC", "KMS (schedule)", 1, 2), ("ON_DEMAND", "user/learner", 2, 3),
        ("ON_DEMAND", "assumed-role/security/kmssim", 3, 4)]


def test_failed_calls_say_why_even_when_kms_refused_before_noting_the_key(kms, key):
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key)
    with kms.acting_as("role/app"):
        for attempt in (lambda: kms.decrypt(CiphertextBlob=blob),
                        lambda: kms.encrypt(KeyId="alias/app", Plaintext=b"y"),
                        lambda: kms.describe_key(KeyId="alias/none")):
            with pytest.raises(KMSError):
                attempt()
    failed = auditing.failed_calls(kms, key)
    assert [(r["operation"], r["error"], r["key"]) for r in failed] == [
        ("Decrypt", "DisabledException", key), ("Encrypt", "DisabledException", key)]
    assert "is disabled" in failed[0]["why"]
    everything = auditing.failed_calls(kms)
    assert everything[-1]["key"] == "alias/none" and everything[-1]["error"] == "NotFoundException"
    assert auditing.who_used(kms, key).where(who="assumed-role/app/kmssim")[0]["refused"] == 2


def test_calls_a_service_made_show_its_encryption_context(kms, key):
    s3 = S3(kms)
    s3.create_bucket(Bucket="photos")
    s3.set_default_encryption("photos", "alias/app")
    with kms.acting_as("alice"):
        s3.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")
    row = auditing.key_usage(kms, key, crypto_only=True)[0]
    assert row["context"] == {"aws:s3:arn": "arn:aws:s3:::photos/cat.jpg"}
    assert row["who"] == "user/alice"


def test_reencrypt_counts_for_its_source_and_its_destination(kms, key):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other)
    assert auditing.key_usage(kms, key, crypto_only=True).column("operation") == [
        "Encrypt", "ReEncrypt (from)"]
    assert auditing.key_usage(kms, other, crypto_only=True).column("operation") == ["ReEncrypt"]
    assert [r["decrypted"] for r in auditing.material_usage(kms, key)] == [1]


def test_queries_work_for_deleted_keys_and_add_nothing_to_the_trail(kms, key):
    kms.encrypt(KeyId=key, Plaintext=b"x")
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.advance(days=7)
    before = len(kms.trail)
    assert auditing.who_used(kms, key)[0]["who"] == "user/learner"
    assert len(auditing.material_usage(kms, key)) == 1
    assert len(kms.trail) == before


def test_events_table_and_rendering_are_deterministic(kms, key):
    _scenario(kms, key)
    table = auditing.events(kms.trail.query(key=key), "the key's trail")
    assert table.column("event")[-2:] == ["RotateKeyOnDemand", "RotateKey"]
    assert table[-1]["type"] == "service" and table[-1]["who"] == "AWS Internal"
    text = repr(table)
    assert text == repr(auditing.events(kms.trail.query(key=key), "the key's trail"))
    assert text.splitlines()[0] == "the key's trail"
    html = table._repr_html_()
    assert html.startswith('<table class="kmssim-table"><caption>the key&#x27;s trail')
    assert "fp:" not in text and "Plaintext" not in text


def test_tables_elide_long_middles_and_escape_html():
    rows = [{"n": i, "text": "<b>"} for i in range(100)]
    table = Table.of(("n", "text"), rows, "numbers")
    lines = repr(table).splitlines()
    assert "… 70 more rows …" in lines and lines[-1].startswith("99")
    assert "&lt;b&gt;" in table._repr_html_() and "<b>" not in table._repr_html_()
    assert len(table.where(text="<b>")) == 100 and table.to_dicts()[0] == {"n": 0, "text": "<b>"}
    with pytest.raises(KeyError, match="columns are n, text"):
        table.column("missing")
    assert repr(Table.of(("a",), [])).endswith("(no rows)")
