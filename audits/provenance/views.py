"""Pages for watermarking a version, its provenance manifest and checking a file's
origin. Objects come through the permission helper; changes go through
``audits.provenance.services``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from audits.models import AuditRun
from audits.provenance import services as provenance
from registry.models import DatasetVersion, WatermarkRun
from registry.uploads import sent_name, upload_refusal
from registry.views import missing_file_message
from synthgov.accounts.models import Organisation
from synthgov.accounts.permissions import (
    DATASET_CHANGE,
    DATASET_VIEW,
    get_object_for_user,
    user_has_perm,
)
from synthgov.downloads import as_attachment
from synthgov.signing.manifests import manifest_bytes


def _version(request: HttpRequest, pk: int, perm: str = DATASET_VIEW) -> DatasetVersion:
    return get_object_for_user(
        user=request.user,
        queryset=DatasetVersion.objects.select_related("dataset__organisation"),
        perm=perm,
        pk=pk,
    )


class WatermarkForm(forms.Form):
    """One optional tolerance per numerical column (blank: not marked) and a tick per
    categorical column allowed to carry the mark. Fields are numbered, labels are the
    column names, so any column name works."""

    category_rate = forms.FloatField(
        label="Largest share of a ticked categorical column's cells that may change",
        initial=provenance.DEFAULT_CATEGORY_RATE,
        min_value=0.001,
        max_value=0.5,
    )

    def __init__(self, *args: Any, version: DatasetVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        defaults = provenance.watermark_defaults(version)
        self.numeric: list[tuple[str, str]] = []
        self.categorical: list[tuple[str, str]] = []
        for i, column in enumerate(version.schema):
            name = column["name"]
            if column["type"] == "numerical":
                field = f"tol_{i}"
                self.fields[field] = forms.FloatField(
                    label=name,
                    required=False,
                    initial=defaults["tolerances"].get(name),
                    help_text="Largest change allowed to a value (blank: not marked). "
                    "Columns of whole numbers stay whole and need at least 2.",
                )
                self.numeric.append((field, name))
            elif column["type"] == "categorical":
                field = f"cat_{i}"
                self.fields[field] = forms.BooleanField(label=name, required=False)
                self.categorical.append((field, name))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field, name in self.numeric:
            value = data.get(field)
            if value is not None and value <= 0:
                self.add_error(field, f"The tolerance for '{name}' must be greater than 0.")
        if not any(data.get(field) is not None for field, _ in self.numeric):
            raise forms.ValidationError(
                "Give a tolerance for at least one numerical column: the mark lives in "
                "numbers, and categorical columns are keyed by one of them."
            )
        return data

    def tolerances(self) -> dict[str, float]:
        data = self.cleaned_data
        return {name: data[f] for f, name in self.numeric if data.get(f) is not None}

    def allowed_categorical(self) -> dict[str, float]:
        data = self.cleaned_data
        return {name: data["category_rate"] for f, name in self.categorical if data.get(f)}

    def numeric_fields(self) -> list[forms.BoundField]:
        return [self[f] for f, _ in self.numeric]

    def categorical_fields(self) -> list[forms.BoundField]:
        return [self[f] for f, _ in self.categorical]


def provenance_context(request: HttpRequest, version: DatasetVersion) -> dict[str, Any]:
    """What the version page's watermark panel shows."""
    can_change = user_has_perm(
        request.user, DATASET_CHANGE, organisation=version.dataset.organisation
    )
    record = version.watermark or {}
    return {
        "watermark_record": record,
        "watermark_parameters": record.get("parameters"),
        "watermark_columns": watermark_columns(record),
        "watermark_reference_quality": _reference_quality_for(request.user, record),
        "watermark_source": (
            DatasetVersion.objects.filter(pk=record.get("source")).first() if record else None
        ),
        "watermark_runs": list(version.watermark_runs.select_related("result")[:5]),
        "can_watermark": can_change
        and version.dataset.is_synthetic
        and not version.watermark_key_id
        and not version.is_relational,
        # Watermarking works on one table; say so rather than offer a button that refuses.
        "watermark_relational": version.is_relational and not version.watermark_key_id,
    }


