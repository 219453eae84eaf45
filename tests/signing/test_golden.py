"""Signed files and hashes pinned byte for byte: the same inputs and key must
keep giving the same bytes, and files signed earlier must keep verifying.

``golden/`` was written with a fixed test key (``signing-key.pem``, used for
nothing else). Ed25519 signatures are deterministic, so re-signing the same
payload with that key must reproduce each file exactly.

- ``certificate.json``, ``manifest.json``, ``revocations.json``,
  ``checkpoint.json``: signed before RFC 8785, over the legacy canonical form
  (no ``canonicalization`` member). They must keep verifying: that is the
  migration path for every certificate, manifest and checkpoint already issued.
- ``*-rfc8785.json``: the same documents as signed now, over RFC 8785 bytes,
  with floats whose two forms differ (1e-06, 1e21, -0.0).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from audits.checks.runner import AuditOutcome
from synthgov import verify, verify_manifest
from synthgov.signing.canonical import canonical_json, jcs_json, signed_bytes
from synthgov.signing.certificates import (
    certificate_file_bytes,
    parse_certificate_file,
    sign_certificate,
    verify_certificate,
)
from synthgov.signing.checkpoints import CHECKPOINT_CONTEXT, checkpoint_check, checkpoint_sign
from synthgov.signing.envelope import signature_for
from synthgov.signing.keys import Keyring, b64url_decode, public_key_pem
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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e-06, b"0.000001"),
        (0.1, b"0.1"),
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (-0.0, b"0"),
        (2.5, b"2.5"),
        (1.0, b"1"),
        ("Zoë 日本 \u2028", '"Zoë 日本 \u2028"'.encode()),
        (
            {"b": [1, {"d": None, "c": True}], "a": {"é": 0.1, "e": 1e-06}},
            '{"a":{"e":0.000001,"é":0.1},"b":[1,{"c":true,"d":null}]}'.encode(),
        ),
    ],
)
def test_rfc8785_bytes_are_pinned(value: Any, expected: bytes):
    # Expected bytes from RFC 8785 section 3.2.2.3 (ECMAScript number form).
    assert jcs_json({"v": value}) == b'{"v":' + expected + b"}"
    assert signed_bytes({"canonicalization": "RFC8785", "v": value}) == (
        b'{"canonicalization":"RFC8785","v":' + expected + b"}"
    )


def test_rfc8785_refuses_what_it_cannot_represent():
    for value in (float("nan"), float("inf"), 2**53):
        with pytest.raises(ValueError):
            jcs_json({"v": value})


def test_a_body_naming_no_canonicalisation_is_signed_over_the_legacy_bytes():
    assert signed_bytes({"v": 1e-06}) == b'{"v":1e-06}'
    with pytest.raises(ValueError, match="unknown canonicalization"):
        signed_bytes({"canonicalization": None, "v": 1})


# --- documents signed before RFC 8785: the migration path ----------------------


def test_a_certificate_signed_before_still_verifies_and_re_signs_identically(keyring):
    document = parse_certificate_file(_golden("certificate.json"))
    assert "canonicalization" not in document["certificate"]
    result = verify_certificate(document, keyring.public_keys())
    assert result.valid, result.reason
    assert result.kid == "78fe474a7c97d28b"
    # Its floats were signed as Python writes them: the legacy bytes, not JCS.
    assert b'"small":1e-06' in signed_bytes(document["certificate"])
    assert signature_for(document["certificate"], keyring.current) == document["signature"]
    assert certificate_file_bytes(document) == _golden("certificate.json")


def test_a_revocation_list_signed_before_still_verifies_and_re_signs_identically(keyring):
    document = loads_strict(_golden("revocations.json"))
    result = verify_revocation_list(document, keyring.public_keys())
    assert result.signature_valid, result.reason
    assert set(result.entries) == {"SG-2026-000001"}
    assert signature_for(document["revocations"], keyring.current) == document["signature"]
    assert canonical_json(document) == _golden("revocations.json")


def test_a_checkpoint_signed_before_still_verifies_and_re_signs_identically(keyring):
    document = loads_strict(_golden("checkpoint.json"))
    assert checkpoint_check(document, keyring.public_keys()) == (12, "ef" * 32)
    resigned = checkpoint_sign(document["checkpoint"], keyring.current)
    assert canonical_json(resigned) == _golden("checkpoint.json")


def test_a_manifest_signed_before_still_verifies_and_re_signs_identically(keyring):
    document = parse_manifest(_golden("manifest.json"))
    check = manifest_verify(document, keyring.public_keys())
    assert check.valid, check.reason
    assert signature_for(document["manifest"], keyring.current) == document["signature"]
    assert manifest_bytes(document) == _golden("manifest.json")


# --- documents signed now: RFC 8785 ---------------------------------------------


def test_a_certificate_with_floats_is_signed_over_its_rfc8785_bytes(keyring):
    legacy = parse_certificate_file(_golden("certificate.json"))["certificate"]
    resigned = sign_certificate(legacy, keyring)
    assert certificate_file_bytes(resigned) == _golden("certificate-rfc8785.json")
    document = parse_certificate_file(_golden("certificate-rfc8785.json"))
    assert document["certificate"]["canonicalization"] == "RFC8785"
    assert verify_certificate(document, keyring.public_keys()).valid
    figures = (
        b'"figures":{"big":1e+21,"list":[1,2.5,null,true],"neg":0,"small":0.000001,"tenth":0.1}'
    )
    assert figures in signed_bytes(document["certificate"])
    assert figures in _golden("certificate-rfc8785.json")


def test_a_manifest_with_floats_is_signed_over_its_rfc8785_bytes(keyring):
    document = parse_manifest(_golden("manifest-rfc8785.json"))
    assert manifest_verify(document, keyring.public_keys()).valid
    keys = OrganisationKeys("acme", b"s" * 32, keyring.current)
    assert manifest_bytes(manifest_sign(document["manifest"], keys)) == _golden(
        "manifest-rfc8785.json"
    )
    generator = (
        b'"generator":{"big":1e+21,"epsilon":0.000001,"list":[1,2.5,null,true],"neg":0,"share":0.1}'
    )
    assert generator in signed_bytes(document["manifest"])


def test_a_revocation_list_is_signed_over_its_rfc8785_bytes(keyring):
    document = loads_strict(_golden("revocations-rfc8785.json"))
    assert verify_revocation_list(document, keyring.public_keys()).signature_valid
    legacy = loads_strict(_golden("revocations.json"))["revocations"]
    assert jcs_json(sign_revocation_list(legacy, keyring)) == _golden("revocations-rfc8785.json")


def test_a_checkpoint_is_signed_over_its_rfc8785_bytes(keyring):
    document = loads_strict(_golden("checkpoint-rfc8785.json"))
    assert checkpoint_check(document, keyring.public_keys()) == (12, "ef" * 32)
    message = CHECKPOINT_CONTEXT + jcs_json(document["checkpoint"])
    keyring.current.public_key().verify(b64url_decode(document["signature"]["value"]), message)


# --- the offline verifiers accept both -------------------------------------------


@pytest.mark.parametrize("suffix", ["", "-rfc8785"])
def test_the_offline_verifiers_accept_documents_signed_before_and_after(
    suffix, keyring, tmp_path, capsys
):
    key = tmp_path / "key.pem"
    key.write_text(public_key_pem(keyring.current.public_key()))
    certificate = [str(GOLDEN / f"certificate{suffix}.json"), "--public-key", str(key)]
    revocations = ["--revocations", str(GOLDEN / f"revocations{suffix}.json")]
    assert verify.main([*certificate, *revocations]) == 0
    assert capsys.readouterr().out.startswith("VALID signature (key 78fe474a7c97d28b)")
    manifest = [str(GOLDEN / f"manifest{suffix}.json"), "--public-key", str(key)]
    assert verify_manifest.main(manifest) == 0
    assert capsys.readouterr().out.startswith("VALID signature (key 78fe474a7c97d28b): patients")


def test_the_offline_verifier_refuses_an_rfc8785_certificate_with_a_changed_float(
    keyring, tmp_path, capsys
):
    key = tmp_path / "key.pem"
    key.write_text(public_key_pem(keyring.current.public_key()))
    changed = tmp_path / "changed.json"
    data = _golden("certificate-rfc8785.json")
    changed.write_bytes(data.replace(b'"small":0.000001', b'"small":0.000002'))
    assert verify.main([str(changed), "--public-key", str(key)]) == 1
    assert capsys.readouterr().out.startswith("INVALID: the signature does not match")
