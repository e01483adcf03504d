"""`Table`: rows of a query answer, shown as plain text or as an HTML table in Jupyter.

The audit, compliance and cost questions (`kmssim.analysis.auditing`, `kmssim.analysis.compliance`,
`kmssim.analysis.cost`) answer with a `Table`: a list of dicts with fixed columns that prints
the same text on every run (so lessons pass strict nbval) and renders as an HTML
table in a notebook, without pandas. ``table.rows`` is the plain data.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["Table", "cell_text"]

#: How many rows the text and HTML forms show before eliding the middle.
TEXT_ROWS = 30
HTML_ROWS = 60


def cell_text(value: Any) -> str:
    """How a value looks in a table cell: dates to the minute, floats to 2 places."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


@dataclass(frozen=True, slots=True)
class Table:
    """An answer with named columns; iterate it for its rows (dicts).

    ``len(table)`` counts rows, ``table[0]`` is the first row, ``table.column("key")``
    one column, ``table.where(rule="rotation-enabled")`` the rows matching,
    ``table.head(3)`` the first three.
    """

    columns: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...]
    title: str = ""

    @classmethod
    def of(cls, columns: Sequence[str], rows: Sequence[Mapping[str, Any]],
           title: str = "") -> Table:
        """A table of ``rows`` (dicts) showing ``columns`` in that order."""
        return cls(tuple(columns), tuple(dict(row) for row in rows), title)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> Mapping[str, Any]:
        return self.rows[index]

    def column(self, name: str) -> list[Any]:
        """The values of one column, top to bottom."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; the columns are {', '.join(self.columns)}")
        return [row.get(name) for row in self.rows]

    def where(self, **equal: Any) -> Table:
        """The rows whose columns equal the values given, e.g. ``where(rule="x")``; the
        title says which."""
        for name in equal:
            self.column(name)  # raises KeyError naming the columns
        rows = [row for row in self.rows if all(row.get(k) == v for k, v in equal.items())]
        condition = ", ".join(f"{k}={cell_text(v)}" for k, v in equal.items())
        return Table(self.columns, tuple(rows),
                     f"{self.title}, where {condition}" if self.title and equal else self.title)

    def head(self, n: int = 5) -> Table:
        """The first ``n`` rows (the title says how many there are in all)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError("head(n) takes a whole number of rows, 0 or more")
        title = f"{self.title} (first {n} of {len(self.rows)})" if len(self.rows) > n \
            else self.title
        return Table(self.columns, self.rows[:n], title)

    def to_dicts(self) -> list[dict[str, Any]]:
        """The rows as fresh dicts (only the shown columns)."""
        return [{name: row.get(name) for name in self.columns} for row in self.rows]

    # -- display ---------------------------------------------------------------
    def _shown(self, limit: int) -> tuple[list[Mapping[str, Any]], int]:
        """The rows to display and how many were left out of the middle."""
        if len(self.rows) <= limit:
            return list(self.rows), 0
        head = limit - 5
        return list(self.rows[:head]) + list(self.rows[-5:]), len(self.rows) - limit

    def __repr__(self) -> str:
        shown, hidden = self._shown(TEXT_ROWS)
        cells = [[cell_text(row.get(name)) for name in self.columns] for row in shown]
        widths = [max([len(name)] + [len(line[i]) for line in cells])
                  for i, name in enumerate(self.columns)]

        def join(texts: list[str]) -> str:
            return "  ".join(t.ljust(w) for t, w in zip(texts, widths, strict=True)).rstrip()

        lines = [self.title] if self.title else []
        lines += [join(list(self.columns)), join(["-" * w for w in widths])]
        for number, line in enumerate(cells):
            if hidden and number == len(cells) - 5:
                lines.append(f"… {hidden} more rows …")
            lines.append(join(line))
        if not cells:
            lines.append("(no rows)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        shown, hidden = self._shown(HTML_ROWS)
        out = ['<table class="kmssim-table">']
        if self.title:
            out.append(f"<caption>{html.escape(self.title)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{html.escape(name)}</th>"
                                            for name in self.columns) + "</tr></thead><tbody>")
        for number, row in enumerate(shown):
            if hidden and number == len(shown) - 5:
                out.append(f'<tr><td colspan="{len(self.columns)}">… {hidden} more rows …'
                           "</td></tr>")
            out.append("<tr>" + "".join(f"<td>{html.escape(cell_text(row.get(name)))}</td>"
                                        for name in self.columns) + "</tr>")
        if not shown:
            out.append(f'<tr><td colspan="{len(self.columns)}">(no rows)</td></tr>')
        out.append("</tbody></table>")
        return "".join(out)
