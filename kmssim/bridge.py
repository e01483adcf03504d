"""Real boto3 clients answered by the simulator: `client(kms)` and `mock_kms`.

This is the short name a notebook imports; the code lives in `kmssim.aws.bridge`.
"""

from kmssim.aws.bridge import *  # noqa: F403 - the short name re-exports exactly the module's public names
from kmssim.aws.bridge import __all__  # noqa: F401
