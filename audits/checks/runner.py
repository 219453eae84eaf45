"""Run the configured check families on in-memory frames and collect the figures."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from audits.checks import (
    attacks,
    collapse,
    fairness,
    integrity,
    model_validation,
    population,
    privacy,
    provenance,
    quality,
    relational,
    relational_fairness,
    relational_privacy,
)
from audits.checks.base import (
    FAMILIES,
    AuditConfig,
    AuditInputError,
    ColumnSpec,
    MetricResult,
    RealAncestor,
    skipped,
)
from audits.checks.catalogue import METRICS, RELATIONAL_KEYS
from audits.checks.compact import (
    SpillStore,
    narrow_every_column,
    prepare_compact,
    release_unused_memory,
)
from audits.checks.context import (
    AuditContext,
    AuditFrames,
    GroupPieces,
    ReferenceSearch,
    Step,
)
from audits.checks.encoding import category_strings
from audits.checks.sources import TableSource, as_source, read_column
from synthgov.signing.canonical import canonical_json, sha256_hex

Progress = Callable[[str, float], None]
FAMILY_STEPS: dict[str, list[Step]] = {
    "integrity": integrity.STEPS,
    "quality": quality.STEPS + model_validation.UTILITY_STEPS,
    "fairness": fairness.STEPS + population.STEPS + model_validation.FAIRNESS_STEPS,
    "privacy": privacy.STEPS + attacks.STEPS,
    "provenance": provenance.STEPS,
    collapse.FAMILY: collapse.STEPS,
}
LIBRARIES = ("pandas", "numpy", "sdmetrics", "scikit-learn", "scipy")
# Steps whose figures ``run_audit`` can take from ``precomputed``, in the order the step
# returns them. A step is skipped only when every one of its figures was given.
PRECOMPUTABLE: dict[Callable, tuple[str, ...]] = {
    integrity.duplicate_rate: ("integrity.duplicate_rate",),
    integrity.out_of_domain_rate: ("integrity.out_of_domain_rate",),
    privacy.exact_match_rate: ("privacy.exact_match_rate",),
    privacy.linkage_risk: ("privacy.linkage_risk",),
    quality.coverage: ("quality.category_coverage", "quality.range_coverage"),
}


@dataclass
class AuditOutcome:
    """Every figure of one run, the plain-words findings (in metric order) and the wall
    time per family in seconds. ``canonical_json`` covers the figures only (not timings),
    so the same inputs and seed give the same text and ``results_sha256``."""

    metrics: list[MetricResult]
    findings: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    library_versions: dict[str, str] = field(default_factory=dict)

    def metric(self, key: str) -> MetricResult:
        for result in self.metrics:
            if result.key == key:
                return result
        raise KeyError(key)

    def results_json(self) -> dict[str, Any]:
        return {
            "metrics": [m.to_json() for m in self.metrics],
            "findings": list(self.findings),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.results_json(),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "library_versions": dict(self.library_versions),
        }

    def canonical_json(self) -> str:
        return canonical_json(self.results_json()).decode("utf-8")

    def results_sha256(self) -> str:
        return sha256_hex(canonical_json(self.results_json()))


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _frame_reads(ctx: AuditContext, families: list[str]) -> None:
    """What the checks read from the raw frames rather than the prepared columns,
    computed (and cached in ``ctx``) before the frames are released."""
    if "integrity" in families:
        integrity.schema_facts(ctx)
    if "fairness" in families:
        population.population_tables(ctx)
    if "provenance" in families:
        provenance.watermark_results(ctx)


def run_audit(
    *,
    config: AuditConfig,
    synthetic: pd.DataFrame | None = None,
    real: pd.DataFrame | None = None,
    holdout: pd.DataFrame | None = None,
    frames: AuditFrames | None = None,
    registry_facts: dict[str, Any] | None = None,
    ancestor: RealAncestor | None = None,
    progress: Progress | None = None,
    precomputed: dict[str, MetricResult] | None = None,
    spill_dir: Path | str | None = None,
    reference_search: ReferenceSearch | None = None,
    group_pieces: GroupPieces | None = None,
) -> AuditOutcome:
    """Audit ``synthetic`` against ``real`` (and ``holdout``). Raises ``AuditInputError``
    before any heavy work when the inputs cannot be audited. ``progress(label, fraction)``
    is called before each step and at the end; an exception it raises (for example to
    cancel) propagates.

    The tables come either as the three frames or in ``frames``, which is emptied once
    the audit has taken them: frames a caller keeps no other reference to (the worker,
    the benchmark) are then freed column by column as the columns are prepared.
    ``frames`` may hold ``sources.TableSource`` instead (``FileSource``: a stored file
    read one column at a time), so no whole raw table is ever held.

    With ``spill_dir`` the prepared columns' narrow arrays are kept in files in a new
    folder made there (``compact.SpillStore``) instead of memory, and read back on each
    use; the folder is removed when the audit ends, also when it raises. The figures
    are the same either way.

    The collapse family is not among the families a user chooses: it runs whenever
    ``ancestor`` is given, after the chosen families, so its figures come last.

    ``precomputed`` holds figures already computed elsewhere from the same stored files
    (the figures of ``partitioned.KEYS_COMPUTED``, from pieces run on a Dask
    cluster): their steps use them instead of computing them again. ``reference_search``
    searches the reference for the distance figures elsewhere (the stored reference
    file in pieces on a Dask cluster, ``context.ReferenceSearch``), ``group_pieces``
    counts the fairness step's groups there (``context.GroupPieces``); the figures are
    the same."""
    if frames is None:
        frames = AuditFrames(real, synthetic, holdout)
    del real, synthetic, holdout
    facts = dict(registry_facts or {})
    # Sources of the caller's tables (a frame is read through a shallow copy: dropping
    # a prepared column from it frees the values once the caller holds no reference).
    real, synthetic, holdout = frames.sources()
    frames.release()
    validate_inputs(config=config, synthetic=synthetic, real=real, holdout=holdout)
    report = progress or (lambda label, fraction: None)
    if facts.get("hash_verified") is False:
        return _stopped_on_hash(facts, report)
    with contextlib.ExitStack() as stack:
        store = None if spill_dir is None else stack.enter_context(SpillStore(spill_dir))
        return _run_checks(
            config,
            real,
            synthetic,
            holdout,
            facts,
            ancestor,
            report,
            precomputed,
            store,
            reference_search,
            group_pieces,
        )


def _run_checks(
    config: AuditConfig,
    real: TableSource,
    synthetic: TableSource,
    holdout: TableSource | None,
    facts: dict[str, Any],
    ancestor: RealAncestor | None,
    report: Progress,
    precomputed: dict[str, MetricResult] | None,
    store: SpillStore | None,
    reference_search: ReferenceSearch | None = None,
    group_pieces: GroupPieces | None = None,
) -> AuditOutcome:
    report("Preparing columns", 0.0)
    started = time.perf_counter()
    data = prepare_compact(config.columns, real, synthetic, holdout, store=store)
    ctx = AuditContext(
        config,
        real,
        synthetic,
        holdout,
        data,
        facts,
        ancestor=ancestor,
        reference_search=reference_search,
        group_pieces=group_pieces,
    )
    families = [family for family in FAMILIES if family in config.families]
    if ancestor is not None:
        families.append(collapse.FAMILY)
    _frame_reads(ctx, families)
    # Every column now: the families read nearly all of them, and this keeps the
    # preparation's time (and any conversion error) in this step. Each raw column is
    # dropped once prepared; only the collapse family reads a raw table (the synthetic
    # one) after this.
    narrow_every_column(
        data, [real, holdout] if ancestor is not None else [real, holdout, synthetic]
    )
    ctx.real = ctx.holdout = None
    if ancestor is None:
        ctx.synthetic = None
    del real, synthetic, holdout
    release_unused_memory()
    steps = [(family, step) for family in families for step in FAMILY_STEPS[family]]
    timings = {"prepare": time.perf_counter() - started}
    metrics: list[MetricResult] = []
    for i, (family, (label, check)) in enumerate(steps):
        report(label, i / len(steps))
        started = time.perf_counter()
        metrics.extend(_given(check, precomputed) or check(ctx))
        timings[family] = timings.get(family, 0.0) + time.perf_counter() - started
    report("Finished", 1.0)
    # Checks may time their parts (for example each model trained): reported after the
    # families, outside the figures.
    timings.update(ctx.cache.get("timings", {}))
    return _outcome(metrics, timings)


def _given(check: Callable, precomputed: dict[str, MetricResult] | None) -> list[MetricResult]:
    """The step's figures from ``precomputed`` when all of them are there, else []."""
    keys = PRECOMPUTABLE.get(check, ())
    given = [precomputed.get(k) for k in keys] if precomputed else []
    return given if given and all(m is not None for m in given) else []


