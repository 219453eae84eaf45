"""Every existing version becomes a version with one table, named after its file's
stem when that follows the table-name rule, else "table". The table mirrors the
version's file facts, so the version's hash (the file's SHA-256) is unchanged."""

import re

from django.db import migrations

# The table-name rule and file-stem suffixes of registry.relational.names, frozen here.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")


def _name(original_name: str) -> str:
    stem = original_name.replace("\\", "/").rsplit("/", 1)[-1]
    for suffixes in (
        (".gz", ".gzip", ".bz2", ".xz", ".zip"),
        (".csv", ".tsv", ".txt", ".parquet", ".pq"),
    ):
        for suffix in suffixes:
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
                break
    return stem if _NAME.fullmatch(stem) else "table"


def forwards(apps, schema_editor):
    DatasetVersion = apps.get_model("registry", "DatasetVersion")
    VersionTable = apps.get_model("registry", "VersionTable")
    batch = []
    for version in DatasetVersion.objects.filter(tables__isnull=True).iterator():
        batch.append(
            VersionTable(
                version_id=version.pk,
                name=_name(version.original_name),
                position=0,
                file=version.file.name,
                sha256=version.sha256,
                size_bytes=version.size_bytes,
                row_count=version.row_count,
                column_count=version.column_count,
                format=version.format,
                encoding=version.encoding,
                delimiter=version.delimiter,
                compressed=version.compressed,
                original_name=version.original_name,
                schema=version.schema,
                profile=version.profile,
            )
        )
        if len(batch) >= 500:
            VersionTable.objects.bulk_create(batch)
            batch = []
    VersionTable.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("registry", "0007_version_tables")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
