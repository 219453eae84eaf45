"""Changes to the registry. Every change writes a trail entry in its transaction.

Callers (views, API, demo loader) fetch objects with the permission helper
first; services re-check what only they can know (lineage visibility, cycles,
duplicate content) and raise ``ValidationError`` with a message for the user.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from registry import ingest
from registry.ingest import ColumnRole, ColumnSchema, ColumnType, IngestError
from registry.licences import normalise_licence
from registry.lineage.graph import would_create_cycle
from registry.models import (
    DATASHEET_SECTIONS,
    GENERATION_FIELDS,
    Dataset,
    DatasetKind,
    DatasetVersion,
    Datasheet,
    Generation,
    LineageEdge,
    Relation,
    Tag,
    VersionTable,
)
from registry.relational import RelationalError, table_name_from_file, version_sha256
from synthgov.accounts.models import Organisation
from synthgov.downloads import has_control_characters
from synthgov.signing.strict_json import nesting_depth
from synthgov.storage import local_copy, stored_hash
from synthgov.trail.services import trail_record

# Generator parameters are a few levels deep; much deeper JSON exhausts the stack of
# the code that stores, hashes and shows it.
MAX_PARAMETERS_DEPTH = 16


class UploadRefused(ValidationError):
    """An uploaded file was refused; ``error`` says why and what to do."""

    def __init__(self, error: IngestError) -> None:
        self.error = error
        super().__init__({"file": [f"{error.message} {error.hint}"]}, code=error.code)


# --- Datasets ------------------------------------------------------------


def _clean_dataset_fields(fields: dict[str, Any]) -> dict[str, Any]:
    name = fields.get("name")
    if isinstance(name, str) and has_control_characters(name):
        raise ValidationError(
            {
                "name": [
                    "A dataset name cannot hold line breaks, tabs, control or invisible "
                    "characters; it names the files you download. Write it on one line."
                ]
            }
        )
    licence = normalise_licence(fields.get("licence", ""))
    if licence is None:
        raise ValidationError(
            {
                "licence": [
                    f"'{fields.get('licence', '')}' is not an SPDX licence identifier SynthGov "
                    "knows. Use one such as CC-BY-4.0, CC0-1.0 or ODbL-1.0, or "
                    "LicenseRef-<name> for your own terms."
                ]
            }
        )
    return {**fields, "licence": licence}


def _tags(names: Iterable[str]) -> list[Tag]:
    slugs = sorted({slugify(n)[:50] for n in names if slugify(n)})
    return [Tag.objects.get_or_create(name=slug)[0] for slug in slugs]


def dataset_create(
    *,
    organisation: Organisation,
    user: Any,
    name: str,
    kind: str,
    domain: str,
    licence: str,
    access: str,
    description: str = "",
    intended_uses: str = "",
    prohibited_uses: str = "",
    tags: Sequence[str] = (),
) -> Dataset:
    fields = _clean_dataset_fields(
        {
            "name": name.strip(),
            "kind": kind,
            "domain": domain.strip().lower(),
            "licence": licence,
            "access": access,
            "description": description,
            "intended_uses": intended_uses,
            "prohibited_uses": prohibited_uses,
        }
    )
    if Dataset.objects.filter(organisation=organisation, name__iexact=fields["name"]).exists():
        raise ValidationError(
            {"name": [f"Your organisation already has a dataset named '{fields['name']}'."]}
        )
    with transaction.atomic():
        dataset = Dataset.objects.create(organisation=organisation, created_by=user, **fields)
        dataset.tags.set(_tags(tags))
        trail_record(
            actor=user,
            action="registry.dataset.created",
            target=dataset,
            organisation=organisation,
            payload={**fields, "tags": sorted(t.name for t in dataset.tags.all())},
        )
    return dataset


def dataset_update(*, dataset: Dataset, user: Any, tags: Sequence[str], **changes: Any) -> Dataset:
    changes = _clean_dataset_fields({"licence": dataset.licence, **changes})
    if "domain" in changes:
        changes["domain"] = changes["domain"].strip().lower()
    if (
        "name" in changes
        and Dataset.objects.filter(organisation=dataset.organisation, name__iexact=changes["name"])
        .exclude(pk=dataset.pk)
        .exists()
    ):
        raise ValidationError(
            {"name": [f"Your organisation already has a dataset named '{changes['name']}'."]}
        )
    before = {key: getattr(dataset, key) for key in changes}
    before_tags = sorted(t.name for t in dataset.tags.all())
    with transaction.atomic():
        for key, value in changes.items():
            setattr(dataset, key, value)
        dataset.save()
        dataset.tags.set(_tags(tags))
        after_tags = sorted(t.name for t in dataset.tags.all())
        diff = {k: {"from": before[k], "to": v} for k, v in changes.items() if before[k] != v}
        if before_tags != after_tags:
            diff["tags"] = {"from": before_tags, "to": after_tags}
        if diff:
            trail_record(
                actor=user,
                action="registry.dataset.updated",
                target=dataset,
                organisation=dataset.organisation,
                payload=diff,
            )
    return dataset


# --- Versions ------------------------------------------------------------


class _StoredTable(File):
    """Lets FileSystemStorage move (not copy) the validated table into place."""

    def temporary_file_path(self) -> str:
        return self.file.name


def _store(ingested: ingest.IngestedFile) -> tuple[str, bool]:
    """Save the table under its SHA-256; return (name, whether this call created it)."""
    suffix = "parquet" if ingested.info.format == ingest.TableFormat.PARQUET else "csv"
    name = f"versions/{ingested.sha256[:2]}/{ingested.sha256}.{suffix}"
    if default_storage.exists(name):
        return name, False  # same bytes already stored: content addressing dedupes
    with ingested.path.open("rb") as handle:
        saved = default_storage.save(name, _StoredTable(handle, name=name))
    if saved != name:  # a concurrent upload of the same bytes won the race
        default_storage.delete(saved)
        return name, False
    return name, True


def _sample(ingested: ingest.IngestedFile) -> Any:
    """The rows schema and profile are inferred from (``ingest.sample_frame``), cut
    out of the file by the validation's row index when there is one."""
    return ingest.sample_frame(
        ingested.path,
        ingested.info,
        rows=ingest.DEFAULT_SAMPLE_ROWS,
        seed=0,
        index=ingested.index,
    )


