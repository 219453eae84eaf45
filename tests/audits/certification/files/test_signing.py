from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from synthgov.signing.canonical import canonical_json
from synthgov.signing.certificates import (
    CertificateFormatError,
    certificate_file_bytes,
    parse_certificate_file,
    sign_certificate,
    verify_certificate,
)
from synthgov.signing.keys import (
    Keyring,
    SigningKeyError,
    b64url_decode,
    b64url_encode,
    generate_key_pem,
    key_id,
    load_public_key_pem,
    public_key_pem,
    public_keys_document,
    public_keys_from_document,
)
from tests.audits.certification.files.conftest import make_payload

BEFORE_EXPIRY = date(2027, 1, 1)


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": 1, "a": {"d": "é", "c": [1, 2]}}) == (
        '{"a":{"c":[1,2],"d":"é"},"b":1}'.encode()
    )


def test_canonical_json_refuses_nan():
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": math.nan})


def test_key_id_is_sha256_prefix_of_raw_public_key(keyring: Keyring):
    import hashlib

    raw = b64url_decode(keyring.public_keys_document()["keys"][0]["public_key"])
    assert len(raw) == 32
    assert keyring.current_kid == hashlib.sha256(raw).hexdigest()[:16]


def test_round_trip(signed: dict[str, Any], keyring: Keyring):
    # New certificates record that their signature covers the RFC 8785 bytes.
    assert signed["certificate"] == {**make_payload(), "canonicalization": "RFC8785"}
    assert signed["signature"]["alg"] == "Ed25519"
    assert signed["signature"]["kid"] == keyring.current_kid

    result = verify_certificate(signed, keyring.public_keys(), today=BEFORE_EXPIRY)

    assert result.signature_valid and result.valid and not result.expired
    assert result.kid == keyring.current_kid
    assert result.expires == date(2027, 11, 1)


def test_round_trip_through_file_bytes(signed: dict[str, Any], keyring: Keyring):
    document = parse_certificate_file(certificate_file_bytes(signed))
    assert verify_certificate(document, keyring.public_keys(), today=BEFORE_EXPIRY).valid


def test_reformatted_equal_json_still_verifies(signed: dict[str, Any], keyring: Keyring):
    # Verification recomputes the canonical form, so indentation and key order
    # in the file do not matter; only values do.
    pretty = json.dumps(signed, indent=4, ensure_ascii=True).encode()
    document = parse_certificate_file(pretty)
    assert verify_certificate(document, keyring.public_keys(), today=BEFORE_EXPIRY).valid


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _leaf_paths(item, (*path, key))]
    return [path]


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return value[:-1] + ("0" if value[-1] != "0" else "1")


@pytest.mark.parametrize("path", _leaf_paths(make_payload()), ids=lambda p: ".".join(map(str, p)))
def test_a_changed_value_anywhere_fails(signed: dict[str, Any], keyring: Keyring, path):
    tampered = copy.deepcopy(signed)
    node = tampered["certificate"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = _changed(node[path[-1]])

    result = verify_certificate(tampered, keyring.public_keys(), today=BEFORE_EXPIRY)

    assert not result.signature_valid and not result.valid
    assert "does not match" in result.reason


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: d["certificate"].update(extra="x"), id="added-field"),
        pytest.param(lambda d: d["certificate"].pop("issued"), id="removed-field"),
        pytest.param(lambda d: d.update(note="x"), id="extra-top-level"),
        pytest.param(lambda d: d["signature"].update(alg="EdDSA"), id="alg"),
        pytest.param(lambda d: d["signature"].update(kid="0" * 16), id="kid"),
        pytest.param(lambda d: d["signature"].update(kid="ABC"), id="malformed-kid"),
        pytest.param(lambda d: d["signature"].update(value="AAAA"), id="short-signature"),
        pytest.param(lambda d: d["signature"].update(value=None), id="signature-null"),
        pytest.param(lambda d: d["signature"].pop("kid"), id="signature-missing-kid"),
        pytest.param(lambda d: d.pop("signature"), id="unsigned"),
    ],
)
def test_tampered_envelope_fails(signed: dict[str, Any], keyring: Keyring, tamper):
    tampered = copy.deepcopy(signed)
    tamper(tampered)
    result = verify_certificate(tampered, keyring.public_keys(), today=BEFORE_EXPIRY)
    assert not result.signature_valid
    assert result.reason


