"""The AWS errors kmssim raises, one class per AWS error code, all under `KMSError`.

This is the short name a notebook imports; the code lives in `kmssim.core.errors`.
"""

from kmssim.core.errors import *  # noqa: F403 - the short name re-exports exactly the module's public names
from kmssim.core.errors import __all__  # noqa: F401
