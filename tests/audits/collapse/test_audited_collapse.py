"""Model collapse through the real services: a planted chain of generations, each
trained on the previous one and losing its tails, audited one by one; the figures
stored, judged by a standard, and shown on the version page without leaking a
restricted ancestor."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.files.storage import default_storage

from audits.checks.collapse import KEYS
from audits.collapse.selectors import collapse_panel
from audits.compliance import services as compliance
from audits.models import AuditMetric, AuditStatus, ComplianceEvaluation
from audits.runs import services
from audits.runs.inputs import ANCESTOR_ALTERED, NO_REAL_ANCESTOR, REAL_DATA, collapse_lineage
from audits.standards import services as standard_services
from audits.standards.engine import StandardSpec
from registry import services as registry_services
from tests.audits.conftest import register
from tests.audits.standards.builders import rule
from tests.registry.conftest import make_dataset

ROWS = 3000
CATEGORIES = list("abcdefgh")
# Category shares: the last ones are rare, so later generations lose them.
SHARES = np.array([0.3, 0.25, 0.2, 0.12, 0.08, 0.035, 0.01, 0.005])


def real_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "record_id": np.arange(1, ROWS + 1),
            "x": rng.normal(50, 10, ROWS).round(3),
            "y": rng.lognormal(3, 0.8, ROWS).round(3),
            "c": rng.choice(CATEGORIES, ROWS, p=SHARES),
        }
    )


def next_generation(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A generator that learned ``frame`` but not its extremes: numbers are resampled
    from inside their 0.3rd-99.7th percentiles with a little noise, and the rarest category
    left is never produced."""
    rng = np.random.default_rng(seed)
    out = {"record_id": np.arange(1, ROWS + 1)}
    for column in ("x", "y"):
        values = frame[column].to_numpy()
        low, high = np.quantile(values, [0.003, 0.997])
        kept = values[(values >= low) & (values <= high)]
        out[column] = (rng.choice(kept, ROWS) + rng.normal(0, 0.01 * kept.std(), ROWS)).round(3)
    counts = frame["c"].value_counts()
    kept_categories = counts.index[counts.index != counts.idxmin()].to_numpy()
    shares = counts[kept_categories].to_numpy() / counts[kept_categories].sum()
    out["c"] = rng.choice(kept_categories, ROWS, p=shares)
    return pd.DataFrame(out)


def audit(version, reference, user, *, expect=AuditStatus.SUCCEEDED):
    config = {**services.default_config(version), "families": ["provenance"]}
    run = services.audit_run_request(
        version=version, reference=reference, holdout=None, config=config, user=user
    )
    run = services.audit_run_execute(run_id=run.pk, token=services.audit_run_claim(run_id=run.pk))
    assert run.status == expect, run.error
    return run


def figures(run) -> dict[str, AuditMetric]:
    return {m.key: m for m in AuditMetric.objects.filter(run=run, key__startswith="collapse.")}


@pytest.fixture
def chain(world, registry_storage):
    """Restricted real data of org A, an open real sample used as the audits'
    reference, and three open generations: real -> gen1 -> gen2 -> gen3."""
    curator = world.curator_a
    real_ds = make_dataset(world, name="Secret hospital records", kind="real")
    sample_ds = make_dataset(world, name="Open real sample", kind="real", access="open")
    synth_ds = make_dataset(world, name="Generations", access="open")
    frames = [real_frame()]
    real = register(real_ds, curator, frames[0], "real.csv")
    sample = register(sample_ds, curator, real_frame(seed=9), "sample.csv")
    versions, parent = [], real
    for generation in range(1, 4):
        frames.append(next_generation(frames[-1], seed=generation))
        version = register(synth_ds, curator, frames[-1], f"gen{generation}.csv")
        registry_services.version_lineage_set(
            version=version,
            user=curator,
            parents=[registry_services.ParentLink(parent.pk, "trained_on")],
            generation={"generator_type": "copula", "generator_library": "test"},
        )
        versions.append(version)
        parent = version
    runs = [audit(v, real, curator) for v in versions]
    return {"real": real, "sample": sample, "gens": versions, "runs": runs, "world": world}


