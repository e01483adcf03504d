"""Browser tests: the real JupyterLab UI in headless Chromium (harness in conftest.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

_DEMO_SETUP = """\
import io, sys
import ipywidgets as widgets
from IPython.display import Image, display
from matplotlib.figure import Figure
print("kernel prefix:", sys.prefix)"""

_DEMO_WIDGETS = """\
def render(step):
    fig = Figure(figsize=(4, 2.5), dpi=80)
    ax = fig.add_subplot()
    ax.bar(range(step + 1), [i + 1 for i in range(step + 1)], color="tab:blue")
    ax.set_title(f"step {step}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()

state = {"step": 0}
button = widgets.Button(description="Advance")
label = widgets.Label(value="step 0")
out = widgets.Output()

def show():
    out.outputs = ()
    out.append_display_data(Image(data=render(state["step"]), format="png"))
    label.value = f"step {state['step']}"

def on_click(_):
    state["step"] += 1
    show()

button.on_click(on_click)
show()
display(widgets.VBox([button, label, out]))"""


def demo_notebook() -> nbformat.NotebookNode:
    """A widget notebook shaped like a lesson: a button re-renders a PNG inside an Output widget."""
    return new_notebook(
        cells=[
            new_markdown_cell("# Harness demo"),
            new_code_cell(_DEMO_SETUP),
            new_code_cell(
                ""
            ),  # empty cells never get an execution count: Run All must not wait on them
            new_code_cell(_DEMO_WIDGETS),
        ],
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            },
            "language_info": {"name": "python"},
        },
    )


def test_harness_smoke(lab, tmp_path):
    from playwright.sync_api import expect

    t0 = time.monotonic()
    nb = lab.open(lab.write_notebook("harness_demo.ipynb", demo_notebook()))
    t_open = time.monotonic()
    nb.run_all()
    t_run = time.monotonic()

    # The kernel runs in the interpreter running pytest, so it sees the same installed packages.
    assert any(f"kernel prefix: {sys.prefix}" in t for t in nb.text_outputs()), nb.text_outputs()

    label = nb.locator(".widget-label")
    expect(label).to_have_text("step 0")
    img = nb.image()
    src0 = nb.wait_for_src_change(img, None)
    nb.screenshot(nb.locator(".widget-output").first, "step-0.png")

    for step in (1, 2):
        before = img.get_attribute("src")
        nb.click("Advance")
        nb.wait_for_src_change(img, before)
        expect(label).to_have_text(f"step {step}")
    assert img.get_attribute("src") != src0
    t_click = time.monotonic()

    shot = nb.screenshot(nb.locator(".widget-output").first, "step-2.png")
    assert shot.stat().st_size > 1000
    print(
        f"\nopen+kernel idle {t_open - t0:.1f}s, run all {t_run - t_open:.1f}s, "
        f"2 clicks {t_click - t_run:.1f}s; screenshots in {tmp_path}"
    )


def _panel_after_run_all(lab, notebook: str):
    """Open a lesson, Run All, and return it with its first time-control panel's image."""
    nb = lab.open(notebook)
    nb.run_all()
    image = nb.locator("img.widget-image").first
    nb.wait_for_src_change(image, None)
    return nb, image


def test_lesson_2_plus_one_year_adds_a_version_in_the_real_ui(lab, tmp_path):
    from playwright.sync_api import expect

    nb, image = _panel_after_run_all(lab, "02_rotation.ipynb")
    status = nb.locator(".widget-html").first
    expect(status).to_contain_text("1 version, v1 current")
    nb.screenshot(image, "lesson2-before.png")

    before = image.get_attribute("src")
    nb.click("+1 year")
    nb.wait_for_src_change(image, before)
    # The sandbox key rotates once a year from the day rotation was enabled: a year later,
    # exactly at the click's target, the second version is listed and the log says so.
    expect(status).to_contain_text("2 versions, v2 current")
    # The panel's HTML parts: the status line, the picture's caption, the log.
    expect(nb.locator(".widget-html").nth(1)).to_contain_text("Picture: timeline of")
    expect(nb.locator(".widget-html").nth(2)).to_contain_text("v2 is now current")
    shot = nb.screenshot(nb.locator(".widget-vbox").first, "lesson2-after-one-year.png")
    assert shot.stat().st_size > 10_000


def test_lesson_5_runs_in_the_real_ui_with_its_figures_and_call_counts(lab):
    from playwright.sync_api import expect

    nb = lab.open("05_rotation_across_services.ipynb")
    nb.run_all()  # fails on any traceback or stderr output
    # Every figure the committed lesson shows is drawn again in the browser ...
    stored = nbformat.read(NOTEBOOKS / "05_rotation_across_services.ipynb", as_version=4)
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in stored.cells
        for output in cell.get("outputs", [])
    )
    assert figures >= 1
    expect(nb.locator(".jp-RenderedImage img")).to_have_count(figures)
    # ... and the Bucket Key comparison shows the same call counts (as an HTML table here).
    outputs = nb.locator(".jp-OutputArea-output").all_inner_texts()
    table = next(text for text in outputs if "with a Bucket Key" in text)
    assert "960" in table and "48" in table
    nb.screenshot(nb.locator(".jp-RenderedImage").last, "lesson5-last-figure.png")


