"""Random operation sequences against the simulator and a trivially simple model.

The model knows only what a careful user would write down: each key's state and ARN,
where aliases point, how many on-demand rotations were asked for, when each pending
deletion falls due, and every ciphertext ever produced with its plaintext and context.
After every step the invariants check the simulator against it:

* every ciphertext decrypts to its plaintext while its key is enabled; answers
  DisabledException / KMSInvalidStateException while the key is disabled / pending
  deletion; and is unrecoverable (NotFoundException) once the key is deleted;
* rotation never changes a key's id or ARN;
* a key's versions number 1 + its RotateKey events, and its on-demand rotations are
  exactly those the model asked for; a key that is not enabled is never rotated as time
  passes, and no enabled key is left with a rotation date in the past;
* audit times never decrease, and never pass the clock.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule,
)

from kmssim import KMS
from kmssim.core.errors import (
    ConflictException, DisabledException, KMSError, KMSInvalidStateException,
    LimitExceededException, NotFoundException,
)

CONTEXTS = st.sampled_from([None, {"app": "orders"}, {"app": "billing", "env": "prod"}])
ALIASES = ("alias/app", "alias/reports")


@dataclass
class KeyModel:
    arn: str
    state: str = "Enabled"            # Enabled, Disabled, PendingDeletion, Deleted
    deletion_due: datetime | None = None
    on_demand: int = 0


@dataclass
class Ciphertext:
    blob: bytes
    plaintext: bytes
    context: dict[str, str] | None
    key_id: str


@dataclass
class Model:
    keys: dict[str, KeyModel] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    ciphertexts: list[Ciphertext] = field(default_factory=list)


def expected_error(key: KeyModel) -> type[KMSError] | None:
    """What a cryptographic call on a key in this state answers (None: it works)."""
    return {"Enabled": None, "Disabled": DisabledException,
            "PendingDeletion": KMSInvalidStateException, "Deleted": NotFoundException}[key.state]


class KMSMachine(RuleBasedStateMachine):
    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="kmssim-stateful-"))
        self.model = Model()
        self.kms = KMS(seed=0)
        self.saves = 0

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @initialize(target=keys, seed=st.integers(0, 2**32), rotation=st.booleans())
    def start(self, seed: int, rotation: bool) -> str:
        self.kms = KMS(seed=seed)
        return self.create_key(rotation)

    # -- helpers -------------------------------------------------------------------------
    def expect(self, error: type[KMSError] | None, call, *args, **kwargs):
        """Run ``call``; it must raise exactly ``error`` (or succeed when None). Parameters
        that are None are left out, as a boto3 caller leaves them out (botocore refuses None)."""
        kwargs = {name: value for name, value in kwargs.items() if value is not None}
        if error is None:
            return call(*args, **kwargs)
        try:
            call(*args, **kwargs)
        except error:
            return None
        raise AssertionError(f"{call.__name__} should have raised {error.__name__}")

    def management_error(self, key: KeyModel) -> type[KMSError] | None:
        return {"Enabled": None, "Disabled": None, "PendingDeletion": KMSInvalidStateException,
                "Deleted": NotFoundException}[key.state]

    def record(self, blob: bytes, plaintext: bytes, context, key_id: str) -> None:
        self.model.ciphertexts.append(Ciphertext(blob, bytes(plaintext), context, key_id))

    # -- rules ---------------------------------------------------------------------------
    @precondition(lambda self: len(self.model.keys) < 6)
    @rule(target=keys, rotation=st.booleans())
    def create_key(self, rotation: bool) -> str:
        meta = self.kms.create_key()["KeyMetadata"]
        self.model.keys[meta["KeyId"]] = KeyModel(meta["Arn"])
        if rotation:
            self.kms.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=90)
        return meta["KeyId"]

    @rule(key=keys, plaintext=st.binary(min_size=1, max_size=64), context=CONTEXTS,
          via_alias=st.booleans())
    def encrypt(self, key: str, plaintext: bytes, context, via_alias: bool) -> None:
        ref = next((a for a, k in self.model.aliases.items() if k == key and via_alias), key)
        response = self.expect(expected_error(self.model.keys[key]), self.kms.encrypt,
                               KeyId=ref, Plaintext=plaintext, EncryptionContext=context)
        if response is not None:
            assert response["KeyId"] == self.model.keys[key].arn
            self.record(response["CiphertextBlob"], plaintext, context, key)

    @rule(key=keys, context=CONTEXTS, size=st.sampled_from([16, 32, 64]))
    def generate_data_key(self, key: str, context, size: int) -> None:
        response = self.expect(expected_error(self.model.keys[key]), self.kms.generate_data_key,
                               KeyId=key, NumberOfBytes=size, EncryptionContext=context)
        if response is not None:
            self.record(response["CiphertextBlob"], response["Plaintext"], context, key)

    @rule(days=st.sampled_from([0, 1, 7, 30, 89, 90, 91, 200, 400]))
    def advance(self, days: int) -> None:
        before = self.kms.now
        resting = {key_id: len(self.kms.history(key_id).versions)
                   for key_id, key in self.model.keys.items() if key.state != "Enabled"}
        events = self.kms.advance(days=days)
        # Keys that are disabled, pending deletion or deleted are never rotated ...
        assert resting == {k: len(self.kms.history(k).versions) for k in resting}
        # ... and no enabled key is left with a rotation date that has passed.
        for key_id, key in self.model.keys.items():
            if key.state == "Enabled":
                due = self.kms.get_key_rotation_status(KeyId=key_id).get("NextRotationDate")
                assert due is None or due > self.kms.now
        assert self.kms.now == before + timedelta(days=days)
        assert [e.time for e in events] == sorted(e.time for e in events)
        assert all(before <= e.time <= self.kms.now for e in events)
        for key_id, key in self.model.keys.items():
            if key.deletion_due is not None and key.deletion_due <= self.kms.now:
                key.state, key.deletion_due = "Deleted", None
                self.model.aliases = {a: k for a, k in self.model.aliases.items() if k != key_id}
        deleted = {e.key_id for e in events if e.name == "DeleteKey"}
        assert deleted <= {k for k, m in self.model.keys.items() if m.state == "Deleted"}

    @rule(key=keys, period=st.sampled_from([90, 180, 365]))
    def enable_rotation(self, key: str, period: int) -> None:
        model = self.model.keys[key]
        error = self.management_error(model) or (DisabledException
                                                 if model.state == "Disabled" else None)
        self.expect(error, self.kms.enable_key_rotation, KeyId=key, RotationPeriodInDays=period)

    @rule(key=keys)
    def disable_rotation(self, key: str) -> None:
        model = self.model.keys[key]
        error = self.management_error(model) or (DisabledException
                                                 if model.state == "Disabled" else None)
        self.expect(error, self.kms.disable_key_rotation, KeyId=key)

    @rule(key=keys)
    def rotate_on_demand(self, key: str) -> None:
        model = self.model.keys[key]
        error = expected_error(model)
        if error is None and model.on_demand >= 25:
            error = LimitExceededException
        if error is None:
            status = self.kms.get_key_rotation_status(KeyId=key)
            due = status.get("NextRotationDate")
            if due is not None and due - self.kms.now <= timedelta(minutes=20):
                error = ConflictException
        if self.expect(error, self.kms.rotate_key_on_demand, KeyId=key) is not None:
            model.on_demand += 1

    @rule(key=keys)
    def disable_key(self, key: str) -> None:
        model = self.model.keys[key]
        self.expect(self.management_error(model), self.kms.disable_key, KeyId=key)
        if model.state == "Enabled":
            model.state = "Disabled"

    @rule(key=keys)
    def enable_key(self, key: str) -> None:
        model = self.model.keys[key]
        self.expect(self.management_error(model), self.kms.enable_key, KeyId=key)
        if model.state == "Disabled":
            model.state = "Enabled"

    @precondition(lambda self: self.model.ciphertexts)
    @rule(data=st.data(), destination=keys, context=CONTEXTS)
    def re_encrypt(self, data, destination: str, context) -> None:
        old = data.draw(st.sampled_from(self.model.ciphertexts))
        error = (expected_error(self.model.keys[destination])
                 or expected_error(self.model.keys[old.key_id]))
        response = self.expect(error, self.kms.re_encrypt, CiphertextBlob=old.blob,
                               SourceEncryptionContext=old.context,
                               DestinationKeyId=destination,
                               DestinationEncryptionContext=context)
        if response is not None:
            assert response["DestinationKeyMaterialId"] == self.kms.describe_key(
                KeyId=destination)["KeyMetadata"]["CurrentKeyMaterialId"]
            self.record(response["CiphertextBlob"], old.plaintext, context, destination)

    @rule(alias=st.sampled_from(ALIASES), key=keys)
    def point_alias(self, alias: str, key: str) -> None:
        model = self.model.keys[key]
        error = self.management_error(model)
        if alias in self.model.aliases:
            self.expect(error, self.kms.update_alias, AliasName=alias, TargetKeyId=key)
        else:
            self.expect(error, self.kms.create_alias, AliasName=alias, TargetKeyId=key)
        if error is None:
            self.model.aliases[alias] = key

    @rule(key=keys, window=st.integers(7, 30))
    def schedule_deletion(self, key: str, window: int) -> None:
        model = self.model.keys[key]
        response = self.expect(self.management_error(model), self.kms.schedule_key_deletion,
                               KeyId=key, PendingWindowInDays=window)
        if response is not None:
            model.state, model.deletion_due = "PendingDeletion", response["DeletionDate"]
            assert model.deletion_due == self.kms.now + timedelta(days=window)

    @rule(key=keys)
    def cancel_deletion(self, key: str) -> None:
        model = self.model.keys[key]
        error = {"PendingDeletion": None, "Deleted": NotFoundException}.get(
            model.state, KMSInvalidStateException)
        if self.expect(error, self.kms.cancel_key_deletion, KeyId=key) is not None:
            model.state, model.deletion_due = "Disabled", None

    @rule()
    def save_and_load(self) -> None:
        self.saves += 1
        path = self.folder / f"scenario-{self.saves}.json"
        self.kms.save(path)
        loaded = KMS.load(path)
        assert repr(loaded) == repr(self.kms)
        assert loaded.next_event_time() == self.kms.next_event_time()
        self.kms = loaded

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def every_ciphertext_decrypts_unless_its_key_is_unusable(self) -> None:
        for ct in self.model.ciphertexts:
            error = expected_error(self.model.keys[ct.key_id])
            response = self.expect(error, self.kms.decrypt, CiphertextBlob=ct.blob,
                                   EncryptionContext=ct.context)
            if response is not None:
                assert response["Plaintext"] == ct.plaintext
                assert response["KeyId"] == self.model.keys[ct.key_id].arn

    @invariant()
    def keys_keep_their_id_and_arn_and_state(self) -> None:
        for key_id, model in self.model.keys.items():
            if model.state == "Deleted":
                assert key_id not in self.kms.key_ids()
                continue
            meta = self.kms.describe_key(KeyId=key_id)["KeyMetadata"]
            assert (meta["KeyId"], meta["Arn"], meta["KeyState"]) == (key_id, model.arn,
                                                                      model.state)

    @invariant()
    def versions_are_one_plus_rotations(self) -> None:
        for key_id, model in self.model.keys.items():
            history = self.kms.history(key_id)
            rotations = self.kms.trail.query(key=key_id, name="RotateKey")
            assert len(history.versions) == 1 + len(rotations)
            assert sum(v.rotation_type == "ON_DEMAND" for v in history.versions) == model.on_demand
            created = [v.created for v in history.versions]
            assert created == sorted(created) and created[1:] == [e.time for e in rotations]

    @invariant()
    def aliases_point_where_the_model_says(self) -> None:
        listed = {a["AliasName"]: a["TargetKeyId"] for a in self.kms.list_aliases()["Aliases"]
                  if "TargetKeyId" in a}     # the predefined alias/aws/… have no target yet
        assert listed == self.model.aliases

    @invariant()
    def audit_times_never_decrease(self) -> None:
        times = [event.time for event in self.kms.trail]
        assert times == sorted(times) and (not times or times[-1] <= self.kms.now)


KMSMachine.TestCase.settings = settings(max_examples=75, stateful_step_count=40, deadline=None)
test_kms_state_machine = KMSMachine.TestCase