def test_every_signature_bit_matters(signed: dict[str, Any], keyring: Keyring):
    raw = b64url_decode(signed["signature"]["value"])
    for position in range(len(raw)):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[position] ^= 1 << bit
            tampered = copy.deepcopy(signed)
            tampered["signature"]["value"] = b64url_encode(bytes(flipped))
            assert not verify_certificate(tampered, keyring.public_keys()).signature_valid


def test_every_changed_byte_of_the_file_fails(signed: dict[str, Any], keyring: Keyring):
    data = certificate_file_bytes(signed)
    keys = keyring.public_keys()
    assert verify_certificate(parse_certificate_file(data), keys, today=BEFORE_EXPIRY).valid
    survivors = []
    # Every position, every other byte value: either the file no longer parses
    # or the signature check fails. Nothing else is acceptable.
    for position in range(len(data)):
        for replacement in range(256):
            if replacement == data[position]:
                continue
            changed = data[:position] + bytes([replacement]) + data[position + 1 :]
            try:
                document = parse_certificate_file(changed)
            except CertificateFormatError:
                continue
            if verify_certificate(document, keys, today=BEFORE_EXPIRY).signature_valid:
                survivors.append((position, replacement))
    assert survivors == []


def test_non_canonical_base64_is_rejected():
    # "AB" and "AA" decode to the same byte when unused bits are ignored.
    assert b64url_decode("AA") == b"\x00"
    for text in ("AB", "AA==", "A+", "A/", "A A", "AA."):
        with pytest.raises(ValueError):
            b64url_decode(text)


@pytest.mark.parametrize("data", [b"", b"[]", b"\xff{}", b'{"certificate": NaN}', b"{"], ids=repr)
def test_unparseable_files_raise_format_error(data: bytes):
    with pytest.raises(CertificateFormatError):
        parse_certificate_file(data)


def test_rotated_out_key_still_verifies(private_pem: str):
    old = Keyring.from_pem(private_pem)
    old_certificate = sign_certificate(make_payload(), old)
    new_pem = generate_key_pem()
    old_public = public_key_pem(old.current.public_key())

    rotated = Keyring.from_pem(new_pem, retired_public_pems=[old_public])
    new_certificate = sign_certificate(make_payload(number="SG-2026-000043"), rotated)

    assert new_certificate["signature"]["kid"] == rotated.current_kid != old.current_kid
    keys = rotated.public_keys()
    assert set(keys) == {old.current_kid, rotated.current_kid}
    for certificate in (old_certificate, new_certificate):
        assert verify_certificate(certificate, keys, today=BEFORE_EXPIRY).valid
    # The published document carries both keys, and round-trips into the same map.
    document = public_keys_document(rotated)
    assert {(k["kid"], k["status"]) for k in document["keys"]} == {
        (rotated.current_kid, "current"),
        (old.current_kid, "retired"),
    }
    assert all(k["alg"] == "Ed25519" for k in document["keys"])
    from_document = public_keys_from_document(json.loads(json.dumps(document)))
    assert verify_certificate(old_certificate, from_document, today=BEFORE_EXPIRY).valid


def test_retired_private_key_pem_is_accepted_and_current_not_duplicated(private_pem: str):
    ring = Keyring.from_pem(generate_key_pem(), retired_public_pems=[private_pem])
    assert len(ring.public_keys()) == 2
    same = Keyring.from_pem(private_pem, retired_public_pems=[private_pem])
    assert len(same.public_keys_document()["keys"]) == 1


