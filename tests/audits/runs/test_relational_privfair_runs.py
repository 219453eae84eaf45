"""Privacy and fairness of linked tables through the API, the worker and the report
(issue 17): the curator marks the table holding individuals and a child table joined to
its parent's columns; the figures equal the plain checks' on the same tables; bad
choices are refused with nothing stored."""

from __future__ import annotations

import html
import io

import pandas as pd
import pytest
from django.urls import reverse

from audits.checks import relational_fairness, relational_privacy
from audits.checks.relational import RelationalSchema
from audits.models import AuditMetric, AuditRun, AuditStatus
from audits.runs import services
from tests.registry.conftest import make_dataset
from tests.registry.relational_helpers import (
    AUDITED_PARENTS,
    PEOPLE_VISITS_KEYS,
    PEOPLE_VISITS_METADATA,
    api_client,
    audit_refused,
    csv_bytes,
    planted_families,
    register_tables,
    run_now,
)

pytestmark = pytest.mark.usefixtures("registry_storage")


def _read(tables: dict[str, bytes]) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(io.BytesIO(content)) for name, content in tables.items()}


@pytest.fixture
def planted(world):
    """Real people and visits, a holdout, and a synthetic version with 5 of 100 families
    copied whole (see the plain tests), each registered with its keys."""
    real, synthetic, holdout = planted_families()
    files = {
        role: {name: csv_bytes(frame) for name, frame in tables.items()}
        for role, tables in (("real", real), ("synthetic", synthetic), ("holdout", holdout))
    }
    versions = {
        "real": register_tables(
            make_dataset(world, kind="real", name="People real"),
            world.curator_a,
            files["real"],
            keys=PEOPLE_VISITS_KEYS,
        ),
        "holdout": register_tables(
            make_dataset(world, kind="real", name="People holdout"),
            world.curator_a,
            files["holdout"],
            keys=PEOPLE_VISITS_KEYS,
        ),
        "synthetic": register_tables(
            make_dataset(world, name="People synthetic"),
            world.curator_a,
            files["synthetic"],
            keys=PEOPLE_VISITS_KEYS,
        ),
    }
    return versions, files


CHOICES = {
    "families": ["privacy", "fairness"],
    "individuals_table": "people",
    "quasi_identifiers": ["region", "count(visits)"],
    "sensitive": ["mode(visits.ward)"],
    "fairness_table": "visits",
    "fairness_parent_columns": ["people.region"],
    "protected": ["people.region"],
    "target": "ward",
    "positive_outcome": "a",
}


