"""What a reader may be shown of audit figures and of the evaluations built on them.

An audit is computed once and shown to many readers. ``AuditRun.visible_to`` already
hides a run from anyone who may not see its audited version, reference or holdout.
The collapse figures read one more input, the nearest real ancestor, which the run
names only by id in its details (``ancestor_version``, ``chain``). This module:

- withholds the ``collapse.*`` figures measured against an ancestor the reader may not
  see (value, details and finding), with the reason, and blanks the ids of restricted
  versions in the chain: a variance ratio together with the open synthetic file gives
  the restricted real variance back;
- withholds, in an evaluation, the figure and sentence of every rule whose source audit
  the reader may not see or whose figure is withheld for them, keeping pass/fail (one
  bit against a threshold the standard publishes).

Every page, download and API response that shows a run's results or an evaluation's
rules reads them through here.
"""

from __future__ import annotations

import copy
from typing import Any

from audits.checks.collapse import KEYS
from audits.models import AuditMetric, AuditRun, ComplianceEvaluation
from registry.models import DatasetVersion

WITHHELD_ANCESTOR = (
    "measured against a restricted source you may not read: collapse figures are shown "
    "only to readers of the real data they compare with"
)
WITHHELD_AUDIT = "figure withheld: it comes from an audit of data you may not read"
# Figures computed from the ancestor's data; the depth is a fact of the lineage graph,
# which every reader already sees with "restricted source" nodes.
ANCESTOR_FIGURES = frozenset(k for k in KEYS.values() if k != KEYS["generation_depth"])


def _lineage_ids(results: dict[str, Any]) -> tuple[int | None, set[int]]:
    """The ancestor the run's collapse figures compared with, and every version id the
    collapse details name."""
    ancestor, named = None, set()
    for metric in results.get("metrics", []):
        if not isinstance(metric, dict) or metric.get("key") not in KEYS.values():
            continue
        details = metric.get("details") or {}
        if isinstance(details.get("ancestor_version"), int):
            ancestor = details["ancestor_version"]
            named.add(ancestor)
        named.update(pk for pk in details.get("chain", []) if isinstance(pk, int))
    return ancestor, named


def _visible(user: Any, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(
        DatasetVersion.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)
    )


def withheld_keys(*, user: Any, run: AuditRun) -> dict[str, str]:
    """Figure key -> reason, for the figures of ``run`` that ``user`` may not be shown."""
    ancestor, _ = _lineage_ids(run.results or {})
    if ancestor is None or ancestor in _visible(user, {ancestor}):
        return {}
    return _ancestor_withheld()


def _ancestor_withheld() -> dict[str, str]:
    return dict.fromkeys(sorted(ANCESTOR_FIGURES), WITHHELD_ANCESTOR)


def results_for(*, user: Any, run: AuditRun) -> dict[str, Any]:
    """``run.results`` as ``user`` may see them: withheld figures skipped with the reason
    (no value, details or finding), restricted version ids in the collapse details
    blanked, and ``withheld`` listing what was left out (so a reader knows why the
    shown document no longer matches ``results_sha256``)."""
    results = run.results or {}
    ancestor, named = _lineage_ids(results)
    visible = _visible(user, named)
    withheld = _ancestor_withheld() if ancestor is not None and ancestor not in visible else {}
    if not withheld and named <= visible:
        return results
    shown = copy.deepcopy(results)
    dropped_findings = set()
    for metric in shown.get("metrics", []):
        key = metric.get("key") if isinstance(metric, dict) else None
        if key in withheld:
            if metric.get("finding"):
                dropped_findings.add(metric["finding"])
            # The sample size of record diversity is bounded by the ancestor's rows.
            metric.update(
                value=None,
                details={},
                finding=None,
                uncertainty=None,
                sample_size=0,
                population=0,
                status="skipped",
                skip_reason=withheld[key],
            )
        elif key in KEYS.values():
            details = metric.get("details") or {}
            if "ancestor_version" in details and details["ancestor_version"] not in visible:
                details["ancestor_version"] = None
            if "chain" in details:
                details["chain"] = [pk if pk in visible else None for pk in details["chain"]]
    shown["findings"] = [f for f in shown.get("findings", []) if f not in dropped_findings]
    if withheld:
        shown["withheld"] = withheld
        # Reading the ancestor took time in proportion to its size.
        shown.get("timings", {}).pop("collapse", None)
    return shown


