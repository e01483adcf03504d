"""kmssim: a teaching simulator of AWS KMS key rotation.

``KMS`` is shaped like ``boto3.client("kms")`` (same methods, keyword arguments and
responses) and adds a simulated clock: ``kms.advance(days=365)`` moves a year and
returns the rotations and deletions that happened.

The package is layered (see ARCHITECTURE.md): `kmssim.core` is the simulator,
`kmssim.aws` faces AWS's tools, `kmssim.services` and `kmssim.analysis` build on the
core, and `kmssim.lessons` serves the notebooks. The short names a notebook imports
(`kmssim.errors`, `envelope`, `plot`, `widgets`, `teach`, `bridge`) re-export them.
"""

from kmssim.core import (
    KMS,
    CiphertextInfo,
    Clock,
    Cloud,
    KeyHistory,
    KMSError,
    ServiceEvent,
    Version,
)
from kmssim.core import __version__ as __version__
from kmssim.core import errors

__all__ = ["KMS", "Cloud", "Clock", "KMSError", "errors", "CiphertextInfo", "KeyHistory", "Version",
           "ServiceEvent"]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext kmssim``: adds the ``%aws`` magic (see `kmssim.aws.magic`).

    Imported only here, so that importing kmssim never imports IPython.
    """
    from kmssim.aws.magic import load_ipython_extension as load
    load(ipython)
