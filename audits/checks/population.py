"""Representation against a target population: the synthetic and the real data's group
shares compared with a population profile's expected shares (plain data, no Django).

A profile reaches the checks as ``AuditConfig.population``, a JSON-ready dict::

    {"profile_id": 3, "version": 2, "name": "UK sex (Census 2021)",
     "source": "ONS ...", "source_url": "https://...", "intended": False,
     "groupings": [
         {"attributes": ["sex"],
          "groups": [{"values": ["Female"], "share": 0.51}, {"values": ["Male"], ...}]},
         {"attributes": ["sex", "age_band"],           # an intersection (optional)
          "groups": [{"values": ["Female", "18-29"], "share": 0.1}, ...]}]}

Shares are counted among the rows where every attribute of the grouping is present;
values compare as the other fairness checks compare categories (1, 1.0 and "1" agree).
``intended`` records that the curator declared the data deliberately rebalanced towards
this profile: the synthetic data is then judged against the profile, not the real data.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from audits.checks.base import AuditInputError, Direction, MetricResult, skipped
from audits.checks.context import AuditContext, Step
from audits.checks.encoding import category_strings
from audits.checks.sources import as_source

# A group is under-represented when its share is below this fraction of its target.
UNDER_RATIO = 0.8
# A shift of the gap smaller than this (in share points) is "about the same".
SHIFT_TOLERANCE = 0.005
DIRECTIONS: dict[str, Direction] = {
    "fairness.population_representation_gap": "lower",
    "fairness.population_representation_gap_real": "lower",
    "fairness.underrepresented_groups": "lower",
    "fairness.underrepresented_groups_real": "lower",
    "fairness.population_shift": "lower",
}
NO_PROFILE = "no population profile applies: choose one in the audit request"


@dataclass(frozen=True)
class Target:
    """One grouping of a profile: attribute names and each group's expected share."""

    attributes: tuple[str, ...]
    groups: tuple[tuple[tuple[str, ...], float], ...]

    @property
    def name(self) -> str:
        return " × ".join(self.attributes)

    @staticmethod
    def label(values: tuple[str, ...], attributes: tuple[str, ...]) -> str:
        return " & ".join(f"{a}={v}" for a, v in zip(attributes, values, strict=True))


def targets(population: dict[str, Any]) -> list[Target]:
    """The profile's groupings as plain targets; AuditInputError if malformed."""
    out = []
    try:
        for grouping in population["groupings"]:
            attributes = tuple(str(a) for a in grouping["attributes"])
            groups = tuple(
                (tuple(str(v) for v in g["values"]), float(g["share"])) for g in grouping["groups"]
            )
            if not attributes or any(len(v) != len(attributes) for v, _ in groups):
                raise ValueError
            out.append(Target(attributes, groups))
    except (KeyError, TypeError, ValueError) as exc:
        raise AuditInputError("The population profile of this audit is malformed.") from exc
    return out


def group_shares(frame: pd.DataFrame, target: Target) -> tuple[list[float], int]:
    """Each target group's share of ``frame``'s rows where every attribute is present,
    and that number of rows."""
    keys = [category_strings(frame[a]) for a in target.attributes]
    present = np.ones(len(frame), dtype=bool)
    for key in keys:
        present &= key.notna().to_numpy()
    n = int(present.sum())
    shares = []
    for values, _ in target.groups:
        match = present.copy()
        for key, value in zip(keys, values, strict=True):
            match &= (key == value).to_numpy()
        shares.append(float(match.sum()) / n if n else 0.0)
    return shares, n


def _table(ctx: AuditContext, target: Target) -> dict[str, Any]:
    expected = np.array([share for _, share in target.groups])
    # Only the grouping's columns of each table are read.
    attributes = list(dict.fromkeys(target.attributes))
    syn, n_syn = group_shares(as_source(ctx.synthetic, copy=False).read(attributes), target)
    real, n_real = group_shares(as_source(ctx.real, copy=False).read(attributes), target)
    syn_a, real_a = np.array(syn), np.array(real)
    labels = [Target.label(values, target.attributes) for values, _ in target.groups]
    under_syn = [lab for lab, s, e in zip(labels, syn_a, expected, strict=True)
                 if e > 0 and s < UNDER_RATIO * e]  # fmt: skip
    under_real = [lab for lab, s, e in zip(labels, real_a, expected, strict=True)
                  if e > 0 and s < UNDER_RATIO * e]  # fmt: skip
    return {
        "grouping": target.name,
        "groups": labels,
        "population_share": expected.tolist(),
        "synthetic_share": syn,
        "real_share": real,
        "synthetic_rows": n_syn,
        "real_rows": n_real,
        "gap_synthetic": float(np.abs(syn_a - expected).max()),
        "gap_real": float(np.abs(real_a - expected).max()),
        "underrepresented_synthetic": under_syn,
        "underrepresented_real": under_real,
    }


def population_tables(ctx: AuditContext) -> tuple[list[dict[str, Any]], list[str]]:
    """Comparison tables of the profile's groupings whose attributes are all columns of
    the data, and the names of the groupings left out (a column the data lacks).

    Read from the raw frames once (the runner calls this before it releases them) and
    cached; each call returns its own copy."""
    if "population_tables" not in ctx.cache:
        ctx.cache["population_tables"] = _population_tables(ctx)
    return copy.deepcopy(ctx.cache["population_tables"])


def _population_tables(ctx: AuditContext) -> tuple[list[dict[str, Any]], list[str]]:
    population = ctx.config.population
    if not population:
        return [], []
    columns = set(ctx.config.column_names)
    tables, left_out = [], []
    for target in targets(population):
        if all(a in columns for a in target.attributes):
            tables.append(_table(ctx, target))
        else:
            left_out.append(target.name)
    return tables, left_out


