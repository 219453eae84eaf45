"""Sign-off and certificate pages, the public verification page, the
certificate file and the published public keys. Rules live in the services
(``audits.signoffs``, ``audits.certification``); these views only fetch,
check the re-entered password and show the outcome."""

from __future__ import annotations

from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audits import certification, signoffs
from audits.certificate_forms import CertificateLookupForm, RevokeForm, SignOffForm
from audits.certificates.keys import signing_keyring
from audits.certificates.signing import SigningKeyError
from audits.models import AuditRun, Certificate, ComplianceEvaluation
from synthgov.accounts.permissions import DATASET_VIEW, get_object_for_user
from synthgov.downloads import as_attachment


def _add_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def evidence_context(evaluation: ComplianceEvaluation) -> dict[str, Any]:
    """What a signer looks at: each rule's result and the audits behind them."""
    audit_ids = {
        s["audit"] for s in evaluation.sources.values() if isinstance(s, dict) and "audit" in s
    }
    return {
        "rules": evaluation.results.get("rules", []),
        "audits": AuditRun.objects.filter(pk__in=audit_ids)
        .select_related("reference__dataset", "holdout__dataset")
        .order_by("pk"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def signoff_page(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = signoffs.evaluation_for(request.user, pk)
    role, refusal = signoffs.next_signer_role(evaluation, request.user)
    form = SignOffForm(request.POST or None, user=request.user)
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
            except signoffs.SignOffForbidden as refused:
                status = 403
                form.add_error(None, str(refused))
            except signoffs.SignOffConflict as conflict:
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
                messages.success(
                    request, f"Your decision ({signoff.get_decision_display()}) was recorded."
                )
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
            "refusal": refusal,
            "form": form,
            **evidence_context(evaluation),
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


def _verify_url(request: HttpRequest, certificate: Certificate) -> str:
    """The canonical public link (SITE_URL), the same one the certificate states."""
    return settings.SITE_URL + certificate.get_verify_url()


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
    return _detail(request, certificate, RevokeForm(user=request.user))


def _detail(
    request: HttpRequest, certificate: Certificate, form: RevokeForm, status: int = 200
) -> HttpResponse:
    check = certification.certificate_check(certificate)
    may_revoke = check.status in ("valid", "suspended") and (
        certification.regulator_may_revoke(request.user, certificate)
    )
    url = _verify_url(request, certificate)
    return render(
        request,
        "audits/certificates/detail.html",
        {
            "certificate": certificate,
            "check": check,
            "verify_url": url,
            "qr": mark_safe(qr_svg(url)),  # noqa: S308 - segno's own SVG, no user markup
            "may_revoke": may_revoke,
            "form": form,
        },
        status=status,
    )


@login_required
@require_POST
def certificate_revoke(request: HttpRequest, number: str) -> HttpResponse:
    certificate = _certificate(request, number)
    form = RevokeForm(request.POST, user=request.user)
    if not form.is_valid():
        return _detail(request, certificate, form, status=400)
    try:
        certification.certificate_revoke(
            certificate=certificate,
            user=request.user,
            reason=form.cleaned_data["reason"],
            reauthenticated_at=timezone.now(),
        )
    except signoffs.SignOffForbidden as refused:
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
        if certification.certificate_by_number(number) is not None:
            return redirect("certificate_verify", number=number)
        form.add_error(
            "number", f"No certificate {number} exists. Check the number on the certificate."
        )
        status = 404
    return render(request, "audits/certificates/lookup.html", {"form": form}, status=status)


@require_GET
def certificate_verify(request: HttpRequest, number: str) -> HttpResponse:
    certificate = certification.certificate_by_number(number)
    if certificate is None:
        raise Http404(f"No certificate {number} exists.")
    url = _verify_url(request, certificate)
    response = render(
        request,
        "audits/certificates/verify.html",
        {
            "certificate": certificate,
            "check": certification.certificate_check(certificate),
            "verify_url": url,
            "qr": mark_safe(qr_svg(url)),  # noqa: S308 - segno's own SVG, no user markup
        },
    )
    patch_cache_control(response, no_cache=True)
    return response


@require_GET
def certificate_file(request: HttpRequest, number: str) -> HttpResponse:
    """The signed certificate exactly as issued: verify it offline with
    ``python -m synthgov.verify``."""
    certificate = certification.certificate_by_number(number)
    if certificate is None:
        raise Http404(f"No certificate {number} exists.")
    response = HttpResponse(
        certificate.signed_text.encode("utf-8"), content_type="application/json"
    )
    return as_attachment(response, f"{certificate.number}.json")


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
    certification.notification_mark_read(notification_id=pk, user=request.user)
    return redirect("home")
