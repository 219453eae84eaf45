"""Compliance evaluations: gather a dataset version's figures (its latest
finished audits and the registry's facts), evaluate them with the standards
engine (``audits.standards.engine``) against each published standard that
applies, and record the outcome. A new evaluation may suspend a certificate."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audits.certification.certificates import certificates_on_new_evaluation
from audits.models import (
    AuditMetric,
    AuditRun,
    AuditStatus,
    ComplianceEvaluation,
    Integrity,
    JurisdictionProfile,
    PopulationProfile,
    RuleOutcome,
    StandardVersion,
)
from audits.standards import engine
from audits.standards.selectors import applies, current_standards, effective
from registry.models import Dataset, DatasetVersion
from registry.selectors import version_facts
from synthgov.signing.canonical import canonical_json, sha256_hex
from synthgov.trail.services import trail_record

INTEGRITY_FAILURES = (Integrity.ALTERED, Integrity.MISSING)


def figures_for(version: DatasetVersion) -> dict[str, Any]:
    """The latest finished audit's figure for each key, plus registry facts.

    A key no audit measured, but whose latest audit reported it as not measurable,
    comes with that audit's reason (``FigureValue.not_measured``): a rule that applies
    only when measured then does not apply. A population figure carries the profile
    its audit compared with (``FigureValue.profile``), from the audit's configuration.
    A version that is a single table has the figures of linked tables as not applicable
    (``engine.single_table_figures``), whatever an audit reported. Figures of one table
    of linked tables are ``table_figures_for``'s.
    """
    figures = _measured(version, table="")
    figures.update(_not_measured(version, table="", exclude=set(figures)))
    _attach_profiles(figures)
    if not version.is_relational:
        figures.update(engine.single_table_figures())
    for key, value in registry_facts(version).items():
        figures[key] = engine.FigureValue(value=value, source={"registry": key})
    return figures


def table_figures_for(version: DatasetVersion) -> dict[str, dict[str, Any]] | None:
    """Each table's own figures (``{table: {key: FigureValue}}``) for a version of linked
    tables, from the latest finished audit measuring each (as ``figures_for`` picks
    them); every table of the version is listed, with no figures when no audit measured
    it. None for a single-table version."""
    if not version.is_relational:
        return None
    tables: dict[str, dict[str, Any]] = {
        name: {} for name in version.tables.order_by("name").values_list("name", flat=True)
    }
    for name, figures in tables.items():
        figures.update(_measured(version, table=name))
        figures.update(_not_measured(version, table=name, exclude=set(figures)))
    return tables


def _measured(version: DatasetVersion, *, table: str) -> dict[str, Any]:
    """The latest finished audit's figure for each key (of ``table``; "" for the whole
    version)."""
    figures: dict[str, Any] = {}
    metrics = (
        AuditMetric.objects.filter(
            # An integrity failure ends the run failed but keeps its evidence:
            # its integrity.hash_verified = 0 must count against the version.
            Q(run__status=AuditStatus.SUCCEEDED)
            | Q(run__status=AuditStatus.FAILED, run__integrity__in=INTEGRITY_FAILURES),
            run__version=version,
            table=table,
            status="ok",
        )
        .order_by("key", "-run__finished")
        .values("key", "value", "uncertainty", "run_id")
    )
    for metric in metrics:
        if metric["key"] not in figures:
            figures[metric["key"]] = engine.FigureValue(
                value=metric["value"],
                source={"audit": metric["run_id"]},
                uncertainty=metric["uncertainty"],
            )
    return figures


def _not_measured(version: DatasetVersion, *, table: str, exclude: set[str]) -> dict[str, Any]:
    """Keys (of ``table``; "" for the whole version) the latest succeeded audit
    reporting them could not measure, with its reason, for keys no audit measured."""
    latest: dict[str, int] = {}
    rows = (
        AuditMetric.objects.filter(
            run__status=AuditStatus.SUCCEEDED, run__version=version, table=table, status="skipped"
        )
        .exclude(key__in=exclude)
        .order_by("key", "-run__finished")
        .values_list("key", "run_id")
    )
    for key, run_id in rows:
        latest.setdefault(key, run_id)
    reasons: dict[tuple[int, str], str] = {}
    for run_id, results in AuditRun.objects.filter(pk__in=set(latest.values())).values_list(
        "pk", "results"
    ):
        for metric in (results or {}).get("metrics", []):
            if (metric.get("table") or "") == table:
                reasons[(run_id, metric.get("key"))] = metric.get("skip_reason") or ""
    return {
        key: engine.FigureValue(
            value=None,
            source={"audit": run_id},
            not_measured=reasons.get((run_id, key)) or "the audit could not measure it",
        )
        for key, run_id in latest.items()
    }


def _attach_profiles(figures: dict[str, Any]) -> None:
    """Give each population figure the profile its audit compared with."""
    runs = {
        figure.source["audit"]
        for key, figure in figures.items()
        if key in engine.POPULATION_KEYS and figure.not_measured is None
    }
    if not runs:
        return
    snapshots = dict(AuditRun.objects.filter(pk__in=runs).values_list("pk", "config"))
    for key in engine.POPULATION_KEYS & set(figures):
        figure = figures[key]
        if figure.not_measured is not None:
            continue
        population = (snapshots.get(figure.source["audit"]) or {}).get("population") or {}
        profile = {k: population.get(k) for k in ("profile_id", "name", "version", "applied_as")}
        figures[key] = dataclasses.replace(figure, profile=profile if population else None)


def population_requirements(
    *, rules: list[Any], standard_version: StandardVersion, dataset: Dataset
) -> dict[str, engine.ProfileRequirement]:
    """The population profile the standard requires for each of its rules on a
    population figure, keyed by the rule's ``population_profile`` ("" for the
    jurisdiction's default): the profile the rule names, else the default profile of
    the standard's jurisdiction (where the dataset's organisation is established, when
    the standard covers several; the organisation's own for a global standard) at
    evaluation time. Never the profile an audit request happened to choose."""
    wanted = {
        rule.rule.population_profile
        for rule in rules
        if rule.rule.key in engine.POPULATION_KEYS and not rule.rule.waived
    }
    return {
        text: _named_profile(text) if text else _default_profile(standard_version, dataset)
        for text in wanted
    }


def _named_profile(text: str) -> engine.ProfileRequirement:
    reference = engine.profile_reference(text)
    if reference is None:
        return engine.ProfileRequirement(text, unresolved=f"{text} is not NAME@VERSION")
    name, number = reference
    found = list(
        PopulationProfile.objects.published()
        .filter(name=name, number=number)
        .values_list("pk", "content_sha256")
    )
    label = f"{name} (version {number})"
    if not found:
        return engine.ProfileRequirement(
            label,
            why="named by the rule",
            unresolved=f"the standard names the population profile {label}, and no such "
            "profile is published",
        )
    if len({sha for _, sha in found}) > 1:
        return engine.ProfileRequirement(
            label,
            why="named by the rule",
            unresolved=f"the standard names the population profile {label}, and "
            "organisations publish different profiles under that name",
        )
    return engine.ProfileRequirement(
        label, profile_ids=frozenset(pk for pk, _ in found), why="named by the rule"
    )


def _default_profile(
    standard_version: StandardVersion, dataset: Dataset
) -> engine.ProfileRequirement:
    own = set(dataset.organisation.jurisdictions.values_list("code", flat=True))
    covered = set(standard_version.jurisdictions or [])
    codes = sorted((covered & own) or covered or own)
    default = (
        JurisdictionProfile.objects.filter(
            jurisdiction__code__in=codes, profile__status=PopulationProfile.Status.PUBLISHED
        )
        .select_related("profile", "jurisdiction")
        .order_by("jurisdiction__code")
        .first()
    )
    where = ", ".join(codes) or "its jurisdiction"
    if default is None:
        return engine.ProfileRequirement(
            f"the default population profile of {where}",
            why="the jurisdiction's default",
            unresolved=f"the standard requires the default population profile of {where}, "
            f"and none is set: a regulator of {where} sets one, or the rule names a profile",
        )
    return engine.ProfileRequirement(
        default.profile.label,
        profile_ids=frozenset({default.profile_id}),
        why=f"the {default.jurisdiction.code} default",
    )


# The scheme name a version watermarked by SynthGov reports (audits.provenance).
WATERMARK_SCHEME = "synthgov-keyed"


def registry_facts(version: DatasetVersion) -> dict[str, Any]:
    """The registry's facts as a standard's ``registry.*`` rules name them. An
    unset fact is None: "is present" then fails rather than waiting for a figure
    that will never come."""
    facts = version_facts(version)
    latest = (
        AuditRun.objects.filter(version=version, status=AuditStatus.SUCCEEDED)
        .order_by("-finished")
        .first()
    )
    return {
        "registry.licence": facts.licence,
        "registry.kind": facts.kind,
        "registry.access": facts.access,
        "registry.datasheet_completeness": facts.datasheet_completeness,
        "registry.has_holdout_audit": bool(latest and latest.holdout_id),
        "registry.generator_type": facts.generator_type,
        "registry.privacy_mechanism": facts.privacy_mechanism,
        "registry.epsilon": facts.epsilon,
        "registry.published_openly": facts.published_openly,
        "provenance.watermark": WATERMARK_SCHEME if facts.watermarked else None,
    }


# --- Evaluations ---------------------------------------------------------


def evaluation_compute(
    *, dataset_version: DatasetVersion, standard_version: StandardVersion
) -> ComplianceEvaluation:
    """Evaluate and store; a new row only when the evidence changed."""
    rules = effective(standard_version)
    figures = figures_for(dataset_version)
    tables = table_figures_for(dataset_version)
    requirements = population_requirements(
        rules=rules, standard_version=standard_version, dataset=dataset_version.dataset
    )
    result = engine.evaluate(rules, figures, population_profiles=requirements, tables=tables)
    results = result.to_json()
    # The figures measured; one the audit could not measure, or one that does not apply
    # (a single table's relational figures), shows in the rule that names it (so the
    # evidence of standards without such rules stays as it was). Each table's figures
    # (linked tables) are listed as key@table.
    measured = dict(figures)
    for name, table_figures in (tables or {}).items():
        measured.update({f"{key}@{name}": fig for key, fig in table_figures.items()})
    sources = {
        key: fig.source
        for key, fig in sorted(measured.items())
        if fig.not_measured is None and fig.not_applicable is None
    }
    evidence = sha256_hex(
        canonical_json(
            {
                "dataset_version": dataset_version.pk,
                "sha256": dataset_version.sha256,
                "standard": standard_version.label,
                "spec_sha256": standard_version.spec_sha256,
                "results": results,
                "sources": sources,
            }
        )
    )
    with transaction.atomic():
        current = (
            ComplianceEvaluation.objects.select_for_update()
            .filter(
                dataset_version=dataset_version, standard_version=standard_version, is_current=True
            )
            .first()
        )
        if current is not None and current.evidence_sha256 == evidence:
            return current
        if current is not None:
            ComplianceEvaluation.objects.filter(pk=current.pk).update(
                is_current=False, superseded=timezone.now()
            )
            RuleOutcome.objects.filter(evaluation=current).update(is_current=False)
        summary = result.summary()
        evaluation = ComplianceEvaluation.objects.create(
            dataset_version=dataset_version,
            standard_version=standard_version,
            status=result.status,
            results=results,
            sources=sources,
            evidence_sha256=evidence,
            worst_severity=summary.get("worst_failing_severity") or "",
            fail_count=summary.get("fail", 0),
            missing_count=summary.get("missing", 0),
        )
        RuleOutcome.objects.bulk_create(
            [
                RuleOutcome(
                    evaluation=evaluation, key=r["key"], status=r["status"], severity=r["severity"]
                )
                for r in results.get("rules", [])
            ]
        )
        # A certificate does not outlive its evidence: a re-audit that now
        # fails a rule which could not have been approved suspends it. Called
        # before the trail entry so every path locks certificate rows before
        # the trail head (no lock-order deadlock with a revocation).
        certificates_on_new_evaluation(evaluation=evaluation)
        trail_record(
            actor=None,
            actor_label="compliance",
            action="audits.evaluation.computed",
            target=evaluation,
            organisation=dataset_version.dataset.organisation,
            payload={
                "standard": standard_version.label,
                "status": result.status,
                "previous": current.status if current else None,
                "evidence_sha256": evidence,
            },
        )
    return evaluation


def evaluations_recompute_for_version(
    *, dataset_version: DatasetVersion
) -> list[ComplianceEvaluation]:
    dataset = Dataset.objects.select_related("organisation").get(pk=dataset_version.dataset_id)
    return [
        evaluation_compute(dataset_version=dataset_version, standard_version=standard)
        for standard in current_standards()
        if applies(standard, dataset)
    ]


def evaluations_recompute_for_standard(*, standard_version: StandardVersion) -> int:
    """Evaluate every dataset version the standard applies to; return how many."""
    count = 0
    datasets = Dataset.objects.select_related("organisation").prefetch_related(
        "organisation__jurisdictions"
    )
    for dataset in datasets.iterator(chunk_size=500):
        if not applies(standard_version, dataset):
            continue
        for version in dataset.versions.all():
            evaluation_compute(dataset_version=version, standard_version=standard_version)
            count += 1
    # Versions evaluated against an older version of this standard stop being current.
    ComplianceEvaluation.objects.filter(
        standard_version__standard=standard_version.standard, is_current=True
    ).exclude(standard_version=standard_version).update(is_current=False, superseded=timezone.now())
    RuleOutcome.objects.filter(
        evaluation__standard_version__standard=standard_version.standard, is_current=True
    ).exclude(evaluation__standard_version=standard_version).update(is_current=False)
    return count
