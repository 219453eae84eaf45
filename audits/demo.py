"""The demo's audits app part, run in-process through the same services as a
user's requests: a watermarked version, finished audits, the shipped standards
published and evaluated, and certificates for what can be approved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model

from audits.certification import rules as certification_rules
from audits.certification import signoffs
from audits.compliance import services as compliance
from audits.models import (
    AuditRun,
    AuditStatus,
    Certificate,
    ComplianceEvaluation,
    JurisdictionProfile,
    PopulationProfile,
    StandardVersion,
)
from audits.populations import services as population_services
from audits.provenance import services as provenance
from audits.runs import services
from audits.standards import engine
from audits.standards import services as standard_services
from registry.models import Dataset, DatasetKind, DatasetVersion
from synthgov.accounts.models import Jurisdiction, Organisation

# The demo's linked tables (SDMetrics' users, sessions, transactions): re-identification
# on users with their sessions' aggregates, fairness on sessions by the user's gender.
DEMO_LINKED_CHOICES = {
    "individuals_table": "users",
    "fairness_table": "sessions",
    "fairness_parent_columns": ["users.gender"],
    "protected": ["users.gender"],
}


def load_audits_demo(datasets: list[Dataset], *, user: Any) -> list[AuditRun]:
    """Audit every version of the non-real datasets against the real dataset's latest
    version, in-process, with the audit form's defaults (for linked tables: every
    family, with users as the table holding individuals and fairness on sessions by the
    user's gender, DEMO_LINKED_CHOICES). Idempotent: a version with a finished audit
    keeps it."""
    real = next(d for d in datasets if d.kind == DatasetKind.REAL)
    reference = real.versions.order_by("-number").first()
    runs = []
    for dataset in datasets:
        if dataset.kind == DatasetKind.REAL:
            continue
        for version in dataset.versions.order_by("number"):
            done = version.audits.filter(status=AuditStatus.SUCCEEDED).first()
            if done:
                runs.append(done)
                continue
            run = services.audit_run_request(
                version=version,
                reference=reference,
                holdout=None,
                config={
                    **services.default_config(version),
                    **(DEMO_LINKED_CHOICES if version.is_relational else {}),
                },
                user=user,
                enqueue=False,
            )
            token = services.audit_run_claim(run_id=run.pk)
            runs.append(services.audit_run_execute(run_id=run.pk, token=token))
    return runs


def load_standards_demo(*, user: Any) -> list[Any]:
    """Publish the shipped global baseline and local standards, then evaluate
    every demo dataset version against them (in-process, no worker needed)."""
    published = []
    for spec in engine.load_shipped():
        existing = StandardVersion.objects.filter(
            standard__code=spec.code, version=spec.version
        ).first()
        if existing is None:
            existing = standard_services.standard_save_draft(spec=spec, user=user, owner=None)
        if not existing.is_published:
            existing = standard_services.standard_publish(version=existing, user=user)
        published.append(existing)
    for version in published:
        compliance.evaluations_recompute_for_standard(standard_version=version)
    return published


def load_certificates_demo() -> list[Any]:
    """Sign off and certify the demo evaluations that can be approved: the
    producer's curator signs, then the regulator covering them (as the demo
    users, through the same service and rules). Returns the certificates."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    if Certificate.objects.exists():
        return list(Certificate.objects.all())
    users = get_user_model().objects
    signers = {"northwind": ("curator", "regulator"), "meridian": ("curator-uk", "regulator-uk")}
    certificates = []
    evaluations = ComplianceEvaluation.objects.current().select_related(
        "dataset_version__dataset__organisation", "standard_version"
    )
    for evaluation in evaluations.order_by("pk"):
        org = evaluation.dataset_version.dataset.organisation.slug
        if org not in signers or evaluation.signoffs.exists():
            continue
        failing = [r["key"] for r in certification_rules.failing_rules(evaluation)]
        comment = "Demo sign-off: evidence reviewed." + (
            f" Accepted for the demo: {', '.join(failing)}." if failing else ""
        )
        if certification_rules.approval_problem(evaluation, comment):
            continue
        for username in signers[org]:
            signoffs.signoff_record(
                evaluation=evaluation,
                user=users.get(username=username),
                decision="approve",
                comment=comment,
                reauthenticated_at=timezone.now(),
            )
        certificates.append(evaluation.certificate)
    return certificates


def load_watermark_demo(datasets: list[Dataset]) -> DatasetVersion:
    """Watermark the synthetic dataset's first version as its curator would,
    with the suggested tolerances and every offered categorical column allowed
    to change up to 10% of its cells: version 2 is the marked copy."""
    synthetic = next(d for d in datasets if d.name == "Student placements — synthetic")
    marked = synthetic.versions.exclude(watermark_key_id="").first()
    if marked is not None:
        return marked
    source = synthetic.versions.get(number=1)
    defaults = provenance.watermark_defaults(source)
    return provenance.version_watermark(
        version=source,
        user=get_user_model().objects.get(username="curator"),
        tolerances=defaults["tolerances"],
        categorical=dict.fromkeys(defaults["categorical"], 0.1),
    )


SHIPPED_PROFILES = Path(__file__).resolve().parent / "populations" / "shipped"


def load_populations_demo() -> list[PopulationProfile]:
    """Publish the shipped population profiles as the UK regulator and make the first
    the UK's default (idempotent: an existing profile of the same name is kept)."""
    user = get_user_model().objects.get(username="regulator-uk")
    owner = Organisation.objects.get(slug="uk-ico")
    profiles = []
    for path in sorted(SHIPPED_PROFILES.glob("*.yaml")):
        content = population_services.parse_import(
            text=path.read_text(encoding="utf-8"), fmt="yaml"
        )
        profile = PopulationProfile.objects.filter(owner=owner, name=content.name).first()
        if profile is None:
            profile = population_services.profile_import(
                text=path.read_text(encoding="utf-8"), fmt="yaml", user=user, owner=owner
            )
        if not profile.is_published:
            profile = population_services.profile_publish(profile=profile, user=user)
        profiles.append(profile)
    uk = Jurisdiction.objects.get(code="UK")
    if profiles and not JurisdictionProfile.objects.filter(jurisdiction=uk).exists():
        population_services.jurisdiction_set_default(
            jurisdiction=uk, profile=profiles[0], user=user
        )
    return profiles
