"""What a compliance status is called and how it looks, defined once.

Every page, the API and the public verify page take their words, CSS class and
order from here, so a status cannot read one way on the dashboard and another
on an evaluation. Stored evaluation statuses stay the engine's three
("compliant", "non_compliant", "incomplete"); what a person reads also weighs
the severity of what fails:

- a failing blocking or major rule makes an evaluation **non-compliant** (red):
  it cannot be approved and it suspends a certificate;
- failing minor or advisory rules only leave it **compliant with findings**
  ("Compliant, 1 advisory"): it can be approved with a comment naming them;
- a missing figure (and no blocking or major failure) makes it **incomplete**
  (amber, "figures missing");
- a matrix cell with no evaluation is either **not applicable** (the standard
  does not apply to the dataset) or **not audited yet** (it applies, but no
  audit has produced figures for that version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audits.standards.engine.evaluate import COMPLIANT, INCOMPLETE, NON_COMPLIANT
from audits.standards.engine.rules import Severity, severity_rank

# Failing rules of these severities make a dataset non-compliant.
SEVERE_SEVERITIES = frozenset({Severity.BLOCKING.value, Severity.MAJOR.value})

COMPLIANT_WITH_FINDINGS = "compliant_with_findings"
NOT_AUDITED = "not_audited"
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class StatusKind:
    """One status a person reads.

    ``code``: stable identifier (API ``display_status.code``); ``label``: the
    words; ``css``: the class every page uses (``status status-<code>``);
    ``colour``: "green", "amber", "red" or "grey"; ``symbol``: a mark that
    does not rely on colour; ``order``: position in counts and legends;
    ``meaning``: one sentence for legends and help text.
    """

    code: str
    label: str
    colour: str
    symbol: str
    order: int
    meaning: str

    @property
    def css(self) -> str:
        return f"status-{self.code}"


STATUS_KINDS: dict[str, StatusKind] = {
    kind.code: kind
    for kind in (
        StatusKind(
            COMPLIANT,
            "Compliant",
            "green",
            "✓",
            0,
            "Every rule of the standard passes.",
        ),
        StatusKind(
            COMPLIANT_WITH_FINDINGS,
            "Compliant with findings",
            "green",
            "✓",
            1,
            "No blocking or major rule fails; some minor or advisory rules do. "
            "It can be approved, with a comment naming them.",
        ),
        StatusKind(
            NON_COMPLIANT,
            "Non-compliant",
            "red",
            "✗",
            2,
            "A blocking or major rule fails. It cannot be approved, and a "
            "certificate on it is suspended.",
        ),
        StatusKind(
            INCOMPLETE,
            "Figures missing",
            "amber",
            "…",
            3,
            "No blocking or major rule fails, but some rules have no figure yet: "
            "an audit (or a registry fact) must supply them.",
        ),
        StatusKind(
            NOT_AUDITED,
            "Not audited yet",
            "grey",
            "○",
            4,
            "The standard applies, but no audit of this version has been evaluated "
            "against it: request an audit.",
        ),
        StatusKind(
            NOT_APPLICABLE,
            "Not applicable",
            "grey",
            "–",
            5,
            "The standard does not apply to this dataset (its kind, jurisdiction, "
            "sector or dates are outside the standard's scope).",
        ),
    )
}
STATUS_ORDER: tuple[str, ...] = tuple(
    sorted(STATUS_KINDS, key=lambda code: STATUS_KINDS[code].order)
)


@dataclass(frozen=True)
class StatusView:
    """An evaluation's status as read: ``kind`` plus the words with counts.

    ``label``: e.g. "Compliant", "Compliant, 1 advisory", "Non-compliant: 1
    blocking, 2 minor", "Figures missing: 3"; ``severity_summary``: the
    failing rules by severity, worst first ("1 blocking, 2 minor"; "" when
    nothing fails); ``worst_severity``: of the failing rules, or None.
    """

    kind: StatusKind
    label: str
    severity_summary: str
    worst_severity: str | None
    fail_count: int
    missing_count: int

    @property
    def code(self) -> str:
        return self.kind.code

    @property
    def css(self) -> str:
        return self.kind.css

    @property
    def colour(self) -> str:
        return self.kind.colour

    @property
    def symbol(self) -> str:
        return self.kind.symbol

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "label": self.label,
            "colour": self.colour,
            "severity_summary": self.severity_summary,
            "worst_failing_severity": self.worst_severity,
            "fail_count": self.fail_count,
            "missing_count": self.missing_count,
        }


def severity_summary(fails_by_severity: Mapping[str, int]) -> str:
    """ "1 blocking, 2 minor": counts of failing rules, worst severity first."""
    parts = [
        f"{n} {severity}"
        for severity, n in sorted(
            fails_by_severity.items(), key=lambda item: -severity_rank(item[0])
        )
        if n
    ]
    return ", ".join(parts)


def status_view(
    status: str,
    *,
    fails_by_severity: Mapping[str, int] | None = None,
    worst_severity: str | None = None,
    fail_count: int = 0,
    missing_count: int = 0,
) -> StatusView:
    """The status to show for an evaluation.

    ``status`` is the stored one (compliant, non_compliant or incomplete).
    Pass ``fails_by_severity`` (severity -> failing rules) when known; without
    it ``worst_severity`` and ``fail_count`` give the words ("2 minor or
    advisory"). "not_audited" and "not_applicable" are accepted for cells
    with no evaluation.
    """
    if status in (NOT_AUDITED, NOT_APPLICABLE):
        kind = STATUS_KINDS[status]
        return StatusView(kind, kind.label, "", None, 0, 0)
    if fails_by_severity is not None:
        fails = {str(s): n for s, n in fails_by_severity.items() if n}
        fail_count = sum(fails.values())
        worst = max(fails, key=severity_rank) if fails else None
        summary = severity_summary(fails)
    else:
        worst = worst_severity or None
        if not fail_count:
            worst = None
        summary = _approximate_summary(worst, fail_count)
    if worst in SEVERE_SEVERITIES:
        kind = STATUS_KINDS[NON_COMPLIANT]
        label = f"{kind.label}: {summary}" if summary else kind.label
    elif missing_count:
        kind = STATUS_KINDS[INCOMPLETE]
        label = f"{kind.label}: {missing_count}"
        if summary:
            label += f"; {summary} failing"
    elif fail_count:
        kind = STATUS_KINDS[COMPLIANT_WITH_FINDINGS]
        label = f"Compliant, {summary}"
    elif status == INCOMPLETE:
        kind = STATUS_KINDS[INCOMPLETE]
        label = kind.label
    else:
        kind = STATUS_KINDS[COMPLIANT]
        label = kind.label
    return StatusView(kind, label, summary, worst, fail_count, missing_count)


def _approximate_summary(worst: str | None, fail_count: int) -> str:
    if not fail_count or worst is None:
        return ""
    if fail_count == 1 or severity_rank(worst) == 0:
        return f"{fail_count} {worst}"
    lower = [s.value for s in Severity if severity_rank(s) < severity_rank(worst)]
    return f"{fail_count} {worst} or {lower[-1] if len(lower) == 1 else 'lower'}"


_COLOUR_CSS = {
    "green": STATUS_KINDS[COMPLIANT].css,
    "amber": STATUS_KINDS[INCOMPLETE].css,
    "red": STATUS_KINDS[NON_COMPLIANT].css,
    "grey": STATUS_KINDS[NOT_APPLICABLE].css,
}


@dataclass(frozen=True)
class RuleStatusView:
    """How one rule's result reads: ``label`` ("Fails (blocking)"), ``colour``
    and ``css`` from the same palette as evaluations."""

    label: str
    colour: str
    css: str


def status_view_of_row(
    row: Mapping[str, Any], fails_by_severity: Mapping[str, int] | None = None
) -> StatusView:
    """:func:`status_view` of an evaluation read as a mapping (a ``.values()``
    row: status, fail_count, missing_count, worst_severity), with its failing
    rules by severity when known."""
    return status_view(
        row["status"],
        fails_by_severity=fails_by_severity,
        worst_severity=row.get("worst_severity"),
        fail_count=row.get("fail_count") or 0,
        missing_count=row.get("missing_count") or 0,
    )


def rule_status_view(status: str, severity: str) -> RuleStatusView:
    """A rule result ("pass", "fail", "missing", "not_applicable", "waived") with its
    severity."""
    if status == "pass":
        return RuleStatusView("Passes", "green", STATUS_KINDS[COMPLIANT].css)
    if status == "fail":
        code = NON_COMPLIANT if severity in SEVERE_SEVERITIES else COMPLIANT_WITH_FINDINGS
        colour = "red" if code == NON_COMPLIANT else "amber"
        return RuleStatusView(f"Fails ({severity})", colour, _COLOUR_CSS[colour])
    if status == "missing":
        return RuleStatusView("Figure missing", "amber", STATUS_KINDS[INCOMPLETE].css)
    if status == NOT_APPLICABLE:
        return RuleStatusView("Not applicable", "grey", STATUS_KINDS[NOT_APPLICABLE].css)
    return RuleStatusView("Waived", "grey", STATUS_KINDS[NOT_APPLICABLE].css)


# Certificates: the verdict of a check (audits.certification) in the same palette.
CERTIFICATE_VERDICTS: dict[str, tuple[str, str]] = {
    "valid": ("Valid", "green"),
    "expired": ("Expired", "amber"),
    "suspended": ("Suspended", "red"),
    "revoked": ("Revoked", "red"),
    "invalid": ("Signature invalid", "red"),
    "unchecked": ("Signature not checked", "amber"),
}


def certificate_status_view(verdict: str) -> RuleStatusView:
    """A certificate's status or verdict ("valid", "suspended", …) as read."""
    label, colour = CERTIFICATE_VERDICTS.get(verdict, (verdict.capitalize(), "grey"))
    return RuleStatusView(label, colour, _COLOUR_CSS[colour])
