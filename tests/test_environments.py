"""The suite in environments other than the project's own venv (marker ``environments``).

* At the minimum versions: the floors of requirements.txt, with cryptography 47.0.0 and
  matplotlib 3.10.8 (the versions Pyodide ships, so JupyterLite runs what this job tests):
  the unit tests, then strict nbval over every lesson.
* Under Python 3.12 and 3.13, at the versions in constraints.txt: the unit tests. Each is
  skipped, saying why, where no such interpreter is installed, in CI as anywhere (a machine with
  only Debian 12's Python 3.11 skips both); pyenv's are found, so where pyenv has them they run.
* With ipywidgets 7.7.1 (the series Colab ships): kmssim's panels display as live widgets.

Each job builds a fresh venv in a temporary directory with the pip cache (so a second run
downloads nothing) and runs pytest in it from the repository root, so it tests this checkout's
kmssim (PYTHONPATH points at it, so the lessons' kernels see it too). The jobs deselect the
browser, slow and environments tests. `scripts/test` runs them with everything else;
``-m "not environments"`` leaves them out of a quick loop.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO_ROOT / "notebooks"

# What the unit tests and nbval need: requirements.txt less Playwright, the packaging tools and
# JupyterLite, whose tests these jobs deselect. JupyterLab stays: the pre-flight test checks it.
NEEDED = ["cryptography", "ipykernel", "ipywidgets", "matplotlib", "boto3", "jupyterlab",
          "pytest", "nbval", "hypothesis", "import-linter", "awscli", "ruff"]
# Pyodide's versions, which the floors in pyproject.toml were lowered to allow.
PYODIDE = {"cryptography": "47.0.0", "matplotlib": "3.10.8"}
NEWER_PYTHONS = ["3.12", "3.13"]
UNIT_TESTS = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval",
              "-o", "addopts=-ra --strict-markers --strict-config",
              "-m", "not browser and not slow and not environments", "tests"]
NBVAL = ["-m", "pytest", "-q", "-p", "no:cacheprovider", str(NOTEBOOKS.relative_to(REPO_ROOT))]


def _requirements(name: str) -> dict[str, Requirement]:
    lines = (REPO_ROOT / name).read_text(encoding="utf-8").splitlines()
    found = [Requirement(line.split("#")[0].strip()) for line in lines
             if line.split("#")[0].strip()]
    return {r.name.lower(): r for r in found}


def minimum_versions() -> list[str]:
    """``name==floor`` for every package the jobs need, Pyodide's versions where they differ."""
    floors = _requirements("requirements.txt")
    pins = []
    for name in NEEDED:
        match = re.fullmatch(r">=(\S+)", str(floors[name].specifier))
        assert match, f"requirements.txt: {floors[name]} is not a plain floor"
        pins.append(f"{name}=={PYODIDE.get(name, match.group(1))}")
    return pins


