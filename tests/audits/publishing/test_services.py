"""Publishing a version openly through the service: every refusal, the trail, the
permission rule, the row lock and the ``registry.published_openly`` fact."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection

from audits.compliance import services as compliance
from audits.models import ComplianceEvaluation
from audits.publishing import services as publishing
from audits.standards import engine
from audits.standards import services as standard_services
from registry.models import DatasetVersion
from synthgov.signing.manifests import organisation_keys_load
from synthgov.trail.models import Event
from tests.audits.publishing.conftest import add_version, frame, watermark_it
from tests.registry.conftest import make_dataset


def test_a_watermarked_synthetic_version_with_a_valid_manifest_may_be_published(world, marked):
    assert publishing.publication_refusals(marked) == []
    published = publishing.version_publish(version=marked, user=world.curator_a)
    assert published.is_published and published.published_by == world.curator_a
    assert DatasetVersion.objects.published().get() == marked
    event = Event.objects.get(action="registry.version.published")
    assert event.object_id == str(marked.pk)
    assert event.actor == world.curator_a
    assert event.payload["sha256"] == marked.sha256
    assert event.payload["watermark_key_id"] == marked.watermark_key_id
    assert event.payload["page"] == f"/open/versions/{marked.pk}/"


def test_real_data_is_refused_and_told_why(world, registry_storage):
    real = add_version(make_dataset(world, name="Real", kind="real"), world.curator_a, frame())
    reasons = publishing.publication_refusals(real)
    assert reasons == [publishing.REAL_DATA]
    assert "Real data cannot be published openly" in reasons[0]
    with pytest.raises(ValidationError) as refused:
        publishing.version_publish(version=real, user=world.curator_a)
    assert refused.value.messages == reasons
    real.refresh_from_db()
    assert not real.is_published
    assert not Event.objects.filter(action="registry.version.published").exists()


def test_an_unwatermarked_version_is_refused_with_the_way_to_watermark_it(world, synthetic):
    reasons = publishing.publication_refusals(synthetic)
    assert reasons == [publishing.NOT_WATERMARKED]
    assert reasons[0].startswith("Watermark this version first: Watermark →")
    with pytest.raises(ValidationError):
        publishing.version_publish(version=synthetic, user=world.curator_a)
    synthetic.refresh_from_db()
    assert synthetic.published_at is None


def test_a_mark_made_with_a_key_the_organisation_no_longer_holds_is_refused(
    world, marked, settings
):
    # The organisation's keys were replaced (a new folder makes new keys).
    settings.SYNTHGOV_ORG_KEYS_DIR = settings.SYNTHGOV_ORG_KEYS_DIR.parent / "rotated"
    keys = organisation_keys_load(settings.SYNTHGOV_ORG_KEYS_DIR, "alpha", create=True)
    assert keys.watermark_key_id != marked.watermark_key_id
    reasons = publishing.publication_refusals(marked)
    assert len(reasons) == 1
    assert f"(key {marked.watermark_key_id}) was not made with Alpha Synthetics's" in reasons[0]


def test_a_stored_file_that_changed_is_refused_on_publish(world, marked):
    path = default_storage.path(marked.file.name)
    with open(path, "ab") as handle:
        handle.write(b"1,2,north\n")
    # The version page's panel does not hash the file; publishing does.
    assert publishing.publication_refusals(marked, rehash=False) == []
    with pytest.raises(ValidationError) as refused:
        publishing.version_publish(version=marked, user=world.curator_a)
    assert any("no longer matches the SHA-256" in m for m in refused.value.messages)
    marked.refresh_from_db()
    assert not marked.is_published


def test_a_missing_stored_file_is_refused(world, marked):
    default_storage.delete(marked.file.name)
    reasons = publishing.publication_refusals(marked)
    assert any("stored file of this version is missing" in r for r in reasons)


def test_unreadable_keys_are_refused_once_with_what_to_do(world, marked, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.SYNTHGOV_ORG_KEYS_DIR = blocker
    reasons = publishing.publication_refusals(marked)
    assert len(reasons) == 1
    assert "SYNTHGOV_ORG_KEYS_DIR" in reasons[0]


def test_checklist_names_each_condition(world, synthetic, marked):
    before = publishing.publication_checklist(synthetic)
    assert [(c.label, c.met) for c in before] == [
        ("Synthetic data", True),
        ("Carries Alpha Synthetics's watermark", False),
        ("Signed provenance manifest verifies", True),
    ]
    assert all(c.met for c in publishing.publication_checklist(marked))


def test_publishing_twice_or_withdrawing_an_unpublished_version_changes_nothing(world, marked):
    with pytest.raises(publishing.PublicationConflict, match="is not published openly"):
        publishing.version_withdraw(version=marked, user=world.curator_a)
    publishing.version_publish(version=marked, user=world.curator_a)
    first = DatasetVersion.objects.get(pk=marked.pk).published_at
    with pytest.raises(publishing.PublicationConflict, match="already published openly"):
        publishing.version_publish(version=marked, user=world.curator_a)
    again = DatasetVersion.objects.get(pk=marked.pk)
    assert again.published_at == first and again.published_by == world.curator_a
    assert Event.objects.filter(action="registry.version.published").count() == 1
    assert not Event.objects.filter(action="registry.version.withdrawn").exists()


def test_withdrawing_clears_the_publication_and_is_recorded(world, marked):
    publishing.version_publish(version=marked, user=world.curator_a)
    withdrawn = publishing.version_withdraw(version=marked, user=world.curator_a)
    assert withdrawn.published_at is None and withdrawn.published_by is None
    assert not DatasetVersion.objects.published().exists()
    event = Event.objects.get(action="registry.version.withdrawn")
    assert event.actor == world.curator_a and event.object_id == str(marked.pk)
    assert "published_at" in event.payload


@pytest.mark.parametrize("who", ["officer_a", "admin_a", "regulator", "curator_b", "outsider"])
def test_only_those_who_may_change_the_dataset_publish_or_withdraw(world, marked, who):
    user = getattr(world, who)
    with pytest.raises(publishing.PublicationForbidden):
        publishing.version_publish(version=marked, user=user)
    publishing.version_publish(version=marked, user=world.curator_a)
    with pytest.raises(publishing.PublicationForbidden):
        publishing.version_withdraw(version=marked, user=user)
    marked.refresh_from_db()
    assert marked.is_published
    assert Event.objects.filter(action__startswith="registry.version.publ").count() == 1


REQUIRES_OPEN = """\
code: OPEN-ONLY
name: Open synthetic data
version: '1.0'
scope: global
dataset_kinds: [fully_synthetic]
rules:
  - key: registry.published_openly
    operator: '='
    threshold: true
    severity: blocking
    rationale: Synthetic data made with public money is published openly.
    clause: Test clause
