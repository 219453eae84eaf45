"""The shipped standards: valid against each other, canonical YAML, sensible outcomes."""

from __future__ import annotations

import pytest

from audits.checks.attacks import ATTACK_KEYS
from audits.checks.catalogue import METRICS
from audits.standards.engine import (
    DERIVED_FIGURES,
    REGISTRY_FACTS,
    SHIPPED_DIR,
    FigureValue,
    Operator,
    Severity,
    StandardSpec,
    diff_from_parent,
    dump_yaml,
    evaluate,
    load_shipped,
    parse_yaml,
    resolve_effective_rules,
    single_table_figures,
    validate_standard,
)

FILES = sorted(SHIPPED_DIR.glob("*.yaml"))
# Versions published before the current ones, kept word for word: certificates issued
# under them name their spec_sha256.
SUPERSEDED = sorted((SHIPPED_DIR / "superseded").glob("*.yaml"))
# What else a 1.1 adds beside the attack rules: UK-HEALTH compares with a population.
ADDED_BESIDE_ATTACKS = {"UK-HEALTH": {"fairness.population_representation_gap"}}


@pytest.fixture(scope="module")
def shipped() -> dict[str, StandardSpec]:
    return {spec.code: spec for spec in load_shipped()}


@pytest.fixture(scope="module")
def known(shipped) -> dict[str, StandardSpec]:
    return {spec.ref: spec for spec in shipped.values()}


def test_shipped_standards_load_parents_first():
    refs = [spec.ref for spec in load_shipped()]
    assert refs == ["GLOBAL-BASELINE@1.1", "EU-STRICT-PRIVACY@1.2", "UK-HEALTH@1.3"]
    assert len(FILES) == 3


def test_shipped_standards_validate_cleanly_against_each_other(shipped, known):
    for spec in shipped.values():
        assert validate_standard(spec, known_parents=known) == [], spec.ref
    assert shipped["GLOBAL-BASELINE"].scope == "global"
    for code in ("EU-STRICT-PRIVACY", "UK-HEALTH"):
        assert shipped[code].scope == "local"
        assert shipped[code].parent == "GLOBAL-BASELINE@1.1"


@pytest.mark.parametrize("path", FILES + SUPERSEDED, ids=lambda p: p.name)
def test_round_trip_of_each_shipped_standard(path):
    spec, problems = parse_yaml(path.read_text(encoding="utf-8"))
    assert problems == []
    again, problems = parse_yaml(dump_yaml(spec))
    assert problems == []
    assert again == spec
    # The files are kept in export form, so an export diffs cleanly against them.
    assert dump_yaml(spec) == path.read_text(encoding="utf-8")


def test_shipped_rules_name_only_figures_that_exist_now(shipped):
    for spec in shipped.values():
        for rule in spec.rules:
            assert rule.key in METRICS.keys() | REGISTRY_FACTS.keys() | DERIVED_FIGURES.keys()
            assert rule.key != "provenance.watermark"  # only watermarked versions have it
            if not rule.waived:
                assert rule.rationale.strip() and rule.clause.strip(), rule.key
            else:
                assert rule.waiver_rationale.strip(), rule.key


def test_baseline_covers_the_guidance(shipped):
    baseline = shipped["GLOBAL-BASELINE"]
    families = {METRICS[r.key].family for r in baseline.rules if r.key in METRICS}
    assert {"quality", "fairness", "privacy", "integrity", "provenance"} <= families
    assert "real" not in baseline.dataset_kinds
    assert "UN University" in baseline.source


def test_eu_profile_forbids_copies_and_memorisation(shipped, known):
    eu = shipped["EU-STRICT-PRIVACY"]
    assert eu.jurisdictions == ["EU"]
    rules = {r.identity: r for r in eu.rules}
    assert rules[("privacy.exact_match_rate", "<=")].threshold == 0.0
    assert rules[("privacy.dcr_closer_to_training_share", "<=")].threshold == 0.55
    assert rules[("privacy.linkage_risk", "<=")].threshold <= 0.01
    diffs = {d.key: d for d in diff_from_parent(eu, shipped["GLOBAL-BASELINE"].rules)}
    assert diffs["privacy.exact_match_rate"].change == "tightened"
    assert diffs["privacy.dcr_closer_to_training_share"].change == "added"
    waived = [d for d in diffs.values() if d.change == "waived"]
    assert [d.key for d in waived] == ["quality.detection"]
    assert waived[0].parent.severity == Severity.ADVISORY
    effective = resolve_effective_rules(eu, known_parents=known)
    assert {e.origin for e in effective} == {"inherited", "tightened", "added", "waived"}


