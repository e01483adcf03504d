"""Helpers for lesson cells: attempt a call, show a response, check an exercise.

This is the short name a notebook imports; the code lives in `kmssim.lessons.teach`.
"""

from kmssim.lessons.teach import *  # noqa: F403 - the short name re-exports exactly the module's public names
from kmssim.lessons.teach import __all__  # noqa: F401
