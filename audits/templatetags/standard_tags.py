"""How a standard's rule reads on its pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def threshold_text(value: Any) -> str:
    """``{{ rule.threshold|threshold_text }}``: a threshold exactly as the standard sets
    it (never rounded, unlike a measured figure): ``0.75``, ``EU, DE`` for a list,
    ``true``; empty when the rule has none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(threshold_text(v) for v in value)
    return str(value)
