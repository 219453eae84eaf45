"""The client against the live test server (pytest-django's ``live_server``) and, for
audits, a real Celery worker on a private queue, started once per module."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from audits.standards import services as standard_services
from audits.standards.engine import StandardSpec
from registry.models import LineageEdge
from tests.audits.conftest import placements, placements_world, register  # noqa: F401
from tests.audits.runs.test_worker import worker_env
from tests.audits.standards.builders import rule
from tests.registry.conftest import make_dataset
from tests.worker import ROOT, celery_worker

# The data the pipeline "generated": the SDMetrics placements demo's synthetic table.
SYNTHETIC_DATASET = "Placements (synthetic)"


def make_token(user: Any) -> str:
    """A token as the README makes one: ``manage.py drf_create_token USERNAME``."""
    out = io.StringIO()
    call_command("drf_create_token", user.username, stdout=out)
    return re.fullmatch(r"Generated token (\w+) for user \S+\n", out.getvalue()).group(1)


def publish(spec: StandardSpec, admin: Any) -> None:
    draft = standard_services.standard_save_draft(spec=spec, user=admin, owner=None)
    standard_services.standard_publish(version=draft, user=admin)


def gate_standard(code: str, *rules: Any) -> StandardSpec:
    return StandardSpec(
        code=code, name=f"Gate {code}", version="1.0", scope="global", rules=list(rules)
    )


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, url: str, token: str, timeout: float = 300) -> Run:
    """``python -m synthgov.client ARGS`` as a pipeline runs it: its own process,
    no Django settings, the server and token from the environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "SYNTHGOV_", "DATABASE_URL"))
    }
    env.update({"SYNTHGOV_URL": url, "SYNTHGOV_TOKEN": token, "PYTHONIOENCODING": "utf-8"})
    done = subprocess.run(
        [sys.executable, "-m", "synthgov.client", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def module_worker(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """(queue, media folder): one worker for the module's tests, sharing the files."""
    media = tmp_path_factory.mktemp("client-media")
    queue = f"client-{uuid.uuid4().hex[:12]}"
    # celery_worker keeps what follows an audit (its evaluation) on this queue too.
    with celery_worker(extra_env=worker_env(media), queue=queue) as (_, queue):
        yield queue, media


@pytest.fixture
def worker_queue(module_worker: tuple[str, Path], settings: Any, tmp_path: Path) -> Iterator[str]:
    queue, media = module_worker
    settings.MEDIA_ROOT = media
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    from synthgov.celery import app

    app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        app.conf.task_default_queue = "celery"


@pytest.fixture
def gate_world(world: Any, worker_queue: str, live_server: Any, tmp_path: Path) -> dict[str, Any]:
    """Org A's real placements (train and holdout), its synthetic dataset with no
    version yet, the synthetic file on disk, a curator's token and four published
    standards: GATE-OK (what the placements data passes), GATE-STRICT (a blocking
    quality bar it cannot reach), GATE-MISSING (a privacy figure a quality-only
    audit does not measure) and GATE-UK (for UK organisations; org A is in the EU)."""
    real_frame, synthetic_frame = placements()
    real_ds = make_dataset(world, name="Placements", kind="real", licence="CC0-1.0")
    real = register(real_ds, world.curator_a, real_frame.iloc[:160], "train.csv")
    holdout = register(real_ds, world.curator_a, real_frame.iloc[160:], "holdout.csv")
    synthetic_ds = make_dataset(world, name=SYNTHETIC_DATASET, kind="fully_synthetic")
    file = tmp_path / "synthetic.csv"
    synthetic_frame.to_csv(file, index=False)
    publish(
        gate_standard(
            "GATE-OK",
            rule("quality.overall", ">=", 0.5, "blocking"),
            rule("registry.licence", "one_of", ["CC-BY-4.0", "CC0-1.0"], "minor"),
            rule("quality.detection", ">=", 0.99, "advisory"),
        ),
        world.admin_a,
    )
    publish(
        gate_standard(
            "GATE-STRICT",
            rule("quality.overall", ">=", 0.99, "blocking"),
            rule("registry.licence", "one_of", ["CC-BY-4.0"], "minor"),
        ),
        world.admin_a,
    )
    publish(
        gate_standard("GATE-MISSING", rule("privacy.exact_match_rate", "<=", 0.5, "major")),
        world.admin_a,
    )
    uk = gate_standard("GATE-UK", rule("quality.overall", ">=", 0.5, "blocking"))
    uk.jurisdictions = ["UK"]
    publish(uk, world.admin_a)
    return {
        "world": world,
        "url": live_server.url,
        "token": make_token(world.curator_a),
        "real": real,
        "holdout": holdout,
        "synthetic_dataset": synthetic_ds,
        "file": file,
    }


def lineage_of(version_id: int) -> list[tuple[int, str]]:
    return [(e.parent_id, e.relation) for e in LineageEdge.objects.filter(child_id=version_id)]
