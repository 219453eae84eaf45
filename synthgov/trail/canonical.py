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


def nesting_depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` goes (0 for a scalar), counted
    without recursion so that any depth can be measured."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
