"""Certificates: issue (on a regulator's approval), verify, revoke, expire,
suspend when the evidence behind them fails or their lineage moves on, and
the re-audits that keep them honest. Selectors for the dashboard at the end.

The signing itself is the plain ``synthgov.signing`` package; keys come from
``synthgov.signing_keys``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from audits.certification.notifications import notify
from audits.certification.rules import (
    NOT_APPROVABLE_SEVERITIES,
    SignOffForbidden,
    failing_rules,
    regulator_signing_organisation,
    require_fresh_login,
)
from audits.checks.runner import library_versions
from audits.models import (
    AuditRun,
    AuditStatus,
    Certificate,
    CertificateSequence,
    CertificateStatus,
    ComplianceEvaluation,
    SignOff,
    SignOffRole,
    new_verify_token,
)
from audits.runs import services
from registry.models import DatasetVersion, LineageEdge
from synthgov import __version__
from synthgov.signing.certificates import (
    CertificateFormatError,
    certificate_file_bytes,
    parse_certificate_file,
    sign_certificate,
    verify_certificate,
)
from synthgov.signing.keys import Keyring, SigningKeyError
from synthgov.signing_keys import signing_keyring
from synthgov.trail.services import trail_record

CERTIFICATE_FORMAT = "synthgov-certificate/1"
EXPIRING_WITHIN_DAYS = 30
REAUDIT_RETRY_AFTER = timedelta(days=1)
LINEAGE_MAX_DEPTH = 50


class CertificateStateError(Exception):
    """The certificate is not in a state that allows the action (409)."""


def keyring_for_issuing() -> Keyring:
    """The signing keyring, or ValidationError saying what to configure."""
    try:
        return signing_keyring()
    except SigningKeyError as error:
        raise ValidationError(
            f"Certificates cannot be signed on this server right now: {str(error).rstrip('.')}. "
            "Ask an administrator to configure the signing key."
        ) from error


# --- Issuing --------------------------------------------------------------


def _next_number(year: int) -> str:
    sequence, _ = CertificateSequence.objects.select_for_update().get_or_create(year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"SG-{year}-{sequence.last:06d}"


def _audits_behind(evaluation: ComplianceEvaluation) -> list[dict[str, Any]]:
    ids = sorted(
        {s["audit"] for s in evaluation.sources.values() if isinstance(s, dict) and "audit" in s}
    )
    runs = AuditRun.objects.filter(pk__in=ids).order_by("pk")
    return [
        {
            "id": run.pk,
            "evidence_sha256": run.evidence_sha256,
            "finished": iso_utc(run.finished) if run.finished else None,
        }
        for run in runs
    ]


def version_tables(version: Any) -> list[dict[str, str]]:
    """The tables of a version made of linked tables, by name, as a certificate
    names them: ``[{"name", "sha256"}]``."""
    rows = version.tables.order_by("name").values_list("name", "sha256")
    return sorted(({"name": n, "sha256": s} for n, s in rows), key=lambda t: t["name"].encode())


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validity_days(evaluation: ComplianceEvaluation) -> int:
    return (
        evaluation.standard_version.certificate_validity_days
        or settings.SYNTHGOV_CERTIFICATE_VALIDITY_DAYS
    )


def certificate_payload(
    *, number: str, verify_token: str, signoff: SignOff, issued: datetime, expires: date
) -> dict[str, Any]:
    """Everything the certificate states; only strings, integers and lists, so
    its canonical JSON is the same on every machine. Its ``verify_url`` carries
    the verification token: whoever holds the file may see what it states."""
    evaluation = signoff.evaluation
    version = evaluation.dataset_version
    dataset = version.dataset
    standard = evaluation.standard_version
    producer = evaluation.signoffs.filter(role=SignOffRole.PRODUCER).select_related(
        "user", "organisation"
    )
    signoffs = [*producer, signoff]
    return {
        "format": CERTIFICATE_FORMAT,
        "number": number,
        "dataset": {
            "id": dataset.pk,
            "name": dataset.name,
            "kind": dataset.kind,
            "organisation": dataset.organisation.name,
        },
        "dataset_version": {
            "id": version.pk,
            "number": version.number,
            "sha256": version.sha256,
            "rows": version.row_count,
            "size_bytes": version.size_bytes,
            # Linked tables: every table with its hash, from which a verifier recomputes
            # the version hash. Absent for one table, so those payloads are unchanged.
            **({"tables": version_tables(version)} if version.is_relational else {}),
        },
        "standard": {
            "code": standard.standard.code,
            "version": standard.version,
            "name": standard.name,
            "spec_sha256": standard.spec_sha256,
        },
        "evaluation": {
            "id": evaluation.pk,
            "status": evaluation.status,
            "evidence_sha256": evaluation.evidence_sha256,
        },
        "audits": _audits_behind(evaluation),
        "signoffs": [
            {
                "role": s.role,
                "decision": s.decision,
                "by": s.user.get_full_name() or s.user.get_username(),
                "organisation": s.organisation.name,
                "evidence_sha256": s.evidence_sha256,
                "signed": iso_utc(s.created),
            }
            for s in signoffs
        ],
        "issued": iso_utc(issued),
        "expires": expires.isoformat(),
        "issuer": {
            "name": signoff.user.get_full_name() or signoff.user.get_username(),
            "organisation": signoff.organisation.name,
        },
        "verify_url": settings.SITE_URL
        + Certificate(number=number, verify_token=verify_token).get_share_url(),
    }


def certificate_issue(*, signoff: SignOff, keyring: Keyring) -> Certificate:
    """Issue the certificate for a regulator's approval; call inside the
    sign-off's transaction (the evaluation row is locked)."""
    evaluation = signoff.evaluation
    issued = timezone.now()
    expires = issued.date() + timedelta(days=validity_days(evaluation))
    number = _next_number(issued.year)
    token = new_verify_token()
    payload = certificate_payload(
        number=number, verify_token=token, signoff=signoff, issued=issued, expires=expires
    )
    document = sign_certificate(payload, keyring)
    certificate = Certificate.objects.create(
        number=number,
        verify_token=token,
        evaluation=evaluation,
        signoff=signoff,
        dataset_version=evaluation.dataset_version,
        standard_version=evaluation.standard_version,
        evidence_sha256=evaluation.evidence_sha256,
        issued=issued,
        expires=expires,
        issued_by=signoff.user,
        issuer_organisation=signoff.organisation,
        kid=document["signature"]["kid"],
        signed_text=certificate_file_bytes(document).decode("utf-8"),
    )
    trail_record(
        actor=signoff.user,
        action="audits.certificate.issued",
        target=certificate,
        organisation=evaluation.dataset_version.dataset.organisation,
        payload={
            "number": number,
            "evaluation": evaluation.pk,
            "evidence_sha256": evaluation.evidence_sha256,
            "dataset_version_sha256": evaluation.dataset_version.sha256,
            "standard": evaluation.standard_version.label,
            "expires": expires.isoformat(),
            "kid": certificate.kid,
        },
    )
    notify(
        organisation=evaluation.dataset_version.dataset.organisation,
        message=f"Certificate {number} issued for {evaluation.dataset_version} against "
        f"{evaluation.standard_version.label}, valid until {expires.isoformat()}.",
        link=certificate.get_absolute_url(),
    )
    return certificate


