"""What the public (no account) may read of an openly published version.

The rule, for every output channel here: a version is named, linked or counted in a
figure only when it is itself published. An anonymous reader may read the published
version and nothing else, so:

- **Lineage** names and links only published parents and children; the others are
  counted with their relation ("trained on 1 version that is not published"). The
  count and relation are what the version's signed manifest has always carried with
  the file (as "restricted source" entries) and what the lineage graph shows every
  signed-in reader; they say how the version was made, nothing of the other data.
- **Audit figures** are computed against a reference, a holdout and (for model
  collapse) the nearest real ancestor, which may be restricted to the organisation.
  The latest finished audit's figures are shown in full only when every version it
  read is published. Otherwise only the figures that read nothing but the published
  version and the registry's facts about it (the catalogue's "registry facts"
  figures: integrity, documentation, provenance, watermark, manifest) are shown;
  the rest are withheld with the reason and counted, never shown as value, details,
  finding or sample size (as ``audits.runs.disclosure`` withholds them from readers
  who may not read an input).
- **Certificates** are listed by number, standard and status, linking to the public
  verification page by number alone (which shows only whether it is in force): what
  a certificate states is the holder's to publish with its verification link.
- **The manifest** is signed anew for the public with only published parents named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from audits.certification.certificates import certificate_check
from audits.checks.catalogue import METRICS
from audits.checks.collapse import KEYS as COLLAPSE_KEYS
from audits.models import AuditMetric, AuditRun, AuditStatus, Certificate
from audits.provenance.services import manifest_payload, organisation_keys
from registry.lineage.graph import RESTRICTED_LABEL
from registry.models import DatasetVersion, LineageEdge, Relation
from synthgov.signing.manifests import manifest_sign

WITHHELD_UNPUBLISHED = "withheld: this figure compares the version with data that is not published"
# Figures that read only the audited version and the registry's facts about it.
SELF_FIGURES = frozenset(
    k for k, spec in METRICS.items() if spec.needs.startswith("registry facts")
)


def published_versions() -> QuerySet[DatasetVersion]:
    return (
        DatasetVersion.objects.published()
        .select_related("dataset__organisation")
        .order_by("-published_at", "-pk")
    )


@dataclass(frozen=True)
class PublicLineage:
    parents: list[tuple[DatasetVersion, str]]  # published parents, relation label
    hidden_parents: list[tuple[str, int]]  # relation label, how many are not published
    children: list[tuple[DatasetVersion, str]]

    @property
    def hidden_count(self) -> int:
        return sum(n for _, n in self.hidden_parents)


def _relation_label(value: str) -> str:
    return str(Relation(value).label) if value in Relation.values else value


def public_lineage(version: DatasetVersion) -> PublicLineage:
    edges = LineageEdge.objects.filter(child=version).select_related("parent__dataset")
    parents, hidden = [], {}
    for edge in edges.order_by("parent_id"):
        label = _relation_label(edge.relation)
        if edge.parent.published_at is not None:
            parents.append((edge.parent, label))
        else:
            hidden[label] = hidden.get(label, 0) + 1
    children = [
        (edge.child, _relation_label(edge.relation))
        for edge in LineageEdge.objects.filter(parent=version, child__published_at__isnull=False)
        .select_related("child__dataset")
        .order_by("child_id")
    ]
    return PublicLineage(parents=parents, hidden_parents=sorted(hidden.items()), children=children)


@dataclass
class PublicFigure:
    key: str
    title: str
    value: float | None
    status: str
    skip_reason: str = ""


@dataclass
class PublicAuditSummary:
    run: AuditRun
    complete: bool  # every input published: all figures shown
    figures: list[PublicFigure] = field(default_factory=list)
    withheld: int = 0
    reason: str = ""


def _run_inputs(run: AuditRun) -> set[int]:
    """Every version the run read: audited, reference, holdout and the versions the
    collapse figures name (nearest real ancestor and the chain to it)."""
    ids = {run.version_id, run.reference_id}
    if run.holdout_id:
        ids.add(run.holdout_id)
    collapse = set(COLLAPSE_KEYS.values())
    for metric in (run.results or {}).get("metrics", []):
        if not isinstance(metric, dict) or metric.get("key") not in collapse:
            continue
        details = metric.get("details") or {}
        if isinstance(details.get("ancestor_version"), int):
            ids.add(details["ancestor_version"])
        ids.update(pk for pk in details.get("chain", []) if isinstance(pk, int))
    return ids


def public_audit_summary(version: DatasetVersion) -> PublicAuditSummary | None:
    """The latest finished audit of ``version`` as the public may read it (module
    docstring), or None when it has none."""
    run = (
        AuditRun.objects.filter(version=version, status=AuditStatus.SUCCEEDED)
        .order_by("-finished", "-pk")
        .first()
    )
    if run is None:
        return None
    inputs = _run_inputs(run)
    published = set(
        DatasetVersion.objects.published().filter(pk__in=inputs).values_list("pk", flat=True)
    )
    complete = inputs <= published
    summary = PublicAuditSummary(run=run, complete=complete)
    metric: AuditMetric
    for metric in run.metrics.all().order_by("key"):
        if not complete and metric.key not in SELF_FIGURES:
            summary.withheld += 1
            continue
        spec = METRICS.get(metric.key)
        summary.figures.append(
            PublicFigure(
                key=metric.key,
                title=spec.title if spec else metric.key,
                value=metric.value if metric.status == "ok" else None,
                status=metric.status,
            )
        )
    if summary.withheld:
        summary.reason = (
            f"{summary.withheld} figure(s) of this audit compared the version with data that "
            "is not published (its reference, holdout or real ancestor) and are withheld "
            "here; only figures that read this version alone are shown."
        )
    return summary


@dataclass(frozen=True)
class PublicCertificate:
    number: str
    standard: str
    status: str
    issued: Any
    expires: Any


def public_certificates(version: DatasetVersion) -> list[PublicCertificate]:
    certificates = Certificate.objects.filter(dataset_version=version).select_related(
        "standard_version__standard"
    )
    return [
        PublicCertificate(
            number=c.number,
            standard=c.standard_version.label,
            status=certificate_check(c).verdict,
            issued=c.issued,
            expires=c.expires,
        )
        for c in certificates
    ]


def public_manifest(version: DatasetVersion) -> dict[str, Any]:
    """The version's provenance manifest signed with its organisation's key, naming
    (by id and SHA-256) only parents that are published; the others keep their
    relation, as "restricted source"."""
    payload = manifest_payload(version)
    edges = LineageEdge.objects.filter(child=version).select_related("parent")
    payload["parents"] = [
        {"version": e.parent_id, "sha256": e.parent.sha256, "relation": e.relation}
        if e.parent.published_at is not None
        else {"version": None, "sha256": None, "relation": e.relation, "label": RESTRICTED_LABEL}
        for e in edges.order_by("parent_id")
    ]
    return manifest_sign(payload, organisation_keys(version.dataset.organisation))
