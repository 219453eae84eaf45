"""An audit's row-parallel work on a Dask cluster, when an administrator names one.

With ``SYNTHGOV_DASK_SCHEDULER`` set, an audit whose synthetic or reference table has at
least ``SYNTHGOV_DASK_MIN_ROWS`` rows sends two kinds of work to the cluster's workers,
as Dask tasks over pieces of ``SYNTHGOV_DASK_PIECE_ROWS`` rows of each stored file
(``RunCluster``):

- its every-row figures with mergeable state (duplicate rows, exact copies,
  quasi-identifier linkage, values outside the reference's domain, category and range
  coverage: ``partitioned.KEYS_COMPUTED``), one task per piece, before the rest of the
  audit; ``run_audit`` then skips those steps;
- when the privacy family runs, the distance search's reference side: the worker's
  sampled records are searched against runs of the reference's pieces
  (``partitioned_search``), each task giving its exact k best, which the worker merges.

The Celery task that owns the run gathers the partial states as they finish and merges
them: the figures are the same as without the cluster. The Dask workers read the stored
files themselves: from the same folder (local storage, mounted at the same path on every
worker) or from the bucket (S3 storage; the workers hold their own ``AWS_*``
credentials). Everything else runs in the Celery worker.

Without the setting nothing here imports Dask. The Celery task keeps the run's lease and
progress while it waits, and checks for a cancel between completions: a cancel or a
lost lease cancels the tasks not finished. A Dask worker that dies loses only its
unfinished tasks, which the scheduler runs again elsewhere. A scheduler that does not
answer, or a task that fails, is recorded in the run's trail and the work is done in the
worker, as without Dask.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage

from audits.checks import partitioned, partitioned_groups, partitioned_search
from audits.checks.base import AuditConfig, MetricResult
from audits.checks.context import GroupPieces, ReferenceSearch
from audits.checks.encoding import SearchLayout
from audits.checks.groups import GroupCounts, GroupLayout, GroupRows
from audits.checks.neighbours import Neighbours, Searches
from audits.models import AuditRun
from registry.models import DatasetVersion
from registry.services import version_table_info
from synthgov.storage import is_local
from synthgov.trail.services import trail_record

log = logging.getLogger(__name__)

CONNECT_SECONDS = 10
"""How long the Celery task waits for the scheduler before it computes locally."""

ROW_HASH_FAMILIES = frozenset({"integrity", "privacy", "quality"})
"""The families with figures of ``partitioned.KEYS_COMPUTED``."""

CLUSTER_ERRORS = (partitioned.PieceFailed, OSError, TimeoutError)
"""What the cluster's part of a run can fail with, which the worker then does itself: a
task that failed, or a scheduler that stopped answering (``CommClosedError`` is an
``OSError``). A cancel or a lost lease is neither, and stops the run."""

SEARCH_TASKS_PER_WORKER = 1
"""The distance search's reference (after its first piece) is cut into this many runs per
Dask worker, each a task that searches its consecutive pieces with the best carried from
piece to piece. Every run repeats the queries' side of the search, so fewer runs cost
less CPU (bench/distance_scale.py at 1M rows, 2 workers: 2 runs 33.6 CPU-s, 4 runs
38.2); more would spread unequal workers' load and lose less to a worker that dies."""

Report = Callable[[str, float], None]


def wanted(run: AuditRun, *, hash_verified: bool) -> bool:
    """Whether this run's row-parallel work goes to the cluster (any of the integrity,
    privacy, quality and fairness families asks for some)."""
    if not settings.SYNTHGOV_DASK_SCHEDULER or not hash_verified:
        return False
    if run.version.is_relational or run.reference.is_relational:
        return False
    if not {*ROW_HASH_FAMILIES, "fairness"} & set(run.config.get("families", [])):
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