# The families a version of linked tables is audited for, and their figures in order.
RELATIONAL_FAMILIES = ("integrity", "quality", "fairness", "privacy", "provenance")
# The provenance family's figures, in the catalogue's order (skipped on a broken hash).
PROVENANCE_KEYS = tuple(key for key, spec in METRICS.items() if spec.family == "provenance")


def run_relational_audit(
    *,
    families: set[str] | list[str],
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schema: relational.RelationalSchema,
    hash_verified: bool | None,
    progress: Progress | None = None,
    holdout: dict[str, pd.DataFrame] | None = None,
    registry_facts: dict[str, Any] | None = None,
    choices: relational_privacy.LinkedChoices | None = None,
    table_columns: dict[str, list[ColumnSpec]] | None = None,
    ancestors: dict[str, RealAncestor] | None = None,
    seed: int = 0,
) -> AuditOutcome:
    """Audit a version of linked tables (``synthetic``, ``{table: frame}``) against its
    reference's tables (``real``) under the synthetic version's keys and column types
    (``schema``): the integrity family gives ``integrity.hash_verified``,
    ``integrity.orphan_rate`` and ``integrity.key_violations``; the quality family
    ``quality.relational_overall``, ``quality.cardinality_shapes`` and
    ``quality.intertable_trends``; the fairness family the ``fairness.joined_*`` figures
    (``relational_fairness``) and the privacy family the family copies and the
    ``privacy.individuals_*`` figures (``relational_privacy``), for the curator's
    ``choices``; the near copies and attacks read ``holdout`` (the same tables). Orphan
    and key examples come from ``synthetic`` only. ``AuditInputError`` when a table or
    column is missing or a choice does not fit the tables.

    The provenance family is computed once for the whole version from the registry's
    facts (``registry_facts``, as ``run_audit`` takes them; without them each figure is
    skipped with what the registry did not report): the datasheet, lineage, generator,
    compute, licence and manifest figures as for a single table, the watermark figures
    skipped with the reason (``provenance.linked_tables_metrics``).

    With ``table_columns`` (``{table: [ColumnSpec, ...]}``, each table's schema) every
    table is then audited on its own by ``run_audit``, as a single-table version is
    (``_per_table_metrics``): its figures carry ``table``. ``holdout`` (``{table:
    frame}``, the holdout version's tables) also feeds each table's privacy figures that
    need one; ``ancestors`` (``{table: RealAncestor}``: the nearest real ancestor's table
    of the same name, or why it cannot be compared) gives each table its collapse figures."""
    report = progress or (lambda label, fraction: None)
    chosen = [family for family in RELATIONAL_FAMILIES if family in families]
    facts = {**(registry_facts or {}), "hash_verified": hash_verified}
    if hash_verified is False:
        report("Integrity: stored file hash", 0.0)
        reason = "the stored file does not match its hash"
        result = integrity.hash_verified(facts)
        keys = [*sorted(RELATIONAL_KEYS), *(PROVENANCE_KEYS if "provenance" in chosen else ())]
        others = [skipped(key, METRICS[key].direction, reason) for key in keys]
        report("Finished", 1.0)
        return _outcome([result, *others], {})
    schema.check(synthetic, "synthetic")
    schema.check(real, "reference")
    if holdout:
        schema.check(holdout, "holdout")
    per_table = sorted(table_columns or {}) if _table_families(families) else []
    steps = len(chosen) + len(per_table)
    metrics: list[MetricResult] = []
    timings: dict[str, float] = {}
    for i, family in enumerate(chosen):
        started = time.perf_counter()
        if family == "integrity":
            report("Integrity: referential integrity and primary keys", i / steps)
            metrics.append(integrity.hash_verified(facts))
            metrics.append(relational.orphan_rate(synthetic, schema, reference=real))
            metrics.append(relational.key_violations(synthetic, schema))
        elif family == "quality":
            report("Quality: column shapes, cardinality and inter-table trends", i / steps)
            metrics.extend(relational.relational_quality_metrics(real, synthetic, schema))
        elif family == "provenance":
            report("Provenance: registry facts of the whole version", i / steps)
            metrics.extend(provenance.linked_tables_metrics(facts))
        else:
            report(LINKED_STEPS[family], i / steps)
            metrics.extend(_linked_family(family, real, synthetic, schema, holdout, choices))
        timings[family] = time.perf_counter() - started
    if per_table:
        metrics.extend(
            _per_table_metrics(
                families=families,
                real=real,
                synthetic=synthetic,
                holdout=holdout or {},
                schema=schema,
                table_columns={name: (table_columns or {})[name] for name in per_table},
                ancestors=ancestors or {},
                seed=seed,
                timings=timings,
                progress=lambda label, fraction: report(
                    label, (len(chosen) + fraction * len(per_table)) / steps
                ),
            )
        )
    report("Finished", 1.0)
    return _outcome(metrics, timings)