# --- Verifying ------------------------------------------------------------


@dataclass(frozen=True)
class CertificateCheck:
    """What the public page and API say about a certificate.

    ``signature_valid``: the stored file verifies against the published keys
    (None when the keys cannot be loaded on this server right now).
    ``status``: valid, expired, revoked or suspended, as of today.
    """

    certificate: Certificate
    status: str
    signature_valid: bool | None
    signature_reason: str
    payload: dict[str, Any]

    @property
    def verdict(self) -> str:
        """The status to show: never "valid" unless the signature verifies.
        "invalid" when it does not; "unchecked" for a valid one whose
        signature cannot be checked right now."""
        if self.signature_valid is False:
            return "invalid"
        if self.signature_valid is None and self.status == CertificateStatus.VALID:
            return "unchecked"
        return self.status


def certificate_check(certificate: Certificate, *, today: date | None = None) -> CertificateCheck:
    today = today or timezone.now().date()
    try:
        document = parse_certificate_file(certificate.signed_text)
    except CertificateFormatError as error:
        # Only a changed database row gets here: say so rather than fail.
        return CertificateCheck(
            certificate=certificate,
            status=certificate.effective_status(today),
            signature_valid=False,
            signature_reason=str(error),
            payload={},
        )
    payload = document.get("certificate", {})
    try:
        public_keys = signing_keyring().public_keys()
    except SigningKeyError:
        valid, reason = None, "The signing keys cannot be loaded on this server right now."
    else:
        result = verify_certificate(document, public_keys, today=today)
        valid = result.signature_valid and payload.get("number") == certificate.number
        reason = result.reason if valid or not result.signature_valid else "number mismatch"
    return CertificateCheck(
        certificate=certificate,
        status=certificate.effective_status(today),
        signature_valid=valid,
        signature_reason=reason,
        payload=payload,
    )