def test_lesson_7_expiry_panel_locks_the_key_in_the_real_ui(lab):
    from playwright.sync_api import expect

    nb, image = _panel_after_run_all(lab, "07_rotation_at_the_edges.ipynb")
    status = nb.locator(".widget-html").first
    expect(status).to_contain_text("1 version, v1 current")
    for _ in range(2):
        before = image.get_attribute("src")
        nb.click("+1 month")
        nb.wait_for_src_change(image, before)
    expect(status).to_contain_text("key PendingImport")
    log = nb.locator(".widget-html").filter(has_text="imported key material expired")
    expect(log.first).to_be_visible()


def test_lesson_1_decrypt_panel_says_where_decryption_fails(lab):
    from playwright.sync_api import expect

    nb = lab.open("01_envelope_encryption.ipynb")
    nb.run_all()
    panel = nb.locator(".widget-vbox").first             # the only panel in lesson 1
    result = panel.locator(".widget-html").last
    nb.click("Decrypt")                                  # as stored: it decrypts
    expect(result).to_contain_text("✓ KMS decrypted the data key")
    # A bit flipped in the encrypted record: KMS is fine, AES-GCM on this machine refuses.
    panel.locator(".widget-dropdown select").select_option("the encrypted record")
    nb.click("Decrypt")
    expect(result.locator("span").first).to_contain_text("InvalidTag")
    # Back to an intact record, with a changed context: now KMS refuses the data key.
    panel.locator(".widget-dropdown select").select_option("nothing")
    context = panel.locator(".widget-text input")
    context.fill("table=orders, order_id=9999")
    nb.button("Decrypt").focus()                         # from the keyboard: focus, Enter
    nb.page.keyboard.press("Enter")
    expect(result.locator("span").first).to_contain_text("KMS refused to decrypt the data key")
    nb.screenshot(panel, "lesson1-decrypt-panel.png")


_PNG_FINGERPRINT_JS = """async (img) => {
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let hash = 0;
    for (const byte of bytes) hash = (hash * 31 + byte) >>> 0;
    return [bytes.length, hash];
}"""


def _fingerprint(img) -> list[int]:
    """The length and a hash of the PNG an Image widget shows (its src is a blob: URL)."""
    return img.evaluate(_PNG_FINGERPRINT_JS)


def _save(lab, nb) -> None:
    """Save the open notebook (File ▸ Save) and wait until the file holds the widget state."""
    path = lab.workdir / nb.path
    nb.menu("File", "docmanager:save")
    deadline = time.monotonic() + 30
    while "application/vnd.jupyter.widget-state+json" not in path.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "JupyterLab did not save the widget state"
        time.sleep(0.2)


def test_lesson_3_records_panel_redraws_and_a_saved_copy_reopens_with_its_pictures(lab):
    """Click the records panel, save the lesson as JupyterLab does, stop its kernel and reopen
    it: each panel shows its last picture (saved widget state), never "model not found"."""
    from playwright.sync_api import expect

    t0 = time.monotonic()
    nb, timeline = _panel_after_run_all(lab, "03_decrypting_old_data.ipynb")
    radius = nb.locator("img.widget-image").nth(1)
    nb.wait_for_src_change(radius, None)
    captions = nb.locator(".widget-html").filter(has_text="Picture:")
    expect(captions.nth(1)).to_contain_text("no records yet")
    before = (timeline.get_attribute("src"), radius.get_attribute("src"))
    nb.click("Write a year of records")
    nb.wait_for_src_change(timeline, before[0])
    nb.wait_for_src_change(radius, before[1])
    expect(captions.nth(1)).to_contain_text("records protected by each version")
    last = [_fingerprint(timeline), _fingerprint(radius)]
    nb.screenshot(nb.locator(".widget-vbox").first, "lesson3-after-a-year.png")
    t_click = time.monotonic()

    _save(lab, nb)
    lab.server.shutdown_sessions()                       # the kernel and its models are gone
    reopened = lab.open("03_decrypting_old_data.ipynb")  # a fresh workspace, a new kernel
    images = reopened.locator("img.widget-image")
    expect(images).to_have_count(2)
    assert [_fingerprint(images.nth(0)), _fingerprint(images.nth(1))] == last
    expect(reopened.panel).not_to_contain_text("model not found")
    expect(reopened.panel).not_to_contain_text("Error displaying widget")
    reopened.screenshot(reopened.locator(".widget-vbox").first, "lesson3-reopened.png")
    print(f"\nrun all + click {t_click - t0:.1f}s, save + reopen {time.monotonic() - t_click:.1f}s")
