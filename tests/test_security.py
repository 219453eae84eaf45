"""Content-Security-Policy, Permissions-Policy and the shorter session of
privileged accounts, through the pages a person uses."""

from __future__ import annotations

import base64
import hashlib
import html as html_module
import re
from pathlib import Path

import pytest
from django.urls import reverse

from audits.runs import services
from synthgov.access.sessions import DEADLINE_KEY
from tests.audits import conftest as audit_fixtures
from tests.factories import PASSWORD

placements_world = audit_fixtures.placements_world

ROOT = Path(__file__).resolve().parent.parent


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def script_sources(response) -> list[str]:
    return directives(response["Content-Security-Policy"])["script-src"]


@pytest.mark.parametrize(
    ("who", "url"),
    [
        (None, "/accounts/login/"),
        (None, "/certificates/verify/"),
        (None, "/healthz"),
        ("curator_a", "/"),
        ("curator_a", "/datasets/"),
        ("officer_a", "/audits/"),
        ("admin_a", "/admin/"),
        ("curator_a", "/api/docs/"),
        ("curator_a", "/api/v1/me/"),
    ],
)
def test_every_response_has_a_strict_csp_and_a_permissions_policy(client, world, who, url):
    if who:
        client.force_login(getattr(world, who))
    response = client.get(url)
    assert response.status_code == 200
    scripts = script_sources(response)
    assert "'self'" in scripts
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    policy = directives(response["Content-Security-Policy"])
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_inline_scripts_of_a_page_carry_the_responses_nonce(client, world):
    client.force_login(world.curator_a)
    response = client.get("/api/docs/")
    nonces = [s[7:-1] for s in script_sources(response) if s.startswith("'nonce-")]
    page = response.content.decode()
    tags = re.findall(r"<script\b[^>]*>", page)
    assert len(tags) >= 3  # Swagger UI's bundle, preset and start-up code
    for tag in tags:
        assert "src=" in tag or any(f'nonce="{n}"' in tag for n in nonces), tag


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
BARE_SCRIPT = re.compile(r"<script(?![^>]*\b(src|nonce|type=\"application/json\")\b)[^>]*>")


def test_no_template_has_inline_handlers_or_script_without_nonce():
    offenders = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        if template.name == "report_standalone.html":
            continue  # a downloaded file: its own meta policy, tested below
        if INLINE_HANDLER.search(text) or BARE_SCRIPT.search(text):
            offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []


@pytest.fixture
def finished_run(placements_world):
    synthetic = placements_world["synthetic"]
    run = services.audit_run_request(
        version=synthetic,
        reference=placements_world["real"],
        holdout=None,
        config=services.default_config(synthetic),
        user=placements_world["world"].curator_a,
        enqueue=False,
    )
    return services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_standalone_report_allows_exactly_its_own_scripts(client, finished_run, placements_world):
    client.force_login(placements_world["world"].curator_a)
    response = client.get(reverse("audits:report_html", args=[finished_run.pk]))
    html = response.content.decode()
    # A downloaded file has no headers: the policy is in the file itself.
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert meta is not None
    policy = html_module.unescape(meta.group(1))
    scripts = directives(policy)["script-src"]
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    assert len(inline) == 2  # Plotly and the drawing code
    assert sorted(scripts) == sorted(sha256_source(body) for body in inline)
    assert directives(policy)["default-src"] == ["'none'"]
    # Opened straight from the server, the header says the same.
    assert directives(response["Content-Security-Policy"])["script-src"] == scripts


# --- Sessions of privileged accounts ----------------------------------------


def sign_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


@pytest.mark.parametrize("who", ["regulator", "admin_a"])
def test_privileged_sign_in_gets_a_short_session(client, settings, world, who):
    settings.SYNTHGOV_PRIVILEGED_SESSION_SECONDS = 1800
    response = sign_in(client, getattr(world, who))
    assert client.session.get_expiry_age() == 1800
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 1800


def test_other_roles_keep_the_ordinary_session(client, settings, world):
    sign_in(client, world.curator_a)
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert DEADLINE_KEY not in client.session


def test_privileged_session_ends_at_its_deadline_however_active(client, world):
    sign_in(client, world.regulator)
    assert client.get(reverse("home")).status_code == 200
    # The lifetime has passed (moved back rather than waited for).
    session = client.session
    session[DEADLINE_KEY] = session[DEADLINE_KEY] - 10 * 3600
    session.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert client.get("/api/v1/me/").status_code in (401, 403)
