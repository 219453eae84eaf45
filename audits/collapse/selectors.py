"""The version page's "Model collapse" panel, built from stored audits.

The chain of generations back to the nearest real ancestor is the one the audits
measured against (``audits.runs.inputs.collapse_lineage``). A version of linked tables
has its collapse figures per table (each table against the real ancestor's table of the
same name, stored with ``table`` set): the panel then shows the chain once per table, as
the audit report's "Figures per table" does. The panel is built for one
user and shows versions that user may not see as "restricted source", with no name,
link or figures; when the user may not see the real ancestor itself, no generation's
figures are shown, since every figure compares with that ancestor's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audits.checks.collapse import FIGURES, KEYS, CollapseChain, CollapseFigures, warning_text
from audits.models import AuditMetric, AuditRun, AuditStatus
from audits.runs.charts import collapse_chart
from audits.runs.inputs import CollapseLineage, collapse_lineage
from registry.lineage.graph import RESTRICTED_LABEL
from registry.models import DatasetKind, DatasetVersion

FIGURE_LABELS = {
    "tail_coverage": "Tail coverage",
    "variance_ratio": "Variance ratio",
    "category_retention": "Category retention",
    "record_diversity": "Record diversity",
}


@dataclass
class GenerationRow:
    """One generation of the chain as the reader may see it. ``version`` is None for a
    version the reader may not see; ``figures`` is None when no audit the reader may
    see measured it against this chain's real ancestor."""

    generation: int
    version: DatasetVersion | None
    figures: dict[str, float | None] | None = None
    audit_id: int | None = None
    note: str = ""
    cells: list[float | None] = field(default_factory=list)

    @property
    def restricted(self) -> bool:
        return self.version is None

    @property
    def title(self) -> str:
        return RESTRICTED_LABEL if self.version is None else str(self.version)


@dataclass
class TableChain:
    """The chain of generations with one table's collapse figures (a version of linked
    tables): ``table`` names it, the rest as the panel's own keys."""

    table: str
    rows: list[GenerationRow]
    measured: bool
    warning: str | None
    chart: dict[str, Any] | None


def collapse_panel(*, user: Any, version: DatasetVersion) -> dict[str, Any]:
    """What the "Model collapse" panel shows for ``version``: ``applicable`` (False for
    real data, with ``reason``), the ``rows`` of the chain, the ``chart`` (or None),
    the plain ``warning`` (or None) and ``figure_labels``. For a version of linked tables
    ``tables`` holds one ``TableChain`` per table (in the version's order) and ``rows``,
    ``warning`` and ``chart`` are those of no table (empty, None); ``measured`` says
    whether any table's figures are shown, ``charted`` whether any chart is.

    Figures come from each version's latest succeeded audit that measured collapse,
    among audits the reader may see (an audit is visible only with its reference);
    generation 0 is the real ancestor itself, 1.0 on every figure by definition.
    """
    labels = [FIGURE_LABELS[f] for f in FIGURES]
    if version.dataset.kind == DatasetKind.REAL:
        return {
            "applicable": False,
            "reason": "This is real data: collapse is measured on the synthetic versions "
            "generated from it.",
            "figure_labels": labels,
        }
    lineage = collapse_lineage(version)
    if lineage is None:
        return {
            "applicable": False,
            "reason": "The lineage of this version reaches no real data, so how far it has "
            "drifted from real data cannot be measured. Declare what it was generated from.",
            "figure_labels": labels,
        }
    visible = {
        v.pk: v
        for v in DatasetVersion.objects.visible_to(user)
        .filter(pk__in=lineage.chain)
        .select_related("dataset")
    }
    panel = {
        "applicable": True,
        "depth": lineage.depth,
        # Every figure compares with the real ancestor: a reader who may not see it is
        # shown none (with a variance ratio and the open file, its variance is known).
        "withheld": lineage.ancestor_id not in visible,
        "figure_labels": labels,
    }
    if version.is_relational:
        names = version.tables.order_by("position").values_list("name", flat=True)
        tables = [_table_chain(user, lineage, visible, name) for name in names]
        return {
            **panel,
            "tables": tables,
            "rows": [],
            "measured": any(t.measured for t in tables),
            "warning": None,
            "chart": None,
            "charted": any(t.chart for t in tables),
        }
    whole = _table_chain(user, lineage, visible, "")
    return {
        **panel,
        "rows": whole.rows,
        "measured": whole.measured,
        "warning": whole.warning,
        "chart": whole.chart,
        "charted": whole.chart is not None,
    }