def metrics_for(*, user: Any, run: AuditRun) -> list[AuditMetric]:
    """The run's stored figures, withheld ones without value or finding (not saved)."""
    withheld = withheld_keys(user=user, run=run)
    metrics = list(run.metrics.all())
    for metric in metrics:
        if metric.key in withheld:
            metric.value = metric.uncertainty = None
            metric.finding = withheld[metric.key]
            metric.status = "skipped"
            metric.sample_size = metric.population = 0
    return metrics


def _source_audit(source: Any) -> int | None:
    if isinstance(source, dict) and isinstance(source.get("audit"), int):
        return source["audit"]
    return None


def _shown_audits(
    user: Any, audit_ids: set[int], memo: dict[int, dict[str, str] | None] | None = None
) -> dict[int, dict[str, str]]:
    """Audit id -> keys withheld from ``user``, for the audits ``user`` may see. Two
    queries; ``memo`` (kept by the caller for one reader, e.g. across a page of
    evaluations) spares them for audits already looked at."""
    memo = {} if memo is None else memo
    unknown = audit_ids - set(memo)
    if unknown:
        runs = list(AuditRun.objects.visible_to(user).filter(pk__in=unknown).only("pk", "results"))
        ancestors = {run.pk: _lineage_ids(run.results or {})[0] for run in runs}
        visible = _visible(user, {a for a in ancestors.values() if a is not None})
        memo.update(dict.fromkeys(unknown))
        for pk, ancestor in ancestors.items():
            withheld = ancestor is not None and ancestor not in visible
            memo[pk] = (
                dict.fromkeys(sorted(ANCESTOR_FIGURES), WITHHELD_ANCESTOR) if withheld else {}
            )
    return {pk: memo[pk] for pk in audit_ids if memo[pk] is not None}


def evaluation_sources_for(
    *, user: Any, evaluation: ComplianceEvaluation, memo: dict | None = None
) -> dict[str, Any]:
    """``evaluation.sources`` without the ids of audits ``user`` may not see."""
    sources = evaluation.sources or {}
    shown = _shown_audits(
        user, {a for s in sources.values() if (a := _source_audit(s)) is not None}, memo
    )
    return {
        key: {"withheld": True}
        if (audit := _source_audit(source)) is not None and audit not in shown
        else source
        for key, source in sources.items()
    }


def evaluation_rules_for(
    *, user: Any, evaluation: ComplianceEvaluation, memo: dict | None = None
) -> list[dict[str, Any]]:
    """The evaluation's rule results as ``user`` may see them: a rule whose figure
    comes from an audit the user may not see (or a figure withheld from them) keeps
    its status but shows no value, margin or sentence with the value."""
    rules = evaluation.results.get("rules", [])
    audit_ids = {a for r in rules if (a := _source_audit(r.get("source"))) is not None}
    if not audit_ids:
        return rules
    shown_audits = _shown_audits(user, audit_ids, memo)
    shown = []
    for rule in rules:
        audit = _source_audit(rule.get("source"))
        if audit is None or (audit in shown_audits and rule.get("key") not in shown_audits[audit]):
            shown.append(rule)
            continue
        if audit in shown_audits:
            reason, source = shown_audits[audit][rule["key"]], rule["source"]
        else:
            reason, source = WITHHELD_AUDIT, {"withheld": True}
        shown.append(
            {
                **rule,
                "value": None,
                "uncertainty": None,
                "margin": None,
                "within_uncertainty": None,
                "sentence": f"{rule.get('rule') or rule.get('key')}: {rule.get('status')} "
                f"({reason}).",
                "source": source,
                # Why a figure was not measurable is the hidden audit's to tell.
                **({"reason": ""} if "reason" in rule else {}),
            }
        )
    return shown