def test_linked_tables_audit_gives_family_copies_individuals_and_joined_fairness(
    client, world, planted
):
    versions, files = planted
    response = api_client(world.curator_a).post(
        "/api/v1/audits/",
        {
            "version": versions["synthetic"].pk,
            "reference": versions["real"].pk,
            "holdout": versions["holdout"].pk,
            **CHOICES,
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    run = run_now(response.json()["id"])
    assert run.status == AuditStatus.SUCCEEDED, run.error
    # The choices are recorded in the run's configuration (inside the evidence hash).
    for field in ("individuals_table", "fairness_table", "fairness_parent_columns"):
        assert run.config[field] == CHOICES[field]
    assert run.config["quasi_identifiers"] == ["region", "count(visits)"]
    stored = dict(AuditMetric.objects.filter(run=run, table="").values_list("key", "value"))
    assert stored["privacy.family_exact_copy_rate"] == 5 / 100
    assert stored["privacy.parent_exact_copy_rate"] == 8 / 100
    assert stored["privacy.family_near_copy_rate"] == 9 / 100
    # Equal to the plain checks on the same tables read with pandas alone.
    real, synthetic, holdout = (_read(files[r]) for r in ("real", "synthetic", "holdout"))
    schema = RelationalSchema.from_sdmetrics(PEOPLE_VISITS_METADATA)
    plain = relational_privacy.individuals_metrics(
        real,
        synthetic,
        schema,
        "people",
        holdout,
        quasi_identifiers=["region", "count(visits)"],
        sensitive=["mode(visits.ward)"],
    )
    plain += relational_fairness.joined_metrics(
        real,
        synthetic,
        schema,
        "visits",
        ["people.region"],
        protected=["people.region"],
        target="ward",
        positive_outcome="a",
    )
    for result in plain:
        assert stored[result.key] == pytest.approx(result.value, abs=1e-12), result.key
    assert stored["fairness.joined_representation_gap_max"] is not None
    # Each is a figure of the whole version that names, in its details, the table it was
    # computed on.
    whole = [m for m in run.results["metrics"] if "table" not in m]
    tables = {m["key"]: m["details"].get("table") for m in whole}
    assert tables["privacy.family_exact_copy_rate"] == "people"
    assert tables["privacy.individuals_linkage_risk"] == "people"
    assert tables["fairness.joined_parity_difference_synthetic"] == "visits"
    # The report's linked tables section has a sentence for each.
    client.force_login(world.curator_a)
    page = html.unescape(client.get(reverse("audits:run", args=[run.pk])).content.decode())
    section = page.split('data-testid="relational-figures"', 1)[1].split("</ul>", 1)[0]
    assert 'Whole families copied</a> (on people): <span class="value">0.05' in section
    assert "5.0% of synthetic people rows come with all their child rows" in section
    assert "(on visits)" in section
    # Another organisation sees none of it.
    client.force_login(world.curator_b)
    assert client.get(reverse("audits:run", args=[run.pk])).status_code == 404


def test_without_choices_the_figures_say_what_to_choose(world, planted):
    versions, _ = planted
    response = api_client(world.curator_a).post(
        "/api/v1/audits/",
        {
            "version": versions["synthetic"].pk,
            "reference": versions["real"].pk,
            "families": ["privacy", "fairness"],
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    run = run_now(response.json()["id"])
    assert run.status == AuditStatus.SUCCEEDED, run.error
    figures = {m.key: m for m in run.metrics.all()}
    assert figures["privacy.family_exact_copy_rate"].value == 5 / 100
    results = {m["key"]: m for m in run.results["metrics"]}
    assert "holdout" in results["privacy.family_near_copy_rate"]["skip_reason"]
    skipped = [m for m in run.results["metrics"] if m["status"] == "skipped"]
    reasons = {m["skip_reason"] for m in skipped}
    assert relational_privacy.NO_INDIVIDUALS in reasons
    assert relational_fairness.NO_TABLE in reasons


@pytest.mark.parametrize(
    ("changes", "field", "phrase"),
    [
        ({"individuals_table": "nowhere"}, "individuals_table", "There is no table nowhere"),
        (
            {"quasi_identifiers": ["count(nothing)"]},
            "quasi_identifiers",
            "count(nothing) is not a column of people",
        ),
        (
            {"individuals_table": "", "fairness_table": ""},
            "individuals_table",
            "choose that table",
        ),
        ({"fairness_table": "people"}, "fairness_table", "people has no parent table"),
        (
            {"fairness_parent_columns": ["people.height"]},
            "fairness_parent_columns",
            "people has no column height",
        ),
        (
            {"fairness_parent_columns": ["region"]},
            "fairness_parent_columns",
            "<parent table>.<column>",
        ),
        ({"protected": ["region"]}, "protected", "region is not a column of visits joined"),
        ({"target": "vid"}, "target", "vid is not a column of visits joined"),
        ({"fairness_table": ""}, "fairness_table", "choose that table"),
    ],
)
def test_bad_choices_are_refused_with_nothing_stored(world, planted, changes, field, phrase):
    versions, _ = planted
    payload = {
        "version": versions["synthetic"].pk,
        "reference": versions["real"].pk,
        **CHOICES,
        **changes,
    }
    audit_refused(world, payload, field, phrase)


def test_a_single_table_version_refuses_linked_choices(world):
    real = make_dataset(world, kind="real", name="One table real")
    synthetic = make_dataset(world, name="One table synthetic")
    real_version = register_tables(real, world.curator_a, {"parents": AUDITED_PARENTS})
    synthetic_version = register_tables(synthetic, world.curator_a, {"parents": AUDITED_PARENTS})
    assert not synthetic_version.is_relational
    audit_refused(
        world,
        {
            "version": synthetic_version.pk,
            "reference": real_version.pk,
            "individuals_table": "parents",
        },
        "individuals_table",
        "applies to linked tables only",
    )


def test_the_audit_form_offers_the_choices_and_refuses_bad_ones(client, world, planted):
    versions, _ = planted
    # A version of linked tables starts with every family its audit computes.
    assert services.default_config(versions["synthetic"])["families"] == [
        "integrity",
        "quality",
        "fairness",
        "privacy",
        "provenance",
    ]
    client.force_login(world.curator_a)
    url = reverse("audits:request", args=[versions["synthetic"].pk])
    page = html.unescape(client.get(url).content.decode())
    assert 'data-testid="linked-choices"' in page
    assert 'value="people.region"' in page and 'value="count(visits)"' in page
    before = AuditRun.objects.count()
    answer = client.post(
        url,
        {
            "reference": versions["real"].pk,
            "families": ["fairness"],
            "seed": 0,
            "fairness_table": "people",
            "fairness_parent_columns": ["people.region"],
            "protected": ["people.region"],
        },
    )
    assert answer.status_code == 200
    assert "people has no parent table" in html.unescape(answer.content.decode())
    assert AuditRun.objects.count() == before
    answer = client.post(
        url,
        {
            "reference": versions["real"].pk,
            "families": ["fairness", "privacy"],
            "seed": 0,
            "individuals_table": "people",
            "fairness_table": "visits",
            "fairness_parent_columns": ["people.region"],
            "protected": ["people.region"],
        },
    )
    assert answer.status_code == 302, html.unescape(answer.content.decode())[:3000]
    run = AuditRun.objects.latest("pk")
    assert run.config["fairness_table"] == "visits"
    assert run.config["individuals_table"] == "people"
    assert run.config["quasi_identifiers"] == ["count(visits)"]
