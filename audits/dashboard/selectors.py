"""The compliance dashboard's figures: matrix, counts, failing rules, trend.

Queries are bounded: the matrix shows one page of datasets, every other
figure is a GROUP BY, so the number of queries does not grow with the
number of datasets.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncDate
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from audits.certification import certificates, notifications, signoffs
from audits.compliance import status as compliance_status
from audits.models import (
    AuditRun,
    AuditStatus,
    Certificate,
    CertificateStatus,
    ComplianceEvaluation,
    RuleOutcome,
)
from audits.runs.selectors import IN_PROGRESS_FIELDS, in_progress_for
from audits.standards import engine
from audits.standards.selectors import applies, current_standards
from registry.models import Dataset
from synthgov.accounts.models import Jurisdiction, Organisation
from synthgov.accounts.permissions import DATASET_VIEW, organisations_where
from synthgov.trail.models import Event

logger = logging.getLogger(__name__)

MATRIX_PAGE = 40
TREND_DAYS = 30
# Summaries are keyed on the data's state (see data_state), so this only
# bounds how long an unused entry lingers.
SUMMARY_CACHE_SECONDS = 600
# A miss computes once while concurrent requests for the same entry wait for it
# (a miss costs ~1 s at 10,000 datasets); the lock outlives a crashed holder briefly.
STAMPEDE_WAIT_SECONDS = 3.0
STAMPEDE_POLL_SECONDS = 0.05
STAMPEDE_LOCK_SECONDS = 30
# Part of the key: a deployment whose figures are computed differently starts afresh.
SUMMARY_VERSION = 2
# The stored statuses (``counts`` in the API) and what the trend draws.
STATUS_ORDER = ["compliant", "non_compliant", "incomplete"]
TREND_ORDER = [
    code for code in engine.STATUS_ORDER if code not in (engine.NOT_AUDITED, engine.NOT_APPLICABLE)
]
SEVERITY_ORDER = ["advisory", "minor", "major", "blocking"]
# What a matrix cell reads of an evaluation.
EVALUATION_FIELDS = (
    "pk",
    "status",
    "fail_count",
    "missing_count",
    "worst_severity",
    "dataset_version_id",
    "dataset_version__dataset_id",
    "dataset_version__number",
    "standard_version__standard_id",
)
TREND_COLOURS = {
    "compliant": "#1f7a4d",
    engine.COMPLIANT_WITH_FINDINGS: "#5f9e3f",
    "non_compliant": "#b3261e",
    "incomplete": "#a86400",
}


@dataclass
class Filters:
    organisation: str = ""
    jurisdiction: str = ""
    domain: str = ""
    kind: str = ""

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        return cls(
            **{
                k: query.get(k, "").strip()
                for k in ("organisation", "jurisdiction", "domain", "kind")
            }
        )

    def apply(self, datasets: Any) -> Any:
        if self.organisation:
            datasets = datasets.filter(organisation__slug=self.organisation)
        if self.jurisdiction:
            # A subquery, not a join, so no dataset appears twice and no DISTINCT is needed.
            datasets = datasets.filter(
                organisation__in=Organisation.objects.filter(
                    jurisdictions__code=self.jurisdiction
                ).values("id")
            )
        if self.domain:
            datasets = datasets.filter(domain__iexact=self.domain)
        if self.kind:
            datasets = datasets.filter(kind=self.kind)
        return datasets


@dataclass
class Cell:
    """One matrix cell: a dataset against a standard, as the user should read it.

    ``status``: what is shown (the newest version's evaluation; when the newest
    version has none, the certified or last evaluated version's, with ``note``
    saying so). ``evaluation``: the shown evaluation's id (``url``: its page), or None for "not
    audited yet" and "not applicable". ``action_url`` / ``action_label``: what
    to do next (request an audit, read the standard's scope).
    """

    standard_id: int
    status: engine.StatusView
    evaluation: int | None = None
    url: str = ""
    stored_status: str = ""
    version_number: int | None = None
    latest_number: int | None = None
    certificate_number: str = ""
    certificate_status: str = ""
    note: str = ""
    note_url: str = ""
    action_url: str = ""
    action_label: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluation": self.evaluation,
            "status": self.stored_status,
            "display_status": self.status.to_json(),
            "version": self.version_number,
            "latest_version": self.latest_number,
            "certificate": self.certificate_number or None,
            "certificate_status": self.certificate_status or None,
            "note": self.note,
            "next_step": {"label": self.action_label, "url": self.action_url}
            if self.action_url
            else None,
        }


@dataclass
class Dashboard:
    standards: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    page: Any
    counts: dict[str, int]
    failing_rules: list[dict[str, Any]]
    in_progress: list[Any]
    trend: dict[str, Any]
    options: dict[str, list[Any]] = field(default_factory=dict)
    status_counts: list[dict[str, Any]] = field(default_factory=list)
    # What the cached figures were read under (``data_state``), and the key of
    # this matrix page's rendered table: the data's key, so the same users share it.
    state: tuple[Any, ...] = ()
    matrix_key: str = ""


def dashboard_for(
    user: Any, filters: Filters, page_number: Any = 1, state: tuple[Any, ...] | None = None
) -> Dashboard:
    """The dashboard as ``user`` may see it. The matrix page, the summary and the
    filter options are cached under the data's state (``data_state``, or ``state``
    when the caller has just read it); only the live audit progress is read afresh
    on every request."""
    datasets = filters.apply(Dataset.objects.visible_to(user)).order_by("name", "id")
    if state is None:
        state = data_state(user, filters)
    matrix_key = _cache_key("matrix", state, filters, str(page_number or 1))
    matrix = _cached(matrix_key, lambda: _matrix(datasets, page_number))
    summary = _cached(
        _cache_key("summary", state, filters), lambda: _summary(datasets, current_standards())
    )
    options = _cached(_cache_key("options", state), lambda: filter_options(user))
    # A page over the counted rows, without the queryset (which a cache must not hold).
    paginator = Paginator(range(matrix["count"]), MATRIX_PAGE)
    page = Page([row["dataset"] for row in matrix["rows"]], matrix["number"], paginator)
    return Dashboard(
        standards=matrix["columns"],
        rows=matrix["rows"],
        page=page,
        counts=summary["counts"],
        failing_rules=summary["failing_rules"],
        in_progress=list(in_progress_for(user)[:10]),
        trend=summary["trend"],
        options=options,
        status_counts=[
            {**asdict(engine.STATUS_KINDS[code]), "css": engine.STATUS_KINDS[code].css, "n": n}
            for code, n in summary["status_counts"].items()
        ],
        state=state,
        matrix_key=matrix_key,
    )


def _matrix(datasets: Any, page_number: Any) -> dict[str, Any]:
    """One page of the matrix: the datasets, the columns of the standards that
    apply to at least one of them, and each dataset's cells."""
    page = Paginator(
        _matrix_datasets(datasets).select_related("organisation", "latest_version"),
        MATRIX_PAGE,
    ).get_page(page_number)
    shown = list(page.object_list)
    standards = current_standards()
    grid = _grid(shown, standards)
    columns = [
        {"id": s.pk, "label": f"{s.standard.code} {s.version}", "url": s.get_absolute_url()}
        for s in standards
        if any(grid[d.pk][s.pk].status.code != engine.NOT_APPLICABLE for d in shown)
    ]
    return {
        "count": page.paginator.count,
        "number": page.number,
        "columns": columns,
        "rows": [
            {"dataset": dataset, "cells": [grid[dataset.pk][c["id"]] for c in columns]}
            for dataset in shown
        ],
    }


