"""Registry pages. Objects are fetched through the permission helper; changes
go through services."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_safe

from registry import selectors, services
from registry.documents.for_models import croissant_for_version, prov_for_dataset
from registry.filters import DatasetFilter
from registry.forms import (
    DatasetForm,
    DatasheetForm,
    GenerationForm,
    ParentFormSet,
    SchemaForm,
    VersionUploadForm,
)
from registry.lineage.layout import layout
from registry.lineage.svg import render_svg
from registry.lineage.view import view_data
from registry.models import (
    DATASHEET_SECTIONS,
    SYNTHETIC_ONLY_SECTIONS,
    Dataset,
    DatasetVersion,
    VersionTable,
    datasheet_sections_for,
)
from registry.relational.diagram import TableBox, render_relationships_svg
from registry.signals import lineage_view_badges, version_page_context
from registry.table_services import version_keys
from registry.uploads import sent_name, upload_chunks, upload_refusal
from synthgov.accounts.permissions import DATASET_CHANGE, DATASET_VIEW, get_object_for_user
from synthgov.downloads import StoredFile, as_attachment, file_response, token_or_login_required


def _dataset(request: HttpRequest, pk: int, perm: str = DATASET_VIEW) -> Dataset:
    return get_object_for_user(user=request.user, queryset=Dataset.objects, perm=perm, pk=pk)


def _version(request: HttpRequest, pk: int, perm: str = DATASET_VIEW) -> DatasetVersion:
    return get_object_for_user(
        user=request.user,
        queryset=DatasetVersion.objects.select_related("dataset__organisation"),
        perm=perm,
        pk=pk,
    )


def _apply_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@login_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = selectors.datasets_for(request.user)
    filterset = DatasetFilter(request.GET or None, queryset=datasets, user=request.user)
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else datasets
    page = Paginator(queryset, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/dataset_list.html",
        {
            "filter": filterset,
            "page": page,
            "can_register": selectors.organisations_user_can_register_for(request.user).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def dataset_create(request: HttpRequest) -> HttpResponse:
    orgs = selectors.organisations_user_can_register_for(request.user)
    if not orgs.exists():
        raise PermissionDenied
    choices = [(o.slug, o.name) for o in orgs]
    form = DatasetForm(request.POST or None, organisations=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            dataset = services.dataset_create(
                organisation=orgs.get(slug=data["organisation"]),
                user=request.user,
                name=data["name"],
                kind=data["kind"],
                domain=data["domain"],
                licence=data["licence"],
                access=data["access"],
                description=data["description"],
                intended_uses=data["intended_uses"],
                prohibited_uses=data["prohibited_uses"],
                tags=form.tag_list(),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request, f"Dataset “{dataset.name}” registered. Upload its first version."
            )
            return redirect("registry:upload", pk=dataset.pk)
    return render(request, "registry/dataset_form.html", {"form": form, "dataset": None})


@login_required
@require_http_methods(["GET", "POST"])
def dataset_edit(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk, DATASET_CHANGE)
    initial = {
        "organisation": dataset.organisation.slug,
        **{
            f: getattr(dataset, f)
            for f in [
                "name",
                "kind",
                "domain",
                "description",
                "licence",
                "access",
                "intended_uses",
                "prohibited_uses",
            ]
        },
        "tags": ", ".join(t.name for t in dataset.tags.all()),
    }
    form = DatasetForm(
        request.POST or None,
        initial=initial,
        organisations=[(dataset.organisation.slug, dataset.organisation.name)],
    )
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in {"organisation", "tags"}}
        try:
            services.dataset_update(
                dataset=dataset, user=request.user, tags=form.tag_list(), **data
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Dataset details saved.")
            return redirect(dataset)
    return render(request, "registry/dataset_form.html", {"form": form, "dataset": dataset})


@login_required
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk)
    versions = list(dataset.versions.select_related("uploaded_by", "datasheet").order_by("-number"))
    svg = ""
    lineage: dict[str, Any] | None = None
    if versions:
        nodes, edges = selectors.lineage_graph(
            user=request.user, version_ids=[v.pk for v in versions]
        )
        if edges:
            svg = render_svg(layout(nodes, edges), title=f"Lineage of {dataset.name}")
            lineage = view_data(
                nodes,
                edges,
                badges=_lineage_badges(request, [n.id for n in nodes if n.visible]),
                own_ids={v.pk for v in versions},
                current_id=versions[0].pk,
            )
    return render(
        request,
        "registry/dataset_detail.html",
        {
            "dataset": dataset,
            "versions": versions,
            "lineage_svg": svg,
            "lineage": lineage,
            "can_change": selectors.can_change(request.user, dataset),
        },
    )


def _lineage_badges(request: HttpRequest, version_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Status and certificate of each version, from the apps above the registry
    (``lineage_view_badges``)."""
    badges: dict[int, dict[str, Any]] = {}
    for _receiver, answer in lineage_view_badges.send(
        sender=DatasetVersion, user=request.user, version_ids=version_ids
    ):
        for version_id, badge in answer.items():
            badges.setdefault(version_id, {}).update(badge)
    return badges


