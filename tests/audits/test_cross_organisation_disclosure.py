"""Issue 11, findings 1 and 2: nothing computed from a dataset version an organisation
may not read reaches it through an audit figure, a report, a page or a manifest.

The attacker is curator B (organisation B). Organisation A keeps restricted real
salaries and publishes an open synthetic version trained on them. B downloads the open
version, uploads it as its own, declares it ``trained_on`` A's open version, and audits
it against its own reference: the collapse figures would compare B's copy with A's
restricted real data and disclose its variance per column and its categories.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from rest_framework.test import APIClient

from audits import compliance, services
from audits.checks.collapse import KEYS
from audits.collapse_service import RESTRICTED_ANCESTOR
from audits.models import AuditRun, AuditStatus
from audits.standards import StandardSpec
from registry import services as registry_services
from tests.audits.conftest import register
from tests.audits.standards.builders import rule
from tests.registry.conftest import make_dataset

ROWS = 400
# Categories only A's real data holds: their names must never reach B.
SECRET_CATEGORIES = ["ward-7-oncology", "ward-9-psychiatry"]
MEASURED = [k for k in KEYS.values() if k != KEYS["generation_depth"]]


def salaries(seed: int, *, categories: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "record_id": np.arange(1, ROWS + 1),
            "salary": rng.normal(50_000, 12_000, ROWS).round(2),
            "dept": rng.choice(categories, ROWS),
        }
    )


def run_now(run_id: int) -> AuditRun:
    run = services.audit_run_execute(run_id=run_id, token=services.audit_run_claim(run_id=run_id))
    assert run.status == AuditStatus.SUCCEEDED, run.error
    return run


def api_audit(api: APIClient, version, reference, capture) -> AuditRun:
    with capture(execute=False):
        started = api.post(
            "/api/v1/audits/",
            {"version": version.pk, "reference": reference.pk, "families": ["provenance"]},
            format="json",
        )
    assert started.status_code == 202, started.content
    return run_now(started.json()["id"])


@pytest.fixture
def attack(world, registry_storage):
    """A's restricted real data and open synthetic child; B's copy trained on it."""
    real_a = register(
        make_dataset(world, name="Secret salaries", kind="real"),
        world.curator_a,
        salaries(1, categories=["admin", "nursing", *SECRET_CATEGORIES]),
        "secret.csv",
    )
    open_frame = salaries(2, categories=["admin", "nursing"])
    open_a = register(
        make_dataset(world, name="Open salaries", access="open"), world.curator_a, open_frame
    )
    registry_services.version_lineage_set(
        version=open_a,
        user=world.curator_a,
        parents=[registry_services.ParentLink(real_a.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    # B: its own real reference, and A's open file uploaded as B's own version.
    real_b = register(
        make_dataset(world, org="org_b", name="B reference", kind="real"),
        world.curator_b,
        salaries(3, categories=["admin", "nursing"]),
        "b-real.csv",
    )
    copy_b = register(
        make_dataset(world, org="org_b", name="B copy", access="open"),
        world.curator_b,
        open_frame,
        "copy.csv",
    )
    registry_services.version_lineage_set(
        version=copy_b,
        user=world.curator_b,
        parents=[registry_services.ParentLink(open_a.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    return {"world": world, "real_a": real_a, "open_a": open_a, "real_b": real_b, "copy_b": copy_b}


@pytest.fixture
def api_b(attack):
    api = APIClient()
    api.force_authenticate(attack["world"].curator_b)
    return api


def _collapse(results: dict) -> dict[str, dict]:
    return {m["key"]: m for m in results["metrics"] if m["key"].startswith("collapse.")}


def _assert_nothing_of(text: str, attack: dict) -> None:
    for secret in (*SECRET_CATEGORIES, "Secret salaries", attack["real_a"].sha256):
        assert secret not in text, secret


# --- Finding 1: the collapse audit as an inference channel --------------------------


def test_collapse_figures_skip_an_ancestor_the_requesting_organisation_may_not_read(
    attack, api_b, django_capture_on_commit_callbacks
):
    run = api_audit(api_b, attack["copy_b"], attack["real_b"], django_capture_on_commit_callbacks)
    assert api_b.get(f"/api/v1/versions/{attack['real_a'].pk}/").status_code == 404
    document = api_b.get(f"/api/v1/audits/{run.pk}/results/").json()
    figures = _collapse(document["results"])
    # The depth is a fact of the lineage graph B already sees (with "restricted source").
    assert figures[KEYS["generation_depth"]]["value"] == 2.0
    for key in MEASURED:
        assert figures[key]["status"] == "skipped", key
        assert figures[key]["value"] is None, key
        assert figures[key]["skip_reason"] == RESTRICTED_ANCESTOR, key
        assert "columns" not in figures[key]["details"], key
        assert "ancestor_version" not in figures[key]["details"], key
    metrics = {m["key"]: m for m in api_b.get(f"/api/v1/audits/{run.pk}/metrics/").json()}
    assert all(metrics[key]["value"] is None for key in MEASURED)
    # And the stored run itself holds nothing computed from A's data.
    stored = json.dumps(AuditRun.objects.get(pk=run.pk).results)
    _assert_nothing_of(stored, attack)
    assert '"categories_real"' not in stored


def test_own_restricted_ancestor_is_still_measured_for_its_organisation(
    attack, django_capture_on_commit_callbacks
):
    api = APIClient()
    api.force_authenticate(attack["world"].curator_a)
    run = api_audit(api, attack["open_a"], attack["real_a"], django_capture_on_commit_callbacks)
    figures = _collapse(api.get(f"/api/v1/audits/{run.pk}/results/").json()["results"])
    assert figures[KEYS["variance_ratio"]]["status"] == "ok"
    assert set(figures[KEYS["variance_ratio"]]["details"]["columns"]) == {"salary"}
