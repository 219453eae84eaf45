"""Versions made of several named tables (relational datasets): registering them,
and declaring or correcting their keys. Every change writes a trail entry in its
transaction; nothing is stored when anything is refused.

Each table goes through the single-table ingest (``services.upload_ingest``: stream,
hash, validate within the limits) and is stored, schema-inferred and profiled the same
way (``services._store``, ``services._infer``). The plain rules (table names, the
version hash, the zip, key inference and checks, the SDMetrics metadata) are in
``registry.relational``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from registry import ingest
from registry.ingest import IngestError
from registry.models import (
    Dataset,
    DatasetVersion,
    Datasheet,
    Generation,
    TableRelationship,
    VersionTable,
)
from registry.relational import (
    ForeignKey,
    KeyCandidates,
    Keys,
    RelationalError,
    check_key_values,
    check_keys,
    check_table_name,
    infer_keys,
    keys_from_metadata,
    metadata_from,
    table_name_from_file,
    version_sha256,
)
from registry.relational.archive import archive_members, budget, member_chunks
from registry.relational.metadata import apply_column_attributes
from registry.relational.names import check_distinct
from registry.services import (
    UploadRefused,
    _duplicate,
    _infer,
    _sample,
    _store,
    missing_markers_clean,
    upload_ingest,
)
from synthgov.storage import local_copy
from synthgov.trail.services import trail_record

ORIGINAL_NAME_LIMIT = 255


@dataclass(frozen=True)
class TableUpload:
    """One table as sent: the name the curator gave it (None: from the file name),
    the file name as sent, and its bytes."""

    name: str | None
    original_name: str
    chunks: Iterable[bytes]


@dataclass
class _Ingested:
    name: str
    original_name: str
    file: ingest.IngestedFile
    schema: list[dict]
    profile: dict
    frame: pd.DataFrame


def _refused(exc: RelationalError) -> ValidationError:
    return ValidationError({exc.field: [exc.message]}, code=exc.code)


def _refused_table(name: str, exc: UploadRefused) -> ValidationError:
    error = exc.error
    return ValidationError(
        {"tables": [f"Table {name!r}: {error.message} {error.hint}"]}, code=error.code
    )


def parse_names(text: str, file_names: Sequence[str]) -> dict[str, str]:
    """The curator's table names, one line per file: ``<file name> = <table name>``
    (blank lines ignored). RelationalError for a line without ``=`` or naming a file
    that was not sent."""
    names: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        file_name, sep, table = line.rpartition("=")
        if not sep or not file_name.strip():
            raise RelationalError(
                f"Line {number} of the table names is not '<file name> = <table name>'.",
                field="names",
            )
        file_name = file_name.strip()
        if file_name not in file_names:
            raise RelationalError(
                f"Line {number} of the table names names a file {file_name[:80]!r} that was "
                f"not uploaded (the files: {', '.join(map(repr, file_names))}).",
                field="names",
            )
        names[file_name] = table.strip()
    return names


def table_uploads(files: Sequence[Any], names_text: str, name_of: Any) -> list[TableUpload]:
    """TableUploads for uploaded files (``name_of(file)``: the name as sent) named by
    ``names_text`` (``parse_names``); ValidationError on ``names``."""
    sent = [name_of(f) for f in files]
    try:
        names = parse_names(names_text, sent)
    except RelationalError as exc:
        raise _refused(exc) from None
    return [TableUpload(names.get(n), n, f.chunks()) for n, f in zip(sent, files, strict=True)]


def max_tables() -> int:
    return settings.SYNTHGOV_MAX_TABLES


def _names(tables: Sequence[TableUpload]) -> list[str]:
    names = []
    for table in tables:
        if table.name is not None and table.name.strip():
            names.append(check_table_name(table.name.strip()))
        else:
            names.append(table_name_from_file(table.original_name))
    check_distinct(names)
    return names


def _archive_tables(
    original_name: str, chunks: Iterable[bytes], work_dir: Path
) -> list[TableUpload]:
    """The tables of an uploaded zip, checked (``relational.archive``)."""
    limit = settings.SYNTHGOV_MAX_UPLOAD_BYTES
    path = work_dir / "archive.zip"
    written = 0
    with path.open("xb") as dest:
        for chunk in chunks:
            written += len(chunk)
            if written > limit:
                raise RelationalError(
                    f"The archive is larger than the limit of {limit:,} bytes.",
                    field="archive",
                    code="too_large",
                )
            dest.write(chunk)
    members = archive_members(path, max_tables=max_tables(), max_bytes=limit)
    shared = budget(limit)
    return [TableUpload(m.name, m.file_name, member_chunks(path, m, shared)) for m in members]


def _keys_from_payload(payload: Any) -> Keys:
    """Keys from the API's/form's own shape: {"primary_keys": {table: column|null},
    "foreign_keys": [{parent_table, parent_key, child_table, child_key}]}."""
    if not isinstance(payload, dict):
        raise RelationalError(
            'Keys must be an object: {"primary_keys": {...}, "foreign_keys": [...]}.',
            field="keys",
        )
    primary = payload.get("primary_keys", {})
    foreign = payload.get("foreign_keys", [])
    if not isinstance(primary, dict) or not all(
        isinstance(v, str) or v is None for v in primary.values()
    ):
        raise RelationalError(
            '"primary_keys" must map each table name to one column name (or null).',
            field="keys",
        )
    fields = ("parent_table", "parent_key", "child_table", "child_key")
    if not isinstance(foreign, list) or not all(
        isinstance(f, dict) and all(isinstance(f.get(k), str) for k in fields) for f in foreign
    ):
        raise RelationalError(
            '"foreign_keys" must be a list of objects with ' + ", ".join(fields) + ".",
            field="keys",
        )
    return Keys(
        primary_keys={str(k): (v or None) for k, v in primary.items()},
        foreign_keys=tuple(ForeignKey(**{k: f[k] for k in fields}) for f in foreign),
    )


def keys_payload(keys: Keys) -> dict[str, Any]:
    return {
        "primary_keys": dict(keys.primary_keys),
        "foreign_keys": [fk.to_dict() for fk in keys.foreign_keys],
    }


def relational_version_create(
    *,
    dataset: Dataset,
    user: Any,
    tables: Sequence[TableUpload] = (),
    archive: tuple[str, Iterable[bytes]] | None = None,
    archive_names: str = "",
    metadata: Any = None,
    keys: Any = None,
    note: str = "",
    missing_markers: str | Sequence[str] = (),
    encoding: str | None = None,
) -> DatasetVersion:
    """Register the dataset's next version as the named ``tables`` (or the tables of
    one zip, ``archive``: its name and chunks, its members named by ``archive_names``
    as ``parse_names`` reads them, else by their file names).

    Keys come from SDMetrics ``metadata``, or ``keys`` ({"primary_keys",
    "foreign_keys"}), or, when neither is given, from inference: then the version is
    stored with ``keys_confirmed`` False for the curator to confirm or correct.
    ValidationError (field ``tables``, ``names``, ``archive``, ``keys`` or
    ``metadata``) saying what to fix; nothing is stored then.
    """
    if bool(tables) == (archive is not None):
        raise ValidationError(
            {"tables": ["Send the tables as files, or one zip of them, not both (nor neither)."]}
        )
    if metadata is not None and keys is not None:
        raise ValidationError(
            {"keys": ["Declare the keys once: SDMetrics metadata or keys, not both."]}
        )
    markers = missing_markers_clean(missing_markers)
    work_dir = Path(tempfile.mkdtemp(prefix="ingest-", dir=settings.FILE_UPLOAD_TEMP_DIR))
    created_files: list[str] = []
    try:
        try:
            if archive is not None:
                archive_name = ingest.safe_original_name(archive[0])
                tables = _archive_tables(archive_name, archive[1], work_dir)
                chosen = parse_names(archive_names, [t.original_name for t in tables])
                tables = [
                    dataclasses.replace(t, name=chosen.get(t.original_name, t.name)) for t in tables
                ]
            if len(tables) > max_tables():
                raise RelationalError(
                    f"{len(tables)} tables were sent; a version may have at most "
                    f"{max_tables()} (setting SYNTHGOV_MAX_TABLES). Split the data into "
                    "several datasets.",
                    code="too_many_tables",
                )
            names = _names(tables)
            ingested = [
                _ingest_table(name, table, work_dir, markers, encoding)
                for name, table in zip(names, tables, strict=True)
            ]
            columns = {t.name: [c["name"] for c in t.schema] for t in ingested}
            frames = {t.name: t.frame for t in ingested}
            candidates = infer_keys(frames)
            confirmed = True
            if metadata is not None:
                declared, attributes = keys_from_metadata(metadata, columns)
                for table in ingested:
                    table.schema = apply_column_attributes(table.schema, attributes[table.name])
            elif keys is not None:
                declared = _keys_from_payload(keys)
            else:
                declared, confirmed = candidates.proposed, False
            check_keys(columns, declared)
            check_key_values(frames, declared)
        except RelationalError as exc:
            raise _refused(exc) from None
        except IngestError as exc:
            raise UploadRefused(exc) from None
        digest = version_sha256({t.name: t.file.sha256 for t in ingested})
        existing = dataset.versions.filter(sha256=digest).first()
        if existing is not None:
            raise _duplicate(existing)
        stored = []
        for table in ingested:
            name, created = _store(table.file)
            if created:
                created_files.append(name)
            stored.append(name)
        version = _insert(
            dataset,
            user,
            ingested,
            stored,
            declared,
            candidates,
            confirmed=confirmed,
            digest=digest,
            markers=markers,
            note=note,
            archive_name=archive[0] if archive is not None else None,
        )
        created_files = []
        return version
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        for name in created_files:
            with contextlib.suppress(OSError):
                default_storage.delete(name)


def _ingest_table(
    name: str,
    table: TableUpload,
    work_dir: Path,
    markers: tuple[str, ...],
    encoding: str | None,
) -> _Ingested:
    try:
        original = ingest.safe_original_name(table.original_name)
    except IngestError as exc:
        raise _refused_table(name, UploadRefused(exc)) from None
    try:
        # An audit of linked tables reads each table whole: Parquet gets the CSV limit.
        file = upload_ingest(table.chunks, work_dir=work_dir, encoding=encoding, read_whole=True)
    except UploadRefused as exc:
        raise _refused_table(name, exc) from None
    file = dataclasses.replace(file, info=dataclasses.replace(file.info, missing_markers=markers))
    schema, profile = _infer(_sample(file), file.info)
    file = dataclasses.replace(file, index=None)  # free the row index (2 bytes a row)
    frame = ingest.read_frame(file.path, file.info)
    return _Ingested(name, original, file, schema, profile, frame)


def _candidates_for(table: str, candidates: KeyCandidates) -> dict[str, Any]:
    return {
        "primary_keys": list(candidates.primary_key_candidates.get(table, ())),
        "foreign_keys": [
            fk.to_dict() for fk in candidates.foreign_key_candidates if fk.child_table == table
        ],
    }


def _insert(
    dataset: Dataset,
    user: Any,
    ingested: list[_Ingested],
    stored: list[str],
    keys: Keys,
    candidates: KeyCandidates,
    *,
    confirmed: bool,
    digest: str,
    markers: tuple[str, ...],
    note: str,
    archive_name: str | None,
) -> DatasetVersion:
    single = len(ingested) == 1
    first = ingested[0]
    original = archive_name or ", ".join(t.original_name for t in ingested)
    if len(original) > ORIGINAL_NAME_LIMIT:
        original = original[: ORIGINAL_NAME_LIMIT - 1] + "…"
    info = first.file.info
    try:
        with transaction.atomic():
            Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
            last = dataset.versions.order_by("-number").values_list("number", flat=True).first()
            version = DatasetVersion.objects.create(
                dataset=dataset,
                number=(last or 0) + 1,
                file=stored[0] if single else "",
                sha256=digest,
                size_bytes=sum(t.file.size for t in ingested),
                row_count=sum(t.file.info.row_count for t in ingested),
                column_count=sum(t.file.info.column_count for t in ingested),
                format=str(info.format) if single else DatasetVersion.Format.TABLES,
                encoding=(info.encoding or "") if single else "",
                delimiter=(info.delimiter or "") if single else "",
                compressed=(info.compression or "") if single else "",
                original_name=original,
                schema=first.schema if single else [],
                profile=first.profile if single else {},
                missing_markers=list(markers),
                note=note,
                table_count=len(ingested),
                keys_confirmed=confirmed,
                uploaded_by=user,
            )
            rows = {}
            for position, (table, name) in enumerate(zip(ingested, stored, strict=True)):
                table_info = table.file.info
                rows[table.name] = VersionTable.objects.create(
                    version=version,
                    name=table.name,
                    position=position,
                    file=name,
                    sha256=table.file.sha256,
                    size_bytes=table.file.size,
                    row_count=table_info.row_count,
                    column_count=table_info.column_count,
                    format=str(table_info.format),
                    encoding=table_info.encoding or "",
                    delimiter=table_info.delimiter or "",
                    compressed=table_info.compression or "",
                    original_name=table.original_name,
                    schema=table.schema,
                    profile=table.profile,
                    primary_key=keys.primary_keys.get(table.name) or "",
                    key_candidates=_candidates_for(table.name, candidates),
                )
            _relationships_create(version, rows, keys)
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
                    "original_name": original,
                    "missing_markers": list(markers),
                    "tables": [
                        {
                            "name": t.name,
                            "sha256": t.file.sha256,
                            "upload_sha256": t.file.upload_sha256,
                            "rows": t.file.info.row_count,
                            "original_name": t.original_name,
                        }
                        for t in ingested
                    ],
                    "keys": keys_payload(keys),
                    "keys_confirmed": confirmed,
                },
            )
    except IntegrityError:
        existing = dataset.versions.filter(sha256=digest).first()
        if existing is not None:
            raise _duplicate(existing) from None
        raise
    return version


def _relationships_create(
    version: DatasetVersion, rows: Mapping[str, VersionTable], keys: Keys
) -> None:
    TableRelationship.objects.bulk_create(
        [
            TableRelationship(
                version=version,
                parent_table=rows[fk.parent_table],
                parent_key=fk.parent_key,
                child_table=rows[fk.child_table],
                child_key=fk.child_key,
            )
            for fk in keys.foreign_keys
        ]
    )


# --- Reading a version's tables and keys ---------------------------------


def version_keys(version: DatasetVersion) -> Keys:
    """The version's declared (or proposed) keys."""
    tables = list(version.tables.all())
    return Keys(
        primary_keys={t.name: (t.primary_key or None) for t in tables},
        foreign_keys=tuple(
            ForeignKey(r.child_table.name, r.child_key, r.parent_table.name, r.parent_key)
            for r in version.relationships.select_related("parent_table", "child_table")
        ),
    )


