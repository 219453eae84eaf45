"""Watermarking versions, signed provenance manifests and checking a file's origin.

The numbers live in the plain layer (``audits.checks.watermark``,
``synthgov.signing.manifests``); this module reads stored files, keeps the registry's
records and trail, and decides who may learn what.

Who may learn whether a file carries an organisation's watermark (``check_origin``):
a user is told about an organisation's mark only when they can see at least one
version that organisation watermarked (``DatasetVersion.objects.visible_to``). Their
own organisation's watermarked versions are always visible to its members; other
organisations' only through open datasets or, for a regulator, restricted datasets
in their jurisdiction. Marks of organisations the user cannot see are never tested,
so the answer reveals nothing about them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from audits.checks import watermark
from audits.checks.shapes import ks_complement
from audits.models import AuditRun, AuditStatus
from audits.provenance.dispatch import watermark_run_dispatch
from registry import ingest
from registry.ingest import IngestError
from registry.lineage.graph import RESTRICTED_LABEL
from registry.models import (
    DATASHEET_SECTIONS,
    DatasetKind,
    DatasetVersion,
    Datasheet,
    Generation,
    LineageEdge,
    Relation,
    WatermarkRun,
)
from registry.services import (
    UploadRefused,
    dataset_version_create,
    refuse_relational,
    stored_file,
    stored_sha256,
    upload_ingest,
    version_schema_update,
    version_table_info,
)
from synthgov.accounts.models import Organisation
from synthgov.accounts.permissions import DATASET_VIEW, member_organisations
from synthgov.signing.manifests import (
    MANIFEST_FORMAT,
    MANIFEST_TYPE,
    ManifestError,
    OrganisationKeys,
    manifest_sign,
    manifest_verify,
    organisation_keys_load,
    parquet_embed,
)
from synthgov.trail.services import trail_record

# Every mark is tested at this family-wise level: across the versions tested for one
# check-origin request the p-values are Bonferroni-corrected, so the chance of naming
# any organisation for an unmarked file is at most this.
ORIGIN_ALPHA = watermark.DEFAULT_ALPHA
DEFAULT_CATEGORY_RATE = watermark.DEFAULT_CATEGORY_RATE
_CHUNK = 1 << 20
# Rows read to tell whether a numeric column holds whole numbers, for the suggestions.
_DEFAULTS_ROWS = 10_000


# --- keys ---------------------------------------------------------------------


def organisation_keys(organisation: Organisation) -> OrganisationKeys:
    """The organisation's key file under ``SYNTHGOV_ORG_KEYS_DIR`` (made on first use)."""
    try:
        return organisation_keys_load(
            Path(settings.SYNTHGOV_ORG_KEYS_DIR), organisation.slug, create=True
        )
    except (ManifestError, OSError) as exc:
        raise ValidationError(
            f"The keys of {organisation.name} cannot be read ({exc}). Ask an administrator "
            "to check SYNTHGOV_ORG_KEYS_DIR."
        ) from None


# --- reading and writing tables --------------------------------------------------


def _read(version: DatasetVersion) -> pd.DataFrame:
    try:
        with stored_file(version) as path:
            return ingest.read_frame(path, version_table_info(version))
    except FileNotFoundError:
        raise ValidationError(
            f"The stored file of {version} is missing; ask an administrator to restore it."
        ) from None


