"""Row-hash figures from mergeable partial states.

The duplicate, exact-copy and linkage figures need only, per frame, how often each row
(or quasi-identifier combination) occurs. That is a mergeable state: ``partial(hashes)``
counts one piece's row hashes, ``merge(a, b)`` adds two states, and the ``finish``
functions give the figures. The state is split into ``2**bits`` partitions by the top
bits of the hash, so partitions can be merged (and computed on different workers)
independently and no single sorted array holds every row. Counts are exact; the only
approximation is the 64-bit hash itself (two different rows collide with chance 2**-64
per pair), as in the in-memory path.

The row hashes themselves come from one place: ``partitioned.piece_counts`` hashes each
piece of a stored file with the column kinds decided over the whole file, so values
compare as the in-memory audit compares them (``context.AuditContext.row_hash_counts``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audits.checks.hashcount import member_mask_sorted, sorted_counts

PARTITION_BITS = 4


@dataclass(frozen=True)
class HashCounts:
    """How often each distinct hash occurs, per partition (top ``bits`` bits of the
    hash): ``values[p]`` ascending, ``counts[p]`` alongside; ``rows`` counted in all."""

    values: tuple[np.ndarray, ...]
    counts: tuple[np.ndarray, ...]
    rows: int

    @property
    def bits(self) -> int:
        return len(self.values).bit_length() - 1

    @property
    def distinct(self) -> int:
        return sum(len(v) for v in self.values)


def partial(hashes: np.ndarray, bits: int = PARTITION_BITS) -> HashCounts:
    """The state of one batch of row hashes."""
    values, counts = sorted_counts(np.asarray(hashes, dtype=np.uint64))
    # Sorted values are already grouped by their top bits: cut at the boundaries.
    top = (values >> np.uint64(64 - bits)).astype(np.int64) if bits else np.zeros(len(values))
    cuts = np.searchsorted(top, np.arange(1, 2**bits), side="left")
    return HashCounts(tuple(np.split(values, cuts)), tuple(np.split(counts, cuts)), len(hashes))


def _merge_part(
    a_values: np.ndarray, a_counts: np.ndarray, b_values: np.ndarray, b_counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    values = np.concatenate([a_values, b_values])
    counts = np.concatenate([a_counts, b_counts])
    order = np.argsort(values, kind="stable")
    values, counts = values[order], counts[order]
    if len(values) == 0:
        return values, counts
    new = np.empty(len(values), dtype=bool)
    new[0] = True
    np.not_equal(values[1:], values[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    return values[starts], np.add.reduceat(counts, starts)


def merge(a: HashCounts, b: HashCounts) -> HashCounts:
    """The state of both batches' rows together (partition by partition)."""
    if a.bits != b.bits:
        raise ValueError("states with different partitions cannot be merged")
    merged = [
        _merge_part(av, ac, bv, bc)
        for av, ac, bv, bc in zip(a.values, a.counts, b.values, b.counts, strict=True)
    ]
    return HashCounts(tuple(v for v, _ in merged), tuple(c for _, c in merged), a.rows + b.rows)


def finish_duplicates(synthetic: HashCounts, real: HashCounts) -> tuple[int, float]:
    """(synthetic rows repeating an earlier synthetic row, the real data's rate), as
    ``integrity.duplicate_rate`` reports them."""
    real_rate = (real.rows - real.distinct) / max(real.rows, 1)
    return synthetic.rows - synthetic.distinct, real_rate


def finish_copies(synthetic: HashCounts, real: HashCounts) -> int:
    """Synthetic rows equal to some real row (``privacy.exact_match_rate``'s copies)."""
    copies = 0
    for s_values, s_counts, r_values in zip(
        synthetic.values, synthetic.counts, real.values, strict=True
    ):
        copies += int(s_counts[member_mask_sorted(s_values, r_values)].sum())
    return copies


def finish_linkage(synthetic: HashCounts, real: HashCounts) -> tuple[int, int, float]:
    """(synthetic rows whose quasi-identifier key is unique in the real data, distinct
    such keys, share of real rows with a unique key), as ``privacy.linkage_risk``."""
    linked = people = unique_real = 0
    for s_values, s_counts, r_values, r_counts in zip(
        synthetic.values, synthetic.counts, real.values, real.counts, strict=True
    ):
        unique = r_values[r_counts == 1]
        unique_real += len(unique)
        hit = member_mask_sorted(s_values, unique)
        linked += int(s_counts[hit].sum())
        people += int(hit.sum())
    return linked, people, unique_real / max(real.rows, 1)
