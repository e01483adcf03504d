"""Buttons that move a simulated KMS through time, with its timeline redrawn (ipywidgets).

>>> from kmssim import KMS
>>> from kmssim.widgets import TimeControls
>>> kms = KMS(seed=1)
>>> key = kms.create_key()["KeyMetadata"]["KeyId"]
>>> panel = TimeControls(kms, key)      # the last line of a cell shows the panel
>>> _ = panel.advance(years=1)          # what the "+1 year" button does
>>> panel.messages[0]
'2025-01-01  advanced 1 year: no rotation (automatic rotation is off)'

Every button calls an ordinary method (`advance`, `next_rotation`, `rotate_now`,
`encrypt_record`), so a lesson or a test can do what a click does. No exception
escapes a click: AWS errors appear in the panel's log as a sentence that names the
error (a 26th on-demand rotation shows LimitExceededException), and the panel's
text representation is deterministic for strict nbval. The picture is an
``ipywidgets.Image`` holding PNG bytes rendered with Agg from one persistent figure.
"""

from __future__ import annotations

import html
from calendar import monthrange
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from kmssim.analysis.exposure import key_label
from kmssim.core import KMS, KeyHistory, ServiceEvent, requires_extra
from kmssim.core.envelope import SealedRecord, seal
from kmssim.core.errors import HINT_LABEL, KMSError, ParamValidationError, aws_words
from kmssim.lessons.plot import lane_labels, new_figure, timeline, timeline_size, to_png

# Without ipywidgets or matplotlib this says to install the [lessons] extra.
with requires_extra("lessons", __name__):
    import ipywidgets as widgets
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["TimeControls", "RecordsPanel", "DecryptPanel", "ProgressBar", "explain"]

T = TypeVar("T")
LOG_LINES = 12
#: Panel pictures are rendered at twice the figure's dpi and shown at its size in CSS
#: pixels, so they stay sharp on high-DPI screens and are never scaled up.
PANEL_SCALE = 2
#: The timeline's plot area in a panel, bottom and height as fractions of the picture: room
#: below for the date axis and two legend rows, so the plot does not move as entries appear.
PLOT_BOTTOM, PLOT_HEIGHT = 0.30, 0.605

# What each AWS error means for someone pressing these buttons (when the error itself
# carries no kmssim hint).
_EXPLANATIONS = {
    "LimitExceededException": "this key has used all 25 on-demand rotations AWS allows. "
                              "Automatic rotation still works.",
    "DisabledException": "the key is disabled. Enable it with kms.enable_key(KeyId=...) first.",
    "KMSInvalidStateException": "the key is pending deletion, so it cannot be used. "
                                "kms.cancel_key_deletion(KeyId=...) stops the deletion.",
    "NotFoundException": "the key no longer exists: it was deleted, with all its key material.",
    "ConflictException": "an automatic rotation is due within 20 minutes. Try after it.",
}


def explain(error: Exception) -> str:
    """``error`` for a learner: AWS's code and message first, then, on a line of its
    own, kmssim's explanation marked ``kmssim hint:`` (if there is one)."""
    if isinstance(error, (KMSError, ParamValidationError)):
        code = error.code if isinstance(error, KMSError) else ""
        hint = error.hint or _EXPLANATIONS.get(code)
        return aws_words(error) + (f"\n{HINT_LABEL} {hint}" if hint else "")
    return f"Unexpected {type(error).__name__}: {error}"


