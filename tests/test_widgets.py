"""The time-controls panel: what a click does, shows and logs, without a browser."""

from __future__ import annotations

from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from kmssim import KMS  # noqa: E402
from kmssim.lessons import widgets
from kmssim.core.envelope import SealedRecord, unseal  # noqa: E402
from kmssim.lessons.widgets import TimeControls  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
UTC = UTC


@pytest.fixture
def kms() -> KMS:
    return KMS(seed=21)


@pytest.fixture
def key(kms: KMS) -> str:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/orders", TargetKeyId=key_id)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    return key_id


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    yield
    assert plt.get_fignums() == []


def test_a_new_panel_shows_the_timeline_status_and_buttons(kms, key):
    panel = TimeControls(kms, "alias/orders")
    assert panel.key_id == key
    assert bytes(panel.image.value).startswith(PNG_MAGIC)
    assert "2024-01-01 00:00 UTC" in panel.status.value
    assert "rotates every 90 days, next 2024-03-31" in panel.status_text()
    assert list(panel.buttons) == ["+1 day", "+1 month", "+1 year", "Next rotation",
                                   "Rotate on demand", "Encrypt a record"]
    assert panel.messages == []


def test_plus_one_year_click_advances_the_clock_and_logs_each_rotation(kms, key):
    panel = TimeControls(kms, key)
    before = bytes(panel.image.value)
    panel.buttons["+1 year"].click()
    assert kms.now == datetime(2025, 1, 1, tzinfo=UTC)
    assert len(kms.history(key).versions) == 5
    assert panel.messages[0] == "2025-01-01  advanced 1 year: 4 rotations"
    assert "2024-03-31  automatic rotation: v2 is now current" in panel.messages
    assert "automatic rotation: v5 is now current" in panel.log_view.value
    assert bytes(panel.image.value) != before
    assert "5 versions, v5 current" in panel.status.value


def test_a_month_is_a_calendar_month(kms, key):
    panel = TimeControls(kms, key)
    panel.advance(days=30)
    panel.buttons["+1 month"].click()
    assert kms.now == datetime(2024, 2, 29, tzinfo=UTC)   # from Jan 31, in a leap year
    panel.buttons["+1 day"].click()
    assert kms.now == datetime(2024, 3, 1, tzinfo=UTC)


def test_next_rotation_jumps_to_the_scheduled_date(kms, key):
    panel = TimeControls(kms, key)
    events = panel.next_rotation()
    assert [e.name for e in events] == ["RotateKey"]
    assert kms.now == datetime(2024, 3, 31, tzinfo=UTC)   # 90 days after Jan 1, 2024
    assert panel.messages[0].endswith("advanced to the next rotation: 1 rotation")


def test_next_rotation_explains_when_nothing_is_scheduled(kms):
    plain = kms.create_key()["KeyMetadata"]["KeyId"]
    panel = TimeControls(kms, plain)
    assert panel.next_rotation() == []
    assert kms.now == datetime(2024, 1, 1, tzinfo=UTC)
    assert "automatic rotation is off" in panel.messages[0]


def test_rotate_on_demand_adds_a_version_until_the_limit_then_explains(kms, key):
    panel = TimeControls(kms, key)
    for _ in range(24):
        kms.rotate_key_on_demand(KeyId=key)
    panel.buttons["Rotate on demand"].click()
    assert len(kms.history(key).versions) == 26
    assert "v26 is now current (0 on-demand rotations left)" in panel.messages[0]
    image = bytes(panel.image.value)
    assert panel.rotate_now() is None            # the 26th: no exception escapes
    assert len(kms.history(key).versions) == 26
    # AWS's code and message first, kmssim's explanation on the line below it.
    assert panel.messages[0].startswith("2024-01-01  ⚠ LimitExceededException: The on-demand "
                                        "rotations limit has been reached")
    assert panel.messages[1].startswith(" " * 12 + "kmssim hint: AWS allows 25 on-demand")
    assert "LimitExceededException" in panel.log_view.value
    assert "Traceback" not in panel.log_view.value
    assert bytes(panel.image.value) == image


