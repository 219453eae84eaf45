"""An audit's row-parallel work on a Dask cluster, when an administrator names one.

With ``SYNTHGOV_DASK_SCHEDULER`` set, an audit whose synthetic or reference table has at
least ``SYNTHGOV_DASK_MIN_ROWS`` rows computes its row-parallel figures (duplicate rows,
exact copies, quasi-identifier linkage, values outside the reference's domain, category
and range coverage: ``partitioned.KEYS_COMPUTED``) as Dask tasks,
one per piece of ``SYNTHGOV_DASK_PIECE_ROWS`` rows of each stored file, on the cluster's
workers; the Celery task that owns the run gathers the partial states as they finish,
merges them and hands the figures to ``run_audit``, which then skips those steps. The
Dask workers read the stored files themselves: from the same folder (local storage,
mounted at the same path on every worker) or from the bucket (S3 storage; the workers
hold their own ``AWS_*`` credentials). Everything else runs in the Celery worker.

Without the setting nothing here imports Dask. The Celery task keeps the run's lease and
progress while it waits, and checks for a cancel between completions: a cancel or a
lost lease cancels the tasks not finished. A Dask worker that dies loses only its
unfinished pieces, which the scheduler runs again elsewhere. A scheduler that does not
answer is recorded in the run's trail and the figures are computed in the worker, as
without Dask.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage

from audits.checks import partitioned
from audits.checks.base import AuditConfig, MetricResult
from audits.models import AuditRun
from registry.models import DatasetVersion
from registry.services import version_table_info
from synthgov.storage import is_local
from synthgov.trail.services import trail_record

log = logging.getLogger(__name__)

CONNECT_SECONDS = 10
"""How long the Celery task waits for the scheduler before it computes locally."""

Report = Callable[[str, float], None]


def wanted(run: AuditRun, *, hash_verified: bool) -> bool:
    """Whether this run's row-parallel figures go to the cluster (any of the integrity,
    privacy and quality families asks for some of them)."""
    if not settings.SYNTHGOV_DASK_SCHEDULER or not hash_verified:
        return False
    if run.version.is_relational or run.reference.is_relational:
        return False
    if not {"integrity", "privacy", "quality"} & set(run.config.get("families", [])):
        return False
    rows = max(run.version.row_count or 0, run.reference.row_count or 0)
    return rows >= settings.SYNTHGOV_DASK_MIN_ROWS


def source(version: DatasetVersion) -> partitioned.Source:
    """Where a Dask worker finds the version's stored file, and how to read it."""
    info = version_table_info(version)
    name = version.file.name
    if is_local():
        location, s3 = default_storage.path(name), ()
    else:
        options = settings.STORAGES["default"].get("OPTIONS", {})
        prefix = str(options.get("location") or "").strip("/")
        key = f"{prefix}/{name}" if prefix else name
        location = f"s3://{options['bucket_name']}/{key}"
        s3 = _s3_options(options)
    return partitioned.Source(
        location=str(location),
        format=str(info.format),
        header=info.columns,
        row_count=info.row_count,
        encoding=info.encoding,
        delimiter=info.delimiter,
        missing_markers=info.missing_markers,
        s3=s3,
    )


def _s3_options(options: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out = [("region", str(options.get("region_name") or "us-east-1"))]
    endpoint = options.get("endpoint_url")
    if endpoint:
        parts = urlsplit(endpoint)
        out += [("endpoint_override", parts.netloc), ("scheme", parts.scheme or "https")]
    return tuple(out)


def row_hash_figures(
    run: AuditRun, token: str, config: AuditConfig, report: Report
) -> dict[str, MetricResult]:
    """The figures of ``partitioned.KEYS_COMPUTED`` (row hashes, domain and coverage)
    computed on the cluster, for the families asked for ({} when they should be computed in
    the worker: a scheduler that does not answer, or files this path cannot read as the
    worker does; the trail says which). ``report`` moves the run's progress from 0 to 1
    and raises to stop (cancel, lost lease), which cancels the tasks."""
    sources = {"synthetic": source(run.version), "real": source(run.reference)}
    organisation = run.version.dataset.organisation
    reason = partitioned.supported(config.columns, sources)
    if reason is not None:
        trail_record(
            actor=None,
            actor_label="audit worker",
            action="audits.run.distributed_skipped",
            target=run,
            organisation=organisation,
            payload={"reason": reason, "computed": "in the worker"},
        )
        return {}
    from distributed import Client

    address = settings.SYNTHGOV_DASK_SCHEDULER
    try:
        client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        log.warning("Dask scheduler %s did not answer for audit %s: %s", address, run.pk, exc)
        trail_record(
            actor=None,
            actor_label="audit worker",
            action="audits.run.distributed_unavailable",
            target=run,
            organisation=organisation,
            payload={
                "error": "The Dask scheduler (SYNTHGOV_DASK_SCHEDULER) did not answer within "
                f"{CONNECT_SECONDS} s",
                "computed": "in the worker",
            },
        )
        return {}
    started = time.perf_counter()
    last: list[Any] = ["Row hashes on the Dask cluster", 0.0]

    def progress(step: str, fraction: float) -> None:
        last[:] = [step, fraction]
        report(step, fraction)  # raises on a cancel or a lost lease: the run stops

    executor = partitioned.DaskExecutor(
        client, f"synthgov-run{run.pk}-{token[:8]}", lambda: progress(*last)
    )
    try:
        workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        # Linkage is a privacy figure: its keys are counted only when it is asked for.
        keys = config.quasi_identifiers if "privacy" in config.families else []
        figures = partitioned.compute(
            executor,
            config.columns,
            keys,
            sources,
            rows_per_piece=settings.SYNTHGOV_DASK_PIECE_ROWS,
            progress=progress,
        )
    except partitioned.PieceFailed as exc:
        # A piece failed on the cluster (a worker that cannot read the stored files,
        # workers killed again and again): the worker computes the figures instead.
        log.exception("Dask work for audit %s failed; computing in the worker", run.pk)
        trail_record(
            actor=None,
            actor_label="audit worker",
            action="audits.run.distributed_failed",
            target=run,
            organisation=organisation,
            payload={
                "error": f"A task failed on the Dask cluster ({type(exc.__cause__).__name__}; "
                "details in the worker's log)",
                "computed": "in the worker",
            },
        )
        return {}
    finally:
        client.close()
    # Only the figures of the families asked for (the states give the others for free).
    figures = {k: m for k, m in figures.items() if k.split(".")[0] in config.families}
    trail_record(
        actor=None,
        actor_label="audit worker",
        action="audits.run.distributed",
        target=run,
        organisation=organisation,
        payload={
            "figures": sorted(figures),
            "tasks": executor.submitted,
            "workers": workers,
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return figures
