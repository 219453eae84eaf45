"""The distance search's reference side in pieces of the stored reference file
(``partitioned``'s pieces), so its ranges can run anywhere: in this process, or as Dask
tasks on other machines, while the audit's worker holds only the queries.

The worker encodes its sampled synthetic and holdout records (the queries) as
``encoding.encode_for_distance`` does, and sends them with a ``SearchLayout``: each
categorical column's categories in code order and each numeric column's reference range,
which is everything the encoding of a reference row depends on. A task reads its pieces
one at a time (``partitioned`` reads the values as the worker's reader does, with each
column's kind decided over the whole file), encodes each piece as
``encoding.encode_rows`` encodes the same rows (the same codes, the same float32
coordinates), and searches the pieces in order with each query's k best carried from
piece to piece (``neighbours.nearest_in_parts``). Each task's distances are exact, so
the k best of the tasks' k best are the k best of the whole reference
(``neighbours.merge_exact``): the same distances as the search in the worker.

Distances only, no rows: a piece of a CSV file does not know the number of its first
row, and the figures that use this search read distances alone.

Nothing here imports Django: a Dask worker needs only this package on its path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from itertools import pairwise

import numpy as np

from audits.checks import partitioned
from audits.checks.base import ColumnSpec
from audits.checks.encoding import (
    EncodedTable,
    SearchLayout,
    put_coordinates,
)
from audits.checks.neighbours import (
    REFERENCE_CHUNK_ROWS,
    Neighbours,
    Searches,
    _brute_force,
    merge_exact,
    nearest_in_parts,
)

PART_ROWS = REFERENCE_CHUNK_ROWS
"""Encoded reference rows a task searches at once (consecutive pieces joined): the
ranges the search in the worker takes, so a Dask worker's memory for the search is the
worker's own for one range."""


def encode_piece(
    piece: partitioned.Piece,
    specs: Sequence[ColumnSpec],
    kinds: dict[str, partitioned.ColumnKind],
    layout: SearchLayout,
) -> EncodedTable:
    """The piece's rows encoded as ``encoding.encode_rows`` encodes them in the worker.
    A value the layout does not know (the file changed after the worker read it) is an
    error, never a silent mismatch."""
    by_name = {s.name: s for s in specs}
    raw = partitioned.read_raw(piece, list(layout.names))
    markers = piece.source.missing_markers
    n = len(next(iter(raw.values()))) if raw else 0
    codes = np.empty((n, len(layout.categorical)), dtype=layout.code_dtype, order="F")
    for j, (name, categories) in enumerate(zip(layout.categorical, layout.categories, strict=True)):
        codes[:, j] = partitioned.piece_codes(
            by_name[name], raw.pop(name), kinds[name], markers, categories
        )
    numbers = np.empty((n, 2 * len(layout.numeric)), dtype=np.float32, order="F")
    for j, (name, (low, high)) in enumerate(zip(layout.numeric, layout.ranges, strict=True)):
        values = partitioned.piece_values(by_name[name], raw.pop(name), kinds[name], markers)
        put_coordinates(numbers, j, np.asarray(values), low, high)
    return EncodedTable(codes, numbers)


def search_pieces(
    pieces: Sequence[partitioned.Piece],
    specs: Sequence[ColumnSpec],
    kinds: dict[str, partitioned.ColumnKind],
    layout: SearchLayout,
    searches: Searches,
    bound: list[Neighbours] | None = None,
    part_rows: int = PART_ROWS,
) -> list[Neighbours]:
    """Every query's k best among the rows of ``pieces`` (consecutive, read and encoded
    one at a time, searched in parts of up to ``part_rows`` rows with the best carried
    from part to part). Exact; ``index`` not kept.
    Fewer rows than k in all: the places no row fills hold ``inf``.

    ``bound``: each query's exact k best among other rows of the reference (the first
    piece's, ``search``), where the search starts: it then closes each query as soon as
    these pieces cannot beat them, instead of finding their own k best from scratch.
    The result then holds these pieces' share of the k best of both
    (``_without``): merged with ``bound`` and the other runs', the whole reference's."""
    k_most = max(k for _, k in searches)
    tables = (encode_piece(piece, specs, kinds, layout) for piece in pieces)
    first = next(tables, None)
    held = [] if first is None else [first]
    # Each part the search gets holds at least k rows: a piece of fewer rows joins the
    # part before it (or, at the start, the pieces after it).
    while held and _rows(held) < k_most:
        more = next(tables, None)
        if more is None:
            return _few(searches, _joined(held))
        held.append(more)

    def parts() -> Iterator[tuple[int, EncodedTable]]:
        # Consecutive pieces joined up to ``part_rows`` rows: each search of a part
        # repeats the queries' side of the work, so fewer, larger parts cost less (the
        # encoded rows are small: a piece's raw values are read and dropped one piece at
        # a time).
        nonlocal held
        at = 0
        for table in tables:
            if len(table) < k_most or _rows(held) + len(table) <= part_rows:
                held.append(table)
                continue
            part = _joined(held)
            held = [table]
            yield at, part
            at += len(part)
            del part
        yield at, _joined(held)

    found = nearest_in_parts(searches, parts(), carried=bound)
    if bound is None:
        return found
    return [_without(f, b) for f, b in zip(found, bound, strict=True)]