def test_encrypt_a_record_seals_under_the_current_version(kms, key):
    records: list[SealedRecord] = []
    panel = TimeControls(kms, key, records=records)
    panel.buttons["Encrypt a record"].click()
    panel.rotate_now()
    record = panel.encrypt_record(b"order 42")
    assert panel.records is records and len(records) == 2 and records[1] is record
    assert unseal(kms, record) == b"order 42"
    assert kms.inspect_ciphertext(record.encrypted_data_key).version == 2
    assert panel.messages[0].endswith("sealed record #2 (8 bytes); its data key is wrapped by v2.")
    assert "2 records" in panel.status_text()


def test_a_disabled_key_gives_a_friendly_message_not_a_traceback(kms, key):
    panel = TimeControls(kms, key)
    kms.disable_key(KeyId=key)
    assert panel.encrypt_record() is None
    assert panel.messages[0].endswith(f"DisabledException: arn:aws:kms:us-east-1:111122223333:"
                                      f"key/{key} is disabled.")
    assert "kmssim hint: " in panel.messages[1] and "EnableKey" in panel.messages[1]
    assert panel.records == []
    panel.redraw()
    assert "key Disabled" in panel.status.value


def test_a_deleted_key_keeps_its_panel_working(kms, key):
    panel = TimeControls(kms, key)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    panel.advance(days=8)
    assert "the key was deleted" in panel.messages[1]
    assert panel.rotate_now() is None
    assert "NotFoundException" in panel.messages[0]
    assert panel.next_rotation() == []
    assert "deleted" in panel.status_text()


def test_events_on_other_keys_are_summarised(kms, key):
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=other, RotationPeriodInDays=90)
    panel = TimeControls(kms, key)
    panel.advance(days=91)
    assert panel.messages[0].endswith("1 rotation, 1 event on other keys")