def test_unknown_kid_fails(signed: dict[str, Any]):
    other = Keyring.from_pem(generate_key_pem())
    result = verify_certificate(signed, other.public_keys(), today=BEFORE_EXPIRY)
    assert not result.signature_valid
    assert result.reason == f"unknown signing key {signed['signature']['kid']}"


def test_key_filed_under_the_wrong_kid_fails(signed: dict[str, Any]):
    other = Keyring.from_pem(generate_key_pem()).current.public_key()
    result = verify_certificate(signed, {signed["signature"]["kid"]: other})
    assert not result.signature_valid
    assert "different key id" in result.reason


def test_keys_document_with_a_wrong_kid_is_refused(keyring: Keyring):
    document = keyring.public_keys_document()
    document["keys"][0]["kid"] = "0" * 16
    with pytest.raises(SigningKeyError, match="under kid"):
        public_keys_from_document(document)


@pytest.mark.parametrize(
    ("today", "expired"),
    [(date(2027, 10, 31), False), (date(2027, 11, 1), True), (date(2028, 1, 1), True)],
)
def test_expiry(signed: dict[str, Any], keyring: Keyring, today: date, expired: bool):
    result = verify_certificate(signed, keyring.public_keys(), today=today)
    assert result.signature_valid
    assert result.expired is expired
    assert result.valid is not expired


def test_unreadable_expiry_is_not_valid(keyring: Keyring):
    signed = sign_certificate(make_payload(expires="next year"), keyring)
    result = verify_certificate(signed, keyring.public_keys())
    assert result.signature_valid and not result.valid
    assert "expires" in result.reason


def test_keyring_from_file(tmp_path: Path, private_pem: str):
    path = tmp_path / "signing.pem"
    path.write_text(private_pem)
    assert Keyring.from_file(path).current_kid == Keyring.from_pem(private_pem).current_kid
    with pytest.raises(SigningKeyError, match="cannot read"):
        Keyring.from_file(tmp_path / "missing.pem")


@pytest.mark.parametrize("pem", ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_bad_private_key_is_refused(pem: str):
    with pytest.raises(SigningKeyError):
        Keyring.from_pem(pem)


def test_non_ed25519_key_is_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(SigningKeyError, match="not an Ed25519"):
        Keyring.from_pem(pem)
    with pytest.raises(SigningKeyError, match="not an Ed25519"):
        load_public_key_pem(pem)


def test_key_id_matches_loaded_public_pem(keyring: Keyring):
    public = load_public_key_pem(public_key_pem(keyring.current.public_key()))
    assert key_id(public) == keyring.current_kid


def test_signing_layer_imports_no_django():
    code = (
        "import sys, synthgov.signing.certificates, synthgov.signing.revocations\n"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=Path(__file__).resolve().parents[4],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_canonicalisation_cannot_be_changed_or_dropped(signed: dict[str, Any], keyring):
    # The name sits inside the signed body: dropping it (to be checked over the
    # legacy bytes) or naming an unknown scheme breaks the signature.
    dropped = json.loads(json.dumps(signed))
    del dropped["certificate"]["canonicalization"]
    result = verify_certificate(dropped, keyring.public_keys(), today=BEFORE_EXPIRY)
    assert not result.signature_valid
    assert "does not match the certificate" in result.reason
    unknown = json.loads(json.dumps(signed))
    unknown["certificate"]["canonicalization"] = "JCS-2"
    result = verify_certificate(unknown, keyring.public_keys(), today=BEFORE_EXPIRY)
    assert not result.signature_valid
    assert "unknown canonicalization 'JCS-2'" in result.reason


def test_a_certificate_with_floats_is_filed_in_rfc8785_form(keyring):
    signed = sign_certificate(make_payload(share=1e-06, big=1e21, zero=-0.0), keyring)
    data = certificate_file_bytes(signed)
    assert b'"big":1e+21' in data and b'"share":0.000001' in data and b'"zero":0' in data
    document = parse_certificate_file(data)
    assert verify_certificate(document, keyring.public_keys(), today=BEFORE_EXPIRY).valid
