from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_ingest_layer_imports_nothing_from_django() -> None:
    repo = Path(__file__).resolve().parents[3]
    code = (
        "import sys, registry.ingest; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django'); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )

    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
