"""Envelope encryption as a small recipe over `generate_data_key` and `decrypt`.

This is the short name a notebook imports; the code lives in `kmssim.core.envelope`.
"""

from kmssim.core.envelope import *  # noqa: F403 - the short name re-exports exactly the module's public names
from kmssim.core.envelope import __all__  # noqa: F401