LINKED_STEPS = {
    "fairness": "Fairness: groups and outcome rates on a child table joined to its parent",
    "privacy": "Privacy: copied families and re-identification of individuals",
}


def _linked_family(family, real, synthetic, schema, holdout, choices) -> list[MetricResult]:
    """The fairness or privacy figures of linked tables (``relational_fairness``,
    ``relational_privacy``) for the curator's choices: figures of the whole version
    (rules without ``table:`` read them), each naming the table it was computed on (the
    worst parent table, the individuals table, the joined child table) in
    ``details["table"]``."""
    if family == "fairness":
        return relational_fairness.metrics(real, synthetic, schema, choices)
    return relational_privacy.metrics(real, synthetic, schema, holdout, choices)


# The single-table families each table of linked tables is audited for on its own.
# Fairness on linked tables reads a table joined to its parent and provenance is a fact
# of the whole version: neither runs per table.
TABLE_AUDIT_FAMILIES = ("integrity", "quality", "privacy")
# Figures of the whole version, not of one table: left out of each table's figures.
WHOLE_VERSION_KEYS = frozenset({"integrity.hash_verified"})


def _table_families(families: set[str] | list[str]) -> list[str]:
    return [family for family in TABLE_AUDIT_FAMILIES if family in families]


def key_columns(schema: relational.RelationalSchema, table: str) -> set[str]:
    """The primary key of ``table`` and its foreign keys (and, as a parent, the key its
    children point at): identifiers, kept out of shapes, distances and row copies."""
    keys = {schema.primary_keys.get(table)}
    for rel in schema.relationships:
        if rel.child_table == table:
            keys.add(rel.child_key)
        if rel.parent_table == table:
            keys.add(rel.parent_key)
    return {k for k in keys if k}


