"""Where this deployment's signing keys come from: configuration, never the repository.

A keyring file (``SYNTHGOV_SIGNING_KEYS_FILE``) or variable
(``SYNTHGOV_SIGNING_KEYS``) holds PEM blocks: exactly one ``PRIVATE KEY``
(the current signing key) and any number of ``PUBLIC KEY`` blocks (retired
keys, kept so certificates they signed still verify). Rotating a key means
writing a new private key and moving the old one's public half into the list
(``manage.py certificate_keys rotate`` does it). Parsing a keyring is plain
``synthgov.signing.keys``; this module only decides where it comes from.

With nothing configured and DEBUG on, a key file is created under the var
directory on first use, so the local demo works; with DEBUG off signing is
refused and ``check --deploy`` reports the missing configuration.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, register

from synthgov.signing.keys import Keyring, SigningKeyError, generate_key_pem, keyring_from_text

DEV_KEY_FILENAME = "signing-keys.pem"

_lock = threading.Lock()
_cache: dict[tuple[str, str], Keyring] = {}


def _configured_source() -> tuple[str, str] | None:
    """("env", text) or ("file", path) from settings, or None when unset."""
    if settings.SYNTHGOV_SIGNING_KEYS:
        # Some secret stores cannot hold newlines; accept "\n" escapes.
        return ("env", settings.SYNTHGOV_SIGNING_KEYS.replace("\\n", "\n"))
    if settings.SYNTHGOV_SIGNING_KEYS_FILE:
        return ("file", settings.SYNTHGOV_SIGNING_KEYS_FILE)
    return None


def _dev_key_file() -> Path:
    path = Path(settings.VAR_DIR) / DEV_KEY_FILENAME
    if not path.exists():
        # Created readable by the owner only, and never overwritten.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            return path
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key_pem())
    return path


def _read(source: tuple[str, str]) -> Keyring:
    kind, value = source
    if kind == "env":
        return keyring_from_text(value)
    try:
        text = Path(value).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise SigningKeyError(f"cannot read the signing keys file {value}: {error}") from error
    return keyring_from_text(text)


def signing_keyring() -> Keyring:
    """The configured keyring (cached per configuration); SigningKeyError when
    none is configured outside DEBUG or it cannot be loaded."""
    source = _configured_source()
    if source is None:
        if not settings.DEBUG:
            raise SigningKeyError(
                "No certificate signing key is configured: set SYNTHGOV_SIGNING_KEYS_FILE "
                "to a keyring file (see README, 'Certificates')."
            )
        source = ("file", str(_dev_key_file()))
    with _lock:
        if source not in _cache:
            _cache[source] = _read(source)
        return _cache[source]


def clear_cache() -> None:
    """Forget loaded keyrings (after a rotation, or between tests)."""
    with _lock:
        _cache.clear()


@register(Tags.security, deploy=True)
def check_signing_keys(app_configs: object = None, **kwargs: object) -> list[Error]:
    """``check --deploy``: production needs a configured, loadable keyring."""
    source = _configured_source()
    if source is None:
        return [
            Error(
                "No certificate signing key is configured.",
                hint="Set SYNTHGOV_SIGNING_KEYS_FILE to a keyring file kept outside the "
                "repository (`manage.py certificate_keys generate` writes one).",
                id="synthgov.E001",
            )
        ]
    try:
        _read(source)
    except SigningKeyError as error:
        return [
            Error(f"The certificate signing keys cannot be loaded: {error}", id="synthgov.E002")
        ]
    return []
