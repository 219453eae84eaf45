"""Read-side queries for registry pages and the API."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import Count, Prefetch, QuerySet
from django.urls import reverse

from registry.ingest import ColumnSchema, schema_diff
from registry.lineage.graph import LineageEdge as GraphEdge
from registry.lineage.graph import LineageNode
from registry.models import Dataset, DatasetVersion, Generation, LineageEdge
from synthgov.accounts.permissions import DATASET_CHANGE, organisations_where


def datasets_for(user: Any) -> QuerySet[Dataset]:
    return (
        Dataset.objects.visible_to(user)
        .select_related("organisation")
        .prefetch_related("tags")
        .annotate(version_total=Count("versions", distinct=True))
        .order_by("name", "id")
    )


def organisations_user_can_register_for(user: Any):
    return organisations_where(user, DATASET_CHANGE)


def can_change(user: Any, dataset: Dataset) -> bool:
    return organisations_where(user, DATASET_CHANGE).filter(pk=dataset.organisation_id).exists()


# --- Lineage -------------------------------------------------------------

LINEAGE_LIMIT = 200  # nodes drawn around a dataset; beyond this the picture is unreadable


def lineage_component(version_ids: list[int]) -> tuple[set[int], list[tuple[int, int, str]]]:
    """Every version connected to ``version_ids`` through lineage, and the edges."""
    seen = set(version_ids)
    queue = deque(version_ids)
    edges: set[tuple[int, int, str]] = set()
    while queue and len(seen) < LINEAGE_LIMIT:
        batch = [queue.popleft() for _ in range(min(len(queue), 100))]
        rows = LineageEdge.objects.filter(child_id__in=batch) | LineageEdge.objects.filter(
            parent_id__in=batch
        )
        for parent_id, child_id, relation in rows.values_list("parent_id", "child_id", "relation"):
            edges.add((parent_id, child_id, relation))
            for pk in (parent_id, child_id):
                if pk not in seen:
                    seen.add(pk)
                    queue.append(pk)
    return seen, sorted(edges)


def lineage_of(version_ids: list[int]) -> tuple[set[int], list[tuple[int, int, str]]]:
    """``version_ids``, their ancestors and their descendants, and the edges
    between them: a dataset's own lineage. Unlike ``lineage_component`` it does
    not take in a sibling branch (another child of a shared parent) or a
    descendant's other parents, which are neither ancestors nor descendants."""
    ancestors = _walk(version_ids, upward=True)
    descendants = _walk(version_ids, upward=False)
    seen = set(version_ids) | ancestors | descendants
    rows = LineageEdge.objects.filter(child_id__in=seen, parent_id__in=seen)
    return seen, sorted(set(rows.values_list("parent_id", "child_id", "relation")))


def _walk(version_ids: list[int], *, upward: bool) -> set[int]:
    """Versions reachable from ``version_ids`` through parents (``upward``) or children."""
    seen: set[int] = set()
    frontier = set(version_ids)
    while frontier and len(seen) < LINEAGE_LIMIT:
        if upward:
            found = LineageEdge.objects.filter(child_id__in=frontier).values_list(
                "parent_id", flat=True
            )
        else:
            found = LineageEdge.objects.filter(parent_id__in=frontier).values_list(
                "child_id", flat=True
            )
        frontier = set(found) - seen - set(version_ids)
        seen |= frontier
    return seen


