"""Each table's own figures in an audit of linked tables (issue 17): the single-table
checks run on every table (key columns left out, the holdout's table of the same name
read), stored and shown per table on the report and the API, judged by rules on one
table or on every table, and withheld from another organisation like every figure."""

from __future__ import annotations

import html
import json

import pytest
from django.urls import reverse

from audits.checks import relational
from audits.checks.base import ColumnSpec
from audits.checks.catalogue import RELATIONAL_KEYS
from audits.checks.context import AuditFrames
from audits.checks.runner import run_audit, run_relational_audit, table_config
from audits.models import AuditMetric, AuditStatus
from audits.runs import services
from registry import table_services
from tests.registry.conftest import make_dataset, make_version
from tests.registry.relational_helpers import (
    DEMO_TABLES,
    PAIR_KEYS,
    api_client,
    audit_now,
    demo_bytes,
    demo_frames,
    demo_metadata,
    register_pair,
    register_tables,
    run_now,
)

pytestmark = pytest.mark.usefixtures("registry_storage")

_SDTYPES = {"numerical", "categorical", "boolean", "datetime", "id"}


def _demo_columns() -> dict[str, list[ColumnSpec]]:
    tables = demo_metadata()["tables"]
    return {
        t: [
            ColumnSpec(name, meta["sdtype"] if meta["sdtype"] in _SDTYPES else "text")
            for name, meta in tables[t]["columns"].items()
        ]
        for t in DEMO_TABLES
    }


