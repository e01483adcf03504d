"""The interactive panels of the lessons: time controls and progress.

This is the short name a notebook imports; the code lives in `kmssim.lessons.widgets`.
"""

from kmssim.lessons.widgets import *  # noqa: F403 - the short name re-exports exactly the module's public names
from kmssim.lessons.widgets import __all__  # noqa: F401
