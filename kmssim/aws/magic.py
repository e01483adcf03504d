"""The ``%aws`` IPython magic: ``aws kms …`` command lines in a notebook, run on its simulator.

::

    %load_ext kmssim
    kms = KMS(seed=1)
    %aws kms create-key --description "orders database"
    %aws kms enable-key-rotation --key-id {key_id} --rotation-period-in-days 180
    %aws kms get-key-rotation-status --key-id {key_id}

IPython fills in ``{key_id}`` (or ``$key_id``) from the notebook's variables. The
magic prints what AWS CLI v2 prints, errors included (``An error occurred
(NotFoundException) when calling the DescribeKey operation: …``, on stderr, no
traceback), and below an error kmssim's own explanation on a line marked
``kmssim hint:``; see `kmssim.aws.cli` for the details. ``%%aws`` runs one command per line
(a line ending in ``\\`` continues on the next, as in a shell) and stops at the first
that fails.

Which simulator: ``%aws --use other kms …`` names a variable; otherwise the one given
to `use`; otherwise the only `kmssim.KMS` among the notebook's variables, or, if
there are several, the one called ``kms``. ``--profile`` and ``--endpoint-url`` are
ignored: the magic always talks to the simulator.
"""

from __future__ import annotations

import linecache
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from kmssim.aws import cli as awscli
from kmssim.core import KMS
from kmssim.core.errors import KMSError, ParamValidationError, hint_line

__all__ = ["use", "find_simulator", "run_line", "load_ipython_extension", "show_errors_briefly",
           "brief_error"]

_PACKAGE = str(Path(__file__).resolve().parents[1])

_chosen: KMS | None = None


def use(kms: KMS | None) -> None:
    """Make ``%aws`` use ``kms`` from now on (``use(None)`` goes back to finding one)."""
    global _chosen
    if kms is not None and not isinstance(kms, KMS):
        raise TypeError(f"use() takes a kmssim.KMS, not {type(kms).__name__}.")
    _chosen = kms


class _NoSimulator(Exception):
    pass


def find_simulator(namespace: Mapping[str, Any], name: str | None = None) -> KMS:
    """The simulator ``%aws`` runs on, looked up as the module docstring says."""
    if name is not None:
        found = namespace.get(name)
        if not isinstance(found, KMS):
            raise _NoSimulator(f"--use {name}: there is no kmssim.KMS called {name!r}.")
        return found
    if _chosen is not None:
        return _chosen
    candidates: dict[int, str] = {}
    for var, value in namespace.items():
        # Skip IPython's output history (_, _3, …), which may hold an old simulator.
        if isinstance(value, KMS) and not var.startswith("_"):
            candidates.setdefault(id(value), var)
    if len(candidates) == 1:
        return namespace[next(iter(candidates.values()))]
    if isinstance(namespace.get("kms"), KMS):
        return namespace["kms"]
    if not candidates:
        raise _NoSimulator("No simulator yet: run `kms = KMS()` first (from kmssim import KMS).")
    raise _NoSimulator("Several simulators (" + ", ".join(sorted(candidates.values()))
                       + "): choose one with `%aws --use NAME kms …` or kmssim.aws.magic.use(...).")


def run_line(namespace: Mapping[str, Any], line: str) -> int:
    """Run one ``%aws`` line: print the CLI's output; return its exit status."""
    try:
        words = shlex.split(line)
    except ValueError as error:
        print(f"aws: error: cannot split the command line: {error}", file=sys.stderr)
        return awscli.USAGE
    name = None
    if "--use" in words:
        at = words.index("--use")
        if at + 1 >= len(words):
            print("aws: error: argument --use: expected a variable name", file=sys.stderr)
            return awscli.USAGE
        name = words[at + 1]
        del words[at:at + 2]
    try:
        kms = find_simulator(namespace, name)
    except _NoSimulator as error:
        print(f"kmssim: {error}", file=sys.stderr)
        return awscli.OTHER_ERROR
    outcome = awscli.run(kms, words)
    sys.stdout.write(outcome.stdout)
    sys.stderr.write(outcome.stderr)
    sys.stderr.write(outcome.hint)      # kmssim's explanation, below what AWS says
    return outcome.status


def _commands(cell: str) -> list[str]:
    """The command lines of a ``%%aws`` cell: comments and blank lines dropped, and a line
    ending in ``\\`` joined to the next, as a shell joins the AWS docs' multi-line examples."""
    commands: list[str] = []
    pending = ""
    for text in cell.splitlines():
        text = text.strip()
        if not pending and (not text or text.startswith("#")):
            continue
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        commands.append(pending + text)
        pending = ""
    if pending.strip():
        commands.append(pending)
    return commands


def brief_error(error: BaseException, tb: TracebackType | None) -> list[str]:
    """The lines a notebook shows for a KMSError or ParamValidationError that a cell
    let escape: the learner's line that made the call, the error as Python names it
    (AWS's code and message, as boto3's ClientError reads), kmssim's hint marked
    ``kmssim hint:``, and where the full traceback is. kmssim's own frames are left out."""
    lines = []
    caller = None
    while tb is not None:          # the last frame outside kmssim is the learner's call
        if not str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
            caller = tb
        tb = tb.tb_next
    if caller is not None:
        code = linecache.getline(caller.tb_frame.f_code.co_filename, caller.tb_lineno).strip()
        if code:
            lines.append(f"line {caller.tb_lineno}: {code}")
    lines.append(f"{type(error).__name__}: {error}")
    hint = hint_line(error)
    if hint:
        lines.append(hint)
    lines.append("(%tb shows the full traceback)")
    return lines


def _show_briefly(shell: Any, etype: type[BaseException], value: BaseException,
                  tb: TracebackType | None, tb_offset: int | None = None) -> list[str]:
    # IPython leaves sys.last_* unset for custom-handled exceptions; %tb reads them.
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    shell._showtraceback(etype, value, ["\n".join(brief_error(value, tb))])
    return []


def show_errors_briefly(ipython: Any) -> None:
    """Show a `KMSError` or `ParamValidationError` that escapes a cell as `brief_error`
    words it, instead of a traceback through kmssim's internals; ``%tb`` still prints the
    whole traceback. The error's name and text (what nbval compares) are unchanged."""
    ipython.set_custom_exc((KMSError, ParamValidationError), _show_briefly)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%aws`` and ``%%aws`` (``%load_ext kmssim`` calls this), and show
    kmssim's errors briefly (see `show_errors_briefly`)."""
    show_errors_briefly(ipython)

    def aws(line: str, cell: str | None = None) -> None:
        namespace = ipython.user_ns
        if cell is None:
            run_line(namespace, line)
            return
        for text in _commands(cell):
            if run_line(namespace, ipython.var_expand(f"{line} {text}".strip())) != 0:
                return

    aws.__doc__ = __doc__
    ipython.register_magic_function(aws, magic_kind="line_cell", magic_name="aws")