def certificate_by_number(number: str) -> Certificate | None:
    return (
        Certificate.objects.select_related(
            "dataset_version__dataset__organisation",
            "standard_version__standard",
            "issuer_organisation",
            "issued_by",
            "status_changed_by",
        )
        .filter(number=number.strip().upper())
        .first()
    )


# --- Revoking, expiring, suspending ---------------------------------------


def _ended_message(certificate: Certificate) -> str:
    return (
        f"Certificate {certificate.number} is already {certificate.get_status_display().lower()}"
        + (f" ({certificate.status_reason})" if certificate.status_reason else "")
        + "."
    )


def regulator_may_revoke(user: Any, certificate: Certificate) -> bool:
    """True when the user could revoke (same rule as signing as regulator)."""
    try:
        regulator_signing_organisation(user, certificate.evaluation)
    except SignOffForbidden:
        return False
    return True


def certificate_revoke(
    *, certificate: Certificate, user: Any, reason: str, reauthenticated_at: datetime | None
) -> Certificate:
    """Revoke a valid or suspended certificate. Only a regulator who could
    sign its evaluation (covering jurisdiction, not their own organisation)."""
    require_fresh_login(reauthenticated_at)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for revoking: it is shown publicly."]})
    regulator = regulator_signing_organisation(user, certificate.evaluation)
    with transaction.atomic():
        locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if locked.effective_status() not in (CertificateStatus.VALID, CertificateStatus.SUSPENDED):
            raise CertificateStateError(_ended_message(locked))
        locked.status = CertificateStatus.REVOKED
        locked.status_changed = timezone.now()
        locked.status_reason = reason
        locked.status_changed_by = user
        locked.save(
            update_fields=["status", "status_changed", "status_reason", "status_changed_by"]
        )
        _trail_status(locked, "audits.certificate.revoked", actor=user, reason=reason)
        _notify_both(
            locked,
            f"Certificate {locked.number} was revoked by {user} ({regulator}): {reason}",
        )
    return locked


def _trail_status(
    certificate: Certificate, action: str, *, actor: Any, reason: str, **extra: Any
) -> None:
    trail_record(
        actor=actor,
        actor_label="" if actor else "certificate review",
        action=action,
        target=certificate,
        organisation=certificate.dataset_version.dataset.organisation,
        payload={"number": certificate.number, "reason": reason, **extra},
    )


def _notify_both(certificate: Certificate, message: str) -> None:
    link = certificate.get_absolute_url()
    notify(
        organisation=certificate.dataset_version.dataset.organisation, message=message, link=link
    )
    if certificate.issuer_organisation_id != certificate.dataset_version.dataset.organisation_id:
        notify(organisation=certificate.issuer_organisation, message=message, link=link)