def version_metadata(version: DatasetVersion) -> dict[str, Any]:
    """The version's tables and keys as SDMetrics multi-table metadata."""
    tables = list(version.tables.all())
    return metadata_from([(t.name, t.schema) for t in tables], version_keys(version))


def table_info(table: VersionTable, version: DatasetVersion) -> ingest.TableInfo:
    return ingest.TableInfo(
        format=ingest.TableFormat(table.format),
        row_count=table.row_count,
        columns=tuple(c["name"] for c in table.schema),
        encoding=table.encoding or None,
        delimiter=table.delimiter or None,
        missing_markers=tuple(version.missing_markers or ()),
    )


def _key_frames(version: DatasetVersion, keys: Keys) -> dict[str, pd.DataFrame]:
    """Each table's primary key column, read from storage."""
    frames = {}
    for table in version.tables.all():
        key = keys.primary_keys.get(table.name)
        if not key:
            continue
        with local_copy(table.file.name) as path:
            frames[table.name] = ingest.read_frame(path, table_info(table, version), columns=[key])
    return frames


def version_keys_set(
    *, version: DatasetVersion, user: Any, keys: Any = None, metadata: Any = None
) -> DatasetVersion:
    """Confirm or correct the version's keys (``keys`` in the API's shape, or SDMetrics
    ``metadata``, whose column attributes are kept too). ValidationError saying what to
    fix; nothing changes then."""
    tables = {t.name: t for t in version.tables.all()}
    columns = {name: [c["name"] for c in t.schema] for name, t in tables.items()}
    attributes: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        if metadata is not None:
            declared, attributes = keys_from_metadata(metadata, columns)
        else:
            declared = _keys_from_payload(keys)
        check_keys(columns, declared)
        declared = Keys(
            primary_keys={name: declared.primary_keys.get(name) for name in tables},
            foreign_keys=declared.foreign_keys,
        )
        try:
            frames = _key_frames(version, declared)
        except FileNotFoundError:
            raise RelationalError(
                "A table's stored file is missing, so its keys cannot be checked.",
                field="keys",
                code="missing_file",
            ) from None
        check_key_values(frames, declared)
    except RelationalError as exc:
        raise _refused(exc) from None
    before = keys_payload(version_keys(version))
    with transaction.atomic():
        for name, table in tables.items():
            table.primary_key = declared.primary_keys.get(name) or ""
            fields = ["primary_key"]
            if name in attributes:
                table.schema = apply_column_attributes(table.schema, attributes[name])
                fields.append("schema")
            table.save(update_fields=fields)
        version.relationships.all().delete()
        _relationships_create(version, tables, declared)
        was_confirmed = version.keys_confirmed
        version.keys_confirmed = True
        version.save(update_fields=["keys_confirmed"])
        after = keys_payload(declared)
        if after != before or not was_confirmed:
            trail_record(
                actor=user,
                action="registry.version.keys_declared",
                target=version,
                organisation=version.dataset.organisation,
                payload={"from": before, "to": after},
            )
    return version
