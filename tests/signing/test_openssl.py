"""Certificates and manifests with floats verify with OpenSSL, not only with our
code: the public key as PEM, the exact RFC 8785 bytes of the signed body, the raw
signature, and ``openssl pkeyutl -verify -rawin`` (Ed25519 needs OpenSSL >= 3.0).
Anyone can repeat this with Debian's openssl and the files alone."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from synthgov.signing.canonical import signed_bytes
from synthgov.signing.certificates import certificate_file_bytes, sign_certificate
from synthgov.signing.keys import Keyring, b64url_decode, generate_key_pem, public_key_pem
from synthgov.signing.manifests import OrganisationKeys, manifest_sign, parse_manifest

GOLDEN = Path(__file__).parent / "golden"
OPENSSL = shutil.which("openssl")

pytestmark = pytest.mark.skipif(
    OPENSSL is None, reason="openssl is not installed (CI installs Debian's openssl)"
)

FLOATS = {"small": 1e-06, "tenth": 0.1, "big": 1e21, "neg": -0.0, "list": [1, 2.5, None]}


def _openssl_verifies(tmp_path: Path, keyring: Keyring, message: bytes, signature: str) -> bool:
    (tmp_path / "key.pem").write_text(public_key_pem(keyring.current.public_key()))
    (tmp_path / "message.bin").write_bytes(message)
    (tmp_path / "signature.bin").write_bytes(b64url_decode(signature))
    done = subprocess.run(
        [
            *(OPENSSL, "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin"),
            *("-in", "message.bin", "-sigfile", "signature.bin"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "Signature Verif" in done.stdout + done.stderr, done.stdout + done.stderr
    return done.returncode == 0 and "Signature Verified Successfully" in done.stdout


def _keyring() -> Keyring:
    return Keyring.from_pem(generate_key_pem())


def test_openssl_is_new_enough_for_raw_ed25519():
    version = subprocess.run([OPENSSL, "version"], capture_output=True, text=True).stdout
    major = int(re.match(r"OpenSSL (\d+)\.", version).group(1))
    assert major >= 3, f"Ed25519 -rawin verification needs OpenSSL 3: {version}"


def test_openssl_verifies_a_certificate_with_floats(tmp_path):
    keyring = _keyring()
    payload: dict[str, Any] = {"number": "SG-2026-000042", "expires": "2099-01-01"}
    data = certificate_file_bytes(sign_certificate({**payload, "figures": FLOATS}, keyring))
    # The file is RFC 8785 throughout, so the signed body is a slice of its bytes:
    # no JSON library of ours is involved in what openssl checks.
    match = re.fullmatch(rb'\{"certificate":(\{.*\}),"signature":\{.*"value":"([^"]+)"\}\}', data)
    body, signature = match.group(1), match.group(2).decode()
    assert b'"figures":{"big":1e+21,"list":[1,2.5,null],"neg":0,"small":0.000001' in body
    assert _openssl_verifies(tmp_path, keyring, body, signature)
    tampered = body.replace(b"0.000001", b"0.000002")
    assert not _openssl_verifies(tmp_path, keyring, tampered, signature)


def test_openssl_verifies_a_manifest_with_floats(tmp_path):
    keyring = _keyring()
    keys = OrganisationKeys("acme", b"s" * 32, keyring.current)
    payload = {"type": "synthgov.provenance-manifest", "format": 1, "generator": FLOATS}
    document = manifest_sign(payload, keys)
    message = signed_bytes(document["manifest"])
    assert message == (
        b'{"canonicalization":"RFC8785","format":1,"generator":{"big":1e+21,'
        b'"list":[1,2.5,null],"neg":0,"small":0.000001,"tenth":0.1},'
        b'"type":"synthgov.provenance-manifest"}'
    )
    assert _openssl_verifies(tmp_path, keyring, message, document["signature"]["value"])


def test_openssl_verifies_the_golden_rfc8785_manifest(tmp_path):
    keyring = Keyring.from_pem((GOLDEN / "signing-key.pem").read_bytes())
    document = parse_manifest((GOLDEN / "manifest-rfc8785.json").read_bytes())
    message = signed_bytes(document["manifest"])
    assert b'"epsilon":0.000001' in message
    assert _openssl_verifies(tmp_path, keyring, message, document["signature"]["value"])
    # The legacy bytes (Python's 1e-06) are not what was signed.
    legacy = message.replace(b"0.000001", b"1e-06")
    assert not _openssl_verifies(tmp_path, keyring, legacy, document["signature"]["value"])
