"""The JupyterLite site (scripts/lite) in headless Chromium, with no network but 127.0.0.1.

Builds the site with Pyodide's core bundled, serves it on 127.0.0.1, opens a notebook in it,
and checks that the Pyodide kernel starts, that kmssim's wheel installs from the site (without
its dependencies: cryptography is one of Pyodide's compiled packages, which only the full
Pyodide release or its CDN has, so ``import kmssim`` is not tried here) and that an ipywidgets
widget renders. The minimum-versions job (test_environments.py) is what shows kmssim runs at
the versions Pyodide ships.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import _in_ci

REPO_ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT_MS = 120_000   # Pyodide compiles a large WebAssembly module on a busy 2-core CI

CHECK_CELLS = [
    # The lessons' install cell (scripts/lite_site.py), less the dependencies this offline
    # machine cannot fetch: the magic inside the `if` runs only under Pyodide.
    'import sys\nif sys.platform == "emscripten":\n    %pip install -q kmssim --no-deps',
    "import importlib.metadata\nprint('kmssim', importlib.metadata.version('kmssim'))",
    "%pip install ipywidgets",
    "import ipywidgets\nipywidgets.IntSlider(value=7, description='rotations')",
]


@pytest.fixture(scope="module")
def lite_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import nbformat

    if shutil.which("npm") is None:
        message = "scripts/lite needs npm to bundle Pyodide (Debian: apt-get install npm)"
        if _in_ci():
            pytest.fail(f"CI is set: {message}", pytrace=False)
        pytest.skip(message)

    base = tmp_path_factory.mktemp("lite")
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in CHECK_CELLS],
        metadata={"kernelspec": {"name": "python", "display_name": "Python (Pyodide)",
                                 "language": "python"}})
    nbformat.write(notebook, base / "lite_check.ipynb")
    out = base / "site"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "lite_site.py"), "--output", str(out),
         "--extra", str(base / "lite_check.ipynb")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    # Module workers need a JavaScript type for .mjs, and WebAssembly streams only as wasm.
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".json": "application/json"}

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(lite_site: Path) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(lite_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_the_site_holds_the_lessons_with_an_install_cell_and_the_wheels(lite_site: Path):
    contents = json.loads((lite_site / "api" / "contents" / "all.json").read_text())
    names = {item["name"] for item in contents["content"]}
    assert {"01_envelope_encryption.ipynb", "06_audit_and_best_practices.ipynb"} <= names
    lesson = json.loads((lite_site / "files" / "01_envelope_encryption.ipynb").read_text())
    assert "%pip install -q kmssim" in "".join(lesson["cells"][0]["source"])
    wheels = {p.name for p in (lite_site / "pypi").glob("*.whl")}
    assert {"kmssim-0.1.0-py3-none-any.whl"} <= wheels
    assert any(w.startswith("ipywidgets-8") for w in wheels)
    config = json.loads((lite_site / "jupyter-lite.json").read_text())
    settings = config["jupyter-config-data"]["litePluginSettings"]
    kernel = settings["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.mjs"   # bundled, not the CDN
    assert (lite_site / "static" / "pyodide" / "pyodide.asm.wasm").exists()


@pytest.mark.browser
def test_pyodide_kernel_installs_kmssim_and_renders_a_widget(served: str, chromium: Any,
                                                             tmp_path: Path):
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(STEP_TIMEOUT_MS)   # expect() has its own: each one says it
    # Anything but 127.0.0.1 is refused, so a pass cannot have used a CDN or PyPI.
    requested_elsewhere: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(served):
            route.continue_()
        else:
            requested_elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    try:
        page.goto(f"{served}/lab/index.html?path=lite_check.ipynb")
        panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first
        expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=STEP_TIMEOUT_MS)
        status = page.locator("#jp-main-statusbar")
        expect(status).to_contain_text("Idle", timeout=STEP_TIMEOUT_MS)
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^\s*Run\s*$")).click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        slider = panel.locator(".widget-slider, .jupyter-widgets.widget-hslider")
        expect(slider.first).to_be_visible(timeout=3 * STEP_TIMEOUT_MS)
        outputs = panel.locator(".jp-OutputArea-output").all_inner_texts()
        assert any("kmssim 0.1.0" in text for text in outputs), outputs
        expect(panel.locator(".widget-readout").first).to_have_text("7", timeout=STEP_TIMEOUT_MS)
        panel.screenshot(path=str(tmp_path / "lite-widget.png"))
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"))
        (tmp_path / "console.log").write_text("\n".join(console))
        print(f"\nbrowser evidence in {tmp_path}; refused: {requested_elsewhere[:10]}")
        raise
    finally:
        context.close()
