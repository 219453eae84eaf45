"""Publishing pages: the version page's "Publish openly" panel and its actions (signed
in, ``DATASET_CHANGE``), and the public pages of published versions (no account).

Public pages answer 404 for any version that is not published, exactly as for an id
that does not exist. What they show is decided in ``audits.publishing.selectors``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audits.publishing import selectors, services
from audits.publishing.forms import ConfirmForm
from registry.models import DatasetVersion, datasheet_sections_for
from synthgov.accounts.permissions import (
    DATASET_CHANGE,
    get_object_for_user,
    user_has_perm,
)
from synthgov.downloads import as_attachment
from synthgov.signing.manifests import manifest_bytes

PUBLISH_CONSEQUENCES = (
    "Publish {version} openly? Anyone, with no account, will be able to download the file "
    "and read its public page: the datasheet, the generator facts, its lineage (versions "
    "that are not published are only counted), the audit figures that read this version "
    "alone, certificate numbers and statuses, and the signed manifest. Copies downloaded "
    "while it is published cannot be called back."
)
WITHDRAW_CONSEQUENCES = (
    "Withdraw {version} from open publication? Its public page, download and manifest will "
    "answer 404 at once; copies already downloaded stay out there, still carrying your "
    "watermark."
)


def _version(request: HttpRequest, pk: int, perm: str) -> DatasetVersion:
    return get_object_for_user(
        user=request.user,
        queryset=DatasetVersion.objects.select_related("dataset__organisation"),
        perm=perm,
        pk=pk,
    )


def publishing_context(request: HttpRequest, version: DatasetVersion) -> dict[str, Any]:
    """The version page's "Publish openly" panel: only for users who may change the
    dataset."""
    if not user_has_perm(request.user, DATASET_CHANGE, organisation=version.dataset.organisation):
        return {"publishing": None}
    published = version.published_at is not None
    checklist = [] if published else services.publication_checklist(version, rehash=False)
    return {
        "publishing": {
            "published": published,
            "public_url": request.build_absolute_uri(services.public_path(version)),
            "checklist": checklist,
            "ready": bool(checklist) and all(c.met for c in checklist),
            "confirm_publish": PUBLISH_CONSEQUENCES.format(version=version),
            "confirm_withdraw": WITHDRAW_CONSEQUENCES.format(version=version),
            "form": ConfirmForm(label=_confirm_label(version, published)),
        }
    }


def _confirm_label(version: DatasetVersion, published: bool) -> str:
    if published:
        return f"I understand that {version} stops being public at once."
    return f"I understand that anyone, with no account, may download {version}."


def _render_action(
    request: HttpRequest, version: DatasetVersion, *, form: ConfirmForm, status: int
) -> HttpResponse:
    published = version.published_at is not None
    return render(
        request,
        "audits/publishing/publish.html",
        {
            "version": version,
            "published": published,
            "checklist": [] if published else services.publication_checklist(version),
            "form": form,
            "consequences": (WITHDRAW_CONSEQUENCES if published else PUBLISH_CONSEQUENCES).format(
                version=version
            ),
            "public_url": request.build_absolute_uri(services.public_path(version)),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the conditions and the confirmation (the page the panel's form falls back
    to). POST: publish, or show every refusal (400) or the conflict (409)."""
    version = _version(request, pk, DATASET_CHANGE)
    form = ConfirmForm(
        request.POST if request.method == "POST" else None,
        label=_confirm_label(version, False),
    )
    if request.method == "GET":
        return _render_action(request, version, form=form, status=200)
    if not form.is_valid():
        return _render_action(request, version, form=form, status=400)
    try:
        version = services.version_publish(version=version, user=request.user)
    except services.PublicationConflict as conflict:
        form.add_error(None, str(conflict))
        return _render_action(request, version, form=form, status=409)
    except ValidationError as refused:
        for message in refused.messages:
            form.add_error(None, message)
        return _render_action(request, version, form=form, status=400)
    messages.success(
        request,
        f"{version} is published openly: anyone can read "
        f"{request.build_absolute_uri(services.public_path(version))} and download the file.",
    )
    return redirect(version)


@login_required
@require_POST
def version_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk, DATASET_CHANGE)
    form = ConfirmForm(request.POST, label=_confirm_label(version, True))
    if not form.is_valid():
        return _render_action(request, version, form=form, status=400)
    try:
        version = services.version_withdraw(version=version, user=request.user)
    except services.PublicationConflict as conflict:
        form.add_error(None, str(conflict))
        return _render_action(request, version, form=form, status=409)
    messages.success(request, f"{version} is withdrawn: its public page now answers 404.")
    return redirect(version)


# --- Public: no login ------------------------------------------------------


def _published(pk: int) -> DatasetVersion:
    """The published version ``pk``, or 404 (unpublished and unknown alike)."""
    return get_object_or_404(
        DatasetVersion.objects.published().select_related(
            "dataset__organisation", "datasheet", "generation"
        ),
        pk=pk,
    )


def _public(response: HttpResponse) -> HttpResponse:
    # Withdrawing must take effect at once: caches revalidate every time.
    patch_cache_control(response, no_cache=True)
    return response


@require_safe
def open_index(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.published_versions(), 25).get_page(request.GET.get("page"))
    return _public(render(request, "audits/publishing/open_index.html", {"page": page}))


@require_safe
def open_version(request: HttpRequest, pk: int) -> HttpResponse:
    version = _published(pk)
    sheet = getattr(version, "datasheet", None)
    context = {
        "version": version,
        "dataset": version.dataset,
        "datasheet": sheet,
        "datasheet_sections": [
            (label, getattr(sheet, key) if sheet else "")
            for key, label, _ in datasheet_sections_for(version.dataset.kind)
        ],
        "generation": getattr(version, "generation", None),
        "lineage": selectors.public_lineage(version),
        "audit": selectors.public_audit_summary(version),
        "certificates": selectors.public_certificates(version),
    }
    return _public(render(request, "audits/publishing/open_version.html", context))


@require_safe
def open_manifest(request: HttpRequest, pk: int) -> HttpResponse:
    """The signed manifest, naming only published parents."""
    version = _published(pk)
    try:
        document = selectors.public_manifest(version)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=503, content_type="text/plain")
    response = HttpResponse(manifest_bytes(document), content_type="application/json")
    return _public(
        as_attachment(response, f"{version.dataset.name}-v{version.number}.manifest.json")
    )
