"""Standards (drafts, publication, YAML) and compliance evaluations.

The rule semantics live in the plain ``audits.standards`` engine; this module
stores standards, decides which apply to a dataset version, gathers the
figures (latest finished audits and registry facts) and records evaluations.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audits import standards as engine
from audits.models import (
    AuditMetric,
    AuditRun,
    AuditStatus,
    ComplianceEvaluation,
    Integrity,
    Rule,
    RuleOutcome,
    Standard,
    StandardVersion,
)
from registry.models import Dataset, DatasetVersion, Generation
from synthgov.accounts.models import Organisation
from synthgov.accounts.permissions import STANDARD_PUBLISH_GLOBAL, user_may_publish_global_standards
from synthgov.signing.canonical import canonical_json, sha256_hex
from synthgov.trail.services import trail_record

# A rule's fields, the same in the database, the engine's RuleSpec and YAML.
RULE_FIELDS = engine.RULE_FIELDS
# A standard's fields that are columns of the same name on its version row: all but
# code (on the Standard row) and parent (a link to another version).
VERSION_COLUMNS = tuple(name for name in engine.STANDARD_FIELDS if name not in ("code", "parent"))


# --- Specs <-> rows ------------------------------------------------------


def spec_for(version: StandardVersion) -> engine.StandardSpec:
    columns = {name: _copy(getattr(version, name)) for name in VERSION_COLUMNS}
    return engine.StandardSpec(
        **columns,
        code=version.standard.code,
        parent=version.parent.label if version.parent else None,
        rules=[
            engine.RuleSpec(**{f: getattr(rule, f) for f in RULE_FIELDS})
            for rule in version.rules.all()
        ],
    )


def _known_parents() -> dict[str, engine.StandardSpec]:
    versions = StandardVersion.objects.published().select_related("standard", "parent__standard")
    return {v.label: spec_for(v) for v in versions.prefetch_related("rules")}


def parent_rules(version: StandardVersion) -> list[Any] | None:
    """The parent's effective rules (its own inheritance applied), or None."""
    if version.parent is None:
        return None
    return [e.rule for e in effective(version.parent) if not e.rule.waived]


def effective(version: StandardVersion) -> list[Any]:
    return engine.effective_rules(spec_for(version), parent_rules(version))


def _problems_error(problems: list[Any]) -> ValidationError:
    return ValidationError(
        [
            (f"Line {p.line}: " if p.line else "") + (f"{p.field}: " if p.field else "") + p.message
            for p in problems
        ]
    )


def _copy(value: Any) -> Any:
    # Lists (jurisdictions, sectors, dataset kinds) are copied, not shared.
    return list(value) if isinstance(value, list) else value


def _write(version: StandardVersion, spec: engine.StandardSpec) -> None:
    for name in VERSION_COLUMNS:  # version too: the row was found or made by it
        setattr(version, name, _copy(getattr(spec, name)))
    version.parent = _parent_row(spec.parent)
    version.save()
    version.rules.all().delete()
    Rule.objects.bulk_create(
        [
            Rule(standard_version=version, position=i, **_rule_row(rule))
            for i, rule in enumerate(spec.rules)
        ]
    )


def _rule_row(rule: engine.RuleSpec) -> dict[str, Any]:
    data = rule.to_json()
    return {f: data[f] for f in RULE_FIELDS}


def _parent_row(label: str | None) -> StandardVersion | None:
    if not label:
        return None
    code, _, number = label.partition("@")
    return StandardVersion.objects.published().get(standard__code=code, version=number)


# --- Drafts, publication, YAML ------------------------------------------


class StandardForbidden(PermissionDenied):
    """The user may write standards but not this one (403, with the reason)."""


def _check_global(user: Any, scope: str, label: str) -> None:
    if scope == "global" and not user_may_publish_global_standards(user):
        raise StandardForbidden(
            f"{label} is a global standard: it would apply to every organisation's datasets, "
            "and only people granted the permission to publish global standards "
            f"({STANDARD_PUBLISH_GLOBAL}, given by a platform administrator) may write or "
            "publish one. Make it local to the jurisdictions you cover instead."
        )


def _check_jurisdictions(user: Any, spec: engine.StandardSpec, owner: Organisation | None) -> None:
    if user.is_superuser or spec.scope == "global":
        return
    covered = set(owner.covered_jurisdictions.values_list("code", flat=True)) if owner else set()
    outside = sorted(set(spec.jurisdictions) - covered)
    if outside or not spec.jurisdictions:
        raise ValidationError(
            f"A local standard must name jurisdictions your organisation covers "
            f"({', '.join(sorted(covered)) or 'none'}); "
            + (f"{', '.join(outside)} is outside them." if outside else "none was given.")
        )


def standard_save_draft(
    *, spec: engine.StandardSpec, user: Any, owner: Organisation | None
) -> StandardVersion:
    """Create or replace the draft ``spec.code@spec.version``; published
    versions are never changed (editing one makes a new draft version)."""
    problems = engine.validate_standard(spec, known_parents=_known_parents())
    if problems:
        raise _problems_error(problems)
    _check_global(user, spec.scope, f"{spec.code}@{spec.version}")
    _check_jurisdictions(user, spec, owner)
    with transaction.atomic():
        standard, created = Standard.objects.get_or_create(
            code=spec.code, defaults={"owner": owner}
        )
        if (
            not created
            and standard.owner_id != (owner.pk if owner else None)
            and not user.is_superuser
        ):
            raise ValidationError(
                f"The code {spec.code} belongs to another organisation's standard."
            )
        version = StandardVersion.objects.filter(standard=standard, version=spec.version).first()
        if version is not None and version.is_published:
            raise ValidationError(
                f"{version.label} is published and cannot change. Give the draft a new version "
                "number."
            )
        if version is None:
            version = StandardVersion(standard=standard, version=spec.version, created_by=user)
        _write(version, spec)
        trail_record(
            actor=user,
            action="audits.standard.draft_saved",
            target=version,
            organisation=owner,
            payload={"standard": version.label, "rules": len(spec.rules)},
        )
    return version


