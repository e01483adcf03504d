"""The key-version timeline, the blast-radius chart and the exposure table.

This is the short name a notebook imports; the code lives in `kmssim.lessons.plot`.
"""

from kmssim.lessons.plot import *  # noqa: F403 - the short name re-exports exactly the module's public names
from kmssim.lessons.plot import __all__  # noqa: F401
