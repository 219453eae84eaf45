"""The offline verifiers share one argument parser: a wrong command line exits
with the usage status (3) they all document, never argparse's 2 (which means
"expired" to ``synthgov.verify``)."""

from __future__ import annotations

import pytest

from synthgov import verify, verify_manifest, verify_trail
from synthgov.signing.cli import EXIT_USAGE


@pytest.mark.parametrize("verifier", [verify, verify_manifest, verify_trail])
def test_a_wrong_command_line_exits_with_the_usage_status(verifier, capsys):
    with pytest.raises(SystemExit) as exited:
        verifier.main(["--no-such-option"])
    assert exited.value.code == EXIT_USAGE == 3
    assert capsys.readouterr().err.startswith(f"usage: python -m {verifier.__name__}")


@pytest.mark.parametrize("verifier", [verify, verify_manifest, verify_trail])
def test_an_unreadable_key_file_is_a_usage_error(verifier, tmp_path, capsys):
    subject = tmp_path / "subject.json"
    subject.write_text("{}")
    args = [str(subject), "--public-key", str(tmp_path / "missing.pem")]
    if verifier is verify_trail:
        args += ["--checkpoint", str(subject)]
    assert verifier.main(args) == EXIT_USAGE
    assert capsys.readouterr().err.startswith("error: cannot read the")