def test_uk_health_profile_requires_a_holdout_and_small_subgroup_gap(shipped, known):
    uk = shipped["UK-HEALTH"]
    assert (uk.jurisdictions, uk.sectors) == (["UK"], ["health"])
    assert (uk.certificate_validity_days, uk.reaudit_interval_days) == (365, 180)
    rules = {r.identity: r for r in uk.rules}
    holdout = rules[("registry.has_holdout_audit", "=")]
    assert holdout.threshold is True
    assert holdout.severity == Severity.BLOCKING
    assert rules[("fairness.subgroup_fidelity_gap", "<=")].threshold <= 0.10
    tails = rules[("collapse.tail_coverage", ">=")]
    assert (tails.threshold, tails.severity) == (0.5, Severity.ADVISORY)
    assert all(r.operator in set(Operator) for r in uk.rules)


def good_figures() -> dict[str, FigureValue]:
    """An audit of a well-made dataset with a holdout: passes every shipped rule."""
    values = {
        "quality.overall": 0.86,
        "quality.validity": 0.99,
        "quality.category_coverage": 0.97,
        "quality.range_coverage": 0.9,
        "quality.detection": 0.6,
        "integrity.hash_verified": 1.0,
        "fairness.missing_groups": 0.0,
        "fairness.representation_gap_max": 0.02,
        "fairness.amplification": 0.01,
        "fairness.subgroup_fidelity_gap": 0.05,
        "privacy.exact_match_rate": 0.0,
        "privacy.linkage_risk": 0.001,
        "privacy.dcr_closer_to_training_share": 0.51,
        "privacy.dcr_p05_ratio": 1.02,
        "privacy.nndr_p05": 0.5,
        "privacy.attribute_disclosure": 0.9,
        "utility.tstr_ratio": 0.93,
        "documentation.datasheet_completeness": 0.95,
        "provenance.lineage_complete": 1.0,
        "provenance.generator_documented": 1.0,
        "provenance.compute_disclosed": 1.0,
        "collapse.tail_coverage": 0.9,
        # Attack figures of clean data (seed 0 of tests/audits/checks/test_attacks.py).
        "privacy.singling_out_risk": 0.001,
        "privacy.linkability_risk": 0.0,
        "privacy.inference_risk": 0.003,
        "privacy.membership_auc": 0.51,
        "privacy.membership_tpr_at_1pct_fpr": 0.012,
        "privacy.near_copy_rate": 0.011,
        "privacy.dp_epsilon_lower_bound": 0.0,
        # Compared with the population profile that applies (UK-HEALTH 1.1).
        "fairness.population_representation_gap": 0.01,
        # A model trained on it, with a target (GLOBAL-BASELINE 1.1, UK-HEALTH 1.2).
        "fairness.model_amplification": 0.01,
        "utility.calibration_gap": 0.04,
    }
    figures = {key: FigureValue(value, {"audit": 1}) for key, value in values.items()}
    figures["registry.licence"] = FigureValue("CC-BY-4.0", {"registry": "registry.licence"})
    figures["registry.has_holdout_audit"] = FigureValue(True, {"registry": "audit"})
    # No differential-privacy claim: EU-STRICT-PRIVACY 1.2's claim rule does not apply.
    figures["registry.privacy_mechanism"] = FigureValue(None, {"registry": "registry.epsilon"})
    figures["registry.epsilon"] = FigureValue(None, {"registry": "registry.epsilon"})
    # One table: UK-HEALTH 1.3's rules on linked tables do not apply.
    figures.update(single_table_figures())
    return figures


@pytest.mark.parametrize("code", ["GLOBAL-BASELINE", "EU-STRICT-PRIVACY", "UK-HEALTH"])
def test_a_good_dataset_complies_with_every_shipped_standard(code, shipped, known):
    rules = resolve_effective_rules(shipped[code], known_parents=known)
    assert evaluate(rules, good_figures()).status == "compliant"


