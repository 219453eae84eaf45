"""Reading standards: a stored version as the engine's spec, its effective
rules (with its parent's), and which published standards apply to a dataset."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from audits.models import (
    StandardVersion,
)
from audits.standards import engine
from registry.models import Dataset
from synthgov.accounts.models import Organisation
from synthgov.accounts.permissions import STANDARD_EDIT, member_organisations

# A rule's fields, the same in the database, the engine's RuleSpec and YAML.


# A standard's fields that are columns of the same name on its version row: all but
# code (on the Standard row) and parent (a link to another version).
VERSION_COLUMNS = tuple(name for name in engine.STANDARD_FIELDS if name not in ("code", "parent"))


def column_copy(value: Any) -> Any:
    """A column's value, lists (jurisdictions, sectors, dataset kinds) copied, not shared."""
    return list(value) if isinstance(value, list) else value


def spec_for(version: StandardVersion) -> engine.StandardSpec:
    columns = {name: column_copy(getattr(version, name)) for name in VERSION_COLUMNS}
    return engine.StandardSpec(
        **columns,
        code=version.standard.code,
        parent=version.parent.label if version.parent else None,
        rules=[
            engine.RuleSpec(**{f: getattr(rule, f) for f in engine.RULE_FIELDS})
            for rule in version.rules.all()
        ],
    )


def known_parents() -> dict[str, engine.StandardSpec]:
    versions = StandardVersion.objects.published().select_related("standard", "parent__standard")
    return {v.label: spec_for(v) for v in versions.prefetch_related("rules")}


def parent_rules(version: StandardVersion) -> list[Any] | None:
    """The parent's effective rules (its own inheritance applied), or None."""
    if version.parent is None:
        return None
    return [e.rule for e in effective(version.parent) if not e.rule.waived]


def effective(version: StandardVersion) -> list[Any]:
    return engine.effective_rules(spec_for(version), parent_rules(version))


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


def may_edit(user: Any, version: StandardVersion) -> bool:
    """Superusers, and editors of the owning organisation (global standards: superusers)."""
    owner = version.standard.owner
    if owner is None:
        return user.is_superuser
    return (
        user.is_superuser or member_organisations(user, STANDARD_EDIT).filter(pk=owner.pk).exists()
    )


def editor_organisation(user: Any) -> Organisation | None:
    """The organisation a new standard of ``user``'s is owned by, if they may write one."""
    return member_organisations(user, STANDARD_EDIT).first()
