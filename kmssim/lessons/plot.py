"""Pictures of key rotation: a version timeline and a blast-radius chart (matplotlib).

>>> from kmssim import KMS, plot
>>> kms = KMS(seed=1)
>>> key = kms.create_key()["KeyMetadata"]["KeyId"]
>>> kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
{}
>>> _ = kms.advance(days=365)
>>> plot.timeline(kms)                # the last line of a cell shows it as a PNG
<Figure size 900x260 with 1 Axes>

Each function draws on the ``ax`` you give it (and returns that Axes) or makes a
new `Figure` (and returns it). Nothing here touches pyplot, so no figure is left
open and nothing is shown twice. Artists carry a ``gid`` (``"kmssim-version"``,
``"kmssim-rotation-AUTOMATIC"``, ``"kmssim-ciphertexts"``, …) for tests to find them.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from kmssim.analysis.exposure import (
    Exposure,
    Record,
    VersionExposure,
    exposure,
    key_label,
    locate,
    produced_by_version,
)
from kmssim.core import KMS, KeyHistory, Version, requires_extra
from kmssim.core.envelope import SealedRecord
from kmssim.core.errors import ValidationException

# Without matplotlib this says to install the [lessons] extra (kmssim.core.extras).
with requires_extra("lessons", __name__):
    import matplotlib.dates as mdates
    import matplotlib.figure
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import to_rgb
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import MaxNLocator

__all__ = ["timeline", "blast_radius", "exposure", "Exposure", "Figure", "to_png", "new_figure",
           "timeline_size"]

RGB = tuple[float, float, float]

# Okabe & Ito's colour-blind-safe palette.
BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
LANE_COLOURS = (BLUE, GREEN, PURPLE, SKY, ORANGE, YELLOW)
GREY = "#8C8C8C"
ROTATION_STYLE: dict[str, dict[str, Any]] = {
    "AUTOMATIC": dict(marker="o", color=BLACK, label="automatic rotation"),
    "ON_DEMAND": dict(marker="D", color=VERMILLION, label="on-demand rotation")}


def hatch_colour(colour: str) -> dict[str, str]:
    """Keyword arguments that colour a patch's hatch, on every matplotlib kmssim supports.

    matplotlib 3.11 added ``hatchcolor``; before it, a hatch takes the edge colour (the
    patches here have no visible edge, as they are drawn with ``linewidth=0``).
    """
    return {"hatchcolor": colour} if _HATCHCOLOR else {"edgecolor": colour}


_HATCHCOLOR = "hatchcolor" in Rectangle((0, 0), 1, 1).properties()

# Drawn over the bars: a translucent wash greys them, the hatch says why.
STATE_STYLE: dict[str, dict[str, Any]] = {
    "Disabled": dict(facecolor=(1, 1, 1, 0.45), hatchcolor="#555555", hatch="///",
                     label="key disabled"),
    "PendingDeletion": dict(facecolor=(1, 0.9, 0.85, 0.55), hatchcolor=VERMILLION, hatch="xxx",
                            label="pending deletion")}
# Vertical layout of one lane (lane centre at 0): version bar, ciphertext strip, shading.
BAR_LOW, BAR_HIGH = -0.06, 0.32
STRIP_LOW, STRIP_HIGH = -0.42, -0.14
DPI = 100
MIN_STRIP_PX = 4          # the narrowest a version's records-per-version bar is drawn
_EPOCH = mdates.date2num(datetime(1970, 1, 1, tzinfo=UTC))


class Figure(matplotlib.figure.Figure):
    """A matplotlib Figure that shows itself as a PNG in Jupyter, even without pyplot."""

    def _repr_png_(self) -> bytes:
        return to_png(self)


def to_png(figure: matplotlib.figure.Figure, dpi: float | None = None) -> bytes:
    """Render ``figure`` to PNG bytes with Agg (no GUI, no pyplot)."""
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi or figure.dpi)
    return buffer.getvalue()


def new_figure(width: float, height: float) -> Figure:
    """A `Figure` of ``width`` x ``height`` inches with an Agg canvas and one Axes."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.add_subplot()
    return figure


