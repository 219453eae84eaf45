"""Missing-value markers a curator declares for a file: values such as ``?``
(UCI Adult) or ``-999`` that mean "no value" in that file.

Cells equal to a marker, ignoring surrounding spaces, are read as missing by
``registry.ingest.read_frame`` and ``sample_frame`` (through ``TableInfo``),
besides blank cells and pandas' usual tokens (``NA``, ``null``, ``NaN``...),
which are missing already. The stored file keeps its bytes as uploaded.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

MAX_MISSING_MARKERS = 20
MAX_MARKER_LENGTH = 40


class MarkerError(ValueError):
    """The declared markers cannot be used; the message says why, for the curator."""


def parse_missing_markers(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    """The markers in ``raw`` (comma-separated text, or a list of values), trimmed,
    in the order given, each once.

    Empty entries (``"?, ,-"`` or a trailing comma) are dropped: blank cells are
    missing already, so an empty marker is never needed. Raises ``MarkerError``
    for too many or too long markers, a marker holding a comma (text form) or a
    line break, tab or other control character.
    """
    if raw is None:
        return ()
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    markers: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise MarkerError("Each missing-value marker must be text, such as ? or -999.")
        marker = item.strip()
        if not marker:
            continue
        if any(unicodedata.category(ch).startswith("C") for ch in marker):
            raise MarkerError(
                f"The marker {marker[:MAX_MARKER_LENGTH]!r} holds a line break, tab or other "
                "control character; a marker is the text of one cell, such as ?."
            )
        if not isinstance(raw, str) and "," in marker:
            raise MarkerError(
                f"The marker {marker[:MAX_MARKER_LENGTH]!r} holds a comma; give each marker "
                "as its own entry."
            )
        if len(marker) > MAX_MARKER_LENGTH:
            raise MarkerError(
                f"The marker {marker[:MAX_MARKER_LENGTH]!r}… is longer than "
                f"{MAX_MARKER_LENGTH} characters; a marker is a short code such as ? or n/a."
            )
        if marker not in markers:
            markers.append(marker)
    if len(markers) > MAX_MISSING_MARKERS:
        raise MarkerError(
            f"{len(markers)} missing-value markers were given; at most "
            f"{MAX_MISSING_MARKERS} are allowed. List only the codes this file uses for "
            "“no value”."
        )
    return tuple(markers)