def _matrix_datasets(datasets: Any) -> Any:
    """What a cell needs of a dataset: its kind, domain and jurisdictions (does
    a standard apply?) and its newest version."""
    return datasets.only(
        "id",
        "name",
        "kind",
        "domain",
        "access",
        "latest_version_id",
        "latest_version__number",
        "organisation__name",
    ).prefetch_related("organisation__jurisdictions")


def _grid(datasets: list[Dataset], standards: list[Any]) -> dict[int, dict[int, Cell]]:
    """Every dataset's cell for every current standard: three queries however
    many datasets (evaluations, their failing rules, certificates)."""
    ids = [d.pk for d in datasets]
    # Many cells link to the same page (a dataset's audit request, a standard's
    # scope): each link is reversed once per page, not once per cell.
    url = functools.cache(lambda name, arg: reverse(name, args=[arg]))
    evaluations: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    rows = (
        ComplianceEvaluation.objects.current()
        .filter(dataset_version__dataset_id__in=ids)
        .values(*EVALUATION_FIELDS)
        .order_by("-dataset_version__number", "-id")
    )
    for row in rows:
        evaluations[
            (row["dataset_version__dataset_id"], row["standard_version__standard_id"])
        ].append(row)
    fails = compliance_status.fails_by_severity_for(
        r["pk"] for group in evaluations.values() for r in group
    )
    certificates: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    today = timezone.localdate()
    for cert in (
        Certificate.objects.filter(dataset_version__dataset_id__in=ids)
        .values(
            "number",
            "status",
            "expires",
            "dataset_version_id",
            "dataset_version__dataset_id",
            "dataset_version__number",
            "standard_version__standard_id",
        )
        .order_by("-dataset_version__number", "-issued")
    ):
        if cert["status"] == CertificateStatus.VALID and today >= cert["expires"]:
            cert["status"] = CertificateStatus.EXPIRED
        certificates[
            (cert["dataset_version__dataset_id"], cert["standard_version__standard_id"])
        ].append(cert)
    return {
        d.pk: {
            s.pk: _cell(
                d,
                s,
                evaluations[(d.pk, s.standard_id)],
                certificates[(d.pk, s.standard_id)],
                fails,
                url,
            )
            for s in standards
        }
        for d in datasets
    }


