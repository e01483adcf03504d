"""`Table.head` and the titles `where` and `head` give: what the lessons show of long answers."""

from __future__ import annotations

import pytest

from kmssim.core.table import Table


@pytest.fixture
def numbers() -> Table:
    return Table.of(("n", "odd"), [{"n": i, "odd": bool(i % 2)} for i in range(10)], "numbers")


def test_head_keeps_the_first_rows_and_says_how_many_there_were(numbers):
    first = numbers.head(3)
    assert first.column("n") == [0, 1, 2] and first.columns == numbers.columns
    assert first.title == "numbers (first 3 of 10)"
    assert numbers.head().column("n") == [0, 1, 2, 3, 4]
    assert numbers.head(20).title == "numbers" and len(numbers.head(20)) == 10
    assert len(numbers.head(0)) == 0


def test_head_refuses_what_is_not_a_row_count(numbers):
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="whole number"):
            numbers.head(bad)


def test_where_says_which_rows_it_kept(numbers):
    odd = numbers.where(odd=True)
    assert odd.title == "numbers, where odd=yes" and odd.column("n") == [1, 3, 5, 7, 9]
    assert odd.head(2).title == "numbers, where odd=yes (first 2 of 5)"
    assert repr(odd.head(2)).splitlines()[0] == "numbers, where odd=yes (first 2 of 5)"
    untitled = Table.of(("n",), [{"n": 1}])
    assert untitled.where(n=1).title == "" and numbers.where().title == "numbers"
