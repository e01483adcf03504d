"""The version timeline, the blast-radius chart and the exposure numbers behind them.

The pictures are checked through their artists (found by ``gid``), never by pixels.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from kmssim import KMS  # noqa: E402
from kmssim.lessons import plot
from kmssim.core.envelope import seal  # noqa: E402
from kmssim.core.errors import (  # noqa: E402
    DisabledException, InvalidCiphertextException, ValidationException,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def artists(ax: Axes, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


class Bar(NamedTuple):
    """One version bar, read back from its lane's collection."""

    x: float
    width: float
    facecolor: tuple[float, ...]
    edgecolor: tuple[float, ...]
    linewidth: float


def version_bars(ax: Axes) -> list[Bar]:
    """Every version bar, lane by lane (top lane first), oldest version first. Each lane's
    bars are one PolyCollection, so a 50-key, 10-year picture draws 50 artists, not 2,000."""
    bars = []
    for lane in artists(ax, "kmssim-version"):
        assert isinstance(lane, PolyCollection)
        faces, edges, widths = lane.get_facecolors(), lane.get_edgecolors(), lane.get_linewidths()
        for index, path in enumerate(lane.get_paths()):
            xs = path.vertices[:, 0]
            bars.append(Bar(xs.min(), xs.max() - xs.min(), tuple(faces[index % len(faces)]),
                            tuple(edges[index % len(edges)]), widths[index % len(widths)]))
    return bars


def marker_count(ax: Axes, gid: str) -> int:
    return sum(len(line.get_xdata()) for line in artists(ax, gid))


def x_of(when) -> float:
    return mdates.date2num(when)


@pytest.fixture
def rotating():
    """One aliased key with a 90-day period, a year old, one on-demand rotation."""
    kms = KMS(seed=11)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=key)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.advance(days=100)
    kms.rotate_key_on_demand(KeyId=key)
    kms.advance(days=265)
    return kms, key


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    yield
    assert plt.get_fignums() == [], "kmssim.plot must never leave a pyplot figure open"


# -- what the functions return ----------------------------------------------------
def test_timeline_returns_a_figure_that_shows_itself_as_png(rotating):
    kms, _ = rotating
    figure = plot.timeline(kms)
    assert isinstance(figure, plot.Figure)
    assert repr(figure) == "<Figure size 900x260 with 1 Axes>"
    assert figure._repr_png_().startswith(PNG_MAGIC)


def test_timeline_draws_on_the_axes_given_and_returns_it(rotating):
    kms, key = rotating
    figure = plot.new_figure(6, 3)
    ax = figure.axes[0]
    assert plot.timeline(kms, key, ax=ax) is ax
    assert version_bars(ax)


def test_the_figure_grows_with_the_number_of_lanes():
    kms = KMS(seed=1)
    keys = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(4)]
    assert plot.timeline(kms, keys[:1]).get_figheight() < plot.timeline(kms, keys).get_figheight()


# -- versions and rotations -------------------------------------------------------
def test_one_bar_per_version_from_creation_until_replaced(rotating):
    kms, key = rotating
    history = kms.history(key)
    ax = plot.timeline(kms, key).axes[0]
    bars = version_bars(ax)
    assert len(artists(ax, "kmssim-version")) == 1          # one collection for the lane
    assert len(bars) == len(history.versions) == 6
    for bar, version in zip(bars, history.versions, strict=True):
        end = version.retired or kms.now
        assert bar.x == pytest.approx(x_of(version.created))
        assert bar.x + bar.width == pytest.approx(x_of(end))


def test_versions_alternate_shades_and_only_the_current_one_is_outlined(rotating):
    kms, key = rotating
    bars = version_bars(plot.timeline(kms, key).axes[0])
    assert bars[0].facecolor != bars[1].facecolor
    assert bars[0].facecolor == bars[2].facecolor
    assert [to_rgb(b.edgecolor) for b in bars] == [to_rgb("white")] * 5 + [to_rgb("black")]
    assert bars[-1].linewidth > bars[0].linewidth