@login_required
def dataset_lineage_svg(request: HttpRequest, pk: int) -> HttpResponse:
    """The lineage picture as a standalone SVG file (the page's export)."""
    dataset = _dataset(request, pk)
    version_ids = list(dataset.versions.values_list("pk", flat=True))
    nodes, edges = selectors.lineage_graph(user=request.user, version_ids=version_ids)
    svg = render_svg(layout(nodes, edges), title=f"Lineage of {dataset.name}")
    response = HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + svg,
        content_type="image/svg+xml; charset=utf-8",
    )
    return as_attachment(response, f"lineage-dataset-{dataset.pk}.svg")


def _prov_response(request: HttpRequest, pk: int) -> tuple[Dataset, JsonResponse]:
    dataset = _dataset(request, pk)
    doc = prov_for_dataset(
        user=request.user, dataset=dataset, base_uri=request.build_absolute_uri("/")
    )
    return dataset, JsonResponse(doc, json_dumps_params={"indent": 2})


@login_required
def dataset_prov(request: HttpRequest, pk: int) -> HttpResponse:
    """The dataset's lineage as PROV-JSON, downloaded as a file."""
    dataset, response = _prov_response(request, pk)
    return as_attachment(response, f"lineage-dataset-{dataset.pk}.prov.json")


@login_required
def dataset_prov_document(request: HttpRequest, pk: int) -> HttpResponse:
    """The same document shown in place: the URL its ``lineage:`` names resolve to."""
    return _prov_response(request, pk)[1]


@login_required
@require_http_methods(["GET", "POST"])
def version_upload(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk, DATASET_CHANGE)
    posted = request.method == "POST"
    form = VersionUploadForm(request.POST if posted else None, request.FILES if posted else None)
    # Reading POST/FILES above parsed the body; the upload handler may have refused it.
    refusal = upload_refusal(request) if request.method == "POST" else None
    choices: list[str] = []
    version = None
    if refusal is not None:
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", f"{refusal.message} {refusal.hint}")
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            version = services.dataset_version_create(
                dataset=dataset,
                user=request.user,
                chunks=upload_chunks(upload),
                original_name=sent_name(upload),
                encoding=form.cleaned_data["encoding"],
                note=form.cleaned_data["note"],
                missing_markers=form.cleaned_data["missing_markers"],
            )
        except services.UploadRefused as exc:
            _apply_errors(form, exc)
            choices = list(exc.error.choices)
        except ValidationError as exc:
            _apply_errors(form, exc)
    if version is not None:
        url = reverse("registry:schema", args=[version.pk])
        messages.success(
            request,
            f"Version {version.number} stored ({version.row_count:,} rows, "
            f"{version.column_count} columns). Check the inferred schema.",
        )
        if request.headers.get("X-Requested-With") == "XMLHttpRequest":
            return JsonResponse({"redirect": url})
        return redirect(url)
    if request.method == "POST" and request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return JsonResponse(
            {"errors": {k: list(v) for k, v in form.errors.items()}, "encoding_choices": choices},
            status=400,
        )
    return render(
        request,
        "registry/version_upload.html",
        {"dataset": dataset, "form": form, "encoding_choices": choices},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk)
    previous, changes = selectors.schema_changes(version)
    sheet = getattr(version, "datasheet", None)
    return render(
        request,
        "registry/version_detail.html",
        {
            "version": version,
            "dataset": version.dataset,
            "columns": selectors.profile_rows(version),
            "previous": previous,
            "schema_changes": changes,
            "parents": selectors.parents_for(user=request.user, version=version),
            "children": selectors.children_for(user=request.user, version=version),
            "generation": getattr(version, "generation", None),
            "datasheet": sheet,
            "datasheet_sections": [
                (label, getattr(sheet, key) if sheet else "")
                for key, label, _ in datasheet_sections_for(version.dataset.kind)
            ],
            "can_change": selectors.can_change(request.user, version.dataset),
            **relational_context(version),
            **_panels(request, version),
        },
    )


