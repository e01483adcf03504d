"""Issue 10's hardening: context-local principals, seeds that round-trip, O(1) material
storage and sliced advances, markers, regional material, and loose ends of saving."""

from __future__ import annotations

import threading

from kmssim import KMS


# -- item 2: acting_as is per thread (context-local) -------------------------------------
def test_overlapping_acting_as_blocks_in_threads_never_record_each_others_calls():
    kms = KMS(seed=2)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    inside = threading.Barrier(3)
    leave = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker(name: str | None, calls: int) -> None:
        try:
            if name is None:
                inside.wait(10)
                for _ in range(calls):
                    kms.describe_key(KeyId=key_id, GrantTokens=["third"])
                leave.wait(10)
                return
            with kms.acting_as(name):
                inside.wait(10)   # all three threads are now inside or beside the blocks
                for _ in range(calls):
                    kms.describe_key(KeyId=key_id, GrantTokens=[name])
                leave.wait(10)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n, 200)) for n in ("alice", "bob", None)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    account = kms.account_id
    expected = {"alice": f"arn:aws:iam::{account}:user/alice",
                "bob": f"arn:aws:iam::{account}:user/bob",
                "third": f"arn:aws:iam::{account}:user/learner"}
    seen = [e for e in kms.trail if e.name == "DescribeKey"]
    assert len(seen) == 600
    for event in seen:
        assert event.principal == expected[event.request["grantTokens"][0]]
    # After both blocks ended, nothing leaks: later calls are the default principal's,
    # in this thread and in a new one.
    assert kms.principal == expected["third"]
    kms.list_keys()
    later = threading.Thread(target=kms.list_aliases)
    later.start()
    later.join()
    assert [e.principal for e in kms.trail][-2:] == [expected["third"]] * 2


def test_acting_as_nests_and_restores_within_one_thread():
    kms = KMS(seed=2)
    with kms.acting_as("alice"):
        with kms.acting_as("role/app") as app:
            assert kms.principal == app
        assert kms.principal.endswith(":user/alice")
    assert kms.principal.endswith(":user/learner")
