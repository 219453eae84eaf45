"""``python -m synthgov.client gate`` as a generation pipeline calls it: its own
process, a token from ``drf_create_token``, the live test server and a real worker
that runs the audit and the evaluation."""

from __future__ import annotations

import json

import pytest

from audits.models import AuditRun, ComplianceEvaluation
from registry.models import DatasetVersion
from tests.client.conftest import SYNTHETIC_DATASET, lineage_of, make_token, run_cli
from tests.worker import worker_log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def gate_args(gw, standard: str, *extra: str) -> list[str]:
    return [
        "gate",
        "--dataset",
        SYNTHETIC_DATASET,
        "--file",
        str(gw["file"]),
        "--parent",
        f"{gw['real'].pk}:trained_on",
        "--families",
        "quality",
        "--standard",
        standard,
        "--note",
        "pipeline run 42",
        "--poll",
        "0.3",
        "--timeout",
        "150",
        *extra,
    ]


def test_a_gate_the_data_passes_exits_0_with_the_report(gate_world, worker_queue):
    gw = gate_world
    sheet = gw["file"].parent / "datasheet.json"
    sheet.write_text(json.dumps({"motivation": "Let analysts prototype without real records."}))
    generator = ["--generator-type", "copula", "--generator-library", "sdv"]
    done = run_cli(
        *gate_args(gw, "GATE-OK", *generator, "--datasheet", str(sheet)),
        url=gw["url"],
        token=gw["token"],
    )
    assert done.returncode == 0, done.stdout + done.stderr + worker_log(worker_queue)

    (version,) = DatasetVersion.objects.filter(dataset=gw["synthetic_dataset"])
    assert version.note == "pipeline run 42"
    assert lineage_of(version.pk) == [(gw["real"].pk, "trained_on")]
    assert (version.generation.generator_type, version.generation.generator_library) == (
        "copula",
        "sdv",
    )
    assert version.datasheet.motivation == "Let analysts prototype without real records."
    run = AuditRun.objects.get(version=version)
    assert run.status == "succeeded" and run.reference_id == gw["real"].pk
    assert run.config["families"] == ["quality"]
    evaluation = ComplianceEvaluation.objects.get(
        dataset_version=version, standard_version__standard__code="GATE-OK", is_current=True
    )
    overall = run.metrics.get(key="quality.overall").value

    out = done.stdout
    assert f"{SYNTHETIC_DATASET} v1 (version #{version.pk}), audit #{run.pk}" in out
    assert f"{gw['url']}/versions/{version.pk}/" in out
    assert "Standard GATE-OK@1.0: Compliant, 1 advisory" in out
    (line,) = [ln for ln in out.splitlines() if "quality.overall" in ln]
    assert line.split() == ["pass", "blocking", "quality.overall", "≥", "0.50", f"{overall:.4g}"]
    (advisory,) = [ln for ln in out.splitlines() if "quality.detection" in ln]
    assert advisory.split()[:2] == ["FAIL", "advisory"] and "blocks" not in advisory
    assert out.rstrip().endswith(
        "PASSED: no rule of severity major or above fails (1 lower-severity rule fails)."
    )
    assert evaluation.status == "non_compliant"  # the engine's word; the advisory fails
    # The same evaluation with a lower bar: the advisory rule now blocks.
    status = ["status", str(version.pk), "--standard"]
    strict = run_cli(*status, "GATE-OK", "--fail-on", "advisory", url=gw["url"], token=gw["token"])
    assert strict.returncode == 1, strict.stderr
    assert strict.stdout.rstrip().endswith(
        "FAILED (rules of severity advisory or above block): 1 rule fails (quality.detection)."
    )
    # A major rule with no figure blocks, unless missing figures are allowed. (The
    # worker evaluates every standard in code order: GATE-MISSING before GATE-OK.)
    missing = run_cli(*status, "GATE-MISSING", url=gw["url"], token=gw["token"])
    assert missing.returncode == 1, missing.stderr
    assert "1 rule has no figure (privacy.exact_match_rate)" in missing.stdout
    allowed = run_cli(*status, "GATE-MISSING", "--allow-missing", url=gw["url"], token=gw["token"])
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.rstrip().endswith(
        "PASSED: no rule of severity major or above fails; 1 rule without a figure, allowed."
    )
    # Progress went to stderr, never the token.
    assert f"audit #{run.pk}: succeeded" in done.stderr
    assert gw["token"] not in done.stdout + done.stderr