def test_bars_are_labelled_with_version_numbers(rotating):
    kms, key = rotating
    ax = plot.timeline(kms, key).axes[0]
    labels = [t.split("\n")[0].split(" ")[0] for t in plot.version_labels(ax)]
    # v2 lived 10 days (day 90 to the on-demand rotation on day 100): too narrow to label.
    assert labels == ["v1", "v3", "v4", "v5", "v6"]


def test_automatic_and_on_demand_rotations_have_their_own_markers(rotating):
    kms, key = rotating
    ax = plot.timeline(kms, key).axes[0]
    assert marker_count(ax, "kmssim-rotation-AUTOMATIC") == 4
    assert marker_count(ax, "kmssim-rotation-ON_DEMAND") == 1
    automatic, = artists(ax, "kmssim-rotation-AUTOMATIC")
    on_demand, = artists(ax, "kmssim-rotation-ON_DEMAND")
    assert automatic.get_marker() != on_demand.get_marker()
    assert automatic.get_color() != on_demand.get_color()


def test_now_is_a_vertical_line_and_the_next_rotation_a_faint_marker(rotating):
    kms, key = rotating
    ax = plot.timeline(kms, key).axes[0]
    now, = artists(ax, "kmssim-now")
    assert list(now.get_xdata()) == [pytest.approx(x_of(kms.now))] * 2
    upcoming, = artists(ax, "kmssim-next-rotation")
    assert upcoming.get_xdata()[0] == pytest.approx(x_of(kms.history(key).next_rotation))
    assert ax.get_xlim()[1] > x_of(kms.history(key).next_rotation)


def test_lanes_are_labelled_by_alias_else_by_short_key_id():
    kms = KMS(seed=2)
    named = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/orders", TargetKeyId=named)
    bare = kms.create_key()["KeyMetadata"]["KeyId"]
    ax = plot.timeline(kms).axes[0]
    names = [t.split("\n")[0] for t in plot.lane_labels(ax)]
    assert names == ["alias/orders", bare[:8]]


def test_the_date_axis_is_readable(rotating):
    kms, _ = rotating
    ax = plot.timeline(kms).axes[0]
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    assert ax.get_legend() is not None


# -- states -----------------------------------------------------------------------
def test_disabled_and_pending_deletion_periods_are_shaded_and_deletion_marked():
    kms = KMS(seed=3)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.advance(days=30)
    kms.disable_key(KeyId=key)
    disabled_at = kms.now
    kms.advance(days=20)
    kms.enable_key(KeyId=key)
    enabled_at = kms.now
    kms.advance(days=10)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    pending_at = kms.now
    kms.advance(days=30)
    ax = plot.timeline(kms).axes[0]
    disabled, = artists(ax, "kmssim-Disabled")
    assert disabled.get_x() == pytest.approx(x_of(disabled_at))
    assert disabled.get_x() + disabled.get_width() == pytest.approx(x_of(enabled_at))
    assert disabled.get_hatch()
    pending, = artists(ax, "kmssim-PendingDeletion")
    assert pending.get_x() + pending.get_width() == pytest.approx(
        x_of(pending_at + timedelta(days=7)))
    deleted, = artists(ax, "kmssim-deleted")
    assert deleted.get_xdata()[0] == pytest.approx(x_of(pending_at + timedelta(days=7)))
    label = plot.lane_labels(ax)[0]
    assert "key deleted" in label and "\ndeleted" not in label