def certificate_suspend(*, certificate: Certificate, reason: str, **details: Any) -> bool:
    """Suspend a valid certificate; False when it was not valid any more."""
    with transaction.atomic():
        changed = Certificate.objects.filter(
            pk=certificate.pk, status=CertificateStatus.VALID
        ).update(
            status=CertificateStatus.SUSPENDED,
            status_changed=timezone.now(),
            status_reason=reason,
        )
        if not changed:
            return False
        certificate.refresh_from_db()
        _trail_status(
            certificate, "audits.certificate.suspended", actor=None, reason=reason, **details
        )
        _notify_both(certificate, f"Certificate {certificate.number} is suspended: {reason}")
    return True


def certificates_suspend_for_stored_file(
    *, version: DatasetVersion, outcome: str, found_by: str
) -> int:
    """Suspend every valid certificate of a version whose stored file is altered
    or missing (``outcome``), found by an audit or the storage scrub. The bytes a
    certificate vouches for are gone: it must not stay valid. Returns how many."""
    if outcome == "missing":
        reason = f"The stored file of {version} is missing from storage (found by {found_by})."
    else:
        reason = (
            f"The stored file of {version} no longer matches the SHA-256 recorded at upload: "
            f"it was altered (found by {found_by})."
        )
    certificates = Certificate.objects.filter(
        dataset_version=version, status=CertificateStatus.VALID
    ).select_related("dataset_version__dataset", "issuer_organisation")
    return sum(
        certificate_suspend(certificate=certificate, reason=reason, stored_file=outcome)
        for certificate in certificates
    )


def certificates_expire(*, today: date | None = None) -> int:
    """Mark valid certificates whose expiry date has come; notify; return how many."""
    today = today or timezone.now().date()
    count = 0
    due = Certificate.objects.filter(status=CertificateStatus.VALID, expires__lte=today)
    for certificate in due.select_related("dataset_version__dataset").iterator(chunk_size=200):
        with transaction.atomic():
            changed = Certificate.objects.filter(
                pk=certificate.pk, status=CertificateStatus.VALID
            ).update(
                status=CertificateStatus.EXPIRED,
                status_changed=timezone.now(),
                status_reason=f"Expired on {certificate.expires.isoformat()}.",
            )
            if not changed:
                continue
            certificate.refresh_from_db()
            _trail_status(
                certificate,
                "audits.certificate.expired",
                actor=None,
                reason=certificate.status_reason,
            )
            _notify_both(
                certificate,
                f"Certificate {certificate.number} for {certificate.dataset_version} expired on "
                f"{certificate.expires.isoformat()}. Sign off a current evaluation to renew it.",
            )
            count += 1
    return count


# --- Evidence moving on ---------------------------------------------------


def _latest_audit_finish(evaluation: ComplianceEvaluation) -> datetime | None:
    ids = [s["audit"] for s in evaluation.sources.values() if isinstance(s, dict) and "audit" in s]
    if not ids:
        return None
    return AuditRun.objects.filter(pk__in=ids).aggregate(latest=Max("finished"))["latest"]


def certificates_on_new_evaluation(*, evaluation: ComplianceEvaluation) -> int:
    """Called by ``compliance.evaluation_compute`` when new evidence made a new
    evaluation: a valid certificate of the same dataset version and standard
    is suspended when a re-audit (an audit finished after it was issued) now
    fails a rule that could not have been approved. Returns how many."""
    hard = [r for r in failing_rules(evaluation) if r.get("severity") in NOT_APPROVABLE_SEVERITIES]
    if not hard:
        return 0
    certificates = Certificate.objects.filter(
        dataset_version=evaluation.dataset_version,
        standard_version__standard=evaluation.standard_version.standard,
        status=CertificateStatus.VALID,
    ).select_related("dataset_version__dataset", "issuer_organisation")
    latest = _latest_audit_finish(evaluation)
    suspended = 0
    for certificate in certificates:
        if latest is None or latest <= certificate.issued:
            continue  # not a re-audit: e.g. a republished standard, judged at renewal
        rules = ", ".join(f"{r['key']} ({r['severity']})" for r in hard)
        reason = f"A re-audit on {latest:%Y-%m-%d} fails {rules}."
        suspended += certificate_suspend(
            certificate=certificate, reason=reason, evaluation=evaluation.pk
        )
    return suspended


