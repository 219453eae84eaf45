"""SynthGov's Python client: the HTTP API with no Django, and the pipeline gate.

    from synthgov.client import Client

    with Client("https://synthgov.example.org", token) as api:
        dataset = api.find_dataset("Placements (synthetic)")
        version = api.upload_version(dataset, "synthetic.csv", parents=[(12, "trained_on")])
        audit = api.wait_for_audit(api.request_audit(version, reference=12))
        evaluation = api.wait_for_evaluation(version, "EU-SYNTH", audit=audit)
        verdict = decide(evaluation)          # verdict.passed, verdict.blocking

``python -m synthgov.client gate ...`` does the same from a shell and exits
non-zero when a blocking rule fails (``--help`` lists the exit codes). This
package imports only the standard library and ``httpx`` (an import-linter
contract holds it to that), so a pipeline needs neither Django nor a database.
"""

from synthgov.client.api import (
    AuditFailed,
    Client,
    NotApplicable,
    Progress,
    SynthGovError,
    UsageError,
    WaitTimeout,
)
from synthgov.client.gate import (
    EXIT_FAILED,
    EXIT_PASSED,
    EXIT_SERVER,
    EXIT_USAGE,
    SEVERITIES,
    Verdict,
    decide,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_PASSED",
    "EXIT_SERVER",
    "EXIT_USAGE",
    "SEVERITIES",
    "AuditFailed",
    "Client",
    "NotApplicable",
    "Progress",
    "SynthGovError",
    "UsageError",
    "Verdict",
    "WaitTimeout",
    "decide",
]
