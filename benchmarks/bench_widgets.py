"""Benchmarks of the timeline and the time-controls panel, against baselines from this run.

Run: ``python benchmarks/bench_widgets.py`` (about half a minute on 2 cores).

- a click on the panel (advance one day, redraw the 10-year timeline, render PNG) for
  one key with a 90-day period, on-demand rotations and 4,000 records, against a bare
  matplotlib Figure with the same number of bars rendered to PNG with Agg;
- ``plot.timeline`` + PNG with 100,000 ciphertexts in the trail, against the same bare
  figure, and against the same timeline drawing one tick per ciphertext (no aggregation).
Target (issue 3): a click redraws in <= 150 ms median.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from kmssim import KMS  # noqa: E402
from kmssim.lessons import plot
from kmssim.core.envelope import seal  # noqa: E402
from kmssim.lessons.widgets import TimeControls  # noqa: E402


def median_ms(fn: Callable[[], object], repeat: int = 15) -> float:
    """Median wall time of one call, in milliseconds (after one warm-up call)."""
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1e3)
    return statistics.median(runs)


def ten_years(records_per_quarter: int) -> tuple[KMS, str]:
    """One key, 90-day rotation, an on-demand rotation every ~2 years, records all along."""
    kms = KMS(seed=31)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/orders", TargetKeyId=key)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    for quarter in range(40):
        for _ in range(records_per_quarter):
            seal(kms, key, b"order" * 20)
        if quarter % 8 == 3:
            kms.rotate_key_on_demand(KeyId=key)
        kms.advance(days=91)
    return kms, key


def bare_png(bars: int) -> Callable[[], bytes]:
    """A bare Figure of the timeline's size with ``bars`` bars, rendered to PNG with Agg."""
    def render() -> bytes:
        figure = Figure(figsize=plot.timeline_size(1), dpi=plot.DPI)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        ax.barh(np.zeros(bars), np.full(bars, 0.9), left=np.arange(bars))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    return render


def bench_click() -> None:
    kms, key = ten_years(records_per_quarter=100)
    panel = TimeControls(kms, key)
    versions = len(kms.history(key).versions)
    click = median_ms(panel.buttons["+1 day"].click, repeat=21)
    base = median_ms(bare_png(versions))
    print(f"panel click, 10 years, {versions} versions, {len(kms.trail):,} audit events: "
          f"{click:6.1f} ms   bare figure with {versions} bars {base:5.1f} ms   "
          f"ratio {click / base:4.2f}x (target: click <= 150 ms)")


def bench_hundred_thousand() -> None:
    kms = KMS(seed=32)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    for _ in range(365):
        for _ in range(274):
            kms.encrypt(KeyId=key, Plaintext=b"r")
        kms.advance(days=10)
    versions = len(kms.history(key).versions)
    made = sum(1 for event in kms.trail if event.name == "Encrypt")
    ours = median_ms(lambda: plot.to_png(plot.timeline(kms)), repeat=7)
    base = median_ms(bare_png(versions), repeat=7)
    ticks = median_ms(lambda: plot.to_png(plot.timeline(kms, aggregate_above=made)), repeat=5)
    print(f"timeline + PNG, {made:,} ciphertexts, {versions} versions: {ours:6.1f} ms   "
          f"bare figure {base:5.1f} ms (ratio {ours / base:4.2f}x)   "
          f"one tick per ciphertext {ticks:6.1f} ms (ratio {ours / ticks:4.2f}x)")


if __name__ == "__main__":
    bench_click()
    bench_hundred_thousand()
