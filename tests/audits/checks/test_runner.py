"""The runner: validation before work, progress and cancellation, determinism, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from audits.checks import METRICS, AuditInputError, run_audit
from audits.checks.base import FAMILIES
from audits.checks.catalogue import RELATIONAL_KEYS, catalogue_json
from audits.checks.model_validation import MODELS
from tests.audits.checks.conftest import census, census_config

ROOT = Path(__file__).resolve().parents[3]
FACTS = {
    "datasheet_completeness": 0.8,
    "lineage_complete": True,
    "generator_documented": True,
    "licence": "CC-BY-4.0",
    "compute_disclosed": False,
    "hash_verified": True,
    # As the registry reports an unwatermarked synthetic version (the watermark step
    # then reports 0, not a skip).
    "synthetic": True,
    "watermark": None,
    "manifest_valid": True,
}
ISSUE_KEYS = [
    "quality.overall",
    "quality.column_shapes",
    "quality.column_pair_trends",
    "quality.validity",
    "quality.structure",
    "quality.category_coverage",
    "quality.range_coverage",
    "quality.detection",
    "utility.tstr_ratio",
    "fairness.representation_gap_max",
    "fairness.missing_groups",
    "fairness.parity_difference_real",
    "fairness.parity_difference_synthetic",
    "fairness.disparate_impact_real",
    "fairness.disparate_impact_synthetic",
    "fairness.amplification",
    "fairness.subgroup_fidelity_gap",
    "privacy.exact_match_rate",
    "privacy.dcr_closer_to_training_share",
    "privacy.dcr_p05_ratio",
    "privacy.nndr_p05",
    "privacy.linkage_risk",
    "privacy.attribute_disclosure",
    "integrity.hash_verified",
    "integrity.duplicate_rate",
    "integrity.out_of_domain_rate",
    "integrity.schema_matches_reference",
    "documentation.datasheet_completeness",
    "provenance.lineage_complete",
    "provenance.generator_documented",
    "provenance.licence_present",
    "provenance.compute_disclosed",
]


@pytest.fixture(scope="module")
def frames():
    return census(3000, 1), census(3000, 2), census(1500, 3)


def _run(frames, **kwargs):
    real, synthetic, holdout = frames
    options = {
        "config": census_config(),
        "synthetic": synthetic,
        "real": real,
        "holdout": holdout,
        "registry_facts": FACTS,
        "progress": None,
    }
    options.update(kwargs)
    return run_audit(**options)


def test_catalogue_has_every_issue_key_with_a_description():
    assert set(ISSUE_KEYS) <= set(METRICS)
    for spec in METRICS.values():
        # Collapse is not chosen: it runs when the caller gives the real ancestor input.
        assert spec.family in (*FAMILIES, "collapse")
        assert spec.direction in ("higher", "lower", "closer_to")
        assert len(spec.description) > 40
    assert METRICS["privacy.dcr_closer_to_training_share"].target == 0.5
    assert "categories" in METRICS["privacy.nndr_p05"].description
    json.dumps(catalogue_json())


def test_full_audit_reports_every_catalogue_key_once_as_strict_json(frames):
    steps = []
    config = census_config()
    # Every figure is measured: the representation figures need a population profile.
    config.population = {
        "profile_id": 1,
        "version": 1,
        "name": "Even sexes",
        "groupings": [
            {"attributes": ["sex"], "groups": [{"values": [s], "share": 0.5} for s in "FM"]}
        ],
    }
    outcome = _run(
        frames, config=config, progress=lambda label, fraction: steps.append((label, fraction))
    )
    keys = [m.key for m in outcome.metrics]
    assert sorted(keys) == sorted(
        k for k, spec in METRICS.items() if spec.family in FAMILIES and k not in RELATIONAL_KEYS
    )
    # A categorical target: the R² figures (for a numerical one) say so, everything else
    # is measured.
    numeric_only = {"utility.tstr_r2", "utility.trtr_r2"}
    assert all(m.status == "ok" for m in outcome.metrics if m.key not in numeric_only), [
        (m.key, m.skip_reason) for m in outcome.metrics if m.status != "ok"
    ]
    assert {outcome.metric(k).skip_reason for k in numeric_only} == {
        "the target is categorical: see the AUC figures"
    }
    text = json.dumps(outcome.to_json(), allow_nan=False)
    assert json.loads(text)["metrics"][0]["key"] == "integrity.hash_verified"
    fractions = [f for _, f in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(label.startswith("Privacy") for label, _ in steps)
    models = {f"model {m} on {s}" for m in MODELS for s in ("synthetic", "real")}
    models |= {"model bootstrap", "model permutation importances"}
    assert set(outcome.timings) == {"prepare", *FAMILIES, *models}
    assert outcome.library_versions["sdmetrics"] != "not installed"
    assert "The compute and energy used to generate the data are not disclosed." in (
        outcome.findings
    )


def test_same_inputs_and_seed_give_identical_figures(frames):
    first, second = _run(frames), _run(frames)
    assert first.canonical_json() == second.canonical_json()
    assert first.results_sha256() == second.results_sha256()
    other_seed = _run(frames, config=census_config(seed=1))
    assert other_seed.results_sha256() != first.results_sha256()


def test_cancelling_from_progress_stops_the_run(frames):
    class Cancelled(Exception):
        pass

    seen = []

    def progress(label, fraction):
        seen.append(label)
        if label.startswith("Fairness"):
            raise Cancelled

    with pytest.raises(Cancelled):
        _run(frames, progress=progress)
    assert not any(label.startswith("Privacy") for label in seen)


def test_tampered_file_stops_with_that_finding(frames):
    outcome = _run(frames, registry_facts={**FACTS, "hash_verified": False})
    hashed = outcome.metric("integrity.hash_verified")
    assert hashed.value == 0.0
    assert outcome.findings == [hashed.finding]
    others = [m for m in outcome.metrics if m.key != "integrity.hash_verified"]
    assert others and all(m.status == "skipped" for m in others)
    # A single-table audit never lists the linked-tables figures, even as skipped.
    assert not RELATIONAL_KEYS & {m.key for m in outcome.metrics}


def test_families_can_be_chosen(frames):
    outcome = _run(frames, config=census_config(families={"privacy"}))
    assert {METRICS[m.key].family for m in outcome.metrics} == {"privacy"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"real": census(10, 1).iloc[0:0]}, "reference dataset is empty"),
        (
            {"synthetic": census(10, 1).drop(columns=["age"])},
            "synthetic dataset has no column 'age'",
        ),
        (
            {"real": census(10, 1).drop(columns=["income"])},
            "reference dataset has no column 'income'",
        ),
        ({"holdout": census(10, 1).drop(columns=["sex"])}, "holdout dataset has no column 'sex'"),
        ({"config": census_config(protected=["gender"])}, "protected attribute 'gender'"),
        ({"config": census_config(target="salary")}, "target 'salary'"),
        ({"config": census_config(quasi_identifiers=["zip"])}, "quasi-identifier 'zip'"),
        ({"config": census_config(sensitive=["id"])}, "identifier"),
        ({"config": census_config(positive_outcome="maybe")}, "positive outcome 'maybe'"),
        ({"config": census_config(families={"magic"})}, "Unknown check families"),
    ],
)
def test_bad_inputs_fail_before_any_work_with_a_plain_message(frames, change, message):
    calls = []
    with pytest.raises(AuditInputError, match=message):
        _run(frames, progress=lambda label, fraction: calls.append(label), **change)
    assert calls == []


def test_checks_package_imports_without_django():
    code = (
        "import sys\n"
        "import audits.checks, audits.checks.runner, audits.checks.catalogue\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_figures_are_identical_across_processes():
    # A redelivered audit runs in another worker process, with another hash seed.
    code = (
        "from audits.checks import run_audit\n"
        "from tests.audits.checks.conftest import census, census_config\n"
        "out = run_audit(config=census_config(), synthetic=census(1500, 2), real=census(1500, 1),"
        " holdout=census(800, 3), registry_facts={'hash_verified': True}, progress=None)\n"
        "print(out.results_sha256())\n"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip().splitlines()[-1])
    assert len(digests) == 1


def test_handed_over_frames_are_freed_after_preparing_with_the_same_figures():
    import gc
    import weakref

    from audits.checks import AuditFrames

    # Integrity reads the raw reference (schema) and provenance the raw synthetic frame
    # (watermark): both before the frames are released.
    config = census_config(families={"integrity", "provenance"})
    frames = census(400, 1), census(400, 2), census(200, 3)
    real, synthetic, holdout = (frame.copy() for frame in frames)
    refs = [weakref.ref(frame) for frame in (real, synthetic, holdout)]
    handed = AuditFrames(real=real, synthetic=synthetic, holdout=holdout)
    del real, synthetic, holdout
    alive: list[int] = []

    def progress(label, fraction):
        gc.collect()
        alive.append(sum(ref() is not None for ref in refs))

    outcome = run_audit(config=config, frames=handed, registry_facts=FACTS, progress=progress)
    assert handed.real is handed.synthetic is handed.holdout is None
    # The audit reads shallow copies (sources.FrameSource), whose columns it drops as
    # they are prepared: the caller's frame objects are let go from the start.
    assert set(alive) == {0}  # "Preparing columns", every check step and "Finished"
    assert outcome.canonical_json() == _run(frames, config=config).canonical_json()


def test_a_step_is_skipped_only_when_all_its_figures_are_precomputed(frames):
    """``precomputed`` figures (from pieces run on a Dask cluster) replace their steps'
    own; ``coverage`` gives two figures, and runs when only one of them is given."""
    from dataclasses import replace

    config = census_config(families={"integrity", "quality"})
    computed = _run(frames, config=config)
    given = {
        k: replace(computed.metric(k), value=0.125)
        for k in ("integrity.out_of_domain_rate", "quality.category_coverage")
    }
    partly = _run(frames, config=config, precomputed=given)
    assert partly.metric("integrity.out_of_domain_rate").value == 0.125
    # The coverage step ran: its own figure, not the one given.
    coverage = "quality.category_coverage"
    assert partly.metric(coverage).value == computed.metric(coverage).value != 0.125
    ranges = replace(computed.metric("quality.range_coverage"), value=0.25)
    whole = _run(frames, config=config, precomputed={**given, ranges.key: ranges})
    assert whole.metric(coverage).value == 0.125
    assert whole.metric("quality.range_coverage").value == 0.25
    # In the step's order, where the step's figures stand.
    assert [m.key for m in whole.metrics] == [m.key for m in computed.metrics]