def _cell(
    dataset: Dataset,
    standard: Any,
    evaluations: list[dict[str, Any]],
    certificates: list[dict[str, Any]],
    fails: dict[int, dict[str, int]],
    url: Callable[[str, Any], str],
) -> Cell:
    latest = dataset.latest_version
    latest_number = latest.number if latest else None
    valid = next((c for c in certificates if c["status"] == CertificateStatus.VALID), None)
    newest = evaluations[0] if evaluations else None
    if newest is not None and newest["dataset_version_id"] == dataset.latest_version_id:
        shown, note, note_url = newest, "", ""
        if valid and valid["dataset_version_id"] != newest["dataset_version_id"]:
            note = f"v{valid['dataset_version__number']} certified"
            note_url = url("audits:certificate", valid["number"])
    elif newest is not None:
        # The newest version is not evaluated yet: show the certified one, or
        # else the last evaluated one, and say so.
        shown = next(
            (
                e
                for e in evaluations
                if valid and e["dataset_version_id"] == valid["dataset_version_id"]
            ),
            newest,
        )
        status = engine.status_view_of_row(shown, fails.get(shown["pk"]))
        held = (
            "certified"
            if valid and valid["dataset_version_id"] == shown["dataset_version_id"]
            else status.kind.label.lower()
        )
        note = f"v{latest_number} not yet audited — v{shown['dataset_version__number']} {held}"
        note_url = url("audits:request", dataset.latest_version_id)
    elif applies(standard, dataset):
        return Cell(
            standard_id=standard.pk,
            status=engine.status_view(engine.NOT_AUDITED),
            latest_number=latest_number,
            action_url=url("audits:request", dataset.latest_version_id)
            if dataset.latest_version_id
            else url("registry:upload", dataset.pk),
            action_label="Request an audit" if dataset.latest_version_id else "Upload a version",
        )
    else:
        return Cell(
            standard_id=standard.pk,
            status=engine.status_view(engine.NOT_APPLICABLE),
            latest_number=latest_number,
            action_url=url("audits:standard", standard.pk),
            action_label="See the standard's scope",
        )
    status = engine.status_view_of_row(shown, fails.get(shown["pk"]))
    certificate = next(
        (c for c in certificates if c["dataset_version_id"] == shown["dataset_version_id"]), None
    )
    cell = Cell(
        standard_id=standard.pk,
        status=status,
        stored_status=shown["status"],
        evaluation=shown["pk"],
        url=url("audits:evaluation", shown["pk"]),
        version_number=shown["dataset_version__number"],
        latest_number=latest_number,
        certificate_number=certificate["number"] if certificate else "",
        certificate_status=certificate["status"] if certificate else "",
        note=note,
        note_url=note_url,
    )
    if status.code == "incomplete" and not note:
        cell.action_url = url("audits:request", shown["dataset_version_id"])
        cell.action_label = "Request an audit for the missing figures"
    return cell


