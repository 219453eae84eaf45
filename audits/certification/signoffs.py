"""Recording sign-off decisions on compliance evaluations, in the order the
rules (``audits.certification.rules``) allow: a curator of the producing
organisation first, then a regulator of a covering jurisdiction, whose approval
issues the certificate (``audits.certification.certificates``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from audits.certification import certificates as certification
from audits.certification import notifications
from audits.certification.rules import (
    COMMENT_MAX_LENGTH,
    SignOffConflict,
    SignOffForbidden,
    approval_problem,
    producer_organisation_for,
    regulator_signing_organisation,
    require_fresh_login,
)
from audits.models import (
    DECISIONS_DONE,
    ComplianceEvaluation,
    EvaluationStatus,
    SignOff,
    SignOffDecision,
    SignOffRole,
)
from synthgov.accounts.models import Membership, Organisation
from synthgov.accounts.permissions import (
    SIGNOFF_PRODUCER,
    SIGNOFF_REGULATOR,
    member_organisations,
)
from synthgov.trail.services import trail_record

# --- Wording ---------------------------------------------------------------


def decision_in_words(decision: str) -> str:
    """A recorded decision as done ("Approved", "Changes requested"): the choice
    labels ("Approve") are what a signer picks, not what a reader is told."""
    return DECISIONS_DONE.get(decision, decision)


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
            f"{decision_in_words(mine.decision).lower()}): nobody signs the same evaluation twice."
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
            notifications.notify(
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
