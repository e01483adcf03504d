"""The alias table: alias name → (target key id, created, last updated), indexed by key.

A plain dict would answer "which aliases name this key?" by scanning every alias, so
a timeline or a fleet of thousands of keys (each asking once per key) grew with the
square of the key count. `AliasTable` is that dict, plus an index from key id to its
alias names kept in step on every change, so the question costs the key's own aliases.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

__all__ = ["AliasTable", "Entry"]

Entry = tuple[str, datetime, datetime]   # (target key id, created, last updated)


class AliasTable(dict[str, Entry]):
    """A dict of alias entries that also knows each key's aliases (see `names_of`)."""

    __slots__ = ("_by_key",)

    def __init__(self, entries: Iterable[tuple[str, Entry]] | dict[str, Entry] = ()) -> None:
        super().__init__()
        self._by_key: dict[str, set[str]] = {}
        for name, entry in (entries.items() if isinstance(entries, dict) else entries):
            self[name] = entry

    def names_of(self, key_id: str) -> list[str]:
        """The alias names that point to ``key_id``, sorted."""
        return sorted(self._by_key.get(key_id, ()))

    def count_of(self, key_id: str) -> int:
        """How many aliases point to ``key_id``."""
        return len(self._by_key.get(key_id, ()))

    def __setitem__(self, name: str, entry: Entry) -> None:
        old = dict.get(self, name)
        if old is not None:
            self._unlink(name, old[0])
        dict.__setitem__(self, name, entry)
        self._by_key.setdefault(entry[0], set()).add(name)

    def __delitem__(self, name: str) -> None:
        entry = dict.__getitem__(self, name)
        dict.__delitem__(self, name)
        self._unlink(name, entry[0])

    def _unlink(self, name: str, key_id: str) -> None:
        names = self._by_key.get(key_id)
        if names is not None:
            names.discard(name)
            if not names:
                del self._by_key[key_id]

    def pop(self, name: str, *default: Any) -> Any:
        if name in self:
            entry = dict.__getitem__(self, name)
            del self[name]
            return entry
        if default:
            return default[0]
        raise KeyError(name)

    def popitem(self) -> tuple[str, Entry]:
        name, entry = dict.popitem(self)
        self._unlink(name, entry[0])
        return name, entry

    def setdefault(self, name: str, default: Any = None) -> Any:
        if name not in self:
            self[name] = default
        return dict.__getitem__(self, name)

    def update(self, *others: Any, **more: Entry) -> None:  # type: ignore[override]
        for other in others:
            for name, entry in (other.items() if hasattr(other, "items") else other):
                self[name] = entry
        for name, entry in more.items():
            self[name] = entry

    def __ior__(self, other: Any) -> AliasTable:  # type: ignore[override]
        self.update(other)
        return self

    def clear(self) -> None:
        dict.clear(self)
        self._by_key.clear()

    def copy(self) -> AliasTable:  # type: ignore[override]
        return AliasTable(self)

    def __reduce__(self) -> Any:
        return (AliasTable, (dict(self),))
