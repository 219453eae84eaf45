"""Issue 11, finding 2: a certificate's suspension (its reason and the notifications it
sends) never names a restricted ancestor its readers may not see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from audits.certification import certificates as certification
from audits.certification.tasks import certificates_lineage_task
from audits.models import AuditRun, AuditStatus, Notification
from registry import services as registry_services
from synthgov.trail.models import Event
from tests.audits.certification import helpers as helpers
from tests.audits.certification.test_certification import certify
from tests.registry.conftest import make_dataset, make_version, placements_csv

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def test_suspension_for_a_replaced_parent_does_not_name_a_restricted_one(
    cert_world, django_capture_on_commit_callbacks
):
    world = cert_world["world"]
    # Org B's data was open when org A's version declared it as a parent...
    theirs = make_dataset(world, org="org_b", name="Beta private cohort", access="open")
    parent = make_version(theirs, world.curator_b, placements_csv(seed=21))
    registry_services.version_lineage_set(
        version=cert_world["synthetic"],
        user=world.curator_a,
        parents=[
            registry_services.ParentLink(cert_world["real"].pk, "trained_on"),
            registry_services.ParentLink(parent.pk, "merged_with"),
        ],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    certificate = certify(cert_world)
    # ...then org B restricted it and uploaded a new version.
    registry_services.dataset_update(
        dataset=theirs, user=world.curator_b, tags=["students"], access="restricted"
    )
    with django_capture_on_commit_callbacks():
        make_version(theirs, world.curator_b, placements_csv(seed=22))
    assert certificates_lineage_task.apply().get() == 1
    certificate.refresh_from_db()
    assert certificate.status == "suspended"
    assert "restricted source" in certificate.status_reason
    assert "Beta private cohort" not in certificate.status_reason
    trail = Event.objects.get(action="audits.certificate.suspended")
    assert "ancestor" not in trail.payload
    messages = list(Notification.objects.values_list("message", flat=True))
    assert messages and not any("Beta private cohort" in m for m in messages)
    for user in (world.curator_a, world.regulator):
        client = Client()
        client.force_login(user)
        assert "Beta private cohort" not in client.get("/").content.decode()
        assert (
            "Beta private cohort" not in client.get(certificate.get_absolute_url()).content.decode()
        )
    public = Client().get(f"/api/v1/certificates/{certificate.number}/verify/")
    assert "Beta private cohort" not in public.content.decode()


def test_review_skips_a_reaudit_whose_reference_is_no_longer_readable(
    certified_on_open_reference, django_capture_on_commit_callbacks
):
    # The re-audit would compute from another organisation's now restricted data: it is
    # not requested (the review goes on), and the holder is told why.
    cw = certified_on_open_reference
    registry_services.dataset_update(
        dataset=cw["theirs"], user=cw["world"].curator_b, tags=["students"], access="restricted"
    )
    later = cw["run"].finished + timedelta(days=90)
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = certification.certificates_review(now=later)
    assert outcome == {"suspended": 0, "reaudits_requested": 0}
    assert not callbacks and not AuditRun.objects.filter(status=AuditStatus.QUEUED).exists()
    message = Notification.objects.get(organisation=cw["world"].org_a).message
    assert "could not be requested" in message and "Beta public sample" not in message
    assert certification.certificates_review(now=later)["reaudits_requested"] == 0


@pytest.fixture
def certified_on_open_reference(cert_world):
    world = cert_world["world"]
    theirs = make_dataset(world, org="org_b", name="Beta public sample", kind="real", access="open")
    reference = make_version(theirs, world.curator_b, placements_csv(seed=31))
    run = helpers.record_audit(cert_world["synthetic"], reference, world.curator_a, helpers.GOOD)
    evaluation = helpers.evaluate(cert_world["synthetic"], cert_world["standard"])
    assert evaluation.sources and all(
        s.get("audit") == run.pk for s in evaluation.sources.values() if "audit" in s
    )
    certify(cert_world, evaluation)
    Notification.objects.all().delete()
    return {**cert_world, "theirs": theirs, "run": run}
