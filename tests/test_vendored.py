"""The vendored browser libraries are the published builds static/vendor/README.md
names: same files, same hashes, each with its licence beside it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "static" / "vendor"


def listed_hashes() -> dict[str, str]:
    text = (VENDOR / "README.md").read_text()
    return dict(
        (path, digest)
        for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", text, flags=re.MULTILINE)
    )


def test_every_vendored_file_matches_the_readme() -> None:
    listed = listed_hashes()
    found = {
        str(path.relative_to(VENDOR)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in VENDOR.rglob("*")
        if path.is_file() and path.suffix in {".js", ".map"}
    }
    assert listed and found == listed


def test_every_library_has_its_licence() -> None:
    for folder in (p for p in VENDOR.iterdir() if p.is_dir()):
        assert (folder / "LICENSE").read_text().strip(), folder
    assert (
        "Permission is hereby granted"
        in (VENDOR / "cytoscape-dagre" / "LICENSE.dagrejs-dagre").read_text()
    )
