"""SynthGov's audit checks: plain pandas/numpy code, no Django.

Public interface (the audit service calls exactly this)::

    from audits.checks import AuditConfig, AuditInputError, ColumnSpec, RealAncestor, run_audit

    config = AuditConfig(
        columns=[ColumnSpec(name="age", type="numerical", role="quasi_identifier"), ...],
        protected=["sex"], quasi_identifiers=["age", "postcode"], sensitive=["diagnosis"],
        target="approved", positive_outcome=None, families={"quality", "privacy", ...},
        seed=0,
    )
    outcome = run_audit(
        config=config, synthetic=df_syn, real=df_ref, holdout=df_hold_or_None,
        registry_facts={"datasheet_completeness": 0.8, "lineage_complete": True,
                        "generator_documented": True, "licence": "CC-BY-4.0",
                        "compute_disclosed": False, "hash_verified": True},
        ancestor=RealAncestor.measured(df_ancestor, generation_depth=2, details={...}),
        progress=lambda label, fraction: ...,   # may raise to cancel; the error propagates
        precomputed=None,   # or {key: MetricResult} of partitioned.KEYS_COMPUTED, computed
                            # from the stored files in pieces (audits.checks.partitioned)
    )
    outcome.metrics          # list[MetricResult], in family order (collapse last)
    outcome.findings         # plain-words sentences for the summary
    outcome.timings          # seconds per family (and "prepare", and "model <name> on
                             # <synthetic|real>" per model validation fit)
    outcome.to_json()        # JSON-ready dict; canonical_json()/results_sha256() omit timings

- ``ColumnSpec(name, type, role)``: type in numerical, categorical, boolean, datetime, id,
  text; role in identifier, quasi_identifier, sensitive, protected, target, other.
- ``AuditConfig``: see ``base.AuditConfig`` (sample limits: ``sdmetrics_sample_rows``,
  ``detection_sample_rows``, ``utility_sample_rows``, ``distance_sample_rows``;
  ``min_group_count``; ``max_intersections``; ``attack_count``, the records of each of
  training and holdout the privacy attacks target). Families: integrity, quality, fairness,
  privacy, provenance. When ``positive_outcome`` is None the fairness checks pick a value
  that reads as favourable ("true", "1", "yes", "approved", …) or else the least frequent
  real class, and record which in the details.
- ``MetricResult``: key, value (float or None), direction ("higher", "lower",
  "closer_to" with ``target``), details (JSON-ready chart data), sample_size, population,
  uncertainty (95% half-width when sampled), finding, status ("ok" or "skipped") and
  skip_reason.
- ``AuditInputError``: raised before any heavy work, with a message for the curator, when a
  frame is empty, the reference or holdout lacks a schema column, a named protected /
  quasi-identifier / sensitive / target column is missing or is an identifier, or the
  positive outcome does not occur in the reference.
- The privacy family includes attacks against a holdout control (``attacks``: singling
  out, linkability, inference, membership, near copies, the epsilon a membership attack
  proves); without a holdout they are skipped with the reason.
- Model validation (``model_validation``): with a target and a holdout, gradient-boosted
  trees and a regularised logistic regression are trained on synthetic and on real data
  and tested on the holdout (``utility.tstr_auc`` … ``fairness.model_amplification``).
- ``catalogue.METRICS``: key -> ``MetricSpec`` (family, title, description, direction,
  value range, what it needs). Keys are stable; standards refer to them.
- ``RealAncestor``: the collapse family's input, the audited version's nearest real
  ancestor: ``RealAncestor.measured(frame, generation_depth=, details=)``, or
  ``RealAncestor.not_measured(reason, generation_depth=)`` (depth None when unknown).
  Collapse is not a family the user chooses: it runs, after the chosen families, whenever
  ``ancestor`` is given; without it no ``collapse.*`` figure is reported.

Linked tables (a version of several tables with keys)::

    outcome = run_relational_audit(
        families={"integrity", "quality"},
        real={"users": df, "sessions": df, ...}, synthetic={...},
        schema=RelationalSchema.from_sdmetrics(metadata),  # audits.checks.relational
        hash_verified=True, progress=...,
    )

  gives ``integrity.hash_verified``, ``integrity.orphan_rate``, ``integrity.key_violations``
  (integrity family) and ``quality.relational_overall``, ``quality.cardinality_shapes``,
  ``quality.intertable_trends`` (quality family); other families have no relational
  figures yet, and each table's single-table figures are not computed.

Memory: instead of the three frames, pass ``frames=AuditFrames(real=..., synthetic=...,
holdout=...)`` and keep no other reference to them; ``run_audit`` empties it and frees
each raw column as soon as that column is prepared (frames passed as arguments are left
as they were). ``AuditFrames`` may hold sources instead of frames
(``audits.checks.sources.FileSource``: a stored Parquet file read one column at a time),
so no whole raw table is ever held. Prepared columns are held in the smallest exact type
and decoded on each read (``audits.checks.compact``): 29 bytes a row instead of 100 on
the scale benchmark; with ``spill_dir`` they are kept in files there instead of memory
(removed when the audit ends). The figures are the same every way.

A registry fact ``hash_verified`` of False stops the audit: only
``integrity.hash_verified`` is reported and every other figure is skipped.
The same inputs and seed give the same figures.
"""

from audits.checks.base import (
    AuditConfig,
    AuditInputError,
    ColumnSpec,
    MetricResult,
    RealAncestor,
)
from audits.checks.catalogue import METRICS, MetricSpec
from audits.checks.context import AuditFrames
from audits.checks.runner import AuditOutcome, run_audit, run_relational_audit

__all__ = [
    "METRICS",
    "AuditConfig",
    "AuditFrames",
    "AuditInputError",
    "AuditOutcome",
    "ColumnSpec",
    "MetricResult",
    "MetricSpec",
    "RealAncestor",
    "run_audit",
    "run_relational_audit",
]
