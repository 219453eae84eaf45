"""Rules, standards and the figures a rule may name. Plain data, no Django.

A rule names a *figure*: an audit metric from the catalogue (``quality.overall``),
a registry fact (``registry.licence``), or a key reserved for figures that later
issues will produce (``FUTURE_METRICS``, empty at present). This module holds the
vocabulary (operators, severities, known keys), the data classes and how their values
read on a page; the checks live with ``validate_standard`` in ``inheritance``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from audits.checks.catalogue import METRICS, TABLE_KEYS

Threshold = float | str | bool | list[Any] | None


class Operator(StrEnum):
    GE = ">="
    LE = "<="
    EQ = "="
    PRESENT = "present"
    ONE_OF = "one_of"

    @property
    def label(self) -> str:
        """How the operator reads on a page: ≥, ≤, =, is present, is one of."""
        return OPERATOR_LABELS[self]


OPERATOR_LABELS = {
    Operator.GE: "≥",
    Operator.LE: "≤",
    Operator.EQ: "=",
    Operator.PRESENT: "is present",
    Operator.ONE_OF: "is one of",
}

# What people type when they mean one of our operators, for a helpful refusal.
OPERATOR_HINTS = {
    "≥": ">=",
    "=>": ">=",
    "gte": ">=",
    "ge": ">=",
    "min": ">=",
    ">": ">= (a strict > is not supported)",
    "≤": "<=",
    "=<": "<=",
    "lte": "<=",
    "le": "<=",
    "max": "<=",
    "<": "<= (a strict < is not supported)",
    "==": "=",
    "eq": "=",
    "equals": "=",
    "is present": "present",
    "exists": "present",
    "in": "one_of",
    "is one of": "one_of",
    "one of": "one_of",
    "oneof": "one_of",
}


class Severity(StrEnum):
    """How much a failing rule matters. Compares by rank: BLOCKING > MAJOR > MINOR > ADVISORY."""

    BLOCKING = "blocking"
    MAJOR = "major"
    MINOR = "minor"
    ADVISORY = "advisory"

    @property
    def rank(self) -> int:
        """3 for blocking down to 0 for advisory: higher is worse."""
        return _SEVERITY_RANK[self]

    @classmethod
    def worst_first(cls) -> list[Severity]:
        return sorted(cls, key=lambda s: -s.rank)

    # A StrEnum would otherwise compare alphabetically ("advisory" < "blocking"),
    # which reads as a severity order but is not one.
    def __lt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank < other.rank
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank <= other.rank
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank > other.rank
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank >= other.rank
        return NotImplemented


_SEVERITY_RANK = {
    Severity.ADVISORY: 0,
    Severity.MINOR: 1,
    Severity.MAJOR: 2,
    Severity.BLOCKING: 3,
}


def severity_rank(value: object) -> int:
    """Rank of a severity given as enum or text; -1 for anything that is not one."""
    try:
        return Severity(value).rank
    except ValueError:
        return -1


# --- The figures a rule may name ---------------------------------------------


@dataclass(frozen=True)
class FactSpec:
    """A fact the registry supplies about a dataset or version (not measured by an audit)."""

    key: str
    description: str
    value_type: str  # "text", "number", "boolean" or "choice"
    choices: tuple[str, ...] = ()
    value_range: tuple[float | None, float | None] = (None, None)


DATASET_KINDS = ("real", "fully_synthetic", "partially_synthetic", "hybrid")

REGISTRY_FACTS: dict[str, FactSpec] = {
    spec.key: spec
    for spec in [
        FactSpec(
            "registry.licence",
            "The dataset's licence as an SPDX identifier (e.g. CC-BY-4.0).",
            "text",
        ),
        FactSpec(
            "registry.kind",
            "Kind of dataset: real, fully_synthetic, partially_synthetic or hybrid.",
            "choice",
            DATASET_KINDS,
        ),
        FactSpec(
            "registry.access",
            "Who may see the dataset: open or restricted.",
            "choice",
            ("open", "restricted"),
        ),
        FactSpec(
            "registry.datasheet_completeness",
            "Share of the version's datasheet sections that are filled in (0 to 1).",
            "number",
            value_range=(0.0, 1.0),
        ),
        FactSpec(
            "registry.has_holdout_audit",
            "True when the version's latest finished audit compared it with a real holdout.",
            "boolean",
        ),
        FactSpec(
            "registry.generator_type",
            "Type of generator recorded for the version (gan, vae, copula, llm, …).",
            "text",
        ),
        FactSpec(
            "registry.privacy_mechanism",
            "Privacy mechanism recorded for the generation (e.g. differential_privacy).",
            "text",
        ),
        FactSpec(
            "registry.epsilon",
            "Differential-privacy epsilon of the generation; absent when none was used.",
            "number",
            value_range=(0.0, None),
        ),
        FactSpec(
            "registry.published_openly",
            "True while the version is published openly (a public landing page and "
            "download, with no account); only watermarked synthetic versions with a valid "
            "signed manifest can be.",
            "boolean",
        ),
        FactSpec(
            "provenance.watermark",
            "The watermark scheme marking the data as synthetic: synthgov-keyed for a "
            "version SynthGov watermarked; absent for unmarked data.",
            "text",
        ),
    ]
}

# Figures the evaluation derives from others (no audit or registry field holds them).
# ``derive_figures`` in ``evaluate`` computes them; they are boolean.
DERIVED_FIGURES: dict[str, FactSpec] = {
    spec.key: spec
    for spec in [
        FactSpec(
            "privacy.dp_claim_consistent",
            "True when the differential-privacy epsilon the generation claims "
            "(registry.epsilon, with registry.privacy_mechanism differential_privacy) is at "
            "least the epsilon the membership attack proves at 95% confidence "
            "(privacy.dp_epsilon_lower_bound): the claim is not contradicted by attack. "
            "Not applicable without a claim; missing without the bound (no holdout).",
            "boolean",
        ),
    ]
}

# Figures that later issues will produce. A standard may name them (it is not a
# typo), but no audit produces them yet, so an evaluation reports them missing.
# Shipped standards do not use them. (The ``collapse.*`` and the watermark and
# manifest figures are in the catalogue now, so a misspelt key is an error.)
FUTURE_METRICS: frozenset[str] = frozenset()
FUTURE_PREFIXES: tuple[str, ...] = ()


def is_future_key(key: str) -> bool:
    return key in FUTURE_METRICS or (
        any(key.startswith(p) and len(key) > len(p) for p in FUTURE_PREFIXES) and key not in METRICS
    )


@dataclass(frozen=True)
class KeyInfo:
    """What a rule's key refers to.

    ``kind`` is "metric" (audit catalogue), "fact" (registry), "derived" (worked out
    by the evaluation from other figures) or "future" (reserved, not produced yet).
    ``value_type`` is "number", "text", "boolean", "choice" or "any" (future keys).
    ``produced_by`` is the audit family for metrics, "registry" for facts,
    "evaluation" for derived figures, "future" for reserved keys.
    """

    key: str
    kind: str
    value_type: str
    produced_by: str
    title: str
    needs: str = ""
    direction: str | None = None
    target: float | None = None
    value_range: tuple[float | None, float | None] = (None, None)
    choices: tuple[str, ...] = ()


def key_info(key: str) -> KeyInfo | None:
    """What ``key`` names, or None when it is not a known key."""
    metric = METRICS.get(key)
    if metric is not None:
        return KeyInfo(
            key=key,
            kind="metric",
            value_type="number",
            produced_by=metric.family,
            title=metric.title,
            needs=metric.needs,
            direction=metric.direction,
            target=metric.target,
            value_range=tuple(metric.value_range),  # type: ignore[arg-type]
        )
    derived = DERIVED_FIGURES.get(key)
    if derived is not None:
        return KeyInfo(
            key=key,
            kind="derived",
            value_type=derived.value_type,
            produced_by="evaluation",
            title=derived.description,
        )
    fact = REGISTRY_FACTS.get(key)
    if fact is not None:
        return KeyInfo(
            key=key,
            kind="fact",
            value_type=fact.value_type,
            produced_by="registry",
            title=fact.description,
            value_range=fact.value_range,
            choices=fact.choices,
        )
    if is_future_key(key):
        return KeyInfo(
            key=key,
            kind="future",
            value_type="any",
            produced_by="future",
            title="Reserved for a figure no audit produces yet",
        )
    return None


def known_keys() -> list[str]:
    """Every key a rule may name today (metrics, facts, reserved), sorted."""
    return sorted({*METRICS, *REGISTRY_FACTS, *DERIVED_FIGURES, *FUTURE_METRICS})


def closest_key(key: str) -> str | None:
    """The known key most like ``key`` (for "did you mean …?"), or None."""
    matches = difflib.get_close_matches(key, known_keys(), n=1, cutoff=0.6)
    if matches:
        return matches[0]
    # "overall" alone, or a family missing: compare the part after the dot.
    tail = key.rsplit(".", 1)[-1]
    by_tail = {k.rsplit(".", 1)[-1]: k for k in known_keys()}
    matches = difflib.get_close_matches(tail, sorted(by_tail), n=1, cutoff=0.8)
    return by_tail[matches[0]] if matches else None


# --- Rules and standards -----------------------------------------------------


def profile_reference(text: str) -> tuple[str, int] | None:
    """("England and Wales population by sex (Census 2021)", 1) from a rule's
    ``population_profile`` written NAME@VERSION; None when it is not written so."""
    name, at, number = text.rpartition("@")
    if not at or not name.strip() or not number.isdigit() or int(number) < 1:
        return None
    return name.strip(), int(number)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _normalise_threshold(value: Any) -> Any:
    # Whole numbers come back from YAML and JSON as int; a threshold is a float.
    if is_number(value):
        try:
            return float(value)
        except OverflowError:  # an int beyond float's range: infinite, refused by validation
            return math.inf if value > 0 else -math.inf
    if isinstance(value, list | tuple):
        return [_normalise_threshold(item) for item in value]
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(item) for item in value)
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _enum_or_text(enum: type[StrEnum], value: Any) -> Any:
    if isinstance(value, str):
        try:
            return enum(value.strip())
        except ValueError:
            return value.strip()
    return value


# A rule's fields, in the order YAML writes them: the same in RuleSpec, the database
# and the API.
RULE_FIELDS = (
    "key",
    "operator",
    "threshold",
    "severity",
    "rationale",
    "clause",
    "waived",
    "waiver_rationale",
    "applies",
    "population_profile",
    "table",
)

# A table name as the registry allows it (registry.relational): the rule's ``table``.
TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")

# When a rule applies. "always": a figure the audit could not measure leaves the rule
# missing (the evaluation is incomplete). "when_measured": the rule does not apply
# when the audit reports the figure as not measurable and says why (no holdout, no
# target); allowed on advisory rules only, so omitting a holdout never dodges a rule
# that matters.
ALWAYS = "always"
WHEN_MEASURED = "when_measured"
APPLIES = (ALWAYS, WHEN_MEASURED)

# Figures compared with a population profile: a rule on one is judged against the
# profile the standard requires (the rule's ``population_profile``, else the default
# of the standard's jurisdiction), never against whichever the audit request chose.
POPULATION_KEYS = frozenset(
    {
        "fairness.population_representation_gap",
        "fairness.population_representation_gap_real",
        "fairness.underrepresented_groups",
        "fairness.underrepresented_groups_real",
        "fairness.population_shift",
    }
)


@dataclass(frozen=True)
class RuleSpec:
    """One rule: ``key operator threshold`` with a severity, rationale and clause.

    Operator and severity become ``Operator``/``Severity`` when valid and stay as the
    given text otherwise (``validate_standard`` reports them). Numeric thresholds are
    floats. ``line`` and ``field_lines`` (YAML line of the rule and of each field) do
    not take part in equality.
    """

    key: str
    operator: Operator | str
    threshold: Threshold
    severity: Severity | str
    rationale: str = ""
    clause: str = ""
    waived: bool = False
    waiver_rationale: str = ""
    applies: str = ALWAYS
    population_profile: str = ""
    table: str = ""
    line: int | None = field(default=None, compare=False)
    field_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "key", self.key.strip() if isinstance(self.key, str) else self.key)
        set_(self, "operator", _enum_or_text(Operator, self.operator))
        set_(self, "severity", _enum_or_text(Severity, self.severity))
        set_(self, "threshold", _normalise_threshold(self.threshold))
        set_(self, "rationale", self.rationale or "")
        set_(self, "clause", self.clause or "")
        set_(self, "waiver_rationale", self.waiver_rationale or "")
        applies = self.applies.strip() if isinstance(self.applies, str) else self.applies
        set_(self, "applies", applies or ALWAYS)
        profile = self.population_profile
        set_(self, "population_profile", profile.strip() if isinstance(profile, str) else "")
        set_(self, "table", self.table.strip() if isinstance(self.table, str) else "")

    def __hash__(self) -> int:
        return hash(tuple(_freeze(self.field_value(name)) for name in RULE_FIELDS))

    @property
    def when_measured(self) -> bool:
        """True when the rule does not apply to a figure the audit could not measure."""
        return self.applies == WHEN_MEASURED

    def field_value(self, name: str) -> Any:
        """One of ``RULE_FIELDS`` as stored: operator and severity as text."""
        value = getattr(self, name)
        return str(value) if name in ("operator", "severity") else value

    @property
    def identity(self) -> tuple[str, ...]:
        """(key, operator), and the table for a rule on one table: a child rule with the
        same identity restates the parent's. A rule on one table (``table: tumours``) is
        another rule than the one on every table."""
        if self.table:
            return (self.key, str(self.operator), self.table)
        return (self.key, str(self.operator))

    def line_of(self, name: str) -> int | None:
        """YAML line of one field of this rule, else of the rule itself."""
        return self.field_lines.get(name, self.line)

    def describe(self) -> str:
        """The rule as it reads on a page: ``quality.overall ≥ 0.80``, and
        ``quality.overall ≥ 0.80 on table sessions`` for a rule on one table."""
        return describe_rule(self.key, self.operator, self.threshold, self.table)

    def to_json(self) -> dict[str, Any]:
        """The rule as plain data. ``applies``, ``population_profile`` and ``table``
        appear only when set (not "always", not empty): a rule written before they
        existed reads, hashes and signs exactly as it did."""
        data = {name: self.field_value(name) for name in RULE_FIELDS}
        if data["applies"] == ALWAYS:
            del data["applies"]
        for name in ("population_profile", "table"):
            if not data[name]:
                del data[name]
        return data


# A standard's top-level fields besides its rules, in the order YAML writes them, and
# what each holds: "text", "codes" (a list of text), "date" (or None) or "days" (a
# whole number of days, or None). The YAML reader and writer, validation, the
# database rows, the API and the forms take their fields from here, so a new field
# is declared in StandardSpec and here.
STANDARD_FIELDS: dict[str, str] = {
    "code": "text",
    "name": "text",
    "version": "text",
    "scope": "text",
    "parent": "text",
    "jurisdictions": "codes",
    "sectors": "codes",
    "dataset_kinds": "codes",
    "effective_from": "date",
    "effective_to": "date",
    "certificate_validity_days": "days",
    "reaudit_interval_days": "days",
    "description": "text",
    "source": "text",
}
REQUIRED_FIELDS = ("code", "name", "version", "scope")


def standard_fields(kind: str) -> tuple[str, ...]:
    """The names of the standard's fields that hold ``kind``, in ``STANDARD_FIELDS`` order."""
    return tuple(name for name, held in STANDARD_FIELDS.items() if held == kind)


