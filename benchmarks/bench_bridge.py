"""What a real client costs: one encrypt+decrypt of 1 KiB, four ways, as ratios.

Run: ``python benchmarks/bench_bridge.py`` (about 15 seconds).

- directly on `kmssim.KMS` (the baseline: the simulator's own cost);
- through a real boto3 client bridged in process (`kmssim.bridge.client`): botocore's
  validation, serialisation, signing and parsing, plus the JSON protocol;
- through a real boto3 client over HTTP to `kmssim.aws.server` on 127.0.0.1;
- through moto's ``mock_aws``, the usual way to fake KMS for boto3 tests, when moto
  is installed (``pip install moto``; it is not a dependency of kmssim).
Each figure is the median of 7 runs of the mean time of one pair, measured in this run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
from bench_core import median_us  # noqa: E402
from botocore.config import Config  # noqa: E402

from kmssim import KMS  # noqa: E402
from kmssim.aws.bridge import client  # noqa: E402
from kmssim.aws.server import serving  # noqa: E402

DATA = os.urandom(1024)
CONTEXT = {"purpose": "bench"}


def pair(aws: Any) -> Callable[[], None]:
    """One encrypt+decrypt on anything with boto3's KMS methods (including `KMS`)."""
    key_id = aws.create_key()["KeyMetadata"]["KeyId"]

    def run() -> None:
        blob = aws.encrypt(KeyId=key_id, Plaintext=DATA,
                           EncryptionContext=CONTEXT)["CiphertextBlob"]
        assert aws.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"] == DATA

    run()   # warm caches (cipher objects, connections) before timing
    return run


def main() -> None:
    results: dict[str, float] = {}
    results["direct (kmssim.KMS)"] = median_us(pair(KMS(seed=1)), number=2000)

    bridged = client(KMS(seed=1))
    results["boto3 bridge, in process"] = median_us(pair(bridged), number=300)
    bridged.close()

    kms = KMS(seed=1)
    with serving(kms) as server:
        over_http = boto3.client("kms", endpoint_url=server.url, region_name="us-east-1",
                                 aws_access_key_id="x", aws_secret_access_key="x",
                                 config=Config(retries={"total_max_attempts": 1}))
        results["boto3 over HTTP (127.0.0.1)"] = median_us(pair(over_http), number=200)
        over_http.close()

    try:
        from moto import mock_aws
    except ImportError:
        print("moto is not installed: no mock_aws baseline (pip install moto to add it)")
    else:
        with mock_aws():
            mocked = boto3.client("kms", region_name="us-east-1")
            results["moto mock_aws, in process"] = median_us(pair(mocked), number=300)
            mocked.close()

    direct = results["direct (kmssim.KMS)"]
    moto = results.get("moto mock_aws, in process")
    print(f"one encrypt+decrypt of {len(DATA)} bytes with an encryption context")
    for label, us in results.items():
        vs_moto = f"   {us / moto:5.2f}x moto" if moto else ""
        print(f"  {label:30s} {us:8.1f} us   {us / direct:6.1f}x direct{vs_moto}")


if __name__ == "__main__":
    main()
