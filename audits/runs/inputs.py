"""What an audit run reads besides its chosen files: the audited version's nearest real
ancestor, the input of the collapse checks.

``collapse_lineage`` walks a version's lineage as a system process (any version's; the
version page's collapse panel uses it too, so both agree on the chain).
``real_ancestor_load`` finds the nearest real ancestor and, only when the audited
version's organisation may read it (open, or its own: ``readable_by_organisation``),
loads it and verifies its stored file against the hash recorded at upload; the plain
layer (``audits.checks.collapse``) computes the ``collapse.*`` figures from it. Another
organisation's restricted ancestor is never read: the figures are skipped with
``RESTRICTED_ANCESTOR``, since the requester chose the other operand and could invert
them. Nothing stored names the ancestor: skip reasons are generic and details hold only
version ids, which pages and API withhold from readers who may not see them
(``audits.runs.disclosure``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from audits.checks import RealAncestor
from registry import ingest
from registry.lineage.graph import (
    GENERATION_RELATIONS,
    RESTRICTED_LABEL,
    SAME_GENERATION_RELATIONS,
    LineageNode,
    generation_depths,
)
from registry.lineage.graph import LineageEdge as GraphEdge
from registry.models import DatasetKind, DatasetVersion, LineageEdge
from registry.services import stored_file, stored_sha256, version_table_info

# No real lineage is this deep; the bound only stops a walk through corrupt data.
MAX_GENERATIONS = 50
REAL_DATA = "real data is its own reference: collapse is measured on synthetic versions"
NO_REAL_ANCESTOR = (
    "the lineage reaches no real version; declare what this version was generated from"
)
ANCESTOR_MISSING = "the real ancestor's stored file is missing from storage"
ANCESTOR_ALTERED = "the real ancestor's stored file no longer matches the hash recorded at upload"
ANCESTOR_UNREADABLE = "the real ancestor's stored file could not be read as a table"
ANCESTOR_RELATIONAL = (
    "the nearest real ancestor holds several linked tables; collapse figures compare one "
    "table with one table for now"
)
RESTRICTED_ANCESTOR = (
    "the nearest real ancestor is restricted: collapse figures are computed only against "
    "data the requesting organisation may read"
)


@dataclass(frozen=True)
class CollapseLineage:
    """``chain`` runs from the nearest real ancestor (first) to the version (last), one
    version per synthetic generation, plus any watermarked copy on the way (which keeps
    its source's generation); ``generations`` gives each one's generation, and
    ``depth`` is the version's."""

    chain: list[int]
    generations: list[int]

    @property
    def depth(self) -> int:
        return self.generations[-1]

    @property
    def ancestor_id(self) -> int:
        return self.chain[0]


def collapse_lineage(version: DatasetVersion) -> CollapseLineage | None:
    """The shortest chain of generations from a real version to ``version``, or None
    when its lineage reaches no real version. Among equally near real ancestors the
    chain takes the lowest version ids, so every version on it yields the same chain.
    One query per generation."""
    kinds = {version.pk: version.dataset.kind}
    created = {version.pk: version.created}
    edges: list[GraphEdge] = []
    frontier = {version.pk} if version.dataset.kind != DatasetKind.REAL else set()
    for _ in range(MAX_GENERATIONS):
        if not frontier:
            break
        rows = LineageEdge.objects.filter(
            child_id__in=frontier, relation__in=GENERATION_RELATIONS
        ).values_list(
            "parent_id", "child_id", "relation", "parent__dataset__kind", "parent__created"
        )
        found: set[int] = set()
        for parent_id, child_id, relation, kind, made in rows:
            edges.append(GraphEdge(parent_id=parent_id, child_id=child_id, relation=relation))
            if parent_id not in kinds:
                kinds[parent_id], created[parent_id] = kind, made
                found.add(parent_id)
        if any(kinds[pk] == DatasetKind.REAL for pk in found):
            break  # the nearest real ancestor is this many generations up
        frontier = found
    nodes = [_anonymous_node(pk, kind, created[pk]) for pk, kind in kinds.items()]
    depths = generation_depths(nodes, edges)
    if version.pk not in depths:
        return None
    chain = [version.pk]
    while depths[chain[-1]] > 0:
        current = chain[-1]
        chain.append(
            min(
                e.parent_id
                for e in edges
                if e.child_id == current
                and depths.get(e.parent_id)
                == depths[current] - (0 if e.relation in SAME_GENERATION_RELATIONS else 1)
            )
        )
    chain.reverse()
    return CollapseLineage(chain, [depths[pk] for pk in chain])


def _anonymous_node(pk: int, kind: str, created: Any) -> LineageNode:
    # generation_depths reads only ids and kinds.
    return LineageNode(
        id=pk,
        label=RESTRICTED_LABEL,
        dataset_id=0,
        dataset_name="",
        version_number=0,
        kind=kind,
        organisation="",
        sha256="",
        created=created,
        url="",
        visible=False,
    )


def real_ancestor_load(*, version: DatasetVersion, loaded: dict[int, pd.DataFrame]) -> RealAncestor:
    """The collapse input of an audit of ``version``: its nearest real ancestor's data,
    or why collapse is not measured. ``loaded`` maps version ids to frames already read
    and verified (the audit's reference), so a reference that is also the ancestor is not
    read twice."""
    if version.dataset.kind == DatasetKind.REAL:
        return RealAncestor.not_measured(REAL_DATA, generation_depth=0)
    lineage = collapse_lineage(version)
    if lineage is None:
        return RealAncestor.not_measured(NO_REAL_ANCESTOR, generation_depth=None)
    readable = DatasetVersion.objects.readable_by_organisation(version.dataset.organisation)
    if not readable.filter(pk=lineage.ancestor_id).exists():
        # The requester chose the synthetic operand and could invert any figure computed
        # against the ancestor (a variance ratio gives the real variance): compute none.
        return RealAncestor.not_measured(RESTRICTED_ANCESTOR, generation_depth=lineage.depth)
    if lineage.ancestor_id in loaded:
        real = loaded[lineage.ancestor_id]
    else:
        real = _read_ancestor(DatasetVersion.objects.get(pk=lineage.ancestor_id))
        if isinstance(real, str):
            return RealAncestor.not_measured(real, generation_depth=lineage.depth)
    return RealAncestor.measured(
        real,
        generation_depth=lineage.depth,
        details={"ancestor_version": lineage.ancestor_id, "chain": lineage.chain},
    )


def _read_ancestor(version: DatasetVersion) -> pd.DataFrame | str:
    """The ancestor's data, or the reason it cannot be used. A missing, altered or
    unreadable ancestor leaves the collapse figures skipped rather than failing the
    whole audit: the curator did not choose it, the lineage did. Other storage errors
    propagate for the task to retry. Read as the audit reads its reference
    (``audits.runs.services._load``): a Parquet file's text columns as pandas
    ``category``, the same figures as when the ancestor is the reference."""
    if version.is_relational:
        return ANCESTOR_RELATIONAL
    found = stored_sha256(version)
    if found is None:
        return ANCESTOR_MISSING
    if found != version.sha256:
        return ANCESTOR_ALTERED
    try:
        with stored_file(version) as path:
            # As every other Parquet input of an audit: text columns as pandas category.
            return ingest.read_frame(path, version_table_info(version), categories=True)
    except (ValueError, UnicodeDecodeError):
        return ANCESTOR_UNREADABLE