def test_a_gate_with_a_failing_blocking_rule_exits_1(gate_world, worker_queue):
    gw = gate_world
    done = run_cli(*gate_args(gw, "GATE-STRICT", "--json"), url=gw["url"], token=gw["token"])
    assert done.returncode == 1, done.stdout + done.stderr + worker_log(worker_queue)

    report = json.loads(done.stdout)
    (version,) = DatasetVersion.objects.filter(dataset=gw["synthetic_dataset"])
    run = AuditRun.objects.get(version=version)
    assert report["passed"] is False and report["exit_code"] == 1
    assert (report["version"], report["audit"]) == (version.pk, run.pk)
    assert report["standard"] == "GATE-STRICT@1.0"
    assert report["status"]["code"] == "non_compliant"
    assert report["blocking"] == ["quality.overall"]
    assert report["findings"] == []  # CC-BY-4.0 passes the minor licence rule
    failing = next(r for r in report["rules"] if r["key"] == "quality.overall")
    assert failing == {
        "key": "quality.overall",
        "rule": "quality.overall ≥ 0.99",
        "operator": ">=",
        "threshold": 0.99,
        "severity": "blocking",
        "status": "fail",
        "value": run.metrics.get(key="quality.overall").value,
        "blocks": True,
    }

    # The same version read again with `status`, as text: the failing line is marked.
    again = run_cli(
        "status", str(version.pk), "--standard", "gate-strict", url=gw["url"], token=gw["token"]
    )
    assert again.returncode == 1, again.stderr
    (line,) = [ln for ln in again.stdout.splitlines() if "quality.overall ≥" in ln]
    assert line.split()[:2] == ["FAIL", "blocking"] and line.endswith("<< blocks the gate")
    assert again.stdout.rstrip().endswith(
        "FAILED (rules of severity major or above block): 1 rule fails (quality.overall)."
    )
    # Judged by blocking rules only, the same evaluation still fails (the rule is blocking);
    # against GATE-OK (its quality bar is 0.5) it passes.
    assert (
        run_cli(
            "status", str(version.pk), "--standard", "GATE-OK", url=gw["url"], token=gw["token"]
        ).returncode
        == 0
    )


def test_a_standard_that_does_not_apply_is_said_once_the_worker_has_evaluated(
    gate_world, worker_queue
):
    gw = gate_world
    done = run_cli(*gate_args(gw, "GATE-UK"), url=gw["url"], token=gw["token"])
    assert done.returncode == 2, done.stdout + done.stderr + worker_log(worker_queue)
    (version,) = DatasetVersion.objects.filter(dataset=gw["synthetic_dataset"])
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: GATE-UK@1.0 does not apply to version #{version.pk}'s dataset: the worker "
        "evaluated it against GATE-MISSING@1.0, GATE-OK@1.0, GATE-STRICT@1.0 only. The "
        "standard covers jurisdictions UK."
    )


def test_a_file_the_server_refuses_exits_2_with_its_message_and_stores_nothing(
    gate_world, tmp_path
):
    gw = gate_world
    bad = tmp_path / "synthetic.csv"
    bad.write_bytes(b"")
    done = run_cli(
        *[str(bad) if a == str(gw["file"]) else a for a in gate_args(gw, "GATE-OK")],
        url=gw["url"],
        token=gw["token"],
    )
    assert done.returncode == 2, done.stdout + done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith(
        f"error: The server refused the request (400 on POST /api/v1/datasets/"
        f"{gw['synthetic_dataset'].pk}/versions/): file: "
    ), message
    assert "empty" in message.lower(), message
    assert done.stdout == ""
    assert not DatasetVersion.objects.filter(dataset=gw["synthetic_dataset"]).exists()
    assert not AuditRun.objects.exists()


def test_a_column_the_version_lacks_is_the_servers_message_and_names_the_stored_version(
    gate_world,
):
    gw = gate_world
    done = run_cli(
        *gate_args(gw, "GATE-OK", "--target", "no_such_column"), url=gw["url"], token=gw["token"]
    )
    assert done.returncode == 2, done.stdout + done.stderr
    (version,) = DatasetVersion.objects.filter(dataset=gw["synthetic_dataset"])
    assert done.stderr.strip().splitlines()[-1] == (
        "error: The server refused the request (400 on POST /api/v1/audits/): target: "
        f"no_such_column is not a column of {version}. "
        f"(The file is registered as version #{version.pk}.)"
    )
    assert not AuditRun.objects.exists()


