"""A certificate of a version made of linked tables names every table with its hash, the
offline verifier recomputes the version hash from them, and the certificate page and the
public verification page (with the token only) list the tables. A single-table version's
certificate states what it always stated."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audits.models import Certificate
from tests.audits.certification import helpers
from tests.audits.certification.files.test_verify_cli import run_verify
from tests.registry.relational_helpers import (
    AUDITED_CHILDREN,
    register_pair,
)

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

SINGLE_TABLE_VERSION_FIELDS = ["id", "number", "rows", "sha256", "size_bytes"]


def _certify(world, evaluation) -> str:
    for user in (world.curator_a, world.regulator):
        answer = helpers.api_sign(user, evaluation)
    return answer["certificate"]


def _token(user, number: str) -> str:
    client = APIClient()
    client.force_authenticate(user)
    link = client.get(f"/api/v1/certificates/{number}/").json()["verify_url"]
    (token,) = parse_qs(urlsplit(link).query)["token"]
    return token


@pytest.fixture
def linked(world, registry_storage, signing_keys):
    real = register_pair(world, "Linked real", kind="real")
    synthetic = register_pair(world, "Linked synthetic", AUDITED_CHILDREN.replace(b"7.5", b"7.0"))
    standard = helpers.publish_standard(world.admin_a)
    helpers.record_audit(synthetic, real, world.curator_a, helpers.GOOD)
    evaluation = helpers.evaluate(synthetic, standard)
    assert evaluation.status == "compliant", evaluation.results
    number = _certify(world, evaluation)
    return {"world": world, "synthetic": synthetic, "number": number}


def test_a_certificate_of_linked_tables_names_each_table_and_verifies_offline(linked, tmp_path):
    world, synthetic, number = linked["world"], linked["synthetic"], linked["number"]
    certificate = Certificate.objects.get(number=number)
    document = json.loads(certificate.signed_text)
    version = document["certificate"]["dataset_version"]
    tables = [{"name": t.name, "sha256": t.sha256} for t in synthetic.tables.order_by("name")]
    assert [t["name"] for t in tables] == ["children", "parents"]
    assert version["tables"] == tables
    assert version["sha256"] == synthetic.sha256

    keys = tmp_path / "keys.json"
    keys.write_bytes(Client().get("/.well-known/synthgov-keys.json").content)
    cert = tmp_path / "cert.json"
    cert.write_text(certificate.signed_text)
    done = run_verify(cert, "--public-key", keys)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("VALID signature")
    # Any table's hash changed in the file: the signature no longer covers it.
    for index in range(len(tables)):
        altered = json.loads(certificate.signed_text)
        altered["certificate"]["dataset_version"]["tables"][index]["sha256"] = "0" * 64
        cert.write_text(json.dumps(altered))
        done = run_verify(cert, "--public-key", keys)
        assert done.returncode == 1 and done.stdout.startswith("INVALID"), done.stdout

    # The certificate page and the public page with the token list the tables.
    client = Client()
    client.force_login(world.curator_a)
    page = client.get(f"/certificates/{number}/")
    assert page.status_code == 200
    token = _token(world.curator_a, number)
    public = Client().get(f"/certificates/verify/{number}/", {"token": token})
    for answer in (page, public):
        text = answer.content.decode()
        assert 'data-testid="certificate-tables"' in text
        assert "Version SHA-256" in text
        for table in tables:
            assert table["name"] in text and table["sha256"] in text
    verified = APIClient().get(f"/api/v1/certificates/{number}/verify/", {"token": token})
    assert verified.json()["certifies"]["dataset_version"]["tables"] == tables
    # The number alone tells whether it is in force, not what it certifies.
    unnamed = APIClient().get(f"/api/v1/certificates/{number}/verify/").content.decode()
    assert all(table["sha256"] not in unnamed for table in tables)
    alone = Client().get(f"/certificates/verify/{number}/").content.decode()
    assert 'data-testid="certificate-tables"' not in alone
    for table in tables:
        assert table["sha256"] not in alone


def test_a_single_table_certificate_states_what_it_always_stated(cert_world):
    world = cert_world["world"]
    number = _certify(world, cert_world["evaluation"])
    payload = json.loads(Certificate.objects.get(number=number).signed_text)["certificate"]
    assert sorted(payload["dataset_version"]) == SINGLE_TABLE_VERSION_FIELDS
    assert '"tables"' not in Certificate.objects.get(number=number).signed_text
    client = Client()
    client.force_login(world.curator_a)
    text = client.get(f"/certificates/{number}/").content.decode()
    assert "File SHA-256" in text and 'data-testid="certificate-tables"' not in text