@dataclass
class StandardSpec:
    """A standard version as plain data. ``parent`` is ``CODE@VERSION`` or None.

    ``field_lines`` (YAML line of each top-level field) does not take part in equality.
    Empty ``jurisdictions``/``sectors``/``dataset_kinds`` mean "no restriction".
    """

    code: str
    name: str
    version: str
    scope: str
    jurisdictions: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    dataset_kinds: list[str] = field(default_factory=list)
    parent: str | None = None
    description: str = ""
    source: str = ""
    effective_from: date | None = None
    effective_to: date | None = None
    certificate_validity_days: int | None = None
    reaudit_interval_days: int | None = None
    rules: list[RuleSpec] = field(default_factory=list)
    field_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ref(self) -> str:
        """``CODE@VERSION``, the form a child names its parent by."""
        return f"{self.code}@{self.version}"

    def line_of(self, name: str) -> int | None:
        return self.field_lines.get(name)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name, kind in STANDARD_FIELDS.items():
            value = getattr(self, name)
            if kind == "codes":
                value = list(value)
            elif kind == "date":
                value = value.isoformat() if value else None
            data[name] = value
        data["rules"] = [rule.to_json() for rule in self.rules]
        return data


@dataclass(frozen=True)
class Problem:
    """Why a standard cannot be saved. ``line`` is 1-based (None when not from YAML);
    ``field`` is ``code``, ``parent``, ``rules[2].threshold`` … (rules counted from 0)."""

    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        what = f"{self.field}: " if self.field else ""
        return f"{where}{what}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "message": self.message}


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """By line (problems without one last), keeping the order found within a line."""
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


