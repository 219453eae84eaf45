"""Requesting, running and cancelling audits. Tasks and views call these."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from audits.checks import (
    METRICS,
    AuditConfig,
    AuditFrames,
    AuditInputError,
    ColumnSpec,
    RealAncestor,
    relational_fairness,
    relational_privacy,
    run_audit,
    run_relational_audit,
)
from audits.checks.base import FAMILIES, MAX_SEED
from audits.checks.relational import RelationalSchema
from audits.checks.runner import RELATIONAL_FAMILIES, library_versions
from audits.checks.sources import FileSource
from audits.models import AuditMetric, AuditRun, AuditStatus, Integrity
from audits.populations.selectors import applicable_profile, usable_in_audits
from audits.provenance.services import version_watermark_facts
from audits.runs import distributed, inputs
from audits.runs.inputs import StoredCopies, real_ancestor_load
from registry import ingest, table_services
from registry.models import DatasetKind, DatasetVersion
from registry.selectors import version_facts
from registry.services import version_table_info
from registry.signals import stored_file_failed
from synthgov import __version__ as synthgov_version
from synthgov.queue import enqueue
from synthgov.signing.canonical import canonical_json, sha256_hex
from synthgov.trail.services import trail_record

log = logging.getLogger(__name__)

# A running audit's worker refreshes its heartbeat this often; a run whose
# heartbeat is older than LEASE_SECONDS belongs to a dead worker.
LEASE_SECONDS = settings.SYNTHGOV_AUDIT_LEASE_SECONDS
HEARTBEAT_SECONDS = max(1, LEASE_SECONDS // 6)
PROGRESS_WRITE_SECONDS = 1.0
WAITING_FOR_WORKER = "Waiting for a worker"
WAITING_FOR_BROKER = (
    "Waiting for the task queue (the broker did not answer): the audit is kept and "
    "will be sent as soon as it answers"
)
# How many runs one sweep hands on; the next sweep takes the rest.
SWEEP_BATCH = 200


def _lease() -> timedelta:
    # Read at call time: the sweeper and cancel judge leases by the configured
    # value (tests shorten it), not by the one this module was imported with.
    return timedelta(seconds=settings.SYNTHGOV_AUDIT_LEASE_SECONDS)


class AuditCancelled(Exception):
    """The user cancelled the run; raised from the progress callback."""


class LeaseLost(Exception):
    """Another worker took the run over; this one must stop without writing."""


def default_config(version: DatasetVersion) -> dict[str, Any]:
    """The audit form's starting values, from the version's schema roles. A version of
    linked tables starts with the families its audit computes (integrity, quality,
    fairness, privacy, provenance) and no table chosen for fairness or as holding
    individuals."""
    by_role: dict[str, list[str]] = {}
    for column in version.schema:
        by_role.setdefault(column["role"], []).append(column["name"])
    targets = by_role.get("target", [])
    return {
        "protected": by_role.get("protected", []),
        "quasi_identifiers": by_role.get("quasi_identifier", []),
        "sensitive": by_role.get("sensitive", []),
        "target": targets[0] if targets else "",
        "positive_outcome": "",
        "families": list(RELATIONAL_FAMILIES if version.is_relational else FAMILIES),
        "seed": 0,
        **(
            {"individuals_table": "", "fairness_table": "", "fairness_parent_columns": []}
            if version.is_relational
            else {}
        ),
    }


def _check_request(
    version: DatasetVersion,
    reference: DatasetVersion,
    holdout: DatasetVersion | None,
    config: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
) -> None:
    errors = dict(errors or {})
    if reference.pk == version.pk:
        errors["reference"] = ["The reference must be the real data, not the audited version."]
    elif reference.dataset.kind != DatasetKind.REAL:
        errors["reference"] = [
            f"{reference} is {reference.dataset.get_kind_display().lower()} data; choose the "
            "real version the generator learned from."
        ]
    if holdout is not None:
        if holdout.pk in (version.pk, reference.pk):
            errors["holdout"] = ["The holdout must be real data the generator never saw."]
        elif holdout.dataset.kind != DatasetKind.REAL:
            errors["holdout"] = ["The holdout must be a real dataset version."]
    owner = version.dataset.organisation
    readable = set(
        DatasetVersion.objects.readable_by_organisation(owner)
        .filter(pk__in=[v.pk for v in (reference, holdout) if v is not None])
        .values_list("pk", flat=True)
    )
    # The audit and its evaluations are shown to the audited version's readers: its
    # inputs must be data that organisation may read, whoever asks.
    for field, chosen in (("reference", reference), ("holdout", holdout)):
        if chosen is not None and chosen.pk not in readable and field not in errors:
            errors[field] = [
                f"{owner.name} may not read the chosen {field}: choose open data or your "
                f"organisation's own."
            ]
    names = {c["name"] for c in version.schema}
    # A version of linked tables has its columns checked against the tables the curator
    # chose (_linked_choices).
    for field in ("protected", "quasi_identifiers", "sensitive"):
        missing = [c for c in config.get(field, []) if c not in names]
        if missing and not version.is_relational:
            errors[field] = [f"{', '.join(missing)} is not a column of {version}."]
    target = config.get("target") or ""
    if target and target not in names and not version.is_relational:
        errors["target"] = [f"{target} is not a column of {version}."]
    seed = config.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        # numpy's generators take seeds below 2**32; a larger one fails in the worker.
        errors["seed"] = [f"The seed must be a whole number from 0 to {MAX_SEED:,}."]
    unknown = set(config.get("families", [])) - set(FAMILIES)
    if unknown or not config.get("families"):
        errors["families"] = [
            f"Choose one or more of: {', '.join(FAMILIES)}. Collapse figures are measured "
            "on every audit of a synthetic version; they are not requested."
        ]
    if errors:
        raise ValidationError(errors)


def _population_config(
    version: DatasetVersion, config: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """The snapshot of the population profile the audit compares with (the one chosen,
    else the default of the organisation's jurisdiction; published profiles only), and
    any error. The snapshot is the evidence: the profile's id, version, content hash,
    source and shares, recorded in the run's configuration."""
    chosen_id = config.get("population_profile")
    intended = config.get("population_intended") is True
    chosen = None
    if chosen_id not in (None, ""):
        if isinstance(chosen_id, str) and chosen_id.isdigit():
            chosen_id = int(chosen_id)
        if isinstance(chosen_id, int) and not isinstance(chosen_id, bool) and chosen_id > 0:
            chosen = usable_in_audits().filter(pk=chosen_id).first()
        if chosen is None:
            return None, {
                "population_profile": [
                    f"No published population profile has the id {str(chosen_id)[:20]}: "
                    "choose a published one (drafts are not used in audits)."
                ]
            }
    profile, applied_as = applicable_profile(version, chosen)
    if profile is None:
        if intended:
            return None, {
                "population_intended": [
                    "A deliberate rebalancing is declared towards a profile: choose it."
                ]
            }
        return None, {}
    return profile.audit_snapshot(intended=intended, applied_as=applied_as), {}


def _table_names(version: DatasetVersion) -> list[str]:
    return sorted(version.tables.values_list("name", flat=True))


def _keys_json(version: DatasetVersion) -> dict[str, Any]:
    """The version's keys as recorded in an audit's configuration."""
    keys = table_services.version_keys(version)
    return {
        "primary_keys": dict(sorted(keys.primary_keys.items())),
        "relationships": sorted(
            (fk.to_dict() for fk in keys.foreign_keys),
            key=lambda r: (r["child_table"], r["child_key"]),
        ),
    }


def _mismatch(names: list[str], expected: list[str], whose: str) -> str:
    missing = [n for n in expected if n not in names]
    extra = [n for n in names if n not in expected]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if extra:
        parts.append(f"extra {', '.join(extra)}")
    return f"The tables do not match {whose} tables: {'; '.join(parts)}."


def _key_mismatch(keys: dict[str, Any], expected: dict[str, Any], whose: str) -> str | None:
    differences = []
    for table, pk in expected["primary_keys"].items():
        if keys["primary_keys"].get(table) != pk:
            differences.append(
                f"primary key of {table}: {keys['primary_keys'].get(table) or 'none'} here, "
                f"{pk or 'none'} in {whose}"
            )
    label = "{child_table}.{child_key} -> {parent_table}.{parent_key}".format
    ours = {label(**r) for r in keys["relationships"]}
    theirs = {label(**r) for r in expected["relationships"]}
    differences += [f"foreign key {fk} only in {whose}" for fk in sorted(theirs - ours)]
    differences += [f"foreign key {fk} not in {whose}" for fk in sorted(ours - theirs)]
    if not differences:
        return None
    return (
        f"The keys do not match {whose} keys ({'; '.join(differences)}): declare the same "
        "keys on both versions (Confirm/Correct keys)."
    )


def _relational_check(
    version: DatasetVersion,
    reference: DatasetVersion,
    holdout: DatasetVersion | None,
    config: dict[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    """For an audit involving a version of linked tables: the audited version, its
    reference and any holdout must hold the same tables with the same keys. Returns what
    the run's configuration records (keys and each table's SHA-256 per role) and any
    errors; (None, {}) when every version is a single table."""
    chosen = {"version": version, "reference": reference, "holdout": holdout}
    if not any(v is not None and v.is_relational for v in chosen.values()):
        return None, {
            field: [f"{version} is a single table: {field} applies to linked tables only."]
            for field in LINKED_FIELDS
            if config.get(field)
        }
    errors: dict[str, list[str]] = {}
    names = _table_names(version)
    keys = _keys_json(version)
    whose = {"reference": "the reference's", "holdout": "the audited version's"}
    for field in ("reference", "holdout"):
        other = chosen[field]
        if other is None:
            continue
        other_names = _table_names(other)
        if field == "reference":
            # Missing: the reference has it, the audited version does not.
            problem = _mismatch(names, other_names, whose[field])
            keys_problem = _key_mismatch(keys, _keys_json(other), whose[field])
        else:
            problem = _mismatch(other_names, names, whose[field])
            keys_problem = _key_mismatch(_keys_json(other), keys, whose[field])
        if other_names != names:
            errors[field] = [problem]
        elif keys_problem:
            errors[field] = [keys_problem]
    if version.is_relational and not version.keys_confirmed:
        errors["version"] = [
            f"The keys of {version} were proposed by SynthGov and not yet confirmed: "
            "confirm or correct them (Confirm/Correct keys), then request the audit; its "
            "figures depend on them."
        ]
    choices: dict[str, Any] = {}
    if version.is_relational and "version" not in errors:
        choices, choice_errors = _linked_choices(version, config)
        errors.update(choice_errors)
    if errors:
        return None, errors
    tables = {
        role: dict(v.tables.order_by("name").values_list("name", "sha256"))
        for role, v in (("synthetic", version), ("reference", reference), ("holdout", holdout))
        if v is not None
    }
    return {**keys, "tables": tables, "choices": choices}, {}


# The audit request's choices for the privacy and fairness figures of linked tables.
LINKED_FIELDS = ("individuals_table", "fairness_table", "fairness_parent_columns")


def declared_columns(version: DatasetVersion) -> dict[str, list[ColumnSpec]]:
    """Each table's columns with the types and roles registered for them."""
    return {
        table.name: [ColumnSpec(c["name"], c["type"], c.get("role", "other")) for c in table.schema]
        for table in version.tables.all()
    }


def _linked_choices(
    version: DatasetVersion, config: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The curator's choices for a version of linked tables, checked against its tables
    and keys: the table holding individuals with the quasi-identifiers and sensitive
    columns of its individuals frame (defaults: the columns declared so, plus every
    count of children), and the child table joined to its parents' columns with the
    protected attributes and target of that joined table. Returns what the run records
    and the errors, each naming what to fix."""
    schema = RelationalSchema.from_sdmetrics(table_services.version_metadata(version))
    declared = declared_columns(version)
    errors: dict[str, list[str]] = {}
    individuals = (config.get("individuals_table") or "").strip()
    fairness_table = (config.get("fairness_table") or "").strip()
    parent_columns = [str(c) for c in config.get("fairness_parent_columns") or []]
    qis = list(config.get("quasi_identifiers") or [])
    sensitive = list(config.get("sensitive") or [])
    protected = list(config.get("protected") or [])
    target = config.get("target") or ""
    if individuals:
        try:
            specs, counts = relational_privacy.individuals_specs(schema, individuals, declared)
        except AuditInputError as exc:
            errors["individuals_table"] = [str(exc)]
        else:
            usable = [s.name for s in specs if not s.excluded_from_distances]
            qis = qis or [s.name for s in specs if s.role == "quasi_identifier"] + counts
            sensitive = sensitive or [s.name for s in specs if s.role == "sensitive"]
            for field, names in (("quasi_identifiers", qis), ("sensitive", sensitive)):
                unknown = [n for n in names if n not in usable]
                if unknown:
                    errors[field] = [
                        f"{', '.join(unknown)} is not a column of {individuals} or one of "
                        f"its children's aggregates; choose from {', '.join(usable)}."
                    ]
    elif qis or sensitive:
        errors["individuals_table"] = [
            "Quasi-identifiers and sensitive columns of linked tables are columns of the "
            "table holding individuals (or its children's aggregates): choose that table."
        ]
    if fairness_table:
        try:
            specs = relational_fairness.joined_specs(
                schema, fairness_table, parent_columns, declared
            )
        except AuditInputError as exc:
            own_fault = fairness_table not in schema.columns or not any(
                r.child_table == fairness_table for r in schema.relationships
            )
            errors["fairness_table" if own_fault else "fairness_parent_columns"] = [str(exc)]
        else:
            usable = [s.name for s in specs if not s.excluded_from_distances]
            for field, names in (("protected", protected), ("target", [target] if target else [])):
                unknown = [n for n in names if n not in usable]
                if unknown:
                    errors[field] = [
                        f"{', '.join(unknown)} is not a column of {fairness_table} joined to "
                        f"{', '.join(parent_columns)}; choose from {', '.join(usable)}."
                    ]
    elif protected or target or parent_columns:
        errors["fairness_table"] = [
            "Protected attributes and the target of linked tables are columns of the child "
            "table chosen for fairness, joined to its parent's columns: choose that table "
            "and the parent columns (as <parent table>.<column>)."
        ]
    return {
        "individuals_table": individuals,
        "quasi_identifiers": qis if individuals else [],
        "sensitive": sensitive if individuals else [],
        "fairness_table": fairness_table,
        "fairness_parent_columns": parent_columns if fairness_table else [],
    }, errors


def linked_form_choices(version: DatasetVersion) -> dict[str, list[str]]:
    """What the audit form offers for a version of linked tables: its tables, the
    parent columns a child table can be joined to (``parent.column``), and every column
    name a choice may refer to (each table's columns, those parent columns and each
    table's children's aggregates)."""
    schema = RelationalSchema.from_sdmetrics(table_services.version_metadata(version))
    declared = declared_columns(version)
    tables = sorted(schema.columns)
    parents = sorted({r.parent_table for r in schema.relationships})
    parent_columns = [
        f"{parent}.{spec.name}"
        for parent in parents
        for spec in relational_privacy.column_specs(schema, parent, declared.get(parent))
        if not spec.excluded_from_distances
    ]
    columns: list[str] = []
    for table in tables:
        specs, _ = relational_privacy.individuals_specs(schema, table, declared)
        columns += [s.name for s in specs if not s.excluded_from_distances]
    return {
        "tables": tables,
        "parent_columns": parent_columns,
        "columns": list(dict.fromkeys(columns + parent_columns)),
    }


def audit_run_request(
    *,
    version: DatasetVersion,
    reference: DatasetVersion,
    holdout: DatasetVersion | None,
    config: dict[str, Any],
    user: Any,
    enqueue: bool = True,
) -> AuditRun:
    """Queue an audit; the task is sent only once the row is committed.

    ``enqueue=False`` leaves the run queued for the caller to execute itself
    (the demo loader runs its audits in-process).
    """
    population, population_errors = _population_config(version, config)
    relational, relational_errors = _relational_check(version, reference, holdout, config)
    config = {
        "protected": list(config.get("protected", [])),
        "quasi_identifiers": list(config.get("quasi_identifiers", [])),
        "sensitive": list(config.get("sensitive", [])),
        "target": config.get("target") or "",
        "positive_outcome": config.get("positive_outcome") or "",
        "families": sorted(config.get("families") or FAMILIES),
        "seed": config.get("seed") or 0,
    }
    config["population"] = population
    if relational is not None:
        # The curator's choices for linked tables, with the defaults filled in.
        config.update(relational.pop("choices", None) or {})
        config["relational"] = relational
    _check_request(version, reference, holdout, config, {**relational_errors, **population_errors})
    with transaction.atomic():
        run = AuditRun.objects.create(
            version=version,
            reference=reference,
            holdout=holdout,
            config=config,
            requested_by=user,
            step=WAITING_FOR_WORKER,
        )
        trail_record(
            actor=user,
            action="audits.run.requested",
            target=run,
            organisation=version.dataset.organisation,
            payload={
                "version": version.pk,
                "reference": reference.pk,
                "holdout": holdout.pk if holdout else None,
                "config": config,
            },
        )
        if enqueue:
            transaction.on_commit(lambda: audit_run_dispatch(run_id=run.pk))
    return run


def audit_run_dispatch(*, run_id: int, previous: datetime | None = None) -> bool:
    """Hand a queued run's task to the broker; True when it was sent.

    ``previous`` is the run's ``dispatched`` value the caller saw: claiming the
    send by moving it on keeps the request and the sweeper from both sending.
    When the broker does not answer, the run stays queued with
    ``dispatched=None`` and a step that says so; the sweeper sends it later.
    Never raises for the broker: an accepted run is kept, not a 500.
    """
    now = timezone.now()
    claimed = AuditRun.objects.filter(
        pk=run_id, status=AuditStatus.QUEUED, dispatched=previous
    ).update(dispatched=now)
    if not claimed:
        return False
    try:
        enqueue("audits.run", run_id)
    except (BrokerError, OSError) as exc:
        log.warning("audit %s kept for the sweeper: the broker did not answer (%s)", run_id, exc)
        AuditRun.objects.filter(pk=run_id, dispatched=now).update(dispatched=None)
        AuditRun.objects.filter(pk=run_id, status=AuditStatus.QUEUED).update(
            step=WAITING_FOR_BROKER
        )
        return False
    AuditRun.objects.filter(pk=run_id, status=AuditStatus.QUEUED, step=WAITING_FOR_BROKER).update(
        step=WAITING_FOR_WORKER
    )
    return True


def _unheld(now: datetime) -> Q:
    """Running runs no live worker holds: their heartbeat is older than the lease."""
    return Q(status=AuditStatus.RUNNING) & (
        Q(heartbeat__lt=now - _lease()) | Q(heartbeat__isnull=True)
    )


def audit_run_cancel(*, run: AuditRun, user: Any) -> AuditRun:
    """Cancel a queued run at once, and a running one no worker holds any more
    (its worker died); a run a live worker holds stops at its next progress step."""
    now = timezone.now()
    cancelled = {
        "status": AuditStatus.CANCELLED,
        "finished": now,
        "step": "Cancelled",
        "cancel_requested": True,
        "claim_token": "",
    }
    with transaction.atomic():
        was = "queued"
        if not AuditRun.objects.filter(pk=run.pk, status=AuditStatus.QUEUED).update(**cancelled):
            was = "running, no worker holds it"
            if not AuditRun.objects.filter(_unheld(now), pk=run.pk).update(**cancelled):
                was = "running"
                running = AuditRun.objects.filter(pk=run.pk, status=AuditStatus.RUNNING).update(
                    cancel_requested=True, step="Cancelling…"
                )
                if not running:
                    raise ValidationError(
                        "This audit has already finished; it cannot be cancelled."
                    )
        organisation = run.version.dataset.organisation
        trail_record(
            actor=user,
            action="audits.run.cancel_requested",
            target=run,
            organisation=organisation,
            payload={"was": was},
        )
        if was == "running, no worker holds it":
            trail_record(
                actor=user,
                action="audits.run.cancelled",
                target=run,
                organisation=organisation,
                payload={"reason": "no worker held the run"},
            )
    run.refresh_from_db()
    return run


# --- The sweeper ----------------------------------------------------------


def audit_runs_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Hand on runs nothing is working on; safe to run twice, or in two places.

    - queued runs with no task (the broker was down when they were requested,
      or the broker lost the message ``SYNTHGOV_REQUEUE_SECONDS`` ago) are sent;
    - running runs whose worker's lease ran out (the whole worker was killed:
      Redis would hold its task for the visibility timeout) are cancelled when
      a cancel was asked, failed after ``SYNTHGOV_AUDIT_MAX_ATTEMPTS`` workers
      died on them, and otherwise queued again for a live worker.

    Each change claims the row with a conditional update, so a worker that
    refreshed its heartbeat meanwhile keeps its run. Returns counts.
    """
    now = now or timezone.now()
    counts = {"sent": 0, "requeued": 0, "cancelled": 0, "failed": 0}
    resend_before = now - timedelta(seconds=settings.SYNTHGOV_REQUEUE_SECONDS)
    waiting = (
        AuditRun.objects.filter(status=AuditStatus.QUEUED)
        .filter(Q(dispatched__isnull=True) | Q(dispatched__lt=resend_before))
        .order_by("created")
        .values_list("pk", "dispatched")[:SWEEP_BATCH]
    )
    for run_id, dispatched in waiting:
        counts["sent"] += audit_run_dispatch(run_id=run_id, previous=dispatched)
    orphans = AuditRun.objects.filter(_unheld(now)).select_related("version__dataset__organisation")
    for run in orphans.order_by("heartbeat")[:SWEEP_BATCH]:
        counter = _hand_on(run, now)
        if counter:
            counts[counter] += 1
    return counts


def _hand_on(run: AuditRun, now: datetime) -> str:
    """Cancel, fail or requeue one orphaned run; the counter to bump ('' if a
    worker or another sweep got there first)."""
    max_attempts = settings.SYNTHGOV_AUDIT_MAX_ATTEMPTS
    if run.cancel_requested:
        counter, action, payload = "cancelled", "audits.run.cancelled", {}
        change: dict[str, Any] = {"status": AuditStatus.CANCELLED, "step": "Cancelled"}
    elif run.attempts >= max_attempts:
        message = (
            f"The worker running this audit stopped {run.attempts} times before it finished "
            "(it may have run out of memory or been restarted), so it was not tried again. "
            "Try fewer rows or check families, or ask an administrator to check the workers."
        )
        counter, action, payload = "failed", "audits.run.failed", {"error": message}
        change = {"status": AuditStatus.FAILED, "step": "Failed", "error": message}
    else:
        counter, action = "requeued", "audits.run.requeued"
        payload = {"reason": "the worker's lease ran out", "attempts": run.attempts}
        change = {
            "status": AuditStatus.QUEUED,
            "step": "Queued again: the worker running it stopped",
            "dispatched": None,
            "progress": 0.0,
        }
    if counter != "requeued":
        change["finished"] = now
    with transaction.atomic():
        claimed = AuditRun.objects.filter(
            _unheld(now), pk=run.pk, claim_token=run.claim_token, heartbeat=run.heartbeat
        ).update(claim_token="", **change)
        if not claimed:
            return ""
        trail_record(
            actor=None,
            actor_label="run sweeper",
            action=action,
            target=run,
            organisation=run.version.dataset.organisation,
            payload=payload,
        )
        if counter == "requeued":
            transaction.on_commit(lambda: audit_run_dispatch(run_id=run.pk))
    return counter


# --- Claiming -----------------------------------------------------------


def audit_run_claim(*, run_id: int) -> str | None:
    """Take the run for this worker; return the claim token, or None when the
    run is finished or another live worker holds it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    fresh = AuditRun.objects.filter(pk=run_id, status=AuditStatus.QUEUED).update(
        status=AuditStatus.RUNNING, claim_token=token, heartbeat=now, started=now, step="Starting"
    )
    if fresh:
        _bump_attempts(run_id)
        _trail_claim(run_id, "audits.run.started")
        return token
    # A worker that died mid-run stops refreshing its heartbeat: take it over.
    stale = AuditRun.objects.filter(
        pk=run_id, status=AuditStatus.RUNNING, heartbeat__lt=now - _lease()
    ).update(claim_token=token, heartbeat=now, step="Restarting after a worker stopped")
    if stale:
        _bump_attempts(run_id)
        _trail_claim(run_id, "audits.run.restarted")
        return token
    return None


def _trail_claim(run_id: int, action: str) -> None:
    run = AuditRun.objects.select_related("version__dataset__organisation").get(pk=run_id)
    trail_record(
        actor=None,
        actor_label="audit worker",
        action=action,
        target=run,
        organisation=run.version.dataset.organisation,
        payload={"attempt": run.attempts},
    )


def _bump_attempts(run_id: int) -> None:
    from django.db.models import F

    AuditRun.objects.filter(pk=run_id).update(attempts=F("attempts") + 1)


def audit_run_is_held(*, run_id: int) -> bool:
    """True while a live worker holds the run (a duplicate delivery should wait)."""
    cutoff = timezone.now() - _lease()
    return AuditRun.objects.filter(
        pk=run_id, status=AuditStatus.RUNNING, heartbeat__gte=cutoff
    ).exists()


def audit_run_release(*, run_id: int, token: str, reason: str) -> None:
    """Give the run back to the queue (a transient error will be retried)."""
    AuditRun.objects.filter(pk=run_id, claim_token=token).update(
        status=AuditStatus.QUEUED, claim_token="", step=reason
    )


class _Heartbeat(threading.Thread):
    """Refresh the claim's heartbeat while the checks run; notice a lost lease."""

    def __init__(self, run_id: int, token: str) -> None:
        super().__init__(daemon=True, name=f"audit-heartbeat-{run_id}")
        self.run_id, self.token = run_id, token
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                held = AuditRun.objects.filter(pk=self.run_id, claim_token=self.token).update(
                    heartbeat=timezone.now()
                )
                # A row this connection cannot see (an open test transaction)
                # is not a lost lease; a row held under another token is.
                if not held and AuditRun.objects.filter(pk=self.run_id).exists():
                    self.lost = True
                    return
        except Exception:  # the main thread decides what a broken database means
            log.exception("audit heartbeat failed for run %s", self.run_id)
        finally:
            connection.close()


# --- Running ------------------------------------------------------------


def _integrity(found: str | None, version: DatasetVersion) -> str:
    if found is None:
        return Integrity.MISSING
    return Integrity.VERIFIED if found == version.sha256 else Integrity.ALTERED


def _integrity_message(version: DatasetVersion, integrity: str, role: str) -> str:
    if integrity == Integrity.MISSING:
        what = f"The stored file of the {role} ({version}) is missing from storage"
    else:
        what = (
            f"The stored file of the {role} ({version}) no longer matches the SHA-256 "
            "recorded at upload: it was altered"
        )
    return (
        f"Integrity check failed. {what}. Any certificate of it is suspended. Ask an "
        "administrator to restore the file from a backup (or investigate who changed it), "
        "then run the audit again."
    )


def _suspend_certificates(version: DatasetVersion, integrity: str) -> None:
    stored_file_failed.send(
        sender=DatasetVersion, version=version, outcome=integrity, found_by="an audit"
    )


def _load(version: DatasetVersion, role: str, copies: StoredCopies | None = None):
    """The whole stored table of ``version``: a Parquet file's text columns as pandas
    ``category`` (``ingest.tables.read_parquet_frame``; the same figures, about half the
    memory of one Python string per cell), a CSV file as text read then typed. Read
    from the bytes ``copies`` hashed (on object storage, the copy made while hashing).
    The audit itself reads the same values column by column (``_source``)."""
    copies = copies or StoredCopies()
    try:
        if version.is_relational:
            raise ValueError(f"{version} holds several tables; read each table's file instead")
        with copies.path(version.file.name) as path:
            return ingest.read_frame(path, version_table_info(version), categories=True)
    except FileNotFoundError:
        raise AuditInputError(
            f"The stored file of the {role} ({version}) is missing from storage; "
            "ask an administrator to restore it, then run the audit again."
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuditInputError(
            f"The {role} ({version}) could not be read as a table ({exc}). "
            "Upload it again as a new version."
        ) from None


def _source(version: DatasetVersion, role: str, copies: StoredCopies) -> FileSource:
    """The stored table of ``version`` as a source the audit reads column by column, as
    ``_load`` reads it whole (a Parquet file's text columns as pandas ``category``), from
    the bytes ``copies`` hashed (on object storage, the copy made while hashing, kept
    until the run ends)."""
    if version.is_relational:
        raise ValueError(f"{version} holds several tables; read each table's file instead")
    try:
        path = copies.kept(version.file.name)
    except FileNotFoundError:
        raise AuditInputError(
            f"The stored file of the {role} ({version}) is missing from storage; "
            "ask an administrator to restore it, then run the audit again."
        ) from None
    return FileSource(path, version_table_info(version), label=f"{role} ({version})")


def spill_folder(*tables: Any) -> str | None:
    """Where the audit keeps its prepared columns on disk (``run_audit``'s
    ``spill_dir``): the upload temporary folder when the tables hold more rows together
    than ``SYNTHGOV_AUDIT_SPILL_ROWS``, else None (held in memory)."""
    rows = sum(table.num_rows for table in tables if table is not None)
    if rows <= settings.SYNTHGOV_AUDIT_SPILL_ROWS:
        return None
    return settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir()


def _category_columns(version: DatasetVersion) -> dict[str, list[str]]:
    """Each table's category columns (SDMetrics ``categorical`` or ``ordinal``, keys
    excluded): the text columns the relational audit reads as pandas ``category``."""
    metadata = table_services.version_metadata(version)
    keys = {(name, meta.get("primary_key")) for name, meta in metadata["tables"].items()}
    for r in metadata["relationships"]:
        keys |= {(r["child_table_name"], r["child_foreign_key"])}
        keys |= {(r["parent_table_name"], r["parent_primary_key"])}
    return {
        name: [
            c
            for c, m in meta["columns"].items()
            if m.get("sdtype") in _CATEGORY_SDTYPES and (name, c) not in keys
        ]
        for name, meta in metadata["tables"].items()
    }


_CATEGORY_SDTYPES = ("categorical", "ordinal")


def _load_tables(
    version: DatasetVersion, role: str, copies: StoredCopies | None = None
) -> dict[str, pd.DataFrame]:
    """Every table of ``version``, read as the single-table path reads one file (local
    storage or a temporary copy from the bucket), except that a Parquet table's category
    columns come as pandas ``category`` columns (the same values, read several times
    faster; every relational figure gives the same values on them)."""
    copies = copies or StoredCopies()
    frames = {}
    categories = _category_columns(version)
    for table in version.tables.order_by("position"):
        try:
            with copies.path(table.file.name) as path:
                frames[table.name] = ingest.read_frame(
                    path,
                    table_services.table_info(table, version),
                    categories=categories.get(table.name, ()),
                )
        except FileNotFoundError:
            raise AuditInputError(
                f"The stored file of table {table.name} of the {role} ({version}) is missing "
                "from storage; ask an administrator to restore it, then run the audit again."
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuditInputError(
                f"Table {table.name} of the {role} ({version}) could not be read as a table "
                f"({exc}). Upload it again as a new version."
            ) from None
    return frames


def _relational_outcome(
    run: AuditRun,
    report: Callable[[str, float], None],
    hash_verified: bool,
    copies: StoredCopies,
):
    """The figures of an audit of linked tables: every table of the audited version and
    of its reference (and holdout), under the audited version's keys (those recorded at
    request time; keys corrected since then fail the run with the reason). Besides the
    relational figures (copied families and attacks read the holdout's tables), each
    table is audited on its own with its schema's column types and roles (key columns as
    identifiers); the holdout's table of the same name feeds that table's privacy and
    utility figures. The provenance family reads the registry's facts of the whole
    version, as a single table's audit does."""
    recorded = run.config.get("relational") or {}
    current = _keys_json(run.version)
    if {k: recorded.get(k) for k in current} != current:
        raise AuditInputError(
            f"The keys of {run.version} changed after this audit was requested; request "
            "the audit again so its figures use the keys it records."
        )
    schema = RelationalSchema.from_sdmetrics(table_services.version_metadata(run.version))
    if not hash_verified:
        return run_relational_audit(
            families=set(run.config.get("families", FAMILIES)),
            real={},
            synthetic={},
            schema=schema,
            hash_verified=False,
            progress=report,
        )
    report("Reading the tables", 0.03)
    families = set(run.config.get("families", FAMILIES))
    real = _load_tables(run.reference, "reference", copies)
    synthetic = _load_tables(run.version, "audited version", copies)
    holdout = _load_tables(run.holdout, "holdout", copies) if run.holdout else None
    report("Model collapse: reading the nearest real ancestor's tables", 0.04)
    ancestors = _table_ancestors(run.version, loaded={run.reference_id: real}, copies=copies)
    copies.close()  # every input is read: no copy is kept through the checks
    facts = registry_facts(run.version, hash_verified=True) if "provenance" in families else None
    return run_relational_audit(
        families=families,
        registry_facts=facts,
        real=real,
        synthetic=synthetic,
        holdout=holdout,
        schema=schema,
        hash_verified=True,
        table_columns=_table_columns(run.version),
        ancestors=ancestors,
        seed=int(run.config.get("seed", 0)),
        progress=lambda step, fraction: report(step, 0.05 + 0.95 * fraction),
        choices=_recorded_choices(run),
    )


def _recorded_choices(run: AuditRun) -> relational_privacy.LinkedChoices:
    """The choices recorded at request time (none in runs requested before they
    existed: those figures are then skipped with the reason)."""
    config = run.config
    individuals = config.get("individuals_table") or None
    return relational_privacy.LinkedChoices(
        individuals_table=individuals,
        quasi_identifiers=list(config.get("quasi_identifiers", [])) if individuals else None,
        sensitive=list(config.get("sensitive", [])) if individuals else None,
        fairness_table=config.get("fairness_table") or None,
        fairness_parent_columns=list(config.get("fairness_parent_columns", [])),
        protected=list(config.get("protected", [])),
        target=config.get("target") or None,
        positive_outcome=config.get("positive_outcome") or None,
        seed=int(config.get("seed", 0)),
        declared=declared_columns(run.version),
    )


def _table_ancestors(
    version: DatasetVersion,
    *,
    loaded: dict[int, dict[str, pd.DataFrame]],
    copies: StoredCopies,
) -> dict[str, RealAncestor]:
    """Each table's collapse input: the nearest real ancestor's table of the same name
    (the lineage as ``real_ancestor_load`` walks it; ``loaded`` maps version ids to
    tables already read and verified), or why its collapse figures are not measured."""
    ancestor, reason, depth, details = None, "", None, {}
    if version.dataset.kind == DatasetKind.REAL:
        reason, depth = inputs.REAL_DATA, 0
    elif (lineage := inputs.collapse_lineage(version)) is None:
        reason = inputs.NO_REAL_ANCESTOR
    else:
        depth = lineage.depth
        details = {"ancestor_version": lineage.ancestor_id, "chain": lineage.chain}
        readable = DatasetVersion.objects.readable_by_organisation(version.dataset.organisation)
        if not readable.filter(pk=lineage.ancestor_id).exists():
            reason = inputs.RESTRICTED_ANCESTOR
        elif lineage.ancestor_id in loaded:
            ancestor = loaded[lineage.ancestor_id]
        else:
            ancestor, reason = _ancestor_tables(
                DatasetVersion.objects.get(pk=lineage.ancestor_id), copies
            )
    found: dict[str, RealAncestor] = {}
    for name in _table_names(version):
        if ancestor is not None and name in ancestor:
            found[name] = RealAncestor.measured(
                ancestor[name], generation_depth=depth, details=details
            )
        else:
            why = reason or f"the nearest real ancestor has no table {name}"
            found[name] = RealAncestor.not_measured(why, generation_depth=depth)
    return found


def _ancestor_tables(
    version: DatasetVersion, copies: StoredCopies
) -> tuple[dict[str, pd.DataFrame] | None, str]:
    """The real ancestor's tables, or why they cannot be compared: a missing, altered or
    unreadable ancestor leaves the collapse figures skipped (the lineage chose it)."""
    if not version.is_relational:
        return None, (
            "the nearest real ancestor is a single table, not linked tables: its table "
            "cannot be matched with these"
        )
    found = copies.version_sha256(version)
    if found is None:
        return None, inputs.ANCESTOR_MISSING
    if found != version.sha256:
        return None, inputs.ANCESTOR_ALTERED
    try:
        return _load_tables(version, "real ancestor", copies), ""
    except AuditInputError:
        return None, inputs.ANCESTOR_UNREADABLE


def _table_columns(version: DatasetVersion) -> dict[str, list[ColumnSpec]]:
    """Each table's columns as its schema declares them (type and role)."""
    return {
        table.name: [ColumnSpec(c["name"], c["type"], c["role"]) for c in table.schema]
        for table in version.tables.order_by("name")
    }


def registry_facts(version: DatasetVersion, *, hash_verified: bool) -> dict[str, Any]:
    """The registry's facts as the provenance checks take them."""
    facts = version_facts(version)
    return {
        "datasheet_completeness": facts.datasheet_completeness,
        "lineage_complete": (not facts.synthetic) or version.parent_edges.exists(),
        "generator_documented": (not facts.synthetic)
        or bool(facts.generator_type and facts.generator_library),
        "licence": facts.licence,
        "compute_disclosed": facts.compute_disclosed,
        "hash_verified": hash_verified,
        # Holds the organisation's watermark key for the provenance step; the facts
        # are not stored with the audit.
        **version_watermark_facts(version, hash_verified=hash_verified),
    }


def _audit_config(run: AuditRun) -> AuditConfig:
    config = run.config
    return AuditConfig(
        columns=[ColumnSpec(c["name"], c["type"], c["role"]) for c in run.version.schema],
        protected=config.get("protected", []),
        quasi_identifiers=config.get("quasi_identifiers", []),
        sensitive=config.get("sensitive", []),
        target=config.get("target") or None,
        positive_outcome=config.get("positive_outcome") or None,
        families=set(config.get("families", FAMILIES)),
        seed=int(config.get("seed", 0)),
        population=config.get("population") or None,
    )


def _progress_writer(
    run_id: int, token: str, heartbeat: _Heartbeat
) -> Callable[[str, float], None]:
    last = [0.0]

    def report(step: str, fraction: float) -> None:
        if heartbeat.lost:
            raise LeaseLost
        now = time.monotonic()
        if now - last[0] < PROGRESS_WRITE_SECONDS and fraction < 1:
            return
        last[0] = now
        AuditRun.objects.filter(pk=run_id, claim_token=token).update(
            step=step[:200], progress=round(min(max(fraction, 0.0), 1.0), 4)
        )
        if AuditRun.objects.filter(pk=run_id, cancel_requested=True).exists():
            raise AuditCancelled

    return report


def _scaled(report: Callable[[str, float], None], start: float, span: float):
    """``report`` for a part of the run: its 0..1 becomes ``start``..``start + span``."""
    return lambda step, fraction: report(step, start + span * fraction)


def audit_run_execute(*, run_id: int, token: str) -> AuditRun:
    """Run the checks of a claimed audit and record the outcome.

    Returns the run in its final state. Transient errors (database, storage)
    propagate for the task to retry; input problems end the run as failed
    with a message for the curator.
    """
    run = AuditRun.objects.select_related(
        "version__dataset__organisation", "reference__dataset", "holdout__dataset"
    ).get(pk=run_id)
    # Each input is hashed and parsed from one read (on object storage, a temporary copy
    # made while hashing, removed once parsed or when the run ends).
    copies = StoredCopies()
    heartbeat = _Heartbeat(run_id, token)
    heartbeat.start()
    cluster: distributed.RunCluster | None = None
    try:
        report = _progress_writer(run_id, token, heartbeat)
        report("Verifying stored files against their SHA-256", 0.01)
        hashes = {
            "synthetic": copies.version_sha256(run.version),
            "reference": copies.version_sha256(run.reference),
        }
        if run.holdout:
            hashes["holdout"] = copies.version_sha256(run.holdout)
        integrity = _integrity(hashes["synthetic"], run.version)
        hash_verified = integrity == Integrity.VERIFIED
        for role, version in (("reference", run.reference), ("holdout", run.holdout)):
            found = _integrity(hashes[role], version) if version is not None else None
            if found not in (None, Integrity.VERIFIED):
                _suspend_certificates(version, found)
                raise AuditInputError(_integrity_message(version, found, role))
        if run.version.is_relational:
            outcome = _relational_outcome(run, report, hash_verified, copies)
            return _record_success(run, token, outcome, hashes, integrity)
        config = _audit_config(run)
        precomputed = {}
        if distributed.wanted(run, hash_verified=hash_verified):
            # Row-hash figures on the Dask cluster first (progress 2-30%), from the
            # stored files; the rest of the audit then runs here from 30%, its distance
            # search and fairness groups on the cluster too.
            cluster = distributed.RunCluster(run, token, config)
            precomputed = cluster.row_hash_figures(_scaled(report, 0.02, 0.28))
        if cluster is not None and cluster.client is not None:
            report = _scaled(report, 0.3, 0.7)  # the cluster's first rounds took 2-30%
        report("Reading the data", 0.03)
        # Each table is read column by column while the checks prepare them (a Parquet
        # file; a CSV file is read whole on first use): no whole raw table is held.
        real = _source(run.reference, "reference", copies)
        # A tampered file is not read at all: the checks report only the broken
        # hash, so the reference stands in to satisfy input validation.
        synthetic = _source(run.version, "audited version", copies) if hash_verified else real
        holdout = _source(run.holdout, "holdout", copies) if run.holdout else None
        report("Model collapse: reading the nearest real ancestor", 0.04)
        # Not read when the audited file was tampered with: its collapse figures are
        # skipped with the others. The reference as the ancestor is read again from its
        # file (the audit drops the reference's columns as it prepares them).
        ancestor = (
            real_ancestor_load(
                version=run.version, loaded={run.reference_id: real.reopened()}, copies=copies
            )
            if hash_verified
            else None
        )
        at = ["Preparing columns", 0.0]

        def audit_progress(step: str, fraction: float) -> None:
            at[:] = [step, fraction]
            report(step, 0.05 + 0.95 * fraction)

        def tick(note: str) -> None:
            report(f"{at[0]} ({note})", 0.05 + 0.95 * at[1])

        search = cluster.reference_search(tick) if cluster is not None else None
        groups = cluster.group_pieces(tick) if cluster is not None else None
        outcome = run_audit(
            config=config,
            frames=AuditFrames(real=real, synthetic=synthetic, holdout=holdout),
            registry_facts=registry_facts(run.version, hash_verified=hash_verified),
            ancestor=ancestor,
            progress=audit_progress,
            precomputed=precomputed,
            spill_dir=spill_folder(real, synthetic, holdout),
            reference_search=search,
            group_pieces=groups,
        )
        copies.close()  # the files were read through the checks: their copies go now
        return _record_success(run, token, outcome, hashes, integrity)
    except AuditInputError as exc:
        return _record_end(run, token, AuditStatus.FAILED, str(exc), "audits.run.failed")
    except AuditCancelled:
        return _record_end(run, token, AuditStatus.CANCELLED, "", "audits.run.cancelled")
    finally:
        if cluster is not None:
            cluster.close()
        copies.close()
        heartbeat.stopped.set()
        heartbeat.join(timeout=HEARTBEAT_SECONDS * 2)


def _record_success(
    run: AuditRun, token: str, outcome: Any, hashes: dict[str, str | None], integrity: str
) -> AuditRun:
    """Record the evidence. A run whose audited file was altered or missing keeps
    its evidence (``integrity.hash_verified`` is 0) but ends *failed*, so a client
    polling only ``status`` cannot take it for a passed audit."""
    results = outcome.to_json()
    versions = {**library_versions(), "synthgov": synthgov_version}
    evidence = {
        "version": run.version_id,
        "inputs": hashes,
        "config": run.config,
        "library_versions": versions,
        "results_sha256": outcome.results_sha256(),
    }
    with transaction.atomic():
        locked = AuditRun.objects.select_for_update().get(pk=run.pk)
        if locked.claim_token != token or locked.status != AuditStatus.RUNNING:
            raise LeaseLost
        intact = integrity == Integrity.VERIFIED
        locked.status = AuditStatus.SUCCEEDED if intact else AuditStatus.FAILED
        locked.progress, locked.step = 1.0, "Finished" if intact else "Integrity check failed"
        locked.integrity = integrity
        if not intact:
            locked.error = _integrity_message(run.version, integrity, "audited version")
        locked.finished = timezone.now()
        locked.input_hashes = hashes
        locked.library_versions = versions
        locked.results = results
        locked.results_sha256 = outcome.results_sha256()
        locked.evidence_sha256 = sha256_hex(canonical_json(evidence))
        locked.timings = {k: round(v, 3) for k, v in outcome.timings.items()}
        locked.claim_token = ""
        locked.save()
        AuditMetric.objects.bulk_create(
            [
                AuditMetric(
                    run=locked,
                    key=m.key,
                    value=m.value,
                    direction=m.direction,
                    target=m.target,
                    sample_size=m.sample_size,
                    population=m.population,
                    uncertainty=m.uncertainty,
                    status=m.status,
                    finding=m.finding or "",
                    table=m.table or "",
                )
                for m in outcome.metrics
            ]
        )
        trail_record(
            actor=None,
            actor_label="audit worker",
            action="audits.run.finished" if intact else "audits.run.failed",
            target=locked,
            organisation=run.version.dataset.organisation,
            payload={
                "evidence_sha256": locked.evidence_sha256,
                "results_sha256": locked.results_sha256,
                "inputs": hashes,
                "tampered_file": not intact,
                "integrity": integrity,
                **({"error": locked.error} if not intact else {}),
            },
        )
        if not intact:
            _suspend_certificates(run.version, integrity)
        version_id = run.version_id
        transaction.on_commit(lambda: enqueue("audits.evaluate_version", version_id))
    return locked


def _record_end(run: AuditRun, token: str, status: str, error: str, action: str) -> AuditRun:
    with transaction.atomic():
        updated = AuditRun.objects.filter(pk=run.pk, claim_token=token).update(
            status=status,
            error=error,
            finished=timezone.now(),
            claim_token="",
            step="Failed" if status == AuditStatus.FAILED else "Cancelled",
        )
        if updated:
            trail_record(
                actor=None,
                actor_label="audit worker",
                action=action,
                target=run,
                organisation=run.version.dataset.organisation,
                payload={"error": error} if error else {},
            )
    run.refresh_from_db()
    return run


def audit_run_fail(*, run_id: int, token: str, message: str) -> None:
    """End a run as failed for a reason outside the checks (time limit, retries spent)."""
    run = AuditRun.objects.select_related("version__dataset__organisation").get(pk=run_id)
    _record_end(run, token, AuditStatus.FAILED, message, "audits.run.failed")


def metric_catalogue() -> list[dict[str, Any]]:
    return [spec.to_json() for spec in METRICS.values()]
