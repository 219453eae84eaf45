"""The groups of the fairness checks as plain data: which attribute values make which
group (``Attribute``), every grouping of an audit (``GroupLayout``), and a grouping's
counts (``GroupCounts``). The fairness step (``fairness``) makes them from the prepared
columns; ``partitioned_groups`` from pieces of the stored files. Imports nothing of the
checks but ``encoding``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from audits.checks.encoding import MISSING_CODE, code_dtype


@dataclass(frozen=True)
class GroupCounts:
    """A grouping's rows per group in the real and synthetic data, and the favourable
    outcomes among them (None without an outcome): everything its table needs, counted
    here from a ``Grouping`` or merged from pieces of the stored files
    (``partitioned_groups``)."""

    name: str
    labels: list[str]
    n_real: np.ndarray
    n_synthetic: np.ndarray
    positive_real: np.ndarray | None = None
    positive_synthetic: np.ndarray | None = None


GroupRows = Callable[[int, str], np.ndarray]
"""(group index, "real" or "synthetic") -> the rows of the seeded fidelity sample of that
group in that frame (``fidelity_rows``)."""


@dataclass(frozen=True)
class Attribute:
    """A protected attribute as groups: a category column's groups are its categories
    in code order, then (missing); a numeric column's are bins cut at ``inner`` (the
    real data's quintiles), then (missing)."""

    name: str
    labels: tuple[str, ...]
    categories: tuple[str, ...] | None = None
    inner: tuple[float, ...] | None = None

    def codes(self, values: np.ndarray) -> np.ndarray:
        """Each row's group: ``values`` are the prepared column's (category codes, with
        ``MISSING_CODE``; or numbers, with NaN)."""
        if self.categories is not None:
            missing = len(self.categories)
            return group_codes(np.where(values == MISSING_CODE, missing, values), self.labels)
        inner = np.asarray(self.inner, dtype=np.float64)
        out = np.searchsorted(inner, values, side="right")
        return group_codes(np.where(np.isnan(values), len(inner) + 1, out), self.labels)


@dataclass(frozen=True)
class GroupLayout:
    """Everything that decides each row's groups and outcome, for computing a fairness
    step's counts and fidelity rows elsewhere (``partitioned_groups``): the protected
    attributes, the pairs intersected (indices into ``attributes``), the target and its
    favourable value (a category's string; None: a 0/1 number, favourable when 1; no
    ``target``: no outcome), and the fidelity sample's seed and group minimum."""

    attributes: tuple[Attribute, ...]
    pairs: tuple[tuple[int, int], ...]
    target: str | None
    positive: str | None
    seed: int
    min_group_count: int

    def groupings(self) -> list[tuple[str, list[str]]]:
        """Every grouping's name and labels, singles first, then the intersections."""
        singles = [(a.name, list(a.labels)) for a in self.attributes]
        pairs = [
            (f"{x[0]} × {y[0]}", intersection_labels(x[1], y[1]))
            for x, y in ((singles[a], singles[b]) for a, b in self.pairs)
        ]
        return singles + pairs


def intersection_codes(a: np.ndarray, b: np.ndarray, b_size: int, size: int) -> np.ndarray:
    """The groups of an intersection of ``size`` labels from its two groupings' groups
    (``b`` of ``b_size`` labels), computed in the type of the intersection's indices,
    which holds every one."""
    return a.astype(code_dtype(size)) * b_size + b


def intersection_labels(a: list[str], b: list[str]) -> list[str]:
    """An intersection's labels: its index is (index in ``a``) * len(b) + (index in ``b``)."""
    return [f"{la} & {lb}" for la in a for lb in b]


def group_codes(indices: np.ndarray, labels: list[str]) -> np.ndarray:
    """Label indices (0 .. len(labels) - 1) in the narrowest type that holds them."""
    return indices.astype(code_dtype(len(labels)), copy=False)
