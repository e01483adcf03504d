"""Limit/Marker paging as the List* operations of KMS do it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from kmssim.core import params
from kmssim.core.errors import InvalidMarkerException

T = TypeVar("T")

# The markers this module hands out: "kmssim:" and an offset in ASCII digits. A full
# match on [0-9] (not str.isdigit, which also accepts "²" and other digits int() refuses).
_MARKER = re.compile(r"kmssim:([0-9]{1,12})")


def page(items: Sequence[T], limit: Any, marker: Any, *, default: int = 100,
         high: int = 1000) -> tuple[Sequence[T], dict[str, Any]]:
    """One page of ``items`` and the ``Truncated``/``NextMarker`` fields for the response.

    Markers are opaque to callers; here they hold the offset of the next item.
    """
    size = default if limit is None else params.integer("Limit", limit, 1, high)
    start = 0
    if marker is not None:
        matched = _MARKER.fullmatch(marker) if isinstance(marker, str) else None
        if matched is None or int(matched.group(1)) > len(items):
            raise InvalidMarkerException(f"Marker {marker!r} is not one this service returned.")
        start = int(matched.group(1))
    chunk = items[start:start + size]
    more = start + size < len(items)
    fields: dict[str, Any] = {"Truncated": more}
    if more:
        fields["NextMarker"] = f"kmssim:{start + size}"
    return chunk, fields