def timeline_size(lanes: int) -> tuple[float, float]:
    """Width and height in inches of a timeline figure with this many key lanes."""
    return 9.0, max(2.6, 1.25 + 0.85 * lanes)


def date_number(when: datetime) -> float:
    """``when`` as a matplotlib date number (days), for placing artists on a timeline."""
    return when.timestamp() / 86400.0 + _EPOCH


def _nums(times: Sequence[datetime]) -> np.ndarray:
    return np.fromiter((t.timestamp() for t in times), float, len(times)) / 86400.0 + _EPOCH


def tint(colour: str | RGB, amount: float = 0.5) -> RGB:
    """``colour`` mixed with white by ``amount`` (0 = unchanged, 1 = white)."""
    r, g, b = to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _ink(fill: str | RGB) -> str:
    r, g, b = to_rgb(fill)
    return BLACK if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "white"


def _count(n: int) -> str:
    return f"{n:,}" if n < 10_000 else f"{n / 1000:.0f}k"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _size(n: int) -> str:
    for unit, step in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= step:
            return f"{n / step:.1f} {unit}"
    return f"{n} B"


def _histories(kms: KMS, keys: str | Iterable[str] | None) -> list[KeyHistory]:
    if keys is None:
        keys = kms.key_ids(include_deleted=True)
    elif isinstance(keys, str):
        keys = [keys]
    return [kms.history(key) for key in keys]


def _end_of(history: KeyHistory, now: datetime) -> datetime:
    """When the key stopped existing (deleted), else now."""
    last = history.states[-1] if history.states else None
    return last.at if last is not None and last.state == "Deleted" else now


def timeline(kms: KMS, keys: str | Iterable[str] | None = None, *, ax: Axes | None = None,
             records: Iterable[Record] | None = None, show_ciphertexts: bool = True,
             aggregate_above: int = 500, title: str | None = None) -> Figure | Axes:
    """Draw the key-material versions of ``keys`` over simulated time.

    ``keys``: a key id, ARN or alias, or a list of them; default every key,
    deleted ones included. One lane per key, labelled by alias (else the id's
    start), with a bar per version from its creation until the next one took
    over (or now), labelled v1, v2, …; the current version is outlined. Circles
    mark automatic rotations, diamonds on-demand ones, a hollow circle the next
    scheduled rotation; hatching shows when the key was disabled or pending
    deletion, an X its deletion; the dashed line is now.

    Under each bar, the ciphertexts and data keys that version wrapped: by default
    every one in the audit trail (Encrypt, GenerateDataKey…, ReEncrypt), as a tick
    at the time it was made. A lane with more than ``aggregate_above`` shows one bar
    per version instead, as tall as its count. Pass ``records`` (blobs, responses or
    SealedRecords) to count just those. The number under a version's label is how
    many it wrapped.

    Draws on ``ax`` and returns it, or returns a new `Figure`.
    """
    histories = _histories(kms, keys)
    figure = None
    if ax is None:
        figure = new_figure(*timeline_size(len(histories)))
        ax = figure.axes[0]
    now = kms.now
    counts, times = _ciphertexts(kms, records) if show_ciphertexts else ({}, {})
    lo = min((h.created for h in histories), default=now)
    hi = max([now] + [h.next_rotation for h in histories if h.next_rotation])
    span = max(date_number(hi) - date_number(lo), 30.0)
    ax.set_xlim(date_number(lo) - 0.02 * span, date_number(lo) + 1.05 * span)
    # Roughly how many pixels a day takes, to decide which labels fit in their bars.
    root = ax.get_figure(root=True)
    assert root is not None
    px_per_day = root.get_figwidth() * root.dpi * 0.82 / (1.07 * span)
    painter = _Painter(ax, now, counts, times, px_per_day)
    for lane, history in enumerate(histories):
        in_lane = sum(counts.get((history.key_id, v.material_id), 0) for v in history.versions)
        painter.lane(-lane, history, LANE_COLOURS[lane % len(LANE_COLOURS)],
                     aggregated=records is not None or in_lane > aggregate_above)
    painter.finish()
    ax.axvline(date_number(now), color=BLACK, linestyle=(0, (4, 3)), linewidth=1.1, alpha=0.75,
               gid="kmssim-now", zorder=4)
    ax.annotate(f"now {now:%Y-%m-%d}", (date_number(now), 1.0), xycoords=("data", "axes fraction"),
                xytext=(-3, -3), textcoords="offset points", ha="right", va="top", fontsize=8,
                color="#333333", bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none",
                                           alpha=0.8), zorder=6)
    _decorate(ax, histories, counts, painter.present, title, records is not None)
    return figure if figure is not None else ax