def standard_publish(*, version: StandardVersion, user: Any) -> StandardVersion:
    """Publish a draft; StandardForbidden for a global one unless the user may
    publish global standards (a draft may predate that rule)."""
    _check_global(user, version.scope, version.label)
    spec = spec_for(version)
    problems = engine.validate_standard(spec, known_parents=_known_parents())
    if problems:
        raise _problems_error(problems)
    with transaction.atomic():
        updated = StandardVersion.objects.filter(
            pk=version.pk, status=StandardVersion.Status.DRAFT
        ).update(
            status=StandardVersion.Status.PUBLISHED,
            published=timezone.now(),
            published_by=user,
            spec_sha256=sha256_hex(engine.dump_yaml(spec).encode()),
        )
        if not updated:
            raise ValidationError(f"{version.label} is already published.")
        version.refresh_from_db()
        trail_record(
            actor=user,
            action="audits.standard.published",
            target=version,
            organisation=version.standard.owner,
            payload={"standard": version.label, "spec_sha256": version.spec_sha256},
        )
        from audits.tasks import evaluations_for_standard_task

        transaction.on_commit(lambda: evaluations_for_standard_task.delay(version.pk))
    return version


def standard_new_draft(*, version: StandardVersion, user: Any, number: str) -> StandardVersion:
    """Start a new draft version from an existing one (published ones stay frozen)."""
    spec = dataclasses.replace(spec_for(version), version=number)
    return standard_save_draft(spec=spec, user=user, owner=version.standard.owner)


def standard_import_yaml(
    *, text: str, user: Any, owner: Organisation | None
) -> list[StandardVersion]:
    """Import one or more standards from YAML as drafts; all or nothing."""
    specs, problems = engine.parse_yaml_many(text)
    if problems:
        raise _problems_error(problems)
    for spec in specs:
        _check_global(user, spec.scope, f"{spec.code}@{spec.version}")
    known = _known_parents()
    for spec in specs:
        known_with_batch = {**known, **{f"{s.code}@{s.version}": s for s in specs if s is not spec}}
        found = engine.validate_standard(spec, known_parents=known_with_batch)
        problems.extend(found)
    if problems:
        raise _problems_error(problems)
    with transaction.atomic():
        return [standard_save_draft(spec=spec, user=user, owner=owner) for spec in specs]


def standard_export_yaml(version: StandardVersion) -> str:
    return engine.dump_yaml(spec_for(version))


# --- Applicability and figures ------------------------------------------


def applies(version: StandardVersion, dataset: Dataset, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    if version.effective_from and version.effective_from > today:
        return False
    if version.effective_to and version.effective_to < today:
        return False
    if version.dataset_kinds and dataset.kind not in version.dataset_kinds:
        return False
    org_codes = {j.code for j in dataset.organisation.jurisdictions.all()}
    if version.jurisdictions and not org_codes & set(version.jurisdictions):
        return False
    if version.sectors:
        sectors = {s.lower() for s in version.sectors}
        if dataset.domain.lower() not in sectors and not {c.lower() for c in org_codes} & sectors:
            return False
    return True


def current_standards() -> list[StandardVersion]:
    """The latest published version of each standard."""
    latest: dict[int, StandardVersion] = {}
    for version in (
        StandardVersion.objects.published()
        .select_related("standard", "parent__standard")
        .prefetch_related("rules")
        .order_by("standard_id", "published")
    ):
        latest[version.standard_id] = version
    return sorted(latest.values(), key=lambda v: v.standard.code)


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


# The scheme name a version watermarked by SynthGov reports (registry.provenance).
WATERMARK_SCHEME = "synthgov-keyed"


def registry_facts(version: DatasetVersion) -> dict[str, Any]:
    dataset = version.dataset
    sheet = getattr(version, "datasheet", None)
    gen = Generation.objects.filter(version=version).first()
    latest = (
        AuditRun.objects.filter(version=version, status=AuditStatus.SUCCEEDED)
        .order_by("-finished")
        .first()
    )
    facts: dict[str, Any] = {
        "registry.licence": dataset.licence,
        "registry.kind": dataset.kind,
        "registry.access": dataset.access,
        "registry.datasheet_completeness": sheet.completeness if sheet else 0.0,
        "registry.has_holdout_audit": bool(latest and latest.holdout_id),
        "registry.generator_type": gen.generator_type if gen and gen.generator_type else None,
        "registry.privacy_mechanism": (
            gen.privacy_mechanism if gen and gen.privacy_mechanism else None
        ),
        "registry.epsilon": gen.epsilon if gen else None,
        "provenance.watermark": WATERMARK_SCHEME if version.watermark_key_id else None,
    }
    # An unset fact is reported as None: "is present" then fails rather than
    # waiting for a figure that will never come.
    return facts


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
        from audits.certification import certificates_on_new_evaluation

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
