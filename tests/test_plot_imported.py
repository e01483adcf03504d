"""The timeline's imported key material (Origin EXTERNAL), multi-Region lanes, and its
fleet layout (50 keys).

Checked through the artists the figure holds (found by ``gid``), never by pixels.
"""

from __future__ import annotations

from datetime import timedelta

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from kmssim import KMS  # noqa: E402
from kmssim.core import Cloud  # noqa: E402
from kmssim.core.envelope import wrap_key_material  # noqa: E402
from kmssim.lessons import plot  # noqa: E402

MATERIAL_1, MATERIAL_2, MATERIAL_3 = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))


def artists(ax: Axes, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def xs(ax: Axes, gid: str) -> list[float]:
    return [x for line in artists(ax, gid) for x in line.get_xdata()]


def x_of(when) -> float:
    return mdates.date2num(when)


def bar_spans(ax: Axes) -> list[list[tuple[float, float]]]:
    """Each lane's version bars as (start, end), top lane first."""
    return [[(p.vertices[:, 0].min(), p.vertices[:, 0].max()) for p in lane.get_paths()]
            for lane in artists(ax, "kmssim-version")]


def give(kms: KMS, key: str, material: bytes, **options) -> str:
    """Import ``material`` into ``key`` as a learner would (wrapped with the public key)."""
    wrapping = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                             WrappingKeySpec="RSA_2048")
    return kms.import_key_material(
        KeyId=key, ImportToken=wrapping["ImportToken"],
        EncryptedKeyMaterial=wrap_key_material(wrapping["PublicKey"], material),
        **options)["KeyMaterialId"]


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    yield
    assert plt.get_fignums() == [], "kmssim.plot must never leave a pyplot figure open"