def _without(found: Neighbours, bound: Neighbours) -> Neighbours:
    """Each query's k best of (``bound``'s and these rows') without ``bound``'s own: the
    multiset difference of the two sorted rows of distances, ``inf`` in the places
    freed. Merged again with ``bound`` (``neighbours.merge_exact``) it gives ``found``
    back, and merged with other runs' shares the k best of all (for every distance d,
    each share holds every one of its rows' distances up to d unless ``found`` already
    holds k distances up to d, in which case so does the merge)."""
    dist = found.dist
    n, k = dist.shape
    taken = np.zeros(dist.shape, dtype=bool)
    rows = np.arange(n)
    for j in range(k):
        match = (dist == bound.dist[:, j, None]) & ~taken
        has = match.any(axis=1)
        taken[rows[has], match.argmax(axis=1)[has]] = True
    own = np.sort(np.where(taken, np.inf, dist), axis=1)
    return Neighbours(own, own[:, -1].copy(), found.exact.copy(), found.pairs_evaluated)


def _rows(tables: list[EncodedTable]) -> int:
    return sum(len(t) for t in tables)


def _joined(tables: list[EncodedTable]) -> EncodedTable:
    if len(tables) == 1:
        return tables[0]
    return EncodedTable(
        np.asfortranarray(np.concatenate([t.codes for t in tables])),
        np.asfortranarray(np.concatenate([t.numbers for t in tables])),
    )


def _few(searches: Searches, table: EncodedTable) -> list[Neighbours]:
    """The searches over fewer reference rows than k: every row by the search's own
    brute force, the places no row fills ``inf``."""
    found = []
    for query, k in searches:
        dist = np.full((len(query), k), np.inf)
        if len(table):
            near = _brute_force(query, table, np.arange(len(query)), k=len(table), into=None)
            dist[:, : len(table)] = near.dist
        exact = np.ones(len(query), dtype=bool)
        found.append(Neighbours(dist, dist[:, -1].copy(), exact, len(query) * len(table)))
    return found


# --- Running the tasks ---------------------------------------------------------------


def tasks(pieces: Sequence[partitioned.Piece], count: int) -> list[tuple[partitioned.Piece, ...]]:
    """``pieces`` in ``count`` runs of consecutive pieces (about equal numbers each): a
    task searches its run with the best carried from piece to piece, which costs less
    than searching every piece from scratch, and the runs go to the workers at once."""
    count = max(1, min(count, len(pieces)))
    edges = [len(pieces) * i // count for i in range(count + 1)]
    return [tuple(pieces[a:b]) for a, b in pairwise(edges) if b > a]


def search(
    executor: partitioned.Executor,
    source: partitioned.Source,
    specs: Sequence[ColumnSpec],
    kinds: dict[str, partitioned.ColumnKind],
    layout: SearchLayout,
    searches: Searches,
    *,
    rows_per_piece: int = partitioned.PIECE_ROWS,
    task_count: int = 1,
    part_rows: int = PART_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> list[Neighbours]:
    """``neighbours.nearest_several(searches, reference)`` (exact distances, no rows)
    with the reference read from its stored file ``source`` in pieces of about
    ``rows_per_piece`` rows, through ``executor``: the first piece alone, then the
    others in ``task_count`` runs that start from its k best (``search_pieces``'s
    ``bound``: searched from scratch, each run would repeat most of the queries' work),
    merged as they finish. A task searches up to ``part_rows`` rows at once.
    ``progress(done, total)`` is called after each task."""
    pieces = partitioned.plan(source, "real", rows_per_piece)
    runs = tasks(pieces[1:], task_count)
    total = 1 + len(runs)
    report = progress or (lambda done, total: None)
    # The queries (several MB) go to the workers once, not with every task.
    shared = executor.share(searches)
    first_call = [((pieces[0],), tuple(specs), kinds, layout, shared, None, part_rows)]
    with closing(executor.map(search_pieces, first_call, "search-first")) as results:
        (merged,) = list(results)
    report(1, total)
    bound = executor.share(merged)
    calls = [(run, tuple(specs), kinds, layout, shared, bound, part_rows) for run in runs]
    with closing(executor.map(search_pieces, calls, "search")) as results:
        for done, found in enumerate(results, start=2):
            merged = [merge_exact(a, b) for a, b in zip(merged, found, strict=True)]
            report(done, total)
    return merged
