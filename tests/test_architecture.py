"""The package's layers hold: the import-linter contracts in pyproject.toml pass, they would
fail on an upward import, nothing in kmssim/ imports in a cycle, and the core needs nothing
but the standard library and `cryptography`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the kmssim/ found in ``where`` with its pyproject.toml."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(where / "pyproject.toml")],
        cwd=where, env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("kmssim", include_external_packages=True, cache_dir=None)


def test_the_layer_contracts_pass() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contracts(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "kmssim", tmp_path / "kmssim",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    clock = tmp_path / "kmssim" / "core" / "clock.py"
    # A function-level import counts as much as one at the top of the module.
    upward = "\n\ndef _upward():\n    from kmssim.lessons import plot\n"
    clock.write_text(clock.read_text() + upward)
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "kmssim.core.clock -> kmssim.lessons.plot" in result.stdout
    assert "BROKEN" in result.stdout


def test_no_module_of_kmssim_is_part_of_an_import_cycle(graph: grimp.ImportGraph) -> None:
    ours = sorted(m for m in graph.modules if m.split(".")[0] == "kmssim")
    cycles = []
    for importer in ours:
        for imported in graph.find_modules_directly_imported_by(importer):
            if not imported.startswith("kmssim") or imported == importer:
                continue
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.append((importer,) + tuple(back))
    assert cycles == []


def test_the_core_imports_only_the_standard_library_and_cryptography(
        graph: grimp.ImportGraph) -> None:
    core = [m for m in graph.modules if m == "kmssim.core" or m.startswith("kmssim.core.")]
    assert len(core) > 10
    foreign = sorted(
        (module, imported) for module in core
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.split(".")[0] not in ("kmssim", "cryptography")
        and imported.split(".")[0] not in sys.stdlib_module_names)
    assert foreign == []
