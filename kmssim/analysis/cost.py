"""What KMS costs, month by month, over simulated time, under today's and the old prices.

`monthly_costs` reads every key's life (``kms.history``) and the audit trail, and
prices each calendar month:

- **key storage**: $1 per customer managed key per month, prorated (a key that exists
  for half of March costs $0.50 for March). AWS managed keys are free to store; keys
  pending deletion are not billed (a cancelled deletion is billed as if never
  scheduled, so only the final, real deletion stops the bill);
- **rotations**: today (since April 2024) the first and second rotation of a key each
  add $1 per month, and later ones nothing, so a key costs at most $3 a month. Before
  April 2024 every rotation added $1 per month, for ever. Automatic and on-demand
  rotations count alike;
- **requests**: $0.03 per 10,000 requests beyond the free tier of 20,000 per month.

AWS prorates hourly; kmssim prorates to the second, which differs by at most an hour's
share per key and month. AWS does not say whether refused requests are billed: kmssim
bills only requests that succeeded, all at the symmetric-key price (asymmetric
operations cost more in AWS; the simulator's lessons use symmetric keys). Prices are
US East list prices, in dollars, as floats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from kmssim.core import Table

if TYPE_CHECKING:
    from kmssim.core import KMS, KeyHistory

__all__ = ["Pricing", "CURRENT", "PRE_2024", "monthly_costs", "compare_pricing", "total_cost",
           "key_rate"]


@dataclass(frozen=True, slots=True)
class Pricing:
    """A price list. ``billed_rotations`` is how many rotations add to the monthly fee
    (None: every one)."""

    name: str
    key_month: float = 1.0
    rotation_month: float = 1.0
    billed_rotations: int | None = 2
    per_10k_requests: float = 0.03
    free_requests: int = 20_000


#: Prices since April 2024: only the first two rotations add $1/month each.
CURRENT = Pricing("current prices (since April 2024)")
#: Prices before April 2024: every rotation added $1/month.
PRE_2024 = Pricing("prices before April 2024", billed_rotations=None)


def _month(when: datetime, offset: int = 0) -> datetime:
    year, month = divmod(when.month - 1 + offset, 12)
    return when.replace(year=when.year + year, month=month + 1, day=1, hour=0, minute=0,
                        second=0, microsecond=0)


def _billing_end(key: KeyHistory, until: datetime) -> datetime:
    """When the key stopped being billed: entering its final PendingDeletion, or never."""
    if key.state in ("PendingDeletion", "Deleted"):
        return max(c.at for c in key.states if c.state == "PendingDeletion")
    return until


def key_rate(key: KeyHistory, pricing: Pricing) -> list[tuple[datetime, float]]:
    """The key's monthly fee as steps ``(from, dollars per month)``, starting at its
    creation. AWS managed keys cost nothing to store."""
    if key.manager != "CUSTOMER":
        return [(key.created, 0.0)]
    steps = [(key.created, pricing.key_month)]
    for count, version in enumerate(key.versions[1:], start=1):
        billed = count if pricing.billed_rotations is None else min(count,
                                                                    pricing.billed_rotations)
        steps.append((version.created, pricing.key_month + billed * pricing.rotation_month))
    return steps


def _storage(key: KeyHistory, pricing: Pricing, month: datetime, until: datetime
             ) -> tuple[float, float, float]:
    """(key-months, storage dollars, rotation dollars) of ``key`` in ``month``."""
    start, end = month, min(_month(month, 1), until)
    full = (_month(month, 1) - month).total_seconds()
    stop = _billing_end(key, until)
    steps = key_rate(key, pricing)
    share = storage = rotation = 0.0
    for (begin, rate), following in zip(steps, steps[1:] + [(stop, 0.0)], strict=True):
        lo, hi = max(begin, start), min(following[0], end, stop)
        if hi > lo:
            fraction = (hi - lo).total_seconds() / full
            base = pricing.key_month if rate else 0.0
            share += fraction if rate else 0.0
            storage += fraction * base
            rotation += fraction * (rate - base)
    return share, storage, rotation


def monthly_costs(kms: KMS, pricing: Pricing = CURRENT, *, keys: Iterable[str] | None = None,
                  until: datetime | None = None) -> Table:
    """One row per calendar month from the first key's creation to ``until`` (default:
    now): key-months billed, storage, rotation surcharge, requests (and those beyond
    the free tier), request cost, total, all in dollars.

    ``keys`` limits it to some keys (ids or ARNs), requests included, as if they were
    the account's only keys (the free tier then applies to them alone).
    """
    until = until or kms.now
    wanted = None if keys is None else {kms.history(k).key_id for k in keys}
    histories = [kms.history(k) for k in kms.key_ids(include_deleted=True)
                 if wanted is None or k in wanted]
    requests: Counter[datetime] = Counter()
    for event in kms.trail:
        if event.event_type == "AwsApiCall" and event.error_code is None \
                and event.time < until and (wanted is None or (
                    event.key_arn is not None and event.key_arn.rsplit("/", 1)[-1] in wanted)):
            requests[_month(event.time)] += 1
    rows = []
    if histories:
        month = _month(min(k.created for k in histories))
        while month < until:
            shares = [_storage(key, pricing, month, until) for key in histories]
            count = requests[month]
            billable = max(0, count - pricing.free_requests)
            request_cost = billable * pricing.per_10k_requests / 10_000
            storage = sum(s for _, s, _ in shares)
            rotation = sum(r for _, _, r in shares)
            rows.append({"month": month.strftime("%Y-%m"),
                         "key-months": round(sum(n for n, _, _ in shares), 6),
                         "storage $": storage, "rotations $": rotation, "requests": count,
                         "billable requests": billable, "requests $": request_cost,
                         "total $": storage + rotation + request_cost})
            month = _month(month, 1)
    return Table.of(("month", "key-months", "storage $", "rotations $", "requests",
                     "billable requests", "requests $", "total $"), rows,
                    f"KMS cost per month, {pricing.name}")


def total_cost(kms: KMS, pricing: Pricing = CURRENT, *, keys: Iterable[str] | None = None,
               until: datetime | None = None) -> float:
    """The sum of `monthly_costs`' totals, in dollars."""
    return sum(monthly_costs(kms, pricing, keys=keys, until=until).column("total $"))


def compare_pricing(kms: KMS, *, keys: Iterable[str] | None = None,
                    until: datetime | None = None) -> Table:
    """Each month's total under today's prices and under the pre-April-2024 prices,
    with running totals: what the 2024 change saves as keys keep rotating."""
    keys = None if keys is None else list(keys)
    now = monthly_costs(kms, CURRENT, keys=keys, until=until)
    old = monthly_costs(kms, PRE_2024, keys=keys, until=until)
    rows, running_now, running_old = [], 0.0, 0.0
    for new_row, old_row in zip(now, old, strict=True):
        running_now += new_row["total $"]
        running_old += old_row["total $"]
        rows.append({"month": new_row["month"], "current $": new_row["total $"],
                     "pre-2024 $": old_row["total $"], "current, so far $": running_now,
                     "pre-2024, so far $": running_old})
    return Table.of(("month", "current $", "pre-2024 $", "current, so far $",
                     "pre-2024, so far $"), rows, "KMS cost: current vs pre-April-2024 prices")
