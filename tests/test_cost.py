"""The cost model against figures worked out by hand (the arithmetic is in each test)."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest

from kmssim import KMS
from kmssim.core.errors import InvalidCiphertextException
from kmssim.analysis.cost import (
    CURRENT, PRE_2024, Pricing, compare_pricing, monthly_costs, total_cost,
)


def _at(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def _yearly_key(start: datetime) -> KMS:
    kms = KMS(seed=71, start=start)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key)               # every 365 days from creation
    return kms


def test_five_years_of_yearly_rotation_under_both_price_models():
    kms = _yearly_key(_at(2025, 1))
    kms.advance_to(_at(2030, 1))
    # Rotations: 2026-01-01, 2027-01-01, 2028-01-01, 2028-12-31 (2028 is a leap year),
    # 2029-12-31.
    # Today: 12 × $1 (2025) + 12 × $2 (2026) + 36 × $3 (2027–2029, capped) = $144.
    assert total_cost(kms, CURRENT) == pytest.approx(144)
    # Before April 2024 every rotation added $1/month:
    #   2025: 12 × 1 = 12;  2026: 12 × 2 = 24;  2027: 12 × 3 = 36;
    #   2028: 11 × 4 + December (30 days × $4 + 1 day × $5) / 31 = 44 + 125/31;
    #   2029: 11 × 5 + December (30 days × $5 + 1 day × $6) / 31 = 55 + 156/31;
    #   total = 171 + 281/31 = 180 + 2/31.
    assert total_cost(kms, PRE_2024) == pytest.approx(180 + 2 / 31)
    table = monthly_costs(kms)
    assert len(table) == 60 and table[0]["month"] == "2025-01" and table[-1]["month"] == "2029-12"
    assert table[0]["requests"] == 2 and table[0]["requests $"] == 0   # within the free tier
    assert [table[i]["rotations $"] for i in (0, 12, 24, 59)] == [0, 1, 2, 2]


def test_storage_is_prorated_within_the_month():
    kms = KMS(seed=72, start=_at(2025, 1, 16))
    kms.create_key()
    kms.advance_to(_at(2025, 3))
    # January has 31 days; the key exists for 16 of them (16th to 31st): 16/31 of $1.
    costs = monthly_costs(kms)
    assert costs.column("storage $") == pytest.approx([16 / 31, 1.0])
    assert costs[0]["key-months"] == pytest.approx(16 / 31, abs=1e-6)


def test_keys_pending_deletion_are_not_billed_unless_the_deletion_is_cancelled():
    kms = KMS(seed=73, start=_at(2025, 1))
    deleted = kms.create_key()["KeyMetadata"]["KeyId"]
    kept = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.advance_to(_at(2025, 2))
    kms.schedule_key_deletion(KeyId=kept, PendingWindowInDays=30)
    kms.advance_to(_at(2025, 2, 10))
    kms.cancel_key_deletion(KeyId=kept)               # billed as if never scheduled
    kms.enable_key(KeyId=kept)
    kms.advance_to(_at(2025, 3))
    kms.schedule_key_deletion(KeyId=deleted, PendingWindowInDays=30)
    kms.advance_to(_at(2025, 5))                       # deleted on 2025-03-31
    # deleted: January $1 + February $1, nothing from 1 March on = $2.
    assert total_cost(kms, keys=[deleted]) == pytest.approx(2)
    # kept: four whole months = $4.
    assert total_cost(kms, keys=[kept]) == pytest.approx(4)
    assert monthly_costs(kms).column("storage $") == pytest.approx([2, 2, 1, 1])


def test_aws_managed_keys_cost_nothing_to_store_but_their_requests_count():
    kms = KMS(seed=74, start=_at(2025, 1))
    kms.describe_key(KeyId="alias/aws/s3")             # creates the AWS managed key
    kms.advance_to(_at(2027, 1))                       # it rotates yearly: still free
    costs = monthly_costs(kms)
    assert sum(costs.column("storage $")) == 0 and sum(costs.column("rotations $")) == 0
    assert costs[0]["requests"] == 1


def test_requests_beyond_the_free_tier_cost_three_cents_per_ten_thousand():
    kms = KMS(seed=75, start=_at(2025, 1))
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(20_100):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    with pytest.raises(InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=b"not a ciphertext")   # refused: not billed
    kms.advance_to(_at(2025, 3))
    january, february = monthly_costs(kms)
    # 1 CreateKey + 20,100 Encrypt = 20,101 requests; 101 beyond the free 20,000:
    # 101 × $0.03 / 10,000 = $0.000303.
    assert january["requests"] == 20_101 and january["billable requests"] == 101
    assert january["requests $"] == pytest.approx(0.000303)
    assert january["total $"] == pytest.approx(1.000303)
    assert february["requests"] == 0 and february["total $"] == pytest.approx(1)


def test_on_demand_rotations_count_like_automatic_ones():
    kms = KMS(seed=76, start=_at(2025, 1))
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(3):
        kms.rotate_key_on_demand(KeyId=key)
    kms.advance_to(_at(2025, 2))
    # Three rotations at once: today $1 + 2 × $1 (capped) = $3; before 2024 $1 + 3 × $1 = $4.
    assert total_cost(kms) == pytest.approx(3) and total_cost(kms, PRE_2024) == pytest.approx(4)


def test_a_custom_price_list_and_a_key_filter():
    kms = KMS(seed=77, start=_at(2025, 1))
    busy = kms.create_key()["KeyMetadata"]["KeyId"]
    idle = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(30):
        kms.encrypt(KeyId=busy, Plaintext=b"x")
    kms.advance_to(_at(2025, 2))
    cheap = Pricing("test", key_month=2.0, per_10k_requests=10_000.0, free_requests=10)
    # busy: $2 storage + (1 CreateKey + 30 Encrypt - 10 free) × $1 = $23.
    assert total_cost(kms, cheap, keys=[busy]) == pytest.approx(23)
    # idle: $2 storage; its 1 request is within the free tier.
    assert total_cost(kms, cheap, keys=[idle]) == pytest.approx(2)


def test_compare_pricing_keeps_running_totals_and_can_stop_early():
    kms = _yearly_key(_at(2025, 1))
    kms.advance_to(_at(2030, 1))
    table = compare_pricing(kms, until=_at(2028, 1))
    assert len(table) == 36 and table[-1]["month"] == "2027-12"
    # Until the end of 2027 the cap has not mattered yet: 12 + 24 + 36 = $72 either way.
    assert table[-1]["current, so far $"] == pytest.approx(72)
    assert table[-1]["pre-2024, so far $"] == pytest.approx(72)
    full = compare_pricing(kms)
    assert full[-1]["pre-2024, so far $"] - full[-1]["current, so far $"] == pytest.approx(
        36 + 2 / 31)
    assert monthly_costs(KMS(seed=1)).rows == ()       # no keys, no months


def test_the_cost_plot_draws_both_models():
    pytest.importorskip("matplotlib")
    from kmssim.lessons.plot_cost import plot_costs

    kms = _yearly_key(_at(2025, 1))
    kms.advance_to(_at(2027, 1))
    figure = plot_costs(kms)
    left, right = figure.axes
    assert len(left.patches) == 2 * 24 and len(right.lines) == 2
    assert [text.get_text() for text in left.get_legend().get_texts()] == [
        "old prices (before April 2024)", "today's prices (since April 2024)"]


def test_the_cost_plot_shows_itself_as_png_and_labels_dollars():
    # A plain matplotlib Figure made without pyplot shows only as text in Jupyter.
    pytest.importorskip("matplotlib")
    from kmssim.lessons.plot_cost import plot_costs
    from kmssim.lessons.plot import Figure

    kms = _yearly_key(_at(2025, 1))
    kms.advance_to(_at(2027, 1))
    figure = plot_costs(kms)
    assert isinstance(figure, Figure)
    assert figure._repr_png_().startswith(b"\x89PNG")
    for axes in figure.axes:
        low, high = axes.get_ylim()
        labels = [tick.get_text() for tick, at in zip(axes.get_yticklabels(),
                                                      axes.get_yticks(), strict=True)
                  if low <= at <= high]                          # the ticks one can see
        assert labels[0] == "$0" and all(label.startswith("$") for label in labels)
        assert not any("." in label for label in labels)        # whole dollars only
