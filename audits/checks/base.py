"""The data types shared by every check: column specs, the audit configuration, results."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

COLUMN_TYPES = frozenset({"numerical", "categorical", "boolean", "datetime", "id", "text"})
COLUMN_ROLES = frozenset(
    {"identifier", "quasi_identifier", "sensitive", "protected", "target", "other"}
)
FAMILIES = ("integrity", "quality", "fairness", "privacy", "provenance")
# The largest audit seed: scikit-learn and numpy's legacy seeding take 32-bit seeds.
MAX_SEED = 2**32 - 1
Direction = Literal["higher", "lower", "closer_to"]
Status = Literal["ok", "skipped"]


class AuditInputError(ValueError):
    """The inputs cannot be audited; the message is written for the curator."""


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the dataset's schema: its type and its role in the audit."""

    name: str
    type: str
    role: str = "other"

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise AuditInputError(
                f"Column '{self.name}' has type '{self.type}'; use one of "
                f"{', '.join(sorted(COLUMN_TYPES))}."
            )
        if self.role not in COLUMN_ROLES:
            raise AuditInputError(
                f"Column '{self.name}' has role '{self.role}'; use one of "
                f"{', '.join(sorted(COLUMN_ROLES))}."
            )

    @property
    def excluded_from_distances(self) -> bool:
        """Identifiers and free text say nothing about closeness of records."""
        return self.type in ("id", "text") or self.role == "identifier"

    @property
    def is_numeric(self) -> bool:
        return self.type in ("numerical", "datetime")


@dataclass
class AuditConfig:
    """What to audit and how. Column names refer to the synthetic dataset's schema.

    ``positive_outcome`` is the target value counted as the favourable outcome in fairness
    figures; when None the runner picks one deterministically and records it in details.
    Sample limits bound the cost of the checks that cannot run on every row; figures
    computed on a sample record its size and uncertainty.
    """

    columns: list[ColumnSpec]
    protected: list[str] = field(default_factory=list)
    quasi_identifiers: list[str] = field(default_factory=list)
    sensitive: list[str] = field(default_factory=list)
    target: str | None = None
    positive_outcome: Any = None
    families: set[str] = field(default_factory=lambda: set(FAMILIES))
    seed: int = 0
    min_group_count: int = 5
    sdmetrics_sample_rows: int = 20_000
    detection_sample_rows: int = 20_000
    utility_sample_rows: int = 50_000
    distance_sample_rows: int = 100_000
    max_intersections: int = 10
    attack_count: int = 2_000
    # The population profile the audit compares group shares with (plain data: see
    # audits.checks.population); None when no profile applies.
    population: dict[str, Any] | None = None

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise AuditInputError(f"Column '{name}' is not in the dataset's schema.")

    @property
    def column_names(self) -> list[str]:
        return [spec.name for spec in self.columns]

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": [{"name": c.name, "type": c.type, "role": c.role} for c in self.columns],
            "protected": list(self.protected),
            "quasi_identifiers": list(self.quasi_identifiers),
            "sensitive": list(self.sensitive),
            "target": self.target,
            "positive_outcome": to_jsonable(self.positive_outcome),
            "families": sorted(self.families),
            "seed": self.seed,
            "min_group_count": self.min_group_count,
            "sdmetrics_sample_rows": self.sdmetrics_sample_rows,
            "detection_sample_rows": self.detection_sample_rows,
            "utility_sample_rows": self.utility_sample_rows,
            "distance_sample_rows": self.distance_sample_rows,
            "max_intersections": self.max_intersections,
            "attack_count": self.attack_count,
            "population": to_jsonable(self.population),
        }


