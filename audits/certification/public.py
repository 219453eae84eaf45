"""What the public learns about a certificate, and who sees its verification link.

Certificate numbers are sequential and human-readable, so anyone can ask about
any number: by number alone the public page and API say only whether a
certificate with that number is in force. What it states, why it is not in
force and the signed file need the verification token (128 random bits) that
the holder publishes in the certificate's link and QR code, and that new
certificates' signed files carry. The token is shown only to members of the
holding and issuing organisations. Revoked and suspended numbers are published
in a signed list for offline verification.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from audits.certification.certificates import (
    CertificateCheck,
    certificate_by_number,
    certificate_check,
    iso_utc,
)
from audits.models import Certificate, CertificateStatus
from audits.standards import engine
from registry.models import DatasetVersion
from synthgov.accounts.permissions import CERTIFICATE_SHARE, member_organisations
from synthgov.signing.revocations import REVOCATIONS_FORMAT, sign_revocation_list
from synthgov.signing_keys import signing_keyring

NUMBER_ONLY_DETAIL = (
    "By its number alone only the status of certificate {number} is shown. To see what it "
    "certifies, open the verification link or QR code on the certificate (it carries the "
    "verification token) or check the certificate file."
)
MISMATCH_DETAIL = (
    "The verification token does not match certificate {number}: the link was altered or "
    "belongs to another certificate. Only the certificate's status is shown."
)
SUSPENDED_PUBLIC_REASON = (
    "Suspended while the evidence behind it is reviewed: a re-audit failed a rule that "
    "cannot be approved, or a dataset it descends from has changed."
)


@dataclass(frozen=True)
class PublicVerification:
    """What anyone may learn about a certificate on the public page and API.

    Numbers are sequential, so anyone can ask about any of them: by number
    alone (``disclosed`` False) only the verdict. With the verification token
    the holder publishes in the certificate's link and QR code (``disclosed``
    True), also what it states, why it is not in force and its file.
    ``detail``: what to do to see more, or "".
    """

    check: CertificateCheck
    disclosed: bool
    detail: str

    @property
    def certificate(self) -> Certificate:
        return self.check.certificate

    @property
    def status(self) -> str:
        return self.check.verdict

    @property
    def status_reason(self) -> str:
        """Why it is not in force, as the public may read it (only when disclosed).
        A revocation's reason was written for the public; a suspension's may name
        datasets of other organisations, so a general sentence stands for it."""
        if not self.disclosed:
            return ""
        status = self.certificate.effective_status()
        if status == CertificateStatus.REVOKED:
            return self.certificate.status_reason
        if status == CertificateStatus.SUSPENDED:
            return SUSPENDED_PUBLIC_REASON
        if status == CertificateStatus.EXPIRED:
            return f"Expired on {self.certificate.expires.isoformat()}."
        return ""

    @property
    def newer_version(self) -> int | None:
        """The number of the dataset's newest version when it is newer than the
        certified one (only when disclosed: the statement already names the
        dataset and its version; by number alone nothing more is said)."""
        if not self.disclosed:
            return None
        return newer_version_number(self.certificate)

    @property
    def display_status(self) -> engine.RuleStatusView:
        """The verdict in the words and colour every page uses."""
        return engine.certificate_status_view(self.status)


def newer_version_number(certificate: Certificate) -> int | None:
    """The dataset's newest version number if newer than the certificate's, else None."""
    version = certificate.dataset_version
    newest = (
        DatasetVersion.objects.filter(dataset_id=version.dataset_id)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return newest if newest is not None and newest > version.number else None


def certificate_token_matches(certificate: Certificate, token: str) -> bool:
    """True when ``token`` is the certificate's verification token (compared in
    constant time, so the comparison does not tell how much of it was right)."""
    expected = certificate.verify_token
    return bool(expected and token) and hmac.compare_digest(
        expected.encode("utf-8"), token.encode("utf-8")
    )


def certificate_public_check(number: str, token: str | None) -> PublicVerification | None:
    """The public verification of certificate ``number``; None when there is none."""
    certificate = certificate_by_number(number)
    if certificate is None:
        return None
    check = certificate_check(certificate)
    if certificate_token_matches(certificate, token or ""):
        return PublicVerification(check, disclosed=True, detail="")
    detail = MISMATCH_DETAIL if token else NUMBER_ONLY_DETAIL
    return PublicVerification(
        check, disclosed=False, detail=detail.format(number=certificate.number)
    )


def certificate_for_file(number: str, token: str | None) -> Certificate | None:
    """The certificate whose signed file the number and token unlock, or None."""
    certificate = certificate_by_number(number)
    if certificate is None or not certificate_token_matches(certificate, token or ""):
        return None
    return certificate


def certificate_sharing_organisations(user: Any) -> set[int]:
    """Organisations whose certificates' verification links the user may see:
    those they belong to. A certificate's link is shown to its holder and its
    issuer, not to everyone who may see the certificate (an open dataset's
    certificate is visible to every signed-in user)."""
    return set(member_organisations(user, CERTIFICATE_SHARE).values_list("id", flat=True))


def certificate_shared_with(certificate: Certificate, sharing: set[int]) -> bool:
    """True when ``sharing`` (from :func:`certificate_sharing_organisations`)
    holds the certificate's holder or issuer."""
    holders = {certificate.dataset_version.dataset.organisation_id}
    holders.add(certificate.issuer_organisation_id)
    return bool(holders & sharing)


def certificate_link(certificate: Certificate, sharing: set[int]) -> str:
    """The verification link to show: with the token to the holder and the
    issuer, otherwise the page by number alone."""
    if certificate_shared_with(certificate, sharing):
        return settings.SITE_URL + certificate.get_share_url()
    return settings.SITE_URL + certificate.get_verify_url()


def revocation_list(*, now: datetime | None = None) -> dict[str, Any]:
    """The signed list of certificates not in force for a reason their file
    cannot show (revoked or suspended): numbers, status and since when; no
    names, reasons or tokens. Raises SigningKeyError when keys are missing."""
    keyring = signing_keyring()
    now = now or timezone.now()
    rows = (
        Certificate.objects.filter(
            status__in=[CertificateStatus.REVOKED, CertificateStatus.SUSPENDED]
        )
        .order_by("number")
        .values_list("number", "status", "status_changed")
    )
    body = {
        "format": REVOCATIONS_FORMAT,
        "issuer": settings.SITE_URL,
        "generated": iso_utc(now),
        "certificates": [
            {"number": number, "status": status, "since": iso_utc(since) if since else ""}
            for number, status, since in rows
        ],
    }
    return sign_revocation_list(body, keyring)
