"""Benchmark: upload a CSV of at least 1 GB through the real HTTP upload path.

Generates a realistic mixed-type CSV (default 1100 MB, i.e. 1.1e9 bytes, in blocks with
a fixed seed, hashing it on the way), starts a fresh gunicorn server in its own var dir
(migrate, a curator with an API token, sync workers), uploads the file with
``POST /api/v1/datasets/{id}/versions/`` as a streamed multipart body and prints the wall
time and throughput end to end, the CPU seconds of each process (the web worker, split
into its main thread and its other threads, and this client), the load average, and the
web worker's memory: idle RSS, peak RSS (sampled every 50 ms and the kernel's high-water
mark ``VmHWM``) and peak minus idle. The target is a peak under 200 MiB above idle.

End to end is the curator's wait: from the first byte sent to the API's answer (201),
when the version is stored, validated, profiled and usable. No background task takes
part in a single-table upload. The request's phases, marked by the files the server
makes (sampled every 50 ms):

1. send + receive: the client streams the body; Django's upload handler writes it to a
   temporary file while a prescan thread (``registry.ingest.prescan``) hashes it and
   validates the CSV (``registry.ingest.csv_scan``) chunk by chunk. Ends when the
   temporary file holds the whole upload.
2. scan finishes: the service links the temporary file into its working folder and
   waits for the prescan's last chunks (no second read of the file). Ends when the
   sample file (``ingest-*/sample-*``) appears.
3. sample, schema, profile: the 100,000 sampled rows are cut out of the file by the
   scan's row index, read, typed and profiled. Ends when the stored file appears under
   ``media/versions/``.
4. store + DB rows + answer: the version's rows are written and the answer is sent.

MB/s of a phase is the file's size over the phase's wall time (what the whole upload's
rate would be if every phase took as long); CPU seconds are from ``/proc`` for the
server's worker (per thread) and from this process's own clock for the client (the
sending thread, and the whole process, which also runs the sampler).

Sizes and throughput are in MB (10^6 bytes); memory is in MiB (2^20 bytes).

    .venv/bin/python bench/upload_large.py
    .venv/bin/python bench/upload_large.py --size-mb 2000 --json out.json
    .venv/bin/python bench/upload_large.py --file big.csv --compare out.json
    .venv/bin/python bench/upload_large.py --size-mb 50 --keep --work-dir /tmp/ub

The machine may be shared: run it under ``flock`` with other benchmarks and compare CPU
seconds as well as wall times (``--repeat N`` uploads the file N times to fresh datasets
on the same server, and prints each run and the best).

The web process is gunicorn with one sync worker by default: one request per process,
so the figure is the memory one upload needs. (deploy/gunicorn.conf.py runs 2 workers
with 4 threads each, so up to four uploads can share one process.) ``--workers 2`` also
works; the worker that served the upload is reported, but the warm-up upload may have
gone to the other one, so its idle figure can be a few MiB lower.

Idle RSS is taken after a small warm-up upload (``--no-warmup`` skips it) so one-off
imports are not counted; peak RSS is the kernel's ``VmHWM`` if it rose during the
request, else the sampled maximum.

Exits 1 when the upload is not stored (any status but 201) or the server's SHA-256
differs from the local one; a peak over the target is reported, not an error.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
MB = 1_000_000
MIB = 1024 * 1024
CHUNK_BYTES = MIB
BLOCK_ROWS = 100_000
TARGET_GROWTH_MIB = 200

# --- Generating the CSV ---------------------------------------------------

SEXES = ["F", "M", "X"]
REGIONS = [f"R{i:02d}" for i in range(12)]
CITIES = ["Zürich", "Kraków", "São Paulo", "Łódź", "Málaga", "Reykjavík", "Leeds", "Oslo"]
OCCUPATIONS = [f"occ_{i:02d}" for i in range(20)]
EDUCATION = ["none", "primary", "secondary", "vocational", "bachelor", "master", "doctorate"]
DIAGNOSES = [f"D{i:02d}" for i in range(25)]
# Free text with the characters that make CSV hard: delimiters, quotes, nothing at all.
NOTES = [
    "",
    "no concerns",
    "follow-up in 6 months, see referral",
    'patient said "fine" at review',
    "moved; new address pending",
    "declined, then agreed by phone",
    "interpreter needed (pl)",
    "",
]


@dataclass
class GeneratedFile:
    path: Path
    size: int
    rows: int
    sha256: str
    seconds: float


def _zipf(rng: Any, k: int, s: float, n: int) -> Any:
    import numpy as np

    weights = 1.0 / np.arange(1, k + 1) ** s
    return rng.choice(k, size=n, p=weights / weights.sum())


def _uuids(rng: Any, rows: int) -> list[str]:
    """Random version-4 UUIDs as text.

    Not bare hex keys: pandas 2.x's ``to_numeric`` (used by schema inference) crashes the
    process (SIGSEGV, pandas GH#63650) on text like ``2e08311970879c88`` (a huge
    exponent), which 16 random hex digits produce every few thousand rows. In a UUID
    the first group ends after eight characters, so the exponent stays short.
    """
    import numpy as np

    high = rng.integers(0, 2**63, rows, dtype=np.int64)
    low = rng.integers(0, 2**63, rows, dtype=np.int64)
    return [
        f"{h >> 31:08x}-{(h >> 15) & 0xFFFF:04x}-4{h & 0xFFF:03x}-"
        f"{0x8000 | (low >> 48) & 0x3FFF:04x}-{low & 0xFFFFFFFFFFFF:012x}"
        for h, low in zip(high.tolist(), low.tolist(), strict=True)
    ]


def _block(first_id: int, rows: int, seed: int, block_index: int) -> Any:
    """One block of census-like rows as an Arrow table (same seed and index, same rows)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng([seed, block_index])
    age = np.clip(rng.gamma(6.0, 7.0, size=rows) + 16, 18, 95).astype(np.int16)
    edu = np.clip(rng.normal(3.2, 1.4, size=rows).round(), 0, 6).astype(np.int8)
    log_income = 9.2 + 0.22 * edu + 0.012 * np.minimum(age, 60) + rng.normal(0, 0.45, rows)
    income = np.round(np.exp(log_income), 2)
    signup = np.datetime64("2015-01-01") + rng.integers(0, 3000, rows).astype("timedelta64[D]")
    seen = signup.astype("datetime64[s]") + rng.integers(0, 3 * 365 * 86400, rows).astype(
        "timedelta64[s]"
    )
    score = -4.0 + 1.05 * (log_income - 9.2) + 0.004 * (rng.normal(620, 60, rows) - 600)
    missing = rng.random(rows) < 0.1

    def pick(values: list[str], index: Any) -> Any:
        return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), pa.array(values))

    columns = {
        "record_id": pa.array(np.arange(first_id, first_id + rows, dtype=np.int64)),
        "person_uuid": pa.array(_uuids(rng, rows)),
        "sex": pick(SEXES, rng.choice(3, size=rows, p=[0.5, 0.495, 0.005])),
        "age": pa.array(age),
        "region": pick(REGIONS, _zipf(rng, 12, 0.8, rows)),
        "city": pick(CITIES, _zipf(rng, len(CITIES), 1.0, rows)),
        "occupation": pick(OCCUPATIONS, (edu * 3 + rng.integers(0, 6, rows)) % 20),
        "education": pick(EDUCATION, edu),
        "income": pa.array(income),
        "salary": pa.array(income, mask=missing),
        "hours_per_week": pa.array(np.clip(rng.normal(38, 7, rows), 0, 80).round(1)),
        "dependents": pa.array(rng.poisson(np.where(age < 30, 0.4, 1.3), rows)),
        "disability": pa.array(rng.random(rows) < 0.06 + 0.002 * np.maximum(age - 50, 0)),
        "signup_date": pa.array(signup),
        "last_seen": pa.array(seen),
        "diagnosis": pick(DIAGNOSES, _zipf(rng, 25, 1.1, rows)),
        "risk_score": pa.array(np.round(1.0 / (1.0 + np.exp(-score)), 6)),
        "approved": pa.array((rng.random(rows) < 1.0 / (1.0 + np.exp(-score))).astype(np.int8)),
        "note": pick(NOTES, rng.integers(0, len(NOTES), rows)),
    }
    return pa.table(columns)


