"""Compliance evaluations: gather a dataset version's figures (its latest
finished audits and the registry's facts), evaluate them with the standards
engine (``audits.standards.engine``) against each published standard that
applies, and record the outcome. A new evaluation may suspend a certificate."""

from __future__ import annotations

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
    """The latest finished audit's figure for each key, plus registry facts."""
    figures: dict[str, Any] = {}
    metrics = (
        AuditMetric.objects.filter(
            # An integrity failure ends the run failed but keeps its evidence:
            # its integrity.hash_verified = 0 must count against the version.
            Q(run__status=AuditStatus.SUCCEEDED)
            | Q(run__status=AuditStatus.FAILED, run__integrity__in=INTEGRITY_FAILURES),
            run__version=version,
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
    for key, value in registry_facts(version).items():
        figures[key] = engine.FigureValue(value=value, source={"registry": key})
    return figures


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
    result = engine.evaluate(rules, figures)
    results = result.to_json()
    sources = {key: fig.source for key, fig in sorted(figures.items())}
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
