"""Which optional extra brings a missing package: imports that fail say what to install.

The core needs only `cryptography`; the plots and panels need matplotlib and ipywidgets
(``pip install "kmssim[lessons]"``), the boto3 bridge needs boto3 (``"kmssim[aws]"``). A module
that needs one wraps its imports::

    with requires_extra("lessons", "kmssim.plot"):
        import matplotlib

so that, without the package, importing it raises `MissingExtra` (a ModuleNotFoundError, as a
missing package always raises) whose message names the extra, not only the missing module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

# What each extra brings, as said to someone whose import just failed.
_PURPOSE = {
    "lessons": "matplotlib, ipywidgets and boto3 for the lessons' plots, panels and boto3 bridge",
    "aws": "boto3 for real boto3 clients answered by the simulator",
}


class MissingExtra(ModuleNotFoundError):
    """A package from one of kmssim's extras is not installed; the message says which extra."""

    def __init__(self, module: str, missing: str | None, extra: str) -> None:
        self.extra = extra
        self.install = f'pip install "kmssim[{extra}]"'
        super().__init__(
            f"{module} needs the package {missing!r}, which is not installed. Install kmssim "
            f"with its {extra!r} extra, which brings {_PURPOSE[extra]}:\n    {self.install}\n"
            f"(in a notebook: %pip install \"kmssim[{extra}]\", then restart the kernel)",
            name=missing)


@contextlib.contextmanager
def requires_extra(extra: str, module: str) -> Iterator[None]:
    """Turn a ModuleNotFoundError raised by the imports inside into `MissingExtra`.

    Only a missing *top-level package* counts (``matplotlib``, not ``kmssim.x``): a typo in
    kmssim's own imports must still fail as itself.
    """
    if extra not in _PURPOSE:
        raise ValueError(f"unknown extra {extra!r}; kmssim's extras are {sorted(_PURPOSE)}")
    try:
        yield
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] == "kmssim":
            raise
        raise MissingExtra(module, error.name.split(".")[0], extra) from error