# --- Formatting --------------------------------------------------------------


def format_number(value: float) -> str:
    """0.8 → "0.80", 0.0012 → "0.0012", 3 → "3": two decimals unless more are needed."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) >= 1:
        return str(int(value))
    if value == 0:
        return "0"
    for decimals in (2, 3, 4):
        if abs(round(value, decimals) - value) < 1e-9:
            return f"{value:.{decimals}f}"
    return f"{value:.4g}"


def format_value(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return format_number(float(value))
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def format_threshold(threshold: Any) -> str:
    if isinstance(threshold, list):
        return "[" + ", ".join(format_value(item) for item in threshold) + "]"
    return format_value(threshold)


def operator_label(operator: object) -> str:
    """How an operator reads on a page (≥, ≤, =, is present, is one of); text that is
    not an operator reads as written."""
    try:
        return Operator(operator).label
    except ValueError:
        return str(operator)


def describe_rule(key: str, operator: object, threshold: Any, table: str = "") -> str:
    """A rule as it reads on a page: ``quality.overall ≥ 0.80``,
    ``registry.licence is present``, ``registry.kind is one of ['real', 'hybrid']``; a
    rule on one table of linked tables ends ``on table sessions``."""
    where = f" on table {table}" if table else ""
    if operator == Operator.PRESENT:
        return f"{key} {operator_label(operator)}{where}"
    return f"{key} {operator_label(operator)} {format_threshold(threshold)}{where}"


def per_table_key(key: str) -> bool:
    """Whether an audit of linked tables measures ``key`` on each table
    (``audits.checks.catalogue.TABLE_KEYS``)."""
    return key in TABLE_KEYS
