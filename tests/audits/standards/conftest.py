"""Fixtures for the standards engine's tests. No database."""

from __future__ import annotations

import pytest

from audits.standards.engine import StandardSpec
from tests.audits.standards.builders import base_standard


@pytest.fixture
def known() -> dict[str, StandardSpec]:
    base = base_standard()
    return {base.ref: base}
