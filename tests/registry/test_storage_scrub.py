"""Stored files that disappear or change: downloads answer 410, and the storage
scrub re-hashes files on a rotating schedule and suspends their certificates."""

from __future__ import annotations

from pathlib import Path

from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audits.models import Certificate, CertificateStatus
from registry.models import StorageCheck
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.audits.certification import helpers as helpers
from tests.audits.certification.test_certification import certify
from tests.registry.conftest import make_dataset, make_version, placements_csv

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def stored(version) -> Path:
    return Path(default_storage.path(version.file.name))


def test_download_of_a_missing_file_answers_410_with_a_message(world, registry_storage, client):
    version = make_version(make_dataset(world), world.curator_a)
    stored(version).unlink()
    api = APIClient()
    api.force_authenticate(world.curator_a)
    response = api.get(f"/api/v1/versions/{version.pk}/download/")
    assert response.status_code == 410
    assert "missing from storage" in response.json()["detail"]
    client.force_login(world.curator_a)
    page = client.get(f"/versions/{version.pk}/download/")
    assert page.status_code == 410
    assert "missing from storage" in page.content.decode()


def test_scrub_command_checks_oldest_first_in_bounded_batches(world, registry_storage):
    dataset = make_dataset(world)
    versions = [make_version(dataset, world.curator_a, placements_csv(seed=s)) for s in range(3)]
    call_command("storage_scrub", "--batch", "2")
    checked = list(StorageCheck.objects.order_by("id").values_list("version_id", flat=True))
    assert checked == [versions[0].pk, versions[1].pk]
    call_command("storage_scrub", "--batch", "2")
    # The one never checked comes first, then the one checked longest ago.
    checked = list(StorageCheck.objects.order_by("id").values_list("version_id", flat=True))
    assert checked[2:] == [versions[2].pk, versions[0].pk]
    assert StorageCheck.objects.count() == 4
    assert set(StorageCheck.objects.values_list("outcome", flat=True)) == {"ok"}


def test_scrub_records_altered_and_missing_files_and_suspends_certificates(cert_world):
    certificate = certify(cert_world)
    synthetic, real = cert_world["synthetic"], cert_world["real"]
    with stored(synthetic).open("ab") as handle:
        handle.write(b"\n")
    stored(real).unlink()
    call_command("storage_scrub", "--all")
    outcomes = dict(StorageCheck.objects.values_list("version_id", "outcome"))
    assert outcomes == {synthetic.pk: "altered", real.pk: "missing"}
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.SUSPENDED
    assert "altered" in certificate.status_reason
    assert Event.objects.filter(action="registry.storage.altered").count() == 1
    assert Event.objects.filter(action="registry.storage.missing").count() == 1
    # Running it again records the results again but suspends nothing twice.
    call_command("storage_scrub", "--all")
    assert StorageCheck.objects.count() == 4
    assert Event.objects.filter(action__startswith="registry.storage.").count() == 2
    assert Event.objects.filter(action="audits.certificate.suspended").count() == 1
    assert Certificate.objects.get(pk=certificate.pk).status == CertificateStatus.SUSPENDED
    assert trail_verify().ok


def test_scrub_check_times_rotate(world, registry_storage):
    version = make_version(make_dataset(world), world.curator_a)
    call_command("storage_scrub")
    first = StorageCheck.objects.get(version=version)
    assert first.outcome == "ok" and first.checked <= timezone.now()
    assert first.sha256 == version.sha256
