"""Standards and compliance through the services, pages and API."""

from __future__ import annotations

import html

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from audits.compliance import services as compliance
from audits.models import ComplianceEvaluation, StandardVersion
from audits.runs import services
from audits.standards import engine
from audits.standards import selectors as standard_selectors
from audits.standards import services as standard_services
from synthgov.trail.models import Event
from tests.audits.conftest import request_placements_audit

LOCAL_YAML = """\
code: EU-TIGHT
name: Tight EU profile
version: '1.0'
scope: local
parent: GLOBAL-BASELINE@1.0
jurisdictions: [EU]
rules:
  - key: quality.overall
    operator: '>='
    threshold: 0.99
    severity: blocking
    rationale: Only near-perfect fidelity is accepted here.
    clause: Test clause 1
"""


@pytest.fixture
def baseline(world):
    spec = engine.load_shipped_version("GLOBAL-BASELINE", "1.0")
    draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    return standard_services.standard_publish(version=draft, user=world.admin_a)


@pytest.fixture
def audited(placements_world, baseline):
    pw = placements_world
    run = request_placements_audit(pw, holdout=True)
    services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    compliance.evaluations_recompute_for_version(dataset_version=pw["synthetic"])
    return {**pw, "run": run, "baseline": baseline}


def current(version, standard):
    return ComplianceEvaluation.objects.get(
        dataset_version=version, standard_version=standard, is_current=True
    )


def test_evaluation_records_which_audit_supplied_each_figure(audited):
    evaluation = current(audited["synthetic"], audited["baseline"])
    assert evaluation.status in {"compliant", "non_compliant", "incomplete"}
    assert evaluation.sources["quality.overall"] == {"audit": audited["run"].pk}
    assert evaluation.sources["registry.licence"] == {"registry": "registry.licence"}
    rules = evaluation.results["rules"]
    severities = [r["severity"] for r in rules if r["status"] == "fail"]
    order = ["blocking", "major", "minor", "advisory"]
    assert severities == sorted(severities, key=order.index)  # worst first
    # Real data is not judged by a standard for synthetic data.
    assert not ComplianceEvaluation.objects.filter(dataset_version=audited["real"]).exists()


def test_recomputation_is_idempotent_and_keeps_history(audited):
    first = current(audited["synthetic"], audited["baseline"])
    again = compliance.evaluation_compute(
        dataset_version=audited["synthetic"], standard_version=audited["baseline"]
    )
    assert again.pk == first.pk  # same evidence, same evaluation
    assert ComplianceEvaluation.objects.count() == 1


def test_audit_finishing_queues_recomputation(
    placements_world, baseline, django_capture_on_commit_callbacks
):
    pw = placements_world
    run = request_placements_audit(pw, holdout=False, enqueue=False)
    from audits.compliance.tasks import evaluations_for_version_task

    with django_capture_on_commit_callbacks() as callbacks:
        services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    assert len(callbacks) == 1
    assert not ComplianceEvaluation.objects.exists()
    evaluations_for_version_task.apply(args=[pw["synthetic"].pk])  # what the worker runs
    assert current(pw["synthetic"], baseline).sources["quality.overall"] == {"audit": run.pk}


def test_publishing_a_tighter_local_standard_changes_status(
    audited, world, django_capture_on_commit_callbacks
):
    (draft,) = standard_services.standard_import_yaml(
        text=LOCAL_YAML, user=world.regulator, owner=world.regulator_org
    )
    assert draft.status == "draft"
    from audits.compliance.tasks import evaluations_for_standard_task

    with django_capture_on_commit_callbacks() as callbacks:
        published = standard_services.standard_publish(version=draft, user=world.regulator)
    assert len(callbacks) == 1  # the recomputation is queued after commit
    evaluations_for_standard_task.apply(args=[published.pk])  # what the worker runs
    evaluation = current(audited["synthetic"], published)
    assert evaluation.status == "non_compliant"
    failing = [r for r in evaluation.results["rules"] if r["status"] == "fail"]
    assert failing[0]["key"] == "quality.overall" and failing[0]["severity"] == "blocking"
    assert "0.99" in failing[0]["sentence"]
    assert Event.objects.filter(action="audits.standard.published").count() == 2


def test_published_versions_are_frozen(baseline, world):
    spec = standard_selectors.spec_for(baseline)
    with pytest.raises(ValidationError, match="is published and cannot change"):
        standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    with pytest.raises(ValidationError, match="already published"):
        standard_services.standard_publish(version=baseline, user=world.admin_a)
    draft = standard_services.standard_new_draft(version=baseline, user=world.admin_a, number="1.1")
    assert draft.status == "draft" and draft.rules.count() == baseline.rules.count()
    baseline.refresh_from_db()
    assert baseline.status == "published"