Where = tuple[str, str]   # (key id, key material id)


def _ciphertexts(kms: KMS, records: Iterable[Record] | None
                 ) -> tuple[dict[Where, int], dict[Where, list[datetime]]]:
    """Counts per (key, material), and times when they are known (from the trail)."""
    if records is not None:
        return {where: len(sizes) for where, sizes in locate(kms, records).items()}, {}
    times = produced_by_version(kms)
    return {where: len(when) for where, when in times.items()}, times


class _Painter:
    """Draws the lanes of one timeline and notes what it drew, for the legend."""

    def __init__(self, ax: Axes, now: datetime, counts: dict[Where, int],
                 times: dict[Where, list[datetime]], px_per_day: float) -> None:
        self.ax, self.now, self.counts, self.times = ax, now, counts, times
        self.px_per_day = px_per_day
        self.present: set[str] = set()
        # Markers of every lane, drawn by `finish` as one artist per kind of mark.
        self.rotations: dict[str, list[float]] = {kind: [] for kind in ROTATION_STYLE}
        self.rotation_ys: dict[str, list[float]] = {kind: [] for kind in ROTATION_STYLE}
        self.upcoming: list[tuple[tuple[float, float], tuple[float, float]]] = []
        self.deleted: list[tuple[float, float]] = []

    def finish(self) -> None:
        """Draw the marks gathered from every lane: one artist per kind, not per lane."""
        ax = self.ax
        for kind, style in ROTATION_STYLE.items():
            self._stacks(kind)
            if self.rotations[kind]:
                ax.add_line(Line2D(self.rotations[kind], self.rotation_ys[kind],
                                   linestyle="none", marker=style["marker"],
                                   markersize=6 if kind == "AUTOMATIC" else 5.5,
                                   color=style["color"], markeredgecolor="white",
                                   markeredgewidth=0.8, gid=f"kmssim-rotation-{kind}", zorder=5))
                self.present.add(kind)
        if self.upcoming:
            ax.add_collection(LineCollection(self.upcoming, linestyles=":", colors=GREY,
                                             linewidths=1, zorder=1))
            ax.add_line(Line2D([b[0] for _, b in self.upcoming], [b[1] for _, b in self.upcoming],
                               linestyle="none", marker="o", markersize=7,
                               markerfacecolor="white", markeredgecolor=GREY,
                               gid="kmssim-next-rotation", zorder=5))
            self.present.add("next")
        if self.deleted:
            ax.add_line(Line2D([x for x, _ in self.deleted], [y for _, y in self.deleted],
                               linestyle="none", marker="X", markersize=10, color=BLACK,
                               markeredgecolor="white", gid="kmssim-deleted", zorder=5))
            self.present.add("deleted")

    def _stacks(self, kind: str) -> None:
        """Rotations drawn on one spot (25 on-demand rotations in a minute) would read as
        one marker: write how many beside it ("×25")."""
        spots: dict[tuple[int, float], int] = {}
        for x, y in zip(self.rotations[kind], self.rotation_ys[kind], strict=True):
            spot = (round(x * self.px_per_day / 3), y)      # within about 3 pixels
            spots[spot] = spots.get(spot, 0) + 1
        seen: set[tuple[int, float]] = set()
        for x, y in zip(self.rotations[kind], self.rotation_ys[kind], strict=True):
            spot = (round(x * self.px_per_day / 3), y)
            if spots[spot] > 1 and spot not in seen:
                seen.add(spot)
                self.ax.annotate(f"×{spots[spot]}", (x, y), xytext=(5, 3),
                                 textcoords="offset points", ha="left", va="bottom",
                                 fontsize=7.5, color=ROTATION_STYLE[kind]["color"],
                                 fontweight="bold", gid=f"kmssim-rotation-stack-{kind}",
                                 zorder=6)

    def lane(self, y: float, history: KeyHistory, colour: str, *, aggregated: bool) -> None:
        """Everything about one key, centred on ``y``."""
        ax, versions = self.ax, history.versions
        end = _end_of(history, self.now)
        middle = y + (BAR_LOW + BAR_HIGH) / 2
        starts = [date_number(v.created) for v in versions]
        ends = [date_number(v.retired) if v.retired else date_number(end) for v in versions]
        fills = [to_rgb(colour) if v.number % 2 else tint(colour) for v in versions]
        alive = history.state != "Deleted"
        # One collection for the lane's bars, oldest first, so the current version (last,
        # outlined in black while the key lives) is drawn over its neighbours' edges.
        low, high = middle - (BAR_HIGH - BAR_LOW) / 2, middle + (BAR_HIGH - BAR_LOW) / 2
        edges = ["white"] * len(versions)
        widths = [0.8] * len(versions)
        if alive:
            edges[-1], widths[-1] = BLACK, 1.2
            self.present.add("current")
        ax.add_collection(PolyCollection(
            [((start, low), (start, high), (stop, high), (stop, low))
             for start, stop in zip(starts, ends, strict=True)],
            facecolors=fills, edgecolors=edges, linewidths=widths, gid="kmssim-version",
            zorder=2))
        self.present.add("version")
        counts = [self.counts.get((history.key_id, v.material_id), 0) for v in versions]
        self.labels(middle, versions, starts, ends, fills, counts, alive)
        self.shade_states(y, history)
        for kind in ROTATION_STYLE:
            at = [s for v, s in zip(versions, starts, strict=True) if v.rotation_type == kind]
            self.rotations[kind] += at
            self.rotation_ys[kind] += [y + BAR_HIGH] * len(at)
        if history.next_rotation is not None and history.state == "Enabled":
            upcoming = date_number(history.next_rotation)
            self.upcoming.append(((date_number(self.now), y + BAR_HIGH), (upcoming, y + BAR_HIGH)))
        if not alive:
            self.deleted.append((date_number(end), middle))
            ax.annotate(f"deleted {end:%Y-%m-%d}", (date_number(end), middle), xytext=(8, 0),
                        textcoords="offset points", ha="left", va="center", fontsize=7.5,
                        color="#444444", zorder=6)
        if sum(counts):
            self.ciphertexts(y, history, starts, ends, fills, counts, aggregated)

    def labels(self, middle: float, versions: Sequence[Version], starts: list[float],
               ends: list[float], fills: list[RGB], counts: list[int], alive: bool) -> None:
        """"vN" (and its count) inside each bar wide enough; the current one beside it."""
        with_counts = sum(counts) > 0
        for version, start, stop, fill, n in zip(versions, starts, ends, fills, counts,
                                                 strict=True):
            width_px = (stop - start) * self.px_per_day
            name, number = f"v{version.number}", _count(n)
            if with_counts and width_px >= 6.5 * max(len(name), len(number)) + 4:
                text, size = f"{name}\n{number}", 7.0
            elif width_px >= 6.5 * len(name) + 4:
                text, size = name, 8.0
            elif version.retired is None and alive:
                # The current version has only just started: name it beside its bar.
                self.ax.annotate(f"{name} · {number}" if with_counts else name, (stop, middle),
                                 xytext=(4, 0), textcoords="offset points", ha="left",
                                 va="center", fontsize=7, gid="kmssim-version-label", zorder=6)
                continue
            else:
                continue
            self.ax.text((start + stop) / 2, middle, text, ha="center", va="center",
                         fontsize=size, color=_ink(fill), linespacing=1.0,
                         gid="kmssim-version-label", zorder=4.5,
                         # A box of the bar's own colour: invisible, except over hatching.
                         bbox=dict(boxstyle="round,pad=0.1", facecolor=fill, edgecolor="none"))

    def shade_states(self, y: float, history: KeyHistory) -> None:
        """Wash and hatch the lane, over its bars, while the key was disabled or pending
        deletion. A state that still holds is shaded to the right edge: it lasts until
        someone changes it."""
        changes = list(history.states)
        for change, after in zip(changes, [*changes[1:], None], strict=True):
            style = STATE_STYLE.get(change.state)
            if style is None:
                continue
            start = date_number(change.at)
            stop = (date_number(after.at) if after
                    else max(date_number(self.now), self.ax.get_xlim()[1]))
            self.ax.add_patch(Rectangle(
                (start, y + STRIP_LOW - 0.04), max(stop - start, 0.0),
                BAR_HIGH - STRIP_LOW + 0.08, facecolor=style["facecolor"], hatch=style["hatch"],
                linewidth=0, gid=f"kmssim-{change.state}", zorder=4,
                **hatch_colour(style["hatchcolor"])))
            self.present.add(change.state)

    def ciphertexts(self, y: float, history: KeyHistory, starts: list[float],
                    ends: list[float], fills: list[RGB], counts: list[int],
                    aggregated: bool) -> None:
        """A tick per ciphertext at the time it was made; or, when there are too many
        (or their times are unknown), one bar per version as tall as its count."""
        low, high = y + STRIP_LOW, y + STRIP_HIGH
        if aggregated:
            tallest = max(counts)
            tops = [low + (high - low) * max(n / tallest, 0.06) for n in counts]
            # At least MIN_STRIP_PX wide: a version made at this instant (its records
            # written "now") still shows its count.
            least = MIN_STRIP_PX / self.px_per_day
            verts = [[(start, low), (start, top), (max(stop, start + least), top),
                      (max(stop, start + least), low)]
                     for start, stop, top, n in zip(starts, ends, tops, counts, strict=True)
                     if n]
            colours = [fill for fill, n in zip(fills, counts, strict=True) if n]
            self.ax.add_collection(PolyCollection(
                verts, facecolors=colours, edgecolors="white", linewidths=0.5,
                gid="kmssim-ciphertext-counts", zorder=2))
            self.present.add("counts")
            return
        # Two artists per lane, whatever the number of ticks: odd and even versions,
        # in the shades of their bars.
        for parity, colour in ((1, fills[0]), (0, tint(fills[0], 0.45))):
            stamps = [t for v in history.versions if v.number % 2 == parity
                      for t in self.times.get((history.key_id, v.material_id), ())]
            if stamps:
                self.ax.plot(_nums(stamps), [(low + high) / 2] * len(stamps), linestyle="none",
                             marker="|", markersize=8, markeredgewidth=1.1, color=colour,
                             gid="kmssim-ciphertexts", zorder=4.2)   # over the "now" line
        self.present.add("ticks")


