"""Signed files and hashes made before ``synthgov.signing`` gathered the signing
code, pinned byte for byte: the same inputs and key must keep giving the same
bytes, and the files signed then must keep verifying.

``golden/`` was written once with a fixed test key (``signing-key.pem``, used for
nothing else). Ed25519 signatures are deterministic, so re-signing the same
payload with that key must reproduce each file exactly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from audits.checks.runner import AuditOutcome
from synthgov.signing.canonical import canonical_json
from synthgov.signing.certificates import (
    certificate_file_bytes,
    parse_certificate_file,
    sign_certificate,
    verify_certificate,
)
from synthgov.signing.checkpoints import checkpoint_check, checkpoint_sign
from synthgov.signing.keys import Keyring
from synthgov.signing.manifests import (
    OrganisationKeys,
    manifest_bytes,
    manifest_sign,
    manifest_verify,
    parse_manifest,
)
from synthgov.signing.revocations import sign_revocation_list, verify_revocation_list
from synthgov.signing.strict_json import loads_strict
from synthgov.trail.chain import record_hash

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.from_pem((GOLDEN / "signing-key.pem").read_bytes())


def _golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e-06, b"1e-06"),
        (0.1, b"0.1"),
        (1e21, b"1e+21"),
        (-0.0, b"-0.0"),
        (2.5, b"2.5"),
        ("Zoë 日本 \u2028", '"Zoë 日本 \u2028"'.encode()),
        ('quote " back \\ tab \t', b'"quote \\" back \\\\ tab \\t"'),
        (
            {"b": [1, {"d": None, "c": True}], "a": {"é": 0.1, "e": 1e-06}},
            '{"a":{"e":1e-06,"é":0.1},"b":[1,{"c":true,"d":null}]}'.encode(),
        ),
    ],
)
def test_canonical_json_bytes_are_pinned(value: Any, expected: bytes):
    assert canonical_json({"v": value}) == b'{"v":' + expected + b"}"


def test_canonical_json_refuses_nan():
    with pytest.raises(ValueError):
        canonical_json({"v": float("nan")})


def test_audit_results_canonical_text_is_pinned():
    outcome = AuditOutcome(metrics=[], findings=["Zoë", "0.1"], timings={"quality": 1.5})
    text = '{"findings":["Zoë","0.1"],"metrics":[]}'
    assert outcome.canonical_json() == text
    assert outcome.results_sha256() == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_trail_event_hashes_are_pinned():
    record = {
        "seq": 3,
        "created": "2026-12-01T10:00:00+00:00",
        "actor_ref": 5,
        "actor_label": "Zoë",
        "action": "registry.version.uploaded",
        "object_type": "registry.datasetversion",
        "object_id": "9",
        "object_repr": "v2 — 日本",
        "organisation_ref": 2,
        "organisation_label": "Acmé",
        "payload": {"p": 1e-06, "q": 0.1, "n": [{"b": 1, "a": 2}]},
        "prev_hash": "ab" * 32,
        "hash": "",
        "hash_version": 2,
    }
    assert record_hash(record) == "f719ab3289f522aea07efa9e551f059174b49891ed36bc89cc046edea78fcee9"
    record["hash_version"] = 1
    assert record_hash(record) == "cb3783e0da4a0976ad877890207239a9e3453e892a5c6900800cdb9445a9f6bb"


def test_a_certificate_signed_before_still_verifies_and_re_signs_identically(keyring):
    document = parse_certificate_file(_golden("certificate.json"))
    result = verify_certificate(document, keyring.public_keys())
    assert result.valid, result.reason
    assert result.kid == "78fe474a7c97d28b"
    resigned = sign_certificate(document["certificate"], keyring)
    assert certificate_file_bytes(resigned) == _golden("certificate.json")


def test_a_revocation_list_signed_before_still_verifies_and_re_signs_identically(keyring):
    document = loads_strict(_golden("revocations.json"))
    result = verify_revocation_list(document, keyring.public_keys())
    assert result.signature_valid, result.reason
    assert set(result.entries) == {"SG-2026-000001"}
    resigned = sign_revocation_list(document["revocations"], keyring)
    assert canonical_json(resigned) == _golden("revocations.json")


def test_a_checkpoint_signed_before_still_verifies_and_re_signs_identically(keyring):
    document = loads_strict(_golden("checkpoint.json"))
    assert checkpoint_check(document, keyring.public_keys()) == (12, "ef" * 32)
    resigned = checkpoint_sign(document["checkpoint"], keyring.current)
    assert canonical_json(resigned) == _golden("checkpoint.json")


def test_a_manifest_signed_before_still_verifies_and_re_signs_identically(keyring):
    document = parse_manifest(_golden("manifest.json"))
    check = manifest_verify(document, keyring.public_keys())
    assert check.valid, check.reason
    keys = OrganisationKeys("acme", b"s" * 32, keyring.current)
    resigned = manifest_sign(document["manifest"], keys)
    assert manifest_bytes(resigned) == _golden("manifest.json")
    assert json.loads(manifest_bytes(resigned)) == document
