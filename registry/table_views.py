"""Pages of versions made of several tables: upload them, confirm or correct their
keys, download one table, and their SDMetrics metadata."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from registry import table_services
from registry.forms import KeysForm, TablesUploadForm
from registry.uploads import sent_name, upload_refusal
from registry.views import _apply_errors, _dataset, _version, stored_table_response
from synthgov.accounts.permissions import DATASET_CHANGE
from synthgov.downloads import as_attachment, token_or_login_required


@login_required
@require_http_methods(["GET", "POST"])
def tables_upload(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk, DATASET_CHANGE)
    posted = request.method == "POST"
    form = TablesUploadForm(request.POST if posted else None, request.FILES if posted else None)
    refusal = upload_refusal(request) if posted else None
    if refusal is not None:
        form.is_valid()
        form.add_error(None, f"{refusal.message} {refusal.hint}")
    elif posted and form.is_valid():
        data = form.cleaned_data
        archive = data["archive"]
        try:
            version = table_services.relational_version_create(
                dataset=dataset,
                user=request.user,
                tables=table_services.table_uploads(
                    data["tables"], "" if archive else data["names"], sent_name
                ),
                archive=(sent_name(archive), archive.chunks()) if archive else None,
                archive_names=data["names"] if archive else "",
                metadata=data["metadata"],
                encoding=data["encoding"],
                note=data["note"],
                missing_markers=data["missing_markers"],
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            if version.keys_confirmed:
                messages.success(
                    request,
                    f"Version {version.number} stored with {version.table_count} tables and "
                    "the keys you declared.",
                )
                return redirect(version)
            messages.success(
                request,
                f"Version {version.number} stored with {version.table_count} tables. "
                "SynthGov proposes these keys: confirm or correct them.",
            )
            return redirect("registry:keys", pk=version.pk)
    return render(
        request,
        "registry/tables_upload.html",
        {"dataset": dataset, "form": form, "max_tables": table_services.max_tables()},
        status=400 if posted else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_keys(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk, DATASET_CHANGE)
    tables = list(version.tables.all())
    keys = table_services.version_keys(version)
    lines = "\n".join(
        f"{fk.child_table}.{fk.child_key} -> {fk.parent_table}.{fk.parent_key}"
        for fk in keys.foreign_keys
    )
    form = KeysForm(request.POST or None, tables=tables, foreign_keys=lines)
    if request.method == "POST" and form.is_valid():
        try:
            table_services.version_keys_set(version=version, user=request.user, keys=form.keys())
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Keys saved.")
            return redirect(version)
    candidates = [
        {
            "table": t,
            "field": form[f"pk_{t.name}"],
            "primary_keys": t.key_candidates.get("primary_keys", []),
            "foreign_keys": t.key_candidates.get("foreign_keys", []),
        }
        for t in tables
    ]
    return render(
        request,
        "registry/version_keys.html",
        {"version": version, "form": form, "tables": candidates},
        status=400 if request.method == "POST" else 200,
    )


@require_safe
@token_or_login_required
def table_download(request: HttpRequest, pk: int, table: str) -> HttpResponseBase:
    version = _version(request, pk)
    row = version.tables.filter(name=table).first()
    if row is None:
        raise Http404(f"{version} has no table named {table!r}.")
    response = stored_table_response(request, version, row)
    if response is None:
        return render(
            request,
            "registry/file_missing.html",
            {
                "version": version,
                "message": f"The stored file of table {table!r} of {version} is missing from "
                "storage; ask an administrator to restore it from a backup.",
            },
            status=410,
        )
    return response


@require_safe
@token_or_login_required
def version_metadata(request: HttpRequest, pk: int) -> HttpResponse:
    """The tables and keys as SDMetrics multi-table metadata (JSON download)."""
    version = _version(request, pk)
    response = JsonResponse(
        table_services.version_metadata(version), json_dumps_params={"indent": 2}
    )
    return as_attachment(response, f"sdmetrics-metadata-version-{version.pk}.json")
