"""Documentation and provenance facts supplied by the registry (no data is read)."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd

from audits.checks.base import MetricResult, skipped
from audits.checks.context import AuditContext, Step
from audits.checks.sources import as_source
from audits.checks.watermark import manifest_result, watermark_columns, watermark_metrics

FLAGS = {
    "provenance.lineage_complete": (
        "lineage_complete",
        "The lineage of this version is incomplete.",
    ),
    "provenance.generator_documented": (
        "generator_documented",
        "The generator (method, library, parameters) is not documented.",
    ),
    "provenance.compute_disclosed": (
        "compute_disclosed",
        "The compute and energy used to generate the data are not disclosed.",
    ),
}


def provenance_metrics(facts: dict[str, Any]) -> list[MetricResult]:
    results = [_completeness(facts)]
    for key, (fact, finding) in FLAGS.items():
        value = facts.get(fact)
        if value is None:
            results.append(skipped(key, "higher", f"the registry did not report '{fact}'"))
            continue
        results.append(
            MetricResult(
                key=key,
                value=1.0 if value else 0.0,
                direction="higher",
                details={fact: bool(value)},
                finding=None if value else finding,
            )
        )
    licence = facts.get("licence")
    if licence is None and "licence" not in facts:
        results.append(skipped("provenance.licence_present", "higher", "no licence fact given"))
    else:
        present = bool(str(licence or "").strip())
        results.append(
            MetricResult(
                key="provenance.licence_present",
                value=1.0 if present else 0.0,
                direction="higher",
                details={"licence": str(licence or "")},
                finding=None if present else "No licence is recorded for this dataset.",
            )
        )
    return results


def _completeness(facts: dict[str, Any]) -> MetricResult:
    key = "documentation.datasheet_completeness"
    value = facts.get("datasheet_completeness")
    if value is None:
        return skipped(key, "higher", "the registry did not report datasheet completeness")
    value = float(value)
    return MetricResult(
        key=key,
        value=value,
        direction="higher",
        details={"datasheet_completeness": value},
        finding=None if value >= 0.9 else f"The datasheet is {value:.0%} complete.",
    )


def _step(ctx: AuditContext) -> list[MetricResult]:
    return provenance_metrics(ctx.registry_facts)


def watermark_results(ctx: AuditContext) -> list[MetricResult]:
    """The watermark figures, looked for in the raw synthetic frame once (the runner
    calls this before it releases the frames) and cached."""
    if "watermark_results" not in ctx.cache:
        synthetic = as_source(ctx.synthetic, copy=False)
        # Only the columns the mark is looked for in (none when nothing is detected).
        wanted = [c for c in watermark_columns(ctx.registry_facts) if c in synthetic.columns]
        frame = (
            synthetic.read(wanted)
            if wanted
            else pd.DataFrame(index=pd.RangeIndex(synthetic.num_rows))
        )
        ctx.cache["watermark_results"] = watermark_metrics(
            ctx.registry_facts, frame, rows=synthetic.num_rows
        )
    return copy.deepcopy(ctx.cache["watermark_results"])


def _watermark_step(ctx: AuditContext) -> list[MetricResult]:
    return watermark_results(ctx)


# Watermarks (audits.checks.watermark) are embedded in and detected on one table: a
# version of linked tables is never marked, so its audit reads no table for them.
LINKED_TABLES_WATERMARK = "SynthGov watermarks single-table versions only"
WATERMARK_KEYS = ("provenance.watermark_detected", "provenance.watermark_strength")


def linked_tables_metrics(facts: dict[str, Any]) -> list[MetricResult]:
    """The provenance family of a version of linked tables, once for the whole version
    and in a single table's order: the registry's facts (``provenance_metrics``) and the
    manifest's validity as for a single table; the watermark figures skipped with the
    reason (real data's as for a single table), since no table is read."""
    reason = (
        "real data is not watermarked"
        if facts.get("synthetic") is False
        else LINKED_TABLES_WATERMARK
    )
    return [
        *provenance_metrics(facts),
        *(skipped(key, "higher", reason) for key in WATERMARK_KEYS),
        manifest_result(facts),
    ]


STEPS: list[Step] = [
    ("Provenance: registry facts", _step),
    ("Provenance: watermark and manifest", _watermark_step),
]
