"""Sign-in throttling with django-axes: the client's address and the page
shown to a locked username+address pair.

Axes counts wrong passwords per username and address (settings,
``AXES_LOCKOUT_PARAMETERS``) on the sign-in page and on every password
re-entry, because both authenticate through ``django.contrib.auth``. When a
pair reaches the limit, ``AxesMiddleware`` calls :func:`lockout_response`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from synthgov.access import services


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind SYNTHGOV_TRUSTED_PROXY_COUNT
    reverse proxies the address the outermost trusted proxy saw."""
    proxies = settings.SYNTHGOV_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        # Each trusted proxy appends the address it received from; anything
        # further left was written by the client and cannot be trusted.
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def locked_until(*, username: str, ip: str | None) -> datetime:
    """When the newest counted failure of this pair stops counting."""
    latest = AccessAttempt.objects.filter(username=username, ip_address=ip).aggregate(
        latest=Max("attempt_time")
    )["latest"]
    return (latest or timezone.now()) + settings.AXES_COOLOFF_TIME


def _failures(*, username: str, ip: str | None) -> int:
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    counted = AccessAttempt.objects.filter(
        username=username, ip_address=ip, attempt_time__gte=since
    ).aggregate(total=Sum("failures_since_start"))["total"]
    return counted or 0


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "json" in request.headers.get("Accept", "")


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """429 saying when to try again; the lockout goes to the trail once."""
    username = get_client_username(request, credentials) or ""
    ip = getattr(request, "axes_ip_address", None) or client_ip(request)
    until = locked_until(username=username, ip=ip)
    services.login_lockout_record(
        username=username, ip=ip, failures=_failures(username=username, ip=ip), until=until
    )
    wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        f"Too many wrong passwords for {username} from your address. Nothing was signed "
        f"or changed. Try again after {until:%H:%M} UTC ({minutes} minutes after the last "
        "wrong password); ask an administrator if you did not make these attempts."
    )
    if _wants_json(request):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = render(
            request,
            "accounts/locked_out.html",
            {"username": username, "until": until, "minutes": minutes, "message": message},
            status=429,
        )
    response["Retry-After"] = str(wait)
    return response
