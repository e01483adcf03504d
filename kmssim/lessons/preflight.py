"""Is this machine ready for the workshop? One command checks it.

``python -m kmssim.lessons.preflight`` checks, in order: the Python version, the
packages the lessons import, that JupyterLab has the ipywidgets extension (so the time
controls show as panels, not as an error), that JupyterLab saves the panels' state with a
notebook (so a saved lesson reopened later shows each panel's last picture instead of
"Error displaying widget: model not found"), and that a Jupyter kernel starts and runs
lesson 1's first cells. ``--setup`` turns that saving on for this environment (it
writes JupyterLab's ``overrides.json``; `scripts/lessons` does it every time). It prints
one line per check (``ok`` or ``FAIL`` with what to do) and exits 0 only when every check
passed, so a room's machines can be checked before the session with one line each.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
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


#: The JupyterLab setting that stores widget state in the notebook when it is saved.
WIDGET_STATE_SETTING = ("@jupyter-widgets/jupyterlab-manager:plugin", "saveState")


def overrides_path(prefix: str | Path | None = None) -> Path:
    """JupyterLab's settings overrides for the environment at ``prefix`` (default: this one)."""
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def _read_overrides(path: Path) -> dict[str, object]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def save_widget_state(prefix: str | Path | None = None) -> Path:
    """Turn on "save widget state in notebooks" for JupyterLab in this environment,
    keeping any other overrides. Returns the file written."""
    path = overrides_path(prefix)
    overrides = _read_overrides(path)
    plugin, setting = WIDGET_STATE_SETTING
    section = overrides.get(plugin)
    section = dict(section) if isinstance(section, dict) else {}
    section[setting] = True
    overrides[plugin] = section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(overrides, indent=2) + "\n", encoding="utf-8")
    return path


def check_widget_state_saving(prefix: str | Path | None = None) -> Result:
    path = overrides_path(prefix)
    plugin, setting = WIDGET_STATE_SETTING
    section = _read_overrides(path).get(plugin)
    if isinstance(section, dict) and section.get(setting) is True:
        return Result("saved panels", True, f"JupyterLab stores widget state ({path})")
    return Result("saved panels", False, "JupyterLab does not store widget state, so a saved "
                  "lesson reopened later shows 'model not found' instead of its panels: run "
                  "python -m kmssim.lessons.preflight --setup (scripts/lessons does)")


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
                                            check_widgets_extension, check_widget_state_saving,
                                            check_kernel)


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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--setup" in args:
        print(f"JupyterLab will save widget state with notebooks: {save_widget_state()}")
        return 0
    results = run()
    for result in results:
        print(result)
    ready = all(result.ok for result in results)
    print("Ready for the workshop." if ready else "Not ready: fix the FAIL lines above.")
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
