"""Canonical JSON: one byte string for one value, so hashes are reproducible.

Keys sorted, no insignificant whitespace, UTF-8, and no floats that are not
finite (NaN has no JSON form and would make two equal payloads differ).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
