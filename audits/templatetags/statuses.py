"""Statuses on every page in the same words and colours (defined once in
``audits.standards.engine.status``).

- ``{{ evaluation|evaluation_status }}``: a stored evaluation's ``StatusView``
  (``.label`` "Compliant, 1 advisory", ``.css``, ``.symbol``, ``.kind.meaning``).
- ``{{ rule|rule_status }}``: one rule result (a dict with status and severity).
- ``{{ verdict|certificate_status }}``: a certificate's status or check verdict.
- ``{{ key|rule_title }}``: a rule key's name in words ("Overall quality score").
"""

from __future__ import annotations

from typing import Any

from django import template

from audits.compliance import status as compliance_status
from audits.models import ComplianceEvaluation
from audits.standards import engine

register = template.Library()


@register.filter
def evaluation_status(evaluation: ComplianceEvaluation) -> engine.StatusView:
    return compliance_status.evaluation_status(evaluation)


@register.filter
def rule_status(rule: dict[str, Any]) -> engine.RuleStatusView:
    return engine.rule_status_view(str(rule.get("status")), str(rule.get("severity")))


@register.filter
def certificate_status(verdict: str) -> engine.RuleStatusView:
    return engine.certificate_status_view(str(verdict))


@register.filter
def rule_title(key: str) -> str:
    info = engine.key_info(str(key))
    return info.title if info else ""
