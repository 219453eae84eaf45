"""Read-side queries for audit pages and the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from audits.checks import METRICS, relational_fairness, relational_privacy
from audits.checks.catalogue import RELATIONAL_KEYS
from audits.models import AuditRun, AuditStatus, ComplianceEvaluation
from audits.runs import disclosure
from registry.models import DatasetKind, DatasetVersion

FAMILY_ORDER = [
    "integrity",
    "quality",
    "utility",
    "fairness",
    "privacy",
    "documentation",
    "provenance",
    "collapse",
]


# One score per family in a report's summary: the family's headline figure from the
# catalogue (audits/checks/catalogue.py), the one a reader would quote first.
FAMILY_HEADLINES = {
    "integrity": "integrity.hash_verified",
    "quality": "quality.overall",
    "utility": "utility.tstr_ratio",
    "fairness": "fairness.representation_gap_max",
    "privacy": "privacy.exact_match_rate",
    "documentation": "documentation.datasheet_completeness",
    "provenance": "provenance.lineage_complete",
    "collapse": "collapse.tail_coverage",
}
# A run of linked tables has no single-table overall quality score: its quality headline
# is the multi-table one.
RELATIONAL_HEADLINES = {
    "quality": "quality.relational_overall",
    "fairness": "fairness.joined_representation_gap_max",
    "privacy": "privacy.family_exact_copy_rate",
}
# The privacy and fairness figures of linked tables, in the order the report lists them.
LINKED_FIGURES = (*relational_privacy.KEYS, *relational_fairness.KEYS)
RELATIONAL_NOTE = (
    "This audit compares linked tables: referential integrity, primary keys, cardinality "
    "and inter-table trends, copied families and parent rows, and (when the curator chose "
    "the tables) re-identification of individuals with their children's aggregates and "
    "fairness on a child table joined to its parent, under the audited version's keys. "
    "Each table is also audited on its own (its integrity, quality and privacy figures, "
    "key columns left out): see Figures per table below the figures of the whole version."
)
# Worst first; the words are the standards engine's severities (rules arrive as JSON).
SEVERITIES = ("blocking", "major", "minor", "advisory")
TOP_FINDINGS = 3


def audits_for(user: Any) -> QuerySet[AuditRun]:
    return AuditRun.objects.visible_to(user).select_related(
        "version__dataset__organisation", "reference__dataset", "holdout__dataset", "requested_by"
    )


# The columns a progress list shows (here and in the dashboard's live check).
IN_PROGRESS_FIELDS = (
    "id",
    "status",
    "progress",
    "step",
    "started",
    "created",
    "version__number",
    "version__dataset__name",
)


def in_progress_for(user: Any) -> QuerySet[AuditRun]:
    """Queued and running audits, with only the columns a progress list shows."""
    return (
        AuditRun.objects.visible_to(user)
        .filter(status__in=[AuditStatus.QUEUED, AuditStatus.RUNNING])
        .select_related("version__dataset")
        .only(*IN_PROGRESS_FIELDS)
        .order_by("-created", "-id")
    )


def reference_choices(*, user: Any, version: DatasetVersion) -> list[tuple[int, str]]:
    """Real versions the user may see and the version's organisation may read (open or
    its own), the version's own real ancestors first."""
    ancestors = set(version.parent_edges.values_list("parent_id", flat=True))
    versions = (
        DatasetVersion.objects.visible_to(user)
        .readable_by_organisation(version.dataset.organisation)
        .filter(dataset__kind=DatasetKind.REAL)
        .exclude(pk=version.pk)
        .select_related("dataset")
        .order_by("dataset__name", "-number")
    )
    ordered = sorted(versions, key=lambda v: (v.pk not in ancestors, v.dataset.name, -v.number))
    return [(v.pk, f"{v.dataset.name} v{v.number} ({v.row_count:,} rows)") for v in ordered]


def default_reference(version: DatasetVersion) -> int | None:
    edge = version.parent_edges.filter(
        parent__dataset__kind=DatasetKind.REAL, relation__in=["trained_on", "derived_from"]
    ).first()
    return edge.parent_id if edge else None


def status_payload(run: AuditRun) -> dict[str, Any]:
    eta = run.eta_seconds
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "progress": round(run.progress, 4),
        "step": run.step,
        "eta_seconds": round(eta) if eta is not None else None,
        "error": run.error,
        "integrity": run.integrity,
        "finished": run.is_finished,
        "cancel_requested": run.cancel_requested,
    }


