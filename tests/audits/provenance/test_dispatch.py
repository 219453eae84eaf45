"""The watermark runs' sweeper: a run whose worker died does not stay "running"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from registry.models import WatermarkRun
from synthgov.trail.models import Event
from tests.audits.provenance.test_provenance import TOLERANCES, add_version, frame
from tests.registry.conftest import make_dataset

pytestmark = pytest.mark.usefixtures("registry_storage")


@pytest.fixture
def run(world: Any, settings: Any, tmp_path: Any) -> WatermarkRun:
    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "keys"
    source = add_version(make_dataset(world), world.curator_a, frame().to_csv(index=False).encode())
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.post(
        f"/api/v1/versions/{source.pk}/watermark/", {"tolerances": TOLERANCES}, format="json"
    )
    assert response.status_code == 202
    return WatermarkRun.objects.get(pk=response.json()["id"])


def test_sweeper_fails_a_watermark_run_whose_worker_died(run, settings):
    # What a killed worker leaves: claimed, then nothing, past the task time limit.
    started = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 120)
    WatermarkRun.objects.filter(pk=run.pk).update(status="running", started=started)
    call_command("sweep_runs")
    call_command("sweep_runs")
    run.refresh_from_db()
    assert run.status == WatermarkRun.Status.FAILED
    assert "stopped before it finished" in run.error
    assert Event.objects.filter(action="registry.watermark.failed").count() == 1


def test_sweeper_leaves_a_watermark_run_a_worker_may_still_hold(run):
    WatermarkRun.objects.filter(pk=run.pk).update(status="running", started=timezone.now())
    call_command("sweep_runs")
    assert WatermarkRun.objects.get(pk=run.pk).status == WatermarkRun.Status.RUNNING