def test_deleted_keys_keep_their_lane_by_default():
    kms = KMS(seed=4)
    kept = kms.create_key()["KeyMetadata"]["KeyId"]
    gone = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=gone, RotationPeriodInDays=90)
    kms.advance(days=100)
    kms.schedule_key_deletion(KeyId=gone, PendingWindowInDays=7)
    kms.advance(days=10)
    ax = plot.timeline(kms).axes[0]
    assert len(plot.lane_labels(ax)) == 2
    assert len(version_bars(ax)) == 1 + 2
    assert len(artists(ax, "kmssim-version")) == 2          # a collection per lane
    # The deleted key's last version is not outlined: nothing is current any more.
    assert to_rgb(version_bars(ax)[-1].edgecolor) == to_rgb("white")
    assert len(artists(ax, "kmssim-deleted")) == 1
    assert artists(ax, "kmssim-next-rotation") == []  # a deleted key rotates no more
    assert len(plot.lane_labels(plot.timeline(kms, kept).axes[0])) == 1


def test_an_ongoing_disabled_period_is_shaded_to_the_right_edge():
    kms = KMS(seed=5)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.advance(days=40)
    kms.disable_key(KeyId=key)
    ax = plot.timeline(kms).axes[0]
    shade, = artists(ax, "kmssim-Disabled")
    assert shade.get_width() > 0
    assert shade.get_x() + shade.get_width() >= ax.get_xlim()[1] - 1e-6


# -- ciphertexts ------------------------------------------------------------------
def test_ciphertexts_from_the_trail_sit_under_the_version_that_wrapped_them():
    kms = KMS(seed=6)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"a")["CiphertextBlob"]
    kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    kms.advance(days=3)
    kms.rotate_key_on_demand(KeyId=key)
    kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256")
    kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other)   # counts for `other`
    kms.decrypt(CiphertextBlob=blob)                               # makes nothing
    kms.disable_key(KeyId=key)
    with pytest.raises(DisabledException):
        kms.encrypt(KeyId=key, Plaintext=b"refused")               # failed calls make nothing
    ax = plot.timeline(kms).axes[0]
    assert marker_count(ax, "kmssim-ciphertexts") == 4
    labels = plot.version_labels(ax)
    assert any(label.startswith("v1\n2") for label in labels)
    names = plot.lane_labels(ax)
    assert "3 ciphertexts" in names[0] and "1 ciphertext" in names[1]


def test_a_hundred_thousand_ciphertexts_are_aggregated_per_version():
    kms = KMS(seed=7)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    for _ in range(365):
        for _ in range(274):
            kms.encrypt(KeyId=key, Plaintext=b"r")
        kms.advance(days=10)
    versions = len(kms.history(key).versions)
    ax = plot.timeline(kms).axes[0]
    assert artists(ax, "kmssim-ciphertexts") == []   # no 100,000 markers
    counts, = artists(ax, "kmssim-ciphertext-counts")
    assert isinstance(counts, PolyCollection)
    assert versions - 1 <= len(counts.get_paths()) <= versions
    # What gets drawn stays small whatever the number of ciphertexts.
    assert len(ax.get_children()) < 5 * versions + 50
    assert "100,010 ciphertexts" in plot.lane_labels(ax)[0]


def test_the_aggregation_threshold_is_per_lane_and_adjustable(rotating):
    kms, key = rotating
    for _ in range(30):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert artists(plot.timeline(kms).axes[0], "kmssim-ciphertexts")
    ax = plot.timeline(kms, aggregate_above=10).axes[0]
    assert artists(ax, "kmssim-ciphertext-counts")
    assert not artists(ax, "kmssim-ciphertexts")
    assert not artists(plot.timeline(kms, show_ciphertexts=False).axes[0],
                       "kmssim-ciphertext-counts")


def test_explicit_records_are_counted_on_their_versions(rotating):
    kms, key = rotating
    records = [seal(kms, key, b"one"), kms.encrypt(KeyId=key, Plaintext=b"two")]
    kms.rotate_key_on_demand(KeyId=key)
    records.append(kms.encrypt(KeyId=key, Plaintext=b"three")["CiphertextBlob"])
    ax = plot.timeline(kms, key, records=records).axes[0]
    counts, = artists(ax, "kmssim-ciphertext-counts")
    assert len(counts.get_paths()) == 2
    assert "3 records" in plot.lane_labels(ax)[0]