def table_config(
    columns: list[ColumnSpec],
    keys: set[str],
    families: list[str],
    seed: int,
) -> AuditConfig:
    """One table's audit configuration: its key columns are identifiers (type ``id``),
    and its quasi-identifiers, sensitive attributes and target are those its schema
    marks."""
    specs = [ColumnSpec(c.name, "id", "identifier") if c.name in keys else c for c in columns]
    usable = [c for c in specs if not c.excluded_from_distances]
    targets = [c.name for c in usable if c.role == "target" and c.type != "datetime"]
    return AuditConfig(
        columns=specs,
        quasi_identifiers=[c.name for c in usable if c.role == "quasi_identifier"],
        sensitive=[c.name for c in usable if c.role == "sensitive"],
        target=targets[0] if targets else None,
        families=set(families),
        seed=seed,
    )


def _per_table_metrics(
    *,
    families: set[str] | list[str],
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    holdout: dict[str, pd.DataFrame],
    schema: relational.RelationalSchema,
    table_columns: dict[str, list[ColumnSpec]],
    ancestors: dict[str, RealAncestor],
    seed: int,
    timings: dict[str, float],
    progress: Progress,
) -> list[MetricResult]:
    """Each table's single-table figures (``run_audit`` on that table of the synthetic,
    reference and holdout versions, and its collapse figures when ``ancestors`` has the
    table), tagged with the table's name; its findings start with the table's name.
    ``progress`` moves from 0 to 1 over the tables."""
    chosen = _table_families(families)
    metrics: list[MetricResult] = []
    names = list(table_columns)
    for i, name in enumerate(names):
        config = table_config(table_columns[name], key_columns(schema, name), chosen, seed)

        def report(label: str, fraction: float, i: int = i, name: str = name) -> None:
            progress(f"Table {name}: {label}", (i + min(fraction, 1.0)) / len(names))

        started = time.perf_counter()
        try:
            outcome = run_audit(
                config=config,
                frames=AuditFrames(real[name], synthetic[name], holdout.get(name)),
                registry_facts={"hash_verified": True},
                ancestor=ancestors.get(name),
                progress=report,
            )
        except AuditInputError as exc:
            raise AuditInputError(f"Table {name}: {exc}") from None
        timings[f"table {name}"] = time.perf_counter() - started
        for result in outcome.metrics:
            if result.key in WHOLE_VERSION_KEYS:
                continue
            result.table = name
            if result.finding:
                result.finding = f"Table {name}: {result.finding}"
            metrics.append(result)
    return metrics


