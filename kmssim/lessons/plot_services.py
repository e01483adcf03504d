"""Pictures of services on the KMS clock: a secret's rotations under its KMS key's rotations.

>>> from kmssim.lessons.plot_services import secret_timeline
>>> secret_timeline(kms, sm, "orders/app")          # doctest: +SKIP
<Figure size 900x400 with 1 Axes>

`secret_timeline` draws two lanes on one time axis. The top lane is the KMS key, as
`kmssim.plot.timeline` draws it (a bar per key-material version, a tick per data key
it wrapped). The bottom lane is the secret: a bar for each version while it was
AWSCURRENT, coloured like the key-material version that encrypts it, so you can see
which secret versions each key version protects. Triangles mark secret rotations,
red crosses failed ones (AWSCURRENT stayed where it was), and dotted lines carry each
key rotation down to the secret. Artists carry a ``gid`` (``"kmssim-secret-version"``,
``"kmssim-secret-rotation"``, ``"kmssim-secret-rotation-failed"``,
``"kmssim-secret-pending"``, ``"kmssim-key-rotation-guide"``) for tests to find them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kmssim.analysis.exposure import key_label
from kmssim.services.observe import secret_periods

if TYPE_CHECKING:
    from kmssim.core import KMS
    from kmssim.lessons.plot import Figure
    from kmssim.services.secretsmanager import SecretsManager

__all__ = ["secret_timeline"]

_SECRET_LANE = -1.0
# Marker, colour (plot.BLACK, plot.VERMILLION) and legend label of secret rotations.
_ROTATED = ("^", "#000000", "secret rotated")
_FAILED = ("X", "#D55E00", "secret rotation failed")


def secret_timeline(kms: KMS, secrets: SecretsManager, secret_id: str, *,
                    title: str | None = None) -> Figure:
    """Draw a secret's versions under the versions of the KMS key that encrypts it.

    The key is the one encrypting the secret's newest version (its ``KmsKeyId``,
    else ``aws/secretsmanager``). Returns a `kmssim.plot.Figure` (a PNG in Jupyter).
    """
    # matplotlib is imported when a picture is drawn, so importing kmssim never loads it.
    # kmssim.lessons.plot comes first: without matplotlib, it names the extra to install.
    from kmssim.lessons.plot import (
        BAR_HIGH,
        BAR_LOW,
        GREY,
        LANE_COLOURS,
        VERMILLION,
        date_number,
        new_figure,
        timeline,
        tint,
    )
    from matplotlib.patches import Rectangle

    periods = secret_periods(secrets, secret_id)
    name = secrets.describe_secret(SecretId=secret_id)["Name"]
    key_id = _key_of(secrets, secret_id, periods)
    history = kms.history(key_id)
    figure = new_figure(9.0, 4.0)
    ax = figure.axes[0]
    timeline(kms, key_id, ax=ax, title=title or
             f"Secret {name} and its KMS key {key_label(history)}: two clocks")
    fills = {v.number: (LANE_COLOURS[0] if v.number % 2 else tint(LANE_COLOURS[0]))
             for v in history.versions}
    attempts = [a for a in secrets.rotation_attempts if a.secret == name]
    now = date_number(kms.now)
    low, high = _SECRET_LANE + BAR_LOW, _SECRET_LANE + BAR_HIGH
    current = [r for r in periods if r["current from"] is not None]
    for row in current:
        start = date_number(row["current from"])
        stop = date_number(row["current until"]) if row["current until"] else now
        same_key = row["kms key"] == history.key_id
        ax.add_patch(Rectangle((start, low), stop - start, high - low,
                               facecolor=fills.get(row["key version"], GREY) if same_key
                               else GREY, edgecolor="white", linewidth=0.8,
                               gid="kmssim-secret-version", zorder=2))
    for row in periods:
        if row["current from"] is None and "AWSPENDING" in row["stages"]:
            start = date_number(row["created"])
            ax.add_patch(Rectangle((start, low), max(now - start, 0.0), high - low,
                                   facecolor="none", edgecolor=VERMILLION, hatch="///",
                                   linewidth=0.8, gid="kmssim-secret-pending", zorder=2))
    rotated = [date_number(a.started) for a in attempts if a.succeeded]
    failed = [a for a in attempts if not a.succeeded]
    if rotated:
        ax.plot(rotated, [high] * len(rotated), linestyle="none", marker=_ROTATED[0],
                color=_ROTATED[1], markersize=5, markeredgecolor="white",
                markeredgewidth=0.6, gid="kmssim-secret-rotation", zorder=5)
    if failed:
        ax.plot([date_number(a.started) for a in failed], [high] * len(failed), linestyle="none",
                marker=_FAILED[0], color=_FAILED[1], markersize=9, markeredgecolor="white",
                markeredgewidth=0.8, gid="kmssim-secret-rotation-failed", zorder=6)
        for number, attempt in enumerate(failed):
            # Staggered, so that failures a month apart keep readable labels.
            ax.annotate(str(attempt.failed_step), (date_number(attempt.started), low),
                        xytext=(0, -3 - 9 * (number % 2)), textcoords="offset points",
                        ha="center", va="top", fontsize=7, color=VERMILLION,
                        gid="kmssim-secret-failed-step", zorder=6)
    guides = [date_number(v.created) for v in history.versions[1:]]
    if guides:
        ax.vlines(guides, high, BAR_HIGH, colors=GREY, linestyles=(0, (1, 2)),
                  linewidth=0.9, gid="kmssim-key-rotation-guide", zorder=1)
    _relabel(ax, name, len(current), len(failed), bool(failed), any(
        r["current from"] is None and "AWSPENDING" in r["stages"] for r in periods))
    return figure


def _key_of(secrets: SecretsManager, secret_id: str, periods: Any) -> str:
    """The key encrypting the newest version that has one (else the secret's setting)."""
    for row in reversed(periods.rows):
        if row["kms key"] != "(empty)":
            return str(row["kms key"])
    return secrets.describe_secret(SecretId=secret_id).get("KmsKeyId",
                                                           "alias/aws/secretsmanager")


def _relabel(ax: Any, name: str, versions: int, failures: int, failed: bool,
             pending: bool) -> None:
    """Add the secret's lane to the y axis and its symbols to the legend."""
    from kmssim.lessons.plot import GREY, LANE_COLOURS, VERMILLION, tint
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    # The key's lane label, drawn by `timeline` as a collection, becomes a tick label
    # beside the secret's (two lanes: ticks are cheap enough, and simple to read back).
    lanes = [c for c in ax.collections if c.get_gid() == "kmssim-lane-label"]
    key_text = lanes[0].strings[0]
    for collection in lanes:
        collection.remove()
    lines = [f"secret {name}", f"{versions} version{'s' if versions != 1 else ''}"]
    if failures:
        lines.append(f"{failures} failed rotation{'s' if failures != 1 else ''}")
    ax.set_yticks([0, _SECRET_LANE], [key_text, "\n".join(lines)])
    ax.set_ylim(_SECRET_LANE - 0.62, 0.62)
    old = ax.get_legend()
    handles = list(old.legend_handles) if old is not None else []
    labels = [t.get_text() for t in old.get_texts()] if old is not None else []
    extra: list[tuple[Any, str]] = [
        (Patch(facecolor=tint(LANE_COLOURS[0], 0.25), edgecolor="white"),
         "secret version while AWSCURRENT, in the colour of the key version encrypting it"),
        (Line2D([], [], linestyle="none", marker=_ROTATED[0], color=_ROTATED[1],
                markersize=5), _ROTATED[2])]
    if failed:
        extra.append((Line2D([], [], linestyle="none", marker=_FAILED[0], color=_FAILED[1],
                             markersize=8), _FAILED[2]))
    if pending:
        extra.append((Patch(facecolor="none", edgecolor=VERMILLION, hatch="///"),
                      "secret rotation unfinished (AWSPENDING)"))
    extra.append((Line2D([], [], linestyle=(0, (1, 2)), color=GREY), "key rotation"))
    for handle, label in extra:
        handles.append(handle)
        labels.append(label)
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.0, -0.1), ncol=2,
              frameon=False, fontsize=7.5, handlelength=1.6, columnspacing=1.4)