def _write(frame: pd.DataFrame, path: Path, fmt: str, whole: Iterable[str] = ()) -> None:
    """Write ``frame``; the ``whole`` columns (whole numbers, perhaps float with NaN)
    are written as integers: ``52000`` and an empty cell in CSV, int64 with nulls in
    Parquet, as an integer column with missing values was uploaded."""
    floats = [c for c in whole if pd.api.types.is_float_dtype(frame[c].dtype)]
    if floats:
        frame = frame.astype(dict.fromkeys(floats, "Int64"))
    if fmt == DatasetVersion.Format.PARQUET:
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def _unmarked_whole_columns(
    version: DatasetVersion, frame: pd.DataFrame, marked: Mapping[str, float]
) -> list[str]:
    """Columns the mark left alone that were uploaded as integers but read back as
    floats because of missing values: written as integers again, so the marked
    copy differs from its source only where the mark is. For Parquet the stored
    schema says which; for CSV, a float column with blanks whose every value is whole."""
    candidates = [
        c
        for c in frame.columns
        if c not in marked and pd.api.types.is_float_dtype(frame[c].dtype) and frame[c].isna().any()
    ]
    if not candidates:
        return []
    if version.format == DatasetVersion.Format.PARQUET:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with stored_file(version) as path:
            schema = pq.read_schema(path)
        return [
            c for c in candidates if c in schema.names and pa.types.is_integer(schema.field(c).type)
        ]
    whole = []
    for c in candidates:
        values = frame[c].to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if finite.size and np.all(finite == np.round(finite)):
            whole.append(c)
    return whole