def test_each_table_is_audited_on_its_own_and_progress_moves_per_table():
    """Plain layer: the figures of each table are run_audit's on that table with its key
    columns as identifiers, tagged with the table; the progress never goes back and
    names each table."""
    schema = relational.RelationalSchema.from_sdmetrics(demo_metadata())
    real, synthetic = demo_frames("real"), demo_frames("synthetic")
    steps: list[tuple[str, float]] = []
    outcome = run_relational_audit(
        families={"integrity", "quality"},
        real=real,
        synthetic=synthetic,
        schema=schema,
        hash_verified=True,
        table_columns=_demo_columns(),
        progress=lambda label, fraction: steps.append((label, fraction)),
    )
    fractions = [f for _, f in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    for table in DEMO_TABLES:
        assert any(label.startswith(f"Table {table}: ") for label, _ in steps), table
    whole = [m for m in outcome.metrics if m.table is None]
    chosen = {k for k in RELATIONAL_KEYS if k.startswith(("integrity.", "quality."))}
    assert {m.key for m in whole} == chosen | {"integrity.hash_verified"}
    by_table = {(m.table, m.key): m for m in outcome.metrics if m.table}
    assert {t for t, _ in by_table} == set(DEMO_TABLES)
    assert not any(k == "integrity.hash_verified" for _, k in by_table)
    # The same figures as a single-table audit of that table, keys as identifiers.
    sessions = table_config(
        _demo_columns()["sessions"], {"session_id", "user_id"}, ["integrity", "quality"], 0
    )
    assert [c.name for c in sessions.columns if c.excluded_from_distances] == [
        "session_id",
        "user_id",
    ]
    alone = run_audit(
        config=sessions,
        frames=AuditFrames(real["sessions"], synthetic["sessions"]),
        registry_facts={"hash_verified": True},
    )
    for result in alone.metrics:
        if result.key != "integrity.hash_verified":
            assert by_table[("sessions", result.key)].value == result.value, result.key
    # Sessions repeat their device and OS once the keys are left out.
    assert by_table[("sessions", "integrity.duplicate_rate")].value == pytest.approx(0.6)
    shapes = json.dumps(by_table[("sessions", "quality.column_shapes")].details)
    assert "session_id" not in shapes and "user_id" not in shapes
    assert by_table[("sessions", "integrity.duplicate_rate")].to_json()["table"] == "sessions"


@pytest.fixture
def demo_trio(world):
    """SDMetrics' multi-table demo: real tables as the reference and, registered again,
    as the holdout; the synthetic tables as the audited version."""
    versions = []
    for kind, name in (("real", "reference"), ("real", "holdout"), ("synthetic", "synthetic")):
        dataset = make_dataset(
            world, kind="real" if kind == "real" else "fully_synthetic", name=f"Web {name}"
        )
        versions.append(
            register_tables(
                dataset,
                world.curator_a,
                {t: demo_bytes(t, kind) for t in DEMO_TABLES},
                metadata=demo_metadata(),
            )
        )
    return versions


def test_per_table_figures_are_stored_shown_and_listed_by_the_api(client, world, demo_trio):
    real, holdout, synthetic = demo_trio
    response = api_client(world.curator_a).post(
        "/api/v1/audits/",
        {
            "version": synthetic.pk,
            "reference": real.pk,
            "holdout": holdout.pk,
            "families": ["integrity", "quality", "privacy"],
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    run = run_now(response.json()["id"])
    assert run.status == AuditStatus.SUCCEEDED, run.error
    whole = set(AuditMetric.objects.filter(run=run, table="").values_list("key", flat=True))
    # Every relational figure of the families chosen is a figure of the whole version
    # (fairness was not chosen).
    chosen = {k for k in RELATIONAL_KEYS if not k.startswith("fairness.")}
    assert whole == chosen | {"integrity.hash_verified"}
    stored = {(m.table, m.key): m for m in run.metrics.exclude(table="")}
    assert {t for t, _ in stored} == set(DEMO_TABLES)
    for table in DEMO_TABLES:
        assert stored[(table, "quality.overall")].status == "ok", table
        # The holdout's table of the same name is read: figures that need one exist.
        dcr = stored[(table, "privacy.dcr_closer_to_training_share")]
        assert dcr.status == "ok" and dcr.value is not None, table
    assert stored[("sessions", "integrity.duplicate_rate")].value == pytest.approx(0.6)
    findings = [(t, m.finding) for (t, _), m in stored.items() if m.finding]
    assert findings and all(text.startswith(f"Table {t}: ") for t, text in findings)
    # The evidence keeps the table of each figure.
    tagged = [m for m in run.results["metrics"] if "table" in m]
    assert {m["table"] for m in tagged} == set(DEMO_TABLES)
    assert len(tagged) == len(stored)

    client.force_login(world.curator_a)
    for name in ("audits:run", "audits:report_html"):
        page = html.unescape(client.get(reverse(name, args=[run.pk])).content.decode())
        assert "Figures per table" in page, name
        for table in DEMO_TABLES:
            assert f'data-table="{table}"' in page and f"Table {table}" in page, (name, table)
        assert 'id="figure-sessions-integrity-duplicate-rate"' in page, name
        # The figures of the whole version come first, without any table's rows; the
        # summary's quality score stays the multi-table one.
        before = page.split('data-testid="table-figures"', 1)[0]
        whole_rows = before.split('class="card metric-family"', 1)[1]
        assert 'data-table="' not in whole_rows, name
        assert 'id="figure-integrity-duplicate-rate"' not in page, name
        score = page.split('data-family="quality"', 1)[1].split("</a>", 1)[0]
        assert "Overall multi-table quality" in score, name
    document = client.get(reverse("audits:report_json", args=[run.pk])).json()
    assert any(m.get("table") == "users" for m in document["results"]["metrics"])

    listed = api_client(world.curator_a).get(f"/api/v1/audits/{run.pk}/metrics/").json()
    by = {(m["table"], m["key"]): m for m in listed}
    assert by[("sessions", "integrity.duplicate_rate")]["value"] == pytest.approx(0.6)
    assert by[("", "quality.relational_overall")]["value"] == pytest.approx(0.62195, abs=1e-4)
    assert "columns" in by[("sessions", "integrity.out_of_domain_rate")]["details"]
    assert len(listed) == run.metrics.count()

    # Another organisation may not read the audited version: nothing, anywhere.
    client.force_login(world.curator_b)
    for name in ("audits:run", "audits:report_html", "audits:report_json"):
        answer = client.get(reverse(name, args=[run.pk]))
        assert answer.status_code == 404, name
        assert b"Table sessions" not in answer.content
    other = api_client(world.curator_b)
    assert other.get(f"/api/v1/audits/{run.pk}/metrics/").status_code == 404
    assert other.get(f"/api/v1/audits/{run.pk}/results/").status_code == 404


def _publish(world, *rules):
    from audits.standards import engine
    from audits.standards import services as standard_services

    spec = engine.StandardSpec(
        code="TABLES", name="Per table", version="1.0", scope="global", rules=list(rules)
    )
    draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    return standard_services.standard_publish(version=draft, user=world.admin_a)


def test_rules_judge_one_table_or_every_table_and_a_single_table_reads_as_before(
    client, world, demo_trio
):
    from audits.compliance import services as compliance
    from audits.standards import engine

    def rule(key, op, threshold, **extra):
        return engine.RuleSpec(key, op, threshold, "major", rationale="r", clause="c", **extra)

    standard = _publish(
        world,
        rule("integrity.duplicate_rate", "<=", 0.5, table="sessions"),
        rule("integrity.duplicate_rate", "<=", 0.7),
        rule("integrity.duplicate_rate", "<=", 0.1, table="users"),
        rule("privacy.exact_match_rate", "<=", 0.5),
        rule("integrity.out_of_domain_rate", "<=", 0.01, table="tumours"),
        rule("integrity.orphan_rate", "<=", 0.0),
    )
    real, _, synthetic = demo_trio
    run = audit_now(synthetic, real, ["integrity", "privacy"], world.curator_a)
    evaluation = compliance.evaluation_compute(dataset_version=synthetic, standard_version=standard)
    rules = {(r["key"], r["operator"], r.get("table", "")): r for r in evaluation.results["rules"]}
    on_sessions = rules[("integrity.duplicate_rate", "<=", "sessions")]
    assert (on_sessions["status"], on_sessions["value"]) == ("fail", pytest.approx(0.6))
    assert on_sessions["rule"] == "integrity.duplicate_rate ≤ 0.50 on table sessions"
    assert rules[("integrity.duplicate_rate", "<=", "")]["status"] == "pass"
    assert rules[("integrity.duplicate_rate", "<=", "users")]["status"] == "pass"
    copies = rules[("privacy.exact_match_rate", "<=", "")]
    assert copies["status"] == "fail" and copies["tables"]["sessions"] == "fail"
    assert "fails on 1 of 3 tables (sessions: privacy.exact_match_rate is 1" in copies["sentence"]
    tumours = rules[("integrity.out_of_domain_rate", "<=", "tumours")]
    assert tumours["status"] == "missing" and "has no table tumours" in tumours["sentence"]
    assert rules[("integrity.orphan_rate", "<=", "")]["status"] == "pass"
    assert evaluation.status == "non_compliant"
    assert evaluation.sources["integrity.duplicate_rate@sessions"] == {"audit": run.pk}
    client.force_login(world.curator_a)
    page = html.unescape(client.get(evaluation.get_absolute_url()).content.decode())
    assert "on table sessions" in page and "fails on 1 of 3 tables" in page

    # A single-table version: the rule on one table does not apply, the others read as
    # they always did (no table in their evidence).
    single = make_version(make_dataset(world, name="One table"), world.curator_a)
    one = compliance.evaluation_compute(dataset_version=single, standard_version=standard)
    by_rule = {(r["key"], r["operator"], r.get("table", "")): r for r in one.results["rules"]}
    assert by_rule[("integrity.duplicate_rate", "<=", "sessions")]["status"] == "not_applicable"
    assert by_rule[("integrity.duplicate_rate", "<=", "")]["status"] == "missing"
    assert not any("tables" in r for r in one.results["rules"])
    assert not any("@" in key for key in one.sources)


def test_key_columns_of_registered_tables_are_identifiers_in_their_tables_audit(world):
    real = register_pair(world, "Families real", kind="real")
    # The same rows under other key values: once the keys are left out, every child row
    # is an exact copy of a reference row.
    shifted = b"cid,pid,amount\n20,5,5.0\n21,5,7.5\n22,7,2.0\n23,6,1.0\n24,8,3.5\n"
    parents = b"pid,region\n5,north\n6,south\n7,north\n8,south\n"
    synthetic = register_tables(
        make_dataset(world, name="Families synthetic"),
        world.curator_a,
        {"parents": parents, "children": shifted},
        keys=PAIR_KEYS,
    )
    run = audit_now(synthetic, real, ["integrity", "privacy"], world.curator_a)
    assert run.metrics.get(table="children", key="privacy.exact_match_rate").value == 1.0
    assert run.metrics.get(table="parents", key="privacy.exact_match_rate").value == 1.0
    assert table_services.version_keys(synthetic).primary_keys == {
        "parents": "pid",
        "children": "cid",
    }


@pytest.mark.parametrize("reference_role", ["ancestor", "other real version"])
def test_each_table_gets_its_collapse_figures_against_the_real_ancestors_table(
    world, demo_trio, reference_role
):
    """The synthetic tables were trained on the real ones: each table is compared with
    the real ancestor's table of the same name (read with the reference, or from
    storage when the reference is another version), key columns left out."""
    from audits.checks.collapse import KEYS, collapse_metrics
    from registry import services as registry_services

    real, holdout, synthetic = demo_trio
    registry_services.version_lineage_set(
        version=synthetic,
        user=world.curator_a,
        parents=[registry_services.ParentLink(real.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    run = services.audit_run_request(
        version=synthetic,
        reference=real if reference_role == "ancestor" else holdout,
        holdout=None,
        config={"families": ["integrity"]},
        user=world.curator_a,
    )
    run = run_now(run.pk)
    assert run.status == AuditStatus.SUCCEEDED, run.error
    assert not run.metrics.filter(table="", key__startswith="collapse.").exists()
    depth = {m.table: m.value for m in run.metrics.filter(key=KEYS["generation_depth"])}
    assert depth == dict.fromkeys(DEMO_TABLES, 1.0)
    retention = run.metrics.get(table="sessions", key=KEYS["category_retention"])
    columns = {c.name: c.type for c in _demo_columns()["sessions"]}
    columns.update(session_id="id", user_id="id")
    expected = {
        m.key: m
        for m in collapse_metrics(
            demo_frames("real")["sessions"],
            demo_frames("synthetic")["sessions"],
            columns,
            generation_depth=1,
        )
    }
    assert retention.status == "ok"
    assert retention.value == expected[KEYS["category_retention"]].value
    figure = next(
        m
        for m in run.results["metrics"]
        if m.get("table") == "sessions" and m["key"] == KEYS["category_retention"]
    )
    assert figure["details"]["ancestor_version"] == real.pk


def test_a_linked_version_without_a_real_ancestor_has_its_collapse_figures_skipped(
    world, demo_trio
):
    from audits.checks.collapse import KEYS
    from audits.runs.inputs import NO_REAL_ANCESTOR

    real, _, synthetic = demo_trio
    run = audit_now(synthetic, real, ["integrity"], world.curator_a)
    skipped = run.metrics.filter(key=KEYS["tail_coverage"])
    assert {m.table for m in skipped} == set(DEMO_TABLES)
    assert all(m.status == "skipped" for m in skipped)
    reasons = {
        m["skip_reason"] for m in run.results["metrics"] if m["key"] == KEYS["tail_coverage"]
    }
    assert reasons == {NO_REAL_ANCESTOR}
