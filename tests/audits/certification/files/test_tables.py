"""A certificate of linked tables names every table with its hash; the offline verifier
recomputes the version hash from them. No database."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import pytest

from registry.relational.names import version_sha256
from synthgov.signing.certificates import (
    certificate_file_bytes,
    sign_certificate,
    tables_sha256,
    verify_certificate,
)
from synthgov.signing.keys import Keyring, public_key_pem
from tests.audits.certification.files.conftest import make_payload
from tests.audits.certification.files.test_verify_cli import run_verify

TABLES = [
    {"name": "sessions", "sha256": hashlib.sha256(b"sessions").hexdigest()},
    {"name": "transactions", "sha256": hashlib.sha256(b"transactions").hexdigest()},
    {"name": "users", "sha256": hashlib.sha256(b"users").hexdigest()},
]


def relational_payload() -> dict:
    hashes = {t["name"]: t["sha256"] for t in TABLES}
    version = {"id": 7, "sha256": version_sha256(hashes), "tables": copy.deepcopy(TABLES)}
    return make_payload(dataset_version=version)


def test_the_verifier_computes_the_registry_version_hash():
    hashes = {t["name"]: t["sha256"] for t in TABLES}
    assert tables_sha256(TABLES) == version_sha256(hashes)
    # Order given does not matter; names sort by bytes ("Z" before "a").
    mixed = [{"name": "a", "sha256": "1" * 64}, {"name": "Z", "sha256": "2" * 64}]
    assert tables_sha256(mixed) == tables_sha256(mixed[::-1])
    assert (
        tables_sha256(mixed)
        == hashlib.sha256(f"Z\t{'2' * 64}\na\t{'1' * 64}\n".encode()).hexdigest()
    )
    assert tables_sha256(mixed) == version_sha256({"a": "1" * 64, "Z": "2" * 64})


def test_a_certificate_of_linked_tables_verifies(keyring: Keyring):
    result = verify_certificate(
        sign_certificate(relational_payload(), keyring), keyring.public_keys()
    )
    assert result.signature_valid, result.reason


@pytest.mark.parametrize("index", range(len(TABLES)))
def test_changing_any_table_hash_fails_verification(keyring: Keyring, index: int):
    signed = sign_certificate(relational_payload(), keyring)
    altered = copy.deepcopy(signed)
    altered["certificate"]["dataset_version"]["tables"][index]["sha256"] = "0" * 64
    assert not verify_certificate(altered, keyring.public_keys()).signature_valid
    # Signed that way (an issuer's mistake or a stolen key): the tables still do not
    # give the certified version hash.
    payload = relational_payload()
    payload["dataset_version"]["tables"][index]["sha256"] = "0" * 64
    result = verify_certificate(sign_certificate(payload, keyring), keyring.public_keys())
    assert not result.signature_valid
    assert "give the version hash" in result.reason
    assert "a table's hash was changed" in result.reason


@pytest.mark.parametrize(
    ("tables", "words"),
    [
        ([], "not a list of tables"),
        ("users", "not a list of tables"),
        ([{"name": "users"}], "must have a name and a SHA-256"),
        ([{"name": "users", "sha256": "AB" * 32}], "must have a name and a SHA-256"),
        ([TABLES[0], TABLES[0]], "names a table twice"),
    ],
)
def test_malformed_tables_are_refused(keyring: Keyring, tables, words):
    payload = relational_payload()
    payload["dataset_version"]["tables"] = tables
    result = verify_certificate(sign_certificate(payload, keyring), keyring.public_keys())
    assert not result.signature_valid
    assert words in result.reason


def test_the_offline_verifier_checks_the_tables(tmp_path: Path, keyring: Keyring):
    key = tmp_path / "key.pem"
    key.write_text(public_key_pem(keyring.current.public_key()))
    good = tmp_path / "good.json"
    good.write_bytes(certificate_file_bytes(sign_certificate(relational_payload(), keyring)))
    done = run_verify(good, "--public-key", key, "--today", "2027-01-01")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("VALID signature")
    payload = relational_payload()
    payload["dataset_version"]["tables"][2]["sha256"] = "0" * 64
    bad = tmp_path / "bad.json"
    bad.write_bytes(certificate_file_bytes(sign_certificate(payload, keyring)))
    done = run_verify(bad, "--public-key", key, "--today", "2027-01-01")
    assert done.returncode == 1
    assert done.stdout.startswith("INVALID: the tables the certificate names give the version")