def _profile_details(population: dict[str, Any]) -> dict[str, Any]:
    return {
        "profile_id": population.get("profile_id"),
        "profile_version": population.get("version"),
        "profile_name": population.get("name", ""),
        "source": population.get("source", ""),
        "source_url": population.get("source_url", ""),
        "intended_rebalancing": bool(population.get("intended")),
        "applied_as": population.get("applied_as", ""),
    }


def movement(gap_synthetic: float, gap_real: float) -> str:
    """Did the synthetic data move towards or away from the population?"""
    if gap_synthetic < gap_real - SHIFT_TOLERANCE:
        return "towards"
    if gap_synthetic > gap_real + SHIFT_TOLERANCE:
        return "away"
    return "unchanged"


def representation(ctx: AuditContext) -> list[MetricResult]:
    population = ctx.config.population
    if not population:
        return [skipped(k, d, NO_PROFILE) for k, d in DIRECTIONS.items()]
    tables, left_out = population_tables(ctx)
    if not tables:
        reason = (
            "the population profile's attributes ("
            + ", ".join(left_out)
            + ") are not columns of this dataset"
        )
        return [skipped(k, d, reason) for k, d in DIRECTIONS.items()]
    profile = _profile_details(population)
    gap_syn = max(t["gap_synthetic"] for t in tables)
    gap_real = max(t["gap_real"] for t in tables)
    moved = movement(gap_syn, gap_real)
    under_syn = sorted({g for t in tables for g in t["underrepresented_synthetic"]})
    under_real = sorted({g for t in tables for g in t["underrepresented_real"]})
    details = {
        **profile,
        "groupings": tables,
        "left_out": left_out,
        "under_ratio": UNDER_RATIO,
        "gap_synthetic": gap_syn,
        "gap_real": gap_real,
        "movement": moved,
    }
    n = ctx.data.n_synthetic
    common = {"sample_size": n, "population": n}
    name = f"{profile['profile_name']} (version {profile['profile_version']})"
    if profile["intended_rebalancing"]:
        finding = (
            f"The data was declared deliberately rebalanced towards {name}: it is judged "
            f"against that profile, not the real data. Its largest gap to the profile is "
            f"{gap_syn:.1%} (the real data's: {gap_real:.1%}); it moved {moved} the profile."
        )
        if moved != "towards" and gap_syn >= 0.01:
            finding += " The declared rebalancing did not bring it closer."
    elif gap_syn >= 0.05 or under_syn:
        finding = (
            f"The synthetic data's group shares differ from {name} by up to {gap_syn:.1%} "
            f"(the real data's by {gap_real:.1%}): it moved {moved} the population."
        )
    else:
        finding = None
    return [
        MetricResult(
            key="fairness.population_representation_gap",
            value=gap_syn,
            direction="lower",
            details=details,
            finding=finding,
            **common,
        ),
        MetricResult(
            key="fairness.population_representation_gap_real",
            value=gap_real,
            direction="lower",
            details=profile,
            sample_size=n,
            population=n,
        ),
        MetricResult(
            key="fairness.underrepresented_groups",
            value=float(len(under_syn)),
            direction="lower",
            details={**profile, "groups": under_syn, "under_ratio": UNDER_RATIO},
            finding=(
                f"{len(under_syn)} group(s) fall below {UNDER_RATIO:.0%} of their population "
                f"share in the synthetic data: {', '.join(under_syn[:5])}"
                + (" …" if len(under_syn) > 5 else "")
                + "."
                if under_syn
                else None
            ),
            **common,
        ),
        MetricResult(
            key="fairness.underrepresented_groups_real",
            value=float(len(under_real)),
            direction="lower",
            details={**profile, "groups": under_real, "under_ratio": UNDER_RATIO},
            **common,
        ),
        MetricResult(
            key="fairness.population_shift",
            value=gap_syn - gap_real,
            direction="lower",
            details={**profile, "movement": moved},
            **common,
        ),
    ]


def judge_against_intent(ctx: AuditContext, by_key: dict[str, MetricResult]) -> None:
    """With a declared rebalancing, the synthetic data's shares are meant to differ from
    the real data's: ``fairness.representation_gap_max`` then measures the gap to the
    profile (the gap to the real data stays in details), and the amplification's finding
    says that group shares were changed on purpose (outcome-rate gaps within groups do
    not depend on group shares, so its value stands)."""
    population = ctx.config.population
    if not population or not population.get("intended"):
        return
    tables, _ = population_tables(ctx)
    current = by_key.get("fairness.representation_gap_max")
    if not tables or current is None or current.status != "ok":
        return
    profile = _profile_details(population)
    gap = max(t["gap_synthetic"] for t in tables)
    name = f"{profile['profile_name']} (version {profile['profile_version']})"
    current.details = {
        **current.details,
        **profile,
        "judged_against": "population profile (declared rebalancing)",
        "gap_to_real": current.value,
        "population_groupings": tables,
    }
    current.value = gap
    current.finding = (
        f"Judged against the declared rebalancing towards {name}, not the real data: the "
        f"largest gap to the profile is {gap:.1%}."
        if gap >= 0.05
        else None
    )
    amplification = by_key.get("fairness.amplification")
    if amplification is not None and amplification.status == "ok":
        amplification.details = {
            **amplification.details,
            **profile,
            "judged_against": "population profile (declared rebalancing)",
        }
        if amplification.finding:
            amplification.finding += (
                f" The group shares were deliberately rebalanced towards {name}; this gap "
                "is in outcome rates within groups, which rebalancing shares does not explain."
            )


STEPS: list[Step] = [("Fairness: representation against the population profile", representation)]
