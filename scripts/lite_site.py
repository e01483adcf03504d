"""Build the lessons as a JupyterLite site: Python in the browser, nothing to install.

Run through ``scripts/lite`` (which sets up the project's venv first)::

    scripts/lite                    # -> build/lite/, ready for any static web server
    scripts/lite --cdn-pyodide      # don't bundle Pyodide: the browser fetches it from a CDN

The site holds:

* the lessons (copies: each gets a first cell that installs kmssim when it runs under Pyodide;
  the committed notebooks are not changed),
* wheels that piplite serves from the site itself: kmssim (built here with ``python -m build``),
  ipywidgets, jupyterlab_widgets and comm (at the versions installed in this venv),
* JupyterLab and the ipywidgets front end (from this venv), and the Pyodide kernel,
* by default, Pyodide's core runtime (the npm package ``pyodide``, fetched with ``npm pack``)
  plus the pure-Python packages the kernel itself needs to start (micropip, IPython and its
  dependencies, from PyPI, at the versions in Pyodide's lock file, with their hashes put in the
  lock file). That is enough to start the kernel, install kmssim without dependencies and show
  a widget with no network at all. Pyodide's compiled packages (cryptography, numpy,
  matplotlib) are not in the npm package: for those, the browser falls back to the CDN, or you
  self-host the full Pyodide release (docs/workshops.md).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from jupyterlite_pyodide_kernel.constants import PYODIDE_PYTHON_VERSION, PYODIDE_VERSION

REPO = Path(__file__).resolve().parent.parent
# Wheels piplite serves from the site (ipywidgets and what it needs that Pyodide lacks).
SITE_WHEELS = ["ipywidgets", "jupyterlab_widgets", "comm"]
# What the Pyodide kernel loads from Pyodide's distribution as it starts (with their
# dependencies from the lock file): micropip, then IPython and jedi.
KERNEL_NEEDS = ["micropip", "packaging", "ipython", "jedi", "traitlets"]

INSTALL_CELL = """\
# Running in the browser (JupyterLite)? Install kmssim into this page's Python first.
# Anywhere else kmssim is already installed and this cell does nothing.
import sys
if sys.platform == "emscripten":
    %pip install -q kmssim ipywidgets matplotlib
"""


def run(*command: str, cwd: Path | None = None, quiet: bool = False) -> None:
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=cwd, capture_output=quiet, text=True)
    if result.returncode:
        raise SystemExit(f"failed ({result.returncode}): {result.stdout}{result.stderr}"
                         if quiet else f"failed ({result.returncode})")


def pip_download(names: list[str], into: Path, *options: str) -> None:
    run(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--dest", str(into), *options, *names)


def lessons(into: Path) -> None:
    """Copy the lessons, each with the install cell first, and the lessons' README."""
    import nbformat

    into.mkdir(parents=True)
    for lesson in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(lesson, as_version=4)
        cell = nbformat.v4.new_code_cell(INSTALL_CELL)
        cell.metadata["tags"] = ["kmssim-lite-install"]
        notebook.cells.insert(0, cell)
        nbformat.write(notebook, into / lesson.name)
    shutil.copy(REPO / "notebooks" / "README.md", into / "README.md")


def wheels(into: Path) -> None:
    into.mkdir(parents=True)
    run(sys.executable, "-m", "build", "--wheel", "--outdir", str(into), str(REPO), quiet=True)
    pip_download([f"{n}=={importlib.metadata.version(n)}" for n in SITE_WHEELS], into)


def bundled_pyodide(into: Path, cache: Path) -> None:
    """Pyodide's core (npm) and the pure-Python wheels the kernel starts with (PyPI)."""
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"pyodide-{PYODIDE_VERSION}.tgz"
    if not tarball.exists():
        run("npm", "pack", "--silent", f"pyodide@{PYODIDE_VERSION}", cwd=cache)
    into.mkdir(parents=True)
    with tarfile.open(tarball) as npm:
        for member in npm.getmembers():
            if member.isfile() and not member.name.endswith((".map", ".html", ".d.ts", ".md")):
                member.name = member.name.removeprefix("package/")
                npm.extract(member, into, filter="data")
    lock_path = into / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    packages = lock["packages"]
    needed, queue = set(), list(KERNEL_NEEDS)
    while queue:
        name = queue.pop().lower().replace("_", "-")
        if name not in needed:
            needed.add(name)
            queue.extend(packages[name]["depends"])
    wheel_cache = cache / "wheels"
    wheel_cache.mkdir(exist_ok=True)
    entries = [packages[name] for name in sorted(needed)]
    for entry in entries:
        if not entry["file_name"].endswith("-none-any.whl"):
            raise SystemExit(f"{entry['name']}: {entry['file_name']} is not pure Python")
    missing = [f"{e['name']}=={e['version']}" for e in entries
               if not (wheel_cache / e["file_name"]).exists()]
    if missing:
        pip_download(missing, wheel_cache, "--python-version", PYODIDE_PYTHON_VERSION)
    for entry in entries:
        wheel = wheel_cache / entry["file_name"]
        shutil.copy(wheel, into / entry["file_name"])
        # The same release as Pyodide's, built by its authors rather than by Pyodide:
        # Pyodide checks each file against the lock, so the lock takes this file's hash.
        entry["sha256"] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock_path.write_text(json.dumps(lock))
    print(f"bundled Pyodide {PYODIDE_VERSION} core and {len(needed)} packages: "
          f"{', '.join(sorted(needed))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/lite", description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=REPO / "build" / "lite",
                        help="where to write the site (default build/lite)")
    parser.add_argument("--cdn-pyodide", action="store_true",
                        help="don't bundle Pyodide's core: the browser loads it from the CDN")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="another file to put beside the lessons (a test notebook)")
    args = parser.parse_args(argv)

    work = REPO / "build" / "lite-src"
    shutil.rmtree(work, ignore_errors=True)
    lessons(work / "files")
    for extra in args.extra:
        shutil.copy(extra, work / "files" / extra.name)
    wheels(work / "pypi")
    if not args.cdn_pyodide:
        if shutil.which("npm") is None:
            raise SystemExit("npm not found (Debian: apt-get install npm); "
                             "or pass --cdn-pyodide to load Pyodide from its CDN")
        bundled_pyodide(work / "static" / "pyodide", REPO / "build" / "lite-cache")
    shutil.rmtree(args.output, ignore_errors=True)
    run(str(Path(sys.executable).with_name("jupyter")), "lite", "build", "--lite-dir", str(work),
        "--contents", str(work / "files"), "--output-dir", str(args.output.resolve()),
        "--no-sourcemaps", cwd=work)
    print(f"JupyterLite site in {args.output}: serve it, e.g. "
          f"python -m http.server -d {args.output} 8000")
    return 0


if __name__ == "__main__":
    sys.exit(main())