def test_yaml_round_trip_gives_an_identical_standard(baseline):
    exported = standard_services.standard_export_yaml(baseline)
    spec, problems = engine.parse_yaml(exported)
    assert problems == []
    assert spec == standard_selectors.spec_for(baseline)


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (LOCAL_YAML.replace("quality.overall", "quality.overal"), ["Line 8", "quality.overall"]),
        (LOCAL_YAML.replace("'>='", "'=>'"), ["Line 9"]),
        (LOCAL_YAML.replace("0.99", "0.5"), ["Line 10", "loosen"]),
        (LOCAL_YAML.replace("GLOBAL-BASELINE@1.0", "NOWHERE@9"), ["Line 5", "NOWHERE@9"]),
    ],
)
def test_bad_yaml_is_refused_with_every_problem_by_line(baseline, world, yaml_text, expected):
    with pytest.raises(ValidationError) as info:
        standard_services.standard_import_yaml(
            text=yaml_text, user=world.regulator, owner=world.regulator_org
        )
    text = " ".join(info.value.messages)
    for fragment in expected:
        assert fragment.lower() in text.lower(), text
    assert not StandardVersion.objects.filter(standard__code="EU-TIGHT").exists()


def test_cycle_of_parents_is_refused(baseline, world):
    cycle = (
        LOCAL_YAML.replace("GLOBAL-BASELINE@1.0", "EU-OTHER@1.0")
        + "---\n"
        + LOCAL_YAML.replace("EU-TIGHT", "EU-OTHER").replace("GLOBAL-BASELINE@1.0", "EU-TIGHT@1.0")
    )
    with pytest.raises(ValidationError) as info:
        standard_services.standard_import_yaml(
            text=cycle, user=world.regulator, owner=world.regulator_org
        )
    assert "cycle" in " ".join(info.value.messages).lower()


def test_pages_and_permissions(client, audited, world):
    client.force_login(world.curator_a)
    assert client.get(reverse("audits:standards")).status_code == 200
    assert client.get(reverse("audits:standard_create")).status_code == 403
    assert client.get(reverse("audits:standard_import")).status_code == 403
    client.force_login(world.regulator)
    response = client.post(reverse("audits:standard_import"), {"yaml_text": LOCAL_YAML})
    assert response.status_code == 302
    draft = StandardVersion.objects.get(standard__code="EU-TIGHT")
    # Another regulator may read the published rules but never the draft, nor edit it.
    client.force_login(world.regulator_b)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.post(reverse("audits:standard_publish", args=[draft.pk])).status_code == 404
    client.force_login(world.regulator)
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "threshold 0.75 → 0.99" in html.unescape(page)
    assert client.post(reverse("audits:standard_publish", args=[draft.pk])).status_code == 302
    draft.refresh_from_db()
    assert draft.is_published
    assert client.get(reverse("audits:standard_edit", args=[draft.pk])).status_code == 403
    # A UK regulator cannot write a standard for the EU.
    client.force_login(world.regulator_b)
    response = client.post(
        reverse("audits:standard_import"), {"yaml_text": LOCAL_YAML.replace("EU-TIGHT", "EU-X")}
    )
    assert "outside them" in html.unescape(response.content.decode())


def test_bad_yaml_in_the_browser_lists_problems(client, baseline, world):
    client.force_login(world.regulator)
    response = client.post(
        reverse("audits:standard_import"),
        {"yaml_text": LOCAL_YAML.replace("quality.overall", "quality.overal")},
    )
    page = html.unescape(response.content.decode())
    assert 'data-testid="import-problems"' in page
    assert "Line 8" in page


def test_evaluation_page_and_api(client, audited, world):
    evaluation = current(audited["synthetic"], audited["baseline"])
    client.force_login(world.officer_a)
    page = client.get(evaluation.get_absolute_url()).content.decode()
    # Each audit figure links to its row in the audit report.
    assert f'href="/audits/{audited["run"].pk}/#figure-quality-overall"' in page
    client.force_login(world.curator_b)
    assert client.get(evaluation.get_absolute_url()).status_code == 404
    api = APIClient()
    api.force_authenticate(world.officer_a)
    listed = api.get("/api/v1/evaluations/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == evaluation.pk
    board = api.get("/api/v1/dashboard/").json()
    assert sum(board["counts"].values()) == 1
    assert api.get(f"/api/v1/standards/{audited['baseline'].pk}/yaml/").content.startswith(b"code:")
    api.force_authenticate(world.regulator)
    imported = api.post("/api/v1/standards/import/", {"yaml": LOCAL_YAML}, format="json")
    assert imported.status_code == 201, imported.content
    bad = api.post("/api/v1/standards/import/", {"yaml": "code: [unclosed"}, format="json")
    assert bad.status_code == 400 and bad.json()["problems"]
    published = api.post(f"/api/v1/standards/{imported.json()[0]['id']}/publish/")
    assert published.status_code == 200 and published.json()["status"] == "published"


def test_dashboard_query_count_does_not_grow_with_datasets(client, audited, world):
    from tests.registry.conftest import make_dataset

    client.force_login(world.regulator)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("home")).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for i in range(12):
        make_dataset(world, name=f"Extra {i}")
    assert queries() == few