def test_lineage_chain_and_depth(chain):
    real, gens = chain["real"], chain["gens"]
    for depth, version in enumerate(gens, start=1):
        lineage = collapse_lineage(version)
        assert lineage.depth == depth
        assert lineage.chain == [real.pk, *(g.pk for g in gens[:depth])]
    assert collapse_lineage(real).chain == [real.pk]


def test_figures_fall_monotonically_along_the_planted_chain(chain):
    stored = [figures(run) for run in chain["runs"]]
    assert [s[KEYS["generation_depth"]].value for s in stored] == [1.0, 2.0, 3.0]
    for figure in ("tail_coverage", "variance_ratio", "category_retention"):
        values = [s[KEYS[figure]].value for s in stored]
        assert all(v is not None for v in values), figure
        assert all(a > b for a, b in itertools.pairwise(values)), (figure, values)
        assert values[0] < 1.0
    tails = [s[KEYS["tail_coverage"]].value for s in stored]
    assert tails[-1] < 0.3  # three trims leave little of the real tails
    # One of the 8 real categories is lost per generation.
    retention = [s[KEYS["category_retention"]].value for s in stored]
    assert retention == pytest.approx([7 / 8, 6 / 8, 5 / 8])
    assert stored[-1][KEYS["record_diversity"]].status == "ok"
    assert stored[-1][KEYS["tail_coverage"]].population == ROWS
    # The figures are part of the evidence: in the results the results hash covers.
    run = chain["runs"][-1]
    keys = [m["key"] for m in run.results["metrics"]]
    assert [k for k in keys if k.startswith("collapse.")] == list(KEYS.values())
    tail = next(m for m in run.results["metrics"] if m["key"] == KEYS["tail_coverage"])
    assert tail["details"]["ancestor_version"] == chain["real"].pk
    assert set(tail["details"]["columns"]) == {"x", "y"}
    assert any("real tails" in f for f in run.results["findings"])
    assert "collapse" in run.timings


def test_the_ancestor_not_the_reference_is_compared(chain):
    # Audited against an open real sample, gen 2 is still measured against the
    # restricted real data it descends from, read by the audit from storage.
    other = audit(chain["gens"][1], chain["sample"], chain["world"].curator_a)
    first, second = figures(chain["runs"][1]), figures(other)
    for key in KEYS.values():
        assert second[key].value == pytest.approx(first[key].value), key


def test_real_data_reports_depth_zero_and_skips_the_rest(chain):
    run = audit(chain["sample"], chain["real"], chain["world"].curator_a)
    stored = figures(run)
    assert stored[KEYS["generation_depth"]].value == 0.0
    skipped = [m for k, m in stored.items() if k != KEYS["generation_depth"]]
    assert len(skipped) == 4 and all(m.status == "skipped" for m in skipped)
    reasons = {m["skip_reason"] for m in run.results["metrics"] if m["key"] in KEYS.values()}
    assert REAL_DATA in reasons


def test_synthetic_data_without_real_ancestor_is_skipped_with_a_reason(chain):
    world = chain["world"]
    orphan_ds = make_dataset(world, name="Orphan", access="open")
    orphan = register(orphan_ds, world.curator_a, real_frame(seed=4), "orphan.csv")
    run = audit(orphan, chain["real"], world.curator_a)
    results = {m["key"]: m for m in run.results["metrics"] if m["key"] in KEYS.values()}
    assert set(results) == set(KEYS.values())
    assert all(m["status"] == "skipped" for m in results.values())
    assert results[KEYS["generation_depth"]]["skip_reason"] == NO_REAL_ANCESTOR


def test_an_altered_ancestor_skips_the_comparison_but_not_the_audit(chain):
    real = chain["real"]
    Path(default_storage.path(real.file.name)).write_bytes(b"record_id,x,y,c\n1,2,3,a\n")
    run = audit(chain["gens"][0], chain["sample"], chain["world"].curator_a)
    results = {m["key"]: m for m in run.results["metrics"] if m["key"] in KEYS.values()}
    assert results[KEYS["generation_depth"]]["value"] == 1.0
    assert results[KEYS["tail_coverage"]]["status"] == "skipped"
    assert results[KEYS["tail_coverage"]]["skip_reason"] == ANCESTOR_ALTERED
    # The reason never names the (restricted) ancestor.
    assert "Secret" not in str(run.results)