"""


def test_a_standard_may_require_open_publication_and_is_re_evaluated(world, marked):
    spec, problems = engine.parse_yaml(REQUIRES_OPEN)
    assert not problems, problems
    draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    standard = standard_services.standard_publish(version=draft, user=world.admin_a)
    compliance.evaluations_recompute_for_version(dataset_version=marked)

    def rule_status() -> str:
        evaluation = ComplianceEvaluation.objects.get(
            dataset_version=marked, standard_version=standard, is_current=True
        )
        (rule,) = [
            r for r in evaluation.results["rules"] if r["key"] == "registry.published_openly"
        ]
        return rule["status"]

    assert rule_status() == "fail"
    publishing.version_publish(version=marked, user=world.curator_a)
    assert rule_status() == "pass"  # re-evaluated by publishing, no audit needed
    publishing.version_withdraw(version=marked, user=world.curator_a)
    assert rule_status() == "fail"


def test_the_fact_is_declared_for_standards():
    spec = engine.REGISTRY_FACTS["registry.published_openly"]
    assert spec.value_type == "boolean"
    assert "published openly" in spec.description


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_concurrent_publications_publish_once(world, registry_storage, settings, tmp_path):
    dataset = make_dataset(world, name="Concurrent")
    marked = watermark_it(add_version(dataset, world.curator_a, frame()), world.curator_a)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def publish() -> None:
        try:
            version = DatasetVersion.objects.select_related("dataset__organisation").get(
                pk=marked.pk
            )
            barrier.wait()
            publishing.version_publish(version=version, user=world.curator_a)
            outcomes.append("published")
        except publishing.PublicationConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "published"]
    assert Event.objects.filter(action="registry.version.published").count() == 1