def _read_written(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Read a file ``_write`` made the way the registry reads stored versions."""
    info = ingest.TableInfo(
        format=ingest.TableFormat.PARQUET if path.suffix == ".parquet" else ingest.TableFormat.CSV,
        row_count=len(frame),
        columns=tuple(str(c) for c in frame.columns),
        encoding=None if path.suffix == ".parquet" else "utf-8",
        delimiter=None if path.suffix == ".parquet" else ",",
    )
    return ingest.read_frame(path, info)


def _chunks(path: Path) -> Iterable[bytes]:
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(_CHUNK), b"")


# --- watermarking ---------------------------------------------------------------


def watermark_defaults(version: DatasetVersion) -> dict[str, Any]:
    """Suggested settings from the profile: a numeric tolerance of 1% of each column's
    standard deviation, and the categorical columns with 2 to 50 categories offered at
    a 10% rate (unticked by default). A column of whole numbers (judged on its first
    rows) stays whole only with a tolerance of at least
    ``watermark.MIN_INTEGRAL_TOLERANCE``: it is suggested at least that when that is
    at most 10% of its standard deviation, and left unsuggested otherwise (so coarse a
    change is for the curator to choose)."""
    spread: dict[str, float] = {}
    categorical: list[str] = []
    listed = version.profile.get("columns", []) if isinstance(version.profile, dict) else []
    profile = {c.get("name"): c for c in listed if isinstance(c, dict)}
    for column in version.schema:
        stats = profile.get(column["name"], {})
        if column["type"] == "numerical" and column["role"] != "identifier":
            std = stats.get("std")
            if isinstance(std, int | float) and std > 0:
                spread[column["name"]] = float(std)
        elif column["type"] == "categorical" and 2 <= (stats.get("distinct") or 0) <= 50:
            categorical.append(column["name"])
    whole = _whole_number_columns(version, list(spread))
    smallest = float(watermark.MIN_INTEGRAL_TOLERANCE)
    numeric: dict[str, float] = {}
    for name, std in spread.items():
        tolerance = float(f"{0.01 * std:.3g}")
        if name in whole:
            if smallest > 0.1 * std:
                continue
            tolerance = max(tolerance, smallest)
        numeric[name] = tolerance
    return {"tolerances": numeric, "categorical": categorical}


def _whole_number_columns(version: DatasetVersion, names: list[str]) -> set[str]:
    """The ``names`` whose values in the first ``_DEFAULTS_ROWS`` rows are whole numbers
    (none when the file cannot be read: the suggestion is only a suggestion)."""
    if not names:
        return set()
    try:
        with stored_file(version) as path:
            sample = ingest.read_frame(
                path, version_table_info(version), nrows=_DEFAULTS_ROWS, columns=names
            )
    except (OSError, ValueError, IngestError):
        return set()
    return {name for name in names if watermark.is_integral(sample[name])}


def _validate_request(
    version: DatasetVersion, tolerances: Mapping[str, float], categorical: Mapping[str, float]
) -> None:
    if version.dataset.kind == DatasetKind.REAL:
        raise ValidationError(
            "Only synthetic versions are watermarked: a watermark says “made by a "
            "generator”, which would be false on real data."
        )
    refuse_relational(version, "watermarked")
    if version.watermark_key_id:
        raise ValidationError(
            f"{version} is already watermarked (key {version.watermark_key_id}); "
            "watermark its source version instead."
        )
    types = {c["name"]: c["type"] for c in version.schema}
    errors: list[str] = []
    if not tolerances:
        errors.append("Give a tolerance for at least one numerical column.")
    for name, tolerance in tolerances.items():
        if types.get(name) != "numerical":
            errors.append(f"Column '{name}' is not a numerical column of {version}.")
        elif not isinstance(tolerance, int | float) or not np.isfinite(tolerance):
            errors.append(f"The tolerance for '{name}' must be a number.")
        elif tolerance <= 0:
            errors.append(f"The tolerance for '{name}' must be greater than 0.")
    for name, rate in categorical.items():
        if types.get(name) != "categorical":
            errors.append(f"Column '{name}' is not a categorical column of {version}.")
        elif not isinstance(rate, int | float) or not 0 < rate <= 0.5:
            errors.append(f"The share of '{name}' cells that may change must be in (0, 0.5].")
    if not errors:
        errors.extend(_too_coarse(version, tolerances))
    if errors:
        raise ValidationError({"tolerances": errors})


def _too_coarse(version: DatasetVersion, tolerances: Mapping[str, float]) -> list[str]:
    """A refusal when the tolerances are so large that the columns' values (their range
    in the profile) fall into fewer than ``watermark.MIN_MARK_UNITS`` keyed units: few or
    no cells would be marked. Empty when the profile does not give every range."""
    listed = version.profile.get("columns", []) if isinstance(version.profile, dict) else []
    profile = {c.get("name"): c for c in listed if isinstance(c, dict)}
    spans: dict[str, tuple[float, float]] = {}
    for name in tolerances:
        low, high = profile.get(name, {}).get("min"), profile.get(name, {}).get("max")
        if not all(isinstance(v, int | float) and np.isfinite(v) for v in (low, high)):
            return []
        spans[name] = (float(low), float(high))
    units = {
        name: watermark.units_spanned(low, high, tolerances[name])
        for name, (low, high) in spans.items()
    }
    if sum(units.values()) >= watermark.MIN_MARK_UNITS:
        return []
    share = watermark.MIN_MARK_UNITS
    advice = "; ".join(
        f"'{name}' (values {low:g} to {high:g}) at most {max((high - low) * 0.75 / share, 0.0):.3g}"
        for name, (low, high) in spans.items()
    )
    return [
        f"These tolerances are too large for the values: they fall into {sum(units.values())} "
        f"keyed unit(s), and the mark needs at least {watermark.MIN_MARK_UNITS}, so few or no "
        f"cells would be marked. Use smaller tolerances: {advice}."
    ]


def watermark_run_request(
    *,
    version: DatasetVersion,
    user: Any,
    tolerances: Mapping[str, float],
    categorical: Mapping[str, float],
) -> WatermarkRun:
    """Check the request now (so the curator sees mistakes at once) and queue it.
    With the broker down the run is kept, queued, for the sweeper to send."""
    tolerances, categorical = dict(tolerances), dict(categorical)
    _validate_request(version, tolerances, categorical)
    with transaction.atomic():
        run = WatermarkRun.objects.create(
            source=version, requested_by=user, tolerances=tolerances, categorical=categorical
        )
        trail_record(
            actor=user,
            action="registry.watermark.requested",
            target=version,
            organisation=version.dataset.organisation,
            payload={"run": run.pk, "tolerances": tolerances, "categorical": categorical},
        )
        transaction.on_commit(lambda: watermark_run_dispatch(run_id=run.pk))
    return run


def watermark_run_execute(*, run_id: int) -> WatermarkRun | None:
    """Claim a queued run and make the watermarked version. None when another worker
    claimed it. A request SynthGov cannot carry out ends the run as failed with the
    reason; other errors propagate (the run is put back in the queue for a retry)."""
    claimed = WatermarkRun.objects.filter(pk=run_id, status=WatermarkRun.Status.QUEUED).update(
        status=WatermarkRun.Status.RUNNING,
        step="Reading and marking the data",
        started=timezone.now(),
    )
    if not claimed:
        return None
    run = WatermarkRun.objects.select_related("source__dataset__organisation", "requested_by").get(
        pk=run_id
    )
    try:
        version = version_watermark(
            version=run.source,
            user=run.requested_by,
            tolerances=run.tolerances,
            categorical=run.categorical,
        )
    except ValidationError as exc:
        run.status, run.error = WatermarkRun.Status.FAILED, " ".join(exc.messages)
    except (OperationalError, InterfaceError, OSError):
        WatermarkRun.objects.filter(pk=run_id).update(status=WatermarkRun.Status.QUEUED, step="")
        raise
    except Exception:
        watermark_run_fail(
            run_id=run_id,
            message="An internal error stopped the watermarking; it has been logged for the "
            "SynthGov administrators. No version was made.",
        )
        raise
    else:
        run.status, run.result = WatermarkRun.Status.SUCCEEDED, version
    run.step, run.finished = "", timezone.now()
    run.save(update_fields=["status", "result", "error", "step", "finished"])
    return run


def watermark_run_fail(*, run_id: int, message: str) -> None:
    WatermarkRun.objects.filter(pk=run_id).exclude(status=WatermarkRun.Status.SUCCEEDED).update(
        status=WatermarkRun.Status.FAILED, step="", error=message, finished=timezone.now()
    )


def version_watermark(
    *,
    version: DatasetVersion,
    user: Any,
    tolerances: Mapping[str, float],
    categorical: Mapping[str, float] | None = None,
) -> DatasetVersion:
    """Make a new version of ``version``'s dataset whose values carry the organisation's
    watermark, through the normal upload path (hash, schema, profile), linked
    "watermarked from" its source, with the key id, parameters, the mark's strength on
    the new file and how much the data moved recorded on it."""
    tolerances, categorical = dict(tolerances), dict(categorical or {})
    _validate_request(version, tolerances, categorical)
    keys = organisation_keys(version.dataset.organisation)
    source = _read(version)
    try:
        marked, report = watermark.embed(
            source, keys.watermark_secret, tolerances, categorical=categorical
        )
    except ValueError as exc:
        raise ValidationError(f"{version} cannot be watermarked: {exc}.") from None
    if report.cells_marked == 0:
        # The keyed selection picked no unit of these values: a version labelled
        # watermarked would carry no mark.
        raise ValidationError(
            f"No cell of {version} would carry the mark at these tolerances (too few keyed "
            "units were selected). Use smaller tolerances or mark more columns."
        )
    parameters = {
        "tolerances": tolerances,
        "categorical": categorical,
        "anchor": report.anchor,
        "gamma": watermark.DEFAULT_GAMMA,
        "alpha": watermark.DEFAULT_ALPHA,
        # Detection cuts these columns' buckets as embedding did (kept whole).
        "integral_columns": report.integral_columns,
    }
    work_dir = Path(tempfile.mkdtemp(prefix="watermark-", dir=settings.FILE_UPLOAD_TEMP_DIR))
    try:
        suffix = "parquet" if version.format == DatasetVersion.Format.PARQUET else "csv"
        path = work_dir / f"watermarked.{suffix}"
        whole = [*report.integral_columns, *_unmarked_whole_columns(version, marked, tolerances)]
        _write(marked, path, version.format, whole=whole)
        # The mark and the change are measured on the file as any later reader sees it.
        written = _read_written(path, marked)
        found = _detect(written, keys.watermark_secret, parameters)
        record = {
            "key_id": keys.watermark_key_id,
            "source": version.pk,
            "parameters": parameters,
            "embedding": report.to_json(),
            "detection": found.to_json(),
            "quality_change": quality_change(source, written, tolerances, categorical),
            "quality_against_reference": quality_against_reference(
                version, source, written, tolerances, categorical
            ),
            "watermarked": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        stem = Path(version.original_name).name.split(".")[0] or "data"
        # One transaction: the new version never exists without its watermark record,
        # lineage edge and documentation.
        with transaction.atomic():
            try:
                new = dataset_version_create(
                    dataset=version.dataset,
                    user=user,
                    chunks=_chunks(path),
                    original_name=f"{stem}-watermarked.{suffix}",
                    note=f"Watermarked from v{version.number} with key {keys.watermark_key_id}.",
                )
            except UploadRefused as exc:
                raise ValidationError(" ".join(exc.messages)) from None
            new.watermark_key_id = keys.watermark_key_id
            new.watermark = record
            new.save(update_fields=["watermark_key_id", "watermark"])
            LineageEdge.objects.create(
                child=new, parent=version, relation=Relation.WATERMARKED_FROM
            )
            _copy_documentation(version, new, keys.watermark_key_id, parameters)
            trail_record(
                actor=user,
                action="registry.version.watermarked",
                target=new,
                organisation=version.dataset.organisation,
                payload={
                    "source": version.pk,
                    "key_id": keys.watermark_key_id,
                    "parameters": parameters,
                    "cells_marked": report.cells_marked,
                    "strength": round(found.strength, 2),
                },
            )
            _keep_curated_schema(version, new, user)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    new.refresh_from_db()  # the generation and datasheet were updated in the database
    return new


def _keep_curated_schema(source: DatasetVersion, new: DatasetVersion, user: Any) -> None:
    """The curator's types and roles (protected, quasi-identifier...) carry over."""
    if [c["name"] for c in source.schema] == [c["name"] for c in new.schema]:
        version_schema_update(version=new, user=user, columns=source.schema)


