"""Model-collapse figures for an audit run.

The audit service calls ``collapse_measure`` for the audited version: it finds the
nearest real ancestor in the lineage, and only when the audited version's organisation
may read it (open, or its own: ``readable_by_organisation``) loads it, verifies its
stored file against the hash recorded at upload and computes the ``collapse.*`` figures
with the plain layer (``audits.checks.collapse``). Another organisation's restricted
ancestor is never read: the figures are skipped with ``RESTRICTED_ANCESTOR``, since the
requester chose the other operand and could invert them. Nothing stored here names the
ancestor: skip reasons are generic and details hold only version ids, which pages and
API withhold from readers who may not see them (``audits.runs.disclosure``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.core.files.storage import default_storage

from audits.checks import AuditOutcome, MetricResult
from audits.checks.collapse import collapse_metrics, collapse_not_measured
from audits.collapse.selectors import collapse_lineage
from registry import ingest
from registry.models import DatasetKind, DatasetVersion
from registry.services import version_table_info

REAL_DATA = "real data is its own reference: collapse is measured on synthetic versions"
NO_REAL_ANCESTOR = (
    "the lineage reaches no real version; declare what this version was generated from"
)
ANCESTOR_MISSING = "the real ancestor's stored file is missing from storage"
ANCESTOR_ALTERED = "the real ancestor's stored file no longer matches the hash recorded at upload"
ANCESTOR_UNREADABLE = "the real ancestor's stored file could not be read as a table"
RESTRICTED_ANCESTOR = (
    "the nearest real ancestor is restricted: collapse figures are computed only against "
    "data the requesting organisation may read"
)


@dataclass(frozen=True)
class CollapseMeasurement:
    """The ``collapse.*`` figures of one audited version and the seconds they took."""

    metrics: list[MetricResult]
    seconds: float

    def add_to(self, outcome: AuditOutcome) -> AuditOutcome:
        """``outcome`` with these figures and their findings appended (so the results
        hash covers them) and their time under ``timings["collapse"]``."""
        return dataclasses.replace(
            outcome,
            metrics=[*outcome.metrics, *self.metrics],
            findings=[*outcome.findings, *(m.finding for m in self.metrics if m.finding)],
            timings={**outcome.timings, "collapse": self.seconds},
        )


def collapse_measure(
    *,
    version: DatasetVersion,
    synthetic: pd.DataFrame,
    loaded: dict[int, pd.DataFrame],
    seed: int,
) -> CollapseMeasurement:
    """Compare ``synthetic`` (the audited version's data) with its nearest real
    ancestor. ``loaded`` maps version ids to frames already read and verified (the
    audit's reference), so a reference that is also the ancestor is not read twice."""
    started = time.perf_counter()
    metrics = _metrics(version=version, synthetic=synthetic, loaded=loaded, seed=seed)
    return CollapseMeasurement(metrics, time.perf_counter() - started)


def _metrics(
    *,
    version: DatasetVersion,
    synthetic: pd.DataFrame,
    loaded: dict[int, pd.DataFrame],
    seed: int,
) -> list[MetricResult]:
    if version.dataset.kind == DatasetKind.REAL:
        return collapse_not_measured(REAL_DATA, generation_depth=0)
    lineage = collapse_lineage(version)
    if lineage is None:
        return collapse_not_measured(NO_REAL_ANCESTOR, generation_depth=None)
    readable = DatasetVersion.objects.readable_by_organisation(version.dataset.organisation)
    if not readable.filter(pk=lineage.ancestor_id).exists():
        # The requester chose the synthetic operand and could invert any figure computed
        # against the ancestor (a variance ratio gives the real variance): compute none.
        return collapse_not_measured(RESTRICTED_ANCESTOR, generation_depth=lineage.depth)
    if lineage.ancestor_id in loaded:
        real = loaded[lineage.ancestor_id]
    else:
        ancestor = DatasetVersion.objects.get(pk=lineage.ancestor_id)
        real = _read_ancestor(ancestor)
        if isinstance(real, str):
            return collapse_not_measured(real, generation_depth=lineage.depth)
    return collapse_metrics(
        real,
        synthetic,
        {c["name"]: c["type"] for c in version.schema},
        generation_depth=lineage.depth,
        seed=seed,
        details={"ancestor_version": lineage.ancestor_id, "chain": lineage.chain},
    )


def _read_ancestor(version: DatasetVersion) -> pd.DataFrame | str:
    """The ancestor's data, or the reason it cannot be used. A missing, altered or
    unreadable ancestor leaves the collapse figures skipped rather than failing the
    whole audit: the curator did not choose it, the lineage did. Other storage errors
    propagate for the task to retry."""
    path = Path(default_storage.path(version.file.name))
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in ingest.iter_chunks(handle):
                digest.update(block)
    except FileNotFoundError:
        return ANCESTOR_MISSING
    if digest.hexdigest() != version.sha256:
        return ANCESTOR_ALTERED
    try:
        return ingest.read_frame(path, version_table_info(version))
    except (ValueError, UnicodeDecodeError):
        return ANCESTOR_UNREADABLE