def _table_chain(
    user: Any, lineage: CollapseLineage, visible: dict[int, DatasetVersion], table: str
) -> TableChain:
    """The chain with the figures stored for ``table`` ("": the whole version's)."""
    rows = _rows(user, lineage, visible, table)
    measured = rows[-1].figures is not None
    return TableChain(
        table=table,
        rows=rows,
        measured=measured,
        warning=warning_text(_measured_chain(rows)) if measured else None,
        chart=_chart(rows, table),
    )


def _rows(
    user: Any, lineage: CollapseLineage, visible: dict[int, DatasetVersion], table: str
) -> list[GenerationRow]:
    withheld = lineage.ancestor_id not in visible
    latest = {} if withheld else _latest_collapse_runs(user, lineage.chain[1:], table)
    values: dict[int, dict[str, float | None]] = {}
    for run_id, key, value in AuditMetric.objects.filter(
        run_id__in=latest.values(), key__in=KEYS.values(), table=table
    ).values_list("run_id", "key", "value"):
        values.setdefault(run_id, {})[key] = value
    rows = []
    for generation, pk in zip(lineage.generations, lineage.chain, strict=True):
        row = GenerationRow(generation=generation, version=visible.get(pk))
        if generation == 0:
            row.figures = None if withheld else dict.fromkeys(FIGURES, 1.0)
            row.note = "real ancestor"
        elif withheld:
            row.note = "measured against a restricted source: figures not shown"
        elif row.restricted:
            row.note = "figures not shown"
        elif pk not in latest:
            row.note = "no audit you can see measured it"
        else:
            stored = values.get(latest[pk], {})
            row.audit_id = latest[pk]
            if stored.get(KEYS["generation_depth"]) != float(generation):
                # Measured when the lineage was different: not comparable with this chain.
                row.note = "audited before its lineage changed; audit it again"
            else:
                row.figures = {f: stored.get(KEYS[f]) for f in FIGURES}
        row.cells = [row.figures.get(f) if row.figures else None for f in FIGURES]
        rows.append(row)
    return rows


def _latest_collapse_runs(user: Any, version_ids: list[int], table: str) -> dict[int, int]:
    """Version id -> id of its latest succeeded audit, visible to ``user``, that
    recorded collapse figures for ``table`` ("": the whole version)."""
    runs = (
        AuditRun.objects.visible_to(user)
        .filter(
            version_id__in=version_ids,
            status=AuditStatus.SUCCEEDED,
            metrics__key=KEYS["generation_depth"],
            metrics__table=table,
        )
        .order_by("version_id", "-finished", "-pk")
        .values_list("version_id", "pk")
    )
    latest: dict[int, int] = {}
    for version_id, run_id in runs:
        latest.setdefault(version_id, run_id)
    return latest


def _measured_chain(rows: list[GenerationRow]) -> CollapseChain:
    return CollapseChain(
        [
            CollapseFigures(
                generation=row.generation,
                sample_size=0,
                **{f: row.figures.get(f) for f in FIGURES},
            )
            for row in rows
            if row.figures is not None
        ]
    )


def _chart(rows: list[GenerationRow], table: str) -> dict[str, Any] | None:
    if sum(row.figures is not None for row in rows) < 2:
        return None
    chart = collapse_chart(
        generations=[row.generation for row in rows],
        titles=[row.title for row in rows],
        series={
            FIGURE_LABELS[f]: [row.figures.get(f) if row.figures else None for row in rows]
            for f in FIGURES
        },
    )
    if table:
        # One chart per table on the page: each its own data element.
        chart["json_id"] = f"{chart['json_id']}-{table}"
    return chart
