"""The simulator itself: clock, keys and their material, the blob format, the operations,
the audit trail and persistence. Imports nothing but the standard library and `cryptography`.

The layers above (`kmssim.aws`, `kmssim.services`, `kmssim.analysis`, `kmssim.lessons`) use
the core only through the names below and its public modules `errors`, `envelope` and `model`;
every other module in here is private to the core (a contract test enforces it).
"""

from kmssim.core import envelope, errors, model
from kmssim.core.blob import HEADER_SIZE
from kmssim.core.calls import HIDDEN, received_over_the_wire
from kmssim.core.clock import Clock
from kmssim.core.cloud import Cloud
from kmssim.core.errors import KMSError
from kmssim.core.extras import MissingExtra, requires_extra
from kmssim.core.keys import SecretBytes
from kmssim.core.kms import KMS, CiphertextInfo, KeyHistory, Version
from kmssim.core.state import ServiceEvent
from kmssim.core.table import Table
from kmssim.core.trail import AuditEvent, AuditTrail

__version__ = "0.1.0"

__all__ = ["KMS", "KMSError", "Clock", "Cloud", "CiphertextInfo", "KeyHistory", "Version",
           "ServiceEvent", "SecretBytes", "Table", "AuditEvent", "AuditTrail", "HEADER_SIZE",
           "envelope", "errors", "model", "received_over_the_wire", "HIDDEN", "MissingExtra",
           "requires_extra"]