def relational_context(version: DatasetVersion) -> dict[str, Any]:
    """What the version page shows of a version of several tables: each table with its
    schema and profile rows, the foreign keys, and the relationship diagram."""
    if not version.is_relational:
        return {"relational": None}
    tables = list(version.tables.all())
    keys = version_keys(version)
    svg = render_relationships_svg(
        [TableBox(t.name, t.row_count, t.primary_key or None) for t in tables],
        keys.foreign_keys,
        title=f"Tables of {version} and their foreign keys",
    )
    return {
        "relational": {
            "tables": [{"table": t, "columns": selectors.profile_rows(t)} for t in tables],
            "foreign_keys": keys.foreign_keys,
            "diagram": mark_safe(svg),  # noqa: S308 - built from escaped text only
        }
    }


def _panels(request: HttpRequest, version: DatasetVersion) -> dict[str, Any]:
    """The panels other apps add to the version page (``version_page_context``)."""
    context: dict[str, Any] = {}
    for _receiver, panel in version_page_context.send(
        sender=DatasetVersion, request=request, version=version
    ):
        context.update(panel)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def version_schema(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk, DATASET_CHANGE)
    if version.is_relational:
        # Its columns belong to its tables; the curator's step here is the keys.
        return redirect("registry:keys", pk=version.pk)
    form = SchemaForm(request.POST or None, schema=version.schema)
    if request.method == "POST" and form.is_valid():
        try:
            services.version_schema_update(
                version=version, user=request.user, columns=form.columns()
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Column types and roles saved.")
            # Real data has no parents or generator: its next step is the datasheet.
            step = "registry:lineage" if version.dataset.is_synthetic else "registry:datasheet"
            return redirect(step, pk=version.pk)
    return render(request, "registry/version_schema.html", {"version": version, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def version_lineage(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk, DATASET_CHANGE)
    if not version.dataset.is_synthetic:
        # Real data is the reference: no parents, no generator. The page says so
        # (a bookmarked or typed link lands somewhere that explains) and takes no form.
        return render(
            request,
            "registry/version_lineage_real.html",
            {"version": version},
            status=200 if request.method == "GET" else 400,
        )
    choices = selectors.parent_choices(user=request.user, version=version)
    offered = {pk for pk, _ in choices}
    edges = list(version.parent_edges.all())
    # Parents the user may not see are kept as they are, never shown in the form.
    hidden = [e for e in edges if e.parent_id not in offered]
    gen = getattr(version, "generation", None)
    if request.method == "POST":
        formset = ParentFormSet(
            request.POST, prefix="parents", form_kwargs={"parent_choices": choices}
        )
        gen_form = GenerationForm(request.POST)
    else:
        current = [
            {"parent": e.parent_id, "relation": e.relation} for e in edges if e.parent_id in offered
        ]
        formset = ParentFormSet(
            initial=current, prefix="parents", form_kwargs={"parent_choices": choices}
        )
        gen_form = GenerationForm(
            initial={
                **{f: getattr(gen, f) for f in GenerationForm.base_fields if f != "parameters"},
                "parameters": json.dumps(gen.parameters, indent=2)
                if gen and gen.parameters
                else "",
            }
            if gen
            else None
        )
    if request.method == "POST" and formset.is_valid() and gen_form.is_valid():
        links = [services.ParentLink(e.parent_id, e.relation) for e in hidden] + [
            services.ParentLink(f.cleaned_data["parent"], f.cleaned_data["relation"])
            for f in formset
            if f.cleaned_data.get("parent")
        ]
        generation = dict(gen_form.cleaned_data)
        for text_field in [
            "generator_type",
            "generator_library",
            "generator_version",
            "privacy_mechanism",
            "compute_description",
        ]:
            generation[text_field] = generation.get(text_field) or ""
        try:
            services.version_lineage_set(
                version=version, user=request.user, parents=links, generation=generation
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            for field, msgs in errors.items():
                if field in gen_form.fields:
                    gen_form.add_error(field, msgs)
                else:
                    formset._non_form_errors = formset.error_class(msgs)
        else:
            messages.success(request, "Lineage saved.")
            return redirect("registry:datasheet", pk=version.pk)
    return render(
        request,
        "registry/version_lineage.html",
        {
            "version": version,
            "formset": formset,
            "gen_form": gen_form,
            "hidden_parents": len(hidden),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_datasheet(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk, DATASET_CHANGE)
    sheet = getattr(version, "datasheet", None)
    kind = version.dataset.kind
    form = DatasheetForm(
        request.POST or None, initial=sheet.sections() if sheet else None, kind=kind
    )
    if request.method == "POST" and form.is_valid():
        sheet = services.version_datasheet_update(
            version=version, user=request.user, sections=form.cleaned_data
        )
        messages.success(request, f"Datasheet saved: {sheet.completeness:.0%} complete.")
        return redirect(version)
    return render(
        request,
        "registry/version_datasheet.html",
        {
            "version": version,
            "form": form,
            "completeness": sheet.completeness if sheet else 0,
            "counted": len(datasheet_sections_for(kind)),
            "synthetic_only": _in_words(
                [label for key, label, _ in DATASHEET_SECTIONS if key in SYNTHETIC_ONLY_SECTIONS]
            ),
        },
    )


def _in_words(labels: list[str]) -> str:
    """``a, b and c`` in lower case."""
    words = [label.lower() for label in labels]
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def missing_file_message(version: DatasetVersion) -> str:
    return (
        f"The stored file of {version} is missing from storage, so it cannot be downloaded. "
        "Its certificates are suspended once an audit or the storage scrub finds it; ask an "
        "administrator to restore it from a backup."
    )


def relational_download_message(version: DatasetVersion) -> str:
    names = ", ".join(version.tables.values_list("name", flat=True))
    return (
        f"{version} holds {version.table_count} tables ({names}) and has no single file: "
        "download each table from tables/<name>/download/."
    )


def _format_download(
    request: HttpRequest,
    version: DatasetVersion,
    *,
    name: str,
    sha256: str,
    file_format: str,
    stem: str,
    public: bool,
) -> HttpResponseBase | None:
    """A stored CSV or Parquet file as a download (``file_response``), or None when it
    is missing."""
    suffix = "parquet" if file_format == "parquet" else "csv"
    return file_response(
        request,
        StoredFile(
            name=name,
            sha256=sha256,
            modified=version.created,
            content_type="application/vnd.apache.parquet" if suffix == "parquet" else "text/csv",
            filename=f"{stem}.{suffix}",
        ),
        public=public,
    )


def stored_table_response(
    request: HttpRequest, version: DatasetVersion, table: VersionTable
) -> HttpResponseBase | None:
    """One table's stored file as a download (as ``stored_file_response``), or None
    when it is missing."""
    return _format_download(
        request,
        version,
        name=table.file.name,
        sha256=table.sha256,
        file_format=table.format,
        stem=f"{version.dataset.name}-v{version.number}-{table.name}",
        public=False,
    )


def stored_file_response(
    request: HttpRequest, version: DatasetVersion, *, public: bool = False
) -> HttpResponseBase | None:
    """The version's stored file as a download (whole, or the byte range asked for,
    with its SHA-256 as ETag and digest headers), or None when it is missing.
    ``public``: the open download, which shared caches may keep for a while."""
    return _format_download(
        request,
        version,
        name=version.file.name,
        sha256=version.sha256,
        file_format=version.format,
        stem=f"{version.dataset.name}-v{version.number}",
        public=public,
    )


@require_safe
@token_or_login_required
def version_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    return download_or_gone(request, _version(request, pk))


def download_or_gone(
    request: HttpRequest, version: DatasetVersion, *, public: bool = False
) -> HttpResponseBase:
    """The version's file (see ``stored_file_response``), or the 410 page that says
    its bytes are missing from storage (409 for a version of several tables, which has
    one file per table)."""
    if version.is_relational:
        return render(
            request,
            "registry/file_missing.html",
            {
                "version": version,
                "heading": "Download each table",
                "message": relational_download_message(version),
            },
            status=409,
        )
    response = stored_file_response(request, version, public=public)
    if response is None:
        # 410 Gone: the version exists, its bytes do not any more.
        return render(
            request,
            "registry/file_missing.html",
            {"version": version, "message": missing_file_message(version)},
            status=410,
        )
    return response


@require_safe
@token_or_login_required
def version_croissant(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk)
    return croissant_response(
        croissant_for_version(user=request.user, version=version, request=request), version
    )


def croissant_response(doc: dict[str, Any], version: DatasetVersion) -> HttpResponse:
    """A version's Croissant JSON-LD, downloaded as ``croissant-version-N.json``."""
    response = JsonResponse(
        doc, json_dumps_params={"indent": 2}, content_type="application/ld+json"
    )
    return as_attachment(response, f"croissant-version-{version.pk}.json")