def lineage_graph(
    *,
    user: Any,
    version_ids: list[int],
    scope: Literal["component", "lineage"] = "component",
    readable: QuerySet[DatasetVersion] | None = None,
) -> tuple[list[LineageNode], list[GraphEdge]]:
    """Nodes and edges for the picture and exports; versions the user may not
    see become anonymous "restricted source" nodes. ``scope`` "component" takes
    every version connected to ``version_ids``; "lineage" only their ancestors
    and descendants (``lineage_of``). ``readable``, when given, replaces what
    ``user`` may see (the published versions, for a public document)."""
    walk = lineage_of if scope == "lineage" else lineage_component
    ids, raw_edges = walk(version_ids)
    shown = DatasetVersion.objects.visible_to(user) if readable is None else readable
    visible_ids = set(shown.filter(pk__in=ids).values_list("pk", flat=True))
    versions = (
        DatasetVersion.objects.filter(pk__in=ids)
        .select_related("dataset__organisation", "uploaded_by")
        .prefetch_related(Prefetch("generation", queryset=Generation.objects.all()), "tables")
    )
    nodes = [_node(v, v.pk in visible_ids) for v in versions]
    nodes.sort(key=lambda n: n.id)
    edges = [GraphEdge(parent_id=p, child_id=c, relation=r) for p, c, r in raw_edges]
    return nodes, edges


def _node(version: DatasetVersion, visible: bool) -> LineageNode:
    if not visible:
        return LineageNode(
            id=version.pk,
            label="restricted source",
            dataset_id=0,
            dataset_name="",
            version_number=0,
            kind=version.dataset.kind,
            organisation="",
            sha256="",
            created=version.created,
            url="",
            visible=False,
        )
    gen = getattr(version, "generation", None)
    return LineageNode(
        id=version.pk,
        label=str(version),
        dataset_id=version.dataset_id,
        dataset_name=version.dataset.name,
        version_number=version.number,
        kind=version.dataset.kind,
        organisation=version.dataset.organisation.name,
        sha256=version.sha256,
        created=version.created,
        url=reverse("registry:version", args=[version.pk]),
        visible=True,
        generator_type=gen.generator_type if gen else "",
        generator_library=gen.generator_library if gen else "",
        generator_version=gen.generator_version if gen else "",
        parameters=gen.parameters if gen else None,
        seed=gen.seed if gen else None,
        privacy_mechanism=gen.privacy_mechanism if gen else "",
        epsilon=gen.epsilon if gen else None,
        energy_kwh=gen.energy_kwh if gen else None,
        carbon_kg=gen.carbon_kg if gen else None,
        row_count=version.row_count,
        column_count=version.column_count,
        uploaded_by=version.uploaded_by.get_username(),
        tables=tuple((t.name, t.sha256, t.row_count) for t in version.tables.all())
        if version.is_relational
        else (),
    )


@dataclass
class ParentView:
    relation: str
    version: DatasetVersion | None  # None: the user may not see it

    @property
    def restricted(self) -> bool:
        return self.version is None


def parents_for(*, user: Any, version: DatasetVersion) -> list[ParentView]:
    visible = set(DatasetVersion.objects.visible_to(user).values_list("pk", flat=True))
    edges = version.parent_edges.select_related("parent__dataset").order_by("parent_id")
    return [
        ParentView(
            relation=edge.get_relation_display(),
            version=edge.parent if edge.parent_id in visible else None,
        )
        for edge in edges
    ]


def children_for(*, user: Any, version: DatasetVersion) -> list[ParentView]:
    visible = DatasetVersion.objects.visible_to(user)
    edges = version.child_edges.filter(child__in=visible).select_related("child__dataset")
    return [ParentView(relation=e.get_relation_display(), version=e.child) for e in edges]


def previous_version(version: DatasetVersion) -> DatasetVersion | None:
    return (
        DatasetVersion.objects.filter(dataset=version.dataset, number__lt=version.number)
        .order_by("-number")
        .first()
    )


def schema_changes(version: DatasetVersion) -> tuple[DatasetVersion | None, list[str]]:
    """What changed in the schema since the previous version, in plain sentences."""
    previous = previous_version(version)
    if previous is None:
        return None, []
    diff = schema_diff(
        [ColumnSchema.from_dict(c) for c in previous.schema],
        [ColumnSchema.from_dict(c) for c in version.schema],
    )
    return previous, diff.summary()


