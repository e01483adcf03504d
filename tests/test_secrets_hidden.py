"""No key material and no plaintext data key ever shows in a repr, str or audit record.

The test builds a scenario touching every kind of object a learner might print, then
searches every printable form of each object for every secret, in the forms a secret
could leak in: raw escaped bytes, hex and base64.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from kmssim import KMS
from kmssim.core.envelope import seal
from kmssim.core.keys import SecretBytes
from kms_support import new_key


def leak_forms(secret: bytes) -> list[str]:
    """Ways a secret could appear in text; long enough that chance matches are impossible."""
    forms = [secret.hex(), base64.b64encode(secret).decode(), repr(bytes(secret))[2:-1]]
    return [form[:24] for form in forms] + [form[-24:] for form in forms]


@pytest.fixture(scope="module")
def scene() -> tuple[list[bytes], list[Any]]:
    """(every secret, every object a learner might print)."""
    kms = KMS(seed=51)
    sym = new_key(kms)
    rsa = new_key(kms, KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    mac = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    kms.create_alias(AliasName="alias/app", TargetKeyId=sym)
    kms.enable_key_rotation(KeyId=sym, RotationPeriodInDays=90)
    shown: list[Any] = [kms, kms.trail]
    data_keys: list[bytes] = []
    for _ in range(2):
        response = kms.generate_data_key(KeyId="alias/app", KeySpec="AES_256",
                                         EncryptionContext={"file": "a"})
        data_keys.append(bytes(response["Plaintext"]))
        shown += [response, response["Plaintext"],
                  kms.decrypt(CiphertextBlob=response["CiphertextBlob"],
                              EncryptionContext={"file": "a"}),
                  kms.re_encrypt(CiphertextBlob=response["CiphertextBlob"],
                                 SourceEncryptionContext={"file": "a"}, DestinationKeyId=sym)]
        shown += kms.advance(days=90)
        shown.append(kms.rotate_key_on_demand(KeyId=sym))
    shown.append(kms.generate_data_key_without_plaintext(KeyId=sym, NumberOfBytes=64))
    record = seal(kms, sym, b"card 4111", {"customer": "7"})
    shown += [record, kms.inspect_ciphertext(record.encrypted_data_key)]
    shown.append(kms.encrypt(KeyId=rsa, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1"))
    shown.append(kms.generate_mac(KeyId=mac, Message=b"m", MacAlgorithm="HMAC_SHA_256"))
    for key in (sym, rsa, mac):
        shown += [kms.describe_key(KeyId=key), kms.history(key), kms._keys[key]]
        shown += list(kms._keys[key].materials)
    shown += [kms.list_key_rotations(KeyId=sym, IncludeKeyMaterial="ALL_KEY_MATERIAL"),
              kms.get_key_rotation_status(KeyId=sym)]
    kms.schedule_key_deletion(KeyId=mac, PendingWindowInDays=7)
    secrets = [m.secret for key in (sym, rsa, mac) for m in kms._keys[key].materials]
    shown += kms.advance(days=7)
    shown.append(kms.history(mac))
    shown += list(kms.trail)
    shown += kms.trail.to_cloudtrail()
    return secrets + data_keys, shown


def printed(thing: Any) -> str:
    text = repr(thing) + "\n" + str(thing) + "\n" + f"{thing}"
    if isinstance(thing, dict):
        text += "\n" + json.dumps(thing, default=str)
    return text


def test_the_scene_has_secrets_of_every_kind(scene) -> None:
    secrets, shown = scene
    assert {len(s) for s in secrets} >= {32} and max(map(len, secrets)) > 1000   # RSA DER
    assert len(shown) > 60


def test_no_secret_shows_in_any_repr_str_or_cloudtrail_record(scene) -> None:
    secrets, shown = scene
    for thing in shown:
        text = printed(thing)
        for secret in secrets:
            for form in leak_forms(secret):
                assert form not in text, f"a secret shows in {type(thing).__name__}: {text[:300]}"


def test_plaintext_data_key_prints_as_a_fingerprint_but_is_usable_bytes() -> None:
    kms = KMS(seed=52)
    data_key = kms.generate_data_key(KeyId=new_key(kms), KeySpec="AES_256")["Plaintext"]
    assert isinstance(data_key, bytes) and isinstance(data_key, SecretBytes)
    assert repr(data_key).startswith("<secret 32 bytes fp:")
    assert str(data_key) == repr(data_key) == f"{data_key}" == format(data_key)
    assert "%s" % (data_key,) == str(data_key)  # noqa: UP031 - printf style is what is tested
    assert len(data_key) == 32 and bytes(data_key) == data_key


def test_decrypted_data_key_prints_as_a_fingerprint_too() -> None:
    # A plaintext data key is just as secret when Decrypt returns it (kms-facts 5.1).
    kms = KMS(seed=53)
    key = new_key(kms)
    response = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    decrypted = kms.decrypt(CiphertextBlob=response["CiphertextBlob"])["Plaintext"]
    assert decrypted == response["Plaintext"]
    assert repr(decrypted) == repr(response["Plaintext"])
    assert decrypted.hex() not in repr(kms.decrypt(CiphertextBlob=response["CiphertextBlob"]))


def test_saved_scenario_holds_material_but_the_simulator_never_prints_it(tmp_path) -> None:
    kms = KMS(seed=54)
    key = new_key(kms)
    secret = kms._keys[key].current.secret
    kms.save(tmp_path / "s.json")
    assert base64.b64encode(secret).decode() in (tmp_path / "s.json").read_text()
    loaded = KMS.load(tmp_path / "s.json")
    for form in leak_forms(secret):
        assert form not in repr(loaded) + repr(loaded.history(key)) + repr(loaded._keys[key])
