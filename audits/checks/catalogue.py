"""The published catalogue of audit figures. Keys are stable: standards refer to them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

DISTANCE = (
    "Distances between records are the average per-column difference (0 to 1), as in "
    "SDMetrics' DCR metrics: numbers and dates (dates as seconds) count the absolute "
    "difference divided by the reference's range, with values outside that range taken "
    "at its nearest edge; categories and booleans count 0 when equal and 1 when different; "
    "a missing value counts 1 against a present one and 0 against another missing one; "
    "identifiers and free text are left out. The search is exact; only a synthetic record "
    "so far from every real record that the search budget runs out keeps a proven lower "
    "bound instead (such records are counted in details)."
)
DISTANCE_SAMPLE = (
    "Computed on a seeded sample of up to 100,000 synthetic rows (configurable) against the "
    "full reference."
)

ATTACK_RISK = (
    "Risk = (main - control) / (1 - control), each success rate being the Wilson score "
    "estimate (successes + z²/2) / (attacks + z²) with z = 1.96; the 95% interval "
    "propagates both rates' Wilson half-widths; value and interval are clipped to 0..1. "
    "0 means the synthetic data lets an attacker do nothing to the people it was trained "
    "on that it does not equally do to anyone."
)
ATTACK_SAMPLE = (
    "Seeded samples: the attacker sees up to 100,000 synthetic rows (the distance sample, "
    "in a seeded random order, so equally near records are picked at random); the training "
    "and holdout records come from equal-size seeded samples (the holdout's distance "
    "sample and as many reference rows); up to 2,000 records of each are attacked "
    "(configurable). Details state every sample size. Skipped without a holdout, never "
    "reported as 0."
)


@dataclass(frozen=True)
class MetricSpec:
    key: str
    family: str
    title: str
    description: str
    direction: str  # "higher", "lower" or "closer_to" (then ``target`` is the ideal)
    value_range: tuple[float | None, float | None]
    needs: str
    target: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["value_range"] = list(self.value_range)
        return data


def _spec(
    key, family, title, description, direction, value_range=(0.0, 1.0), needs="", target=None
):
    return MetricSpec(key, family, title, description, direction, value_range,
                      needs or "synthetic and reference data", target)  # fmt: skip


_SPECS = [
    _spec(
        "quality.overall",
        "quality",
        "Overall quality",
        "SDMetrics Quality Report score: the average of Column Shapes and Column Pair "
        "Trends. Computed on seeded samples (default 20,000 rows of each dataset); the "
        "uncertainty is the 95% two-sample Kolmogorov-Smirnov bound for that sample size.",
        "higher",
    ),
    _spec(
        "quality.column_shapes",
        "quality",
        "Column shapes",
        "How alike each column's distribution is in synthetic and real data (SDMetrics: "
        "KSComplement for numbers and dates, TVComplement for categories), averaged over "
        "columns. Details hold per-column histograms or category shares on all rows.",
        "higher",
    ),
    _spec(
        "quality.column_pair_trends",
        "quality",
        "Column pair trends",
        "How alike the relationships between pairs of columns are (SDMetrics: correlation "
        "similarity for two numbers, contingency similarity otherwise), averaged over "
        "pairs. Details hold the pair matrix for a heatmap.",
        "higher",
    ),
    _spec(
        "quality.validity",
        "quality",
        "Data validity",
        "SDMetrics Diagnostic Report, Data Validity: synthetic values stay within the real "
        "categories and the real numeric boundaries. Its real sample is completed with the "
        "rows holding every real category and each column's extremes, so the bounds are "
        "those of all real rows.",
        "higher",
    ),
    _spec(
        "quality.structure",
        "quality",
        "Data structure",
        "SDMetrics Diagnostic Report, Data Structure: the synthetic table has the real "
        "table's columns.",
        "higher",
    ),
    _spec(
        "quality.category_coverage",
        "quality",
        "Category coverage",
        "Share of each categorical column's real categories that appear in the synthetic "
        "data, averaged over columns (SDMetrics CategoryCoverage). All rows.",
        "higher",
    ),
    _spec(
        "quality.range_coverage",
        "quality",
        "Range coverage",
        "Share of each numeric or date column's real range that the synthetic values span, "
        "averaged over columns (SDMetrics RangeCoverage). All rows.",
        "higher",
    ),
    _spec(
        "quality.detection",
        "quality",
        "Detection",
        "How hard it is for a classifier to tell synthetic rows from real ones: "
        "1 - max(0, 2 x AUC - 1) of a gradient-boosting classifier trained on half of a "
        "seeded, balanced sample (default 20,000 rows per dataset) and tested on the other "
        "half. 1 means indistinguishable, 0 perfectly separable.",
        "higher",
    ),
    _spec(
        "utility.tstr_ratio",
        "quality",
        "Utility (train synthetic, test real)",
        "Score of a gradient-boosting model trained on synthetic data and tested on real "
        "data, divided by the score of the same model trained on real data. Tested on the "
        "holdout when there is one, else on a held-back 30% of the reference. Macro F1 for "
        "a categorical target, R² for a numerical one.",
        "higher",
        (0.0, None),
        "a target column",
    ),
    _spec(
        "fairness.representation_gap_max",
        "fairness",
        "Largest representation gap",
        "Largest absolute difference between a protected group's share of the synthetic "
        "rows and its share of the real rows, over every protected attribute and every "
        "intersection of two (numbers cut at the real quintiles). All rows.",
        "lower",
        needs="protected attributes",
    ),
    _spec(
        "fairness.missing_groups",
        "fairness",
        "Missing groups",
        "Number of protected groups present in the real data but absent from the synthetic "
        "data, or with at least the minimum count (default 5) in the real data but fewer in "
        "the synthetic data. Details list them.",
        "lower",
        (0.0, None),
        "protected attributes",
    ),
    _spec(
        "fairness.parity_difference_real",
        "fairness",
        "Parity difference (real)",
        "Largest gap in positive-outcome rate between two groups in the real data (groups "
        "with at least the minimum count). Describes the reference, for comparison.",
        "lower",
        needs="protected attributes and a target",
    ),
    _spec(
        "fairness.parity_difference_synthetic",
        "fairness",
        "Parity difference (synthetic)",
        "Largest gap in positive-outcome rate between two groups in the synthetic data.",
        "lower",
        needs="protected attributes and a target",
    ),
    _spec(
        "fairness.disparate_impact_real",
        "fairness",
        "Disparate impact (real)",
        "Lowest ratio of a group's positive-outcome rate to the highest group's rate in the "
        "real data (1 = equal rates).",
        "higher",
        needs="protected attributes and a target",
    ),
    _spec(
        "fairness.disparate_impact_synthetic",
        "fairness",
        "Disparate impact (synthetic)",
        "Lowest ratio of a group's positive-outcome rate to the highest group's rate in the "
        "synthetic data (1 = equal rates).",
        "higher",
        needs="protected attributes and a target",
    ),
    _spec(
        "fairness.amplification",
        "fairness",
        "Bias amplification",
        "Synthetic parity difference minus real parity difference, over the groups large "
        "enough in both; the largest over attributes and intersections. Positive means the "
        "synthetic data widens the outcome gap between groups.",
        "lower",
        (-1.0, 1.0),
        "protected attributes and a target",
    ),
    _spec(
        "fairness.subgroup_fidelity_gap",
        "fairness",
        "Subgroup fidelity gap",
        "Column-shape quality (mean KS/TV complement of the other columns) of the "
        "best-served protected group minus that of the worst-served group.",
        "lower",
        needs="protected attributes",
    ),
    _spec(
        "privacy.exact_match_rate",
        "privacy",
        "Exact copies",
        "Share of synthetic rows identical to some real row on every non-identifier column "
        "(numbers compared exactly). All rows, never sampled.",
        "lower",
    ),
    _spec(
        "privacy.dcr_closer_to_training_share",
        "privacy",
        "Closer to training than holdout",
        "Share of synthetic records whose closest training record is closer than their "
        "closest holdout record (ties count half). The training data is subsampled to the "
        "holdout's size so that 0.5 is ideal; above 0.5 suggests memorisation. "
        + DISTANCE
        + " "
        + DISTANCE_SAMPLE,
        "closer_to",
        needs="a real holdout",
        target=0.5,
    ),
    _spec(
        "privacy.dcr_p05_ratio",
        "privacy",
        "Closest-record distance ratio (5th percentile)",
        "5th percentile of synthetic-to-reference distances divided by the 5th percentile "
        "of holdout-to-reference distances. Below 1 means the closest synthetic records "
        "are nearer to real people than unseen real records are. "
        + DISTANCE
        + " "
        + DISTANCE_SAMPLE,
        "higher",
        (0.0, None),
        "a real holdout",
    ),
    _spec(
        "privacy.nndr_p05",
        "privacy",
        "Nearest-neighbour distance ratio (5th percentile)",
        "For each synthetic record, the distance to its closest reference record divided by "
        "the distance to the second closest (1 when both are 0); the 5th percentile. Low "
        "values mean some synthetic records single out one real record. "
        + DISTANCE
        + " "
        + DISTANCE_SAMPLE,
        "higher",
    ),
    _spec(
        "privacy.linkage_risk",
        "privacy",
        "Quasi-identifier linkage risk",
        "Share of synthetic records whose combination of quasi-identifier values occurs "
        "exactly once in the real data, so it points at one real person. All rows.",
        "lower",
        needs="quasi-identifier columns",
    ),
    _spec(
        "privacy.attribute_disclosure",
        "privacy",
        "Attribute disclosure protection",
        "SDMetrics DisclosureProtection (CAP method): an attacker who knows a real "
        "person's quasi-identifiers guesses their sensitive value from synthetic records "
        "with the same quasi-identifiers; 1 - the attack's success, divided by the "
        "protection of a random guess, capped at 1. Numbers are cut into 10 equal-width "
        "bins. The worst sensitive column counts. All rows. Higher means better "
        "protected.",
        "higher",
        needs="quasi-identifier and sensitive columns",
    ),
    _spec(
        "privacy.singling_out_risk",
        "privacy",
        "Singling-out risk (attack, against a control)",
        "How much more often predicates built from the synthetic data single out exactly one "
        "real training record than one unseen holdout record (Giomi et al. 2022, as the "
        "anonymeter package). Predicates come from a seeded synthetic sample and must match "
        "exactly one of its records. Univariate: each quasi-identifier's minimum and maximum "
        "(x <= min, x >= max), a value that is missing exactly once, and every value "
        "occurring exactly once. Multivariate: a random synthetic record and 3 random "
        "quasi-identifiers (fewer when fewer are named): categories equal to the record's; a "
        "number >= the record's value when that is above the column's synthetic median, else "
        "<= it; missing stays missing; up to 50 candidates per attack are tried. Success on "
        "the training sample (main) and on an equal-size holdout sample (control) means "
        "exactly one matching record. "
        + ATTACK_RISK
        + " The value is the worse of the two variants; details hold both, with example "
        "predicates. Unlike privacy.linkage_risk it checks that the predicate singles out a "
        "real person and subtracts what it does on people the generator never saw. "
        + ATTACK_SAMPLE,
        "lower",
        needs="a real holdout and quasi-identifier columns",
    ),
    _spec(
        "privacy.linkability_risk",
        "privacy",
        "Linkability risk (attack, against a control)",
        "An attacker holds two disjoint sets of columns of a real person (the quasi-"
        "identifiers and all other columns; without quasi-identifiers, the first and the "
        "second half of the columns) and finds, for each set, the nearest synthetic record "
        "on those columns alone. The attack succeeds when both are the same synthetic "
        "record, which links the two parts. Run on training records (main) and holdout "
        "records (control). " + ATTACK_RISK + " " + ATTACK_SAMPLE,
        "lower",
        needs="a real holdout",
    ),
    _spec(
        "privacy.inference_risk",
        "privacy",
        "Inference risk (attack, against a control)",
        "For each sensitive column: an attacker who knows a real person's quasi-identifiers "
        "takes the nearest synthetic record on those columns and guesses its sensitive "
        "value; a category must be equal, a number within 5% of the guess (|guess - truth| "
        "<= 0.05 x |guess|), missing matches missing. Run on training records (main) and "
        "holdout records (control). "
        + ATTACK_RISK
        + " The value is the worst sensitive column; details hold each. Unlike "
        "privacy.attribute_disclosure it subtracts what the same guess achieves on people "
        "the generator never saw, so what is learnt from the population does not count. "
        + ATTACK_SAMPLE,
        "lower",
        needs="a real holdout, quasi-identifier and sensitive columns",
    ),
    _spec(
        "privacy.membership_auc",
        "privacy",
        "Membership inference (ROC AUC)",
        "How well an attacker who sees only the synthetic data tells training records "
        "(members) from holdout records (non-members). The holdout sample is split in two "
        "at random: one half are the non-member targets, the other the attacker's "
        "population reference; as many training records are the member targets (up to the "
        "attack count). Two scores: the distance to the nearest synthetic record (closer = "
        "member), and a density ratio in the manner of DOMIAS, log(d_ref + 1e-6) - "
        "log(d_syn + 1e-6) with d the distance to the nearest record of the population "
        "reference and of the synthetic sample (a nearest-neighbour density estimate). The "
        "value is the better score's ROC AUC (ties count half); the interval is Hanley and "
        "McNeil's. 0.5 is ideal: no better than chance. Unlike "
        "privacy.dcr_closer_to_training_share it measures what a classifier of records "
        "achieves, not an average share that dilutes memorisation. "
        + DISTANCE
        + " "
        + ATTACK_SAMPLE,
        "closer_to",
        needs="a real holdout",
        target=0.5,
    ),
    _spec(
        "privacy.membership_tpr_at_1pct_fpr",
        "privacy",
        "Membership inference: true positives at 1% false positives",
        "The share of training records the membership attack (see Membership inference) "
        "finds when its threshold is set so that at most 1% of holdout records are wrongly "
        "called members: the lowest threshold whose false-positive rate on the non-member "
        "targets is at most 1%; the better of the two scores. About 0.01 when nothing is "
        "memorised; the membership-inference literature reads privacy from this corner of "
        "the ROC curve. The interval is the binomial one on the member targets (the "
        "threshold's own noise is not included). " + ATTACK_SAMPLE,
        "lower",
        needs="a real holdout",
    ),
    _spec(
        "privacy.dp_epsilon_lower_bound",
        "privacy",
        "Differential-privacy epsilon proven by attack (lower bound)",
        "The epsilon that the membership attack proves at 95% confidence: at the threshold "
        "of Membership inference: true positives at 1% false positives, with TPR and FPR "
        "bounded by exact 95% Clopper-Pearson intervals, epsilon >= max(0, ln(TPR_low / "
        "FPR_high), ln((1 - FPR_high) / (1 - TPR_low))) (pure differential privacy, delta "
        "= 0). Data released under an epsilon-DP mechanism cannot give a bound above its "
        "epsilon (up to the 5% chance of each interval), so a bound above a claimed epsilon "
        "contradicts the claim; 0 proves nothing. The threshold is chosen on the same "
        "records, so the bound is slightly optimistic for the attacker. " + ATTACK_SAMPLE,
        "lower",
        (0.0, None),
        "a real holdout",
    ),
    _spec(
        "privacy.near_copy_rate",
        "privacy",
        "Near copies of training records",
        "Share of synthetic records closer to their nearest training record than the 1st "
        "percentile of holdout-to-training distances, so about 1% when nothing is memorised "
        "(details give the expected value: the share of holdout records below the same "
        "distance). When that percentile is 0, records at distance 0 are counted instead. "
        "It flags records copied with a field nudged, which privacy.exact_match_rate "
        "misses, and it does not dilute them as privacy.dcr_closer_to_training_share "
        "does. " + DISTANCE + " " + DISTANCE_SAMPLE,
        "lower",
        needs="a real holdout",
    ),
    _spec(
        "integrity.hash_verified",
        "integrity",
        "Stored file matches its hash",
        "1 when the stored file still matches the SHA-256 recorded at upload, else 0 (and "
        "the audit stops).",
        "higher",
        needs="registry facts",
    ),
    _spec(
        "integrity.duplicate_rate",
        "integrity",
        "Duplicate rows",
        "Share of synthetic rows that repeat an earlier synthetic row on every "
        "non-identifier column. All rows.",
        "lower",
    ),
    _spec(
        "integrity.out_of_domain_rate",
        "integrity",
        "Values outside the reference domain",
        "Share of synthetic rows with at least one category never seen in the reference or "
        "a number or date outside the reference's minimum and maximum. All rows.",
        "lower",
    ),
    _spec(
        "integrity.schema_matches_reference",
        "integrity",
        "Schema matches the reference",
        "1 when the reference has exactly the synthetic schema's columns and each column's "
        "reference values fit its declared type (checked on a seeded sample of up to 100,000 "
        "reference rows); otherwise the share of columns that do.",
        "higher",
    ),
    _spec(
        "integrity.orphan_rate",
        "integrity",
        "Orphan child rows",
        "Per foreign key of a version made of linked tables: the child rows whose key is "
        "filled in but matches no primary key of the parent table, divided by all the child "
        "table's rows (rows with an empty key are not orphans; they are counted apart). The "
        "value is the worst relationship's share; details list every relationship with its "
        "orphan rows, distinct dangling key values and up to 5 of them as examples, plus the "
        "reference's share when a reference is given (its values are never shown). All rows.",
        "lower",
        needs="a version of linked tables with foreign keys",
    ),
    _spec(
        "integrity.key_violations",
        "integrity",
        "Primary-key violations",
        "Per table of a version made of linked tables that declares a primary key: the rows "
        "whose key is empty plus the rows repeating a key value an earlier row already holds "
        "(the first holder is not counted), divided by the table's rows. The value is the "
        "worst table's share; details give each table's empty and repeated counts and up to "
        "5 repeated values. All rows.",
        "lower",
        needs="a version of linked tables with primary keys",
    ),
    _spec(
        "quality.cardinality_shapes",
        "quality",
        "Children per parent",
        "Per foreign key, as SDMetrics' CardinalityShapeSimilarity: 1 minus the two-sample "
        "Kolmogorov-Smirnov statistic between the real and synthetic distributions of the "
        "number of child rows per parent row (a parent with no child counts 0; orphan child "
        "rows count for no parent), averaged over foreign keys. Details hold each "
        "relationship's score. All rows.",
        "higher",
        needs="synthetic and reference versions of linked tables with foreign keys",
    ),
    _spec(
        "quality.intertable_trends",
        "quality",
        "Inter-table trends",
        "As SDMetrics' multi-table Intertable Trends property: each child table is joined to "
        "its parent on the foreign key (inner join) and every pair of one parent column and "
        "one child column is compared as in Column Pair Trends: two numbers or dates by "
        "correlation similarity 1 - |r_real - r_synthetic| / 2 (Pearson, rows where both are "
        "present), counted only when the real |r| exceeds 0.5; otherwise by contingency "
        "similarity 1 - total variation distance of the joint frequencies (a missing value "
        "is a category; a number or date beside a category is cut into 10 equal-width bins "
        "whose edges each dataset takes from its own values, as SDMetrics does), counted only "
        "when the real Cramér's V exceeds 0.3. The mean over counted pairs of every "
        "relationship; identifiers and free text are left out. All rows (SDMetrics samples "
        "50,000 rows per contingency pair on larger tables).",
        "higher",
        needs="synthetic and reference versions of linked tables with foreign keys",
    ),
    _spec(
        "quality.relational_overall",
        "quality",
        "Overall multi-table quality",
        "SDMetrics' multi-table Quality Report score: the mean of four properties, each "
        "computed on every row of every table: Column Shapes (KSComplement or TVComplement "
        "per column, averaged over all columns of all tables), Column Pair Trends (pairs "
        "inside each table, same rule and thresholds as quality.intertable_trends), "
        "Cardinality (quality.cardinality_shapes) and Intertable Trends "
        "(quality.intertable_trends). A property with nothing to score is left out of the "
        "mean. Details hold each property's score and every column and pair score.",
        "higher",
        needs="synthetic and reference versions of linked tables",
    ),
    _spec(
        "documentation.datasheet_completeness",
        "provenance",
        "Datasheet completeness",
        "Share of the datasheet's sections that are filled in.",
        "higher",
        needs="registry facts",
    ),
    _spec(
        "provenance.lineage_complete",
        "provenance",
        "Lineage complete",
        "1 when the version's parents, relations and generator run are recorded.",
        "higher",
        needs="registry facts",
    ),
    _spec(
        "provenance.generator_documented",
        "provenance",
        "Generator documented",
        "1 when the generator's type, library, version and parameters are recorded.",
        "higher",
        needs="registry facts",
    ),
    _spec(
        "provenance.licence_present",
        "provenance",
        "Licence present",
        "1 when the dataset has a licence (SPDX identifier).",
        "higher",
        needs="registry facts",
    ),
    _spec(
        "provenance.compute_disclosed",
        "provenance",
        "Compute disclosed",
        "1 when the compute, energy and carbon used for generation are disclosed.",
        "higher",
        needs="registry facts",
    ),
    _spec(
        "provenance.watermark_detected",
        "provenance",
        "Watermark detected",
        "1 when the organisation's keyed watermark is found in the audited file with "
        "p < 1e-6 (binomial test over keyed units, all rows), 0 when a synthetic version "
        "carries none or it no longer survives. The false-positive rate on unmarked data "
        "is at most 1e-6. Skipped for real data.",
        "higher",
        needs="registry facts and the organisation's watermark key",
    ),
    _spec(
        "provenance.watermark_strength",
        "provenance",
        "Watermark strength",
        "-log10 of the watermark test's p-value: 6 or more means detected; 0 when there is "
        "no mark.",
        "higher",
        (0.0, None),
        needs="registry facts and the organisation's watermark key",
    ),
    _spec(
        "provenance.manifest_valid",
        "provenance",
        "Provenance manifest valid",
        "1 when the version's provenance manifest, signed with the organisation's key, "
        "verifies with the published public key and names the SHA-256 of the stored file.",
        "higher",
        needs="registry facts",
    ),
    _spec(
        "collapse.generation_depth",
        "collapse",
        "Synthetic generations from real data",
        "How many synthetic generations separate the version from its nearest real ancestor "
        "in the lineage (trained on, derived from, augments, merged with): 0 for real data, 1 "
        "for data generated from real data, 2 for data generated from that, and so on. "
        "Skipped when the lineage reaches no real version. Every audit reports it, whichever "
        "families are chosen.",
        "lower",
        (0.0, None),
        "lineage back to real data",
    ),
    _spec(
        "collapse.tail_coverage",
        "collapse",
        "Tail coverage",
        "Share of the real distribution's tails the version still holds: for each numeric or "
        "date column, the share of its rows beyond the nearest real ancestor's 1st and 99th "
        "percentiles divided by the real share there (about 2%), capped at 1, averaged over "
        "columns. 1 means the tails are intact. All rows, compared with the nearest real "
        "ancestor in the lineage (not the audit's reference).",
        "higher",
        needs="lineage back to real data",
    ),
    _spec(
        "collapse.variance_ratio",
        "collapse",
        "Variance ratio",
        "Variance of each numeric or date column divided by its variance in the nearest real "
        "ancestor, averaged over columns. 1 is ideal; below 1 the data has narrowed, as "
        "repeated training on synthetic data does. All rows.",
        "closer_to",
        (0.0, None),
        "lineage back to real data",
        target=1.0,
    ),
    _spec(
        "collapse.category_retention",
        "collapse",
        "Category retention",
        "Share of the nearest real ancestor's (column, category) pairs, over categorical and "
        "boolean columns, that still occur in the version. All rows.",
        "higher",
        needs="lineage back to real data",
    ),
    _spec(
        "collapse.record_diversity",
        "collapse",
        "Record diversity",
        "Distinct records in the version divided by distinct records in the nearest real "
        "ancestor, counted on seeded samples of the same size (the smaller table's rows, at "
        "most 100,000), with numbers and dates cut at the real 20-quantiles and identifiers "
        "and free text left out; capped at 1. Below 1 the records repeat more than real ones.",
        "higher",
        needs="lineage back to real data",
    ),
]

# Representation against a target population (audits.checks.population): reported after
# the other fairness figures.
POPULATION = (
    "Compared with the population profile chosen in the audit request (else the default "
    "profile of the jurisdiction where the dataset's organisation is established): each "
    "group's share is counted among the rows where the profile's attributes are present, "
    "values compared as categories. Intersections count when the profile gives them. All "
    "rows. Details name the profile's id, version and cited source. When the curator "
    "declared the data deliberately rebalanced towards the profile, the report says so and "
    "fairness.representation_gap_max measures the gap to the profile instead of the real "
    "data."
)
_POPULATION_SPECS = [
    _spec(
        "fairness.population_representation_gap",
        "fairness",
        "Gap to the population",
        "Largest absolute difference between a group's share of the synthetic rows and its "
        "expected share in the population profile. " + POPULATION,
        "lower",
        needs="a population profile",
    ),
    _spec(
        "fairness.population_representation_gap_real",
        "fairness",
        "Gap to the population (real)",
        "The same for the real reference data, for comparison: is the synthetic data closer "
        "to the population than the data it learned from? " + POPULATION,
        "lower",
        needs="a population profile",
    ),
    _spec(
        "fairness.underrepresented_groups",
        "fairness",
        "Under-represented groups",
        "Number of the profile's groups whose share of the synthetic rows is below 0.8 times "
        "their population share. Details list them. " + POPULATION,
        "lower",
        (0.0, None),
        "a population profile",
    ),
    _spec(
        "fairness.underrepresented_groups_real",
        "fairness",
        "Under-represented groups (real)",
        "The same count for the real reference data. " + POPULATION,
        "lower",
        (0.0, None),
        "a population profile",
    ),
    _spec(
        "fairness.population_shift",
        "fairness",
        "Shift relative to the population",
        "Synthetic gap to the population minus the real data's gap. Negative: the synthetic "
        "data moved towards the population; positive: away from it. " + POPULATION,
        "lower",
        (-1.0, 1.0),
        "a population profile",
    ),
]
_after = [s.key for s in _SPECS].index("fairness.subgroup_fidelity_gap") + 1
_SPECS[_after:_after] = _POPULATION_SPECS

# --- Model validation (issue 16): models trained on synthetic vs on real data ----------

MODEL_VALIDATION = (
    "Two seeded scikit-learn models are trained on a seeded sample of the synthetic data "
    "and on as many real training rows (default up to 50,000 each): gradient-boosted trees "
    "(HistGradientBoostingClassifier/Regressor, 100 iterations) and an L2-regularised "
    "logistic regression (C = 1; ridge for a numerical target) on one-hot categories and "
    "standardised numbers; both are tested on the same seeded sample of the real holdout. "
    "The value is the gradient-boosted model's; the logistic regression's is in details. "
    "The interval is the value ± half the 95% percentile range of a bootstrap over the "
    "holdout test rows (200 seeded replicates, models held fixed), widened by "
    "sqrt(1 + test rows / training rows) when the models were trained on a sample. "
    "Skipped without a target or a real holdout, or when the target has one class."
)
MODEL_GROUPS = (
    "Groups are each protected attribute (numbers cut at the real data's quintiles) and "
    "pairwise intersections; groups with fewer than 30 holdout test rows (or the audit's "
    "minimum group count if larger) are left out and listed in details. Skipped when no "
    "protected attribute is named."
)
FAIRLEARN = (
    "Definitions are Fairlearn's (MetricFrame by group, difference = max - min over "
    "groups), computed with weighted counts rather than by calling Fairlearn: measured on "
    "50,000 rows on a shared 2-core machine, one fairlearn.metrics."
    "equalized_odds_difference call took 0.8-1.7 s against 2-5 ms for all per-group "
    "figures here, so the 200 bootstrap replicates would take most of an hour "
    "(bench/fairlearn_speed.py). Tests check agreement with "
    "Fairlearn's own functions to 1e-12."
)

_SPECS += [
    _spec(
        "utility.tstr_auc",
        "quality",
        "Model AUC, trained on synthetic",
        "ROC AUC, on the real holdout, of a model trained on the synthetic data, for the "
        "positive outcome (as in the fairness figures) against all other target values. "
        + MODEL_VALIDATION,
        "higher",
        needs="a categorical target and a real holdout",
    ),
    _spec(
        "utility.trtr_auc",
        "quality",
        "Model AUC, trained on real",
        "ROC AUC, on the real holdout, of the same model trained on real training data: "
        "what utility.tstr_auc is compared with. " + MODEL_VALIDATION,
        "higher",
        needs="a categorical target and a real holdout",
    ),
    _spec(
        "utility.tstr_r2",
        "quality",
        "Model R², trained on synthetic",
        "R² on the real holdout of a model trained on the synthetic data, for a numerical "
        "target (mean absolute errors per group are in utility.group_performance_gap). "
        + MODEL_VALIDATION,
        "higher",
        (None, 1.0),
        "a numerical target and a real holdout",
    ),
    _spec(
        "utility.trtr_r2",
        "quality",
        "Model R², trained on real",
        "R² on the real holdout of the same model trained on real training data. "
        + MODEL_VALIDATION,
        "higher",
        (None, 1.0),
        "a numerical target and a real holdout",
    ),
    _spec(
        "utility.group_performance_gap",
        "quality",
        "Model performance gap between groups",
        "Largest difference in accuracy (categorical target; mean absolute error for a "
        "numerical one) between groups of the same grouping, for the model trained on "
        "synthetic data, tested on the real holdout; the real-trained model's gap and every "
        "group's accuracy under both are in details, with the group where the synthetic-"
        "trained model falls furthest behind the real-trained one. "
        + MODEL_GROUPS
        + " "
        + MODEL_VALIDATION,
        "lower",
        (0.0, None),
        "a target, a real holdout and protected attributes",
    ),
    _spec(
        "utility.feature_importance_agreement",
        "quality",
        "Feature importance agreement",
        "Spearman rank correlation between the permutation importances of the gradient-"
        "boosted model trained on synthetic data and the one trained on real data (drop in "
        "ROC AUC, or R², when one feature is shuffled; 3 seeded shuffles on a seeded sample "
        "of up to 5,000 holdout test rows). 1: both models rely on the features in the same "
        "order. The interval is Fisher's z with the Fieller-Hartley-Pearson standard error "
        "for the number of features.",
        "higher",
        (-1.0, 1.0),
        "a target and a real holdout",
    ),
    _spec(
        "utility.calibration_gap",
        "quality",
        "Worst group calibration error",
        "Expected calibration error (ten equal-width probability bins; row-weighted mean of "
        "|observed positive rate - mean predicted probability|) of the model trained on "
        "synthetic data, per group on the real holdout; the value is the worst group's. "
        "0: predicted probabilities can be read as rates in every group. "
        + MODEL_GROUPS
        + " "
        + MODEL_VALIDATION,
        "lower",
        needs="a categorical target, a real holdout and protected attributes",
    ),
    _spec(
        "fairness.model_equalized_odds_difference",
        "fairness",
        "Model equalized-odds difference",
        "For the model trained on synthetic data, tested on the real holdout: the larger of "
        "the differences in true-positive rate and in false-positive rate between groups, "
        "worst over groupings (groups need 30 positives and 30 negatives). The real-trained "
        "model's is in details. " + FAIRLEARN + " " + MODEL_GROUPS + " " + MODEL_VALIDATION,
        "lower",
        needs="a categorical target, a real holdout and protected attributes",
    ),
    _spec(
        "fairness.model_equal_opportunity_difference",
        "fairness",
        "Model equal-opportunity difference",
        "For the model trained on synthetic data, tested on the real holdout: the difference "
        "in true-positive rate between groups (groups need 30 positives), worst over "
        "groupings; the real-trained model's is in details. "
        + FAIRLEARN
        + " "
        + MODEL_GROUPS
        + " "
        + MODEL_VALIDATION,
        "lower",
        needs="a categorical target, a real holdout and protected attributes",
    ),
    _spec(
        "fairness.model_amplification",
        "fairness",
        "Model bias amplification",
        "How much wider the synthetic-trained model's equalized-odds difference is than the "
        "real-trained model's, per grouping, the largest (both tested on the same real "
        "holdout; the bootstrap resamples both together). Above 0 the synthetic data makes "
        "a model treat groups less equally than the real data would; below 0 it mitigates. "
        + MODEL_GROUPS
        + " "
        + MODEL_VALIDATION,
        "lower",
        (-1.0, 1.0),
        "a categorical target, a real holdout and protected attributes",
    ),
]

FAMILY_MEMBERS = (
    "A family is a parent row with all its child rows in every table whose foreign key points "
    "at it (direct children). Rows are compared on every column but keys (the primary key "
    "and the foreign keys a row holds), identifiers and free text. With several parent "
    "tables the value is the worst parent table's, named as the figure's table; details "
    "give every parent table. Counts only: no row is shown."
)
NEAR_BAR = (
    "A row is a near copy when it is closer to its nearest real row than 99% of the "
    "holdout's rows of that table are to theirs (the yardstick of privacy.near_copy_rate, "
    "per table; at distance 0 when that 1st percentile is 0). " + DISTANCE
)
_SPECS += [
    _spec(
        "privacy.parent_exact_copy_rate",
        "privacy",
        "Parent rows copied",
        "Share of synthetic parent rows (rows of a table some foreign key points at) equal "
        "to some real parent row of that table. All rows. " + FAMILY_MEMBERS,
        "lower",
        needs="synthetic and reference versions of linked tables with foreign keys",
    ),
    _spec(
        "privacy.family_exact_copy_rate",
        "privacy",
        "Whole families copied",
        "Share of synthetic parent rows whose row and multiset of child rows (per child "
        "table, in any order) equal a real family's: a rare family structure copied whole. "
        "Compared by 64-bit hashes (a false match has a chance of about 2^-64 per pair). A "
        "parent with no children is a family of one row; details count the copies with "
        "children apart. All rows. " + FAMILY_MEMBERS,
        "lower",
        needs="synthetic and reference versions of linked tables with foreign keys",
    ),
    _spec(
        "privacy.parent_near_copy_rate",
        "privacy",
        "Parent rows nearly copied",
        "Share of synthetic parent rows that are near copies of a real parent row. "
        + NEAR_BAR
        + " Seeded sample of up to 100,000 synthetic parent rows (and holdout rows) against "
        "every real parent row. " + FAMILY_MEMBERS,
        "lower",
        needs="linked tables with foreign keys and a real holdout of the same tables",
    ),
    _spec(
        "privacy.family_near_copy_rate",
        "privacy",
        "Whole families nearly copied",
        "Share of synthetic families that are near copies of a real family: the synthetic "
        "parent row is a near copy of its nearest real parent row, that real parent has the "
        "same number of children in every child table, and each synthetic child row is a "
        "near copy (by its own table's yardstick) of one of that real parent's child rows. "
        "Only the nearest real parent is tried (the lowest row among equally near ones). "
        + NEAR_BAR
        + " Same seeded sample of synthetic parent rows as privacy.parent_near_copy_rate. "
        + FAMILY_MEMBERS,
        "lower",
        needs="linked tables with foreign keys and a real holdout of the same tables",
    ),
]
_BY_KEY = {spec.key: spec for spec in _SPECS}
INDIVIDUALS = (
    "Computed on the table the curator marks as holding individuals, joined with "
    "per-individual aggregates of its child tables: the number of children in each "
    "(count(child)), the mean of each numerical child column (mean(child.column)) and the "
    "most frequent value of each categorical or boolean child column (mode(child.column)); "
    "an individual with no children counts 0 and has no mean or mode. The aggregates can be "
    "named as quasi-identifiers or sensitive columns; without a choice the "
    "quasi-identifiers are the table's columns declared as such plus every count. "
    "Otherwise exactly as "
)
JOINED = (
    "Computed on the child table the curator chooses, each row given the chosen columns of "
    "its parent row through the foreign key (named parent.column; empty for a row whose "
    "parent does not exist), so groups and outcome rates count child rows (for example "
    "treatments by the patient's sex). Otherwise exactly as "
)


def _derived(key: str, base: str, title: str, preamble: str, needs: str) -> MetricSpec:
    spec = _BY_KEY[base]
    return MetricSpec(
        key,
        spec.family,
        f"{spec.title} — {title}",
        f"{preamble}{base}: {spec.description}",
        spec.direction,
        spec.value_range,
        f"{spec.needs}, {needs}",
        spec.target,
    )


# Figures on a frame built from linked tables: the single-table checks run on it.
INDIVIDUALS_KEYS = {
    f"privacy.individuals_{name}": f"privacy.{name}"
    for name in (
        "linkage_risk",
        "attribute_disclosure",
        "singling_out_risk",
        "linkability_risk",
        "inference_risk",
    )
}
JOINED_FAIRNESS_KEYS = {
    f"fairness.joined_{name}": f"fairness.{name}"
    for name in (
        "representation_gap_max",
        "missing_groups",
        "parity_difference_real",
        "parity_difference_synthetic",
        "disparate_impact_real",
        "disparate_impact_synthetic",
        "amplification",
        "subgroup_fidelity_gap",
    )
}
_SPECS += [
    _derived(key, base, "individuals with child aggregates", INDIVIDUALS,
             "a version of linked tables and a table marked as holding individuals")
    for key, base in INDIVIDUALS_KEYS.items()
]  # fmt: skip
_SPECS += [
    _derived(key, base, "child table joined to its parent", JOINED,
             "a version of linked tables and a child table chosen for fairness")
    for key, base in JOINED_FAIRNESS_KEYS.items()
]  # fmt: skip

METRICS: dict[str, MetricSpec] = {spec.key: spec for spec in _SPECS}
# Figures of a version made of linked tables (audits.checks.relational): a single-table
# audit never reports them.
RELATIONAL_KEYS = frozenset(
    {
        "integrity.orphan_rate",
        "integrity.key_violations",
        "quality.cardinality_shapes",
        "quality.intertable_trends",
        "quality.relational_overall",
        "privacy.parent_exact_copy_rate",
        "privacy.family_exact_copy_rate",
        "privacy.parent_near_copy_rate",
        "privacy.family_near_copy_rate",
        *INDIVIDUALS_KEYS,
        *JOINED_FAIRNESS_KEYS,
    }
)


# Figures each table of linked tables gets when the audit runs the single-table checks on
# it (audits.checks.runner: integrity, quality with utility, privacy, and collapse against
# the real ancestor's table of the same name); a standard's rule
# may name one table's (``table: sessions``) or, without a table, is judged on every
# table's. The stored hash, the figures of linked tables and the facts of the whole
# version (documentation, provenance) are never per table.
TABLE_FAMILIES = ("integrity", "quality", "utility", "privacy", "collapse")
TABLE_KEYS = frozenset(
    key
    for key, spec in METRICS.items()
    if spec.family in TABLE_FAMILIES
    and key not in RELATIONAL_KEYS
    and key != "integrity.hash_verified"
)


def catalogue_json() -> list[dict[str, Any]]:
    """The catalogue as plain data, in a stable order (for the API and the help page)."""
    return [spec.to_json() for spec in _SPECS]
