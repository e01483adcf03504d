"""The two-clock picture: a secret's versions under the versions of its KMS key.

Checked through the artists (found by ``gid``), never by pixels.
"""

from __future__ import annotations

from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from kmssim import KMS  # noqa: E402
from kmssim.lessons import plot
from kmssim.lessons.plot_services import secret_timeline  # noqa: E402
from kmssim.services import Database, RotationFunction, SecretsManager  # noqa: E402

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def artists(ax, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def markers(ax, gid: str) -> list[float]:
    return [x for line in artists(ax, gid) for x in line.get_xdata()]


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    yield
    assert plt.get_fignums() == [], "plots must never leave a pyplot figure open"


@pytest.fixture
def two_clocks():
    """A secret rotated every 30 days for ~14 months under a yearly key; one failure."""
    kms = KMS(seed=52, start=START)
    sm = SecretsManager(kms)
    db = Database("orders", users={"app": "first-password"})
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/secrets", TargetKeyId=key)
    kms.enable_key_rotation(KeyId=key)
    sm.create_secret(Name="orders/app", KmsKeyId="alias/secrets",
                     SecretString=db.secret_string("app", "first-password"))
    function = RotationFunction(sm, db)
    sm.rotate_secret(SecretId="orders/app", RotationLambdaARN=function,
                     RotationRules={"AutomaticallyAfterDays": 30})
    kms.advance(days=200)
    function.fail_next("setSecret")
    kms.advance(days=220)
    return kms, sm, function


def test_it_returns_a_figure_that_shows_itself_as_png(two_clocks):
    kms, sm, _ = two_clocks
    figure = secret_timeline(kms, sm, "orders/app")
    assert isinstance(figure, plot.Figure)
    assert repr(figure) == "<Figure size 900x400 with 1 Axes>"
    assert figure._repr_png_().startswith(PNG_MAGIC)


def test_the_key_lane_comes_from_the_version_timeline(two_clocks):
    kms, sm, _ = two_clocks
    ax = secret_timeline(kms, sm, "orders/app").axes[0]
    key_lane, = artists(ax, "kmssim-version")            # one collection for the key lane
    assert len(key_lane.get_paths()) == 2                # one bar per key version
    assert len(markers(ax, "kmssim-rotation-AUTOMATIC")) == 1
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("alias/secrets\n2 versions")
    versions = len(sm.versions("orders/app"))
    assert labels[1].splitlines() == ["secret orders/app", f"{versions} versions",
                                      "1 failed rotation"]


def test_one_bar_per_version_while_it_was_current_coloured_by_its_key_version(two_clocks):
    kms, sm, _ = two_clocks
    ax = secret_timeline(kms, sm, "orders/app").axes[0]
    bars = artists(ax, "kmssim-secret-version")
    versions = sm.versions("orders/app")
    assert len(bars) == len(versions)
    key_lane, = artists(ax, "kmssim-version")
    faces = key_lane.get_facecolors()
    by_version = {1: tuple(faces[0]), 2: tuple(faces[1])}
    for bar, row in zip(bars, versions, strict=True):
        assert to_rgb(bar.get_facecolor()) == to_rgb(by_version[row["key version"]])
    # Bars follow each other without gaps, and the last one reaches now.
    ends = [(b.get_x(), b.get_x() + b.get_width()) for b in bars]
    gaps = [start - stop for (_, stop), (start, _) in zip(ends, ends[1:], strict=False)]
    assert all(abs(gap) < 1e-6 for gap in gaps)
    assert ends[-1][1] == pytest.approx(mdates.date2num(kms.now))


def test_rotations_failures_and_key_rotations_are_marked(two_clocks):
    kms, sm, _ = two_clocks
    ax = secret_timeline(kms, sm, "orders/app").axes[0]
    attempts = sm.rotation_attempts
    assert len(markers(ax, "kmssim-secret-rotation")) == sum(a.succeeded for a in attempts)
    failed = [a for a in attempts if not a.succeeded]
    assert markers(ax, "kmssim-secret-rotation-failed") == [
        pytest.approx(mdates.date2num(a.started)) for a in failed]
    assert [t.get_text() for t in artists(ax, "kmssim-secret-failed-step")] == ["setSecret"]
    guides = artists(ax, "kmssim-key-rotation-guide")
    assert len(guides) == 1 and len(guides[0].get_segments()) == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "secret rotated" in legend and "secret rotation failed" in legend
    assert "automatic rotation" in legend and "key rotation" in legend


def test_an_unfinished_rotation_is_hatched_until_now(two_clocks):
    kms, sm, function = two_clocks
    function.fail_next("testSecret", times=4)         # the first try and the three retries
    kms.advance(days=31)
    ax = secret_timeline(kms, sm, "orders/app").axes[0]
    pending = artists(ax, "kmssim-secret-pending")
    assert len(pending) == 1 and pending[0].get_hatch() == "///"
    right = pending[0].get_x() + pending[0].get_width()
    assert right == pytest.approx(mdates.date2num(kms.now))
    assert "secret rotation unfinished (AWSPENDING)" in [
        t.get_text() for t in ax.get_legend().get_texts()]


def test_a_secret_without_rotation_is_one_bar_under_aws_secretsmanager():
    kms = KMS(seed=53, start=START)
    sm = SecretsManager(kms)
    sm.create_secret(Name="api-key", SecretString="v1")
    kms.advance(days=400)
    ax = secret_timeline(kms, sm, "api-key").axes[0]
    assert len(artists(ax, "kmssim-secret-version")) == 1
    assert not artists(ax, "kmssim-secret-rotation")
    assert ax.get_yticklabels()[0].get_text().startswith("alias/aws/secretsmanager")
