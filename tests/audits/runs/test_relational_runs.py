"""Audits of versions made of linked tables (issue 17, phase 2): requested through the
API, run in-process as the worker runs them, figures equal to the plain relational
checks, shown on the report, withheld from those who may not read the audited version,
and mismatched tables or keys refused with nothing stored."""

from __future__ import annotations

import html
import json

import pandas as pd
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from audits.checks import catalogue, relational
from audits.models import AuditMetric, AuditRun, AuditStatus
from audits.runs import services
from registry import table_services
from tests.registry.conftest import make_dataset
from tests.registry.relational_helpers import (
    AUDITED_CHILDREN,
    AUDITED_PARENTS,
    DEMO_DIR,
    DEMO_TABLES,
    ORPHANED_CHILDREN,
    PAIR_KEYS,
    api_audit_now,
    api_client,
    audit_now,
    audit_refused,
    demo_bytes,
    demo_metadata,
    register_pair,
    register_tables,
    run_now,
)

pytestmark = pytest.mark.usefixtures("registry_storage")

RELATIONAL_KEYS = (
    "integrity.orphan_rate",
    "integrity.key_violations",
    "quality.cardinality_shapes",
    "quality.intertable_trends",
    "quality.relational_overall",
)


@pytest.fixture
def demo_pair(world):
    """SDMetrics' multi-table demo: the real tables as the reference, the synthetic ones
    as the audited version, both with the demo metadata's keys."""
    real_ds = make_dataset(world, kind="real", name="Web sessions real")
    synth_ds = make_dataset(world, name="Web sessions synthetic")
    real = register_tables(
        real_ds, world.curator_a, {t: demo_bytes(t) for t in DEMO_TABLES}, metadata=demo_metadata()
    )
    synthetic = register_tables(
        synth_ds,
        world.curator_a,
        {t: demo_bytes(t, "synthetic") for t in DEMO_TABLES},
        metadata=demo_metadata(),
    )
    return real, synthetic


def _plain_figures(metadata: dict) -> dict[str, float | None]:
    """The plain checks on the demo's own CSV files, read with pandas alone."""
    schema = relational.RelationalSchema.from_sdmetrics(metadata)
    real = {t: pd.read_csv(DEMO_DIR / f"{t}_real.csv") for t in DEMO_TABLES}
    synthetic = {t: pd.read_csv(DEMO_DIR / f"{t}_synthetic.csv") for t in DEMO_TABLES}
    results = [
        relational.orphan_rate(synthetic, schema, reference=real),
        relational.key_violations(synthetic, schema),
        *relational.relational_quality_metrics(real, synthetic, schema),
    ]
    return {r.key: r.value for r in results}


def test_the_demo_pair_is_audited_with_the_plain_checks_figures(client, world, demo_pair):
    real, synthetic = demo_pair
    run = api_audit_now(world.curator_a, synthetic, real, ["integrity", "quality"])
    stored = dict(AuditMetric.objects.filter(run=run, table="").values_list("key", "value"))
    expected = _plain_figures(table_services.version_metadata(synthetic))
    assert set(RELATIONAL_KEYS) | {"integrity.hash_verified"} == set(stored)
    for key in RELATIONAL_KEYS:
        assert stored[key] == pytest.approx(expected[key], abs=1e-12), key
    # The demo's figures as SDMetrics' own report gives them (see the plain-layer tests).
    assert stored["quality.relational_overall"] == pytest.approx(0.62195, abs=1e-4)
    assert stored["quality.cardinality_shapes"] == pytest.approx(0.95, abs=1e-9)
    assert stored["integrity.orphan_rate"] == 0.0
    # The evidence names the keys used and every table's hash, per role.
    recorded = run.config["relational"]
    assert recorded["primary_keys"] == {"sessions": "session_id", "transactions": "transaction_id",
                                        "users": "user_id"}  # fmt: skip
    assert {r["child_table"] for r in recorded["relationships"]} == {"sessions", "transactions"}
    for role, version in (("synthetic", synthetic), ("reference", real)):
        assert recorded["tables"][role] == {t.name: t.sha256 for t in version.tables.all()}
    # The report shows them, by title, with their values.
    client.force_login(world.curator_a)
    for name in ("audits:run", "audits:report_html"):
        page = html.unescape(client.get(reverse(name, args=[run.pk])).content.decode())
        for key in ("integrity.orphan_rate", "quality.cardinality_shapes",
                    "quality.intertable_trends", "quality.relational_overall"):  # fmt: skip
            assert key in page, (name, key)
        assert "0.62" in page, name
        assert "Figures per table" in page, name
        # The quality score of the summary is the multi-table one, not "not computed".
        assert 'data-family="quality"' in page and "not computed" not in page, name
        score = page.split('data-family="quality"', 1)[1].split("</a>", 1)[0]
        assert "0.622" in score and "Overall multi-table quality" in score, score
        assert "sessions.user_id → users.user_id" in page, name