def _csv_bytes(table: Any, *, header: bool) -> bytes:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=header, quoting_style="needed")
    pacsv.write_csv(table, sink, write_options=options)
    return sink.getvalue().to_pybytes()


def generate_csv(path: Path, *, size_bytes: int, seed: int, rows_per_block: int) -> GeneratedFile:
    """Write blocks of rows to ``path`` until it holds at least ``size_bytes``.

    Memory is bounded by one block; the SHA-256 is computed from the bytes written.
    """
    started = time.perf_counter()
    digest = hashlib.sha256()
    written = rows = block_index = 0
    with path.open("wb") as out:
        while written < size_bytes:
            table = _block(rows + 1, rows_per_block, seed, block_index)
            data = _csv_bytes(table, header=block_index == 0)
            out.write(data)
            digest.update(data)
            written += len(data)
            rows += table.num_rows
            block_index += 1
            if block_index % 10 == 0:
                _progress(f"generated {written / MB:,.0f} / {size_bytes / MB:,.0f} MB")
    _progress("")
    seconds = time.perf_counter() - started
    return GeneratedFile(path, written, rows, digest.hexdigest(), seconds)


def describe_file(path: Path) -> GeneratedFile:
    """Hash and count the data rows (lines after the header) of a CSV given with --file."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            lines += chunk.count(b"\n")
    rows = max(lines - 1, 0)  # rows with quoted newlines would count double: an estimate
    return GeneratedFile(
        path, path.stat().st_size, rows, digest.hexdigest(), time.perf_counter() - started
    )


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{message:<60}")
        if not message:
            sys.stderr.write("\r")
        sys.stderr.flush()


# --- Reading /proc --------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """Memory figures of ``pid`` in KiB (VmRSS, VmHWM); {} if the process is gone."""
    wanted = {"VmRSS", "VmHWM"}
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in wanted:
                    values[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return values


def proc_read_bytes(pid: int) -> int | None:
    """Bytes the process has read through read() calls (``rchar``), if readable."""
    try:
        with open(f"/proc/{pid}/io") as handle:
            for line in handle:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except (FileNotFoundError, PermissionError, ProcessLookupError):
        return None
    return None


def proc_cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # After the command name: state is field 3 of stat(5); utime and stime are 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time (user + system) of each live thread of ``pid``, by thread id."""
    found = {}
    try:
        tids = [int(name) for name in os.listdir(f"/proc/{pid}/task")]
    except (FileNotFoundError, ProcessLookupError):
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found[tid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def own_cpu_seconds() -> float:
    """CPU time (user + system) of this whole process, all threads."""
    times = os.times()
    return times.user + times.system


def load_average() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def child_pids(parent: int) -> list[int]:
    """Processes whose parent is ``parent``, found by scanning /proc/*/stat."""
    children = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == parent:
            children.append(int(entry.name))
    return sorted(children)


def mib(kib: float) -> float:
    """KiB, as /proc reports memory, to MiB rounded for printing."""
    return round(kib / 1024, 1)


# --- The server -----------------------------------------------------------

CURATOR_SETUP = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from synthgov.accounts.models import Jurisdiction, Organisation
from synthgov.access.services import membership_grant

jurisdiction, _ = Jurisdiction.objects.get_or_create(code="BENCH", defaults={"name": "Bench"})
organisation, _ = Organisation.objects.get_or_create(
    slug="bench-producer", defaults={"name": "Bench producer", "kind": "producer"}
)
organisation.jurisdictions.add(jurisdiction)
user, _ = get_user_model().objects.get_or_create(username="bench-curator")
membership_grant(user=user, organisation=organisation, role="curator", by=None)
print("TOKEN=" + Token.objects.get_or_create(user=user)[0].key)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(var_dir: Path, max_upload_bytes: int) -> dict[str, str]:
    """A production-like environment (DEBUG off) pointing everything at ``var_dir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SYNTHGOV_", "GUNICORN_"))
        and k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT", "STATIC_ROOT"}
    }
    env.update(
        SYNTHGOV_VAR_DIR=str(var_dir),
        SYNTHGOV_MAX_UPLOAD_BYTES=str(max_upload_bytes),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on the loopback
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def workers(self) -> list[int]:
        return child_pids(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: workers finish and exit
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(env: dict[str, str], var_dir: Path, *, workers: int, timeout: int) -> Server:
    port = free_port()
    log_path = var_dir / "gunicorn.log"
    command = [
        str(VENV_BIN / "gunicorn"),
        "synthgov.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=sync",
        f"--timeout={timeout}",
        "--graceful-timeout=30",
        "--error-logfile=-",
        "--log-level=warning",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    server = Server(process, port, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited at start:\n{log_path.read_text()[-4000:]}")
        try:
            status, body = request_json(port, "GET", "/healthz", timeout=5)
        except OSError:
            status, body = 0, None
        if status == 200 and len(server.workers()) >= workers:
            return server
        time.sleep(0.25)
    server.stop()
    raise SystemExit(f"/healthz did not answer 200 in 90 s (last: {status} {body})")


# --- HTTP -----------------------------------------------------------------


def request_json(
    port: int,
    method: str,
    path: str,
    *,
    payload: dict[str, Any] | None = None,
    token: str = "",
    timeout: float = 60,
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, raw[:2000].decode(errors="replace")


@dataclass
class UploadResult:
    status: int
    body: Any
    started: float
    body_sent: float
    finished: float
    send_error: str = ""
    send_cpu_seconds: float = 0.0
    """CPU time of the client's thread while it sent the body (reading the file and
    the socket's send calls)."""


def _multipart_parts(boundary: str, filename: str, note: str) -> tuple[bytes, bytes]:
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="note"\r\n\r\n'
        f"{note}\r\n"
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


def upload_file(
    port: int,
    *,
    token: str,
    dataset_id: int,
    path: Path,
    note: str,
    timeout: float,
) -> UploadResult:
    """POST ``path`` as a multipart body streamed in 1 MiB chunks (never held whole)."""
    boundary = f"bench-{uuid.uuid4().hex}"
    head, tail = _multipart_parts(boundary, path.name, note)
    size = path.stat().st_size
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    send_cpu = time.thread_time()
    send_error = ""
    try:
        connection.putrequest("POST", f"/api/v1/datasets/{dataset_id}/versions/")
        connection.putheader("Authorization", f"Token {token}")
        connection.putheader("Accept", "application/json")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(head) + size + len(tail)))
        connection.endheaders()
        try:
            connection.send(head)
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    connection.send(chunk)
            connection.send(tail)
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The server may answer (e.g. refuse the size) before reading the whole body.
            send_error = f"{type(exc).__name__} after sending part of the body"
        body_sent = time.perf_counter()
        send_cpu = time.thread_time() - send_cpu
        try:
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except (http.client.HTTPException, OSError) as exc:
            # A worker killed mid-request (timeout, out of memory, a crash) answers nothing.
            status, raw = 0, f"no response: {type(exc).__name__}: {exc}".encode()
        finished = time.perf_counter()
    finally:
        connection.close()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw[:2000].decode(errors="replace")
    return UploadResult(status, body, started, body_sent, finished, send_error, send_cpu)


