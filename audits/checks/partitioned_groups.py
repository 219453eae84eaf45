"""The fairness step's every-row work in pieces of the stored files (``partitioned``'s
pieces), so it can run anywhere: in this process, or as Dask tasks on other machines.

The step needs, for each grouping (each protected attribute, and intersections of pairs),
the rows of each group and their favourable outcomes in the reference and the synthetic
data (its representation and outcome-rate tables), and the rows of a seeded sample of each
large enough group (its per-group fidelity). The worker decides what gives a row its groups
(``fairness.GroupLayout``: each attribute's categories in code order or its quintile
edges, the favourable target value), and two rounds over the pieces do the rest:

1. ``piece_counts``: each piece's rows, and for each grouping its rows per group and the
   favourable outcomes among them. Added over pieces (in the pieces' order, so the worker
   also knows how many rows of each group come before each piece), they are the counts
   the step computes from the prepared columns.
2. ``piece_rows``: the fidelity sample is the group's rows in order, at the positions
   ``base.seeded_rows`` picks; the worker turns the picked positions into each piece's
   own (a position minus the group's rows in the pieces before it), and each piece gives
   the rows at those positions of its own group rows. Numbered from the piece's first row
   (the pieces' rows added up before it), they are the same rows.

Each piece reads its values as the worker's reader does (``partitioned``, with each
column's kind decided over the whole file), and gives each value the prepared column's
code (categories looked up in the worker's order) or number, so its groups are the ones
``fairness.Attribute.codes`` gives the prepared columns.

Nothing here imports Django: a Dask worker needs only this package on its path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass

import numpy as np

from audits.checks import fairness, partitioned
from audits.checks.base import ColumnSpec, seeded_rows
from audits.checks.encoding import factorise
from audits.checks.fairness import fidelity_groups
from audits.checks.groups import (
    Attribute,
    GroupCounts,
    GroupLayout,
    GroupRows,
    intersection_codes,
)


def _groups_and_outcome(
    piece: partitioned.Piece,
    specs: Sequence[ColumnSpec],
    kinds: dict[str, partitioned.ColumnKind],
    layout: GroupLayout,
) -> tuple[int, list[np.ndarray], np.ndarray | None]:
    """(the piece's rows, each grouping's group of every row, each row's favourable
    outcome or None), groupings in ``GroupLayout.groupings`` order."""
    by_name = {s.name: s for s in specs}
    names = [a.name for a in layout.attributes]
    if layout.target is not None and layout.target not in names:
        names.append(layout.target)
    raw = partitioned.read_raw(piece, names)
    markers = piece.source.missing_markers
    n = len(next(iter(raw.values()))) if raw else 0
    singles = []
    for attr in layout.attributes:
        values = _prepared(by_name[attr.name], raw[attr.name], kinds[attr.name], markers, attr)
        singles.append(attr.codes(values))
    outcome = None
    if layout.target is not None:
        spec = by_name[layout.target]
        if layout.positive is None:  # a 0/1 number, favourable when 1
            outcome = partitioned.piece_values(spec, raw[layout.target], kinds[spec.name], markers)
            outcome = np.asarray(outcome) == 1
        else:  # factorised first, as the worker prepares a column
            series = partitioned.piece_series(raw[layout.target], kinds[spec.name], markers)
            row_codes, strings = factorise(series, whole=kinds[spec.name].whole)
            favourable = (strings == layout.positive).to_numpy(dtype=bool)
            outcome = np.append(favourable, False)[row_codes]  # -1: missing
    del raw
    groupings = list(singles)
    sizes = _sizes(layout)
    for (a, b), size in zip(layout.pairs, sizes[len(singles) :], strict=True):
        groupings.append(intersection_codes(singles[a], singles[b], sizes[b], size))
    return n, groupings, outcome


def _prepared(spec: ColumnSpec, raw, kind, markers, attr: Attribute) -> np.ndarray:
    if attr.categories is not None:
        return partitioned.piece_codes(spec, raw, kind, markers, attr.categories)
    return np.asarray(partitioned.piece_values(spec, raw, kind, markers), dtype=np.float64)


def _sizes(layout: GroupLayout) -> list[int]:
    """Each grouping's number of groups (labels), in ``GroupLayout.groupings`` order."""
    return [len(labels) for _, labels in layout.groupings()]


def piece_counts(
    piece: partitioned.Piece,
    specs: Sequence[ColumnSpec],
    kinds: dict[str, partitioned.ColumnKind],
    layout: GroupLayout,
) -> tuple[int, list[np.ndarray], list[np.ndarray] | None]:
    """Round 1: (the piece's rows, each grouping's rows per group, each grouping's
    favourable outcomes per group or None)."""
    n, groupings, outcome = _groups_and_outcome(piece, specs, kinds, layout)
    sizes = _sizes(layout)
    counts = [np.bincount(g, minlength=m) for g, m in zip(groupings, sizes, strict=True)]
    positives = None
    if outcome is not None:
        positives = [
            np.bincount(g, weights=outcome, minlength=m)
            for g, m in zip(groupings, sizes, strict=True)
        ]
    return n, counts, positives