def _add_months(when: datetime, months: int) -> datetime:
    """``when`` moved by calendar months; the 31st becomes the month's last day if needed."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    return when.replace(year=year, month=month, day=min(when.day, monthrange(year, month)[1]))


class TimeControls:
    """A panel bound to one key of a `KMS`: time buttons, its timeline, status and log.

    ``TimeControls(kms, key_id)`` shows buttons "+1 day", "+1 month", "+1 year",
    "Next rotation", "Rotate on demand" and "Encrypt a record", the key's version
    timeline, a status line and a log of what happened (newest first). ``records``
    is an optional list that "Encrypt a record" appends its SealedRecords to (a
    fresh list by default, in ``panel.records``). ``key_id`` may be an id, ARN or alias.
    """

    def __init__(self, kms: KMS, key_id: str, records: list[SealedRecord] | None = None) -> None:
        self.kms = kms
        self.key_id = kms.history(key_id).key_id
        self.records: list[SealedRecord] = records if records is not None else []
        #: What happened, newest first, as plain text (the log shows the latest few).
        self.messages: list[str] = []
        self.figure = new_figure(*timeline_size(1))
        self._layout: tuple[Any, ...] = ()
        self.image = panel_image(self.figure)
        self.status = widgets.HTML()
        self.caption = widgets.HTML()
        self.log_view = widgets.HTML()
        actions: list[tuple[str, str, Callable[[], Any]]] = [
            ("+1 day", "Advance the clock one day", lambda: self.advance(days=1)),
            ("+1 month", "Advance the clock one calendar month", lambda: self.advance(months=1)),
            ("+1 year", "Advance the clock one calendar year", lambda: self.advance(years=1)),
            ("Next rotation", "Jump to the next scheduled automatic rotation",
             self.next_rotation),
            ("Rotate on demand", "RotateKeyOnDemand: new key material now", self.rotate_now),
            ("Encrypt a record", "Envelope-encrypt a record under the current version",
             self.encrypt_record),
        ]
        self.buttons: dict[str, widgets.Button] = {}
        for label, tooltip, action in actions:
            button = widgets.Button(description=label, tooltip=tooltip,
                                    layout=widgets.Layout(width="auto"))
            button.on_click(lambda _button, act=action: act())
            self.buttons[label] = button
        self.widget = widgets.VBox(self._children())
        self.redraw()

    def _children(self) -> list[widgets.Widget]:
        return [widgets.HBox(list(self.buttons.values())), self.status, self.image,
                self.caption, self.log_view]

    # -- what the buttons do ------------------------------------------------------
    def advance(self, *, days: float = 0, months: int = 0, years: int = 0) -> list[ServiceEvent]:
        """Move the clock forward (calendar ``months``/``years``, then ``days``), log
        what KMS did meanwhile and redraw. Returns the events (empty on error)."""
        def act() -> list[ServiceEvent]:
            target = _add_months(self.kms.now, 12 * years + months)
            events = self.kms.advance_to(target)
            events += self.kms.advance(days=days)
            self._log_advance(_describe_step(days, months, years), events)
            return events
        return self._run(act) or []

    def next_rotation(self) -> list[ServiceEvent]:
        """Jump to this key's next scheduled automatic rotation (if it has one)."""
        def act() -> list[ServiceEvent]:
            history = self.kms.history(self.key_id)
            if history.state == "Deleted":
                self._say("nothing scheduled: the key was deleted.")
                return []
            if history.next_rotation is None or history.state != "Enabled":
                why = ("automatic rotation is off (kms.enable_key_rotation turns it on)"
                       if history.next_rotation is None else f"the key is {history.state}")
                self._say(f"no rotation is scheduled: {why}.")
                return []
            events = self.kms.advance_to(history.next_rotation)
            self._log_advance("to the next rotation", events)
            return events
        return self._run(act) or []

    def rotate_now(self) -> str | None:
        """RotateKeyOnDemand on this key; returns the new material id (None on error)."""
        def act() -> str:
            self.kms.rotate_key_on_demand(KeyId=self.key_id)
            history = self.kms.history(self.key_id)
            left = _on_demand_left(history)
            self._say(f"on-demand rotation: v{len(history.versions)} is now current "
                      f"({left} on-demand rotation{'' if left == 1 else 's'} left).")
            return history.versions[-1].material_id
        return self._run(act)

    def encrypt_record(self, plaintext: bytes | None = None) -> SealedRecord | None:
        """Envelope-encrypt a record (default: a small numbered one) with a fresh data
        key from this key, append it to ``records`` and return it (None on error)."""
        def act() -> SealedRecord:
            number = len(self.records) + 1
            data = plaintext if plaintext is not None else f"record #{number}".encode()
            record = seal(self.kms, self.key_id, data, {"record": str(number)})
            self.records.append(record)
            version = self.kms.inspect_ciphertext(record.encrypted_data_key).version
            self._say(f"sealed record #{number} ({len(data)} bytes); its data key is "
                      f"wrapped by v{version}.")
            return record
        return self._run(act)

    # -- showing ------------------------------------------------------------------
    def redraw(self) -> None:
        """Redraw the timeline and refresh the status line and the log."""
        try:
            history = self.kms.history(self.key_id)
            self.status.value = f"<b>{html.escape(self.status_text(history))}</b>"
            axes = self.figure.axes[0]
            axes.clear()
            self._draw_timeline(axes)
            # Constrained layout costs a draw. Lay out again only when the labels that decide
            # the side margins change length; otherwise keep the frame. The plot area's
            # height is pinned, so a growing legend does not push the plot up.
            layout = _layout_signature(axes)
            if layout != self._layout:
                self.figure.set_layout_engine("constrained")
                self.figure.canvas.draw()
                self.figure.set_layout_engine("none")
                box = axes.get_position()
                axes.set_position((box.x0, PLOT_BOTTOM, box.width, PLOT_HEIGHT))
                axes.set_in_layout(True)    # set_position opts out of layouts; opt back in
                self._layout = layout
            self.image.value = panel_png(self.figure)
            # The words go in a caption under the picture. (Setting the Image widget's
            # tooltip breaks its view in JupyterLab: "Click to show javascript error".)
            self.caption.value = (f'<div style="font-size:12px;opacity:0.8">Picture: '
                                  f"{html.escape(self.alt_text(history))}</div>")
        except Exception as error:  # a drawing problem must not become a traceback
            self._say(explain(error), error=True)
        self.log_view.value = self._log_html()
        self._update_buttons()

    def _update_buttons(self) -> None:
        """Grey out what cannot act now, and say why in the tooltip."""
        try:
            history = self.kms.history(self.key_id)
        except KMSError:  # pragma: no cover - a key the panel was built on stays known
            return
        rotate = self.buttons["Rotate on demand"]
        left = _on_demand_left(history)
        rotate.disabled = left == 0 or history.state != "Enabled"
        rotate.tooltip = ("RotateKeyOnDemand: new key material now" if not rotate.disabled else
                          "No on-demand rotations left (25 per key)" if left == 0 else
                          f"The key is {history.state}")
        encrypt = self.buttons["Encrypt a record"]
        encrypt.disabled = history.state != "Enabled"

    def _draw_timeline(self, axes: Axes) -> None:
        timeline(self.kms, self.key_id, ax=axes)

    def alt_text(self, history: KeyHistory | None = None) -> str:
        """What the picture shows, in words (the image's tooltip and caption)."""
        history = history or self.kms.history(self.key_id)
        n = len(history.versions)
        dates = ", ".join(f"v{v.number} from {v.created:%Y-%m-%d}" for v in history.versions[-4:])
        more = f" (the last four: {dates})" if n > 4 else f": {dates}"
        return (f"timeline of {key_label(history)}, one bar per version of its key material, "
                f"{n} version{'s' if n > 1 else ''}{more}")

    def status_text(self, history: KeyHistory | None = None) -> str:
        """The status line as plain text: date, key, versions, rotation, records."""
        history = history or self.kms.history(self.key_id)
        n = len(history.versions)
        parts = [f"{self.kms.now:%Y-%m-%d %H:%M} UTC", key_label(history),
                 f"{n} version{'s' if n > 1 else ''}, v{n} current"
                 if history.state != "Deleted" else f"deleted, {n} versions destroyed"]
        if history.state in ("Disabled", "PendingDeletion", "PendingReplicaDeletion",
                             "PendingImport"):
            parts.append(f"key {history.state}")
        if history.next_rotation is not None:
            parts.append(f"rotates every {history.rotation_period_days} days, next "
                         f"{history.next_rotation:%Y-%m-%d}")
        elif history.state != "Deleted":
            parts.append("automatic rotation off")
        if self.records:
            parts.append(f"{len(self.records)} record{'s' if len(self.records) > 1 else ''}")
        return " · ".join(parts)

    def __repr__(self) -> str:
        history = self.kms.history(self.key_id)
        n = len(history.versions)
        return (f"TimeControls({key_label(history)} at {self.kms.now:%Y-%m-%d}, "
                f"{n} version{'s' if n > 1 else ''})")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return _widget_bundle(self.widget, repr(self), **kwargs)

    # -- internals ----------------------------------------------------------------
    def _run(self, act: Callable[[], T]) -> T | None:
        """Do ``act``; turn any error into a log line; always redraw."""
        try:
            return act()
        except Exception as error:
            self._say(explain(error), error=True)
            return None
        finally:
            self.redraw()

    def _say(self, text: str, *, error: bool = False) -> None:
        """Log ``text`` (newest first); its further lines (a hint) go below it, indented."""
        first, *more = text.split("\n")
        for line in reversed(more):
            self.messages.insert(0, " " * 12 + line)
        self.messages.insert(0, f"{self.kms.now:%Y-%m-%d}  {'⚠ ' if error else ''}{first}")

    def _log_advance(self, step: str, events: list[ServiceEvent]) -> None:
        history = self.kms.history(self.key_id)
        numbers = {v.material_id: v.number for v in history.versions}
        ours = [e for e in events if e.key_id == self.key_id]
        for event in ours:
            if event.name == "RotateKey":
                self.messages.insert(0, f"{event.time:%Y-%m-%d}  automatic rotation: "
                                        f"v{numbers.get(event.current_material_id or '', '?')} "
                                        "is now current")
            elif event.name == "DeleteKey":
                self.messages.insert(0, f"{event.time:%Y-%m-%d}  the key was deleted: what it "
                                        "encrypted can never be decrypted")
            elif event.name == "DeleteExpiredKeyMaterial":
                self.messages.insert(0, f"{event.time:%Y-%m-%d}  imported key material "
                                        "expired: the key is PendingImport until it is "
                                        "imported again")
        others = len(events) - len(ours)
        rotations = sum(e.name == "RotateKey" for e in ours)
        if rotations:
            summary = f"{rotations} rotation{'s' if rotations > 1 else ''}"
        elif history.next_rotation is None and history.state != "Deleted":
            summary = "no rotation (automatic rotation is off)"
        else:
            summary = "no rotation"
        if others:
            summary += f", {others} event{'s' if others > 1 else ''} on other keys"
        self._say(f"advanced {step}: {summary}")

    def _log_html(self) -> str:
        lines = []
        for line in self.messages[:LOG_LINES]:
            style = "color:#D55E00;font-weight:bold" if "⚠" in line else ""
            lines.append(f'<div style="{style}">{html.escape(line)}</div>')
        return ('<div style="font-family:var(--jp-code-font-family,monospace);font-size:12px;'
                'line-height:1.35">' + "".join(lines) + "</div>")


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _widget_bundle(widget: widgets.Widget, text: str, **kwargs: Any) -> dict[str, Any]:
    """What Jupyter shows for a panel: ``widget``'s live view, and ``text`` for strict nbval.

    ipywidgets 8 gives every widget a ``_repr_mimebundle_``. ipywidgets 7 (the version Colab
    ships) has none: a widget displays itself from ``_ipython_display_``, publishing the same
    view reference, so under 7 the reference is written here as 7 writes it.
    """
    if hasattr(widget, "_repr_mimebundle_"):
        bundle = dict(widget._repr_mimebundle_(**kwargs) or {})
    else:
        bundle = {WIDGET_VIEW: {"version_major": 2, "version_minor": 0,
                                "model_id": widget.model_id}}
        # ipywidgets 7 runs a widget's on_displayed callbacks once it is shown.
        widget._handle_displayed(**kwargs)
    bundle["text/plain"] = text
    return bundle