# --- Sampling memory during the request -----------------------------------


@dataclass
class Sample:
    t: float
    rss_kib: dict[int, int]
    rchar: dict[int, int | None]
    cpu: dict[int, float | None]
    threads: dict[int, dict[int, float]]
    """Each worker's threads' CPU seconds, by thread id (the main thread's id is the pid)."""
    client_rss_kib: int
    client_cpu: float
    django_tmp_bytes: int
    sampling: bool
    """A sample file (``ingest-*/sample-*``) exists: the scan is done, the sample is cut."""
    stored: bool
    """The version's file is in ``media/versions/``."""


def _largest(paths: Iterator[Path]) -> int:
    largest = 0
    for path in paths:
        try:
            largest = max(largest, path.stat().st_size)
        except FileNotFoundError:
            continue
    return largest


@dataclass
class Sampler:
    """Samples the workers' memory, CPU and read counters, and the upload's files."""

    worker_pids: list[int]
    var_dir: Path
    interval: float
    samples: list[Sample] = field(default_factory=list, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _sampled: bool = field(default=False, init=False)

    def sample(self) -> Sample:
        statuses = {pid: proc_status(pid) for pid in self.worker_pids}
        tmp_dir = self.var_dir / "tmp"
        # Once seen, a sample file counts as seen (it lives for a fraction of a second).
        self._sampled = self._sampled or any(tmp_dir.glob("ingest-*/sample-*"))
        return Sample(
            t=time.perf_counter(),
            rss_kib={pid: s.get("VmRSS", 0) for pid, s in statuses.items()},
            rchar={pid: proc_read_bytes(pid) for pid in self.worker_pids},
            cpu={pid: proc_cpu_seconds(pid) for pid in self.worker_pids},
            threads={pid: thread_cpu_seconds(pid) for pid in self.worker_pids},
            client_rss_kib=proc_status(os.getpid()).get("VmRSS", 0),
            client_cpu=own_cpu_seconds(),
            # Django's TemporaryUploadedFile is tmp*.upload*.
            django_tmp_bytes=_largest(tmp_dir.glob("*.upload*")),
            sampling=self._sampled,
            stored=any((self.var_dir / "media" / "versions").glob("*/*")),
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self.samples.append(self.sample())
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append(self.sample())


def active_worker(samples: list[Sample], pids: list[int]) -> int:
    """The worker that served the upload: the one that read the most bytes (or grew most)."""

    def work(pid: int) -> float:
        first, last = samples[0], samples[-1]
        if first.rchar.get(pid) is not None and last.rchar.get(pid) is not None:
            return last.rchar[pid] - first.rchar[pid]
        return max(s.rss_kib.get(pid, 0) for s in samples) - first.rss_kib.get(pid, 0)

    return max(pids, key=work)


PHASES = [
    "send + receive (body on the server's disk)",
    "scan finishes (link, prescan's answer)",
    "sample, schema, profile",
    "store + DB rows + answer",
]


def _thread_split(first: Sample, last: Sample, pid: int) -> tuple[float | None, float | None]:
    """CPU seconds of the worker's main thread and of its other threads between two
    samples. A thread that ended in between counts what it used until its last
    sample; the process total (which keeps an ended thread's time) gives the rest."""
    if first.cpu.get(pid) is None or last.cpu.get(pid) is None:
        return None, None
    total = last.cpu[pid] - first.cpu[pid]
    before, after = first.threads.get(pid, {}), last.threads.get(pid, {})
    if pid not in before or pid not in after:
        return None, None
    main = after[pid] - before[pid]
    return round(main, 2), round(max(total - main, 0.0), 2)


def phases(
    samples: list[Sample], pid: int, upload: UploadResult, size: int
) -> list[dict[str, Any]]:
    """Split the request where the server's files show a step has ended (see the
    module's docstring). A mark not seen folds into the next phase."""
    received = next((s for s in samples if s.django_tmp_bytes >= size), None)
    sampling = next((s for s in samples if s.sampling), None)
    stored = next((s for s in samples if s.stored), None)
    first, last = samples[0], samples[-1]  # taken just before and just after the request
    marks = list(zip(PHASES, [received, sampling, stored, last], strict=True))
    result = []
    start = first
    for name, end in marks:
        if end is None or end.t < start.t:
            continue
        # A mark is seen up to one sampling interval late, possibly after the answer.
        seconds = (upload.finished if end is last else min(end.t, upload.finished)) - (
            upload.started if start is first else min(start.t, upload.finished)
        )
        window = [s for s in samples if start.t <= s.t <= end.t]
        main, others = _thread_split(start, end, pid)
        cpu = None
        if start.cpu.get(pid) is not None and end.cpu.get(pid) is not None:
            cpu = round(end.cpu[pid] - start.cpu[pid], 2)
        result.append(
            {
                "phase": name,
                "seconds": round(seconds, 2),
                "mb_per_s": round(size / MB / seconds, 1) if seconds > 0 else None,
                "cpu_seconds": cpu,
                "main_thread_cpu_seconds": main,
                "other_threads_cpu_seconds": others,
                "client_cpu_seconds": round(end.client_cpu - start.client_cpu, 2),
                "peak_rss_mib": mib(max(s.rss_kib.get(pid, 0) for s in window)),
            }
        )
        start = end
    return result


# --- The run --------------------------------------------------------------


def setup_curator(env: dict[str, str]) -> str:
    output = manage(env, "shell", "-c", CURATOR_SETUP)
    for line in output.splitlines():
        if line.startswith("TOKEN="):
            return line.removeprefix("TOKEN=").strip()
    raise SystemExit(f"No token from the curator setup:\n{output}")


def create_dataset(port: int, token: str, name: str, kind: str = "fully_synthetic") -> int:
    status, body = request_json(
        port,
        "POST",
        "/api/v1/datasets/",
        token=token,
        payload={
            "name": name,
            "kind": kind,
            "domain": "bench",
            "licence": "CC0-1.0",
            "access": "restricted",
        },
    )
    if status != 201:
        raise SystemExit(f"POST /api/v1/datasets/ returned {status} (no registry API?): {body}")
    return int(body["id"])


def warm_up(port: int, token: str, work_dir: Path, seed: int) -> None:
    """One small upload, so imports and caches the first upload pays for are not
    counted as the large upload's memory."""
    small = work_dir / "warmup.csv"
    generate_csv(small, size_bytes=1, seed=seed + 1, rows_per_block=2_000)
    dataset_id = create_dataset(port, token, "bench warm-up")
    result = upload_file(
        port, token=token, dataset_id=dataset_id, path=small, note="warm-up", timeout=300
    )
    if result.status != 201:
        raise SystemExit(f"Warm-up upload returned {result.status}: {result.body}")
    small.unlink()


def measure(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    if args.file:
        source = describe_file(Path(args.file).resolve())
        print(f"file      {source.path} (hashed in {source.seconds:.1f} s)")
    else:
        source = generate_csv(
            work_dir / "bench-upload.csv",
            size_bytes=args.size_mb * MB,
            seed=args.seed,
            rows_per_block=BLOCK_ROWS,
        )
        print(f"generated {source.path} in {source.seconds:.1f} s")

    var_dir = work_dir / "var"
    var_dir.mkdir()
    max_upload = max(2 * 1024**3, int(source.size * 1.25))
    env = server_environment(var_dir, max_upload)
    started = time.perf_counter()
    manage(env, "migrate", "--no-input", "-v", "0")
    token = setup_curator(env)
    server = start_server(env, var_dir, workers=args.workers, timeout=args.timeout)
    try:
        print(
            f"server    gunicorn pid {server.process.pid} on 127.0.0.1:{server.port}, "
            f"{args.workers} sync worker(s), ready in {time.perf_counter() - started:.1f} s"
        )
        pids = server.workers()
        boot_rss = {pid: proc_status(pid).get("VmRSS", 0) for pid in pids}
        if not args.no_warmup:
            warm_up(server.port, token, work_dir, args.seed)
        runs = []
        for run in range(args.repeat):
            dataset_id = create_dataset(server.port, token, f"bench large upload {run + 1}")
            # Each run stores the file afresh: the earlier run's copy (same bytes, same
            # name) is removed, so the "stored" mark and the store step are the same.
            shutil.rmtree(var_dir / "media" / "versions", ignore_errors=True)
            time.sleep(1.0)  # let the worker settle after the warm-up before calling it idle
            idle = {pid: proc_status(pid) for pid in pids}
            load_before = load_average()
            sampler = Sampler(pids, var_dir, args.interval)
            with sampler:
                upload = upload_file(
                    server.port,
                    token=token,
                    dataset_id=dataset_id,
                    path=source.path,
                    note="bench/upload_large.py",
                    timeout=args.timeout + 60,
                )
            after = {pid: proc_status(pid) for pid in pids}
            server_log = server.log_path.read_text(errors="replace")[-4000:]
            result = summarise(
                args,
                source,
                upload,
                sampler.samples,
                pids,
                boot_rss,
                idle,
                after,
                server_log,
            )
            result["run"] = run + 1
            result["load_average_before"] = load_before
            result["load_average_after"] = load_average()
            runs.append(result)
            if upload.status != 201:
                break
    except BaseException:
        log = server.log_path.read_text(errors="replace")[-4000:]
        sys.stderr.write(f"server log (tail):\n{log}\n")
        raise
    finally:
        server.stop()
    best = max(runs, key=lambda r: r["throughput_mb_s"] if r["status"] == 201 else -1)
    return {**best, "runs": runs, "best_run": best["run"]}


def summarise(
    args: argparse.Namespace,
    source: GeneratedFile,
    upload: UploadResult,
    samples: list[Sample],
    pids: list[int],
    boot_rss: dict[int, int],
    idle: dict[int, dict[str, int]],
    after: dict[int, dict[str, int]],
    server_log: str,
) -> dict[str, Any]:
    pid = active_worker(samples, pids)
    during = [s for s in samples if upload.started <= s.t <= upload.finished] or samples
    sampled_peak = max(s.rss_kib.get(pid, 0) for s in during)
    idle_rss = idle[pid].get("VmRSS", 0)
    hwm_before, hwm_after = idle[pid].get("VmHWM", 0), after[pid].get("VmHWM", 0)
    # VmHWM is the peak over the worker's life: it is this request's peak only if it rose.
    peak = max(sampled_peak, hwm_after) if hwm_after > hwm_before else sampled_peak
    wall = upload.finished - upload.started
    body = upload.body if isinstance(upload.body, dict) else {}
    server_sha = body.get("sha256")
    client = proc_status(os.getpid()).get("VmHWM", 0)
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": _git_revision(),
        "command": " ".join([".venv/bin/python", "bench/upload_large.py", *sys.argv[1:]]),
        "cpus": os.cpu_count(),
        "seed": None if args.file else args.seed,
        "workers": args.workers,
        "file_bytes": source.size,
        "file_rows": source.rows,
        "generated": not args.file,
        "generate_seconds": round(source.seconds, 2),
        "status": upload.status,
        "send_error": upload.send_error,
        "server_sha256": server_sha,
        "local_sha256": source.sha256,
        "sha256_match": server_sha == source.sha256,
        "server_rows": body.get("row_count"),
        "server_size_bytes": body.get("size_bytes"),
        "upload_seconds": round(wall, 2),
        "body_send_seconds": round(upload.body_sent - upload.started, 2),
        "after_body_seconds": round(upload.finished - upload.body_sent, 2),
        "throughput_mb_s": round(source.size / MB / wall, 1),
        "worker_pid": pid,
        "boot_rss_mib": mib(boot_rss.get(pid, 0)),
        "idle_rss_mib": mib(idle_rss),
        "peak_rss_mib": mib(peak),
        "after_rss_mib": mib(after[pid].get("VmRSS", 0)),
        "sampled_peak_rss_mib": mib(sampled_peak),
        "vmhwm_before_mib": mib(hwm_before),
        "vmhwm_after_mib": mib(hwm_after),
        "peak_minus_idle_mib": mib(peak - idle_rss),
        # The sampler's first and last samples bracket the request.
        "worker_cpu_seconds": _cpu_seconds(samples, pid),
        "worker_main_thread_cpu_seconds": _thread_split(samples[0], samples[-1], pid)[0],
        "worker_other_threads_cpu_seconds": _thread_split(samples[0], samples[-1], pid)[1],
        "client_send_cpu_seconds": round(upload.send_cpu_seconds, 2),
        "client_cpu_seconds": round(samples[-1].client_cpu - samples[0].client_cpu, 2),
        "within_target": (peak - idle_rss) / 1024 < TARGET_GROWTH_MIB,
        "client_peak_rss_mib": mib(client),
        "client_upload_peak_rss_mib": mib(max(s.client_rss_kib for s in during)),
        "samples": len(during),
        "phases": phases(samples, pid, upload, source.size),
        "response": upload.body if upload.status != 201 else None,
        "server_log_tail": server_log if upload.status != 201 else "",
    }


def _cpu_seconds(samples: list[Sample], pid: int) -> float | None:
    """CPU time (user + system) the worker used while the request was sampled."""
    cpus = [s.cpu[pid] for s in samples if s.cpu.get(pid) is not None]
    return round(cpus[-1] - cpus[0], 2) if len(cpus) > 1 else None


def _git_revision() -> str:
    git = shutil.which("git")
    if git is None:
        return ""
    result = subprocess.run(
        [git, "describe", "--always", "--dirty"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


# --- Output ---------------------------------------------------------------


def report(r: dict[str, Any]) -> None:
    print(f"command   {r['command']}  (git {r['git']})")
    source = f"seed {r['seed']}" if r["seed"] is not None else "given with --file"
    print(f"file size {r['file_bytes']:,} bytes ({r['file_bytes'] / MB:,.1f} MB, {source})")
    print(f"rows      {r['file_rows']:,} (server counted {r['server_rows']})")
    print(f"status    {r['status']}" + (f"  {r['send_error']}" if r["send_error"] else ""))
    if r["status"] != 201:
        print(f"response  {json.dumps(r['response'])[:2000]}")
        if r["server_log_tail"]:
            print(f"server log (tail):\n{r['server_log_tail']}")
    print(
        f"load      {r['load_average_before']} before, {r['load_average_after']} after "
        f"(1, 5, 15 min; {r['cpus']} CPUs)"
    )
    print(
        f"end to end {r['upload_seconds']:.1f} s wall, {r['throughput_mb_s']:.1f} MB/s "
        f"({r['body_send_seconds']:.1f} s sending the body, {r['after_body_seconds']:.1f} s "
        "more until the answer)"
    )
    if r.get("worker_cpu_seconds") is not None:
        split = ""
        if r.get("worker_main_thread_cpu_seconds") is not None:
            split = (
                f": main thread {r['worker_main_thread_cpu_seconds']:.1f} s, other threads "
                f"(prescan, SHA-256) {r['worker_other_threads_cpu_seconds']:.1f} s"
            )
        print(f"CPU       web worker {r['worker_cpu_seconds']:.1f} s{split}")
    print(
        f"          client {r['client_cpu_seconds']:.1f} s (sending thread "
        f"{r['client_send_cpu_seconds']:.1f} s; the rest is this script's sampler)"
    )
    match = "match" if r["sha256_match"] else "MISMATCH"
    print(f"sha256    {match}: server {r['server_sha256']}, local {r['local_sha256']}")
    print(f"worker    pid {r['worker_pid']}, RSS after boot {r['boot_rss_mib']:.1f} MiB")
    print(f"idle RSS  {r['idle_rss_mib']:.1f} MiB ({r['after_rss_mib']:.1f} after the upload)")
    print(
        f"peak RSS  {r['peak_rss_mib']:.1f} MiB (sampled max {r['sampled_peak_rss_mib']:.1f}, "
        f"VmHWM {r['vmhwm_before_mib']:.1f} -> {r['vmhwm_after_mib']:.1f})"
    )
    verdict = "within" if r["within_target"] else "OVER"
    print(
        f"peak-idle {r['peak_minus_idle_mib']:.1f} MiB "
        f"({verdict} the {TARGET_GROWTH_MIB} MiB target)"
    )
    print(
        f"client    peak RSS {r['client_peak_rss_mib']:.1f} MiB over the whole run, "
        f"{r['client_upload_peak_rss_mib']:.1f} MiB while uploading"
    )
    if r["phases"]:
        print(
            "phases    (marked by the server's files; CPU s: worker = main + other threads; client)"
        )
        for p in r["phases"]:
            print(f"  {p['phase']:<42} {p['seconds']:6.2f} s {_rate(p['mb_per_s'])}  " + _cpus(p))


def _rate(value: float | None) -> str:
    return f"{value:8.1f} MB/s" if value is not None else " " * 13


def _cpus(p: dict[str, Any]) -> str:
    def number(key: str) -> str:
        return f"{p[key]:5.2f}" if p.get(key) is not None else "    ?"

    return (
        f"CPU worker {number('cpu_seconds')} = {number('main_thread_cpu_seconds')} + "
        f"{number('other_threads_cpu_seconds')}, client {number('client_cpu_seconds')}  "
        f"peak RSS {p['peak_rss_mib']:6.1f} MiB"
    )


def report_runs(results: dict[str, Any]) -> None:
    runs = results["runs"]
    for r in runs:
        if len(runs) > 1:
            print(f"\n--- run {r['run']} of {len(runs)}")
        report(r)
    if len(runs) > 1:
        print(f"\n--- {len(runs)} runs (best: run {results['best_run']})")
        for r in runs:
            print(
                f"  run {r['run']}: {r['upload_seconds']:6.2f} s, {r['throughput_mb_s']:6.1f} "
                f"MB/s, worker CPU {r['worker_cpu_seconds']} s, client CPU "
                f"{r['client_cpu_seconds']} s, peak-idle {r['peak_minus_idle_mib']} MiB, "
                f"load {r['load_average_before']} -> {r['load_average_after']}"
            )


COMPARED = [
    "file_bytes",
    "upload_seconds",
    "body_send_seconds",
    "after_body_seconds",
    "throughput_mb_s",
    "idle_rss_mib",
    "peak_rss_mib",
    "peak_minus_idle_mib",
    "client_peak_rss_mib",
    "worker_cpu_seconds",
    "worker_main_thread_cpu_seconds",
    "worker_other_threads_cpu_seconds",
    "client_cpu_seconds",
]


def compare(new: dict[str, Any], old_path: Path) -> None:
    old = json.loads(old_path.read_text())
    print(f"\ncompared with {old_path} ({old.get('when')}, {old.get('git')})")
    print(f"  {'metric':<22} {'old':>14} {'new':>14} {'change':>10}")
    for key in COMPARED:
        before, now = old.get(key), new.get(key)
        if not isinstance(before, int | float) or not isinstance(now, int | float):
            continue
        change = f"{(now - before) / before:+.1%}" if before else ""
        print(f"  {key:<22} {before:>14,.1f} {now:>14,.1f} {change:>10}")
    old_phases = {p["phase"]: p for p in old.get("phases", [])}
    for p in new.get("phases", []):
        if p["phase"] in old_phases:
            before = old_phases[p["phase"]]
            print(
                f"  {p['phase'][:22]:<22} {before['seconds']:>13.1f}s {p['seconds']:>13.1f}s"
                f"  (worker CPU {before.get('cpu_seconds')} -> {p.get('cpu_seconds')} s)"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size-mb", type=int, default=1100, help="size of the generated CSV in MB (10^6 bytes)"
    )
    parser.add_argument("--file", help="upload this file instead of generating one")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument(
        "--work-dir",
        help="parent of the run's directory (CSV, server var dir); default: the temp dir",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir afterwards")
    parser.add_argument("--workers", type=int, choices=[1, 2, 3, 4], default=1)
    parser.add_argument("--timeout", type=int, default=1200, help="gunicorn worker timeout, s")
    parser.add_argument("--interval", type=float, default=0.05, help="RSS sampling period, s")
    parser.add_argument("--no-warmup", action="store_true", help="skip the small first upload")
    parser.add_argument(
        "--repeat", type=int, default=1, help="upload the file this many times (same server)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--compare", type=Path, help="print differences from an earlier --json")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A fresh directory even under --work-dir, so cleaning up never removes anything else.
    parent = None
    if args.work_dir:
        parent = Path(args.work_dir).resolve()
        parent.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="synthgov-upload-bench-", dir=parent))
    try:
        results = measure(args, work_dir)
    finally:
        if args.keep:
            print(f"kept      {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    report_runs(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote     {args.json}")
    if args.compare:
        compare(results, args.compare)
    return 0 if results["status"] == 201 and results["sha256_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