def _summary(datasets: Any, standards: list[Any]) -> dict[str, Any]:
    """The figures over every visible dataset, not just the page: the matrix's
    cells counted by what they show (as ``_cell`` decides), the rules that fail
    most often among the shown evaluations, and the trend.

    Bounded for any number of datasets: the newest versions' evaluations are
    counted in SQL; only the few cells whose newest version is not evaluated
    yet (they show an older version) are read row by row; "not audited yet" is
    the applicable cells, worked out per kind, domain and organisation, minus
    the evaluated ones.
    """
    dataset_ids = datasets.order_by().values("id")
    latest = datasets.order_by().values("latest_version_id")
    on_latest = ComplianceEvaluation.objects.current().filter(dataset_version_id__in=latest)
    display: Counter[str] = Counter()
    stored: Counter[str] = Counter()
    for row in (
        on_latest.annotate(shown=compliance_status.display_status_expression())
        .values("status", "shown")
        .annotate(n=Count("id"))
        .order_by()
    ):
        display[row["shown"]] += row["n"]
        stored[row["status"]] += row["n"]
    older = _older_shown(dataset_ids)
    for row in older:
        display[engine.status_view_of_row(row).code] += 1
        stored[row["status"]] += 1
    evaluated = sum(stored.values())
    display[engine.NOT_AUDITED] = max(0, _applicable_cells(datasets, standards) - evaluated)
    shown = Q(evaluation__in=on_latest.values("id")) | Q(evaluation_id__in=[r["pk"] for r in older])
    by_key: dict[str, dict[str, Any]] = {}
    for row in (
        RuleOutcome.objects.filter(shown, status="fail")
        .values("key", "severity")
        .annotate(n=Count("id"))
        .order_by()
    ):
        entry = by_key.setdefault(row["key"], {"key": row["key"], "n": 0, "by_severity": {}})
        entry["n"] += row["n"]
        entry["by_severity"][row["severity"]] = row["n"]
    failing = sorted(by_key.values(), key=lambda r: (-r["n"], r["key"]))[:8]
    for entry in failing:
        entry["worst"] = max(entry["by_severity"], key=SEVERITY_ORDER.index)
        entry["severity_summary"] = engine.severity_summary(entry["by_severity"])
        entry["severe"] = entry["worst"] in engine.SEVERE_SEVERITIES
    return {
        "counts": {s: stored.get(s, 0) for s in STATUS_ORDER},
        "status_counts": {
            code: display.get(code, 0)
            for code in engine.STATUS_ORDER
            if code != engine.NOT_APPLICABLE
        },
        "failing_rules": failing,
        "trend": trend_for(ComplianceEvaluation.objects.filter(dataset_version_id__in=latest)),
    }