def _infer(sample: Any, info: ingest.TableInfo) -> tuple[list[dict], dict]:
    schema = ingest.infer_schema(sample)
    profile = ingest.profile_frame(sample, schema, total_rows=info.row_count)
    return [c.to_dict() for c in schema], profile


def dataset_version_create(
    *,
    dataset: Dataset,
    user: Any,
    chunks: Iterable[bytes],
    original_name: str,
    encoding: str | None = None,
    note: str = "",
    missing_markers: str | Sequence[str] = (),
) -> DatasetVersion:
    """Stream an upload into storage as the dataset's next version.

    ``missing_markers`` (comma-separated text or a list) are cell values that
    mean "missing" in this file, such as ``?``: the schema and profile, and every
    later reader of the file, treat them as missing. The file is stored as uploaded.

    Nothing is stored when the file is refused: the working files are removed
    and no row is written. Earlier versions are never touched.
    """
    markers = missing_markers_clean(missing_markers)
    try:
        original_name = ingest.safe_original_name(original_name)
    except IngestError as exc:
        raise UploadRefused(exc) from None
    work_dir = Path(tempfile.mkdtemp(prefix="ingest-", dir=settings.FILE_UPLOAD_TEMP_DIR))
    created_file = ""
    try:
        ingested = upload_ingest(chunks, work_dir=work_dir, encoding=encoding)
        ingested = dataclasses.replace(
            ingested, info=dataclasses.replace(ingested.info, missing_markers=markers)
        )
        existing = dataset.versions.filter(sha256=ingested.sha256).first()
        if existing is not None:
            raise _duplicate(existing)
        sample = _sample(ingested)
        ingested = dataclasses.replace(ingested, index=None)  # free the index (2 bytes a row)
        schema, profile = _infer(sample, ingested.info)
        del sample
        name, created = _store(ingested)
        created_file = name if created else ""
        version = _version_insert(
            dataset, user, ingested, name, schema, profile, original_name, note
        )
        created_file = ""
        return version
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        if created_file:
            # The row was not written: take the file back out so nothing is half stored.
            with contextlib.suppress(OSError):
                default_storage.delete(created_file)


