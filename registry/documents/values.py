"""JSON values the PROV-JSON and Croissant documents write the same way:
times, slugs, numbers, links, and objects without empty facts. Plain Python.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

_SLUG_UNSAFE = re.compile(r"[^a-z0-9.]+")


def iso_time(moment: datetime) -> str:
    # Naive datetimes are taken as UTC, as Django stores them.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def slug(text: str) -> str:
    return _SLUG_UNSAFE.sub("-", text.lower()).strip("-.") or "unnamed"


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def absolute_url(base: str, url: str) -> str:
    """``url`` made absolute against ``base`` if it is a site path; http(s) links as
    they are; anything else becomes ""."""
    if url.startswith("/") and not url.startswith("//"):
        return base + url
    return url if urlsplit(url).scheme in {"http", "https"} else ""


def compact(attrs: dict[str, Any]) -> dict[str, Any]:
    """Drop unknown facts rather than writing empty strings or nulls."""
    return {k: v for k, v in attrs.items() if v is not None and v != ""}