@dataclass(frozen=True, eq=False)  # a frame has no plain equality
class RealAncestor:
    """The collapse family's input: the audited version's nearest real ancestor.

    Either ``frame`` holds the ancestor's data (read and verified by the caller; a
    frame, or a ``sources.TableSource`` the collapse figures read column by column), the
    version being ``generation_depth`` synthetic generations away from it, and
    ``details`` (for example which ancestor it is) go into every collapse figure's
    details; or ``frame`` is None and ``reason`` says why collapse is not measured, with
    ``generation_depth`` when it is known (0 for real data; None when the lineage reaches
    no real version). Build it with ``measured`` or ``not_measured``.
    """

    generation_depth: int | None
    frame: pd.DataFrame | Any | None = None
    details: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    def __post_init__(self) -> None:
        if (self.frame is None) == (self.reason is None):
            raise ValueError("give either the ancestor's frame or the reason it is not measured")
        if self.frame is not None and self.generation_depth is None:
            raise ValueError("a measured ancestor needs the generation depth")

    @classmethod
    def measured(
        cls,
        frame: pd.DataFrame | Any,
        *,
        generation_depth: int,
        details: dict[str, Any] | None = None,
    ) -> RealAncestor:
        return cls(generation_depth, frame=frame, details=dict(details or {}))

    @classmethod
    def not_measured(cls, reason: str, *, generation_depth: int | None) -> RealAncestor:
        return cls(generation_depth, reason=reason)


@dataclass
class MetricResult:
    """One figure of an audit.

    ``value`` is None when the figure could not be computed (``status == "skipped"`` and
    ``skip_reason`` says why). ``target`` is the ideal value when ``direction`` is
    ``"closer_to"``. ``details`` holds what charts are drawn from and is JSON-ready.
    ``sample_size`` is the number of synthetic rows the figure was computed on and
    ``population`` the number available; ``uncertainty`` is the half-width of a 95%
    interval when the figure is estimated from a sample. ``table`` names the table of a
    version of linked tables the figure was computed on (None: the whole version, or a
    single-table version); it is written to JSON only when set, so the results of
    single-table audits read as before.
    """

    key: str
    value: float | None
    direction: Direction
    details: dict[str, Any] = field(default_factory=dict)
    sample_size: int = 0
    population: int = 0
    uncertainty: float | None = None
    finding: str | None = None
    status: Status = "ok"
    skip_reason: str | None = None
    target: float | None = None
    table: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {
            "key": self.key,
            "value": _round(self.value),
            "direction": self.direction,
            "target": self.target,
            "details": to_jsonable(self.details),
            "sample_size": int(self.sample_size),
            "population": int(self.population),
            "uncertainty": _round(self.uncertainty),
            "finding": self.finding,
            "status": self.status,
            "skip_reason": self.skip_reason,
        }
        if self.table is not None:
            data["table"] = self.table
        return data


def skipped(key: str, direction: Direction, reason: str, **extra: Any) -> MetricResult:
    return MetricResult(
        key=key, value=None, direction=direction, status="skipped", skip_reason=reason, **extra
    )


def _round(value: float | None) -> float | None:
    # Twelve significant digits keep canonical JSON stable across platforms' last-bit noise.
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return None
    return float(f"{value:.12g}")


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types only: numpy scalars, tuples, NaN and timestamps are converted."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = sorted(obj, key=str) if isinstance(obj, set | frozenset) else obj
        return [to_jsonable(v) for v in items]
    if hasattr(obj, "tolist") and not isinstance(obj, int | float):
        return to_jsonable(obj.tolist())
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return _round(obj)
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


def proportion_ci(successes: float, n: int) -> float | None:
    """Half-width of a 95% normal-approximation interval for a proportion on n draws."""
    if n <= 0:
        return None
    p = successes / n
    return 1.96 * math.sqrt(max(p * (1 - p), 0.25 / n) / n)


def seeded_rows(n: int, limit: int, seed: int, purpose: str) -> np.ndarray:
    """Sorted row numbers of a seeded sample of at most ``limit`` of ``n`` rows (all rows
    when n <= limit). Each purpose draws from its own stream, so adding a check does not
    change another check's sample."""
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng([seed, zlib.crc32(purpose.encode())])
    return np.sort(rng.choice(n, size=limit, replace=False))


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(purpose.encode())])


def share_text(rate: float) -> str:
    """A share for a sentence: "4.8%", or "under 0.1%" rather than a misleading "0.0%"."""
    if 0 < rate < 0.001:
        return "under 0.1%"
    return f"{rate:.1%}"