def test_a_planted_orphan_is_reported_with_its_key_to_readers_of_the_audited_version_only(
    client, world
):
    real = register_pair(world, "Families real", kind="real")
    synthetic = register_pair(world, "Families synthetic", ORPHANED_CHILDREN)
    run = api_audit_now(world.curator_a, synthetic, real, ["integrity"])
    orphans = run.metrics.get(key="integrity.orphan_rate")
    assert orphans.value == pytest.approx(1 / 5)
    assert "424242" in orphans.finding
    assert run.metrics.get(key="integrity.key_violations").value == 0.0
    assert not run.metrics.filter(key__startswith="quality.").exists()
    client.force_login(world.curator_a)
    page = html.unescape(client.get(reverse("audits:run", args=[run.pk])).content.decode())
    assert "<code>424242</code>" in page  # in the linked tables section's examples
    assert "children.pid → parents.pid" in page
    report = client.get(reverse("audits:report_json", args=[run.pk])).json()
    assert "424242" in json.dumps(report)
    # Another organisation may not read the restricted synthetic version: no figure,
    # no example, anywhere.
    client.force_login(world.curator_b)
    for name in ("audits:run", "audits:report_html", "audits:report_json"):
        answer = client.get(reverse(name, args=[run.pk]))
        assert answer.status_code == 404, name
        assert b"424242" not in answer.content
    api = api_client(world.curator_b)
    assert api.get(f"/api/v1/audits/{run.pk}/").status_code == 404
    listed = api.get("/api/v1/audits/")
    assert listed.status_code == 200 and b"424242" not in listed.content
    body = listed.json()
    assert run.pk not in [r["id"] for r in body["results"]]
    assert api.get(f"/api/v1/audits/{run.pk}/metrics/").status_code == 404


def test_mismatched_tables_keys_and_families_are_refused_with_nothing_stored(world, demo_pair):
    real, synthetic = demo_pair
    org = make_dataset(world, kind="real", name="Other tables")
    other = register_tables(
        org,
        world.curator_a,
        {"users": demo_bytes("users"), "parents": AUDITED_PARENTS, "children": AUDITED_CHILDREN},
        keys={
            "primary_keys": {"users": "user_id", **PAIR_KEYS["primary_keys"]},
            "foreign_keys": PAIR_KEYS["foreign_keys"],
        },
    )
    audit_refused(
        world,
        {"version": synthetic.pk, "reference": other.pk},
        "reference",
        "tables do not match the reference's tables",
        "missing children, parents",
        "extra sessions, transactions",
    )
    audit_refused(
        world,
        {"version": synthetic.pk, "reference": real.pk, "holdout": other.pk},
        "holdout",
        "tables do not match the audited version's tables",
        "missing sessions, transactions",
        "extra children, parents",
    )
    # Same tables, a foreign key fewer in the reference.
    metadata = demo_metadata()
    metadata["relationships"] = metadata["relationships"][:1]
    dropped = metadata_relationship_label(demo_metadata()["relationships"][1])
    fewer = register_tables(
        make_dataset(world, kind="real", name="Fewer keys"),
        world.curator_a,
        {t: demo_bytes(t) for t in DEMO_TABLES},
        metadata=metadata,
    )
    audit_refused(
        world,
        {"version": synthetic.pk, "reference": fewer.pk},
        "reference",
        "keys do not match the reference's keys",
        f"foreign key {dropped} not in the reference's",
    )
    # Every family applies to linked tables (provenance too); an unknown one is refused.
    refused = api_client(world.curator_a).post(
        "/api/v1/audits/",
        {"version": synthetic.pk, "reference": real.pk, "families": ["lineage"]},
        format="json",
    )
    assert refused.status_code == 400, refused.content
    (message,) = refused.json()["families"]["0"]
    assert "choose one or more of: integrity, quality, fairness, privacy, provenance" in message
    assert not AuditRun.objects.exists()


def metadata_relationship_label(relationship: dict) -> str:
    return (
        f"{relationship['child_table_name']}.{relationship['child_foreign_key']} -> "
        f"{relationship['parent_table_name']}.{relationship['parent_primary_key']}"
    )


