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
class AuditFrames:
    """The input tables handed to ``run_audit``. It empties this holder once the columns
    are prepared, so the frames are freed when the caller keeps no other reference."""

    real: pd.DataFrame | None
    synthetic: pd.DataFrame | None
    holdout: pd.DataFrame | None = None

    def release(self) -> None:
        self.real = self.synthetic = self.holdout = None


@dataclass
class AuditContext:
    """Inputs of one audit run. ``ancestor`` is the collapse family's input (None when
    the caller gave none). ``cache`` lets checks of a family share work (for example the
    nearest-neighbour distances used by several privacy figures).

    The raw frames are read only while preparing: ``run_audit`` computes what the checks
    need from them first (``frame_reads`` in the runner) and then sets them to None, so
    a check reads ``data`` (prepared columns) or a cached early result. ``synthetic``
    stays when the collapse family runs (it compares the raw synthetic table with the
    ancestor's)."""

    config: AuditConfig
    real: pd.DataFrame | None
    synthetic: pd.DataFrame | None
    holdout: pd.DataFrame | None
    data: PreparedData
    registry_facts: dict[str, Any]
    ancestor: RealAncestor | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def has_holdout(self) -> bool:
        return self.data.n_holdout > 0

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