def watermark_columns(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Each marked column with what the curator entered for it (a numerical column's
    tolerance, a categorical column's largest share of changed cells) beside the
    change measured on the new file."""
    parameters = record.get("parameters") or {}
    tolerances = parameters.get("tolerances") or {}
    rates = parameters.get("categorical") or {}
    changes = (record.get("quality_change") or {}).get("columns") or {}
    return [
        {
            "name": name,
            "tolerance": tolerances.get(name),
            "rate": rates.get(name),
            "change": change,
        }
        for name, change in changes.items()
    ]


def _reference_quality_for(user: Any, record: dict[str, Any]) -> dict[str, Any] | None:
    """The marked columns' fidelity to the source audit's real reference, only for a
    reader who may see that audit (and so its reference): column-shape scores against
    data the reader may not read are figures of that data."""
    quality = record.get("quality_against_reference")
    if not quality or not AuditRun.objects.visible_to(user).filter(pk=quality["audit"]).exists():
        return None
    return quality


@login_required
@require_http_methods(["GET", "POST"])
def version_watermark(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk, DATASET_CHANGE)
    form = WatermarkForm(request.POST or None, version=version)
    if request.method == "POST" and form.is_valid():
        try:
            run = provenance.watermark_run_request(
                version=version,
                user=request.user,
                tolerances=form.tolerances(),
                categorical=form.allowed_categorical(),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, "Watermarking queued. This page follows it.")
            return redirect("audits:watermark_run", pk=run.pk)
    return render(
        request, "audits/provenance/watermark_form.html", {"version": version, "form": form}
    )


@login_required
def watermark_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(WatermarkRun.objects.select_related("source", "result"), pk=pk)
    _version(request, run.source_id)  # 404 unless the user may see the source
    record = (run.result.watermark or {}) if run.result else {}
    return render(
        request,
        "audits/provenance/watermark_run.html",
        {"run": run, "watermark_parameters": record.get("parameters")},
    )


@login_required
def version_manifest(request: HttpRequest, pk: int) -> HttpResponse:
    """The signed manifest as a sidecar JSON file (any format)."""
    version = _version(request, pk)
    try:
        document = provenance.version_manifest(version=version)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=503, content_type="text/plain")
    response = HttpResponse(manifest_bytes(document), content_type="application/json")
    return as_attachment(response, f"{version.dataset.name}-v{version.number}.manifest.json")


@login_required
def version_manifest_parquet(request: HttpRequest, pk: int) -> HttpResponse:
    """The Parquet file with the signed manifest in its metadata."""
    version = _version(request, pk)
    if version.format != DatasetVersion.Format.PARQUET:
        raise Http404("Only Parquet versions embed the manifest; download the sidecar JSON.")
    work_dir = Path(tempfile.mkdtemp(prefix="manifest-", dir=settings.FILE_UPLOAD_TEMP_DIR))
    target = work_dir / "with-manifest.parquet"
    try:
        provenance.manifest_parquet_file(version=version, target=target)
        handle = target.open("rb")
    except FileNotFoundError:
        return render(
            request,
            "registry/file_missing.html",
            {"version": version, "message": missing_file_message(version)},
            status=410,
        )
    finally:
        # The open handle keeps the data readable on POSIX after the folder is gone.
        shutil.rmtree(work_dir, ignore_errors=True)
    response = FileResponse(handle, content_type="application/vnd.apache.parquet")
    return as_attachment(response, f"{version.dataset.name}-v{version.number}.parquet")


def organisation_manifest_key(request: HttpRequest, slug: str) -> JsonResponse:
    """The organisation's manifest verifying key: public, so anyone can verify offline."""
    organisation = get_object_or_404(Organisation, slug=slug)
    try:
        keys = provenance.organisation_keys(organisation)
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=503)
    return JsonResponse(keys.public_document(), json_dumps_params={"indent": 2})


class OriginForm(forms.Form):
    file = forms.FileField(
        label="Table to check (CSV or Parquet)",
        help_text="The file is read to look for watermarks and then deleted; it is not stored.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def check_origin(request: HttpRequest) -> HttpResponse:
    form = OriginForm(request.POST or None, request.FILES or None)
    # Reading POST/FILES above parsed the body; the upload handler may have refused it.
    refusal = upload_refusal(request) if request.method == "POST" else None
    results = None
    if refusal is not None:
        form = OriginForm()
        form.add_error(None, f"{refusal.message} {refusal.hint}")
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            results = provenance.check_origin(
                user=request.user, chunks=upload.chunks(), original_name=sent_name(upload)
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("file", message)
    return render(
        request,
        "audits/provenance/check_origin.html",
        {"form": form, "results": results, "alpha": provenance.ORIGIN_ALPHA},
    )
