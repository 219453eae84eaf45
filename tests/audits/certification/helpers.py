"""Builders for the sign-off and certificate tests: a synthetic dataset version
with a lineage parent, a published standard, and finished audits whose
figures the test chooses (recorded as the audit service records them), so
each evaluation's outcome is exact and quick to produce."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audits.checks.runner import library_versions
from audits.compliance import services as compliance
from audits.models import AuditMetric, AuditRun, AuditStatus, ComplianceEvaluation
from audits.standards import services as standard_services
from registry import services as registry_services
from synthgov import __version__ as synthgov_version
from synthgov.signing.canonical import canonical_json, sha256_hex
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset, make_version, placements_csv

STANDARD_YAML = """\
code: CERT-TEST
name: Certification test standard
version: '1.0'
scope: global
certificate_validity_days: 365
reaudit_interval_days: 90
rules:
  - key: quality.overall
    operator: '>='
    threshold: 0.8
    severity: blocking
    rationale: Fidelity must be high.
  - key: privacy.exact_match_rate
    operator: '<='
    threshold: 0.01
    severity: minor
    rationale: Few exact copies.
  - key: quality.detection
    operator: '>='
    threshold: 0.2
    severity: advisory
    rationale: Hard to tell apart.
"""

GOOD = {"quality.overall": 0.9, "privacy.exact_match_rate": 0.0, "quality.detection": 0.5}


def publish_standard(user: Any, text: str = STANDARD_YAML) -> Any:
    """Publish without queueing the recomputation task: the builders evaluate
    in-process, and transactional tests must not leave messages on the broker."""
    (draft,) = standard_services.standard_import_yaml(text=text, user=user, owner=None)
    with mock.patch.object(standard_services, "enqueue"):
        return standard_services.standard_publish(version=draft, user=user)


def record_audit(
    version: Any,
    reference: Any,
    user: Any,
    figures: dict[str, float],
    *,
    finished: datetime | None = None,
    versions: dict[str, str] | None = None,
) -> AuditRun:
    """A finished audit with these figures, its evidence hashed like the service does."""
    versions = versions or {**library_versions(), "synthgov": synthgov_version}
    results = {"metrics": {k: {"value": v} for k, v in sorted(figures.items())}}
    results_sha = sha256_hex(canonical_json(results))
    hashes = {"synthetic": version.sha256, "reference": reference.sha256}
    config = {"families": ["quality", "privacy"], "seed": 0}
    run = AuditRun.objects.create(
        version=version,
        reference=reference,
        requested_by=user,
        status=AuditStatus.SUCCEEDED,
        progress=1.0,
        config=config,
        started=finished or timezone.now(),
        finished=finished or timezone.now(),
        input_hashes=hashes,
        library_versions=versions,
        results=results,
        results_sha256=results_sha,
        evidence_sha256=sha256_hex(
            canonical_json(
                {
                    "version": version.pk,
                    "inputs": hashes,
                    "config": config,
                    "library_versions": versions,
                    "results_sha256": results_sha,
                }
            )
        ),
    )
    AuditMetric.objects.bulk_create(
        [
            AuditMetric(run=run, key=key, value=value, direction="higher", status="ok")
            for key, value in figures.items()
        ]
    )
    return run


def evaluate(version: Any, standard: Any) -> ComplianceEvaluation:
    return compliance.evaluation_compute(dataset_version=version, standard_version=standard)


@pytest.fixture
def signing_keys(settings, tmp_path):
    """A keyring file of this test's own, configured as production would be."""
    from synthgov import signing_keys as keys
    from synthgov.signing.keys import generate_key_pem

    path = tmp_path / "signing-keys.pem"
    path.write_text(generate_key_pem())
    settings.SYNTHGOV_SIGNING_KEYS_FILE = str(path)
    settings.SYNTHGOV_SIGNING_KEYS = ""
    keys.clear_cache()
    yield path
    keys.clear_cache()


@pytest.fixture
def cert_world(world, registry_storage, signing_keys):
    """org_a's synthetic version (trained on org_a's real v1), audited with
    good figures and evaluated as compliant against CERT-TEST@1.0."""
    real_ds = make_dataset(world, name="Real placements", kind="real")
    synth_ds = make_dataset(world, name="Synthetic placements")
    real = make_version(real_ds, world.curator_a, placements_csv(seed=1))
    synthetic = make_version(synth_ds, world.curator_a, placements_csv(seed=2))
    registry_services.version_lineage_set(
        version=synthetic,
        user=world.curator_a,
        parents=[registry_services.ParentLink(real.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    standard = publish_standard(world.admin_a)
    run = record_audit(synthetic, real, world.curator_a, GOOD)
    evaluation = evaluate(synthetic, standard)
    assert evaluation.status == "compliant", evaluation.results
    return {
        "world": world,
        "real": real,
        "real_dataset": real_ds,
        "synthetic": synthetic,
        "standard": standard,
        "run": run,
        "evaluation": evaluation,
    }


def api_sign(user: Any, evaluation: Any) -> dict[str, Any]:
    """``user`` approves ``evaluation`` through the API (201); the answer's JSON."""
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(
        f"/api/v1/evaluations/{evaluation.pk}/signoffs/",
        {"decision": "approve", "comment": "Reviewed.", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()
