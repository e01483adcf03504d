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

import functools
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from kmssim.analysis.exposure import (
    Exposure,
    Record,
    VersionExposure,
    exposure,
    key_label,
    locate,
    produced_by_version,
)
from kmssim.core import KMS, Cloud, KeyHistory, Version, requires_extra
from kmssim.core.envelope import SealedRecord
from kmssim.core.errors import ValidationException

# Without matplotlib this says to install the [lessons] extra (kmssim.core.extras).
with requires_extra("lessons", __name__):
    import matplotlib.dates as mdates
    import matplotlib.figure
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PathCollection, PolyCollection
    from matplotlib.colors import to_rgb
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.path import Path
    from matplotlib.textpath import TextPath, TextToPath
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import (
        Affine2D, Bbox, ScaledTranslation, blended_transform_factory,
    )

__all__ = ["timeline", "blast_radius", "exposure", "Exposure", "Figure", "to_png", "new_figure",
           "timeline_size", "lane_labels", "version_labels", "LabelCollection"]

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
                            label="pending deletion"),
    # A multi-Region primary scheduled for deletion waits for its replicas to go first.
    "PendingReplicaDeletion": dict(facecolor=(1, 0.9, 0.85, 0.55), hatchcolor=VERMILLION,
                                   hatch="xxx", label="pending deletion (after its replicas)"),
    # Origin EXTERNAL: no usable material (never imported yet, expired or deleted).
    "PendingImport": dict(facecolor=(1, 1, 1, 0.6), hatchcolor="#666666", hatch="...",
                          label="pending import: no usable key material")}
# Marks for imported key material and multi-Region keys (`timeline`'s docstring).
MARK_STYLE: dict[str, dict[str, Any]] = {
    "imported": dict(marker="^", color=GREEN, markeredgecolor="white", markersize=7,
                     label="key material imported"),
    "expired": dict(marker="v", color=VERMILLION, markeredgecolor="white", markersize=7,
                    label="imported material expired (ValidTo)"),
    "expires": dict(marker="v", color=VERMILLION, markerfacecolor="white", markersize=7,
                    label="imported material will expire (ValidTo)"),
    "material-deleted": dict(marker="x", color=VERMILLION, markeredgewidth=2, markersize=7,
                             label="imported material deleted"),
    "primary-moved": dict(marker="*", color=BLACK, markeredgecolor="white", markersize=11,
                          label="primary Region moved here or away (UpdatePrimaryRegion)")}


def _marker_props(style: dict[str, Any], scale: float = 1.0) -> dict[str, Any]:
    """A MARK_STYLE entry as Line2D keyword arguments, its size times ``scale``."""
    props = {k: v for k, v in style.items() if k != "label"}
    props["markersize"] = style["markersize"] * scale
    return props

