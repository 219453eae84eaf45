"""Read-side queries for accounts pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthgov.accounts.models import Membership, Role


@dataclass
class RoleCard:
    role: str
    label: str
    organisation: str
    next_steps: list[str] = field(default_factory=list)


_NEXT_STEPS: dict[str, list[str]] = {
    Role.CURATOR: [
        "Register a dataset and upload its first version (CSV or Parquet).",
        "Review the column schema SynthGov infers and mark protected attributes.",
        "Declare lineage and fill in the datasheet, then request an audit.",
    ],
    Role.COMPLIANCE_OFFICER: [
        "Watch the compliance matrix for your organisation's datasets.",
        "Drill into failing rules and re-run audits when data changes.",
        "Read the audit trail to see who changed what.",
    ],
    Role.REGULATOR: [
        "Inspect datasets of organisations in the jurisdictions you cover.",
        "Maintain your local standards on top of the global baseline.",
        "Sign off evaluations and issue or revoke certificates.",
    ],
    Role.ADMINISTRATOR: [
        "Manage organisations, users and roles in the administration site.",
        "Check the audit trail for sign-ins and role changes.",
    ],
}


@dataclass
class HomeSummary:
    cards: list[RoleCard]
    roles: set[str]

    @property
    def has_roles(self) -> bool:
        return bool(self.cards)


def home_summary(*, user: Any) -> HomeSummary:
    memberships = Membership.objects.filter(user=user).select_related("organisation")
    cards = [
        RoleCard(
            role=m.role,
            label=m.get_role_display(),
            organisation=m.organisation.name,
            next_steps=_NEXT_STEPS.get(m.role, []),
        )
        for m in memberships
    ]
    return HomeSummary(cards=cards, roles={m.role for m in memberships})
