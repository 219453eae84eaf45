"""Writing standards: drafts, publication, new drafts, YAML import and export.
Who may write a global standard, and for which jurisdictions an organisation
may write, is checked here."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audits.models import (
    Rule,
    Standard,
    StandardVersion,
)
from audits.standards import engine
from audits.standards.selectors import VERSION_COLUMNS, column_copy, known_parents, spec_for
from synthgov.accounts.models import Organisation
from synthgov.accounts.permissions import STANDARD_PUBLISH_GLOBAL, user_may_publish_global_standards
from synthgov.queue import enqueue
from synthgov.signing.canonical import sha256_hex
from synthgov.trail.services import trail_record


def _problems_error(problems: list[Any]) -> ValidationError:
    return ValidationError(
        [
            (f"Line {p.line}: " if p.line else "") + (f"{p.field}: " if p.field else "") + p.message
            for p in problems
        ]
    )


def _write(version: StandardVersion, spec: engine.StandardSpec) -> None:
    for name in VERSION_COLUMNS:  # version too: the row was found or made by it
        setattr(version, name, column_copy(getattr(spec, name)))
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
    return {f: rule.field_value(f) for f in engine.RULE_FIELDS}


def _parent_row(label: str | None) -> StandardVersion | None:
    if not label:
        return None
    code, _, number = label.partition("@")
    return StandardVersion.objects.published().get(standard__code=code, version=number)


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
    problems = engine.validate_standard(spec, known_parents=known_parents())
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
    problems = engine.validate_standard(spec, known_parents=known_parents())
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
        transaction.on_commit(lambda: enqueue("audits.evaluate_standard", version.pk))
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
    known = known_parents()
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