def test_no_exception_escapes_a_callback_even_when_drawing_fails(kms, key, monkeypatch):
    panel = TimeControls(kms, key)

    def broken(*args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(widgets, "timeline", broken)
    panel.buttons["+1 day"].click()
    assert kms.now == datetime(2024, 1, 2, tzinfo=UTC)
    assert panel.messages[0] == "2024-01-02  ⚠ Unexpected RuntimeError: no fonts"


def test_a_bad_step_is_explained(kms, key):
    panel = TimeControls(kms, key)
    assert panel.advance(days=-1) == []
    assert "ValidationException" in panel.messages[0]


def test_the_panel_text_is_deterministic_for_strict_nbval(key):
    def fresh() -> dict:
        kms = KMS(seed=21)
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        return TimeControls(kms, key_id)._repr_mimebundle_()

    first, second = fresh(), fresh()
    assert first["text/plain"] == second["text/plain"]
    assert first["text/plain"].startswith("TimeControls(")
    assert first["text/plain"].endswith("at 2024-01-01, 1 version)")
    assert "application/vnd.jupyter.widget-view+json" in first


def test_log_lines_are_escaped_html(kms, key):
    panel = TimeControls(kms, key)
    panel.messages.insert(0, "<script>")
    panel.redraw()
    assert "<script>" not in panel.log_view.value and "&lt;script&gt;" in panel.log_view.value


def test_progress_bar_fills_as_a_fleet_is_built():
    from kmssim.analysis.fleet import build_fleet
    from kmssim.lessons.widgets import ProgressBar

    bar = ProgressBar("Two years")
    assert repr(bar) == "ProgressBar('Two years', 0/1)"
    build_fleet(KMS(seed=4), keys=5, years=2, seed=1, progress=bar)
    assert (bar.widget.value, bar.widget.max) == (24, 24)
    assert bar._repr_mimebundle_()["text/plain"] == "ProgressBar('Two years', 24/24)"


# -- buttons that cannot act, pictures described in words ---------------------------------

def test_rotate_on_demand_greys_out_when_no_rotation_is_left(kms, key):
    panel = TimeControls(kms, key)
    for _ in range(24):
        kms.rotate_key_on_demand(KeyId=key)
    panel.redraw()
    assert not panel.buttons["Rotate on demand"].disabled
    panel.rotate_now()
    assert "(0 on-demand rotations left)" in panel.messages[0]
    assert panel.buttons["Rotate on demand"].disabled
    assert "No on-demand rotations left" in panel.buttons["Rotate on demand"].tooltip


def test_the_log_says_one_rotation_left_in_the_singular(kms, key):
    panel = TimeControls(kms, key)
    for _ in range(23):
        kms.rotate_key_on_demand(KeyId=key)
    panel.rotate_now()
    assert panel.messages[0].endswith("(1 on-demand rotation left).")


def test_a_disabled_key_greys_out_encrypt_and_rotate(kms, key):
    panel = TimeControls(kms, key)
    kms.disable_key(KeyId=key)
    panel.redraw()
    assert panel.buttons["Encrypt a record"].disabled and panel.buttons["Rotate on demand"].disabled


def test_the_timeline_picture_has_a_text_alternative(kms, key):
    panel = TimeControls(kms, key)
    panel.advance(years=1)
    assert panel.alt_text().startswith("timeline of alias/orders")
    assert "5 versions" in panel.alt_text()
    assert "Picture: timeline of alias/orders" in panel.caption.value
    assert "5 versions" in panel.caption.value
    assert panel.image.tooltip is None     # a tooltip on an Image breaks its view in JupyterLab


# -- lesson 3's records panel ---------------------------------------------------------------

def test_records_panel_writes_a_year_and_redraws_both_pictures(kms, key):
    panel = widgets.RecordsPanel(kms, key)
    timeline_before, radius_before = bytes(panel.image.value), bytes(panel.radius_image.value)
    assert "no records yet" in panel.radius_alt
    panel.buttons["Write a year of records"].click()
    assert len(panel.records) == 12
    assert bytes(panel.image.value) != timeline_before
    assert bytes(panel.radius_image.value) != radius_before
    assert bytes(panel.radius_image.value).startswith(PNG_MAGIC)
    # A 90-day key rotates four times in a year: the records spread over the versions.
    versions = {kms.inspect_ciphertext(r.encrypted_data_key).version for r in panel.records}
    assert len(versions) >= 4
    assert panel.radius_alt.startswith("records protected by each version")
    assert "12 records" in repr(panel)
    assert "advanced 12 months, a record each month" in " ".join(panel.messages)


def test_records_panel_keeps_the_time_buttons(kms, key):
    panel = widgets.RecordsPanel(kms, key)
    panel.encrypt_record()
    panel.advance(months=4)
    panel.encrypt_record()
    assert len(panel.records) == 2
    assert "v1 1" in panel.radius_alt and "v2 1" in panel.radius_alt
    assert set(panel.buttons) >= {"+1 month", "Next rotation", "Write a year of records"}
    assert panel.radius_image in panel.widget.children


# -- lesson 1's decrypt playground -----------------------------------------------------------

@pytest.fixture
def sealed(kms, key):
    from kmssim.core.envelope import seal
    return seal(kms, key, b"2 x espresso", {"table": "orders", "order_id": "1001"})


def test_decrypt_panel_succeeds_with_the_original_context(kms, sealed):
    panel = widgets.DecryptPanel(kms, sealed)
    assert panel.context_box.value == "table=orders, order_id=1001"
    verdict = panel.try_decrypt()
    assert verdict.startswith("✓") and "2 x espresso" in verdict
    assert kms.trail[-1].name == "Decrypt"


@pytest.mark.parametrize("context", ["table=orders, order_id=1002", "Table=orders, order_id=1001",
                                     ""])
def test_a_changed_context_is_refused_by_kms(kms, sealed, context):
    panel = widgets.DecryptPanel(kms, sealed)
    verdict = panel.try_decrypt(context=context)
    assert verdict.startswith("✗ KMS refused") and "InvalidCiphertextException" in verdict


def test_a_flipped_bit_says_where_decryption_failed(kms, sealed):
    panel = widgets.DecryptPanel(kms, sealed)
    assert "KMS refused" in panel.try_decrypt(part="the encrypted data key", at=60)
    local = panel.try_decrypt(part="the encrypted record", at=3)
    assert "InvalidTag" in local and "not a KMS error" in local
    assert "InvalidTag" in panel.try_decrypt(part="the nonce", at=0)
    assert panel.try_decrypt(part="nothing").startswith("✓")
    assert len(panel.results) == 4 and "InvalidTag" in panel.result.value


def test_the_byte_slider_follows_the_part_chosen(kms, sealed):
    panel = widgets.DecryptPanel(kms, sealed)
    assert panel.byte.disabled
    panel.part.value = "the nonce"
    assert not panel.byte.disabled and panel.byte.max == 11
    panel.part.value = "the encrypted data key"
    assert panel.byte.max == len(sealed.encrypted_data_key) - 1


def test_a_context_that_is_not_pairs_gets_advice(kms, sealed):
    panel = widgets.DecryptPanel(kms, sealed)
    assert "name=value" in panel.try_decrypt(context="orders")


def test_the_decrypt_panel_click_and_text_are_deterministic(kms, sealed):
    panel = widgets.DecryptPanel(kms, sealed)
    assert repr(panel) == ("DecryptPanel(context 'table=orders, order_id=1001'; "
                           "no decryption tried yet)")
    panel.button.click()
    assert panel.results[0].startswith("✓")
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == repr(panel) and len(repr(panel)) <= 110


# -- sharp pictures, a steady plot area, the keyboard ----------------------------------------

def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_panel_pictures_are_rendered_at_twice_the_size_they_are_shown(kms, key, sealed):
    panel = widgets.RecordsPanel(kms, key, [sealed])
    for image, figure in ((panel.image, panel.figure), (panel.radius_image, panel.radius_figure)):
        shown = round(figure.get_figwidth() * figure.dpi)
        assert image.layout.width == f"{shown}px" and image.layout.max_width == "100%"
        width, height = _png_size(image.value)
        assert width == widgets.PANEL_SCALE * shown       # never scaled up, sharp at 2x DPI
        assert height == round(widgets.PANEL_SCALE * figure.get_figheight() * figure.dpi)


def test_the_plot_area_stays_put_as_the_legend_grows(kms, key):
    panel = TimeControls(kms, key)
    legend = len(panel.figure.axes[0].get_legend().legend_handles)
    box = panel.figure.axes[0].get_position().bounds
    panel.advance(years=1)                                # automatic rotation joins the legend,
    panel.rotate_now()                                    # then on-demand rotation
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    panel.redraw()                                        # and pending deletion
    assert len(panel.figure.axes[0].get_legend().legend_handles) > 4 >= legend   # a second row
    bottom, height = panel.figure.axes[0].get_position().bounds[1::2]
    assert (bottom, height) == pytest.approx(box[1::2])
    assert bottom == pytest.approx(widgets.PLOT_BOTTOM)


def _controls(widget):
    """Every widget in a panel's tree that a learner acts on (not layout boxes or text)."""
    import ipywidgets
    if isinstance(widget, ipywidgets.Box):
        for child in widget.children:
            yield from _controls(child)
    elif not isinstance(widget, (ipywidgets.HTML, ipywidgets.Image, ipywidgets.Label)):
        yield widget


def test_every_panel_control_is_a_focusable_widget_with_a_name(kms, key, sealed):
    """Keyboard use: buttons are ipywidgets Buttons/ToggleButtons (HTML buttons, reached with
    Tab, pressed with Enter or Space), the other controls are native inputs, and each has a
    description a screen reader can read."""
    import ipywidgets
    panels = [TimeControls(kms, key), widgets.RecordsPanel(kms, key, [sealed]),
              widgets.DecryptPanel(kms, sealed)]
    for panel in panels:
        controls = list(_controls(panel.widget))
        assert any(isinstance(c, ipywidgets.Button) for c in controls)
        for control in controls:
            assert isinstance(control, (ipywidgets.Button, ipywidgets.ToggleButton,
                                        ipywidgets.Text, ipywidgets.Dropdown,
                                        ipywidgets.IntSlider)), control
            assert control.description.strip(), control
            assert control.tabbable is not False, control


def test_the_colours_are_okabe_and_itos():
    from kmssim.lessons import plot
    okabe_ito = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
                 "#CC79A7"}                               # Okabe & Ito (2008), colour-blind safe
    assert set(plot.LANE_COLOURS) <= okabe_ito
    assert {style["color"] for style in plot.ROTATION_STYLE.values()} <= okabe_ito


def test_a_primary_waiting_for_its_replicas_says_so_in_the_status_line():
    from kmssim import Cloud
    cloud = Cloud(seed=1)
    east = cloud.region("us-east-1")
    key = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    east.replicate_key(KeyId=key, ReplicaRegion="us-west-2")
    east.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    panel = TimeControls(east, key)
    assert "key PendingReplicaDeletion" in panel.status_text()
