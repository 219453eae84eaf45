"""Keys and a small signed certificate shared by the certificate tests."""

from __future__ import annotations

from typing import Any

import pytest

from synthgov.signing.certificates import sign_certificate
from synthgov.signing.keys import Keyring, generate_key_pem


def make_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "number": "SG-2026-000042",
        "dataset_version": {"id": 7, "file_sha256": "ab" * 32},
        "standard": {"code": "eu-health", "version": 3},
        "evidence_hash": "cd" * 32,
        "issued": "2026-11-01",
        "expires": "2027-11-01",
        # Non-ASCII text checks that UTF-8 multi-byte characters are signed as such.
        "issuer": {"name": "Régulateur Zoë", "organisation": "Autorité Ü"},
        "compliant": True,
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def private_pem() -> str:
    return generate_key_pem()


@pytest.fixture
def keyring(private_pem: str) -> Keyring:
    return Keyring.from_pem(private_pem)


@pytest.fixture
def signed(keyring: Keyring) -> dict[str, Any]:
    return sign_certificate(make_payload(), keyring)
