"""The lineage view's badges: each version's compliance status and certificate, as
the audits app answers ``registry.signals.lineage_view_badges``, on the dataset page."""

from __future__ import annotations

import json
import re

from django.test import Client

from audits.certification import certificates as certification
from audits.version_page import lineage_badges
from tests.audits.certification import helpers
from tests.audits.certification.test_certification import certify

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def lineage_data(user, dataset_id: int) -> dict:
    client = Client()
    client.force_login(user)
    response = client.get(f"/datasets/{dataset_id}/")
    assert response.status_code == 200
    match = re.search(
        r'<script id="lineage-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match
    return {n["id"]: n for n in json.loads(match.group(1))["nodes"]}


def test_status_and_certificate_of_each_version(cert_world) -> None:
    world, synthetic, real = cert_world["world"], cert_world["synthetic"], cert_world["real"]

    nodes = lineage_data(world.curator_a, synthetic.dataset_id)

    assert nodes[f"v{synthetic.pk}"]["status"] == {
        "code": "compliant",
        "label": "Compliant",
        "colour": "green",
        "symbol": "✓",
    }
    assert nodes[f"v{synthetic.pk}"]["certificate"] is None
    assert nodes[f"v{real.pk}"]["status"]["code"] == "not_audited"

    certificate = certify(cert_world)
    nodes = lineage_data(world.curator_a, synthetic.dataset_id)
    assert nodes[f"v{synthetic.pk}"]["certificate"] == {
        "number": certificate.number,
        "status": "valid",
        "label": f"Certificate {certificate.number}: valid",
        "url": certificate.get_absolute_url(),
    }

    certification.certificate_suspend(certificate=certificate, reason="Stored file altered.")
    nodes = lineage_data(world.curator_a, synthetic.dataset_id)
    assert nodes[f"v{synthetic.pk}"]["certificate"]["status"] == "suspended"


def test_another_organisation_reads_no_status_of_hidden_versions(cert_world) -> None:
    # Organisation B may not see A's restricted datasets: the page is a 404 and
    # the receiver, asked directly, answers nothing for versions B cannot read.
    world, synthetic = cert_world["world"], cert_world["synthetic"]
    client = Client()
    client.force_login(world.curator_b)
    assert client.get(f"/datasets/{synthetic.dataset_id}/").status_code == 404
    certify(cert_world)
    assert lineage_badges(sender=None, user=world.curator_b, version_ids=[synthetic.pk]) == {}
    answer = lineage_badges(sender=None, user=world.curator_a, version_ids=[synthetic.pk])
    assert answer[synthetic.pk]["status"]["code"] == "compliant"
