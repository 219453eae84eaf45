"""Settings are read from the environment and fail loudly on bad values.

Each case starts a fresh interpreter, because settings are read once at import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from synthgov import env

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SECRET = "x" * 20 + "-production-secret-for-tests-only-" + "y" * 20


def run_django(extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    ignored = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in ignored}
    base.pop("DATABASE_URL", None)
    command = args or ("-c", "import django; django.setup(); print('configured')")
    return subprocess.run(
        [sys.executable, *command],
        env={**base, "DJANGO_SETTINGS_MODULE": "synthgov.settings", **extra_env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_defaults_need_no_environment():
    result = run_django({})
    assert result.returncode == 0, result.stderr
    assert "configured" in result.stdout


def test_missing_secret_key_in_production_fails_clearly():
    result = run_django({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/x", "is not a supported database URL"),
        ("not a url", "is not a supported database URL"),
        ("postgres://postgres@127.0.0.1:5432/", "names no database"),
    ],
)
def test_bad_database_url_fails_clearly(url, message):
    result = run_django({"DATABASE_URL": url})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert message in result.stderr


def test_unknown_synthgov_variable_is_refused():
    result = run_django({"SYNTHGOV_MAX_UPLOAD_BYTEZ": "10"})
    assert result.returncode != 0
    assert "Unknown setting(s) SYNTHGOV_MAX_UPLOAD_BYTEZ" in result.stderr


def test_time_limits_must_stay_under_visibility_timeout():
    result = run_django({"CELERY_TASK_TIME_LIMIT": "7200", "CELERY_VISIBILITY_TIMEOUT": "3600"})
    assert result.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT" in result.stderr


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        (lambda e: env.env_bool("DEBUG", True, environ=e), "maybe", "is not a boolean"),
        (lambda e: env.env_int("DEBUG", 1, environ=e), "ten", "is not a whole number"),
        (lambda e: env.env_int("DEBUG", 1, minimum=5, environ=e), "2", "must be at least 5"),
        (lambda e: env.env_bytes("DEBUG", 1, environ=e), "5 parsecs", "is not a size"),
        (lambda e: env.env_cache("DEBUG", "locmem://", environ=e), "memcached://x", "redis://"),
    ],
)
def test_typed_readers_fail_loudly(reader, value, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        reader({"DEBUG": value})


def test_typed_readers_parse_good_values():
    e = {"A": "yes", "B": "1_000", "C": "a, b,,c", "D": "500MB", "E": "2g"}
    assert env.env_bool("A", False, environ=e) is True
    assert env.env_int("B", 0, environ=e) == 1000
    assert env.env_list("C", [], environ=e) == ["a", "b", "c"]
    assert env.env_bytes("D", 0, environ=e) == 500 * 1024**2
    assert env.env_bytes("E", 0, environ=e) == 2 * 1024**3
    assert env.env_bool("MISSING", True, environ=e) is True
    redis = env.env_cache("F", "locmem://", environ={"F": "redis://127.0.0.1:6379/1"})
    assert redis == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }
    assert env.env_cache("MISSING", "locmem://", environ=e)["BACKEND"].endswith("LocMemCache")


def production_env() -> dict[str, str]:
    """The variables deploy/production.env.example documents, with test secrets."""
    values: dict[str, str] = {}
    for line in (ROOT / "deploy" / "production.env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    values["SECRET_KEY"] = PRODUCTION_SECRET
    return values


def signing_keys_file(tmp_path: Path) -> str:
    from synthgov.signing.keys import generate_key_pem

    path = tmp_path / "signing-keys.pem"
    path.write_text(generate_key_pem())
    return str(path)


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = {**production_env(), "SYNTHGOV_SIGNING_KEYS_FILE": signing_keys_file(tmp_path)}
    result = run_django(env, "manage.py", "check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("keys_file", "message"),
    [
        ("", "synthgov.E001"),
        ("/nonexistent/signing-keys.pem", "synthgov.E002"),
    ],
)
def test_check_deploy_needs_loadable_signing_keys(keys_file, message):
    env = {**production_env(), "SYNTHGOV_SIGNING_KEYS_FILE": keys_file}
    result = run_django(env, "manage.py", "check", "--deploy")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


@pytest.mark.parametrize(
    "secret",
    [
        "short-but-not-empty",
        "django-insecure-local-development-only-8f3b2c1e9d7a6b5c4d3e2f1a0b9c8d7e6f",
        "ab" * 40,
    ],
)
def test_check_deploy_fails_on_a_weak_secret_key(tmp_path, secret):
    env = {
        **production_env(),
        "SYNTHGOV_SIGNING_KEYS_FILE": signing_keys_file(tmp_path),
        "SECRET_KEY": secret,
    }
    result = run_django(env, "manage.py", "check", "--deploy")
    assert result.returncode != 0, result.stdout
    assert "synthgov.E010" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("extra", "limits"),
    [
        ({}, "10000000 50000000"),
        ({"SYNTHGOV_MAX_ROWS": "80000000"}, "80000000 80000000"),
        ({"SYNTHGOV_MAX_PARQUET_ROWS": "20000000"}, "10000000 20000000"),
    ],
)
def test_row_limits_by_format(extra, limits):
    """A CSV is read whole by an audit, Parquet column by column: Parquet's limit is
    its own, and left unset it is never below the CSV one."""
    show = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SYNTHGOV_MAX_ROWS, settings.SYNTHGOV_MAX_PARQUET_ROWS)"
    )
    result = run_django(extra, "-c", show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == limits