def _outcome(metrics: list[MetricResult], timings: dict[str, float]) -> AuditOutcome:
    unknown = [m.key for m in metrics if m.key not in METRICS]
    if unknown:
        raise RuntimeError(f"checks produced keys missing from the catalogue: {unknown}")
    findings = [m.finding for m in metrics if m.finding]
    return AuditOutcome(metrics, findings, timings, library_versions())


def _stopped_on_hash(facts: dict[str, Any], report: Progress) -> AuditOutcome:
    # A tampered file is not evidence of anything: report that alone.
    report("Integrity: stored file hash", 0.0)
    result = integrity.hash_verified(facts)
    reason = "the stored file does not match its hash"
    others = [skipped(key, spec.direction, reason, target=spec.target)
              for key, spec in METRICS.items()
              if key != result.key and key not in RELATIONAL_KEYS]  # fmt: skip
    report("Finished", 1.0)
    return _outcome([result, *others], {})


def validate_inputs(
    *,
    config: AuditConfig,
    synthetic: pd.DataFrame | TableSource,
    real: pd.DataFrame | TableSource,
    holdout: pd.DataFrame | TableSource | None,
) -> None:
    """Cheap checks that give the curator a plain reason before any heavy work: from
    the tables' column names and row counts, and the reference's target column alone
    when a positive outcome is named."""
    unknown = set(config.families) - set(FAMILIES)
    if unknown:
        raise AuditInputError(f"Unknown check families: {', '.join(sorted(unknown))}.")
    if not config.columns:
        raise AuditInputError("The dataset's schema lists no columns.")
    tables = {"synthetic dataset": synthetic, "reference dataset": real}
    if holdout is not None:
        tables["holdout dataset"] = holdout
    for label, table in tables.items():
        source = as_source(table, copy=False)
        if source.num_rows == 0 or len(source.columns) == 0:
            raise AuditInputError(f"The {label} is empty: it has no rows to audit.")
        present = set(source.columns)
        missing = [c for c in config.column_names if c not in present]
        if missing:
            raise AuditInputError(
                f"The {label} has no column {_names(missing)}; its columns must match the "
                "synthetic dataset's schema. Choose a matching version or fix the schema."
            )
    _validate_roles(config)
    _validate_positive_outcome(config, as_source(real, copy=False))


def _names(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _validate_roles(config: AuditConfig) -> None:
    named = {
        "protected attribute": config.protected,
        "quasi-identifier": config.quasi_identifiers,
        "sensitive attribute": config.sensitive,
        "target": [config.target] if config.target is not None else [],
    }
    known = set(config.column_names)
    for role, names in named.items():
        missing = [n for n in names if n not in known]
        if missing:
            raise AuditInputError(
                f"The {role} {_names(missing)} is not a column of the dataset. "
                "Pick columns from the schema."
            )
        for name in names:
            spec = config.column(name)
            if spec.type in ("id", "text") or spec.role == "identifier":
                raise AuditInputError(
                    f"The {role} '{name}' is an identifier or free-text column and cannot be "
                    "used in that role."
                )
    if config.target is not None and config.column(config.target).type == "datetime":
        raise AuditInputError(f"The target '{config.target}' is a date; choose an outcome.")


def _validate_positive_outcome(config: AuditConfig, real: TableSource) -> None:
    if config.target is None or config.positive_outcome is None:
        return
    wanted = category_strings(pd.Series([config.positive_outcome])).iloc[0]
    target = read_column(real, config.target)
    if wanted not in set(category_strings(target).dropna().unique()):
        raise AuditInputError(
            f"The positive outcome '{config.positive_outcome}' does not occur in the target "
            f"column '{config.target}' of the reference dataset."
        )