def test_without_a_holdout_the_eu_profile_is_incomplete_and_says_why(shipped, known):
    figures = good_figures()
    needs_holdout = {"privacy.dcr_closer_to_training_share", "privacy.dcr_p05_ratio"}
    needs_holdout |= ATTACK_KEYS
    for key in needs_holdout:
        # As an audit without a holdout reports them: not measurable, with the reason.
        figures[key] = FigureValue(None, {"audit": 1}, not_measured="needs a real holdout")
    rules = resolve_effective_rules(shipped["EU-STRICT-PRIVACY"], known_parents=known)
    result = evaluate(rules, figures)
    assert result.status == "incomplete"
    missing = result.by_status("missing")
    assert {r.key for r in missing} == needs_holdout
    assert all("with a real holdout" in r.sentence for r in missing)
    # The baseline's attack rules are advisory and apply only when measured.
    baseline = resolve_effective_rules(shipped["GLOBAL-BASELINE"], known_parents=known)
    outcome = evaluate(baseline, figures)
    assert outcome.status == "compliant"
    assert {r.key for r in outcome.by_status("not_applicable")} == ATTACK_KEYS - {
        "privacy.dp_epsilon_lower_bound"
    }
    assert outcome.summary()["not_applicable"] == len(ATTACK_KEYS) - 1


def test_one_exact_copy_is_a_blocking_failure_in_the_eu_only(shipped, known):
    figures = good_figures()
    figures["privacy.exact_match_rate"] = FigureValue(0.002, {"audit": 1})
    eu = evaluate(
        resolve_effective_rules(shipped["EU-STRICT-PRIVACY"], known_parents=known), figures
    )
    assert eu.status == "non_compliant"
    assert eu.results[0].key == "privacy.exact_match_rate"
    assert eu.summary()["worst_failing_severity"] == "blocking"
    baseline = resolve_effective_rules(shipped["GLOBAL-BASELINE"], known_parents=known)
    assert evaluate(baseline, figures).status == "compliant"


def test_uk_health_judges_linked_tables_and_leaves_a_single_table_alone(shipped, known):
    rules = resolve_effective_rules(shipped["UK-HEALTH"], known_parents=known)
    single = {r.key: r for r in evaluate(rules, good_figures()).results}
    for key in ("integrity.orphan_rate", "quality.cardinality_shapes"):
        assert single[key].status == "not_applicable", key
        assert single[key].reason == "the version is a single table: it has no relationships"
    assert single["integrity.orphan_rate"].severity == "blocking"
    linked = good_figures()
    linked.update(
        {
            "integrity.orphan_rate": FigureValue(0.0, {"audit": 1}),
            "quality.cardinality_shapes": FigureValue(0.95, {"audit": 1}),
        }
    )
    assert evaluate(rules, linked).status == "compliant"
    linked["integrity.orphan_rate"] = FigureValue(0.2, {"audit": 1})
    linked["quality.cardinality_shapes"] = FigureValue(0.7, {"audit": 1})
    result = evaluate(rules, linked)
    assert result.status == "non_compliant"
    assert result.summary()["worst_failing_severity"] == "blocking"
    failing = [(r.key, r.severity) for r in result.by_status("fail")]
    assert failing == [
        ("integrity.orphan_rate", "blocking"),
        ("quality.cardinality_shapes", "major"),
    ]
    # Linked tables without a relational audit: missing, not waved through.
    del linked["integrity.orphan_rate"], linked["quality.cardinality_shapes"]
    assert {r.key for r in evaluate(rules, linked).by_status("missing")} == {
        "integrity.orphan_rate",
        "quality.cardinality_shapes",
    }


def test_uk_health_fails_without_a_holdout_audit(shipped, known):
    figures = good_figures()
    figures["registry.has_holdout_audit"] = FigureValue(False, {"registry": "audit"})
    result = evaluate(resolve_effective_rules(shipped["UK-HEALTH"], known_parents=known), figures)
    assert result.status == "non_compliant"
    assert result.results[0].key == "registry.has_holdout_audit"
    assert result.results[0].sentence == (
        "registry.has_holdout_audit is false, not the required true."
    )


# What each version added to the one before it.
ADDED = {
    ("GLOBAL-BASELINE", "1.0"): (ATTACK_KEYS - {"privacy.dp_epsilon_lower_bound"})
    | {"fairness.model_amplification"},
    ("EU-STRICT-PRIVACY", "1.0"): ATTACK_KEYS,
    ("EU-STRICT-PRIVACY", "1.1"): {"privacy.dp_claim_consistent"},
    ("UK-HEALTH", "1.0"): ATTACK_KEYS | ADDED_BESIDE_ATTACKS["UK-HEALTH"],
    ("UK-HEALTH", "1.1"): {"fairness.model_amplification", "utility.calibration_gap"},
    ("UK-HEALTH", "1.2"): {"integrity.orphan_rate", "quality.cardinality_shapes"},
}
NEXT = {"1.0": "1.1", "1.1": "1.2", "1.2": "1.3"}


