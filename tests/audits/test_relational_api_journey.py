"""Linked tables through the API, the whole loop (issue 17): SDMetrics' multi-table demo
registered (the real tables as a zip with SDMetrics' metadata, the synthetic files with
the keys SynthGov proposes, then confirmed with PUT), audited by the tasks the worker
runs, figures that agree with SDMetrics' own MultiTableQualityReport, evaluated against
a standard of relational rules, signed by a curator and a regulator, and a certificate
whose verification names every table with its hash. The shipped UK-HEALTH 1.3 judges
the same audit's relational, privacy and provenance rules (the provenance figures are
the whole version's, from the registry) and cannot be approved: a table's near copies
fail, and the refusal says so."""

from __future__ import annotations

import json
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from rest_framework.test import APIClient

from audits.compliance.tasks import evaluations_for_version_task
from audits.models import AuditRun, Certificate, SignOff
from audits.runs.tasks import audit_run_task
from audits.standards import engine
from audits.standards import services as standard_services
from registry.models import DATASHEET_SECTIONS
from tests.audits.certification import helpers
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset, upload
from tests.registry.relational_helpers import (
    DEMO_DIR,
    DEMO_TABLES,
    api_client,
    demo_bytes,
    demo_metadata,
    sdmetrics_quality_report,
    zip_of,
)

pytestmark = pytest.mark.usefixtures("registry_storage")
signing_keys = helpers.signing_keys

# A standard for EU producers whose rules are all figures an audit of linked tables measures, so
# the demo's synthetic tables can be approved and certified. (The shipped UK-HEALTH 1.3
# has the same two relational rules, but also privacy rules one of the demo's tables
# fails: test_uk_health_… below.)
LINKED_STANDARD = """\
code: LINKED-EU
name: Linked tables in the EU
version: '1.0'
scope: global
jurisdictions: [EU]
certificate_validity_days: 365
reaudit_interval_days: 180
rules:
  - key: integrity.orphan_rate
    operator: <=
    threshold: 0.0
    severity: blocking
    rationale: Every child row has its parent.
  - key: integrity.key_violations
    operator: <=
    threshold: 0.0
    severity: blocking
    rationale: Primary keys are unique and never empty.
  - key: quality.cardinality_shapes
    operator: '>='
    threshold: 0.8
    severity: major
    rationale: Children per parent keep their real shape.
  - key: quality.relational_overall
    operator: '>='
    threshold: 0.6
    severity: major
    rationale: SDMetrics' multi-table quality score.
"""


RELATIONAL_RULES = (
    "integrity.orphan_rate",
    "integrity.key_violations",
    "quality.cardinality_shapes",
    "quality.relational_overall",
)


def _post_real(api: APIClient, real_ds, tables: dict[str, bytes]) -> dict:
    """Real tables as one zip with SDMetrics' metadata: keys declared, confirmed."""
    real = api.post(
        f"/api/v1/datasets/{real_ds.pk}/tables/",
        {
            "archive": upload(zip_of({f"{t}.csv": b for t, b in tables.items()}), "r.zip"),
            "metadata": json.dumps(demo_metadata()),
        },
        format="multipart",
    )
    assert real.status_code == 201, real.content
    assert real.json()["keys_confirmed"] is True
    return real.json()


def _document(api: APIClient, version: dict, real: dict) -> None:
    """The synthetic version's lineage (trained on ``real``), generator, compute and a
    datasheet with every section answered, through the API."""
    lineage = api.put(
        f"/api/v1/versions/{version['id']}/lineage/",
        {
            "parents": [{"parent": real["id"], "relation": "trained_on"}],
            "generator_type": "copula",
            "generator_library": "sdv",
            "generator_version": "1.17",
            "energy_kwh": 0.1,
        },
        format="json",
    )
    assert lineage.status_code == 200, lineage.content
    sheet = api.put(
        f"/api/v1/versions/{version['id']}/datasheet/",
        {key: f"What the curator says about {key}." for key, _, _ in DATASHEET_SECTIONS},
        format="json",
    )
    assert sheet.status_code == 200 and sheet.json()["completeness"] == 1.0, sheet.content


