"""The standard pages (issue 13, forms and actions): publishing is a confirmation
step that says what it does; the editor's rule rows are labelled one by one, the
severity reads in whole words, and a row added in the page (as static/js/formset.js
adds it) is saved like the others; thresholds and dates read one way."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from audits.models import ComplianceEvaluation, StandardVersion
from audits.standards import engine
from audits.standards import services as standard_services

pytestmark = pytest.mark.django_db

LOCAL_YAML = """\
code: EU-TIGHT
name: Tight EU profile
version: '1.0'
scope: local
parent: GLOBAL-BASELINE@1.0
jurisdictions: [EU]
effective_from: 2026-03-01
rules:
  - key: quality.overall
    operator: '>='
    threshold: 0.99
    severity: blocking
    rationale: Only near-perfect fidelity is accepted here.
  - key: registry.licence
    operator: one_of
    threshold: [CC0-1.0, MIT]
    severity: minor
    rationale: Open licences only.
"""


@pytest.fixture
def baseline(world):
    spec = engine.load_shipped_version("GLOBAL-BASELINE", "1.0")
    draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    return standard_services.standard_publish(version=draft, user=world.admin_a)


@pytest.fixture
def draft(world, baseline):
    (draft,) = standard_services.standard_import_yaml(
        text=LOCAL_YAML, user=world.regulator, owner=world.regulator_org
    )
    return draft


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_publishing_is_a_step_that_says_what_it_does(world, draft):
    client = client_for(world.regulator)
    detail = client.get(draft.get_absolute_url()).content.decode()
    url = reverse("audits:standard_publish", args=[draft.pk])
    # The detail page links to the step; it holds no form that publishes at once.
    assert f'href="{url}" data-testid="publish-link">Publish…</a>' in detail
    assert f'action="{url}"' not in detail

    step = client.get(url)
    assert step.status_code == 200
    page = html.unescape(step.content.decode())
    assert "<h1>Publish EU-TIGHT@1.0?</h1>" in page
    consequences = page[page.index('data-testid="publish-consequences"') :]
    assert "becomes final" in consequences and "can no longer be edited" in consequences
    assert "Compliance is recomputed against it for every dataset it applies to (EU" in page
    assert "cannot be undone" in consequences
    assert f'<form method="post" action="{url}"' in page
    draft.refresh_from_db()
    assert not draft.is_published  # looking at the step publishes nothing

    done = client.post(url)
    assert done.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published
    # Once published, the step is gone: back to the standard.
    assert client.get(url)["Location"] == draft.get_absolute_url()


def test_the_step_names_the_version_it_replaces(world, baseline):
    admin = client_for(world.admin_a)
    newer = standard_services.standard_new_draft(version=baseline, user=world.admin_a, number="1.1")
    page = admin.get(reverse("audits:standard_publish", args=[newer.pk])).content.decode()
    assert "It replaces GLOBAL-BASELINE@1.0 as the current version of GLOBAL-BASELINE." in page


def test_who_may_not_publish_a_global_draft_sees_why_and_no_button(world, baseline):
    newer = standard_services.standard_new_draft(version=baseline, user=world.admin_a, number="1.1")
    newer.standard.owner = world.regulator_org
    newer.standard.save()
    page = client_for(world.regulator).get(reverse("audits:standard_publish", args=[newer.pk]))
    text = page.content.decode()
    assert 'data-testid="publish-global-refused"' in text
    assert 'method="post"' not in text.split("<main", 1)[1]
    assert client_for(world.curator_b).get(
        reverse("audits:standard_publish", args=[newer.pk])
    ).status_code in (403, 404)


def test_every_rule_input_is_labelled_and_severity_reads_in_words(world, draft):
    page = client_for(world.regulator).get(reverse("audits:standard_edit", args=[draft.pk]))
    text = page.content.decode()
    for number, index in ((1, 0), (2, 1), (5, 4)):
        for field, words in (
            ("key", "figure"),
            ("operator", "operator"),
            ("threshold", "threshold"),
            ("severity", "severity"),
            ("rationale", "rationale"),
            ("clause", "clause"),
            ("waiver_rationale", "why waived"),
        ):
            target = f"id_rules-{index}-{field}"
            label = f'<label class="sr-only" for="{target}">Rule {number} {words}</label>'
            assert label in text, label
        assert re.search(
            rf'<label class="checkbox-label" for="id_rules-{index}-DELETE">'
            rf".*?Rule {number} </span>remove",
            text,
        )
    severity = re.search(r'<select name="rules-0-severity".*?</select>', text, re.S).group(0)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", severity)
    assert options == ["Blocking", "Major", "Minor", "Advisory"]
    assert "selected>Blocking</option>" in severity


def test_the_editor_offers_an_empty_row_to_copy_and_saves_a_copied_row(world, draft):
    client = client_for(world.regulator)
    url = reverse("audits:standard_edit", args=[draft.pk])
    text = client.get(url).content.decode()
    template = re.search(r"<template data-formset-empty>(.*?)</template>", text, re.S).group(1)
    assert 'name="rules-__prefix__-key"' in template
    assert "Rule __number__ figure" in template
    assert '<button type="button" data-formset-add="rules" hidden>Add a rule</button>' in text
    assert "js/formset.js" in text
    assert "data-formset-fallback" in text  # without JavaScript: the empty rows on each save

    # The page showed 2 rules + 3 empty rows; the script added a sixth row.
    data = {
        "code": "eu-tight",
        "name": "Tight EU profile",
        "version": "1.0",
        "scope": "local",
        "parent": "GLOBAL-BASELINE@1.0",
        "jurisdictions": "EU",
        "rules-TOTAL_FORMS": "6",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "200",
        "rules-0-key": "quality.overall",
        "rules-0-operator": ">=",
        "rules-0-threshold": "0.99",
        "rules-0-severity": "blocking",
        "rules-0-rationale": "Only near-perfect fidelity is accepted here.",
    }
    for i in range(1, 5):
        data.update({f"rules-{i}-operator": ">=", f"rules-{i}-severity": "major"})
    data.update(
        {
            "rules-5-key": "quality.detection",
            "rules-5-operator": ">=",
            "rules-5-threshold": "0.3",
            "rules-5-severity": "minor",
            "rules-5-rationale": "Added without a save.",
        }
    )
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    rules = {r.key: r for r in StandardVersion.objects.get(pk=draft.pk).rules.all()}
    assert rules["quality.detection"].severity == "minor"
    assert rules["quality.detection"].rationale == "Added without a save."

    # A rule that applies only when measured must be advisory: the editor says why.
    data["rules-5-applies"] = "when_measured"
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "allowed on advisory rules only" in html.unescape(refused.content.decode())
    # Nor may a local standard limit an inherited rule to when it is measured.
    data["rules-5-severity"] = "advisory"
    loosened = html.unescape(client.post(url, data).content.decode())
    assert "may not limit it to when the figure is measured" in loosened
    data.update({"rules-5-key": "privacy.near_copy_rate", "rules-5-operator": "<="})
    assert client.post(url, data).status_code == 302
    added = StandardVersion.objects.get(pk=draft.pk).rules.get(key="privacy.near_copy_rate")
    assert (added.applies, added.severity) == ("when_measured", "advisory")
    edited = client.get(url).content.decode()
    assert '<option value="when_measured" selected>' in edited


def test_thresholds_and_dates_read_one_way(world, draft):
    page = client_for(world.regulator).get(draft.get_absolute_url()).content.decode()
    rows = re.findall(r'<tr data-rule="registry.licence">(.*?)</tr>', page, re.S)
    listed = [row for row in rows if "CC0-1.0" in row]
    assert len(listed) == 1 and "CC0-1.0, MIT</td>" in listed[0]
    assert "[" not in listed[0] and "&#x27;" not in listed[0]
    assert "1 Mar 2026 → open-ended" in page
    assert '<span class="badge sev-blocking">Blocking</span>' in page


def test_the_standard_page_counts_evaluations_in_the_shared_status_words(
    world, baseline, placements_world
):
    """An advisory-only failure is stored as non_compliant but reads "compliant
    with findings" here too, as on the dashboard and the evaluation page."""
    common = {"standard_version": baseline, "results": {}, "sources": {}}
    ComplianceEvaluation.objects.create(
        dataset_version=placements_world["synthetic"],
        status="non_compliant",
        worst_severity="advisory",
        fail_count=1,
        evidence_sha256="a" * 64,
        **common,
    )
    ComplianceEvaluation.objects.create(
        dataset_version=placements_world["real"],
        status="non_compliant",
        worst_severity="blocking",
        fail_count=2,
        evidence_sha256="b" * 64,
        **common,
    )
    page = html.unescape(
        client_for(world.officer_a).get(baseline.get_absolute_url()).content.decode()
    )
    counts = re.findall(r'data-testid="standard-evaluation-count">([^<]+)<', page)
    assert counts == ["✓ 1 compliant with findings", "✗ 1 non-compliant"]
