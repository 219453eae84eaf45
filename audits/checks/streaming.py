"""Row-hash figures from mergeable partial states over column batches.

The duplicate, exact-copy and linkage figures need only, per frame, how often each row
(or quasi-identifier combination) occurs. That is a mergeable state: ``partial(batch)``
counts one batch, ``merge(a, b)`` adds two states, and the ``finish`` functions give the
figures. The state is split into ``2**bits`` partitions by the top bits of the hash, so
partitions can be merged (and later computed on different workers) independently and no
single sorted array holds every row. Counts are exact; the only approximation is the
64-bit hash itself (two different rows collide with chance 2**-64 per pair), as in the
in-memory path.

Rows are hashed from their values alone (``batch_row_hashes``), so the hash of a row does
not depend on which batch or frame it is read in. Values compare as the in-memory checks
compare them (``encoding.category_strings``, ``encoding.numeric_values``), with one
difference: a categorical column holding numbers compares them value by value (1 and 1.0
agree), where the in-memory path normalises a whole column at once, so there a frame
whose column mixes whole and fractional numbers writes 1 as "1.0" and it then differs
from a frame that wrote "1".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from audits.checks.base import ColumnSpec
from audits.checks.encoding import category_strings, combine_hashes, numeric_values
from audits.checks.hashcount import member_mask_sorted, sorted_counts

PARTITION_BITS = 4
_MISSING_CATEGORY = np.uint64(0x7FF8000000000002)
_NAN_BITS = np.uint64(0x7FF8000000000001)


def hashed_columns(specs: Sequence[ColumnSpec]) -> list[ColumnSpec]:
    """The columns the row hash covers: what ``encoding.prepare`` keeps (identifiers are
    left out, free text is kept)."""
    return [s for s in specs if not (s.excluded_from_distances and s.type != "text")]


def _value_strings(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
        out = pd.Series(values, index=series.index).astype(str)
        out[whole] = values[whole].astype(np.int64).astype(str)
        return out.mask(pd.Series(np.isnan(values), index=series.index))
    return category_strings(series)


def batch_row_hashes(batch: pd.DataFrame, columns: Sequence[ColumnSpec]) -> np.ndarray:
    """A 64-bit hash of each row of ``batch`` over ``columns`` from the values alone."""
    parts = []
    for spec in columns:
        if spec.is_numeric:
            values = numeric_values(batch[spec.name], spec.type) + 0.0  # -0.0 is 0.0
            bits = values.view(np.uint64).copy()
            bits[np.isnan(values)] = _NAN_BITS
        else:
            strings = _value_strings(batch[spec.name])
            missing = strings.isna().to_numpy()
            bits = pd.util.hash_array(strings.fillna("").to_numpy(dtype=object))
            bits[missing] = _MISSING_CATEGORY
        parts.append(bits)
    return combine_hashes(parts, len(batch))


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


def count_batches(
    batches: Iterable[pd.DataFrame], columns: Sequence[ColumnSpec], bits: int = PARTITION_BITS
) -> HashCounts:
    """Fold ``partial`` and ``merge`` over batches of one frame."""
    state = partial(np.zeros(0, dtype=np.uint64), bits)
    for batch in batches:
        state = merge(state, partial(batch_row_hashes(batch, columns), bits))
    return state


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


def parquet_batches(
    path, columns: Sequence[str], batch_rows: int = 1_000_000
) -> Iterator[pd.DataFrame]:
    """The named columns of a Parquet file as pandas batches of up to ``batch_rows``."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as handle:
        for batch in handle.iter_batches(batch_size=batch_rows, columns=list(columns)):
            yield batch.to_pandas()
