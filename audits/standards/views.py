"""Standards pages: list, detail with the difference from the parent, write,
publish, new draft, YAML import and export."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audits.models import ComplianceEvaluation, StandardVersion
from audits.standards import engine
from audits.standards import selectors as standard_selectors
from audits.standards import services as standard_services
from audits.standards.forms import (
    ImportForm,
    RuleFormSet,
    StandardForm,
    initial_from_spec,
    spec_from_forms,
)
from audits.standards.selectors import editor_organisation, may_edit
from synthgov.accounts.permissions import (
    user_may_publish_global_standards,
)
from synthgov.downloads import as_attachment


def _standard(request: HttpRequest, pk: int) -> StandardVersion:
    version = (
        StandardVersion.objects.visible_to(request.user)
        .select_related("standard__owner", "parent__standard")
        .prefetch_related("rules")
        .filter(pk=pk)
        .first()
    )
    if version is None:
        raise Http404
    return version


def _parent_choices() -> list[tuple[str, str]]:
    return [(v.label, f"{v.label} — {v.name}") for v in standard_selectors.current_standards()]


@login_required
def standard_list(request: HttpRequest) -> HttpResponse:
    versions = (
        StandardVersion.objects.visible_to(request.user)
        .select_related("standard__owner", "parent__standard")
        .order_by("standard__code", "-created")
    )
    return render(
        request,
        "audits/standard_list.html",
        {
            "versions": versions,
            "can_write": request.user.is_superuser or editor_organisation(request.user) is not None,
        },
    )


@login_required
def standard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _standard(request, pk))


def _detail(request: HttpRequest, version: StandardVersion, status: int = 200) -> HttpResponse:
    spec = standard_selectors.spec_for(version)
    parent_rules = standard_selectors.parent_rules(version)
    return render(
        request,
        "audits/standard_detail.html",
        {
            "version": version,
            "effective": engine.effective_rules(spec, parent_rules),
            "population_keys": engine.POPULATION_KEYS,
            "diff": engine.diff_from_parent(spec, parent_rules) if parent_rules is not None else [],
            "can_edit": may_edit(request.user, version),
            "can_publish": _may_publish(request.user, version),
            "evaluation_counts": _evaluation_counts(version),
            "other_versions": version.standard.versions.visible_to(request.user)
            .exclude(pk=version.pk)
            .order_by("-created"),
        },
        status=status,
    )


def _evaluation_counts(version: StandardVersion) -> list[tuple[engine.StatusKind, int]]:
    """Current evaluations against ``version`` by the status people read (the
    same words and order as the dashboard and evaluation pages)."""
    rows = (
        ComplianceEvaluation.objects.current()
        .filter(standard_version=version)
        .values("status", "worst_severity", "fail_count", "missing_count")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, int] = {}
    for row in rows:
        kind = engine.status_view_of_row(row).kind
        counts[kind.code] = counts.get(kind.code, 0) + row["n"]
    kinds = sorted((engine.STATUS_KINDS[code] for code in counts), key=lambda k: k.order)
    return [(kind, counts[kind.code]) for kind in kinds]


@login_required
@require_http_methods(["GET", "POST"])
def standard_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    version = _standard(request, pk) if pk else None
    if version is not None and (version.is_published or not may_edit(request.user, version)):
        raise PermissionDenied
    owner = version.standard.owner if version else editor_organisation(request.user)
    if version is None and owner is None and not request.user.is_superuser:
        raise PermissionDenied
    initial, rules_initial = (
        initial_from_spec(standard_selectors.spec_for(version)) if version else ({}, [])
    )
    form = StandardForm(
        request.POST or None,
        initial=initial,
        parents=_parent_choices(),
        allow_global=user_may_publish_global_standards(request.user),
    )
    rules = RuleFormSet(request.POST or None, initial=rules_initial, prefix="rules")
    status = 200
    if request.method == "POST" and form.is_valid() and rules.is_valid():
        spec = spec_from_forms(form, rules)
        try:
            saved = standard_services.standard_save_draft(spec=spec, user=request.user, owner=owner)
        except standard_services.StandardForbidden as refused:
            form.add_error(None, str(refused))
            status = 403
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, f"Draft {saved.label} saved. Publish it to apply it.")
            return redirect(saved)
    return render(
        request,
        "audits/standard_form.html",
        {"form": form, "rules": rules, "version": version},
        status=status,
    )


def _may_publish(user: Any, version: StandardVersion) -> bool:
    # A global draft stays unpublished until someone who may publish it does.
    return may_edit(user, version) and (
        version.scope != "global" or user_may_publish_global_standards(user)
    )


@login_required
@require_http_methods(["GET", "POST"])
def standard_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what publishing will do, and the button that does it (the confirmation
    step: publishing cannot be undone). POST: publish."""
    version = _standard(request, pk)
    if not may_edit(request.user, version):
        raise PermissionDenied
    if request.method == "GET":
        if version.is_published:
            return redirect(version)
        return render(
            request,
            "audits/standard_publish.html",
            {
                "version": version,
                "can_publish": _may_publish(request.user, version),
                "rule_count": len(
                    engine.effective_rules(
                        standard_selectors.spec_for(version),
                        standard_selectors.parent_rules(version),
                    )
                ),
                "replaces": _published_version_replaced(version),
            },
        )
    try:
        standard_services.standard_publish(version=version, user=request.user)
    except standard_services.StandardForbidden as refused:
        messages.error(request, str(refused))
        return _detail(request, version, status=403)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{version.label} published. Compliance is being recomputed for every "
            "dataset it applies to.",
        )
    return redirect(version)


def _published_version_replaced(version: StandardVersion) -> StandardVersion | None:
    """The standard's current published version, which publishing ``version`` replaces."""
    return (
        version.standard.versions.published().exclude(pk=version.pk).order_by("-published").first()
    )


@login_required
@require_POST
def standard_new_draft(request: HttpRequest, pk: int) -> HttpResponse:
    version = _standard(request, pk)
    if not may_edit(request.user, version):
        raise PermissionDenied
    number = request.POST.get("version", "").strip()
    try:
        draft = standard_services.standard_new_draft(
            version=version, user=request.user, number=number
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(version)
    return redirect("audits:standard_edit", pk=draft.pk)


@login_required
def standard_export(request: HttpRequest, pk: int) -> HttpResponse:
    version = _standard(request, pk)
    response = HttpResponse(
        standard_services.standard_export_yaml(version),
        content_type="application/yaml; charset=utf-8",
    )
    as_attachment(response, f"{version.standard.code}-{version.version}.yaml")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def standard_import(request: HttpRequest) -> HttpResponse:
    owner = editor_organisation(request.user)
    if owner is None and not request.user.is_superuser:
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            imported = standard_services.standard_import_yaml(
                text=form.text(), user=request.user, owner=owner
            )
        except standard_services.StandardForbidden as refused:
            problems, status = [str(refused)], 403
        except ValidationError as exc:
            problems = exc.messages
        else:
            messages.success(request, f"Imported {len(imported)} standard(s) as drafts.")
            return redirect(imported[0]) if imported else redirect("audits:standards")
    return render(
        request,
        "audits/standard_import.html",
        {"form": form, "problems": problems},
        status=status,
    )
