"""Values shown back as a user entered them, not as Python prints them.

- ``{{ value|as_entered }}``: a threshold or tolerance exactly as set (never
  rounded, unlike a measured figure, which goes through ``|figure``): ``0.75``,
  ``500`` for 500.0, ``EU, DE`` for a list, ``true``; empty for None.
- ``{{ value|pretty_json }}``: a JSON value as indented JSON (``{"score": 0.2}``,
  not ``{'score': 0.2}``), for a ``<pre><code>`` block.
"""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def as_entered(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(as_entered(v) for v in value)
    return str(value)


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)