def test_the_audit_page_of_linked_tables_says_what_is_measured(client, world, demo_pair):
    _, synthetic = demo_pair
    client.force_login(world.curator_a)
    page = client.get(reverse("audits:request", args=[synthetic.pk]))
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert "referential integrity" in text
    assert "arrive later" not in text
    assert "SynthGov watermarks single-table versions only" in text
    # The form offers every family and ticks them all, provenance included.
    for family in ("integrity", "quality", "fairness", "privacy", "provenance"):
        box = text.split(f'value="{family}"', 1)[1].split(">", 1)[0]
        assert "checked" in box, (family, box)


def test_an_altered_table_stops_the_audit_with_only_that_finding(world, demo_pair):
    real, synthetic = demo_pair
    run = services.audit_run_request(
        version=synthetic,
        reference=real,
        holdout=None,
        config={"families": ["integrity", "quality"]},
        user=world.curator_a,
    )
    table = synthetic.tables.get(name="sessions")
    with default_storage.open(table.file.name, "ab") as handle:
        handle.write(b"99,9,Mobile,Android,0\n")
    run = run_now(run.pk)
    assert run.status == AuditStatus.FAILED
    assert "no longer matches" in run.error
    figures = {m.key: m for m in run.metrics.all()}
    assert figures["integrity.hash_verified"].value == 0.0
    # Every figure of linked tables is skipped (the privacy and fairness ones too).
    assert set(figures) == {"integrity.hash_verified", *catalogue.RELATIONAL_KEYS}
    assert all(figures[k].status == "skipped" for k in catalogue.RELATIONAL_KEYS)


def test_linked_tables_get_the_provenance_figures_of_a_single_table_with_the_same_facts(
    client, world, demo_pair
):
    """Requested through the API, the provenance family of linked tables gives, once for
    the whole version, the figures a single-table audit gives for the same registry
    facts (datasheet, lineage, generator, compute, licence, manifest); the watermark
    figures are skipped with the reason. Each table's own figures are other families'."""
    from audits.checks import run_audit
    from audits.checks.base import AuditConfig, ColumnSpec
    from registry.models import Datasheet, Generation, LineageEdge

    real, synthetic = demo_pair
    LineageEdge.objects.create(child=synthetic, parent=real, relation="trained_on")
    Generation.objects.update_or_create(
        version=synthetic, defaults={"generator_type": "copula", "generator_library": "sdv"}
    )
    Datasheet.objects.update_or_create(
        version=synthetic,
        defaults={
            "motivation": "Share web sessions without exposing users.",
            "composition": "Users, their sessions and transactions.",
            "uses": "Testing analytics pipelines only.",
        },
    )
    run = api_audit_now(world.curator_a, synthetic, real, ["integrity", "provenance"])
    whole = {m.key: m for m in run.metrics.filter(table="")}
    provenance_keys = [k for k, spec in catalogue.METRICS.items() if spec.family == "provenance"]
    assert set(provenance_keys) <= set(whole)
    # Facts of the whole version: no table has its own.
    assert not run.metrics.filter(key__in=provenance_keys).exclude(table="").exists()
    assert run.metrics.exclude(table="").filter(key="integrity.duplicate_rate").count() == 3

    synthetic.refresh_from_db()  # the registry's facts as the worker read them
    facts = services.registry_facts(synthetic, hash_verified=True)
    users = pd.read_csv(DEMO_DIR / "users_synthetic.csv")
    single = run_audit(
        config=AuditConfig(
            columns=[ColumnSpec(c, "categorical") for c in users.columns],
            families={"provenance"},
        ),
        real=users,
        synthetic=users,
        registry_facts=facts,
    )
    stored = {r["key"]: r for r in run.results["metrics"] if not r.get("table")}
    for result in single.metrics:
        if result.key.startswith("provenance.watermark_"):
            continue
        assert stored[result.key] == result.to_json(), result.key
    assert whole["documentation.datasheet_completeness"].value == pytest.approx(3 / 12, abs=1e-4)
    assert whole["provenance.lineage_complete"].value == 1.0
    assert whole["provenance.generator_documented"].value == 1.0
    assert whole["provenance.compute_disclosed"].value == 0.0
    for key in ("provenance.watermark_detected", "provenance.watermark_strength"):
        assert whole[key].status == "skipped"
        assert stored[key]["skip_reason"] == "SynthGov watermarks single-table versions only"
    # The report shows them with the linked tables' figures.
    client.force_login(world.curator_a)
    page = html.unescape(client.get(reverse("audits:run", args=[run.pk])).content.decode())
    assert "documentation.datasheet_completeness" in page
    assert "SynthGov watermarks single-table versions only" in page