def _copy_documentation(
    source: DatasetVersion, new: DatasetVersion, key_id: str, parameters: dict[str, Any]
) -> None:
    """The watermarked data comes from the same generator: its generation facts and
    datasheet are the source's, plus what the watermark did."""
    gen = Generation.objects.filter(version=source).first()
    if gen is not None:
        fields = {f.name: getattr(gen, f.name) for f in Generation._meta.concrete_fields}
        for name in ("id", "version", "updated"):
            fields.pop(name, None)
        Generation.objects.filter(version=new).update(**fields)
    sheet = Datasheet.objects.filter(version=source).first()
    sections = {key: getattr(sheet, key) for key, _, _ in DATASHEET_SECTIONS} if sheet else {}
    numeric = ", ".join(f"{c} (±{t:g})" for c, t in parameters["tolerances"].items())
    text = (
        f"Watermarked by SynthGov with organisation key {key_id}: keyed cells of {numeric} "
        "were moved within those tolerances"
    )
    if parameters.get("integral_columns"):
        text += f" ({', '.join(parameters['integral_columns'])} kept to whole numbers)"
    if parameters["categorical"]:
        text += f", and categories of {', '.join(parameters['categorical'])} were redrawn"
    sections["watermarking"] = (
        text + ". Anyone may check a file's origin with SynthGov; detection needs the key."
    )
    Datasheet.objects.filter(version=new).update(**sections)