def piece_rows(
    piece: partitioned.Piece,
    specs: Sequence[ColumnSpec],
    kinds: dict[str, partitioned.ColumnKind],
    layout: GroupLayout,
    wanted: dict[tuple[int, int], np.ndarray],
) -> dict[tuple[int, int], np.ndarray]:
    """Round 2: for each (grouping, group) asked for, the piece's rows (numbered from its
    first) at these positions among the piece's rows of that group."""
    _, groupings, _ = _groups_and_outcome(piece, specs, kinds, layout)
    return {
        (g, group): np.flatnonzero(groupings[g] == group)[positions]
        for (g, group), positions in wanted.items()
    }


@dataclass
class _Frame:
    """One frame's pieces and what round 1 said of each (in the pieces' order)."""

    pieces: list[partitioned.Piece]
    rows: list[int]
    counts: list[list[np.ndarray]]
    positives: list[list[np.ndarray] | None]

    def total(self, g: int) -> np.ndarray:
        return np.sum([c[g] for c in self.counts], axis=0)

    def total_positives(self, g: int) -> np.ndarray | None:
        if any(p is None for p in self.positives):
            return None
        return np.sum([p[g] for p in self.positives], axis=0)


def count(
    executor: partitioned.Executor,
    sources: dict[str, partitioned.Source],
    specs: Sequence[ColumnSpec],
    kinds: dict[str, dict[str, partitioned.ColumnKind]],
    layout: GroupLayout,
    *,
    rows_per_piece: int = partitioned.PIECE_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[GroupCounts, GroupRows]]:
    """Each grouping's ``GroupCounts`` and the rows of its fidelity samples, from the
    stored reference ("real") and synthetic files in pieces of about ``rows_per_piece``
    rows, through ``executor`` (two rounds, each reading every piece once at most). The
    same as ``fairness`` computes from the prepared columns. ``progress(done, total)``
    is called after each piece of each round."""
    report = progress or (lambda done, total: None)
    frames = {
        frame: _Frame(partitioned.plan(sources[frame], frame, rows_per_piece), [], [], [])
        for frame in ("real", "synthetic")
    }
    everything = [(frame, i, p) for frame, f in frames.items() for i, p in enumerate(f.pieces)]
    total, done = 2 * len(everything), 0
    found: dict[tuple[str, int], tuple] = {}
    calls = [(frame, i, p, tuple(specs), kinds[frame], layout) for frame, i, p in everything]
    with closing(executor.map(_counts_call, calls, "groups")) as results:
        for frame, i, result in results:
            found[(frame, i)] = result
            done += 1
            report(done, total)
    for frame, f in frames.items():
        for i in range(len(f.pieces)):
            rows, counts, positives = found.pop((frame, i))
            f.rows.append(rows)
            f.counts.append(counts)
            f.positives.append(positives)
    real, synthetic = frames["real"], frames["synthetic"]
    merged = [
        GroupCounts(
            name,
            labels,
            real.total(g),
            synthetic.total(g),
            real.total_positives(g),
            synthetic.total_positives(g),
        )
        for g, (name, labels) in enumerate(layout.groupings())
    ]
    # Round 2: the fidelity samples' positions, per piece.
    wanted: dict[tuple[str, int], dict[tuple[int, int], np.ndarray]] = {}
    for g, counts in enumerate(merged):
        for group in fidelity_groups(counts, layout.min_group_count):
            for frame, f in frames.items():
                in_pieces = np.array([c[g][group] for c in f.counts], dtype=np.int64)
                before = np.concatenate([[0], np.cumsum(in_pieces)])
                picked = seeded_rows(
                    int(before[-1]),
                    fairness.FIDELITY_ROWS_PER_GROUP,
                    layout.seed,
                    f"fidelity.{frame}.{group}",
                )
                piece_of = np.searchsorted(before, picked, side="right") - 1
                for i in np.unique(piece_of):
                    positions = picked[piece_of == i] - before[i]
                    wanted.setdefault((frame, int(i)), {})[(g, int(group))] = positions
    calls = [
        (frame, i, frames[frame].pieces[i], tuple(specs), kinds[frame], layout, asked)
        for (frame, i), asked in sorted(wanted.items())
    ]
    starts = {frame: np.concatenate([[0], np.cumsum(f.rows)]) for frame, f in frames.items()}
    rows: dict[tuple[int, str, int], list[tuple[int, np.ndarray]]] = {}
    total = done + len(calls)
    with closing(executor.map(_rows_call, calls, "group-rows")) as results:
        for frame, i, result in results:
            for (g, group), local in result.items():
                rows.setdefault((g, frame, group), []).append(
                    (i, local.astype(np.int64) + starts[frame][i])
                )
            done += 1
            report(done, total)
    out = []
    for g, counts in enumerate(merged):

        def group_rows(group: int, frame: str, g: int = g) -> np.ndarray:
            parts = sorted(rows.get((g, frame, group), []), key=lambda part: part[0])
            if not parts:
                return np.zeros(0, dtype=np.int64)
            return np.concatenate([r for _, r in parts])

        out.append((counts, group_rows))
    return out


def _counts_call(frame, index, piece, specs, kinds, layout):
    return frame, index, piece_counts(piece, specs, kinds, layout)


def _rows_call(frame, index, piece, specs, kinds, layout, wanted):
    return frame, index, piece_rows(piece, specs, kinds, layout, wanted)
