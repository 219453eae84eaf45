"""A dashboard with one dataset in every status: compliant and certified,
compliant with an advisory failure, failing a blocking rule, figures missing,
not audited yet, and not applicable (a real dataset under a synthetic-only
standard)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from audits.models import AuditMetric
from tests.audits.certification import helpers
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset, make_version, placements_csv

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

SYNTHETIC_ONLY_YAML = """\
code: SYNTH-ONLY
name: Synthetic data only
version: '1.0'
scope: global
dataset_kinds: [fully_synthetic, partially_synthetic, hybrid]
rules:
  - key: quality.overall
    operator: '>='
    threshold: 0.5
    severity: major
    rationale: Synthetic data must keep some fidelity.
"""


def sign(user: Any, evaluation: Any, comment: str = "Reviewed.") -> Any:
    client = APIClient()
    client.force_authenticate(user)
    return client.post(
        f"/api/v1/evaluations/{evaluation.pk}/signoffs/",
        {"decision": "approve", "comment": comment, "password": PASSWORD},
        format="json",
    )


def audited_dataset(world: Any, real: Any, name: str, figures: dict[str, float]) -> Any:
    dataset = make_dataset(world, name=name)
    version = make_version(dataset, world.curator_a, placements_csv(seed=len(name)))
    helpers.record_audit(version, real, world.curator_a, figures)
    return version


@pytest.fixture
def board_world(cert_world: dict[str, Any]) -> dict[str, Any]:
    world, real, standard = cert_world["world"], cert_world["real"], cert_world["standard"]
    good = helpers.GOOD
    advisory = audited_dataset(world, real, "Advisory only", {**good, "quality.detection": 0.1})
    blocking = audited_dataset(
        world, real, "Blocking failure", {**good, "quality.overall": 0.5, "quality.detection": 0.1}
    )
    missing = audited_dataset(world, real, "Missing figures", {"quality.overall": 0.9})
    # A figure with the long tail of floating-point noise, and its uncertainty.
    AuditMetric.objects.filter(run__version=blocking, key="quality.overall").update(
        value=0.051510899999999804, uncertainty=0.0123456
    )
    evaluations = {
        "advisory": helpers.evaluate(advisory, standard),
        "blocking": helpers.evaluate(blocking, standard),
        "missing": helpers.evaluate(missing, standard),
    }
    # The advisory failure is approved with a comment naming it: a certificate.
    assert (
        sign(world.curator_a, evaluations["advisory"], "quality.detection accepted").status_code
        == 201
    )
    response = sign(world.regulator, evaluations["advisory"], "quality.detection accepted")
    assert response.status_code == 201, response.json()
    synthetic_only = helpers.publish_standard(world.admin_a, SYNTHETIC_ONLY_YAML)
    return {
        **cert_world,
        "versions": {"advisory": advisory, "blocking": blocking, "missing": missing},
        "evaluations": evaluations,
        "advisory_certificate": response.json()["certificate"],
        "synthetic_only": synthetic_only,
    }