@pytest.mark.parametrize("path", SUPERSEDED, ids=lambda p: p.name)
def test_a_superseded_version_is_an_older_version_whose_rules_the_next_one_keeps(path):
    old, problems = parse_yaml(path.read_text(encoding="utf-8"))
    assert problems == []
    assert path.name == f"{old.code.lower()}-{old.version}.yaml"
    following = [parse_yaml(p.read_text(encoding="utf-8"))[0] for p in [*SUPERSEDED, *FILES]]
    (new,) = [s for s in following if (s.code, s.version) == (old.code, NEXT[old.version])]
    known = {s.ref: s for s in following}
    assert validate_standard(old, known_parents=known) == []
    # The next version keeps every rule: same threshold, the same or a higher severity.
    kept = {r.identity: r for r in new.rules}
    for rule in old.rules:
        again = kept[rule.identity]
        assert (again.threshold, again.waived) == (rule.threshold, rule.waived), rule.key
        assert again.severity == rule.severity or rule.waived, rule.key
    added = {r.key for r in new.rules if r.identity not in {o.identity for o in old.rules}}
    assert added == ADDED[(old.code, old.version)]


def test_strict_profiles_block_on_every_attack_figure_and_the_baseline_does_not(shipped):
    for code in ("EU-STRICT-PRIVACY", "UK-HEALTH"):
        rules = {r.identity: r for r in shipped[code].rules if r.key in ATTACK_KEYS}
        assert {key for key, _ in rules} == ATTACK_KEYS
        # Membership AUC is closer-to-0.5: bounded on both sides.
        low, high = rules[("privacy.membership_auc", ">=")], rules[("privacy.membership_auc", "<=")]
        assert low.threshold < 0.5 < high.threshold
        for identity, rule in rules.items():
            expected = (
                Severity.MAJOR
                if rule.key == "privacy.dp_epsilon_lower_bound"
                else (Severity.BLOCKING)
            )
            assert rule.severity == expected, (code, identity)
            assert "measured" in rule.rationale.lower() or "reads" in rule.rationale, identity
    # Every attack figure needs a holdout: the baseline's rules on them are advisory and
    # apply only when measured, so an audit without a holdout is not left incomplete.
    baseline = [r for r in shipped["GLOBAL-BASELINE"].rules if r.key in ATTACK_KEYS]
    assert len(baseline) == len(ATTACK_KEYS) - 1  # no rule on the epsilon bound
    assert all(r.severity == Severity.ADVISORY and r.when_measured for r in baseline)


def _attack_outcomes(scenario: str, code: str, shipped, known) -> dict[tuple[str, str], str]:
    from tests.audits.checks.test_attacks import figures, plant

    values = figures(*plant(scenario, 3_000, 1))
    given = good_figures()
    given.update({k: FigureValue(values[k], {"audit": 1}) for k in ATTACK_KEYS})
    result = evaluate(resolve_effective_rules(shipped[code], known_parents=known), given)
    return {(r.key, r.operator): r.status for r in result.results if r.key in ATTACK_KEYS}


@pytest.mark.parametrize("code", ["EU-STRICT-PRIVACY", "UK-HEALTH"])
def test_planted_leaks_fail_the_strict_profiles_and_clean_data_passes(code, shipped, known):
    """On seed 1 of the planted leaks (the 20-seed study is in bench/privacy_attacks.py)."""
    clean = _attack_outcomes("clean", code, shipped, known)
    assert set(clean.values()) == {"pass"}, clean
    for scenario in ("exact", "near"):
        leak = _attack_outcomes(scenario, code, shipped, known)
        assert leak[("privacy.near_copy_rate", "<=")] == "fail", scenario
        assert leak[("privacy.membership_tpr_at_1pct_fpr", "<=")] == "fail", scenario
    # Synthetic data that copies the holdout: nothing learnt about training people, but
    # real people copied, which the lower bound on membership AUC catches.
    holdout = _attack_outcomes("holdout", code, shipped, known)
    assert holdout[("privacy.membership_auc", ">=")] == "fail"
    assert holdout[("privacy.singling_out_risk", "<=")] == "pass"
    subgroup = _attack_outcomes("subgroup", code, shipped, known)
    assert subgroup[("privacy.near_copy_rate", "<=")] == "fail"


def test_uk_health_1_1_compares_with_the_population_within_five_points(shipped):
    (rule,) = [
        r for r in shipped["UK-HEALTH"].rules if r.key == "fairness.population_representation_gap"
    ]
    assert (rule.operator.value, rule.threshold, rule.severity) == ("<=", 0.05, Severity.MAJOR)