def _register_and_audit(
    api: APIClient, real_ds, synth_ds, holdout: dict | None = None, document: bool = False
) -> tuple[dict, AuditRun]:
    """Both versions registered through the API, the synthetic one audited against the
    real one by the audit task, then evaluated by the task the worker runs next. With
    ``document``, the synthetic version's lineage and datasheet are given first."""
    real = _post_real(api, real_ds, {t: demo_bytes(t) for t in DEMO_TABLES})

    synthetic = api.post(
        f"/api/v1/datasets/{synth_ds.pk}/tables/",
        {
            "tables": [
                upload(demo_bytes(t, "synthetic"), f"{t}_synthetic.csv") for t in DEMO_TABLES
            ],
            "names": "\n".join(f"{t}_synthetic.csv = {t}" for t in DEMO_TABLES),
        },
        format="multipart",
    )
    assert synthetic.status_code == 201, synthetic.content
    version = synthetic.json()
    assert version["keys_confirmed"] is False
    # Auditing proposed keys is refused until the curator confirms them.
    early = api.post(
        "/api/v1/audits/", {"version": version["id"], "reference": real["id"]}, format="json"
    )
    assert early.status_code == 400, early.content
    assert not AuditRun.objects.exists()
    keys = api.get(f"/api/v1/versions/{version['id']}/keys/").json()
    confirmed = api.put(f"/api/v1/versions/{version['id']}/keys/", keys, format="json")
    assert confirmed.status_code == 200 and confirmed.json()["keys_confirmed"] is True
    if document:
        _document(api, version, real)

    request = {"version": version["id"], "reference": real["id"]}
    if holdout is not None:
        request["holdout"] = holdout["id"]
    requested = api.post("/api/v1/audits/", request, format="json")
    assert requested.status_code == 202, requested.content
    run_id = requested.json()["id"]
    audit_run_task.apply(args=[run_id])  # what the worker runs
    evaluations_for_version_task.apply(args=[version["id"]])  # and what it sends next
    run = AuditRun.objects.get(pk=run_id)
    assert run.status == "succeeded", run.error
    return version, run


def test_linked_tables_are_registered_audited_evaluated_signed_and_certified_through_the_api(
    world, signing_keys
):
    helpers.publish_standard(world.admin_a, LINKED_STANDARD)
    api = api_client(world.curator_a)
    version, run = _register_and_audit(
        api,
        make_dataset(world, kind="real", name="Web sessions real"),
        make_dataset(world, name="Web sessions synthetic"),
    )

    # The audit's figures, as the API gives them, agree with SDMetrics' own report on
    # the same files.
    audit = api.get(f"/api/v1/audits/{run.pk}/").json()
    assert audit["status"] == "succeeded"
    figures = {m["key"]: m["value"] for m in api.get(f"/api/v1/audits/{run.pk}/metrics/").json()}
    real = {t: pd.read_csv(DEMO_DIR / f"{t}_real.csv") for t in DEMO_TABLES}
    synthetic = {t: pd.read_csv(DEMO_DIR / f"{t}_synthetic.csv") for t in DEMO_TABLES}
    overall, properties = sdmetrics_quality_report(real, synthetic, demo_metadata())
    assert figures["quality.relational_overall"] == pytest.approx(overall, abs=0.02)
    assert figures["quality.cardinality_shapes"] == pytest.approx(
        properties["Cardinality"], abs=0.02
    )
    assert figures["quality.intertable_trends"] == pytest.approx(
        properties["Intertable Trends"], abs=0.02
    )
    assert figures["integrity.orphan_rate"] == 0.0
    assert figures["integrity.key_violations"] == 0.0

    # The evaluation the worker computed: every relational rule judged, and passed.
    (evaluation,) = api.get("/api/v1/evaluations/", {"dataset_version": version["id"]}).json()[
        "results"
    ]
    assert evaluation["standard"] == "LINKED-EU@1.0"
    assert evaluation["status"] == "compliant", evaluation["results"]
    rules = {r["key"]: r for r in evaluation["results"]["rules"]}
    assert sorted(rules) == sorted(RELATIONAL_RULES)
    assert {r["status"] for r in rules.values()} == {"pass"}
    assert evaluation["sources"]["quality.cardinality_shapes"] == {"audit": run.pk}

    # The curator, then a regulator, sign it off; the regulator's approval certifies.
    evaluation_row = type("E", (), {"pk": evaluation["id"]})
    helpers.api_sign(world.curator_a, evaluation_row)
    signed = helpers.api_sign(world.regulator, evaluation_row)
    number = signed["certificate"]
    certificate = api_client(world.regulator).get(f"/api/v1/certificates/{number}/").json()
    assert certificate["status"] == "valid"

    # Anyone with the verification link reads what it certifies: every table, its hash.
    (token,) = parse_qs(urlsplit(certificate["verify_url"]).query)["token"]
    verified = APIClient().get(f"/api/v1/certificates/{number}/verify/", {"token": token})
    assert verified.status_code == 200, verified.content
    certified = verified.json()["certifies"]["dataset_version"]
    assert certified["sha256"] == version["sha256"]
    assert certified["tables"] == sorted(
        ({"name": t["name"], "sha256": t["sha256"]} for t in version["tables"]),
        key=lambda t: t["name"],
    )
    assert [t["name"] for t in certified["tables"]] == sorted(DEMO_TABLES)
    signed_text = json.loads(Certificate.objects.get(number=number).signed_text)
    assert signed_text["certificate"]["dataset_version"]["tables"] == certified["tables"]


