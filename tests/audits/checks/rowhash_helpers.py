"""The row-hash figures (``partitioned.KEYS_COMPUTED``) of two frames as the worker
computes them in memory: the reference the figures computed in pieces must equal.

Shared by tests/audits/checks/test_partitioned.py and bench/dask_rowhash.py (the bench
imports it; no test imports the bench). Plain pandas in, JSON figures out; no pytest."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from audits.checks import integrity, privacy
from audits.checks.base import AuditConfig, ColumnSpec
from audits.checks.context import AuditContext
from audits.checks.encoding import prepare


def in_memory_figures(
    specs: Sequence[ColumnSpec],
    quasi_identifiers: Sequence[str],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
) -> dict[str, dict]:
    """``integrity.duplicate_rate``, ``privacy.exact_match_rate`` and
    ``privacy.linkage_risk`` of ``synthetic`` against ``real``, each as its JSON."""
    config = AuditConfig(
        columns=list(specs),
        protected=[],
        quasi_identifiers=list(quasi_identifiers),
        sensitive=[],
        target=None,
        positive_outcome=None,
        families={"integrity", "privacy"},
        seed=0,
    )
    data = prepare(list(specs), real, synthetic, None, eager=True)
    ctx = AuditContext(config, real, synthetic, None, data, {})
    results = [
        *integrity.duplicate_rate(ctx),
        *privacy.exact_match_rate(ctx),
        *privacy.linkage_risk(ctx),
    ]
    return {m.key: m.to_json() for m in results}
