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

``StoredCopies`` makes an audit read each stored input once: on object storage the
SHA-256 is computed while the object is copied to a temporary file, and the readers
parse that copy (the very bytes that were verified), instead of hashing one download
and parsing a second. On local storage the stored file is hashed and read in place.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from audits.checks import RealAncestor
from audits.checks.sources import FileSource
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
from registry.services import stored_sha256, version_table_info
from synthgov.storage import is_local, local_copy, stored_hash, temporary_copy

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


class StoredCopies:
    """Stored files hashed once and parsed from the bytes that were hashed.

    ``sha256(name)`` hashes the stored file ``name`` (FileNotFoundError when it is
    gone). On object storage it streams the object into a temporary file in
    ``FILE_UPLOAD_TEMP_DIR`` while hashing (``COPY_CHUNK_BYTES`` held at a time), and
    ``path(name)`` then yields that copy and removes it afterwards: one download per
    input (``kept(name)`` keeps it until ``close``, for a table read column by column
    through the audit). On local storage nothing is copied: the file is hashed and read
    in place.
    A name asked for twice (the same bytes as two inputs) is hashed once; its copy is
    kept until ``close``. ``close`` removes every copy not yet read (an input that
    failed its check is never parsed)."""

    def __init__(self) -> None:
        self._local = is_local()
        self._hashes: dict[str, str] = {}
        self._copies: dict[str, Path] = {}
        self._wanted: dict[str, int] = {}
        self._kept: set[str] = set()
        self._open = contextlib.ExitStack()

    def sha256(self, name: str) -> str:
        self._wanted[name] = self._wanted.get(name, 0) + 1
        if name in self._hashes:
            return self._hashes[name]
        if self._local:
            self._hashes[name] = stored_hash(name)
            return self._hashes[name]
        digest = hashlib.sha256()
        self._copies[name] = temporary_copy(name, digest)
        self._hashes[name] = digest.hexdigest()
        return self._hashes[name]

    @contextlib.contextmanager
    def path(self, name: str) -> Iterator[Path]:
        """A path to the stored file ``name``: the copy made while hashing it (removed
        after the last reader that hashed it), else as ``synthgov.storage.local_copy``."""
        copy = self._copies.get(name)
        if copy is None:
            with local_copy(name) as path:
                yield path
            return
        try:
            yield copy
        finally:
            self._wanted[name] -= 1
            if self._wanted[name] <= 0 and name not in self._kept:
                self._copies.pop(name)
                copy.unlink(missing_ok=True)

    def kept(self, name: str) -> Path:
        """A path to the stored file ``name`` that stays readable until ``close``, for
        readers that read it in parts during the whole audit (``sources.FileSource``):
        the copy made while hashing it (kept until ``close``), else as
        ``synthgov.storage.local_copy`` (the stored file itself on local storage, a
        temporary copy removed by ``close`` on object storage). FileNotFoundError when
        the file is gone."""
        copy = self._copies.get(name)
        if copy is not None:
            self._kept.add(name)
            return copy
        return self._open.enter_context(local_copy(name))

    def version_sha256(self, version: DatasetVersion) -> str | None:
        """``registry.services.stored_sha256`` through these copies."""
        return stored_sha256(version, hash_file=self.sha256)

    def close(self) -> None:
        for copy in self._copies.values():
            copy.unlink(missing_ok=True)
        self._copies.clear()
        self._kept.clear()
        self._open.close()

    def __enter__(self) -> StoredCopies:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


def real_ancestor_load(
    *,
    version: DatasetVersion,
    loaded: dict[int, pd.DataFrame],
    copies: StoredCopies | None = None,
) -> RealAncestor:
    """The collapse input of an audit of ``version``: its nearest real ancestor's data,
    or why collapse is not measured. ``loaded`` maps version ids to frames already read
    and verified (the audit's reference), so a reference that is also the ancestor is not
    read twice. ``copies`` (the audit's) hashes and reads the ancestor's file once."""
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
        ancestor = DatasetVersion.objects.get(pk=lineage.ancestor_id)
        if copies is None:
            with StoredCopies() as own:
                real = _read_ancestor(ancestor, own)
        else:
            real = _read_ancestor(ancestor, copies, lazily=True)
        if isinstance(real, str):
            return RealAncestor.not_measured(real, generation_depth=lineage.depth)
    return RealAncestor.measured(
        real,
        generation_depth=lineage.depth,
        details={"ancestor_version": lineage.ancestor_id, "chain": lineage.chain},
    )


def _read_ancestor(
    version: DatasetVersion, copies: StoredCopies, *, lazily: bool = False
) -> pd.DataFrame | FileSource | str:
    """The ancestor's data, or the reason it cannot be used. A missing, altered or
    unreadable ancestor leaves the collapse figures skipped rather than failing the
    whole audit: the curator did not choose it, the lineage did. Other storage errors
    propagate for the task to retry. Read as the audit reads its reference
    (``audits.runs.services._source``): a Parquet file's text columns as pandas
    ``category``, the same figures as when the ancestor is the reference.

    ``lazily`` (the audit's own ``copies``, open until the run ends): a Parquet file
    is a ``FileSource`` the collapse figures read one column at a time, once its footer
    reads (a file that is not Parquet is unreadable now; one whose pages fail to
    decode later fails the audit, though a file matching the hash recorded when it
    was validated at upload cannot)."""
    if version.is_relational:
        return ANCESTOR_RELATIONAL
    found = copies.version_sha256(version)
    if found is None:
        return ANCESTOR_MISSING
    if found != version.sha256:
        return ANCESTOR_ALTERED
    info = version_table_info(version)
    if lazily and info.format == ingest.TableFormat.PARQUET:
        path = copies.kept(version.file.name)
        try:
            pq.ParquetFile(path).close()
        except (ValueError, OSError):
            return ANCESTOR_UNREADABLE
        return FileSource(path, info, label=f"real ancestor ({version})")
    try:
        with copies.path(version.file.name) as path:
            # As every other Parquet input of an audit: text columns as pandas category.
            return ingest.read_frame(path, version_table_info(version), categories=True)
    except (ValueError, UnicodeDecodeError):
        return ANCESTOR_UNREADABLE