def _decorate(ax: Axes, histories: list[KeyHistory], counts: dict[tuple[str, str], int],
              present: set[str], title: str | None, from_records: bool) -> None:
    n = len(histories)
    ax.set_ylim(-(n - 1) - 0.55, 0.62)
    labels = []
    for history in histories:
        wrapped = sum(counts.get((history.key_id, v.material_id), 0) for v in history.versions)
        deleted = history.state == "Deleted"
        lines = [key_label(history), _plural(len(history.versions), "version")]
        if counts:
            # A deleted key's lane says what its ciphertexts are now, not "3 ciphertexts"
            # beside a bare "deleted" that reads as if the ciphertexts were deleted.
            lines.append(_plural(wrapped, "record" if from_records else "ciphertext")
                         + (" unreadable" if deleted else ""))
        if deleted:
            lines.append("key deleted")
        labels.append("\n".join(lines))
    ax.set_yticks([-i for i in range(n)], labels)
    ax.tick_params(axis="y", length=0, labelsize=8)
    locator = mdates.AutoDateLocator(tz=UTC, minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#E5E5E5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if title is None:
        title = (f"Key material versions of {key_label(histories[0])}" if n == 1
                 else "Key material versions over time")
    ax.set_title(title, loc="left", fontsize=11)
    handles = _legend_handles(present, from_records)
    ax.legend(handles=handles,
              labels=[(h[0] if isinstance(h, tuple) else h).get_label() for h in handles],
              handler_map={tuple: HandlerTuple(ndivide=None, pad=0)}, loc="upper left",
              bbox_to_anchor=(0.0, -0.09 if n > 1 else -0.14), ncol=4, frameon=False,
              fontsize=8, handlelength=1.6, columnspacing=1.4)


def _legend_handles(present: set[str], from_records: bool) -> list:
    """Legend entries for what this picture actually shows, and nothing else."""
    made = "records" if from_records else "ciphertexts"
    # The version swatch shows both shades the bars alternate between.
    handles: list = [(Patch(facecolor=BLUE, edgecolor="white",
                            label=f"key material version (vN, {made} it wrapped)"),
                      Patch(facecolor=tint(BLUE), edgecolor="white"))]
    if "current" in present:
        handles.append(Patch(facecolor=BLUE, edgecolor=BLACK, linewidth=1.2,
                             label="current version: encrypts new data"))
    for kind, style in ROTATION_STYLE.items():
        if kind in present:
            handles.append(Line2D([], [], linestyle="none", marker=style["marker"],
                                  color=style["color"], label=style["label"]))
    if "next" in present:
        handles.append(Line2D([], [], linestyle=":", marker="o", color=GREY,
                              markerfacecolor="white", label="next scheduled rotation"))
    if "ticks" in present:
        handles.append(Line2D([], [], linestyle="none", marker="|", markersize=8,
                              color=BLUE, label="a ciphertext or data key made"))
    if "counts" in present:
        # The strip's bars take their version's colour (odd versions' shade shown here).
        handles.append(Patch(facecolor=BLUE, label=f"{made} per version (bar height)"))
    for state, style in STATE_STYLE.items():
        if state in present:
            handles.append(Patch(facecolor=style["facecolor"], hatch=style["hatch"],
                                 edgecolor=style["hatchcolor"], linewidth=0,
                                 label=style["label"]))
    if "deleted" in present:
        handles.append(Line2D([], [], linestyle="none", marker="X", markersize=8, color=BLACK,
                              label="key deleted"))
    handles.append(Line2D([], [], linestyle=(0, (4, 3)), color=BLACK, label="now"))
    return handles


VersionChoice = int | tuple[str, int] | str | Record | None


def blast_radius(kms: KMS, records: Iterable[Record], *, version: VersionChoice = None,
                 ax: Axes | None = None, max_rows: int = 16) -> Figure | Axes:
    """Show how much of ``records`` one key-material version (or one data key) protects.

    One horizontal bar per version, its length the number of records it protects,
    labelled with the count, bytes and share; the chosen one is highlighted and
    the title says what its leak would expose. ``version`` is a version number
    (when the records use one key), a ``(key, number)`` pair, a material id, or one
    of the records: a SealedRecord adds a bar for its own data key, which protects
    that record alone. Default: the version that protects the most. More than
    ``max_rows`` versions are summed into one bar per key ("24 other versions").

    Numbers: `exposure` (``print(plot.exposure(kms, records))``). Draws on ``ax``
    and returns it, or returns a new `Figure`. Raises ValidationException for a
    version that none of the records' keys has.
    """
    records = list(records)
    table = exposure(kms, records)
    if not table.rows:
        raise ValidationException("blast_radius() needs at least one record.")
    chosen, data_key = _choose(kms, table, version)
    rows = _fold(table, chosen, max_rows)
    bars: list[tuple[str, int, int, str | RGB]] = [
        (label, count, size, VERMILLION if row is chosen else ("#DDDDDD" if row is None
                                                                else tint(BLUE, 0.55)))
        for label, count, size, row in rows]
    if data_key is not None:
        bars.insert(0, ("this record's\ndata key", 1, data_key.size, ORANGE))
    figure = None
    if ax is None:
        figure = new_figure(8.0, 1.35 + 0.3 * len(bars))
        ax = figure.axes[0]
    total_count, total_size = table.total_count, table.total_size
    ys = np.arange(len(bars))[::-1]
    ax.barh(ys, [b[1] for b in bars], color=[b[3] for b in bars], height=0.7,
            gid="kmssim-blast-radius")
    for y, (_, count, size, colour) in zip(ys, bars, strict=True):
        ax.annotate(f"{count:,} ({count / total_count:.1%}) · {_size(size)}", (count, y),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=8,
                    fontweight="bold" if colour in (VERMILLION, ORANGE) else "normal")
    ax.set_yticks(ys, [b[0] for b in bars], fontsize=8)
    # The scale runs to all the records, not to the longest bar: two charts of the same
    # records (before and after re-encrypting them, say) share it and can be compared.
    ax.set_xlim(0, total_count * 1.45 + 1)
    ax.set_xlabel("records protected", fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # records come in whole numbers
    ax.tick_params(axis="x", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    name = f"v{chosen.version} of {chosen.key_label}"
    headline = (f"If {name} leaked: {chosen.count:,} of {total_count:,} records "
                f"({chosen.count / total_count:.1%}), {_size(chosen.size)} of "
                f"{_size(total_size)} exposed")
    if data_key is not None:
        headline = (f"If this record's data key leaked: 1 of {total_count:,} records "
                    f"({1 / total_count:.1%}), {_size(data_key.size)} exposed.\n{headline}")
    ax.set_title(headline, loc="left", fontsize=10)
    return figure if figure is not None else ax


def _choose(kms: KMS, table: Exposure, version: VersionChoice
            ) -> tuple[VersionExposure, SealedRecord | None]:
    """The row ``version`` names, and the SealedRecord when a data key was chosen."""
    if version is None:
        return max(table.rows, key=lambda r: r.count), None
    if isinstance(version, bool):
        raise ValidationException("version must be a number, (key, number), a material id "
                                  "or a record.")
    if isinstance(version, int):
        return table.row(version=version), None
    if isinstance(version, tuple) and len(version) == 2:
        return table.row(key=str(version[0]) if version[0] is not None else None,
                         version=version[1]), None
    if isinstance(version, str):
        for row in table.rows:
            if row.material_id == version:
                return row, None
        raise ValidationException(f"No version with material id {version[:12]}… among these "
                                  "records' keys.")
    (key_id, material_id), = locate(kms, [version])
    for row in table.rows:
        if (row.key_id, row.material_id) == (key_id, material_id):
            return row, version if isinstance(version, SealedRecord) else None
    raise ValidationException("That record was not made by these records' keys.")


def _fold(table: Exposure, chosen: VersionExposure, max_rows: int
          ) -> list[tuple[str, int, int, VersionExposure | None]]:
    """Rows to draw: every version, or (too many) the chosen one plus one sum per key."""
    rows = list(table.rows)
    several_keys = len({r.key_id for r in rows}) > 1

    def label(r: VersionExposure) -> str:
        name = f"{r.key_label} v{r.version}" if several_keys else f"v{r.version}"
        return name + (" (current)" if r.current else "")

    if len(rows) <= max_rows:
        return [(label(r), r.count, r.size, r) for r in rows]
    folded: list[tuple[str, int, int, VersionExposure | None]] = []
    for key_id in dict.fromkeys(r.key_id for r in rows):
        others = [r for r in rows if r.key_id == key_id and r is not chosen]
        if chosen.key_id == key_id:
            folded.append((label(chosen), chosen.count, chosen.size, chosen))
        if others:
            prefix = f"{others[0].key_label}: " if several_keys else ""
            what = "other version" if chosen.key_id == key_id else "version"
            folded.append((prefix + _plural(len(others), what), sum(r.count for r in others),
                           sum(r.size for r in others), None))
    return folded