def _detect(frame: pd.DataFrame, secret: bytes, parameters: Mapping[str, Any]):
    return watermark.detect(
        frame,
        secret,
        parameters["tolerances"],
        gamma=int(parameters.get("gamma", watermark.DEFAULT_GAMMA)),
        alpha=float(parameters.get("alpha", watermark.DEFAULT_ALPHA)),
        categorical=parameters.get("categorical") or {},
        anchor=parameters.get("anchor"),
        integral=parameters.get("integral_columns") or (),
    )


def quality_change(
    before: pd.DataFrame,
    after: pd.DataFrame,
    tolerances: Mapping[str, float],
    categorical: Mapping[str, float],
) -> dict[str, Any]:
    """How far the marked columns moved. Per numeric column: mean and standard
    deviation before and after, and the column-shape score (1 - Kolmogorov-Smirnov
    statistic, as in SDMetrics' Column Shapes) of the marked column against the source;
    per categorical column the share of cells changed and 1 - total variation distance.
    ``column_shapes`` is the SDMetrics Column Shapes score of the watermarked table
    against its source over all columns (untouched columns score 1)."""
    columns: dict[str, dict[str, float]] = {}
    for name in tolerances:
        old, new = _numbers(before[name]), _numbers(after[name])
        columns[name] = {
            "mean_before": float(np.nanmean(old)),
            "mean_after": float(np.nanmean(new)),
            "std_before": float(np.nanstd(old)),
            "std_after": float(np.nanstd(new)),
            "shape_score": round(_shape(before[name], after[name], numeric=True), 6),
        }
    for name in categorical:
        old, new = before[name].astype("string"), after[name].astype("string")
        columns[name] = {
            "changed_share": round(float((old != new).fillna(False).mean()), 6),
            "shape_score": round(_shape(before[name], after[name], numeric=False), 6),
        }
    untouched = len(before.columns) - len(columns)
    overall = (sum(c["shape_score"] for c in columns.values()) + untouched) / len(before.columns)
    return {"columns": columns, "column_shapes": round(overall, 6)}


