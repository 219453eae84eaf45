"""The public pages of openly published versions: no account, 404 for anything not
published exactly as for an unknown id, and nothing read from data that is not
published (lineage, audit figures, manifest)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from audits.models import AuditRun, Certificate
from audits.provenance import services as provenance
from audits.publishing import selectors
from audits.publishing import services as publishing
from audits.runs import services as audit_services
from registry import services as registry_services
from registry.models import DatasetVersion
from synthgov.signing.manifests import manifest_verify
from tests.audits.certification import helpers as cert_helpers
from tests.audits.certification.test_certificate_public import sign
from tests.audits.publishing.conftest import add_version, frame, watermark_it
from tests.registry.conftest import make_dataset

cert_world = cert_helpers.cert_world
signing_keys = cert_helpers.signing_keys


@pytest.fixture
def published(world, marked):
    return publishing.version_publish(version=marked, user=world.curator_a)


def test_the_landing_page_is_public_and_links_the_files(published):
    client = Client()
    response = client.get(f"/open/versions/{published.pk}/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
    page = response.content.decode()
    assert published.sha256 in page
    assert f"{published.size_bytes} bytes" in page
    assert f'href="/open/versions/{published.pk}/download/"' in page
    assert f'href="/open/versions/{published.pk}/croissant.json"' in page
    assert f'href="/open/versions/{published.pk}/manifest.json"' in page
    assert published.watermark_key_id in page
    # The linked files answer to the anonymous reader too (served by registry.open_views).
    download = client.get(f"/open/versions/{published.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"score,salary,region")


def test_the_index_lists_only_published_versions(world, published, synthetic):
    other = make_dataset(world, name="Beta hidden", org="org_b")
    add_version(other, world.curator_b, frame(seed=3))
    response = Client().get("/open/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="/open/versions/{published.pk}/"' in page
    assert "Synthetic placements" in page and "Alpha Synthetics" in page and "CC-BY-4.0" in page
    assert published.published_at.strftime("%Y-%m-%d") in page
    assert "Beta hidden" not in page
    assert f'href="/open/versions/{synthetic.pk}/"' not in page


def test_an_empty_index_says_so(world):
    response = Client().get("/open/")
    assert "Nothing is published openly yet." in response.content.decode()


@pytest.mark.parametrize("suffix", ["", "manifest.json", "download/", "croissant.json"])
def test_unpublished_versions_answer_exactly_like_unknown_ids(world, synthetic, marked, suffix):
    client = Client()
    unknown = DatasetVersion.objects.order_by("-pk").first().pk + 100
    answers = [client.get(f"/open/versions/{pk}/{suffix}") for pk in (marked.pk, unknown)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].content == answers[1].content
    # ... also once it was published and withdrawn again.
    publishing.version_publish(version=marked, user=world.curator_a)
    shown = client.get(f"/open/versions/{marked.pk}/{suffix}")
    assert shown.status_code == 200
    if shown.streaming:
        b"".join(shown.streaming_content)  # the test client closes the file at the end
    publishing.version_withdraw(version=marked, user=world.curator_a)
    again = client.get(f"/open/versions/{marked.pk}/{suffix}")
    assert again.status_code == 404 and again.content == answers[1].content


@pytest.mark.parametrize("bad", ["99999999999999999999999", "9223372036854775808"])
def test_ids_out_of_range_are_not_found(world, bad):
    assert Client().get(f"/open/versions/{bad}/").status_code == 404
    assert Client().get(f"/open/versions/{bad}/manifest.json").status_code == 404


def test_the_public_manifest_verifies_and_names_no_unpublished_parent(world, published, synthetic):
    response = Client().get(f"/open/versions/{published.pk}/manifest.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    keys = provenance.organisation_keys(world.org_a)
    assert manifest_verify(document, {keys.signing_kid: keys.public_key}).valid
    manifest = document["manifest"]
    assert manifest["version"]["sha256"] == published.sha256
    assert manifest["watermark"]["key_id"] == published.watermark_key_id
    # Its source (unpublished, same restricted dataset) is a relation, not a name.
    assert manifest["parents"] == [
        {
            "version": None,
            "sha256": None,
            "relation": "watermarked_from",
            "label": "restricted source",
        }
    ]
    assert synthetic.sha256 not in response.content.decode()
    # The signed-in manifest of the same version names it: the public one is stricter.
    inner = provenance.version_manifest(version=published)
    assert inner["manifest"]["parents"][0]["sha256"] == synthetic.sha256


def test_lineage_names_only_published_versions_and_counts_the_others(world, published, synthetic):
    real = add_version(
        make_dataset(world, name="Secret real", kind="real"), world.curator_a, frame()
    )
    registry_services.version_lineage_set(
        version=published,
        user=world.curator_a,
        parents=[
            registry_services.ParentLink(real.pk, "trained_on"),
            registry_services.ParentLink(synthetic.pk, "watermarked_from"),
        ],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    # A published child is named and linked from its parent's page.
    child_ds = make_dataset(world, name="Child data")
    child = watermark_it(add_version(child_ds, world.curator_a, frame(seed=4)), world.curator_a)
    registry_services.version_lineage_set(
        version=child,
        user=world.curator_a,
        parents=[registry_services.ParentLink(published.pk, "derived_from")],
        generation={},
    )
    # (lineage_set replaced the child's "watermarked from" edge; it stays watermarked.)
    publishing.version_publish(version=child, user=world.curator_a)
    page = Client().get(f"/open/versions/{published.pk}/").content.decode()
    assert "trained on 1 version that is not published" in page
    assert "watermarked from 1 version that is not published" in page
    assert "Secret real" not in page and real.sha256 not in page
    assert f'href="/open/versions/{real.pk}/"' not in page
    assert f'href="/open/versions/{synthetic.pk}/"' not in page
    assert f'href="/open/versions/{child.pk}/"' in page
    child_page = Client().get(f"/open/versions/{child.pk}/").content.decode()
    assert f'derived from <a href="/open/versions/{published.pk}/">' in child_page


def test_audit_figures_against_a_restricted_reference_are_withheld(world, published):
    """A figure computed against a restricted real dataset would give its information
    away (e.g. a fidelity score together with the open file); only the figures that
    read the published version alone are shown."""
    real = add_version(
        make_dataset(world, name="Secret real", kind="real"), world.curator_a, frame(seed=9)
    )
    run = cert_helpers.record_audit(
        published,
        real,
        world.curator_a,
        {
            "quality.overall": 0.812345,
            "quality.range_coverage": 0.456789,
            "provenance.manifest_valid": 1.0,
            "provenance.watermark_strength": 12.5,
        },
    )
    page = Client().get(f"/open/versions/{published.pk}/").content.decode()
    assert 'data-metric="provenance.manifest_valid"' in page
    assert 'data-metric="provenance.watermark_strength"' in page
    assert "12.5" in page
    assert "quality.overall" not in page and "quality.range_coverage" not in page
    assert "0.812" not in page and "0.457" not in page and "0.4568" not in page
    assert "2 figure(s) of this audit compared the version with data that is not published" in page
    assert "Secret real" not in page and real.sha256 not in page
    summary = selectors.public_audit_summary(published)
    assert summary.run == run and not summary.complete and summary.withheld == 2


def test_figures_are_shown_in_full_when_every_input_is_published(world, published):
    reference = watermark_it(
        add_version(make_dataset(world, name="Other open"), world.curator_a, frame(seed=5)),
        world.curator_a,
    )
    publishing.version_publish(version=reference, user=world.curator_a)
    cert_helpers.record_audit(published, reference, world.curator_a, {"quality.overall": 0.812345})
    summary = selectors.public_audit_summary(published)
    assert summary.complete and summary.withheld == 0
    assert [f.key for f in summary.figures] == ["quality.overall"]
    # Withdrawing the reference withholds the figure again.
    publishing.version_withdraw(version=reference, user=world.curator_a)
    assert selectors.public_audit_summary(published).withheld == 1


def test_a_real_audit_against_a_restricted_reference_shows_nothing_of_it(world, published):
    """The same, with figures the audit worker computed (quality, provenance and the
    collapse figures against the real ancestor)."""
    real = add_version(
        make_dataset(world, name="Secret real", kind="real"), world.curator_a, frame(seed=9)
    )
    registry_services.version_lineage_set(
        version=published,
        user=world.curator_a,
        parents=[registry_services.ParentLink(real.pk, "trained_on")],
        generation={"generator_type": "copula"},
    )
    config = {**audit_services.default_config(published), "families": ["quality", "provenance"]}
    run = audit_services.audit_run_request(
        version=published, reference=real, holdout=None, config=config, user=world.curator_a
    )
    run = audit_services.audit_run_execute(
        run_id=run.pk, token=audit_services.audit_run_claim(run_id=run.pk)
    )
    assert run.status == "succeeded", run.error
    page = Client().get(f"/open/versions/{published.pk}/").content.decode()
    shown = set(selectors.SELF_FIGURES)
    for metric in run.metrics.all():
        if metric.key in shown:
            assert f'data-metric="{metric.key}"' in page
        else:
            assert metric.key not in page, metric.key
    assert 'data-metric="quality.overall"' not in page
    assert 'data-metric="collapse.variance_ratio"' not in page
    assert "Secret real" not in page and real.sha256 not in page
    assert AuditRun.objects.filter(version=published).count() == 1


def test_certificates_are_listed_by_number_and_status_without_their_token(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    assert sign(world.curator_a, evaluation).status_code == 201
    number = sign(world.regulator, evaluation).json()["certificate"]
    synthetic = cert_world["synthetic"]
    # The page is about what is shown once published (the refusals are tested apart).
    DatasetVersion.objects.filter(pk=synthetic.pk).update(published_at=timezone.now())
    page = Client().get(f"/open/versions/{synthetic.pk}/").content.decode()
    assert f'href="/certificates/verify/{number}/"' in page
    assert "CERT-TEST@1.0" in page and "valid" in page
    assert Certificate.objects.get(number=number).verify_token not in page