def whole_version(results: dict[str, Any]) -> dict[str, Any]:
    """``results`` with only the figures of the whole version: a figure computed on one
    table of linked tables (``table`` set) is shown under that table instead
    (``table_groups``). A single-table run's results are returned as they are."""
    metrics = results.get("metrics", [])
    if not any(isinstance(m, dict) and m.get("table") for m in metrics):
        return results
    return {**results, "metrics": [m for m in metrics if not _table_of(m)]}


def _table_of(metric: Any) -> str:
    return (metric.get("table") or "") if isinstance(metric, dict) else ""


def table_groups(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures computed on each table of linked tables, per table in ascending order
    of name: ``{"table", "groups"}`` with ``groups`` as ``grouped_metrics`` gives them.
    Empty for a single-table run."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for metric in results.get("metrics", []):
        if _table_of(metric):
            tables.setdefault(metric["table"], []).append(metric)
    groups = []
    for name in sorted(tables):
        grouped = _grouped(tables[name])
        for group in grouped:
            for metric in group["metrics"]:
                # The row's anchor: figure-<table>-<family>-<name>, unlike any figure of
                # the whole version (two parts).
                metric["anchor_key"] = f"{name}.{metric['key']}"
        groups.append({"table": name, "groups": grouped})
    return groups


def grouped_metrics(results: dict[str, Any]) -> list[dict[str, Any]]:
    """A run's figures of the whole version (its results as the reader may see them:
    ``audits.runs.disclosure.results_for``) with their catalogue entries, grouped by
    family. Figures of one table of linked tables are left to ``table_groups``."""
    return _grouped(whole_version(results).get("metrics", []))


def _grouped(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for metric in metrics:
        spec = METRICS.get(metric["key"])
        family = spec.family if spec else metric["key"].split(".", 1)[0]
        groups.setdefault(family, []).append(
            {**metric, "spec": spec.to_json() if spec else {}, "verdict": _verdict(metric, spec)}
        )
    return [
        {"family": family, "metrics": groups[family]}
        for family in sorted(
            groups, key=lambda f: (FAMILY_ORDER.index(f) if f in FAMILY_ORDER else 99, f)
        )
    ]


def _verdict(metric: dict[str, Any], spec: Any) -> str:
    """Direction in words, for the report table."""
    direction = metric.get("direction")
    if direction == "higher":
        return "higher is better"
    if direction == "lower":
        return "lower is better"
    if direction == "closer_to":
        return f"closer to {metric.get('target')} is better"
    return ""


def family_scores(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per family in the report, its headline figure (FAMILY_HEADLINES) as shown to the
    reader: ``metric`` is the figure's result (None when the run did not compute it),
    ``spec`` its catalogue entry, ``verdict`` its direction in words."""
    results = whole_version(results)
    metrics = {m["key"]: m for m in results.get("metrics", [])}
    families = {g["family"] for g in grouped_metrics(results)}
    scores = []
    for family in FAMILY_ORDER:
        key = FAMILY_HEADLINES[family]
        if family not in families:
            continue
        if key not in metrics and RELATIONAL_HEADLINES.get(family) in metrics:
            key = RELATIONAL_HEADLINES[family]
        metric, spec = metrics.get(key), METRICS.get(key)
        scores.append(
            {
                "family": family,
                "key": key,
                "metric": metric,
                "spec": spec.to_json() if spec else {},
                "verdict": _verdict(metric, spec) if metric else "",
            }
        )
    return scores


def standard_outcomes(*, user: Any, version: DatasetVersion) -> list[dict[str, Any]]:
    """The version's current compliance evaluations, one per applicable standard, as
    ``user`` may see them (``disclosure.evaluation_rules_for``): ``failed`` lists the
    failing rules worst severity first, ``passed``/``missing`` count the others."""
    evaluations = (
        ComplianceEvaluation.objects.current()
        .filter(dataset_version=version)
        .select_related("standard_version__standard")
        .order_by("standard_version__standard__code", "pk")
    )
    memo: dict[int, Any] = {}
    outcomes = []
    for evaluation in evaluations:
        rules = disclosure.evaluation_rules_for(user=user, evaluation=evaluation, memo=memo)
        failed = sorted((r for r in rules if r.get("status") == "fail"), key=lambda r: _severity(r))
        outcomes.append(
            {
                "evaluation": evaluation,
                "standard": evaluation.standard_version,
                "failed": failed,
                "passed": sum(r.get("status") == "pass" for r in rules),
                "missing": sum(r.get("status") == "missing" for r in rules),
                "not_applicable": sum(r.get("status") == "not_applicable" for r in rules),
                "waived": sum(r.get("status") == "waived" for r in rules),
            }
        )
    return outcomes


def _severity(rule: dict[str, Any]) -> int:
    severity = rule.get("severity")
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def top_findings(
    results: dict[str, Any], outcomes: list[dict[str, Any]], limit: int = TOP_FINDINGS
) -> list[dict[str, Any]]:
    """The findings that matter most: first the figures behind failing rules of the
    applicable standards (worst severity first), then the report's other findings in
    report order, then each table's findings (linked tables). Each is {key, title, text,
    why}; ``key`` names the figure's row (``<table>.<key>`` for a table's figure)."""
    metrics = {m["key"]: m for m in whole_version(results).get("metrics", [])}
    failing: dict[str, tuple[int, dict[str, Any], Any]] = {}
    for outcome in outcomes:
        for rule in outcome["failed"]:
            rank = _severity(rule)
            if rule["key"] not in failing or rank < failing[rule["key"]][0]:
                failing[rule["key"]] = (rank, rule, outcome["standard"])
    chosen: list[dict[str, Any]] = []
    for key, (_, rule, standard) in sorted(failing.items(), key=lambda kv: (kv[1][0], kv[0])):
        metric = metrics.get(key) or {}
        chosen.append(
            {
                "key": key if key in metrics else None,
                "title": _title(key),
                "text": metric.get("finding") or rule.get("sentence") or rule.get("rule"),
                "why": f"fails {standard} rule {rule.get('rule') or key} ({rule.get('severity')})",
            }
        )
    for group in grouped_metrics(results):
        for metric in group["metrics"]:
            if metric.get("finding") and metric["key"] not in failing:
                chosen.append(
                    {
                        "key": metric["key"],
                        "title": _title(metric["key"]),
                        "text": metric["finding"],
                        "why": "",
                    }
                )
    # Then each table's own findings (linked tables), table by table.
    for table in table_groups(results):
        for group in table["groups"]:
            for metric in group["metrics"]:
                if metric.get("finding"):
                    chosen.append(
                        {
                            "key": metric["anchor_key"],
                            "title": f"{_title(metric['key'])} ({table['table']})",
                            "text": metric["finding"],
                            "why": "",
                        }
                    )
    return chosen[:limit]


def _title(key: str) -> str:
    spec = METRICS.get(key)
    return spec.title if spec else key


def report_summary(*, user: Any, run: AuditRun, results: dict[str, Any]) -> dict[str, Any]:
    """What a report opens with: one score per family, the audited version's standing
    against each applicable standard, and the three findings that matter most."""
    outcomes = standard_outcomes(user=user, version=run.version)
    in_report = {m["key"] for m in whole_version(results).get("metrics", [])}
    for outcome in outcomes:  # a failing rule links to its figure's row when it has one
        outcome["failed"] = [{**r, "in_report": r["key"] in in_report} for r in outcome["failed"]]
    return {
        "scores": family_scores(results),
        "relational": relational_view(results),
        "standards": outcomes,
        "findings": top_findings(results, outcomes),
        "finding_count": len(results.get("findings", [])),
        "tables": table_groups(results),
    }


ATTACK_ORDER = (
    "privacy.inference_risk",
    "privacy.singling_out_risk",
    "privacy.linkability_risk",
    "privacy.membership_auc",
    "privacy.near_copy_rate",
)


def _pct(value: float) -> str:
    return "under 0.1%" if 0 < value < 0.001 else f"{value:.1%}"


def _interval_text(details: dict[str, Any]) -> str:
    interval = details.get("interval")
    if not interval:
        return ""
    return f" (95% interval {_pct(interval[0])}–{_pct(interval[1])})"


def _attack_sentence(key: str, metric: dict[str, Any]) -> str:
    """One plain-words sentence for an attack figure that was computed."""
    value, details = metric["value"], metric.get("details") or {}
    if key == "privacy.inference_risk":
        attribute = details.get("headline_attribute")
        known = (details.get("attributes", {}).get(attribute) or {}).get("known_columns")
        who = f"knows {', '.join(known)} of" if known else "knows the quasi-identifiers of"
        what = f"their {attribute}" if attribute else "a sensitive value"
        return (
            f"An attacker who {who} a person in the training data could infer {what} "
            f"{_pct(value)} more often than from population data alone"
            f"{_interval_text(details)}."
        )
    if key == "privacy.singling_out_risk":
        return (
            "Predicates built from the synthetic data single out one person of the training "
            f"data {_pct(value)} more often than one person the generator never saw"
            f"{_interval_text(details)}."
        )
    if key == "privacy.linkability_risk":
        return (
            "An attacker holding two separate parts of a person's record links them through "
            f"the synthetic data {_pct(value)} more often for people in the training data "
            f"than for others{_interval_text(details)}."
        )
    if key == "privacy.membership_auc":
        return (
            "Told apart from unseen people by the synthetic data alone, training records are "
            f"recognised with ROC AUC {value:.2f} (0.50 means no better than chance)."
        )
    return (
        f"{_pct(value)} of synthetic records sit nearer a training record than 99% of "
        "unseen real people do"
        + (
            f" (about {_pct(details['expected_without_memorisation'])} expected)."
            if "expected_without_memorisation" in details
            else "."
        )
    )


def attacker_view(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's "What an attacker could learn": per attack figure present in the
    results, its catalogue title, a sentence in plain words (or why it is missing) and
    the main and control success rates when the reader may see them."""
    metrics = {m["key"]: m for m in whole_version(results).get("metrics", [])}
    return _sentence_rows(metrics, ATTACK_ORDER, _attack_sentence)


def _sentence_rows(
    metrics: dict[str, dict[str, Any]],
    keys: tuple[str, ...] | list[str],
    sentence: Callable[[str, dict[str, Any]], str | None],
    *,
    hidden: Callable[[str, str], bool] = lambda key, reason: False,
) -> list[dict[str, Any]]:
    """Per key present in ``metrics`` (in ``keys``' order, unless ``hidden(key, skip
    reason)``): its catalogue title and a sentence in plain words, or why it is missing."""
    rows = []
    for key in keys:
        metric = metrics.get(key)
        if metric is None:
            continue
        reason = metric.get("skip_reason") or ""
        if hidden(key, reason):
            continue
        spec = METRICS.get(key)
        row = {"key": key, "title": spec.title if spec else key, "metric": metric}
        if metric["status"] == "ok" and metric["value"] is not None:
            row["sentence"] = sentence(key, metric)
        else:
            row["sentence"] = f"Not measured: {reason or 'no value'}."
        rows.append(row)
    return rows


# --- "Models trained on this data" (model validation, issue 16) -------------------------

MODEL_KEYS = (
    "utility.tstr_auc",
    "utility.tstr_r2",
    "utility.group_performance_gap",
    "fairness.model_equalized_odds_difference",
    "fairness.model_amplification",
    "utility.calibration_gap",
    "utility.feature_importance_agreement",
)


def plain_group(label: str) -> str:
    """ "sex=F & age in bin 5 of 5" reads "sex F and age in bin 5 of 5"."""
    return " and ".join(part.replace("=", " ", 1) for part in label.split(" & "))


def _points(value: float) -> str:
    return f"{abs(value) * 100:.0f} point{'s' if round(abs(value) * 100) != 1 else ''}"


def _model_sentence(key: str, metric: dict[str, Any]) -> str | None:
    value, details = metric["value"], metric.get("details") or {}
    half = metric.get("uncertainty")
    plus = f" (± {half:.2f})" if half is not None else ""
    if key in ("utility.tstr_auc", "utility.tstr_r2"):
        name = "ROC AUC" if key.endswith("auc") else "R²"
        real = details.get("other_source")
        against = f", against {real:.2f} when trained on the real data" if real is not None else ""
        return (
            f"Trained on this data, the model scores {name} {value:.2f}{plus} on real people "
            f"it never saw{against}."
        )
    if key == "utility.group_performance_gap":
        worst = details.get("largest_shortfall")
        if not worst or details.get("metric") != "accuracy":
            return f"Its performance differs by up to {value:.2f} between groups."
        if worst["points"] <= 0.005:
            return (
                "In no group is a model trained on this data less accurate than one trained "
                "on the real data."
            )
        return (
            f"A model trained on this data is {_points(worst['points'])} less accurate for "
            f"{plain_group(worst['group'])} than one trained on the real data "
            f"({_pct(worst['synthetic'])} against {_pct(worst['real'])}, "
            f"{worst['test_rows']} people in the holdout)."
        )
    if key == "fairness.model_equalized_odds_difference":
        real = details.get("trained_on_real")
        tail = f"; trained on the real data, {_points(real)}" if real is not None else ""
        return (
            f"Its true- or false-positive rates differ between groups by up to "
            f"{_points(value)}{tail} (equalized-odds difference)."
        )
    if key == "fairness.model_amplification":
        if value > 0.005 and half is not None and value - half <= 0:
            return (
                f"The gap between groups is {_points(value)} wider than with a model trained "
                f"on the real data, within the uncertainty (± {_points(half)}): no clear "
                "amplification."
            )
        if value > 0.005:
            return (
                f"So the synthetic data makes a model treat groups less equally: the gap is "
                f"{_points(value)} wider than with the real data"
                + (f" (± {_points(half)})." if half is not None else ".")
            )
        if value < -0.005:
            return (
                f"The synthetic data does not widen the gap between groups: it is "
                f"{_points(value)} narrower than with the real data."
            )
        return "The gap between groups is the same as with a model trained on the real data."
    if key == "utility.calibration_gap":
        worst = None
        for table in details.get("groupings", []):
            for group, error in zip(table["groups"], table["synthetic_calibration"], strict=False):
                if error is not None and (worst is None or error > worst[1]):
                    worst = (group, error)
        where = f" (for {plain_group(worst[0])})" if worst else ""
        return (
            f"Its predicted probabilities are off from the observed rates by up to "
            f"{_points(value)} in a group{where}."
        )
    if key == "utility.feature_importance_agreement":
        top = details.get("features", [])[:3]
        return (
            "It relies on the features in "
            + ("much the same order as" if value >= 0.7 else "a different order from")
            + f" a model trained on the real data (rank correlation {value:.2f}"
            + (f"; the real-trained model's top features: {', '.join(top)}" if top else "")
            + ")."
        )
    return None


def models_view(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's "Models trained on this data": per model-validation figure present,
    its catalogue title and a sentence in plain words (or why it is missing). Only the
    figure of the target's kind (AUC or R²) is shown; nothing when no figure is present."""
    metrics = {m["key"]: m for m in whole_version(results).get("metrics", [])}
    if not any(k in metrics for k in MODEL_KEYS):
        return []
    return _sentence_rows(
        metrics,
        MODEL_KEYS,
        _model_sentence,
        # The headline of the other kind of target (AUC for a number, R² for a class).
        hidden=lambda key, reason: (
            key in ("utility.tstr_auc", "utility.tstr_r2") and reason.startswith("the target is")
        ),
    )


def relational_view(results: dict[str, Any]) -> dict[str, Any] | None:
    """A run of linked tables, per relationship and per table, as the report's "Linked
    tables" section shows it (None for a single-table run). Reads the figures' details
    as the reader may see them (a withheld figure has none)."""
    metrics = {
        m["key"]: m for m in results.get("metrics", []) if isinstance(m, dict) and not _table_of(m)
    }
    if not RELATIONAL_KEYS & set(metrics):
        return None

    def details(key: str) -> dict[str, Any]:
        metric = metrics.get(key) or {}
        return metric.get("details") or {} if metric.get("status") == "ok" else {}

    label = "{child_table}.{child_key} → {parent_table}.{parent_key}".format
    relationships: dict[str, dict[str, Any]] = {}
    for item in details("integrity.orphan_rate").get("relationships", []):
        relationships.setdefault(label(**_key_fields(item)), {})["orphans"] = item
    for item in details("quality.cardinality_shapes").get("relationships", []):
        relationships.setdefault(label(**_key_fields(item)), {})["cardinality"] = item
    tables = details("integrity.key_violations").get("tables", {})
    return {
        "note": RELATIONAL_NOTE,
        "relationships": [{"label": k, **v} for k, v in relationships.items()],
        "tables": [{"name": k, **v} for k, v in tables.items()],
        "figures": [_linked_figure(metrics[key]) for key in LINKED_FIGURES if key in metrics],
    }


def _linked_figure(metric: dict[str, Any]) -> dict[str, Any]:
    """One privacy or fairness figure of linked tables as the section's sentence: its
    title, the table it was computed on, its value and finding, or why it is missing."""
    return {
        "key": metric["key"],
        "title": _title(metric["key"]),
        "table": (metric.get("details") or {}).get("table") or "",
        "value": metric.get("value"),
        "status": metric.get("status"),
        "finding": metric.get("finding") or "",
        "skip_reason": metric.get("skip_reason") or "",
    }


def _key_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item.get(k, "") for k in ("parent_table", "parent_key", "child_table", "child_key")}
