"""Inputs that used to end in a 500 (or in a failed worker) get a clear 4xx at request
time, and nothing is stored: deeply nested YAML, thresholds of thousands of digits,
periods of billions of days, audit seeds of 2**32 and more."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audits.models import AuditRun, StandardVersion
from tests.audits.certification.helpers import STANDARD_YAML


@pytest.fixture(autouse=True)
def _regulator_may_write_global_standards(world):
    """These inputs are global standards (the shared test standard is one); only
    holders of the global-standard permission reach the number and nesting checks."""
    from django.contrib.auth.models import Permission

    world.regulator.user_permissions.add(
        Permission.objects.get(content_type__app_label="audits", codename="publish_global_standard")
    )


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def _import_api(user, text):
    return _api(user).post("/api/v1/standards/import/", {"yaml": text}, format="json")


def _import_page(client, user, text):
    client.force_login(user)
    return client.post(reverse("audits:standard_import"), {"yaml_text": text})


NESTED = {
    "flow": "[" * 3_000 + "]" * 3_000,
    # One space a level: deeper would pass the 1,000,000-character limit first.
    "block": "".join(f"{' ' * i}k:\n" for i in range(1_200)) + " " * 1_200 + "x: 1\n",
    "rule-threshold": STANDARD_YAML.replace("threshold: 0.8", "threshold: " + "[" * 5_000),
}


@pytest.mark.parametrize("shape", NESTED)
def test_deeply_nested_yaml_is_refused_by_api_and_page(client, world, shape):
    text = NESTED[shape]
    response = _import_api(world.regulator, text)
    assert response.status_code == 400, response.content[:300]
    assert "nested more than 20 levels" in str(response.json())
    page = _import_page(client, world.regulator, text)
    assert page.status_code == 200
    assert "nested more than 20 levels" in page.content.decode()
    assert not StandardVersion.objects.exists()


@pytest.mark.parametrize("digits", [400, 4_000, 5_000])
def test_a_threshold_of_thousands_of_digits_is_refused(client, world, digits):
    text = STANDARD_YAML.replace("threshold: 0.8", "threshold: " + "9" * digits)
    response = _import_api(world.regulator, text)
    assert response.status_code == 400, response.content[:300]
    problems = " ".join(response.json()["problems"])
    assert "rules[0].threshold" in problems
    assert "too large" in problems or "finite number" in problems
    page = _import_page(client, world.regulator, text)
    assert page.status_code == 200 and "rules[0].threshold" in page.content.decode()
    assert not StandardVersion.objects.exists()


def test_a_threshold_of_thousands_of_digits_in_the_editor_is_refused(client, world):
    client.force_login(world.regulator)
    form = {
        "code": "HUGE",
        "name": "Huge threshold",
        "version": "1.0",
        "scope": "global",
        "rules-TOTAL_FORMS": "1",
        "rules-INITIAL_FORMS": "0",
        "rules-0-key": "quality.overall",
        "rules-0-operator": ">=",
        "rules-0-threshold": "9" * 5_000,
        "rules-0-severity": "blocking",
        "rules-0-rationale": "High fidelity.",
    }
    response = client.post(reverse("audits:standard_create"), form)
    assert response.status_code == 200
    assert "finite number" in response.content.decode()
    assert not StandardVersion.objects.exists()


@pytest.mark.parametrize("days", [36_501, 10**12, 10**40])
def test_a_period_beyond_a_century_is_refused(world, days):
    text = STANDARD_YAML.replace(
        "certificate_validity_days: 365", f"certificate_validity_days: {days}"
    )
    response = _import_api(world.regulator, text)
    assert response.status_code == 400, response.content[:300]
    assert "at most 36,500 days" in " ".join(response.json()["problems"])
    assert not StandardVersion.objects.exists()


@pytest.mark.parametrize("seed", [2**32, 2**63, 10**30, -1])
def test_an_audit_seed_outside_32_bits_is_refused_at_request_time(client, placements_world, seed):
    pw = placements_world
    response = _api(pw["world"].curator_a).post(
        "/api/v1/audits/",
        {"version": pw["synthetic"].pk, "reference": pw["real"].pk, "seed": seed},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "seed" in response.json()
    client.force_login(pw["world"].curator_a)
    page = client.post(
        reverse("audits:request", args=[pw["synthetic"].pk]),
        {"reference": pw["real"].pk, "families": ["quality"], "seed": seed},
    )
    assert page.status_code == 200
    assert "seed" in page.content.decode().lower()
    assert not AuditRun.objects.exists()


def test_the_largest_seed_is_accepted(placements_world, django_capture_on_commit_callbacks):
    pw = placements_world
    with django_capture_on_commit_callbacks(execute=False):
        response = _api(pw["world"].curator_a).post(
            "/api/v1/audits/",
            {"version": pw["synthetic"].pk, "reference": pw["real"].pk, "seed": 2**32 - 1},
            format="json",
        )
    assert response.status_code == 202, response.content
    assert AuditRun.objects.get().config["seed"] == 2**32 - 1
