"""Is this machine ready for the workshop? One command checks it.

``python -m kmssim.lessons.preflight`` checks, in order: the Python version, the
packages the lessons import, that JupyterLab has the ipywidgets extension (so the time
controls show as panels, not as an error), and that a Jupyter kernel starts and runs
lesson 1's first cells. It prints one line per check (``ok`` or ``FAIL`` with what to
do) and exits 0 only when every check passed, so a room's machines can be checked
before the session with one line each.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Result", "CHECKS", "run", "main"]

MINIMUM_PYTHON = (3, 11)
PACKAGES = ("kmssim", "cryptography", "matplotlib", "ipywidgets", "jupyterlab", "IPython",
            "jupyter_client", "ipykernel", "boto3", "botocore")
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one check: its name, whether it passed, and a line to print."""

    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def check_python() -> Result:
    version = sys.version_info[:3]
    text = ".".join(map(str, version))
    if version[:2] >= MINIMUM_PYTHON:
        return Result("Python", True, f"{text} ({sys.executable})")
    return Result("Python", False, f"{text} is too old: the lessons need Python "
                  f"{'.'.join(map(str, MINIMUM_PYTHON))} or newer")


def check_packages() -> Result:
    missing = [name for name in PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        return Result("packages", False, f"missing {', '.join(missing)}: run scripts/lessons "
                      "(it installs them into .venv) or pip install -r requirements.txt")
    return Result("packages", True, ", ".join(PACKAGES))


def check_widgets_extension() -> Result:
    """The prebuilt ipywidgets extension that JupyterLab loads from share/jupyter."""
    roots = [Path(sys.prefix), Path(sys.base_prefix)]
    try:
        from jupyter_core.paths import jupyter_path
        roots += [Path(path).parent.parent for path in jupyter_path()]
    except ImportError:
        pass
    for root in roots:
        found = root / "share" / "jupyter" / "labextensions" / WIDGETS_EXTENSION
        if (found / "package.json").is_file():
            return Result("widgets extension", True, str(found))
    return Result("widgets extension", False, f"{WIDGETS_EXTENSION} not found: pip install "
                  "ipywidgets (it ships jupyterlab_widgets); without it the panels show "
                  "'Error displaying widget'")


#: What the kernel check runs: lesson 1's first cells, in short.
KERNEL_CODE = (
    "from datetime import datetime, timezone\n"
    "from kmssim import KMS\n"
    "kms = KMS(seed=101, start=datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc))\n"
    "key_id = kms.create_key(Description='orders database')['KeyMetadata']['KeyId']\n"
    "print(key_id)\n"
)


def check_kernel(timeout: float = 60) -> Result:
    """Start the python3 kernel, run a lesson cell, compare with a direct run."""
    try:
        from jupyter_client.manager import start_new_kernel
    except ImportError:
        return Result("kernel", False, "jupyter_client is missing (see packages)")
    expected: dict[str, object] = {}
    exec(KERNEL_CODE.replace("print(key_id)\n", ""), expected)
    try:
        manager, client = start_new_kernel(kernel_name="python3", startup_timeout=timeout)
    except Exception as error:  # no kernelspec, a kernel that crashes, …
        return Result("kernel", False, f"the python3 kernel did not start ({error}); "
                      "run: python -m ipykernel install --sys-prefix")
    try:
        printed: list[str] = []
        reply = client.execute_interactive(
            KERNEL_CODE, timeout=timeout,
            output_hook=lambda msg: printed.append(msg["content"].get("text", ""))
            if msg["msg_type"] == "stream" else None)
        if reply["content"]["status"] != "ok":
            return Result("kernel", False, f"a lesson cell failed in the kernel: "
                          f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
        if "".join(printed).strip() != expected["key_id"]:
            return Result("kernel", False, "the kernel printed something else than this "
                          "Python: is the kernel using another environment?")
        return Result("kernel", True, f"python3 kernel ran a lesson 1 cell ({expected['key_id']})")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


CHECKS: tuple[Callable[[], Result], ...] = (check_python, check_packages,
                                            check_widgets_extension, check_kernel)


def run(checks: tuple[Callable[[], Result], ...] = CHECKS) -> list[Result]:
    """Run ``checks`` in order and return their results (the kernel check is skipped
    when packages are missing)."""
    results: list[Result] = []
    for check in checks:
        if check is check_kernel and any(not r.ok for r in results if r.name == "packages"):
            results.append(Result("kernel", False, "skipped: install the packages first"))
            continue
        results.append(check())
    return results


def main() -> int:
    results = run()
    for result in results:
        print(result)
    ready = all(result.ok for result in results)
    print("Ready for the workshop." if ready else "Not ready: fix the FAIL lines above.")
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