def test_api_import_also_keeps_regulators_to_their_jurisdictions(baseline, world):
    api = APIClient()
    api.force_authenticate(world.regulator_b)  # covers UK, not EU
    response = api.post("/api/v1/standards/import/", {"yaml": LOCAL_YAML}, format="json")
    assert response.status_code == 400
    assert "outside them" in " ".join(response.json()["problems"])
    assert not StandardVersion.objects.filter(standard__code="EU-TIGHT").exists()


def test_dashboard_judges_each_datasets_newest_version(client, audited, world):
    from tests.registry.conftest import make_version, placements_csv

    synthetic = audited["synthetic"]
    dataset = synthetic.dataset
    dataset.refresh_from_db()
    assert dataset.latest_version == synthetic
    api = APIClient()
    api.force_authenticate(world.officer_a)
    assert sum(api.get("/api/v1/dashboard/").json()["counts"].values()) == 1

    newer = make_version(dataset, world.curator_a, placements_csv().replace(b"\n", b"\r\n"))
    dataset.refresh_from_db()
    assert dataset.latest_version == newer
    board = api.get("/api/v1/dashboard/").json()
    # The newer version is not judged yet: the row says so and still shows the
    # last evaluated version, and the counts follow what the row shows.
    old = current(synthetic, audited["baseline"])
    row = next(r for r in board["matrix"] if r["dataset"] == dataset.pk)
    assert row["latest_version"] == 2
    assert row["cells"] == [{"evaluation": old.pk, "status": old.status}]
    cell = row["display_cells"][0]
    assert cell["version"] == 1 and cell["latest_version"] == 2
    kind = engine.STATUS_KINDS[cell["display_status"]["code"]]
    assert cell["note"] == f"v2 not yet audited — v1 {kind.label.lower()}"
    assert sum(board["counts"].values()) == 1
    assert board["status_counts"][cell["display_status"]["code"]] == 1


def test_dashboard_jurisdiction_filter_lists_each_dataset_once(client, audited, world):
    from synthgov.accounts.models import Jurisdiction

    second = Jurisdiction.objects.create(code="XX", name="Second home")
    world.org_a.jurisdictions.add(second)
    world.regulator_org.covered_jurisdictions.add(second)
    api = APIClient()
    api.force_authenticate(world.regulator)
    for code in ("EU", "XX"):
        board = api.get("/api/v1/dashboard/", {"jurisdiction": code}).json()
        names = [row["name"] for row in board["matrix"]]
        assert len(names) == len(set(names)) and names
        assert sum(board["counts"].values()) == 1
    assert api.get("/api/v1/dashboard/", {"jurisdiction": "UK"}).json()["counts"] == {
        "compliant": 0,
        "non_compliant": 0,
        "incomplete": 0,
    }


def test_dashboard_summary_follows_every_change_with_a_warm_cache(client, audited, world):
    """The summary is cached on the data's state, so it is never stale: a new
    evaluation, an access change and a membership change show at once."""
    from registry.services import dataset_update
    from synthgov.accounts.models import Membership

    dataset = audited["synthetic"].dataset
    api = APIClient()
    api.force_authenticate(world.curator_b)

    def total() -> int:
        return sum(api.get("/api/v1/dashboard/").json()["counts"].values())

    assert dataset.access == "restricted" and total() == 0
    assert total() == 0  # answered from the cache this time
    dataset_update(
        dataset=dataset,
        user=world.curator_a,
        tags=[t.name for t in dataset.tags.all()],
        access="open",
    )
    assert total() == 1
    dataset_update(
        dataset=dataset,
        user=world.curator_a,
        tags=[t.name for t in dataset.tags.all()],
        access="restricted",
    )
    assert total() == 0
    api.force_authenticate(world.outsider)
    assert total() == 0
    Membership.objects.create(user=world.outsider, organisation=world.org_a, role="curator")
    assert total() == 1
    # A standard published now evaluates the dataset afresh: the counts follow.
    spec, problems = engine.parse_yaml(LOCAL_YAML)
    assert not problems
    draft = standard_services.standard_save_draft(
        spec=spec, user=world.regulator, owner=world.regulator_org
    )
    standard_services.standard_publish(version=draft, user=world.regulator)
    compliance.evaluations_recompute_for_version(dataset_version=audited["synthetic"])
    assert total() == 2