def test_a_wrong_token_is_refused_clearly_and_never_echoed(gate_world):
    gw = gate_world
    wrong = "0" * 40
    done = run_cli(*gate_args(gw, "GATE-OK"), url=gw["url"], token=wrong)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: The server refused the token (401 on GET /api/v1/standards/): Invalid token."
    )
    assert wrong not in done.stdout + done.stderr
    assert not DatasetVersion.objects.filter(dataset=gw["synthetic_dataset"]).exists()


def test_nothing_is_learnt_about_a_version_one_may_not_read(gate_world):
    """Org B's curator asks about org A's version: the answer is the one for an id
    that does not exist, word for word."""
    gw = gate_world
    other = make_token(gw["world"].curator_b)
    hidden, unknown = gw["real"].pk, 987654
    seen = run_cli("status", str(hidden), "--standard", "GATE-OK", url=gw["url"], token=other)
    none = run_cli("status", str(unknown), "--standard", "GATE-OK", url=gw["url"], token=other)
    assert seen.returncode == none.returncode == 2
    assert seen.stdout == none.stdout == ""
    assert seen.stderr.replace(f"/{hidden}/", "/N/") == none.stderr.replace(f"/{unknown}/", "/N/")
    assert (
        seen.stderr.strip()
        == f"error: Not found (404 on GET /api/v1/versions/{hidden}/): Not found."
    )
    # Gating with it as a parent reads the same, and stores nothing for org B.
    gate = run_cli(
        "gate", "--dataset", "B data", "--kind", "fully_synthetic", "--domain", "education",
        "--licence", "CC0-1.0", "--file", str(gw["file"]), "--parent", f"{hidden}:trained_on",
        "--standard", "GATE-OK", url=gw["url"], token=other,
    )  # fmt: skip
    assert gate.returncode == 2
    assert gate.stderr.strip().splitlines()[-1] == seen.stderr.strip()
    assert not DatasetVersion.objects.filter(dataset__organisation=gw["world"].org_b).exists()


def test_an_unknown_standard_or_dataset_says_what_exists(gate_world):
    gw = gate_world
    done = run_cli(*gate_args(gw, "NOPE"), url=gw["url"], token=gw["token"])
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: No published standard has the code 'NOPE'. "
        "Published standards: GATE-MISSING, GATE-OK, GATE-STRICT, GATE-UK."
    )
    as_json = run_cli(*gate_args(gw, "NOPE", "--json"), url=gw["url"], token=gw["token"])
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout) == {
        "error": "No published standard has the code 'NOPE'. "
        "Published standards: GATE-MISSING, GATE-OK, GATE-STRICT, GATE-UK.",
        "status": 404,
        "exit_code": 2,
    }
    args = gate_args(gw, "GATE-OK")
    args[args.index(SYNTHETIC_DATASET)] = "Unregistered"
    done = run_cli(*args, url=gw["url"], token=gw["token"])
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: No dataset named 'Unregistered' is visible to you. To register it, give "
        "--kind, --domain, --licence as well."
    )


def test_usage_errors_exit_2_and_an_unreachable_server_exits_3(gate_world):
    gw = gate_world
    bad_parent = run_cli(*gate_args(gw, "GATE-OK", "--parent", "twelve"), url=gw["url"], token="x")
    assert bad_parent.returncode == 2
    assert "give the parent as VERSION_ID:RELATION, e.g. 12:trained_on" in bad_parent.stderr
    for content, problem in (
        ("[1, 2]", "must be a JSON object of sections."),
        ("{motivation", "is not JSON: Expecting property name enclosed in double quotes"),
    ):
        sheet = gw["file"].parent / "sheet.json"
        sheet.write_text(content)
        refused = run_cli(
            *gate_args(gw, "GATE-OK", "--datasheet", str(sheet)), url=gw["url"], token=gw["token"]
        )
        assert refused.returncode == 2
        assert refused.stderr.startswith(f"error: The datasheet {sheet} {problem}"), refused.stderr
    assert not DatasetVersion.objects.filter(dataset=gw["synthetic_dataset"]).exists()
    no_token = run_cli(*gate_args(gw, "GATE-OK"), url=gw["url"], token="")
    assert no_token.returncode == 2
    assert no_token.stderr.strip() == "error: No API token: pass one (or set SYNTHGOV_TOKEN)."

    down = run_cli(
        *gate_args(gw, "GATE-OK", "--retries", "1"), url="http://127.0.0.1:9", token="x" * 40
    )
    assert down.returncode == 3
    assert down.stderr.startswith("error: Could not connect to http://127.0.0.1:9: ")
