from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def test_me_with_token(world):
    token = Token.objects.create(user=world.regulator)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    data = client.get("/api/v1/me/").json()
    assert data["username"] == "regulator"
    assert data["memberships"] == [
        {
            "organisation": "EU Regulator",
            "organisation_slug": "eu-reg",
            "organisation_kind": "regulator",
            "role": "regulator",
        }
    ]
    assert "audits.certificate.issue" in data["permissions"]
    assert "registry.dataset.change" not in data["permissions"]


def test_me_with_session(client, world):
    client.force_login(world.curator_a)
    data = client.get("/api/v1/me/").json()
    assert data["memberships"][0]["role"] == "curator"


def test_me_requires_authentication(db):
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bad.get("/api/v1/me/").status_code == 401


def test_schema_and_docs(client, world):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/me/" in schema.content
    client.force_login(world.curator_a)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_schema_generates_without_warnings():
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