def missing_markers_clean(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    """The declared missing-value markers, checked (``ingest.parse_missing_markers``);
    ValidationError on ``missing_markers`` when they cannot be used."""
    try:
        return ingest.parse_missing_markers(raw)
    except ingest.MarkerError as exc:
        raise ValidationError({"missing_markers": [str(exc)]}, code="bad_missing_markers") from None


def upload_ingest(
    chunks: Iterable[bytes],
    *,
    work_dir: Path,
    encoding: str | None = None,
    read_whole: bool = False,
) -> ingest.IngestedFile:
    """Stream an upload into ``work_dir`` and validate it within the configured
    limits; UploadRefused with the reason when it is not an acceptable table.

    An audit reads a single Parquet table column by column, so it is held to
    SYNTHGOV_MAX_PARQUET_ROWS; ``read_whole`` (a table of linked tables, which an audit
    reads whole whatever its format) holds Parquet to the CSV limit, SYNTHGOV_MAX_ROWS."""
    try:
        return ingest.ingest_upload(
            chunks,
            work_dir=work_dir,
            max_bytes=settings.SYNTHGOV_MAX_UPLOAD_BYTES,
            max_columns=settings.SYNTHGOV_MAX_COLUMNS,
            max_rows=settings.SYNTHGOV_MAX_ROWS,
            max_parquet_rows=None if read_whole else settings.SYNTHGOV_MAX_PARQUET_ROWS,
            encoding=encoding or None,
        )
    except IngestError as exc:
        raise UploadRefused(exc) from None


def _duplicate(existing: DatasetVersion) -> ValidationError:
    return ValidationError(
        {
            "file": [
                f"This exact file is already version {existing.number} of this dataset "
                f"(uploaded {existing.created:%Y-%m-%d} as '{existing.original_name}'). "
                "Upload a changed file to make a new version."
            ]
        },
        code="duplicate_content",
    )


def _version_insert(
    dataset: Dataset,
    user: Any,
    ingested: ingest.IngestedFile,
    name: str,
    schema: list[dict],
    profile: dict,
    original_name: str,
    note: str,
) -> DatasetVersion:
    info = ingested.info
    try:
        with transaction.atomic():
            # Lock the dataset so two uploads cannot take the same number.
            Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
            last = dataset.versions.order_by("-number").values_list("number", flat=True).first()
            version = DatasetVersion.objects.create(
                dataset=dataset,
                number=(last or 0) + 1,
                file=name,
                sha256=ingested.sha256,
                size_bytes=ingested.size,
                row_count=info.row_count,
                column_count=info.column_count,
                format=str(info.format),
                encoding=info.encoding or "",
                delimiter=info.delimiter or "",
                compressed=info.compression or "",
                original_name=original_name,
                schema=schema,
                profile=profile,
                missing_markers=list(info.missing_markers),
                note=note,
                uploaded_by=user,
            )
            VersionTable.objects.create(
                version=version,
                name=single_table_name(original_name),
                position=0,
                file=name,
                sha256=version.sha256,
                size_bytes=version.size_bytes,
                row_count=version.row_count,
                column_count=version.column_count,
                format=version.format,
                encoding=version.encoding,
                delimiter=version.delimiter,
                compressed=version.compressed,
                original_name=original_name,
                schema=schema,
                profile=profile,
            )
            Generation.objects.create(version=version)
            Datasheet.objects.create(version=version)
            Dataset.objects.filter(pk=dataset.pk).update(latest_version=version)
            dataset.latest_version = version
            trail_record(
                actor=user,
                action="registry.version.uploaded",
                target=version,
                organisation=dataset.organisation,
                payload={
                    "dataset": dataset.pk,
                    "number": version.number,
                    "sha256": version.sha256,
                    "size_bytes": version.size_bytes,
                    "rows": version.row_count,
                    "columns": version.column_count,
                    "format": version.format,
                    "original_name": original_name,
                    "upload_sha256": ingested.upload_sha256,
                    "missing_markers": list(info.missing_markers),
                },
            )
    except IntegrityError:
        existing = dataset.versions.filter(sha256=ingested.sha256).first()
        if existing is not None:
            raise _duplicate(existing) from None
        raise
    return version


def single_table_name(original_name: str) -> str:
    """The name of a single-table version's one table: its file's stem when that
    follows the table-name rule (``registry.relational.names``), else "table"."""
    try:
        return table_name_from_file(original_name)
    except RelationalError:
        return "table"


def refuse_relational(version: DatasetVersion, what: str) -> None:
    """ValidationError when ``version`` holds several tables and ``what`` (e.g.
    "watermarked") works on one table only, for now."""
    if version.is_relational:
        names = ", ".join(version.tables.values_list("name", flat=True))
        raise ValidationError(
            f"{version} holds {version.table_count} linked tables ({names}); it cannot be "
            f"{what} yet: SynthGov does this for single-table versions only for now. "
            "Choose a single-table version.",
            code="relational_version",
        )


def version_schema_update(
    *, version: DatasetVersion, user: Any, columns: Sequence[dict[str, str]]
) -> DatasetVersion:
    """Correct column types and roles. Column names and order cannot change."""
    if version.is_relational:
        raise ValidationError(
            f"{version} holds {version.table_count} tables; their column types and roles are "
            "set per table at upload (or by SDMetrics metadata) and cannot be corrected here yet."
        )
    by_name = {c["name"]: c for c in columns}
    if sorted(by_name) != sorted(c["name"] for c in version.schema):
        raise ValidationError(
            "The columns must be exactly those of the uploaded file; names cannot be changed."
        )
    types, roles = set(ColumnType), set(ColumnRole)
    new_schema, changes = [], []
    for column in version.schema:
        wanted = by_name[column["name"]]
        if wanted["type"] not in types or wanted["role"] not in roles:
            raise ValidationError(
                f"Column '{column['name']}': type must be one of {', '.join(types)} and role "
                f"one of {', '.join(roles)}."
            )
        updated = {**column, "type": wanted["type"], "role": wanted["role"]}
        if updated != column:
            changes.append(
                {
                    "column": column["name"],
                    "from": {"type": column["type"], "role": column["role"]},
                    "to": {"type": updated["type"], "role": updated["role"]},
                }
            )
        new_schema.append(updated)
    if not changes:
        return version
    retyped = any(c["from"]["type"] != c["to"]["type"] for c in changes)
    profile = version_profile(version, new_schema) if retyped else version.profile
    with transaction.atomic():
        version.schema = new_schema
        version.profile = profile
        version.save(update_fields=["schema", "profile"])
        version.tables.update(schema=new_schema, profile=profile)
        trail_record(
            actor=user,
            action="registry.version.schema_corrected",
            target=version,
            organisation=version.dataset.organisation,
            payload={"changes": changes},
        )
    return version


def version_table_info(version: DatasetVersion) -> ingest.TableInfo:
    """How to read the version's stored file: every reader (profiles, audits,
    watermarking) goes through this, so declared missing-value markers read as NaN."""
    return ingest.TableInfo(
        format=ingest.TableFormat(version.format),
        row_count=version.row_count,
        columns=tuple(c["name"] for c in version.schema),
        encoding=version.encoding or None,
        delimiter=version.delimiter or None,
        missing_markers=tuple(version.missing_markers or ()),
    )


@contextlib.contextmanager
def stored_file(version: DatasetVersion) -> Iterator[Path]:
    """A path on this machine to the version's stored file, for the readers that
    need one (``ingest.read_frame``, Arrow): the file itself on local storage, a
    temporary copy streamed from the bucket on S3 (``synthgov.storage.local_copy``).
    FileNotFoundError when the file is gone. A version of several tables has no one
    file: ValueError (callers refuse such versions first, ``refuse_relational``)."""
    if version.is_relational:
        raise ValueError(f"{version} holds several tables; read each table's file instead")
    with local_copy(version.file.name) as path:
        yield path


def stored_sha256(
    version: DatasetVersion, *, hash_file: Callable[[str], str] = stored_hash
) -> str | None:
    """The SHA-256 of the version's stored file as it is now, streamed from
    storage, or None when the file is missing: a file gone from storage is an
    integrity failure, never a transient error worth retrying (other storage
    errors, such as ``StorageUnavailable``, propagate).

    For a version of several tables: the version hash (``relational.version_sha256``)
    over each table's stored file as it is now, None when any of them is missing.
    ``hash_file`` hashes one stored file by name (an audit's hashes keep a copy of the
    bytes for its readers: ``audits.runs.inputs.StoredCopies``)."""
    if version.is_relational:
        found = {}
        for table in version.tables.all():
            try:
                found[table.name] = hash_file(table.file.name)
            except FileNotFoundError:
                return None
        return version_sha256(found)
    try:
        return hash_file(version.file.name)
    except FileNotFoundError:
        return None


def version_profile(version: DatasetVersion, schema: list[dict]) -> dict:
    """Profile the stored file again under ``schema`` (after a type correction)."""
    info = version_table_info(version)
    with stored_file(version) as path:
        sample = ingest.sample_frame(path, info, rows=ingest.DEFAULT_SAMPLE_ROWS, seed=0)
    columns = [ColumnSchema.from_dict(c) for c in schema]
    return ingest.profile_frame(sample, columns, total_rows=info.row_count)


@dataclass(frozen=True)
class ParentLink:
    parent_id: int
    relation: str


def version_lineage_set(
    *,
    version: DatasetVersion,
    user: Any,
    parents: Sequence[ParentLink],
    generation: dict[str, Any],
) -> DatasetVersion:
    """Replace the version's declared parents and generation facts.

    A real dataset's versions have neither: they are the reference data synthetic
    versions are made from, so parents or a generator declared for one are refused.
    """
    if version.dataset.kind == DatasetKind.REAL:
        _refuse_real_lineage(parents, generation)
    errors: dict[str, list[str]] = {}
    visible = DatasetVersion.objects.visible_to(user)
    found = {
        v.pk: v
        for v in visible.filter(pk__in=[p.parent_id for p in parents]).select_related("dataset")
    }
    counts = Counter(link.parent_id for link in parents)
    for parent_id in sorted(pk for pk, count in counts.items() if count > 1):
        errors.setdefault("parents", []).append(
            f"Version #{parent_id} is listed {counts[parent_id]} times as a parent; list each "
            "parent once, with the one relation that describes it best."
        )
    for link in parents:
        if link.parent_id not in found:
            errors.setdefault("parents", []).append(
                f"Parent version #{link.parent_id} does not exist or is not visible to you. "
                "Pick a version from the list."
            )
        if link.relation not in Relation.values:
            errors.setdefault("parents", []).append(f"'{link.relation}' is not a relation.")
    params = generation.get("parameters", {})
    if isinstance(params, str):
        try:
            params = json.loads(params) if params.strip() else {}
        except json.JSONDecodeError as exc:
            errors["parameters"] = [
                f"Generator parameters are not valid JSON ({exc.msg} at line {exc.lineno}, "
                f'column {exc.colno}). Write an object such as {{"epochs": 300}}.'
            ]
        except RecursionError:
            params = None
    if not errors and (params is None or nesting_depth(params) > MAX_PARAMETERS_DEPTH):
        errors["parameters"] = [
            f"Generator parameters are nested more than {MAX_PARAMETERS_DEPTH} levels deep; "
            "flatten them."
        ]
    seed = generation.get("seed")
    if seed is not None and not (isinstance(seed, int) and -(2**63) <= seed < 2**63):
        errors["seed"] = ["The generator seed must be a whole number that fits in 64 bits."]
    if not errors and not isinstance(params, dict):
        errors["parameters"] = ['Generator parameters must be a JSON object, e.g. {"epochs": 300}.']
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        edges = list(
            LineageEdge.objects.exclude(child=version).values_list("parent_id", "child_id")
        )
        added: list[tuple[int, int]] = []
        for link in parents:
            cycle = would_create_cycle(edges + added, link.parent_id, version.pk)
            if cycle is not None:
                names = " → ".join(_version_label(pk) for pk in cycle)
                raise ValidationError(
                    {
                        "parents": [
                            f"Declaring {found[link.parent_id]} as a parent would make the lineage "
                            f"a loop ({names}). A version cannot descend from itself."
                        ]
                    }
                )
            added.append((link.parent_id, version.pk))
        before = _lineage_snapshot(version)
        LineageEdge.objects.filter(child=version).delete()
        LineageEdge.objects.bulk_create(
            [
                LineageEdge(child=version, parent_id=p.parent_id, relation=p.relation)
                for p in parents
            ]
        )
        gen, _ = Generation.objects.get_or_create(version=version)
        for key, value in {**generation, "parameters": params}.items():
            setattr(gen, key, value)
        gen.full_clean(exclude=["version"])
        gen.save()
        version.generation = gen  # keep the caller's instance current
        after = _lineage_snapshot(version)
        if after != before:
            trail_record(
                actor=user,
                action="registry.version.lineage_declared",
                target=version,
                organisation=version.dataset.organisation,
                payload={"from": before, "to": after},
            )
    return version


def _refuse_real_lineage(parents: Sequence[ParentLink], generation: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if parents:
        errors["parents"] = [
            "A real dataset has no parent versions: it is the reference data that synthetic "
            "versions are trained on or derived from. Declare the link on the synthetic "
            "version instead, or change the dataset's kind if this data was generated."
        ]
    declared = sorted(
        key
        for key, value in generation.items()
        if key in GENERATION_FIELDS and value not in (None, "", {}, [])
    )
    for key in declared:
        errors[key] = [
            "A real dataset has no generator, so generation facts do not apply to it. Leave "
            "this empty, or change the dataset's kind if this data was generated."
        ]
    if errors:
        raise ValidationError(errors, code="real_dataset_lineage")


def _version_label(pk: int) -> str:
    version = DatasetVersion.objects.select_related("dataset").filter(pk=pk).first()
    return str(version) if version else f"#{pk}"


def _lineage_snapshot(version: DatasetVersion) -> dict[str, Any]:
    gen = Generation.objects.filter(version=version).first()
    return {
        "parents": sorted(
            [e.parent_id, e.relation] for e in LineageEdge.objects.filter(child=version)
        ),
        "generation": {f: getattr(gen, f) for f in GENERATION_FIELDS} if gen else {},
    }


def version_datasheet_update(
    *, version: DatasetVersion, user: Any, sections: dict[str, str]
) -> Datasheet:
    keys = [key for key, _, _ in DATASHEET_SECTIONS]
    sheet, _ = Datasheet.objects.get_or_create(version=version)
    before = sheet.sections()
    after = {key: (sections.get(key, before[key]) or "").strip() for key in keys}
    changed = sorted(key for key in keys if before[key] != after[key])
    if not changed:
        return sheet
    with transaction.atomic():
        for key in keys:
            setattr(sheet, key, after[key])
        sheet.save()
        trail_record(
            actor=user,
            action="registry.datasheet.updated",
            target=sheet,
            organisation=version.dataset.organisation,
            payload={"sections_changed": changed, "completeness": sheet.completeness},
        )
    return sheet
