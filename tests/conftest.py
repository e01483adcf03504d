"""Shared pytest fixtures, including the browser harness.

The browser harness drives the real JupyterLab UI in Debian's headless Chromium:

* ``jupyterlab_server`` (session): a JupyterLab server in its own process group on a free
  127.0.0.1 port, with a token, all Jupyter config/data/runtime/settings/workspace dirs in a temp
  dir, and a temp ``root_dir`` — committed notebooks are never opened in place, so autosave and
  Run All can never modify them.
* ``chromium`` (session): Playwright (sync API, no pytest-playwright) launching /usr/bin/chromium.
* ``lab`` (function): a fresh browser context plus a per-test directory on the server holding a
  fresh copy of ``notebooks/``. ``lab.open("lesson.ipynb")`` returns a :class:`Notebook` page
  object with ``run_all()``, ``button(text)``, ``image()``, ``wait_for_src_change()``,
  ``screenshot()``.

A lesson test is a few lines::

    @pytest.mark.browser
    def test_lesson(lab):
        nb = lab.open("02-rotation.ipynb")
        nb.run_all()                       # clears stored outputs first; fails on any traceback
        img = nb.image()
        old = img.get_attribute("src")
        nb.click("Advance 1 year")
        nb.wait_for_src_change(img, old)
        nb.screenshot(nb.locator(".widget-output").first, "after-advance.png")

Without Chromium the browser tests are skipped, except when the ``CI`` variable is set: there a
missing browser is a failure. ``KMSSIM_CHROMIUM`` overrides the browser path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
CHROMIUM = Path(os.environ.get("KMSSIM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
# Generous: CI machines have 2 cores and may be busy; a stall still ends well before CI's limit.
STEP_TIMEOUT_MS = 60_000
SERVER_START_TIMEOUT_S = 90
KERNEL_IDLE_TEXT = "(ipykernel) | Idle"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --------------------------------------------------------------------------- failure reporting


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


# --------------------------------------------------------------------------- JupyterLab server


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    log: Path
    proc: subprocess.Popen[bytes]

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        """Call the Jupyter server REST API; returns parsed JSON (or None for an empty body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def shutdown_sessions(self) -> None:
        """Stop every notebook session (and its kernel) so tests don't pile up kernels."""
        try:
            for session in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{session['id']}")
            for kernel in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
        except (urllib.error.URLError, OSError):
            pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (the server then stops its kernels); SIGKILL if stuck."""
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _write_lab_settings(settings_dir: Path) -> None:
    # Render every cell (no virtual scrolling), so locators and the Run All completion check
    # see the whole notebook, not just what is on screen.
    tracker = settings_dir / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    # No news/update toasts over the notebook.
    notif = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notif.parent.mkdir(parents=True, exist_ok=True)
    notif.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Save widget state with the notebook, as `python -m kmssim.lessons.preflight --setup`
    # (and scripts/lessons) sets it for a workshop: a saved lesson reopens with its panels.
    widgets = (settings_dir / "@jupyter-widgets" / "jupyterlab-manager"
               / "plugin.jupyterlab-settings")
    widgets.parent.mkdir(parents=True, exist_ok=True)
    widgets.write_text(json.dumps({"saveState": True}))


def _start_lab(base: Path, attempt: int) -> LabServer:
    home = base / f"jupyter-{attempt}"
    root = base / "root"
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for var, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / sub)
    _write_lab_settings(home / "lab-settings")
    # Kernels must run in this interpreter's environment (where kmssim is installed).
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    port = _free_port()
    token = uuid.uuid4().hex
    log = home / "server.log"
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--port-retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    with open(log, "wb") as log_fh:
        proc = subprocess.Popen(
            cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log_fh,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log, proc)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            server.api("GET", f"/api/status?token={token}", timeout=2)
            return server
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.25)
    _stop_process_group(proc)
    raise RuntimeError(
        f"JupyterLab did not answer within {SERVER_START_TIMEOUT_S}s:\n{server.log_tail()}"
    )


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} not found (Debian: apt-get install -y chromium)"
        if _in_ci():
            pytest.fail(f"CI is set and the browser tests need Chromium: {msg}", pytrace=False)
        pytest.skip(f"browser tests skipped: {msg}")
    return CHROMIUM


@pytest.fixture(scope="session")
def jupyterlab_server(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("jupyterlab")
    errors = []
    for attempt in range(3):  # a free port can be taken between probing and binding: retry
        try:
            server = _start_lab(base, attempt)
            break
        except RuntimeError as exc:
            errors.append(str(exc))
    else:
        pytest.fail("could not start JupyterLab:\n" + "\n---\n".join(errors), pytrace=False)
    try:
        yield server
    finally:
        server.shutdown_sessions()
        _stop_process_group(server.proc)


@pytest.fixture(scope="session")
def chromium(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


# --------------------------------------------------------------------------- page objects

_RUN_STATE_JS = """
(panel) => {
  const cells = [...panel.querySelectorAll('.jp-Cell.jp-CodeCell')];
  let running = 0, pending = 0;
  for (const cell of cells) {
    const prompt = (cell.querySelector('.jp-InputArea-prompt')?.textContent || '').trim();
    const source = (cell.querySelector('.jp-InputArea-editor')?.textContent || '').trim();
    if (prompt.includes('*')) running++;
    else if (source && !/\\[\\d+\\]/.test(prompt)) pending++;
  }
  const errors = [...panel.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map(e => e.textContent);
  const dialog = document.querySelector('.jp-Dialog')?.textContent || null;
  return {cells: cells.length, running, pending, errors, dialog};
}
"""


@dataclass
class Notebook:
    """One open notebook in JupyterLab. Locators are scoped to this notebook's panel."""

    page: Any  # playwright.sync_api.Page
    path: str
    artifacts: Path

    @property
    def panel(self) -> Any:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first

    def locator(self, selector: str) -> Any:
        return self.panel.locator(selector)

    # -- kernel and menus
    def wait_kernel_idle(self, timeout_ms: int = STEP_TIMEOUT_MS) -> None:
        """Wait for the status bar's '(ipykernel) | Idle' (the toolbar's idle dot is too early)."""
        from playwright.sync_api import expect

        expect(self.page.locator("#jp-main-statusbar")).to_contain_text(
            KERNEL_IDLE_TEXT, timeout=timeout_ms
        )

    def menu(self, title: str, command: str) -> None:
        """Click a main-menu entry, e.g. menu('Run', 'runmenu:run-all')."""
        self.page.locator(
            ".lm-MenuBar-item", has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")
        ).click()
        item = self.page.locator(f".lm-Menu-item[data-command='{command}']")
        item.click()

    def clear_all_outputs(self) -> None:
        self.menu("Edit", "editmenu:clear-all")
        from playwright.sync_api import expect

        expect(self.locator(".jp-OutputArea-output")).to_have_count(0)

    def run_all(
        self, *, clear_first: bool = True, allow_errors: bool = False, timeout_s: float = 180
    ) -> None:
        """Run All from the Run menu and wait until every non-empty code cell has run.

        Clears stored outputs first (so later waits can't match old output). Fails fast, with the
        text, on any traceback or stderr output unless ``allow_errors``.
        """
        if clear_first:
            self.clear_all_outputs()
        self.wait_kernel_idle()
        self.menu("Run", "runmenu:run-all")
        deadline = time.monotonic() + timeout_s
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = self.panel.evaluate(_RUN_STATE_JS)
            if state["dialog"]:
                raise AssertionError(f"unexpected dialog during Run All: {state['dialog']!r}")
            if state["errors"] and not allow_errors:
                raise AssertionError(
                    f"{self.path}: error output during Run All:\n" + "\n".join(state["errors"])
                )
            if state["cells"] and not state["running"] and not state["pending"]:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"{self.path}: Run All did not finish in {timeout_s}s: {state}")
        self.wait_kernel_idle()

    # -- widgets
    def button(self, text: str) -> Any:
        """The ipywidgets button whose whole text is ``text``."""
        return self.locator("button.jupyter-button").filter(
            has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")
        )

    def click(self, text: str) -> None:
        self.button(text).click()

    def image(self, nth: int = 0) -> Any:
        """The nth image shown inside an Output widget."""
        return self.locator(".widget-output img").nth(nth)

    def wait_for_src_change(
        self, img: Any, old_src: str | None, timeout_ms: int = STEP_TIMEOUT_MS
    ) -> str:
        """Wait until ``img``'s src differs from ``old_src`` (a redrawn figure); return it."""
        from playwright.sync_api import expect

        if old_src is None:
            expect(img).to_have_attribute("src", re.compile("."), timeout=timeout_ms)
        else:
            expect(img).not_to_have_attribute("src", old_src, timeout=timeout_ms)
        src = img.get_attribute("src")
        assert src is not None
        return src

    def text_outputs(self) -> list[str]:
        """Text of every rendered text output (stdout, stderr, text/plain), newlines cut."""
        return [
            t.rstrip("\n")
            for t in self.locator(".jp-OutputArea-output.jp-RenderedText").all_inner_texts()
        ]

    # -- evidence
    def screenshot(self, locator: Any, name: str) -> Path:
        """Screenshot one element (JupyterLab scrolls internally, so not the full page)."""
        path = self.artifacts / name
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(path))
        return path


