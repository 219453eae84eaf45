"""Audit pages: request, live progress, report (also as JSON and one HTML file)."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_http_methods, require_POST

from audits.checks import METRICS
from audits.models import AuditRun
from audits.populations.selectors import usable_in_audits
from audits.runs import charts, disclosure, selectors, services
from audits.runs.forms import AuditRequestForm
from registry.models import DatasetVersion
from synthgov.accounts.permissions import (
    AUDIT_REQUEST,
    DATASET_VIEW,
    get_object_for_user,
    user_has_perm,
)
from synthgov.downloads import as_attachment

JAVASCRIPT = "text/javascript; charset=utf-8"
RELATIONAL_NOTE = (
    "This version holds linked tables. Its audit measures referential integrity (orphan "
    "rows, primary-key violations), multi-table quality (column shapes, cardinality, "
    "inter-table trends), copies of whole families and parent rows (near copies need a "
    "holdout) against a reference with the same tables and keys. Choose the table holding "
    "individuals for re-identification figures (quasi-identifiers and sensitive columns "
    "are its columns or its children's aggregates), and a child table joined to parent "
    "columns for fairness (protected attributes and target are columns of that joined "
    "table). Each table is also audited on its own for the integrity, quality and privacy "
    "families chosen. Provenance and documentation figures (datasheet, lineage, generator, "
    "compute, licence, manifest) are facts of the whole version from the registry; SynthGov "
    "watermarks single-table versions only, so the watermark figures are skipped with that "
    "reason."
)


def _run(request: HttpRequest, pk: int, perm: str = DATASET_VIEW) -> AuditRun:
    return get_object_for_user(
        user=request.user,
        queryset=AuditRun.objects.select_related(
            "version__dataset__organisation", "reference__dataset", "holdout__dataset"
        ),
        perm=perm,
        pk=pk,
    )


@login_required
@require_http_methods(["GET", "POST"])
def audit_request(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_for_user(
        user=request.user,
        queryset=DatasetVersion.objects.select_related("dataset__organisation"),
        perm=AUDIT_REQUEST,
        pk=pk,
    )
    references = selectors.reference_choices(user=request.user, version=version)
    defaults = services.default_config(version)
    form = AuditRequestForm(
        request.POST or None,
        initial={**defaults, "reference": selectors.default_reference(version)},
        columns=[c["name"] for c in version.schema],
        references=references,
        profiles=[(p.pk, f"{p.label} — {p.owner.name}") for p in usable_in_audits()],
        linked=services.linked_form_choices(version) if version.is_relational else None,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        visible = DatasetVersion.objects.visible_to(request.user)
        try:
            run = services.audit_run_request(
                version=version,
                reference=visible.get(pk=data["reference"]),
                holdout=visible.get(pk=data["holdout"]) if data["holdout"] else None,
                config={
                    k: data[k]
                    for k in (
                        "protected",
                        "quasi_identifiers",
                        "sensitive",
                        "target",
                        "positive_outcome",
                        "families",
                        "seed",
                        "population_profile",
                        "population_intended",
                    )
                }
                | {k: data[k] for k in services.LINKED_FIELDS if k in data},
                user=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Audit queued. This page follows its progress.")
            return redirect(run)
    return render(
        request,
        "audits/audit_request.html",
        {
            "version": version,
            "form": form,
            "has_references": bool(references),
            "relational_note": RELATIONAL_NOTE if version.is_relational else "",
        },
    )


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    runs = selectors.audits_for(request.user)
    status = request.GET.get("status", "")
    if status:
        runs = runs.filter(status=status)
    page = Paginator(runs, 30).get_page(request.GET.get("page"))
    return render(request, "audits/audit_list.html", {"page": page, "status": status})


CHARTS_CACHE_SECONDS = 24 * 3600
# Part of the cache key, so a deployment with different chart code builds afresh.
CHARTS_CODE = hashlib.sha256(Path(charts.__file__).read_bytes()).hexdigest()[:16]


def report_charts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """``charts.build_charts(results)``, kept in the cache under a hash of the results
    as shown (figures are a pure function of them; building them with plotly's
    validating classes takes about half a second)."""
    digest = hashlib.sha256(
        json.dumps(results, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    key = f"audits.runs.charts:{CHARTS_CODE}:{digest}"
    built = cache.get(key)
    if built is None:
        built = charts.build_charts(results)
        cache.set(key, built, CHARTS_CACHE_SECONDS)
    return built


@login_required
@gzip_page  # the charts' data makes a report page about 250 KB of text
def audit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    context: dict[str, Any] = {
        "run": run,
        "status": selectors.status_payload(run),
        "can_cancel": not run.is_finished and _may(request, run, AUDIT_REQUEST),
    }
    if run.status == "succeeded":
        results = disclosure.results_for(user=request.user, run=run)
        context["summary"] = selectors.report_summary(user=request.user, run=run, results=results)
        context["groups"] = selectors.grouped_metrics(results)
        context["attacker"] = selectors.attacker_view(results)
        context["models"] = selectors.models_view(results)
        context["charts"] = report_charts(results)
    return render(request, "audits/audit_detail.html", context)


def _may(request: HttpRequest, run: AuditRun, perm: str) -> bool:
    return user_has_perm(request.user, perm, organisation=run.owning_organisation)


@login_required
def audit_status(request: HttpRequest, pk: int) -> JsonResponse:
    response = JsonResponse(selectors.status_payload(_run(request, pk)))
    patch_cache_control(response, no_store=True)
    return response


@login_required
@require_POST
def audit_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk, AUDIT_REQUEST)
    try:
        services.audit_run_cancel(run=run, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.info(request, "Cancellation requested.")
    return redirect(run)


def report_document(run: AuditRun, *, user: Any) -> dict[str, Any]:
    """The downloadable evidence: everything needed to check and redraw the report,
    as ``user`` may see it (figures withheld from them are listed under
    ``results.withheld``)."""
    return {
        "audit": run.pk,
        "status": run.status,
        "version": {"id": run.version_id, "label": str(run.version), "sha256": run.version.sha256},
        "reference": {
            "id": run.reference_id,
            "label": str(run.reference),
            "sha256": run.reference.sha256,
        },
        "holdout": (
            {"id": run.holdout_id, "label": str(run.holdout), "sha256": run.holdout.sha256}
            if run.holdout
            else None
        ),
        "config": run.config,
        "input_hashes": run.input_hashes,
        "library_versions": run.library_versions,
        "started": run.started.isoformat() if run.started else None,
        "finished": run.finished.isoformat() if run.finished else None,
        "results_sha256": run.results_sha256,
        "evidence_sha256": run.evidence_sha256,
        "results": disclosure.results_for(user=user, run=run),
    }


@login_required
def audit_report_json(request: HttpRequest, pk: int) -> JsonResponse:
    run = _run(request, pk)
    response = JsonResponse(
        report_document(run, user=request.user), json_dumps_params={"indent": 2}
    )
    return as_attachment(response, f"synthgov-audit-{run.pk}.json")


# The standalone report's own code: draws each chart from its JSON data block.
REPORT_DRAW_JS = """
document.querySelectorAll("[data-chart]").forEach(function (el) {
  var d = JSON.parse(document.getElementById(el.getAttribute("data-chart")).textContent);
  Plotly.newPlot(el, d.data, d.layout, {responsive: true, displaylogo: false});
});
"""


def _script_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@functools.cache
def _plotly_hash() -> str:
    return _script_hash(charts.plotly_js())  # 1.5 MB: hashed once per process


def standalone_report_policy() -> str:
    """The downloaded report's Content-Security-Policy: it runs exactly its two
    inline scripts (by hash) and fetches nothing, wherever it is opened."""
    scripts = f"{_plotly_hash()} {_script_hash(REPORT_DRAW_JS)}"
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
    )


@login_required
def audit_report_html(request: HttpRequest, pk: int) -> HttpResponse:
    """One self-contained HTML file: styles and the Plotly library inlined.

    A downloaded file has no response headers, so its policy is in a
    ``<meta http-equiv>`` tag; the response sends the same one as a header."""
    run = _run(request, pk)
    policy = standalone_report_policy()
    document = report_document(run, user=request.user)
    results = document["results"]
    html = render_to_string(
        "audits/report_standalone.html",
        {
            "run": run,
            "summary": selectors.report_summary(user=request.user, run=run, results=results),
            "standalone": True,
            "groups": selectors.grouped_metrics(results),
            "attacker": selectors.attacker_view(results),
            "models": selectors.models_view(results),
            "charts": report_charts(results),
            "plotly_js": charts.plotly_js(),
            "draw_js": REPORT_DRAW_JS,
            "csp": policy,
            "document": document,
        },
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = policy
    return as_attachment(response, f"synthgov-audit-{run.pk}.html")


@login_required
def metric_catalogue(request: HttpRequest) -> HttpResponse:
    families: dict[str, list[Any]] = {}
    for spec in METRICS.values():
        families.setdefault(spec.family, []).append(spec)
    ordered = sorted(
        families.items(),
        key=lambda kv: (
            selectors.FAMILY_ORDER.index(kv[0]) if kv[0] in selectors.FAMILY_ORDER else 99
        ),
    )
    return render(request, "audits/metric_catalogue.html", {"families": ordered})


def plotly_bundle(request: HttpRequest) -> HttpResponse:
    """plotly.js for the charts, gzipped for clients that accept it. Its address names
    the bundle's version, so browsers may keep it for a year without asking again."""
    if "gzip" in request.headers.get("Accept-Encoding", "").lower():
        response = HttpResponse(charts.plotly_js_gzip(), content_type=JAVASCRIPT)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(charts.plotly_js(), content_type=JAVASCRIPT)
    patch_vary_headers(response, ["Accept-Encoding"])
    patch_cache_control(response, public=True, max_age=365 * 24 * 3600, immutable=True)
    return response