def test_keys_corrected_after_the_request_fail_the_run_with_the_reason(world, demo_pair):
    real, synthetic = demo_pair
    run = services.audit_run_request(
        version=synthetic,
        reference=real,
        holdout=None,
        config={"families": ["integrity"]},
        user=world.curator_a,
    )
    metadata = demo_metadata()
    metadata["relationships"] = metadata["relationships"][:1]
    table_services.version_keys_set(version=synthetic, user=world.curator_a, metadata=metadata)
    run = run_now(run.pk)
    assert run.status == AuditStatus.FAILED
    assert "keys of" in run.error and "changed after this audit was requested" in run.error
    assert not run.metrics.exists()


def test_a_standard_evaluates_the_audit_of_linked_tables_and_pages_render(client, world, demo_pair):
    from audits.compliance import services as compliance
    from audits.standards import engine
    from audits.standards import services as standard_services

    spec = engine.load_shipped_version("GLOBAL-BASELINE", "1.0")
    draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    standard_services.standard_publish(version=draft, user=world.admin_a)
    real, synthetic = demo_pair
    run = audit_now(synthetic, real, ["integrity", "quality"], world.curator_a)
    (evaluation,) = compliance.evaluations_recompute_for_version(dataset_version=synthetic)
    rules = {r["key"]: r for r in evaluation.results["rules"]}
    # The baseline's single-table figures are judged on every table: users and
    # transactions fall short of its quality minimum, sessions meets it.
    quality = rules["quality.overall"]
    assert quality["status"] == "fail"
    assert quality["tables"] == {"sessions": "pass", "transactions": "fail", "users": "fail"}
    assert "fails on 2 of 3 tables (users: quality.overall is 0.4971" in quality["sentence"]
    assert quality["value"] == pytest.approx(0.49709, abs=1e-4)
    client.force_login(world.curator_a)
    for url in (synthetic.get_absolute_url(), reverse("audits:run", args=[run.pk])):
        assert client.get(url).status_code == 200, url


def test_relational_rules_do_not_apply_to_a_single_table_and_are_missing_without_an_audit(
    world, demo_pair
):
    """Through figures_for and evaluation_compute: a blocking rule on orphans reads not
    applicable for a single-table version, missing for linked tables not yet audited, and
    is judged once a relational audit ran; the evidence's sources never list a figure that
    does not apply."""
    from audits.compliance import services as compliance
    from audits.standards import engine
    from audits.standards import services as standard_services
    from tests.registry.conftest import make_version

    spec = engine.StandardSpec(
        code="LINKS",
        name="Linked tables",
        version="1.0",
        scope="global",
        rules=[
            engine.RuleSpec(
                "integrity.orphan_rate", "<=", 0.0, "blocking", rationale="r", clause="c"
            ),
            engine.RuleSpec(
                "quality.cardinality_shapes", ">=", 0.8, "major", rationale="r", clause="c"
            ),
        ],
    )
    draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    standard = standard_services.standard_publish(version=draft, user=world.admin_a)
    real, synthetic = demo_pair
    single = make_version(make_dataset(world, name="One table"), world.curator_a)

    one = compliance.evaluation_compute(dataset_version=single, standard_version=standard)
    assert (one.status, one.missing_count, one.fail_count) == ("compliant", 0, 0)
    assert {r["status"] for r in one.results["rules"]} == {"not_applicable"}
    assert all(
        r["reason"] == "the version is a single table: it has no relationships"
        for r in one.results["rules"]
    )
    assert not set(one.sources) & set(RELATIONAL_KEYS)

    before = compliance.evaluation_compute(dataset_version=synthetic, standard_version=standard)
    assert before.status == "incomplete"
    assert {r["status"] for r in before.results["rules"]} == {"missing"}

    run = services.audit_run_request(
        version=synthetic,
        reference=real,
        holdout=None,
        config={"families": ["integrity", "quality"]},
        user=world.curator_a,
    )
    assert run_now(run.pk).status == AuditStatus.SUCCEEDED
    after = compliance.evaluation_compute(dataset_version=synthetic, standard_version=standard)
    judged = {r["key"]: r for r in after.results["rules"]}
    assert judged["integrity.orphan_rate"]["status"] == "pass"
    assert judged["quality.cardinality_shapes"]["status"] == "pass"
    assert judged["quality.cardinality_shapes"]["value"] == pytest.approx(0.95)
    assert after.sources["integrity.orphan_rate"] == {"audit": run.pk}
