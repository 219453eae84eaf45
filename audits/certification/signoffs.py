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
  who they are (re-entered their password) and it must be recent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audits.models import (
    ComplianceEvaluation,
    EvaluationStatus,
    SignOff,
    SignOffDecision,
    SignOffRole,
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
from synthgov.trail.services import trail_record

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


# --- Who may sign ---------------------------------------------------------


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


# --- What may be approved -------------------------------------------------


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


# --- State ----------------------------------------------------------------


@dataclass(frozen=True)
class SignOffState:
    """Where an evaluation's sign-off stands.

    ``stage``: "producer" (waiting for the curator), "regulator" (waiting for
    the regulator), "certified", "closed" (rejected or changes requested: the
    flow restarts when the evidence changes) or "superseded" (newer evidence
    replaced this evaluation; its sign-offs no longer apply).
    """

    evaluation: ComplianceEvaluation
    producer: SignOff | None
    regulator: SignOff | None
    stage: str

    @property
    def signoffs(self) -> list[SignOff]:
        return [s for s in (self.producer, self.regulator) if s is not None]


def signoff_state(
    evaluation: ComplianceEvaluation, signoffs: list[SignOff] | None = None
) -> SignOffState:
    if signoffs is None:
        signoffs = list(evaluation.signoffs.select_related("user", "organisation"))
    producer = next((s for s in signoffs if s.role == SignOffRole.PRODUCER), None)
    regulator = next((s for s in signoffs if s.role == SignOffRole.REGULATOR), None)
    if not evaluation.is_current:
        stage = "superseded"
    elif producer is None:
        stage = "producer"
    elif producer.decision != SignOffDecision.APPROVE:
        stage = "closed"
    elif regulator is None:
        stage = "regulator"
    elif regulator.decision == SignOffDecision.APPROVE:
        stage = "certified"
    else:
        stage = "closed"
    return SignOffState(evaluation=evaluation, producer=producer, regulator=regulator, stage=stage)


def _check_stage(state: SignOffState, user: Any) -> str:
    """The role the user would sign in, or raise why they cannot sign now."""
    evaluation = state.evaluation
    mine = next((s for s in state.signoffs if s.user_id == user.pk), None)
    if mine is not None:
        raise SignOffForbidden(
            f"You already signed this evaluation ({mine.get_role_display().lower()}, "
            f"{mine.get_decision_display().lower()}): nobody signs the same evaluation twice."
        )
    if state.stage == "superseded":
        raise SignOffConflict(
            "Newer evidence replaced this evaluation while you were reading it; its sign-offs "
            "no longer apply. Open the current evaluation and sign that one."
        )
    if state.stage == "certified":
        raise SignOffConflict(
            f"{state.regulator.user} already approved this evaluation as regulator and the "
            "certificate was issued; nothing is left to sign."
        )
    if state.stage == "closed":
        closing = state.regulator or state.producer
        raise SignOffConflict(
            f"{closing.user} chose '{closing.get_decision_display().lower()}' on this "
            "evaluation, which closes its sign-off. It restarts when the evidence changes "
            "(a new audit or a republished standard)."
        )
    if state.stage == "producer":
        if producer_organisation_for(user, evaluation) is None:
            raise SignOffForbidden(
                f"A curator of {evaluation.dataset_version.dataset.organisation} signs first; "
                "the regulator signs after their approval."
            )
        return SignOffRole.PRODUCER
    return SignOffRole.REGULATOR


def next_signer_role(evaluation: ComplianceEvaluation, user: Any) -> tuple[str | None, str]:
    """(role, "") when the user may sign now, else (None, the reason in words)."""
    state = signoff_state(evaluation)
    try:
        role = _check_stage(state, user)
        if role == SignOffRole.REGULATOR:
            regulator_signing_organisation(user, evaluation)
    except (SignOffForbidden, SignOffConflict) as refusal:
        return None, str(refusal.args[0] if refusal.args else refusal)
    return role, ""


# --- Recording ------------------------------------------------------------


def signoff_record(
    *,
    evaluation: ComplianceEvaluation,
    user: Any,
    decision: str,
    comment: str,
    reauthenticated_at: datetime | None,
) -> SignOff:
    """Record the user's decision in the next role the evaluation needs.

    The evaluation row is locked, so of two simultaneous signers the second
    sees the first's decision and gets SignOffConflict; the unique
    constraints stop a second decision even without the lock. A regulator's
    approval issues the certificate in the same transaction.

    Raises FreshLoginRequired / SignOffForbidden (403), ValidationError (a
    decision the rules refuse) or SignOffConflict (409).
    """
    from audits.certification import certificates as certification

    require_fresh_login(reauthenticated_at)
    comment = (comment or "").strip()
    if decision not in SignOffDecision.values:
        raise ValidationError({"decision": ["Choose approve, reject or request changes."]})
    if not comment:
        raise ValidationError(
            {"comment": ["Write a comment: what you checked and why you decided this."]}
        )
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            {"comment": [f"Keep the comment under {COMMENT_MAX_LENGTH} characters."]}
        )
    with transaction.atomic():
        locked = (
            ComplianceEvaluation.objects.select_for_update(of=("self",))
            .select_related("dataset_version__dataset__organisation", "standard_version__standard")
            .get(pk=evaluation.pk)
        )
        state = signoff_state(locked)
        role = _check_stage(state, user)
        if role == SignOffRole.PRODUCER:
            organisation = locked.dataset_version.dataset.organisation
        else:
            organisation = regulator_signing_organisation(user, locked)
        if decision == SignOffDecision.APPROVE:
            problem = approval_problem(locked, comment)
            if problem:
                raise ValidationError({"decision": [problem]})
        try:
            with transaction.atomic():
                signoff = SignOff.objects.create(
                    evaluation=locked,
                    evidence_sha256=locked.evidence_sha256,
                    role=role,
                    decision=decision,
                    comment=comment,
                    user=user,
                    organisation=organisation,
                )
        except IntegrityError:
            raise SignOffConflict(
                "Someone else signed this evaluation in the same role a moment ago; "
                "reload the page to see their decision."
            ) from None
        trail_record(
            actor=user,
            action="audits.signoff.recorded",
            target=signoff,
            organisation=locked.dataset_version.dataset.organisation,
            payload={
                "evaluation": locked.pk,
                "evidence_sha256": locked.evidence_sha256,
                "role": role,
                "decision": decision,
                "signed_for": organisation.slug,
                "comment": comment,
            },
        )
        if role == SignOffRole.REGULATOR and decision == SignOffDecision.APPROVE:
            certification.certificate_issue(
                signoff=signoff, keyring=certification.keyring_for_issuing()
            )
        elif decision != SignOffDecision.APPROVE:
            certification.notify(
                organisation=locked.dataset_version.dataset.organisation,
                message=f"{user} chose '{signoff.get_decision_display().lower()}' on "
                f"{locked.dataset_version} × {locked.standard_version.label}: {comment[:200]}",
                link=locked.get_absolute_url(),
            )
    return signoff