def _older_shown(dataset_ids: Any) -> list[dict[str, Any]]:
    """The evaluations shown for cells whose newest version has none: per
    dataset and standard, the version holding a valid certificate, else the
    newest evaluated one (the same choice as ``_cell``)."""
    newest_evaluated = ComplianceEvaluation.objects.current().filter(
        standard_version__standard_id=OuterRef("standard_version__standard_id"),
        dataset_version_id=OuterRef("dataset_version__dataset__latest_version_id"),
    )
    rows = list(
        ComplianceEvaluation.objects.current()
        .filter(dataset_version__dataset_id__in=dataset_ids)
        .exclude(dataset_version_id=F("dataset_version__dataset__latest_version_id"))
        .exclude(Exists(newest_evaluated))
        .values(*EVALUATION_FIELDS)
        .order_by("-dataset_version__number", "-id")
    )
    if not rows:
        return []
    certified = set(
        Certificate.objects.filter(
            status=CertificateStatus.VALID,
            expires__gt=timezone.localdate(),
            dataset_version_id__in={r["dataset_version_id"] for r in rows},
        ).values_list("dataset_version_id", "standard_version__standard_id")
    )
    chosen: dict[tuple[int, int], dict[str, Any]] = {}
    for row in rows:
        cell = (row["dataset_version__dataset_id"], row["standard_version__standard_id"])
        held = (row["dataset_version_id"], row["standard_version__standard_id"]) in certified
        if cell not in chosen or (held and not chosen[cell].get("held")):
            chosen[cell] = {**row, "held": held}
    return list(chosen.values())


def _applicable_cells(datasets: Any, standards: list[Any]) -> int:
    """How many (dataset, standard) pairs a current standard applies to:
    applicability depends only on a dataset's kind, domain and organisation,
    so it is decided once per such group."""
    groups = list(
        datasets.order_by().values("kind", "domain", "organisation_id").annotate(n=Count("id"))
    )
    organisations = Organisation.objects.filter(
        id__in={g["organisation_id"] for g in groups}
    ).prefetch_related("jurisdictions")
    by_id = {o.pk: o for o in organisations}
    total = 0
    for group in groups:
        probe = Dataset(
            kind=group["kind"], domain=group["domain"], organisation=by_id[group["organisation_id"]]
        )
        total += group["n"] * sum(1 for s in standards if applies(s, probe))
    return total


# Trail events that change nothing the dashboard counts: signing in and out, and
# lockouts. Every other event may, so it moves the cached figures' key.
SESSION_EVENTS = Q(action__startswith="accounts.login.") | Q(action="accounts.logout")


