"""The API table in kmssim is generated from one botocore's KMS model and must match it.

Another botocore may have a newer (or older) KMS model, so on another version the check is
skipped with the reason; under CI, which installs constraints.txt, the pinned botocore must be
there and the table must match it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import _in_ci

from kmssim import KMS
from kmssim.core import _model_shapes
from kmssim.core import model as api

REPO_ROOT = Path(__file__).resolve().parent.parent


def generated_from() -> str:
    """The botocore version the API table was generated from."""
    recorded = getattr(_model_shapes, "GENERATED_FROM_BOTOCORE", None)
    if recorded:
        return recorded
    # Until the generator records its botocore version in the module, the pin CI installs says it.
    pin = re.search(r"^botocore==(\S+)", (REPO_ROOT / "constraints.txt").read_text(), re.M)
    assert pin, "constraints.txt pins no botocore"
    return pin.group(1)


def test_api_table_matches_the_botocore_model_it_was_generated_from():
    botocore = pytest.importorskip("botocore")
    from botocore.loaders import create_loader

    expected = generated_from()
    if botocore.__version__ != expected:
        reason = (f"kmssim's API table was generated from botocore {expected}, but botocore "
                  f"{botocore.__version__} is installed, whose KMS model may differ; to run "
                  "this check, install the pinned one: pip install -c constraints.txt botocore")
        if _in_ci():
            pytest.fail(f"CI installs constraints.txt, so this is a broken pin: {reason}")
        pytest.skip(reason)
    loader = create_loader()
    service = loader.load_service_model("kms", "service-2")
    paginators = loader.load_service_model("kms", "paginators-1")
    implemented = [op for op in service["operations"]
                   if callable(getattr(KMS, api.method_name(op), None))]
    assert api.trim(service, paginators, implemented) == api.OPERATIONS, (
        "regenerate: python -m kmssim.core.model <botocore>/data/kms/2014-11-01 "
        "> kmssim/core/_model_shapes.py")