# --- Selectors ------------------------------------------------------------


def signoffs_waiting_for(user: Any, *, limit: int = 10) -> list[ComplianceEvaluation]:
    """Current evaluations the user could sign now: as curator (approvable ones
    of their organisation not yet signed), or as regulator (producer-approved,
    in a jurisdiction they cover, not their own organisation's)."""
    base = (
        ComplianceEvaluation.objects.current()
        .exclude(signoffs__user=user)
        .select_related("dataset_version__dataset__organisation", "standard_version__standard")
        .order_by("computed", "id")
    )
    approvable = Q(status=EvaluationStatus.COMPLIANT) | Q(
        status=EvaluationStatus.NON_COMPLIANT,
        worst_severity__in=["minor", "advisory"],
    )
    waiting: list[ComplianceEvaluation] = []
    # Each part runs only for a role the user holds: the queries range over every
    # current evaluation, so a role's filter must not be left to the planner.
    producer_orgs = list(member_organisations(user, SIGNOFF_PRODUCER).values_list("id", flat=True))
    if producer_orgs:
        waiting += list(
            base.filter(
                approvable, dataset_version__dataset__organisation_id__in=producer_orgs
            ).exclude(signoffs__role=SignOffRole.PRODUCER)[:limit]
        )
    regulator_orgs = member_organisations(user, SIGNOFF_REGULATOR)
    covered = set(
        regulator_orgs.filter(covered_jurisdictions__isnull=False).values_list(
            "covered_jurisdictions__code", flat=True
        )
    )
    if covered:
        own = Membership.objects.filter(user=user).values("organisation_id")
        # Driven from the (few) producer approvals, not from every evaluation.
        approved = SignOff.objects.filter(
            role=SignOffRole.PRODUCER, decision=SignOffDecision.APPROVE
        ).values("evaluation_id")
        in_reach = Organisation.objects.filter(jurisdictions__code__in=covered).values("id")
        candidates = (
            base.filter(
                approvable,
                pk__in=approved,
                dataset_version__dataset__organisation__in=in_reach,
            )
            .exclude(signoffs__role=SignOffRole.REGULATOR)
            .exclude(dataset_version__dataset__organisation__in=own)
        )
        # A local standard's jurisdictions are a JSON list, filtered here on a
        # bounded slice (SQLite cannot search inside JSON lists).
        for evaluation in candidates[: limit * 3]:
            named = set(evaluation.standard_version.jurisdictions)
            if not named or named & covered:
                waiting.append(evaluation)
    return waiting[:limit]