# -- exposure and blast radius --------------------------------------------------------
@pytest.fixture
def archive():
    """Three records under v1, one under v2 (of alias/app), two under another key."""
    kms = KMS(seed=8)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=key)
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    records = [seal(kms, key, b"x" * 100) for _ in range(3)]
    kms.rotate_key_on_demand(KeyId=key)
    records.append(kms.encrypt(KeyId=key, Plaintext=b"y" * 10))              # a response dict
    records += [kms.encrypt(KeyId=other, Plaintext=b"z")["CiphertextBlob"] for _ in range(2)]
    return kms, key, other, records


def test_exposure_counts_records_and_bytes_per_version(archive):
    kms, key, other, records = archive
    table = plot.exposure(kms, records)
    assert [(r.key_label, r.version, r.count, r.current) for r in table.rows] == [
        ("alias/app", 1, 3, False), ("alias/app", 2, 1, True), (other[:8], 1, 2, True)]
    assert table.row("alias/app", 1).size == sum(r.size for r in records[:3])
    assert table.row(key, 2).size == len(records[3]["CiphertextBlob"])
    assert table.total_count == 6
    assert table.row(other).version == 1
    text = str(table)
    assert "alias/app" in text and text.splitlines()[-1].startswith("total")
    # Each key is named the same way in every row (id, then alias), and each key's
    # current version says it is that key's current material.
    lines = text.splitlines()
    assert lines[1].startswith(f"{key[:8]} alias/app") and lines[2].startswith(f"{key[:8]} alias/app")
    assert lines[3].startswith(other[:8]) and lines[3].endswith("(current material)")
    assert not lines[1].endswith(")")


def test_exposure_refuses_what_is_not_a_ciphertext_of_this_simulator(archive):
    kms, *_ = archive
    with pytest.raises(InvalidCiphertextException):
        plot.exposure(kms, [b"\x01" + bytes(100)])
    with pytest.raises(ValidationException):
        plot.exposure(kms, [42])


def test_blast_radius_highlights_the_chosen_version(archive):
    kms, key, _, records = archive
    ax = plot.blast_radius(kms, records, version=("alias/app", 1)).axes[0]
    assert ax.get_title(loc="left").startswith("If v1 of alias/app leaked: 3 of 6 records (50.0%)")
    bars = artists(ax, "kmssim-blast-radius")
    assert [bar.get_width() for bar in bars] == [3, 1, 2]
    assert len({bar.get_facecolor() for bar in bars}) == 2


def test_blast_radius_defaults_to_the_version_that_protects_most(archive):
    kms, *_, records = archive
    ax = plot.blast_radius(kms, records).axes[0]
    assert ax.get_title(loc="left").startswith("If v1 of alias/app leaked")


def test_blast_radius_of_a_data_key_is_one_record(archive):
    kms, key, _, records = archive
    ax = plot.blast_radius(kms, records, version=records[0]).axes[0]
    assert ax.get_title(loc="left").startswith("If this record's data key leaked: 1 of 6 records")
    assert [bar.get_width() for bar in artists(ax, "kmssim-blast-radius")][0] == 1


def test_blast_radius_accepts_a_material_id_and_rejects_unknown_versions(archive):
    kms, key, _, records = archive
    material = kms.history(key).versions[1].material_id
    ax = plot.blast_radius(kms, records, version=material).axes[0]
    assert "v2 of alias/app" in ax.get_title(loc="left")
    with pytest.raises(ValidationException):
        plot.blast_radius(kms, records, version=("alias/app", 9))
    with pytest.raises(ValidationException):
        plot.blast_radius(kms, records, version=1)   # two keys: which one?


