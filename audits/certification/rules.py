"""Sign-off of compliance evaluations: a curator of the producing organisation
first, then a regulator of a covering jurisdiction; the regulator's approval
issues a certificate (``audits.certification.certificates``).

The rules of separation of duties live here, and only here:

- nobody signs the same evaluation twice, so nobody signs it in both roles;
- a regulator cannot sign for a dataset of an organisation they belong to;
- a failing blocking or major rule, or a missing figure, cannot be approved
  (reject or request changes only); a failing minor or advisory rule can be
  approved only with a comment that names it;
- one decision per role per evaluation: a rejection or a request for changes
  closes the flow until the evidence changes (a new audit or a republished
  standard makes a new evaluation, and the flow starts again);
- signing needs a fresh login: the caller passes when the person last proved
  who they are (re-entered their password) and it must be recent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone

from audits.models import (
    ComplianceEvaluation,
    EvaluationStatus,
)
from synthgov.accounts.models import Membership, Organisation
from synthgov.accounts.permissions import (
    CERTIFICATE_ISSUE,
    DATASET_VIEW,
    SIGNOFF_PRODUCER,
    SIGNOFF_REGULATOR,
    get_object_for_user,
    member_organisations,
)

# A password re-entered longer ago than this does not authorise a signature.
FRESH_LOGIN = timedelta(minutes=5)


# Failing rules of these severities cannot be approved, and a re-audit that
# fails one suspends a certificate.
NOT_APPROVABLE_SEVERITIES = frozenset({"blocking", "major"})


COMMENT_MAX_LENGTH = 4000


class SignOffForbidden(PermissionDenied):
    """The person may see the evaluation but may not sign it now (role,
    jurisdiction, own organisation, already signed, stale login)."""


class FreshLoginRequired(SignOffForbidden):
    """The password was not re-entered, or too long ago."""


class SignOffConflict(Exception):
    """Someone else's decision got there first (or the evidence moved on)."""


def evaluation_for(user: Any, pk: int) -> ComplianceEvaluation:
    """The evaluation a sign-off page or endpoint is about: 404 when the user
    may not see it."""
    return get_object_for_user(
        user=user,
        queryset=ComplianceEvaluation.objects.select_related(
            "dataset_version__dataset__organisation", "standard_version__standard"
        ),
        perm=DATASET_VIEW,
        pk=pk,
    )


def require_fresh_login(reauthenticated_at: datetime | None) -> None:
    if reauthenticated_at is None or timezone.now() - reauthenticated_at > FRESH_LOGIN:
        raise FreshLoginRequired(
            "Signing needs a fresh login: re-enter your password to confirm it is you."
        )


def producer_organisation_for(user: Any, evaluation: ComplianceEvaluation) -> Organisation | None:
    """The producing organisation, when the user is its curator."""
    owner = evaluation.dataset_version.dataset.organisation
    return member_organisations(user, SIGNOFF_PRODUCER).filter(pk=owner.pk).first()


def regulator_organisations_for(
    user: Any, evaluation: ComplianceEvaluation
) -> QuerySet[Organisation]:
    """Regulator organisations through which the user may sign (and issue or
    revoke): they cover a jurisdiction the dataset's organisation is
    established in and, for a local standard, one the standard names; never
    the dataset's own organisation."""
    owner = evaluation.dataset_version.dataset.organisation
    signing = member_organisations(user, SIGNOFF_REGULATOR).values("id")
    issuing = member_organisations(user, CERTIFICATE_ISSUE).values("id")
    orgs = Organisation.objects.filter(id__in=signing).filter(id__in=issuing)
    orgs = orgs.filter(covered_jurisdictions__in=owner.jurisdictions.all())
    jurisdictions = evaluation.standard_version.jurisdictions
    if jurisdictions:
        orgs = orgs.filter(
            id__in=Organisation.objects.filter(covered_jurisdictions__code__in=jurisdictions)
        )
    return orgs.exclude(pk=owner.pk).distinct().order_by("name")


def is_member_of(user: Any, organisation: Organisation) -> bool:
    return Membership.objects.filter(user=user, organisation=organisation).exists()


def regulator_signing_organisation(user: Any, evaluation: ComplianceEvaluation) -> Organisation:
    """The organisation a regulator signs for; SignOffForbidden with the reason."""
    owner = evaluation.dataset_version.dataset.organisation
    if is_member_of(user, owner):
        raise SignOffForbidden(
            f"You belong to {owner}, which produced this dataset: a regulator cannot sign "
            "for their own organisation's data. Another regulator must sign."
        )
    organisation = regulator_organisations_for(user, evaluation).first()
    if organisation is None:
        covered = ", ".join(evaluation.standard_version.jurisdictions) or ", ".join(
            owner.jurisdictions.values_list("code", flat=True)
        )
        raise SignOffForbidden(
            f"Only a regulator covering {covered or 'the dataset’s jurisdiction'} may sign "
            "this evaluation as regulator."
        )
    return organisation


def failing_rules(evaluation: ComplianceEvaluation) -> list[dict[str, Any]]:
    return [r for r in evaluation.results.get("rules", []) if r.get("status") == "fail"]


def approval_problem(evaluation: ComplianceEvaluation, comment: str) -> str | None:
    """Why the evaluation cannot be approved with this comment, or None."""
    if evaluation.status == EvaluationStatus.INCOMPLETE:
        missing = [
            r["key"] for r in evaluation.results.get("rules", []) if r.get("status") == "missing"
        ]
        return (
            "This evaluation is incomplete (no figure yet for "
            f"{', '.join(missing) or 'some rules'}): it cannot be approved. Run the audit that "
            "supplies the figures, or reject or request changes."
        )
    failing = failing_rules(evaluation)
    hard = [r for r in failing if r.get("severity") in NOT_APPROVABLE_SEVERITIES]
    if hard:
        listed = ", ".join(f"{r['key']} ({r['severity']})" for r in hard)
        return (
            f"A failing {hard[0]['severity']} rule cannot be approved: {listed}. "
            "Reject, or request changes."
        )
    unaddressed = [r["key"] for r in failing if r["key"] not in comment]
    if unaddressed:
        return (
            "Approving despite failing rules needs a comment that addresses each of them: "
            f"name {', '.join(unaddressed)} in your comment and say why it is acceptable."
        )
    return None
