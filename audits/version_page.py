"""The audits app's panels on the registry's version page (recent audits, model
collapse, watermarking and open publication) and the badges of the dataset page's lineage view
(each version's compliance status and certificate). The registry renders the
pages and asks through ``registry.signals``; it never imports audits."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.http import HttpRequest

from audits.collapse.selectors import collapse_panel
from audits.compliance.status import evaluation_status, fails_by_severity_for
from audits.models import Certificate, ComplianceEvaluation
from audits.provenance.views import provenance_context
from audits.publishing.views import publishing_context
from audits.runs.selectors import audits_for
from audits.standards import engine
from registry.models import DatasetVersion
from registry.signals import lineage_view_badges, version_page_context
from synthgov.accounts.permissions import AUDIT_REQUEST, user_has_perm


@receiver(version_page_context, dispatch_uid="audits.version_page.audits")
def audit_panels(
    sender: Any, request: HttpRequest, version: DatasetVersion, **kwargs: Any
) -> dict[str, Any]:
    return {
        "audits": audits_for(request.user).filter(version=version)[:10],
        "collapse": collapse_panel(user=request.user, version=version),
        "can_audit": user_has_perm(
            request.user, AUDIT_REQUEST, organisation=version.dataset.organisation
        ),
    }


@receiver(version_page_context, dispatch_uid="audits.version_page.provenance")
def provenance_panel(
    sender: Any, request: HttpRequest, version: DatasetVersion, **kwargs: Any
) -> dict[str, Any]:
    return provenance_context(request, version)


@receiver(version_page_context, dispatch_uid="audits.version_page.publishing")
def publishing_panel(
    sender: Any, request: HttpRequest, version: DatasetVersion, **kwargs: Any
) -> dict[str, Any]:
    return publishing_context(request, version)


# Worst first: the status a version shows is its worst current evaluation's.
_STATUS_WEIGHT = {
    "non_compliant": 3,
    "incomplete": 2,
    engine.COMPLIANT_WITH_FINDINGS: 1,
    "compliant": 0,
}
# The certificate a version shows: a valid one before one that ended.
_CERTIFICATE_PREFERENCE = {"valid": 0, "suspended": 1, "expired": 2, "revoked": 3}


@receiver(lineage_view_badges, dispatch_uid="audits.version_page.lineage_badges")
def lineage_badges(
    sender: Any, user: Any, version_ids: list[int], **kwargs: Any
) -> dict[int, dict[str, Any]]:
    """Each version's compliance status (its worst current evaluation, in the
    words and colours of ``engine.status``) and its best certificate, as far as
    ``user`` may read them."""
    evaluations = list(
        ComplianceEvaluation.objects.visible_to(user)
        .current()
        .filter(dataset_version_id__in=version_ids)
        .defer("results", "sources")
    )
    fails = fails_by_severity_for(e.pk for e in evaluations)
    worst: dict[int, tuple[int, engine.StatusView]] = {}
    counted: dict[int, int] = {}
    for evaluation in evaluations:
        view = evaluation_status(evaluation, fails[evaluation.pk])
        version_id = evaluation.dataset_version_id
        counted[version_id] = counted.get(version_id, 0) + 1
        weight = _STATUS_WEIGHT.get(view.code, 0)
        if version_id not in worst or weight > worst[version_id][0]:
            worst[version_id] = (weight, view)
    certificates: dict[int, Certificate] = {}
    for certificate in (
        Certificate.objects.visible_to(user)
        .filter(dataset_version_id__in=version_ids)
        .order_by("-issued", "-id")
    ):
        chosen = certificates.get(certificate.dataset_version_id)
        if chosen is None or _CERTIFICATE_PREFERENCE.get(
            certificate.effective_status(), 9
        ) < _CERTIFICATE_PREFERENCE.get(chosen.effective_status(), 9):
            certificates[certificate.dataset_version_id] = certificate
    badges: dict[int, dict[str, Any]] = {}
    for version_id in set(worst) | set(certificates):
        badge: dict[str, Any] = {"status": None, "certificate": None}
        if version_id in worst:
            view = worst[version_id][1]
            label = view.label
            if counted[version_id] > 1:
                label += f" (worst of {counted[version_id]} standards)"
            badge["status"] = {
                "code": view.code,
                "label": label,
                "colour": view.colour,
                "symbol": view.symbol,
            }
        if version_id in certificates:
            certificate = certificates[version_id]
            status = certificate.effective_status()
            badge["certificate"] = {
                "number": certificate.number,
                "status": status,
                "label": f"Certificate {certificate.number}: {status}",
                "url": certificate.get_absolute_url(),
            }
        badges[version_id] = badge
    return badges
