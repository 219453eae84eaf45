"""What every check reads: the configuration, the frames and their prepared columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from audits.checks.base import AuditConfig, MetricResult, RealAncestor
from audits.checks.encoding import PreparedColumn, PreparedData, row_hashes


@dataclass
class AuditContext:
    """Inputs of one audit run. ``ancestor`` is the collapse family's input (None when
    the caller gave none). ``cache`` lets checks of a family share work (for example the
    nearest-neighbour distances used by several privacy figures)."""

    config: AuditConfig
    real: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame | None
    data: PreparedData
    registry_facts: dict[str, Any]
    ancestor: RealAncestor | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    def column(self, name: str) -> PreparedColumn:
        return self.data.columns[name]

    def row_hashes(self, frame: str) -> np.ndarray:
        """Hash of every row of ``frame`` over all prepared columns (cached: the copy and
        duplicate checks share it)."""
        key = ("row_hashes", frame)
        if key not in self.cache:
            self.cache[key] = row_hashes(list(self.data.columns.values()), frame)
        return self.cache[key]

    @property
    def audited_columns(self) -> list[PreparedColumn]:
        """Columns compared between frames: everything but identifiers and free text."""
        return [c for c in self.data.columns.values() if not c.spec.excluded_from_distances]


Step = tuple[str, Callable[[AuditContext], list[MetricResult]]]
