"""Sign-off and certificate pages, the public verification page, the
certificate file and the published public keys. Rules live in the services
(``audits.certification.signoffs``, ``audits.certification.certificates``); these views only fetch,
check the re-entered password and show the outcome."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audits.certification import certificates as certification
from audits.certification import notifications, signoffs
from audits.certification import public as certificate_public
from audits.certification import rules as certification_rules
from audits.certification.forms import CertificateLookupForm, RevokeForm, SignOffForm
from audits.models import (
    AuditRun,
    Certificate,
    ComplianceEvaluation,
    SignOffDecision,
    SignOffRole,
)
from audits.runs import disclosure
from synthgov.accounts.permissions import DATASET_VIEW, get_object_for_user
from synthgov.downloads import as_attachment
from synthgov.signing.keys import SigningKeyError
from synthgov.signing_keys import signing_keyring


def _add_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def evidence_context(evaluation: ComplianceEvaluation, *, user: Any) -> dict[str, Any]:
    """What a reader of the sign-off page looks at: each rule's result and the audits
    behind them, as ``user`` may see them. An audit whose inputs the user may not all
    see is counted, never named, linked or hashed (its reference would name another
    organisation's restricted data)."""
    audit_ids = {
        s["audit"] for s in evaluation.sources.values() if isinstance(s, dict) and "audit" in s
    }
    audits = list(
        AuditRun.objects.visible_to(user)
        .filter(pk__in=audit_ids)
        .select_related("reference__dataset", "holdout__dataset")
        .order_by("pk")
    )
    return {
        "rules": disclosure.evaluation_rules_for(user=user, evaluation=evaluation),
        "audits": audits,
        "restricted_audits": len(audit_ids) - len(audits),
    }


def signoff_consequences(
    evaluation: ComplianceEvaluation, role: str | None
) -> list[dict[str, str]]:
    """What each decision does when ``role`` signs, in the words the confirmation uses."""
    if role == SignOffRole.REGULATOR:
        approve = (
            "Approving issues a signed certificate for "
            f"{evaluation.dataset_version} against {evaluation.standard_version.label}. "
            "Anyone with its number can verify it on the public page; it can later be "
            "revoked, never unsigned."
        )
    else:
        approve = (
            "Approving records your organisation's approval of "
            f"{evaluation.dataset_version} against {evaluation.standard_version.label} "
            "and passes the evaluation to a regulator, who decides on the certificate."
        )
    closes = (
        "closes sign-off on this evaluation: nobody can approve it until the evidence "
        "changes (a new audit or a republished standard)."
    )
    return [
        {"decision": SignOffDecision.APPROVE, "text": approve},
        {"decision": SignOffDecision.REJECT, "text": f"Rejecting {closes}"},
        {
            "decision": SignOffDecision.REQUEST_CHANGES,
            "text": f"Requesting changes {closes} The curators are notified with your comment.",
        },
    ]


@login_required
@require_http_methods(["GET", "POST"])
def signoff_page(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = certification_rules.evaluation_for(request.user, pk)
    role, refusal = signoffs.next_signer_role(evaluation, request.user)
    form = SignOffForm(request.POST or None, user=request.user, request=request)
    status = 200
    if request.method == "POST":
        # Even when the page already says why the user cannot sign, the
        # service decides (and its refusal carries the right status).
        if form.is_valid():
            try:
                signoff = signoffs.signoff_record(
                    evaluation=evaluation,
                    user=request.user,
                    decision=form.cleaned_data["decision"],
                    comment=form.cleaned_data["comment"],
                    reauthenticated_at=timezone.now(),
                )
            except certification_rules.SignOffForbidden as refused:
                status = 403
                form.add_error(None, str(refused))
            except certification_rules.SignOffConflict as conflict:
                status = 409
                form.add_error(None, str(conflict))
            except ValidationError as error:
                status = 400
                _add_errors(form, error)
            else:
                certificate = getattr(signoff, "certificate", None)
                if certificate is not None:
                    messages.success(request, f"Approved. Certificate {certificate} was issued.")
                    return redirect(certificate)
                done = signoffs.decision_in_words(signoff.decision)
                messages.success(request, f"Your decision was recorded: {done}.")
                return redirect(evaluation)
        else:
            status = 400
    return render(
        request,
        "audits/signoff.html",
        {
            "evaluation": evaluation,
            "state": signoffs.signoff_state(evaluation),
            "role": role,
            "can_sign": role is not None,
            "refusal": refusal,
            "form": form,
            "consequences": signoff_consequences(evaluation, role),
            **evidence_context(evaluation, user=request.user),
        },
        status=status,
    )


def _certificate(request: HttpRequest, number: str) -> Certificate:
    return get_object_for_user(
        user=request.user,
        queryset=certification.certificates_for(request.user).select_related(
            "evaluation", "status_changed_by", "issued_by"
        ),
        perm=DATASET_VIEW,
        number=number.upper(),
    )


def qr_svg(url: str) -> str:
    """The verification link as an inline SVG QR code (no external requests)."""
    return segno.make(url, error="m").svg_inline(scale=4, border=2, title="Verification link")


def _share_context(certificate: Certificate, shared: bool) -> dict[str, Any]:
    """The verification link, its QR code and the file link. ``shared``: the
    link carries the verification token (so it shows what the certificate
    states); otherwise it is the page by number alone, and no file link."""
    path = certificate.get_share_url() if shared else certificate.get_verify_url()
    url = settings.SITE_URL + path
    file_url = None
    if shared:
        file_url = f"{reverse('certificate_file', args=[certificate.number])}?" + urlencode(
            {"token": certificate.verify_token}
        )
    return {
        "verify_url": url,
        "qr": mark_safe(qr_svg(url)),  # noqa: S308 - segno's own SVG, no user markup
        "file_url": file_url,
        "shared": shared,
    }


@login_required
def certificate_list(request: HttpRequest) -> HttpResponse:
    certificates = certification.certificates_for(request.user).order_by("-issued", "-id")
    status = request.GET.get("status", "")
    if status:
        certificates = certificates.filter(status=status)
    page = Paginator(certificates, 50).get_page(request.GET.get("page"))
    return render(request, "audits/certificates/list.html", {"page": page, "status": status})


@login_required
def certificate_detail(request: HttpRequest, number: str) -> HttpResponse:
    certificate = _certificate(request, number)
    form = RevokeForm(user=request.user, request=request, certificate_number=certificate.number)
    return _detail(request, certificate, form)


def _detail(
    request: HttpRequest, certificate: Certificate, form: RevokeForm, status: int = 200
) -> HttpResponse:
    check = certification.certificate_check(certificate)
    may_revoke = check.status in ("valid", "suspended") and (
        certification.regulator_may_revoke(request.user, certificate)
    )
    sharing = certificate_public.certificate_sharing_organisations(request.user)
    return render(
        request,
        "audits/certificates/detail.html",
        {
            "certificate": certificate,
            "check": check,
            "status_reason": certificate.status_reason,
            "may_revoke": may_revoke,
            "form": form,
            **_share_context(
                certificate, certificate_public.certificate_shared_with(certificate, sharing)
            ),
        },
        status=status,
    )


@login_required
@require_POST
def certificate_revoke(request: HttpRequest, number: str) -> HttpResponse:
    certificate = _certificate(request, number)
    form = RevokeForm(
        request.POST, user=request.user, request=request, certificate_number=certificate.number
    )
    if not form.is_valid():
        return _detail(request, certificate, form, status=400)
    try:
        certification.certificate_revoke(
            certificate=certificate,
            user=request.user,
            reason=form.cleaned_data["reason"],
            reauthenticated_at=timezone.now(),
        )
    except certification_rules.SignOffForbidden as refused:
        form.add_error(None, str(refused))
        return _detail(request, certificate, form, status=403)
    except certification.CertificateStateError as conflict:
        form.add_error(None, str(conflict))
        return _detail(request, certificate, form, status=409)
    except ValidationError as error:
        _add_errors(form, error)
        return _detail(request, certificate, form, status=400)
    messages.success(request, f"Certificate {certificate} is revoked.")
    return redirect(certificate)


# --- Public: no login ------------------------------------------------------


@require_GET
def certificate_lookup(request: HttpRequest) -> HttpResponse:
    form = CertificateLookupForm(request.GET or None)
    status = 200
    if form.is_bound and form.is_valid():
        number = form.cleaned_data["number"].strip().upper()
        token = form.cleaned_data["token"].strip()
        if certification.certificate_by_number(number) is not None:
            url = reverse("certificate_verify", args=[number])
            return redirect(f"{url}?{urlencode({'token': token})}" if token else url)
        form.add_error(
            "number", f"No certificate {number} exists. Check the number on the certificate."
        )
        status = 404
    return render(request, "audits/certificates/lookup.html", {"form": form}, status=status)


@require_GET
def certificate_verify(request: HttpRequest, number: str) -> HttpResponse:
    """By number alone: whether it is in force. With the token (the link and QR
    code on the certificate): what it states, and its file."""
    verification = certificate_public.certificate_public_check(number, request.GET.get("token"))
    if verification is None:
        raise Http404(f"No certificate {number} exists.")
    certificate = verification.certificate
    context: dict[str, Any] = {
        "certificate": certificate,
        "verification": verification,
        "check": verification.check,
        "status_reason": verification.status_reason,
    }
    if verification.disclosed:
        context.update(_share_context(certificate, shared=True))
    response = render(request, "audits/certificates/verify.html", context)
    patch_cache_control(response, no_cache=True)
    return response


@require_GET
def certificate_file(request: HttpRequest, number: str) -> HttpResponse:
    """The signed certificate exactly as issued, for the number and its
    verification token: verify it offline with ``python -m synthgov.verify``."""
    certificate = certificate_public.certificate_for_file(number, request.GET.get("token"))
    if certificate is None:
        raise Http404(
            f"No certificate file for {number} with this verification token: use the link "
            "or QR code on the certificate."
        )
    response = HttpResponse(
        certificate.signed_text.encode("utf-8"), content_type="application/json"
    )
    return as_attachment(response, f"{certificate.number}.json")


@require_GET
def revocations(request: HttpRequest) -> JsonResponse:
    """The signed list of revoked and suspended certificate numbers, for
    ``python -m synthgov.verify --revocations``."""
    try:
        document = certificate_public.revocation_list()
    except SigningKeyError:
        return JsonResponse(
            {"detail": "The signing keys are not configured on this server."}, status=503
        )
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    patch_cache_control(response, public=True, max_age=300)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def public_keys(request: HttpRequest) -> JsonResponse:
    """Every key that signed or signs certificates, by key id (current and retired)."""
    try:
        document = signing_keyring().public_keys_document()
    except SigningKeyError:
        return JsonResponse(
            {"detail": "The signing keys are not configured on this server."}, status=503
        )
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    patch_cache_control(response, public=True, max_age=300)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notifications.notification_mark_read(notification_id=pk, user=request.user)
    return redirect("home")