@dataclass
class Lab:
    """JupyterLab as seen by one test: its own browser context and its own copy of notebooks/."""

    server: LabServer
    page: Any  # playwright.sync_api.Page
    workdir: Path  # this test's directory under the server root
    artifacts: Path  # the test's tmp_path: screenshots go here
    console: list[str] = field(default_factory=list)

    @property
    def rel(self) -> str:
        return self.workdir.relative_to(self.server.root).as_posix()

    def write_notebook(self, name: str, nb: Any) -> str:
        """Write an nbformat notebook into this test's directory; returns the name to open."""
        import nbformat

        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(path))
        return name

    def open(self, name: str) -> Notebook:
        """Open ``name`` (relative to this test's copy of notebooks/) in a fresh workspace and wait
        until its kernel is connected and idle."""
        from playwright.sync_api import expect

        if not (self.workdir / name).exists():
            raise FileNotFoundError(f"{name} is not in {self.workdir}")
        tree = urllib.parse.quote(f"{self.rel}/{name}")
        workspace = uuid.uuid4().hex[:12]
        self.page.goto(
            f"{self.server.url}/lab/workspaces/{workspace}/tree/{tree}?reset&token={self.server.token}",
            wait_until="domcontentloaded",
        )
        nb = Notebook(self.page, name, self.artifacts)
        expect(nb.panel).to_be_visible(timeout=STEP_TIMEOUT_MS)
        expect(nb.locator(".jp-Cell").first).to_be_visible(timeout=STEP_TIMEOUT_MS)
        nb.wait_kernel_idle()
        return nb


@pytest.fixture
def lab(
    request: pytest.FixtureRequest, jupyterlab_server: LabServer, chromium: Any, tmp_path: Path
) -> Iterator[Lab]:
    workdir = jupyterlab_server.root / f"t-{uuid.uuid4().hex[:8]}"
    if NOTEBOOKS_DIR.is_dir():
        shutil.copytree(
            NOTEBOOKS_DIR,
            workdir,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    else:
        workdir.mkdir()
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    harness = Lab(jupyterlab_server, page, workdir, tmp_path)
    page.on("console", lambda m: harness.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: harness.console.append(f"pageerror: {e}"))
    try:
        yield harness
    finally:
        if request.node.stash.get(_CALL_FAILED, False):
            with contextlib.suppress(Exception):  # best-effort evidence only
                page.screenshot(path=str(tmp_path / "failure.png"))
            (tmp_path / "browser-console.log").write_text("\n".join(harness.console))
            (tmp_path / "server.log").write_text(jupyterlab_server.log_tail(200))
            print(f"\nbrowser evidence saved in {tmp_path}")
        context.close()
        jupyterlab_server.shutdown_sessions()
