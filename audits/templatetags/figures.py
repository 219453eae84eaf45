"""How an audit figure reads on every page: one number format and one anchor.

- ``{{ value|figure }}``: a figure to sensible precision (three significant
  digits, whole numbers as they are): 0.051510899999999804 reads 0.0515,
  12345.678 reads 12,346, 3.0 reads 3; None reads "—".
- ``{{ key|figure_anchor }}``: the id of a figure's row in an audit report
  (``figure-quality-overall`` for ``quality.overall``), so any page can link
  to ``{% url 'audits:run' run_id %}#{{ key|figure_anchor }}``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from django import template

register = template.Library()

_UNSAFE = re.compile(r"[^a-z0-9]+")


@register.filter
def figure(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "∞" if value > 0 else ("−∞" if value < 0 else "not a number")
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    if "e" in text:  # tiny values: plain decimals up to 6 places, else scientific
        return f"{value:.6f}".rstrip("0").rstrip(".") if abs(value) >= 1e-6 else text
    return text


@register.filter
def figure_anchor(key: str) -> str:
    return "figure-" + _UNSAFE.sub("-", str(key).lower()).strip("-")