def _ancestors(version_ids: set[int]) -> dict[int, set[int]]:
    """Every ancestor version of each given version, one query per lineage level."""
    ancestors: dict[int, set[int]] = {v: set() for v in version_ids}
    frontier: dict[int, set[int]] = {v: {v} for v in version_ids}
    for _ in range(LINEAGE_MAX_DEPTH):
        nodes = set().union(*frontier.values())
        if not nodes:
            break
        parents: dict[int, set[int]] = {}
        for child, parent in LineageEdge.objects.filter(child_id__in=nodes).values_list(
            "child_id", "parent_id"
        ):
            parents.setdefault(child, set()).add(parent)
        next_frontier: dict[int, set[int]] = {}
        for origin, reached in frontier.items():
            found = set().union(*(parents.get(n, set()) for n in reached)) - ancestors[origin]
            ancestors[origin] |= found
            if found:
                next_frontier[origin] = found
        frontier = next_frontier
    return ancestors


def _replaced_parent_reason(
    certificate: Certificate, ancestor: DatasetVersion, latest: DatasetVersion
) -> tuple[str, bool]:
    """Why the certificate is suspended, and whether that names the ancestor: only when
    every reader of the certified version may see it (the reason reaches the holder's
    members, the issuing regulator, the trail and the verification page)."""
    shown = DatasetVersion.objects.shown_with(certificate.dataset_version)
    if not shown.filter(pk=ancestor.pk).exists():
        return (
            "A parent in its lineage was replaced: a restricted source from which this "
            "dataset version descends has a newer version.",
            False,
        )
    return (
        f"A parent in its lineage was replaced: {ancestor.dataset.name} has a newer "
        f"version (v{latest.number}, {latest.created:%Y-%m-%d}) than v"
        f"{ancestor.number}, from which this dataset version descends.",
        True,
    )


def certificates_check_lineage() -> int:
    """Suspend valid certificates one of whose ancestors (in another dataset)
    was replaced: its dataset received a newer version after the certificate
    was issued. A bounded number of queries, whatever the number of
    certificates. Returns how many were suspended."""
    certificates = list(
        Certificate.objects.filter(status=CertificateStatus.VALID).select_related(
            "dataset_version__dataset", "issuer_organisation"
        )
    )
    if not certificates:
        return 0
    ancestors = _ancestors({c.dataset_version_id for c in certificates})
    all_ancestors = set().union(*ancestors.values())
    if not all_ancestors:
        return 0
    # Each ancestor's dataset names its newest version (kept by the upload service).
    versions = {
        v.pk: v
        for v in DatasetVersion.objects.filter(pk__in=all_ancestors).select_related(
            "dataset__latest_version"
        )
    }
    suspended = 0
    for certificate in certificates:
        own_dataset = certificate.dataset_version.dataset_id
        for ancestor_id in sorted(ancestors[certificate.dataset_version_id]):
            ancestor = versions[ancestor_id]
            latest = ancestor.dataset.latest_version
            if ancestor.dataset_id == own_dataset or latest.created <= certificate.issued:
                continue
            reason, named = _replaced_parent_reason(certificate, ancestor, latest)
            # The trail names the ancestor's id only when the reason may name it.
            details = {"ancestor": ancestor.pk} if named else {}
            suspended += certificate_suspend(certificate=certificate, reason=reason, **details)
            break
    return suspended


def _current_library_versions() -> dict[str, str]:
    return {**library_versions(), "synthgov": __version__}


def _reaudit_reason(
    certificate: Certificate, latest: AuditRun | None, now: datetime, versions: dict[str, str]
) -> str:
    """Why the certified version needs a new audit now, or ""."""
    if latest is None:
        return ""
    interval = certificate.standard_version.reaudit_interval_days
    if interval and latest.finished and latest.finished + timedelta(days=interval) <= now:
        return (
            f"the standard asks for a re-audit every {interval} days; the last one finished "
            f"{latest.finished:%Y-%m-%d}"
        )
    changed = sorted(
        f"{name} {latest.library_versions.get(name, 'none')} → {version}"
        for name, version in versions.items()
        if latest.library_versions.get(name) != version
    )
    if changed:
        return "the audit code changed: " + ", ".join(changed)
    return ""