class RunCluster:
    """The Dask cluster's part of one audit run, in the Celery task that owns the run:
    first the figures of ``partitioned.KEYS_COMPUTED`` (``row_hash_figures``), then, when
    the privacy family runs, the distance search's reference ranges
    (``reference_search``: ``partitioned_search`` over the stored reference file, with
    the column kinds the first round decided). One client for both; ``close`` ends it.
    Whatever the cluster cannot do, the worker does itself, and the trail says why."""

    def __init__(self, run: AuditRun, token: str, config: AuditConfig) -> None:
        self.run, self.token, self.config = run, token, config
        self.organisation = run.version.dataset.organisation
        self.sources = {"synthetic": source(run.version), "real": source(run.reference)}
        self.client: Any = None
        self.kinds: dict[str, dict[str, partitioned.ColumnKind]] | None = None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _trail(self, action: str, payload: dict[str, Any]) -> None:
        trail_record(
            actor=None,
            actor_label="audit worker",
            action=action,
            target=self.run,
            organisation=self.organisation,
            payload=payload,
        )

    def _failed(self, exc: Exception, work: str) -> None:
        # A piece failed on the cluster (a worker that cannot read the stored files,
        # workers killed again and again) or the scheduler went away: the worker does
        # this work instead.
        log.exception(
            "Dask work (%s) for audit %s failed; computing in the worker", work, self.run.pk
        )
        self._trail(
            "audits.run.distributed_failed",
            {
                "work": work,
                "error": "A task failed on the Dask cluster "
                f"({type(exc.__cause__ or exc).__name__}; details in the worker's log)",
                "computed": "in the worker",
            },
        )
        self.close()

    def _executor(self, label: str, report: Callable[[str, float], None]):
        last: list[Any] = [label, 0.0]

        def progress(step: str, fraction: float) -> None:
            last[:] = [step, fraction]
            report(step, fraction)  # raises on a cancel or a lost lease: the run stops

        executor = partitioned.DaskExecutor(
            self.client, f"synthgov-run{self.run.pk}-{self.token[:8]}", lambda: progress(*last)
        )
        return executor, progress

    def _workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def row_hash_figures(self, report: Report) -> dict[str, MetricResult]:
        """The figures of ``partitioned.KEYS_COMPUTED`` (row hashes, domain and coverage)
        computed on the cluster, for the families asked for ({} when they should be
        computed in the worker: a scheduler that does not answer, or files this path
        cannot read as the worker does; the trail says which). ``report`` moves the
        run's progress from 0 to 1 and raises to stop (cancel, lost lease), which
        cancels the tasks."""
        config = self.config
        reason = partitioned.supported(config.columns, self.sources)
        if reason is not None:
            self._trail(
                "audits.run.distributed_skipped", {"reason": reason, "computed": "in the worker"}
            )
            return {}
        from distributed import Client

        address = settings.SYNTHGOV_DASK_SCHEDULER
        try:
            self.client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            log.warning(
                "Dask scheduler %s did not answer for audit %s: %s", address, self.run.pk, exc
            )
            self._trail(
                "audits.run.distributed_unavailable",
                {
                    "error": "The Dask scheduler (SYNTHGOV_DASK_SCHEDULER) did not answer "
                    f"within {CONNECT_SECONDS} s",
                    "computed": "in the worker",
                },
            )
            return {}
        started = time.perf_counter()
        executor, progress = self._executor("Row hashes on the Dask cluster", report)
        decided: dict[str, dict[str, partitioned.ColumnKind]] = {}
        try:
            workers = self._workers()
            # Linkage is a privacy figure: its keys are counted only when it is asked for.
            keys = config.quasi_identifiers if "privacy" in config.families else []
            if ROW_HASH_FAMILIES & set(config.families):
                figures = partitioned.compute(
                    executor,
                    config.columns,
                    keys,
                    self.sources,
                    rows_per_piece=settings.SYNTHGOV_DASK_PIECE_ROWS,
                    progress=progress,
                    decided=decided,
                )
            else:  # the fairness family alone: only what its rounds read the files as
                figures = {}
                decided = partitioned.column_kinds(
                    executor,
                    config.columns,
                    self.sources,
                    rows_per_piece=settings.SYNTHGOV_DASK_PIECE_ROWS,
                    progress=progress,
                )
        except CLUSTER_ERRORS as exc:
            self._failed(exc, "row hashes")
            return {}
        except BaseException:
            self.close()
            raise
        self.kinds = decided
        # Only the figures of the families asked for (the states give the others for free).
        figures = {k: m for k, m in figures.items() if k.split(".")[0] in config.families}
        self._trail(
            "audits.run.distributed",
            {
                "figures": sorted(figures),
                "tasks": executor.submitted,
                "workers": workers,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return figures

    def _during_audit(
        self,
        action: str,
        work: str,
        label: str,
        noun: str,
        tick: Callable[[str], None],
        run: Callable[[partitioned.DaskExecutor, int, Callable[[int, int], None]], Any],
        trail: Callable[[Any], dict[str, Any]],
    ) -> Any:
        """``run(executor, workers, progress)`` on the cluster while the audit runs; its
        result, with ``action`` in the trail (``trail(result)`` gives the payload, to
        which the task and worker counts and seconds are added), or None after a failure
        (the worker then does the ``work``; the trail says so). Progress reads "3 of 5
        ``noun``"."""
        if self.client is None:
            return None
        started = time.perf_counter()
        executor, progress = self._executor(label, lambda step, fraction: tick(step))
        try:
            workers = self._workers()
            found = run(
                executor,
                workers,
                lambda done, total: progress(f"{done} of {total} {noun}", done / total),
            )
        except CLUSTER_ERRORS as exc:
            self._failed(exc, work)
            return None
        self._trail(
            action,
            {
                **trail(found),
                "tasks": executor.submitted,
                "workers": workers,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return found

    def reference_search(self, tick: Callable[[str], None]) -> ReferenceSearch | None:
        """The distance search over the stored reference on the cluster, for the
        audit's privacy family (None: the worker searches, as without a cluster: no
        privacy family, or the first round did not run on the cluster). ``tick(note)``
        reports progress while the tasks run and raises to stop (cancel, lost lease)."""
        if self.client is None or self.kinds is None or "privacy" not in self.config.families:
            return None
        kinds = self.kinds["real"]

        def search(searches: Searches, layout: SearchLayout) -> list[Neighbours] | None:
            return self._during_audit(
                "audits.run.distributed_search",
                "distance search",
                "Privacy: distances on the Dask cluster",
                "reference ranges searched",
                tick,
                lambda executor, workers, progress: partitioned_search.search(
                    executor,
                    self.sources["real"],
                    self.config.columns,
                    kinds,
                    layout,
                    searches,
                    rows_per_piece=settings.SYNTHGOV_DASK_PIECE_ROWS,
                    task_count=SEARCH_TASKS_PER_WORKER * max(workers, 1),
                    progress=progress,
                ),
                lambda found: {
                    "queries": [len(query) for query, _ in searches],
                    "reference_rows": self.sources["real"].row_count,
                },
            )

        return search

    def group_pieces(self, tick: Callable[[str], None]) -> GroupPieces | None:
        """The fairness step's counts and fidelity rows from the stored files on the
        cluster (None: the worker counts, as without a cluster: no fairness family, or
        the first round did not run on the cluster). ``tick(note)`` reports progress
        while the tasks run and raises to stop (cancel, lost lease)."""
        if self.client is None or self.kinds is None or "fairness" not in self.config.families:
            return None
        kinds = self.kinds

        def count(layout: GroupLayout) -> list[tuple[GroupCounts, GroupRows]] | None:
            return self._during_audit(
                "audits.run.distributed_groups",
                "fairness groups",
                "Fairness: groups on the Dask cluster",
                "pieces counted",
                tick,
                lambda executor, workers, progress: partitioned_groups.count(
                    executor,
                    self.sources,
                    self.config.columns,
                    kinds,
                    layout,
                    rows_per_piece=settings.SYNTHGOV_DASK_PIECE_ROWS,
                    progress=progress,
                ),
                lambda found: {"groupings": [name for name, _ in layout.groupings()]},
            )

        return count
