"""The sign-off section of the evaluation page, with its state computed here
so the evaluation view needs no change."""

from __future__ import annotations

from typing import Any

from django import template

from audits.certification import signoffs
from audits.models import ComplianceEvaluation

register = template.Library()


@register.filter
def decision_done(decision: str) -> str:
    """``{{ signoff.decision|decision_done }}``: "Approved", "Rejected", "Changes requested"."""
    return signoffs.decision_in_words(decision)


@register.inclusion_tag("audits/signoff_section.html", takes_context=True)
def signoff_section(context: dict[str, Any], evaluation: ComplianceEvaluation) -> dict[str, Any]:
    user = context["request"].user
    role, _ = signoffs.next_signer_role(evaluation, user)
    return {"state": signoffs.signoff_state(evaluation), "can_sign": role is not None}
