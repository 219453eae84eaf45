"""`make run` loads this demo: it must load, be idempotent and show each feature."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from audits.collapse.selectors import collapse_panel
from audits.models import (
    AuditMetric,
    AuditRun,
    AuditStatus,
    Certificate,
    ComplianceEvaluation,
    JurisdictionProfile,
    PopulationProfile,
)
from registry.models import DatasetVersion, LineageEdge
from synthgov.trail.models import TrailHead
from tests.audits.certification.helpers import signing_keys  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_demo_loads_once_and_shows_every_feature(registry_storage, signing_keys):  # noqa: F811
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "Demo loaded:" in out.getvalue()

    marked = DatasetVersion.objects.exclude(watermark_key_id="").get()
    assert marked.dataset.name == "Student placements — synthetic" and marked.number == 2
    assert LineageEdge.objects.filter(child=marked, relation="watermarked_from").exists()
    audit = marked.audits.get(status=AuditStatus.SUCCEEDED)
    figures = {m.key: m.value for m in AuditMetric.objects.filter(run=audit)}
    assert figures["provenance.watermark_detected"] == 1.0
    assert figures["provenance.manifest_valid"] == 1.0
    assert figures["collapse.generation_depth"] == 1.0  # a marked copy is not a new generation
    panel = collapse_panel(user=get_user_model().objects.get(username="curator"), version=marked)
    assert [row.generation for row in panel["rows"]] == [0, 1, 1]

    assert Certificate.objects.count() >= 1
    assert ComplianceEvaluation.objects.current().exists()
    call_command("verify_trail", stdout=io.StringIO())
    # A signed checkpoint of the demo's trail is published at once.
    latest = Client().get("/trail/checkpoints/latest.json")
    assert latest.status_code == 200
    assert latest.json()["checkpoint"]["seq"] == TrailHead.objects.get().last_seq

    # The shipped population profile is published and is the UK's default.
    shipped = PopulationProfile.objects.published().get()
    assert shipped.source_url.startswith("https://www.ons.gov.uk/")
    assert JurisdictionProfile.objects.get(jurisdiction__code="UK").profile == shipped

    # The relational demo: SDMetrics' users, sessions and transactions, real and synthetic,
    # with the keys its metadata declares.
    relational = DatasetVersion.objects.filter(table_count=3).select_related("dataset")
    assert sorted(v.dataset.name for v in relational) == [
        "Web sessions — real",
        "Web sessions — synthetic",
    ]
    for version in relational:
        assert list(version.tables.values_list("name", flat=True)) == [
            "users",
            "sessions",
            "transactions",
        ]
        assert version.keys_confirmed and version.relationships.count() == 2
    # The synthetic linked tables are audited against the real ones: a relational report.
    (run,) = AuditRun.objects.filter(version__table_count=3)
    assert run.version.dataset.name == "Web sessions — synthetic"
    assert run.reference.dataset.name == "Web sessions — real"
    assert run.status == AuditStatus.SUCCEEDED and run.config["families"] == [
        "fairness",
        "integrity",
        "privacy",
        "provenance",
        "quality",
    ]
    assert run.config["individuals_table"] == "users"
    assert run.config["fairness_parent_columns"] == ["users.gender"]
    figures = {m.key: m.value for m in AuditMetric.objects.filter(run=run)}
    # Privacy and fairness of the linked tables: the demo's 10 synthetic sessions all
    # repeat a real session's device and OS; 1 comes with its transactions as in the real.
    assert figures["privacy.family_exact_copy_rate"] == pytest.approx(0.1)
    assert figures["fairness.joined_representation_gap_max"] == pytest.approx(0.1)
    assert figures["privacy.individuals_linkage_risk"] is not None
    assert figures["integrity.orphan_rate"] == 0.0
    assert figures["quality.relational_overall"] == pytest.approx(0.62195, abs=1e-4)
    # Provenance of the whole version, from the registry: the demo's synthetic tables
    # record the real ones they were trained on and their generator.
    assert figures["provenance.lineage_complete"] == 1.0
    assert figures["provenance.generator_documented"] == 1.0
    assert figures["documentation.datasheet_completeness"] is not None
    client = Client()
    client.force_login(get_user_model().objects.get(username="officer"))
    report = client.get(f"/audits/{run.pk}/").content.decode()
    assert 'data-testid="relational-section"' in report and "sessions.user_id" in report

    counts = (DatasetVersion.objects.count(), Certificate.objects.count(), AuditRun.objects.count())
    call_command("load_demo", stdout=io.StringIO())
    assert (
        DatasetVersion.objects.count(),
        Certificate.objects.count(),
        AuditRun.objects.count(),
    ) == counts
    assert PopulationProfile.objects.count() == 1