def test_a_tampered_audited_file_reports_each_collapse_key_once_skipped(chain):
    version = chain["gens"][0]
    Path(default_storage.path(version.file.name)).write_bytes(b"record_id,x,y,c\n1,2,3,a\n")
    # An altered audited file ends the audit failed, its evidence kept.
    run = audit(version, chain["real"], chain["world"].curator_a, expect=AuditStatus.FAILED)
    assert run.results["metrics"][0]["value"] == 0.0  # integrity.hash_verified
    stored = figures(run)
    assert set(stored) == set(KEYS.values())
    assert all(m.status == "skipped" for m in stored.values())


def test_a_standard_can_set_a_threshold_on_tail_coverage(chain):
    world = chain["world"]
    spec = StandardSpec(
        code="COLLAPSE-TEST",
        name="Collapse test",
        version="1.0",
        scope="global",
        certificate_validity_days=730,
        reaudit_interval_days=365,
        rules=[rule("collapse.tail_coverage", ">=", 0.5, "major")],
    )
    draft = standard_services.standard_save_draft(spec=spec, user=world.admin_a, owner=None)
    standard = standard_services.standard_publish(version=draft, user=world.admin_a)
    first, last = chain["gens"][0], chain["gens"][-1]
    passed = compliance.evaluation_compute(dataset_version=first, standard_version=standard)
    failed = compliance.evaluation_compute(dataset_version=last, standard_version=standard)
    assert passed.results["rules"][0]["status"] == "pass"
    assert failed.results["rules"][0]["status"] == "fail"
    assert failed.status == "non_compliant"
    assert failed.sources["collapse.tail_coverage"] == {"audit": chain["runs"][-1].pk}
    assert ComplianceEvaluation.objects.filter(standard_version=standard).count() == 2


def test_panel_rows_chart_and_warning(chain):
    panel = collapse_panel(user=chain["world"].curator_a, version=chain["gens"][-1])
    assert panel["applicable"] and panel["measured"]
    assert [row.generation for row in panel["rows"]] == [0, 1, 2, 3]
    tails = [row.figures["tail_coverage"] for row in panel["rows"]]
    assert tails[0] == 1.0 and all(a > b for a, b in itertools.pairwise(tails))
    assert panel["warning"].startswith("Tails have lost ")
    assert panel["warning"].endswith(" over 3 generations.")
    assert "of the real categories have disappeared" in panel["warning"]
    traces = panel["chart"]["figure"]["data"]
    assert [t["name"] for t in traces] == [
        "Tail coverage",
        "Variance ratio",
        "Category retention",
        "Record diversity",
    ]
    assert list(traces[0]["y"]) == pytest.approx(tails)


