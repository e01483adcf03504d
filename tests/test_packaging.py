"""What we publish: requirement files in step with pyproject, an sdist that can run its own tests,
a wheel that holds kmssim and nothing else and installs and runs with its one dependency.

The `slow` tests build the packages with ``python -m build`` (as a release would) and install the
wheel into a fresh virtual environment; together they take well under a minute.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]


def requirement_lines(name: str) -> list[Requirement]:
    lines = (REPO_ROOT / name).read_text(encoding="utf-8").splitlines()
    return [Requirement(line.split("#")[0].strip()) for line in lines
            if line.split("#")[0].strip()]


def test_requirements_txt_lists_exactly_the_dependencies_and_extras_of_pyproject():
    project = PYPROJECT["project"]
    declared = {str(Requirement(r)) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        # "kmssim[lessons]" inside an extra refers to another extra, listed on its own.
        declared |= {str(Requirement(r)) for r in extra if Requirement(r).name != "kmssim"}
    assert {str(r) for r in requirement_lines("requirements.txt")} == declared


def test_constraints_pin_every_requirement_to_a_version_its_floor_allows():
    pins = {r.name.lower(): r for r in requirement_lines("constraints.txt")}
    for requirement in requirement_lines("requirements.txt"):
        pin = pins.get(requirement.name.lower())
        assert pin is not None, f"constraints.txt has no pin for {requirement.name}"
        version = re.fullmatch(r"==(\S+)", str(pin.specifier)).group(1)
        assert requirement.specifier.contains(version), (requirement, pin)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built as a release builds them (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO_ROOT)],
                   check=True, capture_output=True, text=True)
    return {"sdist": out / f"kmssim-{VERSION}.tar.gz",
            "wheel": out / f"kmssim-{VERSION}-py3-none-any.whl"}


@pytest.mark.slow
def test_sdist_and_wheel_pass_twine_check(dist):
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict",
                             str(dist["sdist"]), str(dist["wheel"])],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_wheel_holds_the_typed_package_its_licence_and_command_but_no_tests(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        info = f"kmssim-{VERSION}.dist-info"
        metadata = wheel.read(f"{info}/METADATA").decode()
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert "kmssim/py.typed" in names
    assert "kmssim/services/__init__.py" in names
    assert f"{info}/licenses/LICENSE" in names
    assert {name.split("/")[0] for name in names} == {"kmssim", info}
    assert "License-Expression: MIT" in metadata
    assert "kmssim = kmssim.__main__:main" in entry_points


@pytest.mark.slow
def test_sdist_holds_what_running_the_tests_and_lessons_needs(dist):
    with tarfile.open(dist["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    expected = {"tests/conftest.py", "tests/nbval_sanitize.cfg", "tests/test_packaging.py",
                "notebooks/01_envelope_encryption.ipynb", "notebooks/README.md",
                "scripts/test", "scripts/_env.sh", "benchmarks/bench_core.py", ".ci/run",
                "requirements.txt", "constraints.txt", "pyproject.toml", "LICENSE",
                "CHANGELOG.md", "CITATION.cff", "CONTRIBUTING.md", "runtime.txt", "postBuild",
                "docs/workshops.md", "docs/moto-suite.md", "ARCHITECTURE.md",
                "benchmarks/measure_memory.py"}
    assert expected <= names, expected - names
    assert not [n for n in names if "__pycache__" in n or n.startswith(".venv")]


@pytest.mark.slow
def test_tests_and_a_lesson_run_from_the_unpacked_sdist(dist, tmp_path):
    with tarfile.open(dist["sdist"]) as sdist:
        sdist.extractall(tmp_path, filter="data")
    root = tmp_path / f"kmssim-{VERSION}"
    env = {**os.environ, "PYTHONPATH": str(root)}
    where = subprocess.run([sys.executable, "-c", "import kmssim; print(kmssim.__file__)"],
                           cwd=root, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(root)   # the sdist's kmssim, not the repo's
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_clock.py", "notebooks/01_envelope_encryption.ipynb"],
        cwd=root, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def bare_venv(dist, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv holding the wheel and its one dependency, no extra: (its python, env)."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", str(dist["wheel"])],
                   check=True, env=env, capture_output=True)
    return venv / "bin" / "python", env


@pytest.mark.slow
def test_wheel_installs_into_an_empty_venv_and_runs_with_cryptography_alone(bare_venv, tmp_path):
    python, env = bare_venv
    check = ("import importlib.util, kmssim\n"
             "kmssim.KMS(seed=1).create_key()\n"
             "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'boto3', 'IPython')\n"
             "             if importlib.util.find_spec(m)))\n")
    result = subprocess.run([str(python), "-c", check], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"   # nothing from the extras came along
    command = subprocess.run([str(python.with_name("kmssim")), "--help"], env=env,
                             capture_output=True, text=True)
    assert command.returncode == 0 and "serve" in command.stdout, command.stderr
    assert command.stdout.startswith("usage: kmssim "), command.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("module", "extra"), [
    ("kmssim.plot", "lessons"), ("kmssim.lessons.plot", "lessons"),
    ("kmssim.widgets", "lessons"), ("kmssim.lessons.widgets", "lessons"),
    ("kmssim.bridge", "aws"), ("kmssim.aws.bridge", "aws"),
])
def test_importing_what_an_extra_serves_without_it_says_which_extra(bare_venv, tmp_path,
                                                                     module, extra):
    python, env = bare_venv
    result = subprocess.run([str(python), "-c", f"import {module}"], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()
    # The traceback ends with the error, then the command to run, then how to run it in Jupyter.
    assert "kmssim.core.extras.MissingExtra:" in result.stderr, result.stderr
    assert f'pip install "kmssim[{extra}]"' in last[-2], result.stderr
