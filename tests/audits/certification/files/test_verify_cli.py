"""``python -m synthgov.verify`` run as a user would, in a child process with no
database and a settings module that does not exist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthgov.signing.certificates import certificate_file_bytes, sign_certificate
from synthgov.signing.keys import Keyring, generate_key_pem, public_key_pem
from tests.audits.certification.files.conftest import make_payload

REPO = Path(__file__).resolve().parents[4]


def run_verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # Proves no Django settings are needed: importing them would fail.
        "DJANGO_SETTINGS_MODULE": "settings_that_do_not_exist",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    }
    return subprocess.run(
        [sys.executable, "-m", "synthgov.verify", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=REPO,
        env=env,
    )


@pytest.fixture
def files(tmp_path: Path, keyring: Keyring, signed: dict[str, Any]) -> dict[str, Path]:
    paths = {
        "cert": tmp_path / "cert.json",
        "pem": tmp_path / "key.pem",
        "keys": tmp_path / "keys.json",
    }
    paths["cert"].write_bytes(certificate_file_bytes(signed))
    paths["pem"].write_text(public_key_pem(keyring.current.public_key()))
    paths["keys"].write_text(json.dumps(keyring.public_keys_document()))
    return paths


@pytest.mark.parametrize("key", ["pem", "keys"])
def test_valid_certificate(files: dict[str, Path], keyring: Keyring, key: str):
    done = run_verify(files["cert"], "--public-key", files[key], "--today", "2027-01-01")
    assert done.returncode == 0, done.stderr
    first, *rest = done.stdout.strip().splitlines()
    assert first == (
        f"VALID signature (key {keyring.current_kid}), certificate unexpired until 2027-11-01"
    )
    # Offline, nobody can know about a revocation after the file was downloaded.
    assert rest and rest[0].startswith("Revocation not checked:")
    assert "--revocations" in rest[0] and "/.well-known/synthgov-revocations.json" in rest[0]


def test_default_today_is_used(tmp_path: Path, keyring: Keyring, files: dict[str, Path]):
    far = sign_certificate(make_payload(expires="2999-01-01"), keyring)
    files["cert"].write_bytes(certificate_file_bytes(far))
    assert run_verify(files["cert"], "--public-key", files["pem"]).returncode == 0


def test_changed_value_is_invalid(files: dict[str, Path]):
    data = files["cert"].read_bytes().replace(b"SG-2026-000042", b"SG-2026-000043")
    files["cert"].write_bytes(data)
    done = run_verify(files["cert"], "--public-key", files["keys"], "--today", "2027-01-01")
    assert done.returncode == 1
    assert done.stdout.startswith("INVALID: the signature does not match")


def test_unparseable_file_is_invalid(files: dict[str, Path]):
    files["cert"].write_bytes(files["cert"].read_bytes()[:-1])
    done = run_verify(files["cert"], "--public-key", files["pem"])
    assert done.returncode == 1
    assert done.stdout.startswith("INVALID: the file is not valid UTF-8 JSON")


def test_other_key_is_invalid(files: dict[str, Path], signed: dict[str, Any]):
    other = Keyring.from_pem(generate_key_pem()).current.public_key()
    files["pem"].write_text(public_key_pem(other))
    done = run_verify(files["cert"], "--public-key", files["pem"])
    assert done.returncode == 1
    assert done.stdout.strip() == f"INVALID: unknown signing key {signed['signature']['kid']}"


def test_expired_certificate(files: dict[str, Path], keyring: Keyring):
    done = run_verify(files["cert"], "--public-key", files["pem"], "--today", "2027-11-01")
    assert done.returncode == 2
    assert done.stdout.strip() == (
        f"EXPIRED on 2027-11-01 (signature valid, key {keyring.current_kid})"
    )


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="no-arguments"),
        pytest.param(["{cert}"], id="no-key"),
        pytest.param(["{cert}", "--public-key", "{missing}"], id="missing-key-file"),
        pytest.param(["{cert}", "--public-key", "{cert}"], id="key-is-not-a-key"),
        pytest.param(["{missing}", "--public-key", "{pem}"], id="missing-certificate"),
        pytest.param(["{cert}", "--public-key", "{pem}", "--today", "soon"], id="bad-date"),
    ],
)
def test_usage_errors(files: dict[str, Path], tmp_path: Path, args: list[str]):
    names = {name: str(path) for name, path in files.items()} | {
        "missing": str(tmp_path / "missing")
    }
    done = run_verify(*(arg.format(**names) for arg in args))
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout == ""
    assert "error" in done.stderr


def test_cli_touches_no_database_or_settings(files: dict[str, Path]):
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['verify', {str(files['cert'])!r}, '--public-key', {str(files['pem'])!r},"
        " '--today', '2027-01-01']\n"
        "try:\n"
        "    runpy.run_module('synthgov.verify', run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "loaded = [m for m in sys.modules if m.startswith(('django.db', 'synthgov.settings'))]\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings_that_do_not_exist"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[]")


@pytest.mark.parametrize(
    ("original", "duplicated"),
    [
        # A reader that keeps the first value sees 2999; Python keeps the last, signed one.
        (b'"expires":"2027-11-01"', b'"expires":"2999-01-01","expires":"2027-11-01"'),
        (b'"number":"SG-2026-000042"', b'"number":"SG-2026-000001","number":"SG-2026-000042"'),
    ],
)
def test_duplicate_json_keys_are_refused(files: dict[str, Path], original: bytes, duplicated):
    data = files["cert"].read_bytes()
    assert original in data
    files["cert"].write_bytes(data.replace(original, duplicated))
    done = run_verify(files["cert"], "--public-key", files["keys"], "--today", "2027-01-01")
    assert done.returncode == 1, done.stdout
    key = original.split(b'"')[1].decode()
    assert done.stdout.startswith(f'INVALID: the file repeats the key "{key}"')


def test_duplicate_keys_in_the_keys_document_are_refused(files: dict[str, Path]):
    text = files["keys"].read_text()
    files["keys"].write_text(text.replace('{"keys": ', '{"keys": [], "keys": ', 1))
    done = run_verify(files["cert"], "--public-key", files["keys"], "--today", "2027-01-01")
    assert done.returncode == 3
    assert 'repeats the key "keys"' in done.stderr


def test_duplicate_keys_in_the_revocation_list_are_refused(
    files: dict[str, Path], keyring: Keyring, tmp_path: Path
):
    from synthgov.signing.revocations import sign_revocation_list

    listed = sign_revocation_list(
        {
            "format": "synthgov-revocations/1",
            "generated": "2026-12-01T00:00:00Z",
            "certificates": [],
        },
        keyring,
    )
    path = tmp_path / "revocations.json"
    text = json.dumps(listed)
    path.write_text(text.replace('"certificates": []', '"certificates": [], "certificates": []'))
    done = run_verify(
        files["cert"], "--public-key", files["keys"], "--revocations", path, "--today", "2027-01-01"
    )
    assert done.returncode == 3
    assert 'repeats the key "certificates"' in done.stderr
