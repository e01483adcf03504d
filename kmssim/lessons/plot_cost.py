"""Plot KMS cost over simulated time under today's and the pre-April-2024 prices.

The figures come from `kmssim.analysis.cost.compare_pricing`; this module only draws them (it is
the one place the cost model meets matplotlib, which `kmssim.analysis.cost` never imports).
matplotlib is imported when a plot is drawn, not when this module is imported, so
importing every kmssim module still loads no plotting library.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kmssim.analysis.cost import compare_pricing

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from kmssim.core import KMS

__all__ = ["plot_costs"]

# Price lists, not periods: every month on the axis is priced both ways.
_OLD = "old prices (before April 2024)"
_NOW = "today's prices (since April 2024)"


def plot_costs(kms: KMS, *, keys: Iterable[str] | None = None, until: datetime | None = None,
               title: str | None = None) -> Figure:
    """Monthly cost (bars) and running total (lines) under both price models.

    ``keys`` limits it to some keys; ``until`` defaults to now. Returns a
    `kmssim.plot.Figure`, a matplotlib Figure that Jupyter shows as a PNG when it is
    the cell's value (a plain matplotlib Figure made without pyplot shows only as text).
    """
    from kmssim.lessons.plot import Figure   # first: without matplotlib it names the extra
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    table = compare_pricing(kms, keys=keys, until=until)
    months = table.column("month")
    positions = list(range(len(months)))
    figure = Figure(figsize=(9, 4.5), layout="constrained")
    monthly, running = figure.subplots(1, 2)
    width = 0.42
    monthly.bar([p - width / 2 for p in positions], table.column("pre-2024 $"), width,
                label=_OLD, color="#c44e52")
    monthly.bar([p + width / 2 for p in positions], table.column("current $"), width,
                label=_NOW, color="#4c72b0")
    monthly.set_title("per month")
    running.plot(positions, table.column("pre-2024, so far $"), color="#c44e52",
                 label=_OLD)
    running.plot(positions, table.column("current, so far $"), color="#4c72b0",
                 label=_NOW)
    running.set_title("running total")
    for axes in (monthly, running):
        _month_ticks(axes, months)
        axes.set_ylabel("US dollars")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        axes.yaxis.set_major_formatter(StrMethodFormatter("${x:,.0f}"))
        axes.legend(loc="upper left", fontsize="small")
    figure.suptitle(title or "KMS cost: each rotation used to add $1/month; now only two do")
    return figure


def _month_ticks(axes: Any, months: list[str]) -> None:
    """Label January of each year (every month when the span is short)."""
    step = 1 if len(months) <= 14 else None
    ticks = [(i, m) for i, m in enumerate(months) if step or m.endswith("-01")]
    axes.set_xticks([i for i, _ in ticks], [m if step else m[:4] for _, m in ticks],
                    rotation=45 if step else 0, fontsize="small")
