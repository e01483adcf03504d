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