# Vertical layout of one lane (lane centre at 0): version bar, ciphertext strip, shading.
BAR_LOW, BAR_HIGH = -0.06, 0.32
STRIP_LOW, STRIP_HIGH = -0.42, -0.14
DPI = 100
# A new timeline figure is laid out by hand, in inches, not by constrained layout, which
# measures every lane label and tick on each draw (half the time of a 50-key picture).
# The first ROOMY_LANES lanes get LANE_IN each, further lanes FLEET_LANE_IN: a fleet of 50
# keys stays readable without a 4,000-pixel-tall PNG.
ROOMY_LANES, LANE_IN, FLEET_LANE_IN = 4, 0.85, 0.34
TITLE_IN = 0.36           # above the plot
LEGEND_GAP_IN = 0.22      # from the plot's bottom edge to the legend (the dates go between)
LEGEND_ROW_IN = 0.185     # one row of legend entries
LEGEND_COLUMNS = 4
RIGHT_IN = 0.25           # right of the plot (its x range already has room after "now")
LABEL_PAD_PT = 5.0        # between a lane label and the plot
LABEL_SIZE = 8.0          # points, lane labels
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
    # zlib level 3, not Pillow's 6: a timeline's flat colours compress as well (within 2%)
    # and a tall picture encodes about a sixth faster.
    figure.savefig(buffer, format="png", dpi=dpi or figure.dpi,
                   pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    """A `Figure` of ``width`` x ``height`` inches with an Agg canvas and one Axes, laid
    out by ``layout`` (a matplotlib layout engine's name, or None to place it by hand:
    then saving it draws it once, not twice)."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(figure)
    figure.add_subplot()
    return figure


def timeline_size(lanes: int) -> tuple[float, float]:
    """Width and height in inches of a timeline figure with this many key lanes (and two
    rows of legend)."""
    roomy, more = min(lanes, ROOMY_LANES), max(lanes - ROOMY_LANES, 0)
    return 9.0, max(2.6, 1.25 + LANE_IN * roomy + FLEET_LANE_IN * more)


def lane_labels(ax: Axes) -> list[str]:
    """The lane labels of a timeline on ``ax``, top lane first ("alias/orders\n6 versions")."""
    return [text for collection in ax.collections
            if isinstance(collection, LabelCollection)
            and collection.get_gid() == "kmssim-lane-label" for text in collection.strings]


_TEXT_SIZER = TextToPath()


def _text_width_in(lines: Iterable[str], size: float) -> float:
    """Roughly the width in inches of the widest of ``lines`` at ``size`` points: the few
    longest are measured (the font is proportional, so the longest is not always the
    widest), with a little slack for hinting."""
    longest = sorted(set(lines), key=len, reverse=True)[:6]
    return max(map(_width_pt, longest, [size] * len(longest)), default=0.0) * 1.04 / 72


@functools.lru_cache(maxsize=1024)
def _width_pt(line: str, size: float) -> float:
    return float(_TEXT_SIZER.get_text_width_height_descent(
        line, FontProperties(size=size), ismath=False)[0])


class LabelCollection(PathCollection):
    """Many short labels ("v12", "v3\\n1,024") drawn as one artist.

    A matplotlib `Text` costs about a millisecond to lay out and draw, so a 50-key,
    10-year timeline with a label in every bar would spend seconds on them. Here each
    label is a path of glyph outlines (`TextPath`, cached per line of text), sized in
    points and placed at a point in data coordinates; ``strings`` holds the texts, in
    drawing order, for tests and screen readers.
    """

    def __init__(self, ax: Axes, strings: list[str], paths: list[Path],
                 at: list[tuple[float, float]], **kwargs: Any) -> None:
        root = ax.get_figure(root=True)
        assert root is not None
        # Paths in points, scaled with the figure's dpi (also when saved at another dpi).
        points = Affine2D().scale(1 / 72) + root.dpi_scale_trans
        super().__init__(paths, offsets=np.asarray(at, float).reshape(-1, 2),
                         offset_transform=ax.transData, **kwargs)
        self.set_transform(points)
        self.strings = list(strings)

    def get_window_extent(self, renderer: Any = None) -> Any:
        """Where the labels are on the canvas, so layouts and tight bounding boxes make
        room for them (a collection's own extent counts only data-placed paths)."""
        transform = self.get_transform()
        where = self.get_offset_transform().transform(self.get_offsets())
        boxes = [path.get_extents(transform).translated(x, y)
                 for path, (x, y) in zip(self.get_paths(), where, strict=True)]
        return Bbox.union(boxes) if boxes else Bbox.null()


def version_labels(ax: Axes) -> list[str]:
    """The version labels of a timeline on ``ax`` ("v1", "v3\\n1,024", "v6 · 12"), lane by
    lane, oldest version first."""
    return [text for collection in ax.collections
            if isinstance(collection, LabelCollection)
            and collection.get_gid() == "kmssim-version-label"
            for text in collection.strings]


@functools.lru_cache(maxsize=4096)
def _line_glyphs(line: str, size: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One line of text as glyph outlines in points (baseline at 0), and its ink's left and
    right edges."""
    path = TextPath((0, 0), line, size=size)
    if not len(path.vertices):
        return np.zeros((0, 2)), np.zeros(0, np.uint8), 0.0, 0.0
    extents = path.get_extents()
    return path.vertices.copy(), path.codes.copy(), extents.x0, extents.x1


@functools.lru_cache(maxsize=4096)
def _label_path(text: str, size: float, align: str, shift_pt: float = 0.0
                ) -> tuple[Path, tuple[float, float, float, float]]:
    """``text`` (lines split on "\\n") as one path in points, centred vertically on 0 and
    centred (``align="center"``), starting (``"left"``) or ending (``"right"``) at
    ``shift_pt``; and its box."""
    lines = text.split("\n")
    pitch = 1.09 * size
    top_baseline = (len(lines) - 1) / 2 * pitch - 0.365 * size
    verts, codes, left, right = [], [], np.inf, -np.inf
    for index, line in enumerate(lines):
        v, c, x0, x1 = _line_glyphs(line, size)
        dx = shift_pt - {"center": (x0 + x1) / 2, "left": x0, "right": x1}[align]
        verts.append(v + (dx, top_baseline - index * pitch))
        codes.append(c)
        left, right = min(left, x0 + dx), max(right, x1 + dx)
    low = top_baseline - (len(lines) - 1) * pitch - 0.25 * size
    high = top_baseline + 0.75 * size
    return Path(np.concatenate(verts), np.concatenate(codes)), (left, low, right, high)


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
             aggregate_above: int = 500, title: str | None = None,
             cloud: Cloud | None = None) -> Figure | Axes:
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

    Imported key material (``Origin="EXTERNAL"``), read from the audit trail: dots
    shade the time the key was PendingImport (no usable material: before the first
    import, after an expiry or a deletion); triangles mark each import (up), each
    expiry (down, filled) and each deletion (x) of material; a hollow triangle ahead
    of now is a ``ValidTo`` still to come; a dashed box above the bars is new
    material imported but not yet rotated in (PENDING_ROTATION).

    Multi-Region keys (``mrk-`` ids): the lane names its Region and whether it is the
    primary or a replica. Pass the `kmssim.Cloud` that holds the Regions as ``cloud``
    and each other Region's related key gets a lane of its own, in the same colour,
    under the key's lane (its bars begin when the replica was made); a star marks an
    UpdatePrimaryRegion on the lanes of the old and the new primary.

    Draws on ``ax`` and returns it, or returns a new `Figure`.
    """
    lanes = _lanes(kms, _histories(kms, keys), cloud)
    figure = None
    if ax is None:
        figure = new_figure(*timeline_size(len(lanes)), layout=None)   # see `_lay_out`
        ax = figure.axes[0]
    root = ax.get_figure(root=True)
    assert root is not None
    now = kms.now
    from_records = records is not None
    record_list = list(records) if records is not None else None
    # Ciphertexts from each Region's own trail; given records are located with ``kms``
    # and counted on every Region's lane (a multi-Region key's Regions share material).
    found: dict[int, tuple[dict[Where, int], dict[Where, list[datetime]]]] = {}
    for lane in lanes:
        if id(lane.kms) not in found:
            source = kms if record_list is not None else lane.kms
            found[id(lane.kms)] = (found[id(source)] if id(source) in found else
                                   _ciphertexts(source, record_list) if show_ciphertexts
                                   else ({}, {}))
    counted = any(counts for counts, _ in found.values())
    lo = min((lane.start for lane in lanes), default=now)
    hi = max([now] + [lane.history.next_rotation for lane in lanes
                      if lane.history.next_rotation]
             + [when for lane in lanes if lane.imported for when in lane.imported.valid_to])
    span = max(date_number(hi) - date_number(lo), 30.0)
    ax.set_xlim(date_number(lo) - 0.02 * span, date_number(lo) + 1.05 * span)
    if figure is not None:
        width_in, height_in = figure.get_figwidth(), figure.get_figheight()
        plot_in = height_in - TITLE_IN - LEGEND_GAP_IN - 2 * LEGEND_ROW_IN - 0.1
    else:
        box = ax.get_position()
        width_in, plot_in = root.get_figwidth(), box.height * root.get_figheight()
    # Room above the top lane for "now": a fixed height, not a share of a lane.
    top = BAR_HIGH + max(0.30, 0.24 * (len(lanes) + 0.17) / plot_in)
    if lanes and lanes[0].imported is not None and lanes[0].imported.pending is not None:
        top += 0.2      # the top lane's pending material sits above its bars
    pitch_in = plot_in / (len(lanes) - 1 + 0.55 + top)
    labels = _lane_labels(lanes, found, counted, from_records, pitch_in)
    left_in = (_text_width_in((line for label in labels for line in label.split("\n")),
                              LABEL_SIZE) + LABEL_PAD_PT / 72 + 0.08)
    # Roughly how many pixels a day takes, to decide which labels fit in their bars.
    if figure is not None:
        px_per_day = (width_in - left_in - RIGHT_IN) * root.dpi / (1.07 * span)
    else:
        px_per_day = width_in * root.dpi * 0.82 / (1.07 * span)
    painter = _Painter(ax, now, px_per_day, bar_pt=(BAR_HIGH - BAR_LOW) * pitch_in * 72)
    for index, lane in enumerate(lanes):
        counts, times = found[id(lane.kms)]
        in_lane = sum(counts.get((lane.history.key_id, v.material_id), 0)
                      for v in lane.history.versions)
        painter.lane(-index, lane, counts, times,
                     aggregated=from_records or in_lane > aggregate_above)
    painter.finish()
    ax.axvline(date_number(now), color=BLACK, linestyle=(0, (4, 3)), linewidth=1.1, alpha=0.75,
               gid="kmssim-now", zorder=4)
    ax.annotate(f"now {now:%Y-%m-%d}", (date_number(now), 1.0), xycoords=("data", "axes fraction"),
                xytext=(-3, -3), textcoords="offset points", ha="right", va="top", fontsize=8,
                color="#333333", bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none",
                                           alpha=0.8), zorder=6)
    if title is None and len({lane.history.key_id for lane in lanes}) == 1 and lanes:
        regions = len(lanes)
        title = (f"Key material versions of {key_label(lanes[0].history)}"
                 + (f" in {regions} Regions" if regions > 1 else ""))
    # A new figure's legend may start at its left edge; on a given Axes it starts at the
    # plot's left edge, right of the lane labels.
    room_in = (width_in if figure is not None else
               width_in - max(width_in * ax.get_position().x0, left_in)) - 0.1
    legend = _decorate(ax, [lane.history for lane in lanes], labels, top, painter.present,
                       title, from_records, room_in)
    if figure is not None:
        # Widen the right margin for texts that run past the plot's right edge.
        lo_x, hi_x = ax.get_xlim()
        right_in = RIGHT_IN
        for _ in range(2):
            plot_width = width_in - left_in - right_in
            right_in = max([RIGHT_IN] + [
                points / 72 + 0.05 - (hi_x - x) / (hi_x - lo_x) * plot_width
                for x, points in painter.beside])
        _lay_out(figure, ax, len(lanes), left_in, legend, right_in)
    return figure if figure is not None else ax


class _Imported(NamedTuple):
    """What the audit trail says about a key's imported material (Origin EXTERNAL)."""

    imports: list[datetime]           # every ImportKeyMaterial
    expiries: list[datetime]          # every DeleteExpiredKeyMaterial (ValidTo came)
    deletions: list[datetime]         # every DeleteImportedKeyMaterial
    valid_to: list[datetime]          # ValidTo still ahead, of material imported now
    pending: tuple[datetime, str] | None   # new material waiting: (imported, material id)
    alive: frozenset[str]             # material ids imported and neither expired nor deleted
    replicas_wait: bool = False       # pending until every Region has imported it too


class _Lane(NamedTuple):
    """One lane: a key (or one Region's related key of a multi-Region key)."""

    kms: KMS
    history: KeyHistory
    colour: str
    start: datetime                   # the first time drawn: the key's (replica's) creation
    region: str | None                # "us-east-1 primary", for multi-Region keys
    imported: _Imported | None
    moves: list[datetime]             # UpdatePrimaryRegion to or from this Region


_TRAIL_NAMES = ("CreateKey", "ImportKeyMaterial", "DeleteImportedKeyMaterial",
                "DeleteExpiredKeyMaterial", "UpdatePrimaryRegion")


class _Trails:
    """The audit events a timeline reads (imports, expiries, primary moves), grouped by
    key id: one pass over each Region's trail, not one per lane."""

    def __init__(self) -> None:
        self._by_key: dict[int, dict[str, list[Any]]] = {}

    def events(self, kms: KMS, key_id: str, *names: str) -> list[Any]:
        if id(kms) not in self._by_key:
            grouped: dict[str, list[Any]] = {}
            for event in kms.trail.query(name=_TRAIL_NAMES, failed=False):
                if event.key_arn is not None:
                    grouped.setdefault(event.key_arn.rsplit("/", 1)[-1], []).append(event)
            self._by_key[id(kms)] = grouped
        return [e for e in self._by_key[id(kms)].get(key_id, ()) if e.name in names]


def _lanes(kms: KMS, histories: list[KeyHistory], cloud: Cloud | None) -> list[_Lane]:
    """The lanes to draw: one per key, and under a multi-Region key one for each other
    Region of ``cloud`` that holds a related key (the primary first, then the replicas in
    the order they were made)."""
    lanes = []
    trails = _Trails()
    for index, history in enumerate(histories):
        colour = LANE_COLOURS[index % len(LANE_COLOURS)]
        regions: list[tuple[KMS, KeyHistory]] = [(kms, history)]
        if cloud is not None and history.key_id.startswith("mrk-"):
            others = [(region, region.history(history.key_id))
                      for region in cloud.regions.values()
                      if region is not kms
                      and history.key_id in region.key_ids(include_deleted=True)]
            regions += sorted(others, key=lambda pair: pair[1].created)
        roles = (_roles(trails, history.key_id, [k for k, _ in regions], cloud is not None)
                 if history.key_id.startswith("mrk-") else {})
        primary = next((k.region for k, _ in regions if roles.get(k.region) == "primary"), None)
        if primary is not None and regions[0][0].region != primary and len(regions) > 1:
            # The primary's lane first, whichever Region's key was asked for.
            regions.sort(key=lambda pair: pair[0].region != primary)
        moves = (_primary_moves(trails, history.key_id, [k for k, _ in regions])
                 if history.key_id.startswith("mrk-") else [])
        found = [(region_kms, region_history, _imported(trails, region_kms, region_history))
                 for region_kms, region_history in regions]
        for region_kms, region_history, imported in found:
            role = roles.get(region_kms.region)
            if imported is not None and imported.pending is not None and any(
                    elsewhere is None or imported.pending[1] not in elsewhere.alive
                    for _, _, elsewhere in found if elsewhere is not imported):
                # New material of a multi-Region key waits until every Region has it
                # (PENDING_MULTI_REGION_IMPORT_AND_ROTATION, kms-facts.md 2.6).
                imported = imported._replace(replicas_wait=True)
            lanes.append(_Lane(
                region_kms, region_history, colour, region_history.created,
                f"{region_kms.region} {role}" if role else None, imported,
                [when for when, old, new in moves if region_kms.region in (old, new)]))
    return lanes


def _primary_moves(trails: _Trails, key_id: str, regions: list[KMS]
                   ) -> list[tuple[datetime, str, str]]:
    """Every UpdatePrimaryRegion of ``key_id``: (when, old primary, new primary)."""
    moves = []
    for region in regions:
        for event in trails.events(region, key_id, "UpdatePrimaryRegion"):
            moves.append((event.time, event.region, str((event.request or {}).get(
                "primaryRegion", ""))))
    return sorted(moves)


def _roles(trails: _Trails, key_id: str, regions: list[KMS], whole: bool) -> dict[str, str]:
    """Whether each Region's key of a multi-Region key is now the primary or a replica,
    from the audit trails of every Region (``whole``): the Region whose CreateKey made
    it, then each UpdatePrimaryRegion. One Region's trail alone cannot tell (the move
    is logged in the old primary's Region only): then it says just "multi-Region"."""
    if not whole:
        return {region.region: "multi-Region" for region in regions}
    primary = None
    for region in regions:
        if trails.events(region, key_id, "CreateKey"):
            primary = region.region
    for _, _, new in _primary_moves(trails, key_id, regions):
        primary = new if new else primary
    return {region.region: "primary" if region.region == primary else "replica"
            for region in regions}


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _imported(trails: _Trails, kms: KMS, history: KeyHistory) -> _Imported | None:
    """The imports, expiries and deletions of ``history``'s key material, from ``kms``'s
    audit trail (None for a key that never had material imported, nor waited for it)."""
    events = trails.events(kms, history.key_id, "ImportKeyMaterial",
                           "DeleteImportedKeyMaterial", "DeleteExpiredKeyMaterial")
    if not events and not any(s.state == "PendingImport" for s in history.states):
        return None
    imports, expiries, deletions = [], [], []
    valid_to: dict[str, datetime | None] = {}
    first_seen: dict[str, datetime] = {}
    alive: set[str] = set()
    for event in events:
        if event.name == "ImportKeyMaterial":
            material = event.key_material_id or ""
            imports.append(event.time)
            alive.add(material)
            first_seen.setdefault(material, event.time)
            valid_to[material] = _when((event.request or {}).get("validTo"))
            continue
        if event.name == "DeleteImportedKeyMaterial":
            material = event.key_material_id or ""
            deletions.append(event.time)
        else:
            material = str((event.response or {}).get("keyMaterialId", ""))
            expiries.append(event.time)
        alive.discard(material)
    versions = {v.material_id for v in history.versions}
    waiting = [m for m in alive if m not in versions]
    pending = (first_seen[waiting[0]], waiting[0]) if waiting else None
    now = kms.now
    ahead = sorted(when for m, when in valid_to.items()
                   if m in alive and when is not None and when > now)
    return _Imported(imports, expiries, deletions, ahead, pending, frozenset(alive))


def _lay_out(figure: Figure, ax: Axes, lanes: int, left_in: float, legend: Any,
             right_in: float = RIGHT_IN) -> None:
    """Place the plot in a new figure by hand: the lane labels' width on the left, the
    title above, the dates and the legend's rows below. The figure keeps its
    `timeline_size` (a lesson's "<Figure size 900x260 …>" line does not change with its
    legend): a third row of legend makes the plot lower. The legend starts under the
    plot, or further left if it would not fit."""
    labels = [text.get_text() for text in legend.get_texts()]
    width_in, height_in = timeline_size(lanes)
    ncols = legend._ncols
    legend_in = _legend_width_in(labels, ncols)
    legend_rows = -(-len(labels) // ncols)
    legend.set_bbox_to_anchor(
        (min(left_in, max(width_in - 0.05 - legend_in, 0.05)) / width_in, 0.0),
        transform=blended_transform_factory(figure.transFigure, ax.transAxes)
        + ScaledTranslation(0, -LEGEND_GAP_IN, figure.dpi_scale_trans))
    bottom_in = LEGEND_GAP_IN + LEGEND_ROW_IN * legend_rows + 0.1
    ax.set_position((left_in / width_in, bottom_in / height_in,
                     (width_in - left_in - right_in) / width_in,
                     (height_in - bottom_in - TITLE_IN) / height_in))


def _legend_width_in(labels: list[str], ncols: int) -> float:
    """About how wide a legend of ``labels`` in ``ncols`` columns is, in inches: filled
    column by column as matplotlib does (the first columns take one more entry), each
    column as wide as its longest entry plus its handle."""
    em = 8 / 72
    short, long = divmod(len(labels), ncols)
    starts = np.cumsum([0] + [short + 1] * long + [short] * (ncols - long))
    columns = [labels[i:j] for i, j in zip(starts[:-1], starts[1:], strict=True) if j > i]
    return (sum(_text_width_in(column, 8) + 2.4 * em for column in columns)
            + 1.4 * em * (len(columns) - 1))


def _lane_labels(lanes: list[_Lane], found: dict[int, tuple[dict[Where, int], Any]],
                 counted: bool, from_records: bool, pitch_in: float) -> list[str]:
    """Each lane's label: name (and Region), versions, ciphertexts (if counted), and the
    key's state when it cannot be used; one line each, or two lines where lanes are too
    close for more."""
    labels = []
    made = "record" if from_records else "ciphertext"
    for lane in lanes:
        history = lane.history
        deleted = history.state == "Deleted"
        head = [key_label(history)] + ([lane.region] if lane.region else [])
        body = [_plural(len(history.versions), "version")]
        if counted:
            # A deleted key's lane says what its ciphertexts are now, not "3 ciphertexts"
            # beside a bare "deleted" that reads as if the ciphertexts were deleted.
            counts = found[id(lane.kms)][0]
            wrapped = sum(counts.get((history.key_id, v.material_id), 0)
                          for v in history.versions)
            body.append(_plural(wrapped, made) + (" unreadable" if deleted else ""))
        state = (["key deleted"] if deleted else
                 ["pending import: unusable"] if history.state == "PendingImport" else [])
        lines = head + body + state
        if len(lines) > 2 and len(lines) * LABEL_SIZE * 1.2 / 72 > 0.92 * pitch_in:
            lines = [" · ".join(head + state), ", ".join(body)]
        labels.append("\n".join(lines))
    return labels


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

    def __init__(self, ax: Axes, now: datetime, px_per_day: float, bar_pt: float = 30.0) -> None:
        self.ax, self.now, self.px_per_day = ax, now, px_per_day
        # The lane being drawn's ciphertexts: counts and times per (key, material).
        self.counts: dict[Where, int] = {}
        self.times: dict[Where, list[datetime]] = {}
        # Labels in a bar fit its height: 8 points in a roomy lane, smaller in a fleet's; a
        # count under the name only where two lines fit.
        self.name_size = min(8.0, 0.62 * bar_pt)
        self.marker_scale = min(1.0, bar_pt / 16.0)     # smaller markers on a fleet's bars
        self.two_lines = bar_pt >= 17.0
        self.present: set[str] = set()
        # Markers of every lane, drawn by `finish` as one artist per kind of mark.
        self.rotations: dict[str, list[float]] = {kind: [] for kind in ROTATION_STYLE}
        self.rotation_ys: dict[str, list[float]] = {kind: [] for kind in ROTATION_STYLE}
        self.upcoming: list[tuple[tuple[float, float], tuple[float, float]]] = []
        self.deleted: list[tuple[float, float]] = []
        # Imported material and Regions, by kind of mark: (x, y) of each.
        self.marks: dict[str, list[tuple[float, float]]] = {kind: [] for kind in MARK_STYLE}
        self.expiring: list[tuple[tuple[float, float], tuple[float, float]]] = []
        self.pending: list[tuple[float, float, float, str]] = []   # start, stop, y, colour
        # Texts that start at a point and run right (x, width in points): the figure's
        # right margin must hold them.
        self.beside: list[tuple[float, float]] = []
        # (text, glyph path, where, ink, (box, fill) or None): every version label.
        self.label_texts: list[tuple[str, Path, tuple[float, float], str,
                                     tuple[tuple[float, float, float, float], RGB] | None]] = []

    def finish(self) -> None:
        """Draw the marks gathered from every lane: one artist per kind, not per lane."""
        ax = self.ax
        if self.label_texts:
            boxed = [(where, box) for _, _, where, _, box in self.label_texts if box]
            if boxed:
                pad = 1.0
                ax.add_collection(LabelCollection(
                    ax, [], [Path.unit_rectangle().transformed(
                        Affine2D().scale(x1 - x0 + 2 * pad, y1 - y0 + 2 * pad)
                        .translate(x0 - pad, y0 - pad)) for _, ((x0, y0, x1, y1), _) in boxed],
                    [where for where, _ in boxed], facecolors=[fill for _, (_, fill) in boxed],
                    edgecolors="none", linewidths=0, gid="kmssim-version-label-box",
                    zorder=4.4, clip_on=False), autolim=False)
            ax.add_collection(LabelCollection(
                ax, [t[0] for t in self.label_texts], [t[1] for t in self.label_texts],
                [t[2] for t in self.label_texts], facecolors=[t[3] for t in self.label_texts],
                edgecolors="none", linewidths=0, gid="kmssim-version-label", zorder=4.5,
                clip_on=False), autolim=False)
        for kind, style in ROTATION_STYLE.items():
            self._stacks(kind)
            if self.rotations[kind]:
                ax.add_line(Line2D(self.rotations[kind], self.rotation_ys[kind],
                                   linestyle="none", marker=style["marker"],
                                   markersize=(6 if kind == "AUTOMATIC" else 5.5)
                                   * self.marker_scale,
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
        self._imported_marks()

    def _imported_marks(self) -> None:
        """Imports, expiries, deletions, ValidTo ahead, pending material, primary moves."""
        ax = self.ax
        if self.expiring:
            ax.add_collection(LineCollection(self.expiring, linestyles=":", colors=VERMILLION,
                                             linewidths=1, alpha=0.7, zorder=1))
        for kind, style in MARK_STYLE.items():
            spots = self.marks[kind]
            if spots:
                ax.add_line(Line2D([x for x, _ in spots], [y for _, y in spots],
                                   linestyle="none", **_marker_props(style, self.marker_scale),
                                   gid=f"kmssim-{kind}", zorder=5.5))
                self.present.add(kind)
        if self.pending:
            low, high = BAR_HIGH + 0.05, BAR_HIGH + 0.2
            ax.add_collection(PolyCollection(
                [((a, y + low), (a, y + high), (b, y + high), (b, y + low))
                 for a, b, y, _ in self.pending],
                facecolors="white", edgecolors=[c for *_, c in self.pending], linewidths=1.1,
                linestyles="--", gid="kmssim-pending-material", zorder=3), autolim=False)
            self.present.add("pending")

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

    def lane(self, y: float, lane: _Lane, counts: dict[Where, int],
             times: dict[Where, list[datetime]], *, aggregated: bool) -> None:
        """Everything about one key (or one Region's key), centred on ``y``."""
        ax, history, colour = self.ax, lane.history, lane.colour
        self.counts, self.times = counts, times
        end = _end_of(history, self.now)
        first = date_number(lane.start)
        # A replica holds the versions made before it, but its lane starts when it was made.
        versions = [v for v in history.versions
                    if v.retired is None or date_number(v.retired) > first]
        middle = y + (BAR_LOW + BAR_HIGH) / 2
        starts = [max(date_number(v.created), first) for v in versions]
        ends = [date_number(v.retired) if v.retired else date_number(end) for v in versions]
        fills = [to_rgb(colour) if v.number % 2 else tint(colour) for v in versions]
        alive = history.state != "Deleted"
        # One collection for the lane's bars, oldest first, so the current version (last,
        # outlined in black while the key lives) is drawn over its neighbours' edges.
        low, high = middle - (BAR_HIGH - BAR_LOW) / 2, middle + (BAR_HIGH - BAR_LOW) / 2
        edges = ["white"] * len(versions)
        widths = [0.8] * len(versions)
        if alive and versions:
            edges[-1], widths[-1] = BLACK, 1.2
            self.present.add("current")
        xs = np.asarray([starts, starts, ends, ends]).T.reshape(-1, 4)
        ys = np.broadcast_to(np.asarray([low, high, high, low]), xs.shape)
        ax.add_collection(PolyCollection(   # an (N, 4, 2) array: matplotlib's fast path
            np.stack([xs, ys], axis=-1), facecolors=fills, edgecolors=edges, linewidths=widths,
            gid="kmssim-version", zorder=2))
        if versions:
            self.present.add("version")
        lane_counts = [counts.get((history.key_id, v.material_id), 0) for v in versions]
        shaded = any(change.state in STATE_STYLE for change in history.states)
        self.labels(middle, versions, starts, ends, fills, lane_counts, alive, shaded)
        self.shade_states(y, history)
        for kind in ROTATION_STYLE:
            at = [s for v, s in zip(versions, starts, strict=True)
                  if v.rotation_type == kind and date_number(v.created) >= first]
            self.rotations[kind] += at
            self.rotation_ys[kind] += [y + BAR_HIGH] * len(at)
        if history.next_rotation is not None and history.state == "Enabled":
            upcoming = date_number(history.next_rotation)
            self.upcoming.append(((date_number(self.now), y + BAR_HIGH), (upcoming, y + BAR_HIGH)))
        if not alive:
            self.deleted.append((date_number(end), middle))
            text = f"deleted {end:%Y-%m-%d}"
            ax.annotate(text, (date_number(end), middle), xytext=(8, 0),
                        textcoords="offset points", ha="left", va="center", fontsize=7.5,
                        color="#444444", zorder=6)
            self.beside.append((date_number(end), 8 + _width_pt(text, 7.5)))
        if sum(lane_counts):
            self.ciphertexts(y, history, versions, starts, ends, fills, lane_counts, aggregated)
        if lane.imported is not None:
            self.imported(y, lane)
        self.marks["primary-moved"] += [(date_number(when), middle) for when in lane.moves]

    def imported(self, y: float, lane: _Lane) -> None:
        """Marks for imported material: imports under the bar, expiries and deletions on
        it, a ValidTo still ahead after now, and new material waiting for its rotation."""
        info = lane.imported
        assert info is not None
        self.marks["imported"] += [(date_number(t), y + BAR_LOW) for t in info.imports]
        self.marks["expired"] += [(date_number(t), y + BAR_HIGH) for t in info.expiries]
        self.marks["material-deleted"] += [(date_number(t), y + (BAR_LOW + BAR_HIGH) / 2)
                                           for t in info.deletions]
        now = date_number(self.now)
        for when in info.valid_to:
            self.marks["expires"].append((date_number(when), y + BAR_HIGH))
            self.expiring.append(((now, y + BAR_HIGH), (date_number(when), y + BAR_HIGH)))
        if info.pending is not None and lane.history.state != "Deleted":
            since, _ = info.pending
            self.pending.append((date_number(since), max(now, date_number(since) + 1e-3), y,
                                 lane.colour))
            text = ("new material, pending import into every Region" if info.replicas_wait
                    else "new material, pending rotation")
            path, _ = _label_path(text, 7.0, "left", 4.0)
            self.label_texts.append((text, path, (now, y + BAR_HIGH + 0.125), "#333333", None))
            self.beside.append((now, 4 + _width_pt(text, 7.0)))

    def labels(self, middle: float, versions: Sequence[Version], starts: list[float],
               ends: list[float], fills: list[RGB], counts: list[int], alive: bool,
               shaded: bool) -> None:
        """"vN" (and its count) inside each bar wide enough; the current one beside it.
        Gathered here, drawn by `finish` as one collection for every lane.

        A bar is wide enough when it holds the lane's longest name ("v41"), so a lane of
        equal bars is labelled all along or not at all, never v1 to v9 and then nothing."""
        with_counts = sum(counts) > 0
        size, char_px = self.name_size, 6.5 * self.name_size / 8.0
        name_px = char_px * len(f"v{versions[-1].number}") + 4 if versions else 0.0
        for version, start, stop, fill, n in zip(versions, starts, ends, fills, counts,
                                                 strict=True):
            width_px = (stop - start) * self.px_per_day
            name, number = f"v{version.number}", _count(n)
            if (with_counts and self.two_lines
                    and width_px >= max(name_px, 6.5 * len(number) + 4)):
                text, text_size = f"{name}\n{number}", 7.0
            elif width_px >= name_px:
                text, text_size = name, size
            elif version.retired is None and alive:
                # The current version has only just started: name it beside its bar.
                text = f"{name} · {number}" if with_counts else name
                path, _ = _label_path(text, 7.0, "left", 4.0)
                self.label_texts.append((text, path, (stop, middle), BLACK, None))
                self.beside.append((stop, 4 + _width_pt(text, 7.0)))
                continue
            else:
                continue
            # Over hatching, a box of the bar's own colour behind the label keeps it legible.
            path, box = _label_path(text, text_size, "center")
            self.label_texts.append((text, path, ((start + stop) / 2, middle), _ink(fill),
                                     (box, fill) if shaded else None))

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
            if stop <= start:
                continue            # over at once (an import right after CreateKey)
            self.ax.add_patch(Rectangle(
                (start, y + STRIP_LOW - 0.04), max(stop - start, 0.0),
                BAR_HIGH - STRIP_LOW + 0.08, facecolor=style["facecolor"], hatch=style["hatch"],
                linewidth=0, gid=f"kmssim-{change.state}", zorder=4,
                **hatch_colour(style["hatchcolor"])))
            self.present.add(change.state)

    def ciphertexts(self, y: float, history: KeyHistory, versions: Sequence[Version],
                    starts: list[float], ends: list[float], fills: list[RGB],
                    counts: list[int], aggregated: bool) -> None:
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
            stamps = [t for v in versions if v.number % 2 == parity
                      for t in self.times.get((history.key_id, v.material_id), ())]
            if stamps:
                self.ax.plot(_nums(stamps), [(low + high) / 2] * len(stamps), linestyle="none",
                             marker="|", markersize=8, markeredgewidth=1.1, color=colour,
                             gid="kmssim-ciphertexts", zorder=4.2)   # over the "now" line
        self.present.add("ticks")


def _decorate(ax: Axes, histories: list[KeyHistory], labels: list[str], top: float,
              present: set[str], title: str | None, from_records: bool,
              room_in: float | None = None) -> Any:
    """Lane labels, date axis, title and legend; returns the legend."""
    n = len(histories)
    ax.set_ylim(-(n - 1) - 0.55, top)
    # One text per lane, not tick labels: fifty ticks cost more to make than the lanes.
    ax.set_yticks([])
    ax.tick_params(axis="y", length=0, labelsize=LABEL_SIZE)   # for callers that add ticks
    root = ax.get_figure(root=True)
    assert root is not None
    beside = ax.get_yaxis_transform() + ScaledTranslation(-LABEL_PAD_PT / 72, 0,
                                                          root.dpi_scale_trans)
    lanes = LabelCollection(ax, labels, [_label_path(label, LABEL_SIZE, "right")[0]
                                         for label in labels],
                            [(0.0, -lane) for lane in range(n)], facecolors=BLACK,
                            edgecolors="none", linewidths=0, clip_on=False,
                            gid="kmssim-lane-label", zorder=3)
    lanes.set_offset_transform(beside)
    ax.add_collection(lanes, autolim=False)
    locator = mdates.AutoDateLocator(tz=UTC, minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    # No offset ("2025-Nov") under the last tick: it would sit on the legend, and the
    # "now 2025-11-12" label already gives the year.
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC,
                                                             show_offset=False))
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
    labels = [(h[0] if isinstance(h, tuple) else h).get_label() for h in handles]
    # Four columns, or fewer if four would be wider than the figure.
    room = root.get_figwidth() - 0.1 if room_in is None else room_in
    ncols = next((n for n in range(LEGEND_COLUMNS, 1, -1)
                  if _legend_width_in(labels, n) <= room), 1)
    # Under the dates at a fixed distance, however tall the plot.
    under = ax.transAxes + ScaledTranslation(0, -LEGEND_GAP_IN, root.dpi_scale_trans)
    return ax.legend(
        handles=handles, labels=labels,
        handler_map={tuple: HandlerTuple(ndivide=None, pad=0)}, loc="upper left",
        bbox_to_anchor=(0.0, 0.0), bbox_transform=under, ncol=ncols,
        frameon=False, fontsize=8, handlelength=1.6, columnspacing=1.4, borderaxespad=0.0)


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
    for kind, style in MARK_STYLE.items():
        if kind in present:
            handles.append(Line2D([], [], linestyle="none", label=style["label"],
                                  **_marker_props(style)))
    if "pending" in present:
        handles.append(Patch(facecolor="white", edgecolor=BLUE, linestyle="--",
                             label="new material imported, not yet current"))
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