def test_panel_leaves_out_figures_measured_on_an_older_lineage(chain):
    # gen 3 is re-declared as trained on the real data directly: its audit measured
    # it 3 generations away, which no longer matches the chain.
    world, gen3 = chain["world"], chain["gens"][-1]
    registry_services.version_lineage_set(
        version=gen3,
        user=world.curator_a,
        parents=[registry_services.ParentLink(chain["real"].pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "test"},
    )
    panel = collapse_panel(user=world.curator_a, version=gen3)
    assert [row.generation for row in panel["rows"]] == [0, 1]
    assert panel["rows"][1].figures is None
    assert "audit it again" in panel["rows"][1].note
    assert panel["warning"] is None and panel["chart"] is None


def test_a_merge_with_real_data_is_one_generation_away(chain):
    world = chain["world"]
    hybrid_ds = make_dataset(world, name="Hybrid", kind="hybrid", access="open")
    hybrid = register(hybrid_ds, world.curator_a, real_frame(seed=5), "hybrid.csv")
    registry_services.version_lineage_set(
        version=hybrid,
        user=world.curator_a,
        parents=[
            registry_services.ParentLink(chain["gens"][-1].pk, "merged_with"),
            registry_services.ParentLink(chain["real"].pk, "merged_with"),
        ],
        generation={"generator_type": "rule_based"},
    )
    assert collapse_lineage(hybrid).chain == [chain["real"].pk, hybrid.pk]
    run = audit(hybrid, chain["real"], world.curator_a)
    assert figures(run)[KEYS["generation_depth"]].value == 1.0


def test_panel_for_real_data_says_it_does_not_apply(chain):
    panel = collapse_panel(user=chain["world"].curator_a, version=chain["real"])
    assert not panel["applicable"]
    assert "real data" in panel["reason"]


def test_panel_query_count_is_bounded_by_the_chain(chain, django_assert_max_num_queries):
    version = chain["gens"][-1]
    # One walk step per generation, the visible versions, the runs, their figures.
    with django_assert_max_num_queries(3 + 1 + 1 + 1):
        collapse_panel(user=chain["world"].curator_a, version=version)


def test_version_page_shows_the_chart_and_the_warning(client, chain):
    client.force_login(chain["world"].curator_a)
    page = client.get(chain["gens"][-1].get_absolute_url()).content.decode()
    assert 'data-testid="collapse-panel"' in page
    assert 'data-testid="collapse-chart"' in page
    assert 'id="chart-data-collapse"' in page
    assert "Tails have lost " in page and " over 3 generations." in page
    assert "Secret hospital records" in page  # the curator may see the ancestor


def test_version_page_never_names_a_restricted_ancestor(client, chain):
    world = chain["world"]
    gens = chain["gens"]
    # Audits against the open sample are visible to org B; the ancestor is not.
    for version in gens:
        audit(version, chain["sample"], world.curator_a)
    client.force_login(world.curator_b)
    response = client.get(gens[-1].get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert "restricted source" in page
    assert "Secret hospital records" not in page
    assert chain["real"].get_absolute_url() not in page
    assert chain["real"].sha256 not in page
    # Issue 11: the figures of those visible audits were measured against the restricted
    # ancestor (with the open files they give its variance back): not shown to org B.
    assert 'data-testid="collapse-chart"' not in page
    assert "Tails have lost " not in page
    assert 'data-testid="collapse-withheld"' in page
    assert client.get(chain["real"].get_absolute_url()).status_code == 404


def test_version_page_without_a_visible_audit_shows_no_figures(client, chain):
    # The audits of the chain were run against the restricted real data: org B may
    # not see them, so the panel shows the chain but no figures.
    world = chain["world"]
    client.force_login(world.curator_b)
    page = client.get(chain["gens"][-1].get_absolute_url()).content.decode()
    assert "restricted source" in page
    assert 'data-testid="collapse-withheld"' in page
    assert 'data-testid="collapse-chart"' not in page
    assert "Secret hospital records" not in page


def test_the_demo_chain_shows_collapse_computed_on_its_data(db, registry_storage):
    # The demo's later generations are copulas re-fitted on the previous generation's
    # output; its audits measure the loss (nothing is planted).
    from django.contrib.auth import get_user_model

    from audits.demo import load_audits_demo
    from registry.demo import load_registry_demo
    from synthgov.access.demo import load_accounts_demo

    datasets = load_registry_demo(load_accounts_demo())
    users = get_user_model().objects
    load_audits_demo(datasets, user=users.get(username="officer"))
    chain_ds = next(d for d in datasets if d.name.endswith("later generations"))
    last = chain_ds.versions.order_by("-number").first()
    panel = collapse_panel(user=users.get(username="curator"), version=last)
    assert [row.generation for row in panel["rows"]] == [0, 1, 2, 3, 4]
    tails = [row.figures["tail_coverage"] for row in panel["rows"]]
    variances = [row.figures["variance_ratio"] for row in panel["rows"]]
    assert all(a > b for a, b in itertools.pairwise(variances)), variances
    assert tails[1] > tails[-1] and tails[-1] < 0.5, tails
    assert panel["warning"].startswith("Tails have lost ")
    assert panel["warning"].endswith(" over 4 generations.")
