"""Catch-up checkpoints: rebuild a lesson's state at the start of any of its sections.

A learner who falls behind in a workshop runs one cell, ``teach.checkpoint("3.4")``,
and has the variables lesson 3 has when its fourth section starts (``kms``,
``key_id``, ``records``, …), exactly as if every cell above had been run. Nothing is
stored in a file: the checkpoint re-runs the lesson's own code cells, up to that
section, on the lesson's own seeded simulator, so it cannot drift from the lesson.

Sections are the ``## `` headings of a lesson, numbered from 1 in order;
`sections` lists them (``python -m kmssim.lessons.checkpoints`` prints every lesson's).
The printed output of the replayed cells is swallowed; pictures are not drawn.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kmssim.core.errors import ValidationException

__all__ = ["Section", "Checkpoint", "NOTEBOOKS", "sections", "checkpoint", "lesson_path"]

#: Where the lessons live: ``notebooks/`` beside the package in a checkout.
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True, slots=True)
class Section:
    """One ``## `` heading of a lesson: its id (``"3.4"``), title and first cell."""

    section_id: str
    title: str
    cell: int


@dataclass
class Checkpoint:
    """The state rebuilt for a section: the variables, and what was replayed."""

    section: Section
    namespace: dict[str, Any] = field(repr=False)
    cells_run: int = 0

    @property
    def names(self) -> list[str]:
        """The lesson's variables, in the order they were first set."""
        return [name for name in self.namespace
                if not name.startswith("_") and not _is_module_or_import(self.namespace[name])]

    def __repr__(self) -> str:
        shown = ", ".join(self.names) or "nothing yet"
        kms = self.namespace.get("kms")
        when = f" · kms clock at {kms.now:%Y-%m-%d %H:%M} UTC" if hasattr(kms, "now") else ""
        return (f"Checkpoint {self.section.section_id} ({self.section.title!r}): "
                f"{self.cells_run} cells replayed{when} · variables: {shown}")


def _is_module_or_import(value: Any) -> bool:
    """Imported names (modules, classes, functions) are not the lesson's state."""
    return inspect.ismodule(value) or inspect.isclass(value) or inspect.isroutine(value)


def lesson_path(lesson: int) -> Path:
    """The notebook of lesson ``lesson`` (1–8) in `NOTEBOOKS`."""
    found = sorted(NOTEBOOKS.glob(f"{lesson:02d}_*.ipynb"))
    if not found:
        raise ValidationException(f"There is no lesson {lesson} in {NOTEBOOKS}.")
    return found[0]


def _cells(lesson: int) -> list[dict[str, Any]]:
    with lesson_path(lesson).open(encoding="utf-8") as handle:
        return list(json.load(handle)["cells"])


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def sections(lesson: int) -> list[Section]:
    """The lesson's sections, from its ``## `` headings in order."""
    found: list[Section] = []
    for index, cell in enumerate(_cells(lesson)):
        if cell.get("cell_type") != "markdown":
            continue
        for line in _source(cell).splitlines():
            if line.startswith("## "):
                found.append(Section(f"{lesson}.{len(found) + 1}", line[3:].strip(), index))
    return found


def _find(section_id: str) -> Section:
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", str(section_id))
    if not match:
        raise ValidationException(f"A checkpoint is named like \"3.4\" (lesson 3, its fourth "
                                  f"section), not {section_id!r}.")
    lesson = int(match.group(1))
    found = sections(lesson)
    for section in found:
        if section.section_id == f"{lesson}.{int(match.group(2))}":
            return section
    raise ValidationException(f"Lesson {lesson} has sections {found[0].section_id} to "
                              f"{found[-1].section_id}, not {section_id!r}.")


def _lines(source: str, namespace: dict[str, Any]) -> Iterator[str]:
    """Python lines of a cell, with the ``%aws`` and ``%load_ext`` magics replaced."""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("%load_ext"):
            continue
        if stripped.startswith("%aws "):
            command = stripped[len("%aws "):]
            yield f"__aws__({command!r})"
            continue
        yield line


def _replay(section: Section, namespace: dict[str, Any]) -> int:
    from kmssim.aws import magic  # the %aws magic's own code, for lesson 2's CLI cells

    def aws(command: str) -> None:
        magic.run_line(namespace, command.format_map(namespace))

    namespace.setdefault("__aws__", aws)
    lesson = int(section.section_id.split(".")[0])
    run = 0
    for cell in _cells(lesson)[:section.cell]:
        if cell.get("cell_type") != "code":
            continue
        code = "\n".join(_lines(_source(cell), namespace))
        if not code.strip():
            continue
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(code, f"<lesson {lesson} cell {cell.get('id', '?')}>", "exec"),
                 namespace)
        run += 1
    namespace.pop("__aws__", None)
    return run


def checkpoint(section_id: str, into: dict[str, Any] | None = None) -> Checkpoint:
    """Rebuild the state at the start of section ``section_id`` (``"3.4"``).

    In a notebook the variables go straight into the notebook (IPython's user
    namespace), so the next cells run as if everything above had; ``into`` names
    another dictionary to fill instead. Returns a `Checkpoint` whose repr lists them.
    """
    section = _find(section_id)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with _quiet_figures():
        cells_run = _replay(section, namespace)
    namespace.pop("__builtins__", None)
    namespace.pop("__name__", None)
    target = into if into is not None else _notebook_namespace()
    if target is not None:
        target.update(namespace)
    return Checkpoint(section, namespace, cells_run)


def _notebook_namespace() -> dict[str, Any] | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the lessons' environment
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns


@contextlib.contextmanager
def _quiet_figures() -> Iterator[None]:
    """Close the pyplot figures the replayed cells open, so none is shown afterwards."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        yield
        return
    before = set(plt.get_fignums())
    try:
        yield
    finally:
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def main() -> None:
    """Print every lesson's checkpoints, as the instructor kit lists them."""
    for lesson in range(1, 10):
        if not sorted(NOTEBOOKS.glob(f"{lesson:02d}_*.ipynb")):
            continue
        print(f"Lesson {lesson} ({lesson_path(lesson).name})")
        for section in sections(lesson):
            print(f"  teach.checkpoint(\"{section.section_id}\")  {section.title}")


if __name__ == "__main__":
    main()