def _numbers(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _shape(a: pd.Series, b: pd.Series, *, numeric: bool) -> float:
    """SDMetrics' column-shape statistic between two columns: 1 - KS statistic for
    numbers, 1 - total variation distance for categories."""
    if numeric:
        return ks_complement(_numbers(a), _numbers(b)) or 0.0
    shares_a = a.astype("string").value_counts(normalize=True)
    shares_b = b.astype("string").value_counts(normalize=True)
    return 1.0 - 0.5 * float(shares_a.sub(shares_b, fill_value=0).abs().sum())


def quality_against_reference(
    version: DatasetVersion,
    before: pd.DataFrame,
    after: pd.DataFrame,
    tolerances: Mapping[str, float],
    categorical: Mapping[str, float],
) -> dict[str, Any] | None:
    """When the source has a finished audit, how the marked columns' fidelity to that
    audit's real reference moved: the column-shape score (as in the audit's
    ``quality.column_shapes``) of each marked column against the reference, before and
    after watermarking, and the resulting change of the Column Shapes average over all
    columns (unmarked columns do not change). None without such an audit."""
    run = (
        AuditRun.objects.filter(version=version, status=AuditStatus.SUCCEEDED)
        .select_related("reference")
        .order_by("-finished")
        .first()
    )
    if run is None:
        return None
    try:
        reference = _read(run.reference)
    except ValidationError:
        return None
    columns = {}
    for name in [*tolerances, *categorical]:
        if name not in reference.columns:
            continue
        numeric = name in tolerances
        columns[name] = {
            "before": round(_shape(reference[name], before[name], numeric=numeric), 6),
            "after": round(_shape(reference[name], after[name], numeric=numeric), 6),
        }
    moved = sum(c["after"] - c["before"] for c in columns.values())
    return {
        "audit": run.pk,
        "reference": run.reference_id,
        "columns": columns,
        "column_shapes_change": round(moved / max(1, len(before.columns)), 6),
    }


# --- manifests ------------------------------------------------------------------


def version_manifest(*, version: DatasetVersion) -> dict[str, Any]:
    """The version's provenance manifest, signed with its organisation's key."""
    keys = organisation_keys(version.dataset.organisation)
    return manifest_sign(manifest_payload(version), keys)


def manifest_payload(version: DatasetVersion) -> dict[str, Any]:
    dataset, org = version.dataset, version.dataset.organisation
    gen = Generation.objects.filter(version=version).first()
    parents = LineageEdge.objects.filter(child=version).select_related("parent")
    return {
        "type": MANIFEST_TYPE,
        "format": MANIFEST_FORMAT,
        "organisation": {"slug": org.slug, "name": org.name},
        "dataset": {
            "id": dataset.pk,
            "name": dataset.name,
            "kind": dataset.kind,
            "synthetic": dataset.is_synthetic,
            "licence": dataset.licence,
        },
        "version": {
            "id": version.pk,
            "number": version.number,
            "sha256": version.sha256,
            "size_bytes": version.size_bytes,
            "rows": version.row_count,
            "column_names": [c["name"] for c in version.schema],
            "format": version.format,
            "created": version.created.astimezone(UTC).isoformat(timespec="seconds"),
        },
        "generator": {
            "type": gen.generator_type if gen else "",
            "library": gen.generator_library if gen else "",
            "version": gen.generator_version if gen else "",
            "privacy_mechanism": gen.privacy_mechanism if gen else "",
            "epsilon": gen.epsilon if gen else None,
        },
        "parents": _manifest_parents(version, parents.order_by("parent_id")),
        "watermark": (
            {
                "key_id": version.watermark_key_id,
                "parameters": version.watermark.get("parameters", {}),
            }
            if version.watermark_key_id
            else None
        ),
        "issued": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _manifest_parents(version: DatasetVersion, edges: Iterable[LineageEdge]) -> list[dict]:
    """Each parent by id and hash when everyone who may see ``version`` may see it too;
    otherwise only its relation, as "restricted source" (as the lineage graph shows
    it). The manifest travels with the file, so it names nothing its readers may not
    see, whoever downloads it."""
    edges = list(edges)
    named = set(
        DatasetVersion.objects.shown_with(version)
        .filter(pk__in=[e.parent_id for e in edges])
        .values_list("pk", flat=True)
    )
    return [
        {"version": e.parent_id, "sha256": e.parent.sha256, "relation": e.relation}
        if e.parent_id in named
        else {"version": None, "sha256": None, "relation": e.relation, "label": RESTRICTED_LABEL}
        for e in edges
    ]


def manifest_parquet_file(*, version: DatasetVersion, target: Path) -> None:
    """Write the version's Parquet file to ``target`` with its manifest embedded."""
    if version.format != DatasetVersion.Format.PARQUET:
        raise ValidationError("Only Parquet versions embed the manifest; CSV gets a sidecar.")
    with stored_file(version) as path:
        parquet_embed(path, target, version_manifest(version=version))


def version_manifest_valid(version: DatasetVersion, *, hash_verified: bool | None = None) -> bool:
    """Whether a manifest SynthGov signs now for the version verifies with the
    organisation's published key and names the bytes actually stored (hashed here
    unless the caller already compared them: ``hash_verified``)."""
    try:
        keys = organisation_keys(version.dataset.organisation)
        document = version_manifest(version=version)
        if hash_verified is None:
            hash_verified = stored_sha256(version) == version.sha256
    except (ValidationError, OSError):
        return False
    check = manifest_verify(document, {keys.signing_kid: keys.public_key})
    return (
        check.valid
        and hash_verified
        and document["manifest"]["version"]["sha256"] == version.sha256
    )


def version_watermark_facts(
    version: DatasetVersion, *, hash_verified: bool | None = None
) -> dict[str, Any]:
    """Facts for the audit's provenance step: the key material and parameters to look
    for the version's mark (never stored with the audit), and the manifest's validity."""
    facts: dict[str, Any] = {
        "synthetic": version.dataset.is_synthetic,
        "manifest_valid": version_manifest_valid(version, hash_verified=hash_verified),
        "watermark": None,
    }
    if version.watermark_key_id:
        try:
            keys = organisation_keys(version.dataset.organisation)
        except ValidationError:
            keys = None
        if keys is not None and keys.watermark_key_id == version.watermark_key_id:
            facts["watermark"] = {
                "key": keys.watermark_secret,
                "key_id": keys.watermark_key_id,
                **version.watermark.get("parameters", {}),
            }
        else:
            facts["watermark"] = {"key": None, "key_id": version.watermark_key_id}
    return facts


# --- checking a file's origin -----------------------------------------------------


@dataclass(frozen=True)
class OriginResult:
    """Whether the uploaded file carries ``organisation``'s watermark. ``p_value`` is
    Bonferroni-corrected over the ``tested`` versions of all organisations in the
    request; ``version`` is the best-matching watermarked version (None when none was
    tested)."""

    organisation: Organisation
    present: bool
    p_value: float
    strength: float
    tested: int
    version: DatasetVersion | None

    @property
    def wording(self) -> str:
        if self.version is None:
            return (
                f"{self.organisation.name} has no watermarked version you can see to compare with."
            )
        if self.present:
            return (
                f"Carries {self.organisation.name}'s watermark (p = {self.p_value:.2g}); "
                f"it matches {self.version}."
            )
        return (
            f"No sign of {self.organisation.name}'s watermark (p = {self.p_value:.2g}); "
            "absence can also mean the file was changed too much for the mark to survive."
        )


def check_origin(*, user: Any, chunks: Iterable[bytes], original_name: str) -> list[OriginResult]:
    """Look for the watermarks the user may know about (module docstring) in an
    uploaded table. The file is read in a temporary folder and deleted; nothing is
    stored and no trail entry is written."""
    work_dir = Path(tempfile.mkdtemp(prefix="origin-", dir=settings.FILE_UPLOAD_TEMP_DIR))
    try:
        ingested = upload_ingest(chunks, work_dir=work_dir)
        try:
            frame = ingest.read_frame(ingested.path, ingested.info)
        except IngestError as exc:
            raise UploadRefused(exc) from None
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    candidates = list(
        DatasetVersion.objects.visible_to(user)
        .exclude(watermark_key_id="")
        .select_related("dataset__organisation")
        .order_by("pk")
    )
    own = member_organisations(user, DATASET_VIEW).exclude(kind=Organisation.Kind.REGULATOR)
    organisations = {o.pk: o for o in own}
    organisations.update({v.dataset.organisation_id: v.dataset.organisation for v in candidates})
    tested = max(1, len(candidates))
    best: dict[int, tuple[float, float, DatasetVersion]] = {}
    keys_of: dict[int, OrganisationKeys] = {}  # each key file read once, not per version
    for version in candidates:
        org_id = version.dataset.organisation_id
        if org_id not in keys_of:
            keys_of[org_id] = organisation_keys(version.dataset.organisation)
        keys = keys_of[org_id]
        if keys.watermark_key_id != version.watermark_key_id:
            continue  # marked with a key the organisation no longer holds
        found = _detect(frame, keys.watermark_secret, version.watermark.get("parameters", {}))
        adjusted = min(1.0, found.p_value * tested)
        strength = max(0.0, found.strength - float(np.log10(tested)))
        if org_id not in best or adjusted < best[org_id][0]:
            best[org_id] = (adjusted, strength, version)
    results = []
    for org_id, organisation in sorted(organisations.items(), key=lambda kv: kv[1].name):
        p_value, strength, version = best.get(org_id, (1.0, 0.0, None))
        results.append(
            OriginResult(
                organisation=organisation,
                present=version is not None and p_value < ORIGIN_ALPHA,
                p_value=p_value,
                strength=strength,
                tested=len(candidates),
                version=version,
            )
        )
    return results
