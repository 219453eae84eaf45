"""The figures computed in pieces (``partitioned.KEYS_COMPUTED``) of two frames as the
worker computes them in memory (``run_audit``'s preparation, ``prepare_compact``, and its
steps): the reference the figures computed in pieces must equal.

Shared by tests/audits/checks/test_partitioned.py and bench/dask_rowhash.py (the bench
imports it; no test imports the bench). Plain pandas in, JSON figures out; no pytest."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from audits.checks import integrity, privacy, quality
from audits.checks.base import AuditConfig, ColumnSpec
from audits.checks.compact import prepare_compact
from audits.checks.context import AuditContext


def in_memory_figures(
    specs: Sequence[ColumnSpec],
    quasi_identifiers: Sequence[str],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
) -> dict[str, dict]:
    """``integrity.duplicate_rate``, ``privacy.exact_match_rate``,
    ``privacy.linkage_risk``, ``integrity.out_of_domain_rate``,
    ``quality.category_coverage`` and ``quality.range_coverage`` of ``synthetic`` against
    ``real``, each as its JSON."""
    config = AuditConfig(
        columns=list(specs),
        protected=[],
        quasi_identifiers=list(quasi_identifiers),
        sensitive=[],
        target=None,
        positive_outcome=None,
        families={"integrity", "privacy", "quality"},
        seed=0,
    )
    data = prepare_compact(list(specs), real, synthetic, None)
    ctx = AuditContext(config, real, synthetic, None, data, {})
    results = [
        *integrity.duplicate_rate(ctx),
        *privacy.exact_match_rate(ctx),
        *privacy.linkage_risk(ctx),
        *integrity.out_of_domain_rate(ctx),
        *quality.coverage(ctx),
    ]
    return {m.key: m.to_json() for m in results}
