"""Simulated UTC time and the queue of events that fall due as it moves.

The `Clock` is the only owner of time in kmssim: nothing in the package reads the
wall clock. Scheduled entries are plain data ordered by ``(due, sequence)``, so two
entries due at the same instant always fire in the order they were scheduled.

The queue is a heap of the distinct due instants, each with the entries due then in
the order they were scheduled. A fleet of keys made together rotates together: 10,000
keys are 10,000 entries at one instant, and firing or scheduling one is then a
dictionary lookup, where a heap of the entries themselves cost a little more per entry
the more keys there were (a step towards superlinear advances).
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple, TypeVar

from kmssim.core._gc import collector_paused
from kmssim.core.errors import ValidationException

__all__ = ["Clock", "Due", "DEFAULT_START", "as_utc"]

#: Where a simulator's clock starts when no ``start`` is given.
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

T = TypeVar("T")


def as_utc(when: datetime) -> datetime:
    """``when`` as an aware UTC datetime; naive datetimes are read as UTC."""
    if not isinstance(when, datetime):
        raise ValidationException(f"Expected a datetime, got {type(when).__name__}.")
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


class Due(NamedTuple):
    """One scheduled entry: at ``due``, do ``kind`` (``"rotate"``/``"delete"``) to ``key_id``.

    A named tuple, so the entries themselves sit on the heap and compare in C, and
    firing one builds nothing (a frozen dataclass per entry cost ~0.8 us a rotation).
    """

    due: datetime
    sequence: int
    kind: str
    key_id: str


class Clock:
    """Simulated time with a queue of due entries.

    ``now`` only moves forward, through `run_until`. Entries are not cancelled when
    plans change; whoever fires them checks that they still apply, which keeps
    rescheduling cheap. (`cancel` exists only to undo a call that failed halfway.)
    """

    __slots__ = ("_now", "_instants", "_entries", "_sequence")

    def __init__(self, start: datetime | None = None) -> None:
        self._now = as_utc(start) if start is not None else DEFAULT_START
        # A heap of the distinct instants something is due at, and for each of them the
        # `Due` entry, or a deque of the entries in the order they were scheduled (their
        # sequence order) when there are several.
        self._instants: list[datetime] = []
        self._entries: dict[datetime, Due | deque[Due]] = {}
        self._sequence = itertools.count()

    @property
    def now(self) -> datetime:
        """The current simulated instant (UTC, timezone-aware). Read-only."""
        return self._now

    def schedule(self, due: datetime, kind: str, key_id: str) -> Due:
        """Queue ``kind`` for ``key_id`` at ``due`` (which may not be in the past)."""
        if due < self._now:
            raise ValueError(f"cannot schedule {kind} at {due}, before now ({self._now})")
        entry = Due(due, next(self._sequence), kind, key_id)
        entries = self._entries
        waiting = entries.get(due)
        if waiting is None:             # the first entry at this instant: kept bare
            entries[due] = entry
            heapq.heappush(self._instants, due)
        elif type(waiting) is Due:      # the second: the two go into a queue
            entries[due] = deque((waiting, entry))
        else:
            waiting.append(entry)
        return entry

    def _waiting(self, due: datetime) -> list[Due]:
        waiting = self._entries[due]
        return [waiting] if type(waiting) is Due else list(waiting)

    def cancel(self, entry: Due) -> None:
        """Take ``entry`` off the queue, as if it had never been scheduled."""
        rest = self._waiting(entry.due)
        rest.remove(entry)
        if rest:
            self._entries[entry.due] = rest[0] if len(rest) == 1 else deque(rest)
        else:
            del self._entries[entry.due]
            self._instants.remove(entry.due)
            heapq.heapify(self._instants)

    def pending(self) -> Iterator[Due]:
        """The queued entries in firing order (a snapshot)."""
        return iter([entry for due in sorted(self._entries) for entry in self._waiting(due)])

    def next_due(self) -> datetime | None:
        """When the earliest queued entry falls due, or None when the queue is empty."""
        return self._instants[0] if self._instants else None

    def run_until(self, target: datetime, fire: Callable[[Due], T | None]) -> list[T]:
        """Move time to ``target``, firing every entry due at or before it.

        Entries due *exactly* at ``target`` fire. Each fires with ``now`` set to its
        own due instant, so a jump over several periods performs each at its time.
        ``fire`` may schedule more entries; those due by ``target`` fire in this call
        too. Returns what ``fire`` returned for each entry, skipping ``None``.
        Raises `ValidationException` if ``target`` is before ``now``.
        """
        fired, _ = self.run_some(target, fire)
        return fired

    def run_some(self, target: datetime, fire: Callable[[Due], T | None],
                 deadline: float | None = None) -> tuple[list[T], bool]:
        """Like `run_until`, but stop early once ``time.perf_counter()`` passes
        ``deadline`` (checked after each entry fired, so at least one fires).

        Returns what was fired and whether ``target`` was reached. When it stops early,
        ``now`` is the due instant of the last entry fired, and calling again with the
        same ``target`` carries on.
        """
        target = as_utc(target)
        if target < self._now:
            raise ValidationException(
                f"Simulated time cannot go backwards: {target.isoformat()} is before "
                f"now ({self._now.isoformat()}).")
        fired: list[T] = []
        instants = self._instants
        if instants and instants[0] <= target:
            # 10 years over 10,000 keys fires 400,000 rotations, each leaving a few
            # long-lived objects; see `collector_paused` for why the collector waits.
            with collector_paused():
                entries, pop = self._entries, heapq.heappop
                while instants and instants[0] <= target:
                    due = instants[0]
                    entry = entries[due]
                    if type(entry) is Due:
                        pop(instants)
                        del entries[due]
                    else:
                        waiting = entry
                        entry = waiting.popleft()
                        if not waiting:
                            pop(instants)
                            del entries[due]
                    self._now = due
                    result = fire(entry)
                    if result is not None:
                        fired.append(result)
                    if deadline is not None and instants and instants[0] <= target \
                            and time.perf_counter() > deadline:
                        return fired, False
        self._now = target
        return fired, True

    def restore(self, now: datetime, entries: list[tuple[datetime, str, str]]) -> None:
        """Reset to ``now`` with ``entries`` queued in the given order (used by load)."""
        self._now = as_utc(now)
        self._instants = []
        self._entries = {}
        self._sequence = itertools.count()
        for due, kind, key_id in entries:
            self.schedule(as_utc(due), kind, key_id)
