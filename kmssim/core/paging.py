"""Limit/Marker paging as the List* operations of KMS do it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from kmssim.core import params
from kmssim.core.errors import InvalidMarkerException

T = TypeVar("T")


def page(items: Sequence[T], limit: Any, marker: Any, *, default: int = 100,
         high: int = 1000) -> tuple[Sequence[T], dict[str, Any]]:
    """One page of ``items`` and the ``Truncated``/``NextMarker`` fields for the response.

    Markers are opaque to callers; here they hold the offset of the next item.
    """
    size = default if limit is None else params.integer("Limit", limit, 1, high)
    start = 0
    if marker is not None:
        if not (isinstance(marker, str) and marker.startswith("kmssim:")
                and marker[7:].isascii() and marker[7:].isdigit()  # "²" is a digit too
                and int(marker[7:]) <= len(items)):
            raise InvalidMarkerException(f"Marker {marker!r} is not one this service returned.")
        start = int(marker[7:])
    chunk = items[start:start + size]
    more = start + size < len(items)
    fields: dict[str, Any] = {"Truncated": more}
    if more:
        fields["NextMarker"] = f"kmssim:{start + size}"
    return chunk, fields