def certificates_review(*, now: datetime | None = None) -> dict[str, int]:
    """The daily review: suspend certificates whose lineage moved on, and
    request a re-audit of certified versions that are due one. Returns counts."""
    now = now or timezone.now()
    suspended = certificates_check_lineage()
    versions = _current_library_versions()
    requested = 0
    certificates = Certificate.objects.filter(
        status=CertificateStatus.VALID, expires__gt=now.date()
    ).select_related("standard_version", "dataset_version__dataset__organisation")
    for certificate in certificates.iterator(chunk_size=200):
        if (
            certificate.reaudit_requested
            and certificate.reaudit_requested > now - REAUDIT_RETRY_AFTER
        ):
            continue
        runs = AuditRun.objects.filter(version=certificate.dataset_version_id)
        if runs.filter(status__in=[AuditStatus.QUEUED, AuditStatus.RUNNING]).exists():
            continue
        latest = runs.filter(status=AuditStatus.SUCCEEDED).order_by("-finished").first()
        reason = _reaudit_reason(certificate, latest, now, versions)
        if not reason:
            continue
        try:
            certificate_reaudit_request(certificate=certificate, latest=latest, reason=reason)
        except ValidationError as refused:
            # E.g. the last audit's reference is another organisation's data that became
            # restricted: the re-audit may not compute from it. The others go on.
            _reaudit_refused(certificate, refused, now=now)
            continue
        requested += 1
    return {"suspended": suspended, "reaudits_requested": requested}


def _reaudit_refused(certificate: Certificate, refused: ValidationError, *, now: datetime) -> None:
    problem = " ".join(refused.messages)
    with transaction.atomic():
        Certificate.objects.filter(pk=certificate.pk).update(reaudit_requested=now)
        _trail_status(certificate, "audits.certificate.reaudit_refused", actor=None, reason=problem)
        notify(
            organisation=certificate.dataset_version.dataset.organisation,
            message=f"A re-audit of {certificate.dataset_version} for certificate "
            f"{certificate.number} could not be requested: {problem} Audit it again with "
            "a reference your organisation may read.",
            link=certificate.dataset_version.get_absolute_url(),
        )


def certificate_reaudit_request(
    *, certificate: Certificate, latest: AuditRun, reason: str
) -> AuditRun:
    """Queue a re-audit with the same inputs and configuration as the last one,
    in the name of the curator who signed for the producer."""
    producer = certificate.evaluation.signoffs.filter(role=SignOffRole.PRODUCER).first()
    requester = producer.user if producer else certificate.issued_by
    with transaction.atomic():
        run = services.audit_run_request(
            version=certificate.dataset_version,
            reference=latest.reference,
            holdout=latest.holdout,
            config=latest.config,
            user=requester,
        )
        Certificate.objects.filter(pk=certificate.pk).update(reaudit_requested=timezone.now())
        _trail_status(
            certificate,
            "audits.certificate.reaudit_requested",
            actor=None,
            reason=reason,
            audit=run.pk,
        )
    return run


# --- Selectors ------------------------------------------------------------


def certificates_for(user: Any) -> QuerySet[Certificate]:
    return Certificate.objects.visible_to(user).select_related(
        "dataset_version__dataset__organisation",
        "standard_version__standard",
        "issuer_organisation",
    )


def certificates_expiring(
    user: Any, *, within_days: int = EXPIRING_WITHIN_DAYS, limit: int = 10
) -> list[Certificate]:
    today = timezone.now().date()
    return list(
        certificates_for(user)
        .filter(
            status=CertificateStatus.VALID,
            expires__gt=today,
            expires__lte=today + timedelta(days=within_days),
        )
        .order_by("expires", "id")[:limit]
    )


def certificates_suspended(user: Any, *, limit: int = 10) -> list[Certificate]:
    return list(
        certificates_for(user)
        .filter(status=CertificateStatus.SUSPENDED)
        .order_by("-status_changed", "-id")[:limit]
    )
