"""What every check reads: the configuration, the frames and their prepared columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audits.checks.base import AuditConfig, MetricResult, RealAncestor
from audits.checks.encoding import PreparedColumn, PreparedData, row_hashes
from audits.checks.hashcount import distinct_count, member_mask_sorted, sorted_counts
from audits.checks.sources import TableSource, as_source

if TYPE_CHECKING:  # the search's types only (neighbours imports scipy)
    from audits.checks.encoding import SearchLayout
    from audits.checks.groups import GroupCounts, GroupLayout, GroupRows
    from audits.checks.neighbours import Neighbours, Searches

Table = pd.DataFrame | TableSource

ReferenceSearch = Callable[["Searches", "SearchLayout"], "list[Neighbours] | None"]
"""Searches the whole reference elsewhere (its stored file, in pieces on a Dask
cluster: ``partitioned_search``) and gives ``neighbours.nearest_several``'s exact
distances, or None when it could not (the audit then searches here)."""

GroupPieces = Callable[["GroupLayout"], "list[tuple[GroupCounts, GroupRows]] | None"]
"""Counts the fairness step's groups and finds its fidelity rows elsewhere (the stored
files, in pieces on a Dask cluster: ``partitioned_groups``), the same as from the
prepared columns, or None when it could not (the step then counts here)."""


@dataclass
class AuditFrames:
    """The input tables handed to ``run_audit``: frames in memory or sources that read
    columns on demand (``sources.FileSource``: a stored file, never held whole).
    ``run_audit`` empties this holder once it has taken them, so frames are freed when
    the caller keeps no other reference."""

    real: Table | None
    synthetic: Table | None
    holdout: Table | None = None

    def release(self) -> None:
        self.real = self.synthetic = self.holdout = None

    def sources(self) -> tuple[TableSource | None, TableSource | None, TableSource | None]:
        """The three tables as sources (a frame wrapped in a ``FrameSource``)."""
        return as_source(self.real), as_source(self.synthetic), as_source(self.holdout)


@dataclass(frozen=True)
class RowHashCounts:
    """How many rows of each frame there are and how many distinct ones (by their
    64-bit hash), and how many synthetic rows equal some real row."""

    synthetic_rows: int
    synthetic_distinct: int
    real_rows: int
    real_distinct: int
    copies: int


@dataclass
class AuditContext:
    """Inputs of one audit run. ``ancestor`` is the collapse family's input (None when
    the caller gave none). ``cache`` lets checks of a family share work (for example the
    nearest-neighbour distances used by several privacy figures).

    ``real``, ``synthetic`` and ``holdout`` are the raw tables (frames or
    ``sources.TableSource``; readers take them through ``sources.as_source`` and read
    only the columns they need). They are read only while preparing: ``run_audit``
    computes what the checks need from them first (``_frame_reads`` in the runner),
    drops each raw column once it is prepared and then sets them to None, so a check
    reads ``data`` (prepared columns, ``compact.CompactColumn``: each read of an array
    is a new full-width array) or a cached early result. ``synthetic`` stays when the
    collapse family runs (it compares the raw synthetic table with the ancestor's).
    ``reference_search`` (when given) runs the distance search over the reference
    elsewhere (``ReferenceSearch``), ``group_pieces`` the fairness step's counting
    (``GroupPieces``)."""

    config: AuditConfig
    real: Table | None
    synthetic: Table | None
    holdout: Table | None
    data: PreparedData
    registry_facts: dict[str, Any]
    ancestor: RealAncestor | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    reference_search: ReferenceSearch | None = None
    group_pieces: GroupPieces | None = None

    @property
    def has_holdout(self) -> bool:
        return self.data.n_holdout > 0

    def column(self, name: str) -> PreparedColumn:
        return self.data.columns[name]

    def row_hash_counts(self) -> RowHashCounts:
        """The counts of every row's hash over all prepared columns that the duplicate
        and copy checks read (cached: the two share the work). The hashes themselves are
        not kept (at 10M rows, 160 MB held from the integrity family to the privacy
        family before)."""
        if "row_hash_counts" not in self.cache:
            columns = list(self.data.columns.values())
            real = row_hashes(columns, "real")
            real_rows = len(real)
            real_distinct, _ = sorted_counts(real)
            del real
            synthetic = np.sort(row_hashes(columns, "synthetic"))
            self.cache["row_hash_counts"] = RowHashCounts(
                synthetic_rows=len(synthetic),
                synthetic_distinct=distinct_count(synthetic),
                real_rows=real_rows,
                real_distinct=len(real_distinct),
                copies=int(member_mask_sorted(synthetic, real_distinct).sum()),
            )
        return self.cache["row_hash_counts"]

    @property
    def audited_columns(self) -> list[PreparedColumn]:
        """Columns compared between frames: everything but identifiers and free text."""
        return [c for c in self.data.columns.values() if not c.spec.excluded_from_distances]


Step = tuple[str, Callable[[AuditContext], list[MetricResult]]]
