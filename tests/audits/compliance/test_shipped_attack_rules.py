"""The shipped standards' rules on the attack figures (issue 15), through the real path:
audits with a holdout run in process, their figures are evaluated against the published
EU-STRICT-PRIVACY@1.1 and UK-HEALTH@1.1 (kept in shipped/superseded since 1.2); and a
certificate issued under EU-STRICT-PRIVACY@1.0 keeps its evidence and keeps verifying when
1.1 is published."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pandas as pd
import pytest
from django.test import Client
from django.utils import timezone

from audits.certification import certificates as certification
from audits.certification import signoffs
from audits.checks.attacks import ATTACK_KEYS
from audits.compliance.tasks import evaluations_for_standard_task
from audits.models import AuditRun, AuditStatus, Certificate, ComplianceEvaluation, StandardVersion
from audits.runs import services as audit_services
from audits.standards import engine
from audits.standards import services as standard_services
from registry import services as registry_services
from synthgov.signing.canonical import sha256_hex
from tests.audits.certification.helpers import evaluate, record_audit
from tests.audits.certification.helpers import signing_keys as signing_keys
from tests.audits.checks.test_attacks import plant
from tests.audits.standards.test_shipped import good_figures
from tests.registry.conftest import make_dataset, make_version, placements_csv

ROLES = {
    "id": "identifier",
    "sex": "quasi_identifier",
    "region": "quasi_identifier",
    "age": "quasi_identifier",
    "diagnosis": "sensitive",
}
SUPERSEDED = engine.SHIPPED_DIR / "superseded"


def shipped(code: str, version: str) -> engine.StandardSpec:
    return engine.load_shipped_version(code, version)


def superseded(name: str) -> engine.StandardSpec:
    spec, problems = engine.parse_yaml((SUPERSEDED / name).read_text(encoding="utf-8"))
    assert problems == []
    return spec


def publish(spec: engine.StandardSpec, user: Any) -> StandardVersion:
    """As load_demo publishes a shipped standard; the recomputation task is run by the
    test itself (in process), not queued."""
    draft = standard_services.standard_save_draft(spec=spec, user=user, owner=None)
    with mock.patch.object(standard_services, "enqueue"):
        return standard_services.standard_publish(version=draft, user=user)


def register(dataset: Any, user: Any, frame: pd.DataFrame, name: str) -> Any:
    version = registry_services.dataset_version_create(
        dataset=dataset,
        user=user,
        chunks=iter([frame.to_csv(index=False).encode()]),
        original_name=name,
    )
    columns = [{**c, "role": ROLES.get(c["name"], c["role"])} for c in version.schema]
    return registry_services.version_schema_update(version=version, user=user, columns=columns)


def outcomes(evaluation: ComplianceEvaluation) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["key"], r["operator"]): r for r in evaluation.results["rules"]}


@pytest.fixture
def attack_world(world, registry_storage):
    """Generated people (3,000 per table, seed 0 of the planted-leak tests): a training
    table, a holdout, a clean synthetic table and one where 5% of the rows are training
    rows with income nudged by a cent; each synthetic table audited (privacy family)
    against the training data with the holdout, through the audit service."""
    config, real, clean, holdout = plant("clean", 3_000, 0)
    _, _, near, _ = plant("near", 3_000, 0)
    user = world.curator_a
    real_ds = make_dataset(world, name="People real", kind="real")
    real_v = register(real_ds, user, real, "train.csv")
    hold_v = register(real_ds, user, holdout, "holdout.csv")
    runs = {}
    for name, frame in (("clean", clean), ("near", near)):
        synth_ds = make_dataset(world, name=f"People synthetic {name}")
        synth_v = register(synth_ds, user, frame, f"{name}.csv")
        config = {**audit_services.default_config(synth_v), "families": ["privacy"]}
        run = audit_services.audit_run_request(
            version=synth_v, reference=real_v, holdout=hold_v, config=config, user=user
        )
        token = audit_services.audit_run_claim(run_id=run.pk)
        run = audit_services.audit_run_execute(run_id=run.pk, token=token)
        assert run.status == AuditStatus.SUCCEEDED, run.error
        runs[name] = synth_v
    baseline = publish(shipped("GLOBAL-BASELINE", "1.0"), world.admin_a)
    eu = publish(shipped("EU-STRICT-PRIVACY", "1.1"), world.admin_a)
    uk = publish(shipped("UK-HEALTH", "1.1"), world.admin_a)
    assert (eu.label, uk.label, eu.parent) == ("EU-STRICT-PRIVACY@1.1", "UK-HEALTH@1.1", baseline)
    return {"world": world, "versions": runs, "eu": eu, "uk": uk, "baseline": baseline}


def test_clean_data_passes_every_attack_rule_and_near_copies_fail_the_strict_profiles(
    attack_world,
):
    for standard in (attack_world["eu"], attack_world["uk"]):
        clean = outcomes(evaluate(attack_world["versions"]["clean"], standard))
        attack_rules = {k: r for k, r in clean.items() if k[0] in ATTACK_KEYS}
        # Both bounds on membership AUC, one rule on each other attack figure.
        assert len(attack_rules) == len(ATTACK_KEYS) + 1, standard.label
        for identity, rule in attack_rules.items():
            assert rule["status"] == "pass", (standard.label, identity, rule["sentence"])
            assert rule["origin"] == "added" and rule["source"].get("audit"), identity

        evaluation = evaluate(attack_world["versions"]["near"], standard)
        near = outcomes(evaluation)
        failing = {k[0] for k, r in near.items() if r["status"] == "fail" and k[0] in ATTACK_KEYS}
        # The near copies are no exact copies: only the attack figures catch them.
        assert near[("privacy.exact_match_rate", "<=")]["status"] == "pass", standard.label
        assert {"privacy.near_copy_rate", "privacy.membership_tpr_at_1pct_fpr"} <= failing
        for key in ("privacy.near_copy_rate", "privacy.membership_tpr_at_1pct_fpr"):
            assert near[(key, "<=")]["severity"] == "blocking"
        assert evaluation.status == "non_compliant"
        assert evaluation.worst_severity == "blocking"

    # EU-STRICT-PRIVACY 1.2 on the same audits: the near copies were published under a
    # claim of differential privacy with epsilon 0.1, which the membership attack refutes.
    near = attack_world["versions"]["near"]
    real = AuditRun.objects.get(version=near).reference
    registry_services.version_lineage_set(
        version=near,
        user=attack_world["world"].curator_a,
        parents=[registry_services.ParentLink(real.pk, "trained_on")],
        generation={"privacy_mechanism": "differential_privacy", "epsilon": 0.1},
    )
    publish(shipped("GLOBAL-BASELINE", "1.1"), attack_world["world"].admin_a)
    eu_12 = publish(shipped("EU-STRICT-PRIVACY", "1.2"), attack_world["world"].admin_a)
    claim = outcomes(evaluate(near, eu_12))[("privacy.dp_claim_consistent", "=")]
    assert (claim["status"], claim["value"], claim["severity"]) == ("fail", False, "blocking")
    assert claim["sentence"].startswith(
        "privacy.dp_claim_consistent is false, not the required true: the attack proves ε ≥ "
    )
    assert claim["sentence"].endswith(
        "at 95% confidence; the generation claims ε = 0.10: the claim is contradicted."
    )
    unclaimed = outcomes(evaluate(attack_world["versions"]["clean"], eu_12))
    assert unclaimed[("privacy.dp_claim_consistent", "=")]["status"] == "not_applicable"


def test_the_global_baseline_1_0_has_no_attack_rule(attack_world):
    """Baseline 1.0 has no rule on a figure that needs a holdout (1.1 adds them as advisory
    rules that apply only when measured: tests/audits/compliance/test_when_measured.py)."""
    rules = {
        r["key"]
        for r in evaluate(attack_world["versions"]["near"], attack_world["baseline"]).results[
            "rules"
        ]
    }
    assert not rules & ATTACK_KEYS


@pytest.fixture
def eu_certificate(world, registry_storage, signing_keys):
    """A synthetic version certified against EU-STRICT-PRIVACY@1.0 (the version shipped
    before the attack figures), by the curator and the EU regulator."""
    baseline = publish(shipped("GLOBAL-BASELINE", "1.0"), world.admin_a)
    eu_old = publish(superseded("eu-strict-privacy-1.0.yaml"), world.admin_a)
    assert eu_old.label == "EU-STRICT-PRIVACY@1.0" and eu_old.parent == baseline
    real = make_version(make_dataset(world, name="Real", kind="real"), world.curator_a)
    synthetic = make_version(
        make_dataset(world, name="Synthetic"), world.curator_a, placements_csv(seed=2)
    )
    # An audit from before the attack figures: everything 1.0 asks for, nothing more.
    metrics = {
        k: f.value
        for k, f in good_figures().items()
        if not k.startswith("registry.") and k not in ATTACK_KEYS
    }
    run = record_audit(synthetic, real, world.curator_a, metrics)
    evaluation = evaluate(synthetic, eu_old)
    assert evaluation.status == "compliant", evaluation.results
    for user in (world.curator_a, world.regulator):
        signoffs.signoff_record(
            evaluation=evaluation,
            user=user,
            decision="approve",
            comment="All rules pass; audits reviewed.",
            reauthenticated_at=timezone.now(),
        )
    certificate = Certificate.objects.get(evaluation=evaluation)
    return {
        "world": world,
        "synthetic": synthetic,
        "run": run,
        "eu_old": eu_old,
        "evaluation": evaluation,
        "certificate": certificate,
    }


def test_a_certificate_under_1_0_keeps_its_evidence_when_1_1_is_published(eu_certificate):
    ec = eu_certificate
    certificate, old = ec["certificate"], ec["evaluation"]
    before = (certificate.signed_text, certificate.evidence_sha256, old.results, old.status)
    # The superseded file is exactly what 1.0 was published as.
    spec_text = (SUPERSEDED / "eu-strict-privacy-1.0.yaml").read_text(encoding="utf-8")
    assert ec["eu_old"].spec_sha256 == sha256_hex(spec_text.encode())

    new = publish(shipped("EU-STRICT-PRIVACY", "1.1"), ec["world"].admin_a)
    assert new.label == "EU-STRICT-PRIVACY@1.1" and new.parent == ec["eu_old"].parent
    assert evaluations_for_standard_task(new.pk) >= 1

    # The 1.1 evaluation is current; the audit had no attack figures, so it is incomplete
    # and names them, and it is not approvable until an audit with a holdout supplies them.
    current = ComplianceEvaluation.objects.get(dataset_version=ec["synthetic"], is_current=True)
    assert current.standard_version == new
    assert current.status == "incomplete"
    missing = {r["key"] for r in current.results["rules"] if r["status"] == "missing"}
    assert missing == ATTACK_KEYS
    # The 1.0 evaluation and the certificate are untouched: same results, same evidence.
    old.refresh_from_db()
    certificate.refresh_from_db()
    assert not old.is_current
    assert (certificate.signed_text, certificate.evidence_sha256, old.results, old.status) == (
        before
    )
    assert certificate.evaluation_id == old.pk and certificate.standard_version == ec["eu_old"]
    check = certification.certificate_check(certificate)
    assert (check.verdict, check.signature_valid) == ("valid", True)
    assert check.payload["standard"] == {
        "code": "EU-STRICT-PRIVACY",
        "version": "1.0",
        "name": ec["eu_old"].name,
        "spec_sha256": ec["eu_old"].spec_sha256,
    }
    assert check.payload["evaluation"]["evidence_sha256"] == old.evidence_sha256
    # Anyone with the link still sees a valid certificate against 1.0.
    page = Client().get(certificate.get_share_url())
    assert page.status_code == 200
    assert "EU-STRICT-PRIVACY" in page.content.decode()
    # The 1.0 version is still published, with its own rules, and says what it was.
    ec["eu_old"].refresh_from_db()
    assert ec["eu_old"].is_published
    assert not {r.key for r in ec["eu_old"].rules.all()} & ATTACK_KEYS