def test_uk_health_judges_the_relational_and_provenance_rules_and_refuses_failing_privacy(
    world,
):
    """A UK health producer's linked tables, documented (lineage, generator, compute, a
    full datasheet) and audited with a real holdout and the default families, against
    the shipped UK-HEALTH 1.3: its referential-integrity and cardinality rules pass on
    the demo, and so do its documentation and provenance rules (and GLOBAL-BASELINE's it
    inherits), judged on the whole version's figures from the registry; none of them is
    missing. A table's near copies fail, so the curator's approval is refused with the
    failing figure named; nothing is signed."""
    for code, number in (("GLOBAL-BASELINE", "1.1"), ("UK-HEALTH", "1.3")):
        spec = engine.load_shipped_version(code, number)
        draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
        with mock.patch.object(standard_services, "enqueue"):
            standard_services.standard_publish(version=draft, user=world.admin_a)
    api = api_client(world.curator_b)
    real_ds = make_dataset(world, org="org_b", kind="real", name="Patients real", domain="health")
    # The holdout: real tables the generator never saw (here the demo's, one transaction fewer).
    transactions = demo_bytes("transactions").rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n"
    holdout = _post_real(
        api, real_ds, {t: demo_bytes(t) for t in DEMO_TABLES} | {"transactions": transactions}
    )
    version, run = _register_and_audit(
        api,
        real_ds,
        make_dataset(world, org="org_b", name="Patients synthetic", domain="health"),
        holdout=holdout,
        document=True,
    )
    assert run.holdout_id == holdout["id"]
    assert "provenance" in run.config["families"]  # the default families of linked tables
    evaluations = api.get("/api/v1/evaluations/", {"dataset_version": version["id"]}).json()
    uk = next(e for e in evaluations["results"] if e["standard"] == "UK-HEALTH@1.3")
    rules = {r["key"]: r for r in uk["results"]["rules"]}
    assert rules["registry.has_holdout_audit"]["status"] == "pass"
    assert rules["integrity.orphan_rate"]["status"] == "pass"
    assert rules["quality.cardinality_shapes"]["status"] == "pass"
    assert rules["quality.cardinality_shapes"]["value"] == pytest.approx(0.95)
    # The provenance figures are the whole version's (one figure, no table), from the
    # registry's facts at audit time: no longer missing for linked tables.
    facts = [
        r for r in uk["results"]["rules"] if r["key"].startswith(("provenance.", "documentation."))
    ]
    assert {r["key"] for r in facts} == {
        "documentation.datasheet_completeness",
        "provenance.lineage_complete",
        "provenance.generator_documented",
        "provenance.compute_disclosed",
    }
    for rule in facts:
        assert rule["status"] == "pass", rule
        assert rule["source"] == {"audit": run.pk}, rule
        assert "table" not in rule and "tables" not in rule, rule
    assert rules["documentation.datasheet_completeness"]["value"] == 1.0
    missing = [r["key"] for r in uk["results"]["rules"] if r["status"] == "missing"]
    assert not [k for k in missing if k.startswith(("provenance.", "documentation."))], missing
    watermark = run.metrics.get(key="provenance.watermark_detected", table="")
    assert watermark.status == "skipped"
    assert "SynthGov watermarks single-table versions only" in json.dumps(run.results)
    # Each table is audited on its own: a rule without ``table:`` judges every table and
    # names the one that fails (the demo's sessions, whose few columns all recur).
    near = rules["privacy.near_copy_rate"]
    assert near["status"] == "fail"
    assert "fails on 1 of 3 tables (sessions:" in near["sentence"], near
    assert uk["status"] == "non_compliant", {k: r["status"] for k, r in rules.items()}

    refused = api.post(
        f"/api/v1/evaluations/{uk['id']}/signoffs/",
        {"decision": "approve", "comment": "Looks fine.", "password": PASSWORD},
        format="json",
    )
    assert refused.status_code == 400, refused.content
    (reason,) = refused.json()["decision"]
    assert "privacy.near_copy_rate" in reason, reason
    assert not SignOff.objects.exists()
    assert not Certificate.objects.exists()