def _layout_signature(axes: Axes) -> tuple[Any, ...]:
    """What decides the side margins: the lengths of the lane labels' lines and the title."""
    lines = [len(line) for label in lane_labels(axes) for line in label.split("\n")]
    return (tuple(lines), len(axes.get_title(loc="left")))


def panel_image(figure: Figure) -> widgets.Image:
    """An Image widget shown at ``figure``'s size in CSS pixels (narrower if the page is)."""
    width = round(figure.get_figwidth() * figure.dpi)
    return widgets.Image(format="png", layout=widgets.Layout(width=f"{width}px",
                                                             max_width="100%", height="auto"))


def panel_png(figure: Figure) -> bytes:
    """``figure`` as PNG bytes at `PANEL_SCALE` times its dpi (sharp on high-DPI screens)."""
    return to_png(figure, dpi=figure.dpi * PANEL_SCALE)


def _describe_step(days: float, months: int, years: int) -> str:
    parts = [(years, "year"), (months, "month"), (days, "day")]
    return " ".join(f"{n:g} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "0 days"


def _on_demand_left(history: KeyHistory) -> int:
    return 25 - sum(v.rotation_type == "ON_DEMAND" for v in history.versions)


class ProgressBar:
    """A progress bar for a long simulation: pass it as ``progress=``.

    ``bar = ProgressBar("Five years")`` shows a bar when it is the last thing in a
    cell; ``build_fleet(kms, progress=bar)`` in the next cell then fills it as the
    simulated months go by. Calling ``bar(done, total)`` moves it by hand.
    """

    def __init__(self, description: str = "Simulating") -> None:
        self.description = description
        self.widget = widgets.IntProgress(value=0, min=0, max=1, description=description,
                                          style={"description_width": "initial"})

    def __call__(self, done: int, total: int) -> None:
        self.widget.max = max(total, 1)
        self.widget.value = min(done, self.widget.max)

    def __repr__(self) -> str:
        return f"ProgressBar({self.description!r}, {self.widget.value}/{self.widget.max})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return _widget_bundle(self.widget, repr(self), **kwargs)


class RecordsPanel(TimeControls):
    """Time controls for lesson 3: records are written as time passes, and the timeline
    and the blast-radius chart are redrawn after every click.

    Besides `TimeControls`' buttons it has "Write a year of records" (a record at the
    start of each of the next twelve months, the clock moving between them), and it
    draws, under the timeline, how many of the records each version protects.
    """

    def __init__(self, kms: KMS, key_id: str, records: list[SealedRecord] | None = None) -> None:
        self.radius_figure = new_figure(*timeline_size(1))
        self.radius_image = panel_image(self.radius_figure)
        self.radius_caption = widgets.HTML()
        self.radius_alt = ""
        super().__init__(kms, key_id, records)
        button = widgets.Button(description="Write a year of records",
                                tooltip="Seal a record, move one month; twelve times",
                                layout=widgets.Layout(width="auto"))
        button.on_click(lambda _button: self.write_year())
        self.buttons["Write a year of records"] = button
        self.widget.children = tuple(self._children())

    def _children(self) -> list[widgets.Widget]:
        return [*super()._children()[:4], self.radius_image, self.radius_caption,
                self.log_view]

    def write_year(self) -> list[SealedRecord]:
        """Seal a record, then advance a month, twelve times; returns the new records."""
        def act() -> list[SealedRecord]:
            made: list[SealedRecord] = []
            events: list[ServiceEvent] = []
            for _ in range(12):
                number = len(self.records) + 1
                record = seal(self.kms, self.key_id, f"record #{number}".encode(),
                              {"record": str(number)})
                self.records.append(record)
                made.append(record)
                events += self.kms.advance_to(_add_months(self.kms.now, 1))
            self._log_advance("12 months, a record each month", events)
            return made
        return self._run(act) or []

    def _draw_timeline(self, axes: Axes) -> None:
        timeline(self.kms, self.key_id, ax=axes, records=self.records)

    def redraw(self) -> None:
        super().redraw()
        if not hasattr(self, "radius_figure"):
            return
        try:
            from kmssim.lessons.plot import blast_radius
            self.radius_figure.clear()
            axes = self.radius_figure.add_subplot()
            if self.records:
                blast_radius(self.kms, self.records, ax=axes)
                alt = self.radius_alt_text()
            else:
                axes.set_axis_off()
                axes.text(0.5, 0.5, "No records yet: write some to see what each version "
                          "protects", ha="center", va="center")
                alt = "no records yet, so no version protects anything"
            self.radius_figure.set_layout_engine("constrained")
            self.radius_image.value = panel_png(self.radius_figure)
            self.radius_alt = alt
            self.radius_caption.value = (f'<div style="font-size:12px;opacity:0.8">Picture: '
                                         f"{html.escape(alt)}</div>")
        except Exception as error:  # a drawing problem must not become a traceback
            self._say(explain(error), error=True)
            self.log_view.value = self._log_html()

    def radius_alt_text(self) -> str:
        """The blast-radius chart in words: records per version."""
        from kmssim.analysis.exposure import exposure
        rows = [r for r in exposure(self.kms, self.records).rows if r.key_id == self.key_id]
        counts = ", ".join(f"v{r.version} {r.count}" for r in rows)
        return f"records protected by each version of the key material: {counts}"

    def __repr__(self) -> str:
        return super().__repr__().replace("TimeControls(", "RecordsPanel(", 1)[:-1] + (
            f", {len(self.records)} record{'' if len(self.records) == 1 else 's'})")


def _parse_context(text: str) -> dict[str, str] | None:
    """``"table=orders, order_id=1001"`` as a dict; empty text means no context."""
    pairs = [part.strip() for part in text.split(",") if part.strip()]
    if not pairs:
        return None
    context: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals:
            raise ValueError(f"write the context as name=value pairs, not {pair!r}")
        context[name.strip()] = value.strip()
    return context


class DecryptPanel:
    """Lesson 1's playground: change the encryption context, or flip one bit of the
    stored record, and see decryption succeed or fail, and *where* it fails.

    ``DecryptPanel(kms, record)`` shows a text box with the context (``name=value``
    pairs), a choice of what to damage (nothing, the encrypted data key, the encrypted
    record, the nonce), a slider for the byte to flip and a Decrypt button. Each try
    makes a real Decrypt call on ``kms`` (it shows in ``kms.trail``) and says whether KMS
    refused the data key (an AWS error code) or AES-GCM refused the record on your
    machine (cryptography's InvalidTag). `try_decrypt` does what a click does.
    """

    PARTS = {"nothing": None, "the encrypted data key": "encrypted_data_key",
             "the encrypted record": "ciphertext", "the nonce": "nonce"}

    def __init__(self, kms: KMS, record: SealedRecord) -> None:
        self.kms = kms
        self.record = record
        self.results: list[str] = []
        original = ", ".join(f"{k}={v}" for k, v in (record.context or {}).items())
        self.context_box = widgets.Text(value=original, description="context",
                                        placeholder="name=value, name=value",
                                        layout=widgets.Layout(width="28em"))
        self.part = widgets.Dropdown(options=list(self.PARTS), value="nothing",
                                     description="flip a bit in")
        self.byte = widgets.IntSlider(value=0, min=0, max=0, description="byte",
                                      disabled=True)
        self.button = widgets.Button(description="Decrypt", button_style="primary",
                                     tooltip="Decrypt the data key with KMS, then the record")
        self.result = widgets.HTML()
        self.part.observe(lambda _change: self._part_changed(), names="value")
        self.button.on_click(lambda _button: self.try_decrypt())
        self.widget = widgets.VBox([self.context_box, widgets.HBox([self.part, self.byte]),
                                    self.button, self.result])

    def _part_changed(self) -> None:
        field = self.PARTS[self.part.value]
        self.byte.disabled = field is None
        if field is not None:
            self.byte.max = len(getattr(self.record, field)) - 1
            self.byte.value = min(self.byte.value, self.byte.max)

    def try_decrypt(self, context: str | None = None, part: str | None = None,
                    at: int | None = None) -> str:
        """Decrypt with the given context text, damaging ``part`` at byte ``at``
        (default: what the controls say). Returns and shows the verdict."""
        import dataclasses

        from cryptography.exceptions import InvalidTag

        from kmssim.core.envelope import unseal
        if context is not None:
            self.context_box.value = context
        if part is not None:
            self.part.value = part
        if at is not None:
            self.byte.value = at
        field = self.PARTS[self.part.value]
        record = self.record
        if field is not None:
            data = bytearray(getattr(record, field))
            data[self.byte.value % len(data)] ^= 0x01
            record = dataclasses.replace(record, **{field: bytes(data)})
        try:
            wanted = _parse_context(self.context_box.value)
            plaintext = unseal(self.kms, record, wanted if wanted is not None else {})
            verdict = (f"✓ KMS decrypted the data key and AES-GCM accepted the record: "
                       f"{plaintext!r}")
        except KMSError as error:
            verdict = (f"✗ KMS refused to decrypt the data key: {error.code}. Nothing was "
                       "decrypted; the data key and its encryption context did not authenticate.")
        except InvalidTag:
            verdict = ("✗ KMS decrypted the data key, but AES-GCM on this machine refused the "
                       "record: InvalidTag (from the cryptography library, not a KMS error).")
        except ValueError as advice:
            verdict = f"✗ {advice}"
        self.results.insert(0, verdict)
        self.result.value = "<br>".join(
            f'<span style="{"color:#D55E00;" if line.startswith("✗") else ""}">'
            f"{html.escape(line)}</span>" for line in self.results[:5])
        return verdict

    def __repr__(self) -> str:
        last = self.results[0] if self.results else "no decryption tried yet"
        return f"DecryptPanel(context {self.context_box.value!r}; {last})"[:110]

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return _widget_bundle(self.widget, repr(self), **kwargs)
