"""The code, tests, benchmarks and lessons pass ruff with the rules in pyproject.toml, and
ruff, run the same way, does report a fault put into a copy (so a clean run means clean)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ["kmssim", "tests", "benchmarks", "scripts", "notebooks"]


def _ruff(where: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
         *paths], cwd=where, capture_output=True, text=True, timeout=120)


def test_the_project_passes_ruff() -> None:
    result = _ruff(ROOT, *[path for path in CHECKED if (ROOT / path).exists()])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_reports_a_fault_in_a_copy(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "kmssim").mkdir()
    (tmp_path / "kmssim" / "faulty.py").write_text(
        "import os\n\n\ndef pairs(a, b):\n    return list(zip(a, b))\n", encoding="utf-8")
    result = _ruff(tmp_path, "kmssim")
    assert result.returncode == 1
    assert "F401" in result.stdout and "B905" in result.stdout