def interpreter(version: str) -> str | None:
    """A working python of ``version`` ("3.12"): $KMSSIM_PYTHON3_12, pyenv's, or on PATH.

    Each candidate is run, because a pyenv shim on PATH exists even where it cannot run.
    """
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    pyenv = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python"),
                   key=lambda p: [int(n) for n in re.findall(r"\d+", p.split("/")[-3])])
    candidates = [os.environ.get(f"KMSSIM_PYTHON{version.replace('.', '_')}"),
                  *reversed(pyenv), shutil.which(f"python{version}")]
    for candidate in filter(None, candidates):
        try:
            found = subprocess.run([candidate, "-c", "import sys; print(*sys.version_info[:2])"],
                                   capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if found.returncode == 0 and found.stdout.split() == version.split("."):
            return candidate
    return None


def _run(command: list[str], *, env: dict[str, str], what: str, timeout: float,
         log: list[str]) -> str:
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    log.append(f"{what}: {time.monotonic() - started:.0f} s")
    assert result.returncode == 0, (f"{what} failed ({result.returncode}):\n"
                                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def make_venv(base_python: str, where: Path, requirements: list[str],
              log: list[str]) -> tuple[Path, dict]:
    """A fresh venv at ``where`` holding ``requirements``: (its python, the env to run it in)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    subprocess.run([base_python, "-m", "venv", str(where)], check=True, env=env)
    python = where / "bin" / "python"
    env["PATH"] = f"{where / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    # This checkout's kmssim, also in the lessons' kernels (which start in notebooks/).
    env["PYTHONPATH"] = str(REPO_ROOT)
    # --no-compile: byte-compiling botocore, awscli, numpy and matplotlib on install takes
    # longer than the tests themselves; Python compiles what they import as they import it.
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "--no-compile", *requirements], env=env, what=f"pip install into {where.name}",
         timeout=900, log=log)
    return python, env


# -- the jobs: each returns what its test checks, and appends its timings to `log` --------

def minimum_job(where: Path, log: list[str]) -> dict[str, str]:
    python, env = make_venv(sys.executable, where, minimum_versions(), log)
    versions = _run([str(python), "-c", "import cryptography, matplotlib, ipywidgets; print("
                     "cryptography.__version__, matplotlib.__version__, ipywidgets.__version__)"],
                    env=env, what="versions", timeout=60, log=log)
    unit = _run([str(python), *UNIT_TESTS], env=env, what="unit tests at minimum versions",
                timeout=1200, log=log)
    nbval = _run([str(python), *NBVAL], env=env, what="strict nbval at minimum versions",
                 timeout=1200, log=log)
    return {"versions": versions, "unit": unit, "nbval": nbval}


def newer_python_job(version: str, base: str, where: Path, log: list[str]) -> dict[str, str]:
    constraints = str(REPO_ROOT / "constraints.txt")
    python, env = make_venv(base, where, ["-c", constraints, *NEEDED], log)
    return {"unit": _run([str(python), *UNIT_TESTS], env=env, timeout=1200, log=log,
                         what=f"unit tests under Python {version}")}


def ipywidgets7_job(where: Path, log: list[str]) -> dict[str, Any]:
    # 7.7 is the series Colab ships; ipykernel 6 is the last with the ipykernel.comm it uses.
    python, env = make_venv(sys.executable, where,
                            ["ipywidgets==7.7.1", "ipykernel>=6.29,<7", "cryptography>=47",
                             "matplotlib>=3.10"], log)
    out = _run([str(python), "-c", SHOW_PANELS], env=env, what="panels under ipywidgets 7",
               timeout=120, log=log)
    return json.loads(out.splitlines()[-1])


def _newer(version: str) -> str:
    return f"test_unit_tests_pass_under_a_newer_python[{version}]"


@pytest.fixture(scope="module")
def jobs(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future]]:
    """Start every selected job at once, each in its own thread and venv.

    A job spends most of its time waiting (on pip, on the AWS CLI and kernels the tests start),
    so on two cores the jobs together take little longer than the longest of them alone.
    """
    selected = {item.name for item in request.session.items
                if getattr(item, "module", None) is sys.modules[__name__]}
    todo: dict[str, Callable[[Path, list[str]], Any]] = {
        "test_unit_tests_and_strict_nbval_pass_at_the_minimum_versions": minimum_job,
        "test_panels_display_as_live_widgets_under_ipywidgets_7": ipywidgets7_job}
    for version in NEWER_PYTHONS:
        base = interpreter(version)
        if base is not None:
            todo[_newer(version)] = functools.partial(newer_python_job, version, base)
    started = {name: job for name, job in todo.items() if name in selected}
    with ThreadPoolExecutor(max_workers=max(len(started), 1)) as pool:
        futures = {}
        for name, job in started.items():
            log: list[str] = []
            where = tmp_path_factory.mktemp(name.removeprefix("test_")[:40])
            future = pool.submit(job, where / "venv", log)
            future.log = log   # type: ignore[attr-defined]
            futures[name] = future
        yield futures


def _result(jobs: dict[str, Future], name: str) -> Any:
    future = jobs[name]
    try:
        return future.result()
    finally:
        print("\n" + "\n".join(future.log))   # type: ignore[attr-defined]


@pytest.mark.environments
def test_unit_tests_and_strict_nbval_pass_at_the_minimum_versions(jobs):
    out = _result(jobs, "test_unit_tests_and_strict_nbval_pass_at_the_minimum_versions")
    assert out["versions"].split()[:2] == [PYODIDE["cryptography"], PYODIDE["matplotlib"]]
    assert re.search(r"\d+ passed", out["unit"]), out["unit"][-2000:]
    assert re.search(r"\d+ passed", out["nbval"]), out["nbval"][-2000:]


@pytest.mark.environments
@pytest.mark.parametrize("version", NEWER_PYTHONS)
def test_unit_tests_pass_under_a_newer_python(version, jobs):
    if _newer(version) not in jobs:
        # In CI too: only a missing interpreter skips. KMSSIM_PYTHON3_12 names one elsewhere.
        variable = f"KMSSIM_PYTHON{version.replace('.', '_')}"
        pytest.skip(f"no Python {version} here (looked for ${variable}, pyenv's "
                    f"versions/{version}.* and python{version} on PATH)")
    out = _result(jobs, _newer(version))
    assert re.search(r"\d+ passed", out["unit"]), out["unit"][-2000:]


# Run in a venv with ipywidgets 7: show each panel in an IPython shell and report what was
# published (display()) and what the shell's formatter made of it (a cell's last value).
SHOW_PANELS = """
import json
import ipywidgets
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display
from kmssim import KMS
from kmssim.envelope import seal
from kmssim.widgets import DecryptPanel, ProgressBar, RecordsPanel, TimeControls

shell = InteractiveShell.instance()
published = []
shell.display_pub.publish = lambda data, metadata=None, **kw: published.append(data)
kms = KMS(seed=1)
key = kms.create_key()["KeyMetadata"]["KeyId"]
record = seal(kms, key, b"a record", {"record": "1"})
panels = [TimeControls(kms, key), RecordsPanel(kms, key), DecryptPanel(kms, record),
          ProgressBar("Two years")]
report = {"ipywidgets": ipywidgets.__version__,
          "has_repr_mimebundle": hasattr(ipywidgets.VBox(), "_repr_mimebundle_"),
          "panels": []}
for panel in panels:
    display(panel)
    formatted, _ = shell.display_formatter.format(panel)
    report["panels"].append({"model_id": panel.widget.model_id, "repr": repr(panel),
                             "displayed": published.pop(), "formatted": formatted})
print(json.dumps(report))
"""


@pytest.mark.environments
def test_panels_display_as_live_widgets_under_ipywidgets_7(jobs):
    report = _result(jobs, "test_panels_display_as_live_widgets_under_ipywidgets_7")
    assert report["ipywidgets"] == "7.7.1"
    assert report["has_repr_mimebundle"] is False   # the case kmssim now handles itself
    for panel in report["panels"]:
        view = {"version_major": 2, "version_minor": 0, "model_id": panel["model_id"]}
        for shown in (panel["displayed"], panel["formatted"]):
            assert shown["application/vnd.jupyter.widget-view+json"] == view
            assert shown["text/plain"] == panel["repr"]