@pytest.fixture
def byok():
    """An EXTERNAL key: imported on day 10 (expiring day 130), new material on day 70
    rotated in on day 90, the first expires on day 130 and comes back on day 150, a third
    material waits from day 180, and the second is deleted on day 190. Now is day 205."""
    kms = KMS(seed=5)
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/byok", TargetKeyId=key)
    start = kms.now
    kms.advance(days=10)
    give(kms, key, MATERIAL_1, ValidTo=kms.now + timedelta(days=120))
    kms.advance(days=60)
    second = give(kms, key, MATERIAL_2, ImportType="NEW_KEY_MATERIAL",
                  ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.advance(days=20)
    kms.rotate_key_on_demand(KeyId=key)
    kms.advance(days=60)
    give(kms, key, MATERIAL_1, ImportType="EXISTING_KEY_MATERIAL",
         ValidTo=kms.now + timedelta(days=200))
    kms.advance(days=30)
    give(kms, key, MATERIAL_3, ImportType="NEW_KEY_MATERIAL",
         ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.advance(days=10)
    kms.delete_imported_key_material(KeyId=key, KeyMaterialId=second)
    kms.advance(days=15)
    return kms, key, start


# -- imported key material ---------------------------------------------------------
def test_an_external_key_before_its_first_import_is_a_shaded_gap():
    kms = KMS(seed=1)
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    kms.advance(days=30)
    ax = plot.timeline(kms, key).axes[0]
    assert bar_spans(ax) == [[]]                      # no material, no version bar
    gap, = artists(ax, "kmssim-PendingImport")
    assert gap.get_x() == pytest.approx(x_of(kms.history(key).created))
    assert gap.get_x() + gap.get_width() >= ax.get_xlim()[1] - 1e-6   # still waiting
    assert "pending import" in plot.lane_labels(ax)[0]


def test_each_import_expiry_and_deletion_has_its_mark(byok):
    kms, key, start = byok
    ax = plot.timeline(kms, key).axes[0]
    day = [x_of(start + timedelta(days=d)) for d in range(400)]
    assert xs(ax, "kmssim-imported") == pytest.approx([day[10], day[70], day[150], day[180]])
    assert xs(ax, "kmssim-expired") == pytest.approx([day[130]])
    assert xs(ax, "kmssim-material-deleted") == pytest.approx([day[190]])
    # The first material, imported again on day 150, now expires 200 days later.
    assert xs(ax, "kmssim-expires") == pytest.approx([day[350]])
    assert ax.get_xlim()[1] > day[350]


def test_the_times_without_usable_material_are_shaded(byok):
    kms, key, start = byok
    ax = plot.timeline(kms, key).axes[0]
    gaps = sorted((g.get_x(), g.get_x() + g.get_width())
                  for g in artists(ax, "kmssim-PendingImport"))
    day = [x_of(start + timedelta(days=d)) for d in range(400)]
    # Before the first import; from the expiry to the re-import; since the deletion.
    assert [a for a, _ in gaps] == pytest.approx([day[0], day[130], day[190]])
    assert [b for _, b in gaps][:2] == pytest.approx([day[10], day[150]])
    assert gaps[2][1] >= ax.get_xlim()[1] - 1e-6
    assert plot.lane_labels(ax)[0].splitlines()[-1] == "pending import: unusable"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "pending import: no usable key material" in legend
    assert "key material imported" in legend


def test_new_material_waits_in_a_dashed_box_until_it_is_rotated_in(byok):
    kms, key, start = byok
    ax = plot.timeline(kms, key).axes[0]
    box, = artists(ax, "kmssim-pending-material")
    assert isinstance(box, PolyCollection)
    path, = box.get_paths()
    assert path.vertices[:, 0].min() == pytest.approx(x_of(start + timedelta(days=180)))
    assert path.vertices[:, 0].max() == pytest.approx(x_of(kms.now))
    assert "new material, pending rotation" in plot.version_labels(ax)
    assert len(bar_spans(ax)[0]) == 2                 # not a version yet


def test_rotating_the_pending_material_in_makes_it_a_version():
    kms = KMS(seed=6)
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    give(kms, key, MATERIAL_1, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.advance(days=40)
    give(kms, key, MATERIAL_2, ImportType="NEW_KEY_MATERIAL",
         ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert artists(plot.timeline(kms, key).axes[0], "kmssim-pending-material")
    kms.advance(days=5)
    kms.rotate_key_on_demand(KeyId=key)
    kms.advance(days=5)
    ax = plot.timeline(kms, key).axes[0]
    assert not artists(ax, "kmssim-pending-material")
    assert len(bar_spans(ax)[0]) == 2
    assert xs(ax, "kmssim-rotation-ON_DEMAND") == pytest.approx([x_of(kms.now
                                                                      - timedelta(days=5))])
    assert not artists(ax, "kmssim-expires")          # KEY_MATERIAL_DOES_NOT_EXPIRE
    assert not artists(ax, "kmssim-PendingImport")    # imported at once: never unusable


def test_a_key_made_by_kms_has_none_of_these_marks():
    kms = KMS(seed=7)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.advance(days=200)
    ax = plot.timeline(kms, key).axes[0]
    for gid in ("kmssim-imported", "kmssim-expired", "kmssim-expires",
                "kmssim-material-deleted", "kmssim-pending-material", "kmssim-PendingImport",
                "kmssim-primary-moved"):
        assert not artists(ax, gid), gid


def test_drawing_reads_the_trail_and_calls_nothing(byok):
    kms, key, _ = byok
    before = len(kms.trail)
    plot.to_png(plot.timeline(kms, key))
    assert len(kms.trail) == before        # no ListKeyRotations or DescribeKey behind it


# -- multi-Region keys ------------------------------------------------------------
@pytest.fixture
def regions():
    """A multi-Region key made in us-east-1 with 90-day rotation, replicated to us-west-2
    on day 30 and eu-west-1 on day 130; the primary moves to us-west-2 on day 180."""
    cloud = Cloud(seed=7)
    east, west = cloud.region("us-east-1"), cloud.region("us-west-2")
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    cloud.advance(days=30)
    east.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    cloud.advance(days=100)
    east.replicate_key(KeyId=key, ReplicaRegion="eu-west-1")
    cloud.advance(days=50)
    return cloud, east, west, key


def test_each_region_of_a_multi_region_key_has_its_own_lane(regions):
    cloud, east, _, key = regions
    ax = plot.timeline(east, key, cloud=cloud).axes[0]
    labels = [label.splitlines()[:2] for label in plot.lane_labels(ax)]
    assert labels == [[key[:8], "us-east-1 primary"], [key[:8], "us-west-2 replica"],
                      [key[:8], "eu-west-1 replica"]]
    spans = bar_spans(ax)
    assert len(spans) == 3
    start = x_of(east.history(key).created)
    # Every Region holds the same versions; a replica's lane begins when it was made.
    assert spans[0][0][0] == pytest.approx(start)
    assert spans[1][0][0] == pytest.approx(start + 30)
    assert spans[2][0][0] == pytest.approx(start + 130)
    assert [end for _, end in spans[0]] == [end for _, end in spans[1]]
    # The Regions of one key share its colour.
    faces = {tuple(face) for lane in artists(ax, "kmssim-version")
             for face in lane.get_facecolors()}
    assert len(faces) == 2                            # the key's two alternating shades
    assert ax.get_title(loc="left").endswith("in 3 Regions")


def test_update_primary_region_is_marked_and_the_new_primary_comes_first(regions):
    cloud, east, west, key = regions
    east.update_primary_region(KeyId=key, PrimaryRegion="us-west-2")
    moved = cloud.now
    cloud.advance(days=20)
    west.rotate_key_on_demand(KeyId=key)
    ax = plot.timeline(east, key, cloud=cloud).axes[0]
    roles = [label.splitlines()[1] for label in plot.lane_labels(ax)]
    assert roles == ["us-west-2 primary", "us-east-1 replica", "eu-west-1 replica"]
    # A star on the old and the new primary's lanes, at the move.
    stars, = artists(ax, "kmssim-primary-moved")
    assert list(stars.get_xdata()) == pytest.approx([x_of(moved)] * 2)
    assert len({round(y, 6) for y in stars.get_ydata()}) == 2
    # The on-demand rotation made in us-west-2 reached every Region's lane.
    assert len(xs(ax, "kmssim-rotation-ON_DEMAND")) == 3


def test_without_the_cloud_a_multi_region_lane_names_its_region_only(regions):
    _, _, west, key = regions
    ax = plot.timeline(west, key).axes[0]
    assert plot.lane_labels(ax)[0].splitlines()[1] == "us-west-2 multi-Region"
    assert len(artists(ax, "kmssim-version")) == 1


def test_a_single_region_key_gets_no_region_line(regions):
    cloud, east, _, _ = regions
    plain = east.create_key()["KeyMetadata"]["KeyId"]
    ax = plot.timeline(east, plain, cloud=cloud).axes[0]
    assert plot.lane_labels(ax)[0].splitlines() == [plain[:8], "1 version"]


# -- a fleet of keys ----------------------------------------------------------------
@pytest.fixture(scope="module")
def fleet():
    kms = KMS(seed=41)
    for index in range(50):
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        if index % 3 == 0:
            kms.create_alias(AliasName=f"alias/app-{index:02d}", TargetKeyId=key)
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
        kms.encrypt(KeyId=key, Plaintext=b"x")
    kms.advance(days=3652)
    return kms


def test_a_fleet_of_fifty_keys_is_one_readable_picture(fleet):
    figure = plot.timeline(fleet)
    ax = figure.axes[0]
    assert len(artists(ax, "kmssim-version")) == 50            # one collection per lane
    labels = plot.lane_labels(ax)
    assert len(labels) == 50
    # Lanes are close, so each label keeps to two lines: name, then versions and count.
    assert labels[0].splitlines() == ["alias/app-00", "41 versions, 1 ciphertext"]
    # Lanes after the fourth are narrower: not a 4,375-pixel-tall PNG.
    assert figure.get_figheight() == pytest.approx(plot.timeline_size(50)[1])
    assert 15 < figure.get_figheight() < 25
    # 90-day bars cannot hold "v41": no lane is labelled v1 to v9 and then nothing.
    assert [t for t in plot.version_labels(ax) if not t.startswith("v41")] == []
    # All 50 lane labels and 2,050 bars, yet few artists.
    assert len(ax.get_children()) < 120


def test_the_layout_leaves_room_for_the_lane_labels_and_the_legend(fleet):
    figure = plot.timeline(fleet, fleet.key_ids()[:3])
    figure.canvas.draw()
    ax = figure.axes[0]
    lanes, = artists(ax, "kmssim-lane-label")
    box = lanes.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= ax.get_window_extent().x0      # left of the plot
    legend = ax.get_legend().get_window_extent()
    width = figure.get_figwidth() * figure.dpi
    assert legend.x0 >= 0 and legend.x1 <= width
    assert legend.y0 >= 0 and legend.y1 <= ax.get_window_extent().y0


def test_lane_labels_take_part_in_a_constrained_layout(fleet):
    figure = plot.new_figure(6, 3)
    ax = figure.axes[0]
    plot.timeline(fleet, fleet.key_ids()[:2], ax=ax)
    figure.canvas.draw()
    lanes, = artists(ax, "kmssim-lane-label")
    assert lanes.get_window_extent().x0 >= 0          # not cut at the figure's left edge


def test_a_deletion_label_at_the_right_edge_stays_inside_the_figure():
    kms = KMS(seed=3)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.advance(days=30)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.advance(days=7)                      # deleted just now, at the plot's right end
    figure = plot.timeline(kms)
    figure.canvas.draw()
    label, = [t for t in figure.axes[0].texts if t.get_text().startswith("deleted ")]
    assert label.get_window_extent().x1 <= figure.get_figwidth() * figure.dpi


def test_new_material_of_a_multi_region_key_waits_for_every_region():
    cloud = Cloud(seed=8)
    east, west = cloud.region("us-east-1"), cloud.region("us-west-2")
    key = east.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    give(east, key, MATERIAL_1, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    east.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    cloud.advance(days=10)
    give(west, key, MATERIAL_1, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    cloud.advance(days=10)
    give(east, key, MATERIAL_2, ImportType="NEW_KEY_MATERIAL",
         ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    cloud.advance(days=5)
    ax = plot.timeline(east, key, cloud=cloud).axes[0]
    # Only the primary has the new material: it waits until the replica has it too
    # (PENDING_MULTI_REGION_IMPORT_AND_ROTATION, kms-facts.md 2.6).
    box, = artists(ax, "kmssim-pending-material")
    assert len(box.get_paths()) == 1
    assert "new material, pending import into every Region" in plot.version_labels(ax)
    # The replica waited 10 days for its first import: a gap on its lane only.
    gaps = [g.get_x() for g in artists(ax, "kmssim-PendingImport")]
    assert gaps == pytest.approx([x_of(east.history(key).created)])
    assert xs(ax, "kmssim-imported") == pytest.approx(
        [x_of(east.history(key).created), x_of(east.history(key).created + timedelta(days=20)),
         x_of(east.history(key).created + timedelta(days=10))])
    # Imported into the replica too, it is PENDING_ROTATION in both Regions; after
    # RotateKeyOnDemand on the primary it is v2 everywhere.
    give(west, key, MATERIAL_2, ImportType="EXISTING_KEY_MATERIAL",
         ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    ax = plot.timeline(east, key, cloud=cloud).axes[0]
    assert plot.version_labels(ax).count("new material, pending rotation") == 2
    east.rotate_key_on_demand(KeyId=key)
    cloud.advance(days=5)
    ax = plot.timeline(east, key, cloud=cloud).axes[0]
    assert not artists(ax, "kmssim-pending-material")
    assert [len(lane) for lane in bar_spans(ax)] == [2, 2]


def test_records_are_counted_on_every_region_of_their_multi_region_key(regions):
    cloud, east, west, key = regions
    plain = east.create_key()["KeyMetadata"]["KeyId"]
    records = [east.encrypt(KeyId=key, Plaintext=b"order")["CiphertextBlob"],
               east.encrypt(KeyId=plain, Plaintext=b"note")["CiphertextBlob"]]
    ax = plot.timeline(east, [key, plain], records=records, cloud=cloud).axes[0]
    labels = [label.splitlines() for label in plot.lane_labels(ax)]
    # The records' material is shared: a leak in any Region exposes the same record.
    assert [lines[-1] for lines in labels] == ["1 record"] * 4
    # Seen from a replica's Region, the primary's lane still comes first.
    ax = plot.timeline(west, key, records=records[:1], cloud=cloud).axes[0]
    labels = [label.splitlines() for label in plot.lane_labels(ax)]
    assert [lines[1] for lines in labels] == ["us-east-1 primary", "us-west-2 replica",
                                              "eu-west-1 replica"]
    assert [lines[-1] for lines in labels] == ["1 record"] * 3