def data_state(user: Any, filters: Filters) -> tuple[Any, ...]:
    """What the cached figures depend on; it changes whenever they could.

    - Whom the user may see: the organisations whose restricted datasets they
      read (their roles' organisations and a regulator's jurisdiction reach; open
      datasets are everyone's), so two users with the same reach share figures
      and users with different reach never do; and the organisations in the
      filtered jurisdiction.
    - The data's state: the trail's newest event other than a sign-in. Every
      service writes one in the transaction that makes its change (an
      evaluation, audit, sign-off, certificate, standard, dataset, version,
      role or organisation), so it moves exactly when the change commits,
      whatever process made it; its hash chains the whole history, so two
      histories never share a state (nor two databases sharing one cache: the
      database is named too). The head is read before any figure, so a figure
      cached under a state is never older than that state. Rows written outside
      the services (bulk loads such as bench/dashboard_load.py) write no event:
      clear the cache after one.
    - The day: the trend's window, certificate expiry, standards coming into force.
    """
    orgs = list(organisations_where(user, DATASET_VIEW).order_by("id").values_list("id", flat=True))
    in_jurisdiction = (
        list(
            Organisation.objects.filter(jurisdictions__code=filters.jurisdiction)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if filters.jurisdiction
        else []
    )
    head = Event.objects.exclude(SESSION_EVENTS).order_by("-seq").values_list("seq", "hash")
    database = connection.settings_dict
    return (
        (database["HOST"], database["PORT"], database["NAME"]),
        orgs,
        in_jurisdiction,
        head.first(),
        timezone.localdate().isoformat(),
    )


def _cache_key(
    kind: str, state: tuple[Any, ...], filters: Filters | None = None, *more: str
) -> str:
    identity = repr((SUMMARY_VERSION, state, asdict(filters) if filters else None, more))
    return f"dashboard-{kind}:" + hashlib.sha256(identity.encode()).hexdigest()


def _cached(key: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept in the cache under ``key``. The cache only saves
    work: an entry that is missing, evicted or unreadable (the cache server is
    down) is computed again from the database, never answered wrongly.

    After a change every concurrent request misses at once; one of them (the
    one that adds ``key``'s lock) computes while the others poll for its result
    for up to ``STAMPEDE_WAIT_SECONDS``, then compute it themselves (a lock
    holder that died, or a computation slower than the wait). The key names
    the data's state, so a waiter never receives older figures than it asked for."""
    try:
        value = cache.get(key)
    except Exception:  # any backend's failure; the figures do not need the cache
        logger.warning("dashboard cache unreadable; computing %s", key, exc_info=True)
        return compute()
    if value is not None:
        return value
    lock = f"{key}:computing"
    try:
        mine = cache.add(lock, 1, STAMPEDE_LOCK_SECONDS)
    except Exception:
        mine = True
    if not mine:
        deadline = time.monotonic() + STAMPEDE_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(STAMPEDE_POLL_SECONDS)
            try:
                value = cache.get(key)
            except Exception:
                break
            if value is not None:
                return value
    value = compute()
    try:
        cache.set(key, value, SUMMARY_CACHE_SECONDS)
        if mine:
            cache.delete(lock)
    except Exception:
        logger.warning("dashboard cache not written: %s", key, exc_info=True)
    return value


def trend_for(evaluations: Any) -> dict[str, Any]:
    """Evaluations current at the end of each of the last days, by the status
    people read (``engine.status_view``: an advisory-only failure is compliant
    with findings, not non-compliant)."""
    today = timezone.localdate()
    start = today - timedelta(days=TREND_DAYS - 1)
    days = [start + timedelta(days=i) for i in range(TREND_DAYS)]
    display = compliance_status.display_status_expression()
    added = (
        evaluations.annotate(day=TruncDate("computed"), shown=display)
        .values("day", "shown")
        .annotate(n=Count("id"))
        .order_by()
    )
    removed = (
        evaluations.filter(superseded__isnull=False)
        .annotate(day=TruncDate("superseded"), shown=display)
        .values("day", "shown")
        .annotate(n=Count("id"))
        .order_by()
    )
    delta: dict[tuple[Any, str], int] = defaultdict(int)
    for row in added:
        delta[(max(row["day"], start), row["shown"])] += row["n"]
    for row in removed:
        if row["day"] is not None:
            delta[(max(row["day"], start), row["shown"])] -= row["n"]
    series: dict[str, list[int]] = {status: [] for status in TREND_ORDER}
    running = dict.fromkeys(TREND_ORDER, 0)
    for day in days:
        for status in TREND_ORDER:
            running[status] += delta.get((day, status), 0)
            series[status].append(running[status])
    return {"days": [d.isoformat() for d in days], "series": series}


def trend_figure(trend: dict[str, Any]) -> dict[str, Any]:
    """The trend as a Plotly figure spec, written directly: building it through
    plotly's graph objects cost ~40 ms per page for a handful of numbers."""
    grid = {"gridcolor": "#e5e7eb", "zerolinecolor": "#e5e7eb", "linecolor": "#9ca3af"}
    return {
        "data": [
            {
                "type": "scatter",
                "x": trend["days"],
                "y": trend["series"][status],
                "mode": "lines",
                "name": engine.STATUS_KINDS[status].label,
                "line": {"color": TREND_COLOURS[status]},
                "stackgroup": "one",
            }
            for status in TREND_ORDER
        ],
        "layout": {
            "height": 260,
            "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "legend": {"orientation": "h", "y": -0.2},
            "xaxis": grid,
            "yaxis": {**grid, "title": {"text": "evaluations"}},
        },
    }


def filter_options(user: Any) -> dict[str, list[Any]]:
    datasets = Dataset.objects.visible_to(user)

    return {
        "organisations": list(
            Organisation.objects.filter(datasets__in=datasets)
            .distinct()
            .values_list("slug", "name")
        ),
        "jurisdictions": list(
            Jurisdiction.objects.filter(member_organisations__datasets__in=datasets)
            .distinct()
            .values_list("code", flat=True)
        ),
        "domains": list(datasets.order_by("domain").values_list("domain", flat=True).distinct()),
        "kinds": list(Dataset._meta.get_field("kind").choices),
    }


def dashboard_panels(user: Any, state: tuple[Any, ...] | None = None) -> dict[str, list[Any]]:
    """The home page's sign-off and certificate panels: a few bounded queries.

    With ``state`` (the ``data_state`` the dashboard was read under), the
    sign-offs waiting and the certificates expiring or suspended are cached
    under it and the user's own id: what waits for a user depends on their own
    roles and sign-offs, so no two users share an entry; every sign-off,
    certificate and role change writes a trail event, which moves the state.
    Notifications are read afresh: dismissing one writes no trail event."""

    def signoffs_and_certificates() -> dict[str, list[Any]]:
        return {
            "waiting": signoffs.signoffs_waiting_for(user),
            "expiring": certificates.certificates_expiring(user),
            "suspended": certificates.certificates_suspended(user),
        }

    panels = (
        _cached(_cache_key("panels", state, None, f"user:{user.pk}"), signoffs_and_certificates)
        if state is not None
        else signoffs_and_certificates()
    )
    return {"notifications": notifications.notifications_for(user), **panels}


MATRIX_TEMPLATE = "audits/_dashboard_matrix.html"


@functools.cache
def _template_digest(name: str) -> str:
    """The fragment template's source, hashed: a deployment that changes the
    template never serves a table rendered by the old one."""
    source = get_template(name).template.source
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def matrix_html(board: Dashboard) -> str:
    """The matrix table of ``board`` rendered, cached under the key of the
    matrix data it shows (the user's reach, the filter, the page, the data's
    state) and the template's digest: only users who see the same rows share it.
    It holds nothing else of the user (no form, no CSRF token, no role)."""
    return _cached(
        f"{board.matrix_key}:html:{_template_digest(MATRIX_TEMPLATE)}",
        lambda: mark_safe(render_to_string(MATRIX_TEMPLATE, {"board": board})),  # noqa: S308 our own rendering
    )


BOARD_TEMPLATE = "audits/_dashboard_board.html"
FAILING_TEMPLATE = "audits/_dashboard_failing.html"


@dataclass
class HomeBoard:
    """The home page's dashboard: everything but the live audit progress, rendered
    once per data state and shared by the users who see the same rows."""

    state: tuple[Any, ...]
    page: Any
    has_rows: bool
    has_standards: bool
    board_html: str
    matrix_html: str
    failing_html: str
    trend_figure: dict[str, Any]
    in_progress: list[Any]


def home_board(user: Any, filters: Filters, page_number: Any = 1) -> HomeBoard:
    """The home page's dashboard for ``user``, from one cache entry.

    The filter form, the status counts, the matrix table and the most-failed rules
    are stored rendered (with the trend's figure and the page's position) under the
    key of the matrix data they show: the user's reach, the filter, the page and the
    data's state (``data_state``), plus the digests of the templates. They hold
    nothing else of the user or the request: the pagination links, the roles, the
    sign-off and certificate panels and the audits in progress are rendered around
    them on every request. A cache hit reads the data's state, this entry and the
    audits in progress: no matrix row is loaded or rendered."""
    state = data_state(user, filters)
    key = _cache_key(
        "home",
        state,
        filters,
        str(page_number or 1),
        *(_template_digest(name) for name in (BOARD_TEMPLATE, MATRIX_TEMPLATE, FAILING_TEMPLATE)),
    )

    def render_parts() -> dict[str, Any]:
        board = dashboard_for(user, filters, page_number, state=state)
        return {
            "count": board.page.paginator.count,
            "number": board.page.number,
            "has_rows": bool(board.rows),
            "has_standards": bool(board.standards),
            "board_html": render_to_string(
                BOARD_TEMPLATE, {"board": board, "filters": filters, "options": board.options}
            ),
            "matrix_html": str(matrix_html(board)) if board.rows else "",
            "failing_html": render_to_string(FAILING_TEMPLATE, {"board": board}),
            "trend_figure": trend_figure(board.trend),
        }

    parts = _cached(key, render_parts)
    paginator = Paginator(range(parts["count"]), MATRIX_PAGE)
    return HomeBoard(
        state=state,
        page=Page(range(0), parts["number"], paginator),
        has_rows=parts["has_rows"],
        has_standards=parts["has_standards"],
        # Our own templates' output, stored as rendered.
        board_html=mark_safe(parts["board_html"]),  # noqa: S308
        matrix_html=mark_safe(parts["matrix_html"]),  # noqa: S308
        failing_html=mark_safe(parts["failing_html"]),  # noqa: S308
        trend_figure=parts["trend_figure"],
        in_progress=in_progress_shown(user, state),
    )


def api_payload(
    user: Any,
    filters: Filters,
    page_number: Any,
    build: Callable[[Dashboard], dict[str, Any]],
) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """``build(dashboard_for(...))`` (plain data, nothing live), cached under the key of
    the matrix data it describes: the user's reach, the filter, the page and the data's
    state. A hit loads no matrix row; the caller adds what is live. Returns it and
    the state it was read under."""
    state = data_state(user, filters)
    key = _cache_key("api", state, filters, str(page_number or 1))
    built = _cached(key, lambda: build(dashboard_for(user, filters, page_number, state=state)))
    return built, state


IN_PROGRESS_SHOWN = 10
IN_PROGRESS_CACHED = 500
"""With more audits queued or running than this, the list is read afresh every time."""


def in_progress_shown(user: Any, state: tuple[Any, ...]) -> list[Any]:
    """``in_progress_for(user)[:10]``, with live progress, from two simple queries.

    Which audits ``user`` may see depends on their reach and on data whose every
    change writes a trail event, as does requesting an audit: so under one data
    ``state`` (``data_state``) a run's visibility never changes, only its status.
    Cached under the state: the ids of every queued or running audit then, and the
    visible ones among them, newest first. A request reads the ids of the audits
    queued or running now; when each was known then, the visible ones still going
    are shown (their rows read live); an audit not known then (queued or requeued
    since, without an event) means the full query, as before."""
    active = (AuditStatus.QUEUED, AuditStatus.RUNNING)
    key = _cache_key("in-progress", state)

    def classify() -> dict[str, Any] | None:
        going = set(AuditRun.objects.filter(status__in=active).values_list("id", flat=True))
        if len(going) > IN_PROGRESS_CACHED:
            return None
        visible = list(in_progress_for(user).filter(pk__in=going).values_list("id", flat=True))
        return {"known": going, "visible": visible}

    def live() -> list[Any]:
        return list(in_progress_for(user)[:IN_PROGRESS_SHOWN])

    try:
        known = cache.get(key)
    except Exception:
        return live()
    now = set(AuditRun.objects.filter(status__in=active).values_list("id", flat=True))
    if known is None:
        known = classify()
        if known is not None:
            try:
                cache.set(key, known, SUMMARY_CACHE_SECONDS)
            except Exception:
                logger.warning("dashboard cache not written: %s", key, exc_info=True)
    if known is None or not now <= known["known"]:
        return live()
    shown = [pk for pk in known["visible"] if pk in now][:IN_PROGRESS_SHOWN]
    if not shown:
        return []
    # Their visibility is known: read only their live rows, as in_progress_for does.
    runs = (
        AuditRun.objects.filter(pk__in=shown, status__in=active)
        .select_related("version__dataset")
        .only(*IN_PROGRESS_FIELDS)
    )
    rows = {run.pk: run for run in runs}
    return [rows[pk] for pk in shown if pk in rows]