def parent_choices(*, user: Any, version: DatasetVersion) -> list[tuple[int, str]]:
    """Versions the user may declare as parents (visible, and not this one)."""
    versions = (
        DatasetVersion.objects.visible_to(user)
        .exclude(pk=version.pk)
        .select_related("dataset__organisation")
        .order_by("dataset__name", "-number")
    )
    return [
        (
            v.pk,
            f"{v.dataset.name} v{v.number} — {v.dataset.get_kind_display()}, "
            f"{v.dataset.organisation.name}",
        )
        for v in versions
    ]


def profile_rows(version: DatasetVersion) -> list[dict[str, Any]]:
    """Schema and profile side by side, with bar heights for the small charts."""
    profiles = {c["name"]: c for c in (version.profile or {}).get("columns", [])}
    rows = []
    for column in version.schema:
        profile = profiles.get(column["name"], {})
        rows.append(
            {
                **column,
                "role_label": column["role"].replace("_", "-"),
                "profile": profile,
                "bars": _bars(profile),
            }
        )
    return rows


SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def _bars(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """Bars for a column's small distribution chart, with their SVG geometry."""
    bars = _bar_heights(profile)
    step = SPARK_WIDTH / len(bars) if bars else 0
    for i, bar in enumerate(bars):
        height = max(1.0, bar["h"] * (SPARK_HEIGHT - 2))
        bar.update(
            x=round(i * step, 2),
            w=round(max(step - 1, 1), 2),
            y=round(SPARK_HEIGHT - height, 2),
            height=round(height, 2),
        )
    return bars


def _bar_heights(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """Up to 20 bars (height 0..1 relative to the tallest, label)."""
    hist = profile.get("histogram")
    if hist and hist.get("counts"):
        counts, edges = hist["counts"], hist.get("bin_edges") or []
        top = max(counts) or 1
        return [
            {
                "h": round(c / top, 3),
                "label": (
                    f"{_fmt(edges[i])} – {_fmt(edges[i + 1])}: {c}"
                    if len(edges) > i + 1
                    else str(c)
                ),
            }
            for i, c in enumerate(counts)
        ]
    top_values = profile.get("top") or []
    if top_values:
        counts = [t.get("count", 0) for t in top_values]
        peak = max(counts) or 1
        return [
            {
                "h": round(t.get("count", 0) / peak, 3),
                "label": f"{t.get('value')}: {t.get('count')}",
            }
            for t in top_values
        ]
    return []


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- Facts audits and standards read ---------------------------------------


@dataclass(frozen=True)
class VersionFacts:
    """What the registry records about a version that an audit's provenance checks
    and a standard's ``registry.*`` rules read: one reader for both."""

    licence: str
    kind: str
    access: str
    synthetic: bool
    datasheet_completeness: float
    generator_type: str | None
    generator_library: str | None
    privacy_mechanism: str | None
    epsilon: float | None
    compute_disclosed: bool
    watermarked: bool
    published_openly: bool


def version_facts(version: DatasetVersion) -> VersionFacts:
    dataset = version.dataset
    sheet = getattr(version, "datasheet", None)
    gen = Generation.objects.filter(version=version).first()
    return VersionFacts(
        licence=dataset.licence,
        kind=dataset.kind,
        access=dataset.access,
        synthetic=dataset.is_synthetic,
        datasheet_completeness=sheet.completeness if sheet else 0.0,
        # An unset field reads None, never "": a rule then finds it absent.
        generator_type=(gen.generator_type or None) if gen else None,
        generator_library=(gen.generator_library or None) if gen else None,
        privacy_mechanism=(gen.privacy_mechanism or None) if gen else None,
        epsilon=gen.epsilon if gen else None,
        compute_disclosed=bool(gen and (gen.energy_kwh is not None or gen.compute_description)),
        watermarked=bool(version.watermark_key_id),
        published_openly=version.published_at is not None,
    )
