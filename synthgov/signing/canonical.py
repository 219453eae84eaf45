"""Canonical JSON: one byte string for one value, so hashes and signatures are
reproducible. Every hash and signature in SynthGov covers these bytes.

Keys sorted, no insignificant whitespace, UTF-8 (not ASCII escapes), and no
floats that are not finite (NaN has no JSON form and would make two equal
payloads differ). Numbers are written as Python writes them; a later change
moves to RFC 8785 (JCS), which writes some floats differently.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """The exact bytes that are hashed or signed for ``value``."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
