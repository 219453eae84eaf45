"""Create, rotate and publish the certificate signing keys.

manage.py certificate_keys generate PATH   # a new keyring file (mode 0600)
manage.py certificate_keys rotate PATH     # new current key; old one kept as retired
manage.py certificate_keys public          # the public keys document, as served
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from synthgov import signing_keys as keys
from synthgov.signing.keys import (
    SigningKeyError,
    generate_key_pem,
    keyring_from_text,
    rotated_keyring_text,
)


def _write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write with mode 0600; a rotation replaces the file atomically."""
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    if not replace and path.exists():
        temporary.unlink()
        raise CommandError(f"{path} exists; use `rotate` to replace its signing key.")
    temporary.replace(path)


class Command(BaseCommand):
    help = "Generate or rotate the certificate signing keyring, or print the public keys."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["generate", "rotate", "public"])
        parser.add_argument("path", nargs="?", type=Path, help="the keyring file")

    def handle(self, *args: Any, action: str, path: Path | None, **options: Any) -> None:
        if action == "public":
            try:
                document = keys.signing_keyring().public_keys_document()
            except SigningKeyError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(json.dumps(document, indent=2))
            return
        if path is None:
            raise CommandError(f"`{action}` needs the keyring file's path.")
        if action == "generate":
            _write_private(path, generate_key_pem(), replace=False)
            self.stdout.write(
                f"Wrote a new keyring to {path}; set SYNTHGOV_SIGNING_KEYS_FILE={path}"
            )
            return
        try:
            rotated = rotated_keyring_text(path.read_text(encoding="ascii"))
        except (OSError, SigningKeyError) as error:
            raise CommandError(f"cannot rotate {path}: {error}") from error
        _write_private(path, rotated, replace=True)
        keys.clear_cache()
        new = keyring_from_text(rotated)
        self.stdout.write(
            f"Rotated {path}: new signing key {new.current_kid}; "
            f"{len(new.retired)} retired key(s) still verify. Restart the web and worker processes."
        )
