"""Benchmarks of the simulator core, as ratios against baselines measured in this run.

Run: ``python benchmarks/bench_core.py`` (about half a minute on 2 cores).

- encrypt+decrypt of 1 KiB through KMS against raw AES-GCM from ``cryptography``
  (same data; the baseline draws a nonce and encrypts and decrypts with a ready
  AESGCM object, which is the least any correct implementation must do);
- generate_data_key against raw: 32 random bytes wrapped with AES-GCM;
- advancing 10 simulated years over 100 and 1,000 keys with a 90-day period:
  cost per rotation and the 1,000/100 ratio (10x the events should cost ~10x);
- memory per audited call after 100,000 encrypt calls.
Targets (issue 2): crypto pair <= 2x raw; generate_data_key <= 2.5x raw; <= 20 us per
rotation, linear; <= 1 KiB per audited call.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from kmssim import KMS  # noqa: E402


def median_us(fn, *, number: int, repeat: int = 7) -> float:
    """Median over ``repeat`` runs of the mean time of one call, in microseconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(runs)


def bench_crypto() -> None:
    data = os.urandom(1024)
    kms = KMS(seed=1)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    context = {"purpose": "bench"}

    def simulated_pair() -> None:
        blob = kms.encrypt(KeyId=key, Plaintext=data, EncryptionContext=context)["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)

    raw = AESGCM(os.urandom(32))
    aad = b"purpose=bench"

    def raw_pair() -> None:
        nonce = os.urandom(12)
        raw.decrypt(nonce, raw.encrypt(nonce, data, aad), aad)

    def simulated_data_key() -> None:
        kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext=context)

    def raw_data_key() -> None:
        nonce = os.urandom(12)
        raw.encrypt(nonce, os.urandom(32), aad)

    for label, ours, base, target in (
            ("encrypt+decrypt 1 KiB", simulated_pair, raw_pair, 2.0),
            ("generate_data_key AES_256", simulated_data_key, raw_data_key, 2.5)):
        kms_us = median_us(ours, number=2000)
        raw_us = median_us(base, number=2000)
        print(f"{label:28s} kmssim {kms_us:7.1f} us   raw AESGCM {raw_us:6.1f} us   "
              f"ratio {kms_us / raw_us:5.2f}x (target <= {target}x)")


def rotations_over_ten_years(keys: int) -> tuple[float, int]:
    kms = KMS(seed=2)
    for _ in range(keys):
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    gc.collect()
    start = time.perf_counter()
    events = kms.advance(days=3652)
    return time.perf_counter() - start, len(events)


def bench_time() -> None:
    results = {}
    for keys in (100, 1000):
        seconds, events = min((rotations_over_ten_years(keys) for _ in range(3)),
                              key=lambda r: r[0])
        results[keys] = seconds
        print(f"advance 10 years, {keys:5d} keys  {events:6d} rotations in {seconds * 1e3:7.1f} ms"
              f"   {seconds / events * 1e6:5.1f} us per rotation (target <= 20 us)")
    print(f"1,000 keys / 100 keys time ratio: {results[1000] / results[100]:.1f}x "
          "(linear would be 10x)")


def bench_memory(calls: int = 100_000) -> None:
    kms = KMS(seed=3)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    data = b"x" * 64
    context = {"tenant": "bench"}
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(calls):
        kms.encrypt(KeyId=key, Plaintext=data, EncryptionContext=context)
    gc.collect()
    retained = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{calls:,} audited encrypt calls: {len(kms.trail):,} events, "
          f"{retained / calls:6.0f} bytes retained per call (target <= 1024), "
          f"peak {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    bench_crypto()
    bench_time()
    bench_memory()