def test_blast_radius_folds_many_versions_into_one_bar_per_key():
    kms = KMS(seed=9)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    records = []
    for _ in range(30):
        records.append(kms.encrypt(KeyId=key, Plaintext=b"r")["CiphertextBlob"])
        kms.rotate_key_on_demand(KeyId=key) if len(records) < 25 else kms.advance(days=1)
    ax = plot.blast_radius(kms, records, version=3).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["v3", "24 other versions"]


# -- layering -------------------------------------------------------------------------
def test_the_core_imports_no_plotting_or_widget_library():
    code = ("import sys, pkgutil, importlib, kmssim\n"
            "for m in pkgutil.iter_modules(kmssim.__path__):\n"
            "    if m.name not in ('plot', 'widgets', 'services', 'bridge', '__main__'):\n"
            "        importlib.import_module('kmssim.' + m.name)\n"
            "bad = [n for n in ('matplotlib', 'ipywidgets') if n in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "MPLBACKEND": "Agg"})


def test_a_deleted_keys_lane_says_its_ciphertexts_are_unreadable():
    kms = KMS(seed=8)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(3):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.advance(days=8)
    label = plot.lane_labels(plot.timeline(kms, key).axes[0])[0]
    assert label.splitlines()[-2:] == ["3 ciphertexts unreadable", "key deleted"]


# -- seen in the browser: stacked rotations, a record at "now", shared scales, the legend ----

def _kms_with_a_year_of_records():
    from datetime import UTC, datetime
    kms = KMS(seed=5, start=datetime(2025, 1, 6, 9, tzinfo=UTC))
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key)
    records = []
    for month in range(12):
        records.append(seal(kms, key, f"record {month}".encode(), {"n": str(month)}))
        kms.advance(days=30)
    return kms, key, records


def test_rotations_at_one_instant_say_how_many_they_are():
    kms, key, records = _kms_with_a_year_of_records()
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key)
    ax = plot.timeline(kms, key, records=records).axes[0]
    stacks = [t.get_text() for t in ax.texts if t.get_gid() == "kmssim-rotation-stack-ON_DEMAND"]
    assert stacks == ["×25"]


def test_a_record_written_now_shows_in_the_records_strip():
    kms, key, records = _kms_with_a_year_of_records()
    kms.rotate_key_on_demand(KeyId=key)
    records.append(seal(kms, key, b"just now", {"n": "now"}))   # v_new has no width yet
    ax = plot.timeline(kms, key, records=records).axes[0]
    strips = artists(ax, "kmssim-ciphertext-counts")[0].get_paths()
    newest = strips[-1].vertices
    width = newest[:, 0].max() - newest[:, 0].min()
    assert width > 0 and newest[:, 0].min() == pytest.approx(mdates.date2num(kms.now))


def test_blast_radius_charts_of_the_same_records_share_their_scale():
    kms, key, records = _kms_with_a_year_of_records()
    before = plot.blast_radius(kms, records, version=1).axes[0].get_xlim()
    kms.rotate_key_on_demand(KeyId=key)
    moved = records[:6] + [seal(kms, key, b"again", {"n": str(i)})
                           for i in range(6)]    # half of them sealed again, under version 2
    after = plot.blast_radius(kms, moved, version=2).axes[0].get_xlim()
    assert before == after                               # 12 records both times: one scale


def test_the_version_swatch_shows_both_shades_the_bars_use():
    kms, key, records = _kms_with_a_year_of_records()
    legend = plot.timeline(kms, key).axes[0].get_legend()
    assert legend.get_texts()[0].get_text().startswith("key material version")
    handles = plot._legend_handles({"version"}, from_records=False)
    assert isinstance(handles[0], tuple)
    assert [h.get_facecolor()[:3] for h in handles[0]] == [
        pytest.approx(to_rgb(plot.BLUE)), pytest.approx(plot.tint(plot.BLUE))]
