"""kmssim: a teaching simulator of AWS KMS key rotation.

``KMS`` is shaped like ``boto3.client("kms")`` (same methods, keyword arguments and
responses) and adds a simulated clock: ``kms.advance(days=365)`` moves a year and
returns the rotations and deletions that happened.
"""

from . import errors
from .clock import Clock
from .errors import KMSError
from .kms import KMS, CiphertextInfo, KeyHistory, Version
from .service import ServiceEvent

__all__ = ["KMS", "Clock", "KMSError", "errors", "CiphertextInfo", "KeyHistory", "Version",
           "ServiceEvent"]
__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext kmssim``: adds the ``%aws`` magic (see `kmssim.magic`).

    Imported only here, so that importing kmssim never imports IPython.
    """
    from .magic import load_ipython_extension as load
    load(ipython)
