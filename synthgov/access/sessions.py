"""A shorter session for privileged accounts (regulators, administrators,
staff and superusers).

At sign-in such a session gets SYNTHGOV_PRIVILEGED_SESSION_SECONDS as its
cookie and database lifetime, and the same moment as an absolute deadline in
the session itself: activity never extends it, and
:class:`PrivilegedSessionMiddleware` signs the user out once it has passed.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from synthgov.accounts.permissions import is_privileged

DEADLINE_KEY = "synthgov_session_deadline"


def privileged_session_start(request: HttpRequest) -> None:
    """Call right after ``login()``: shortens a privileged user's session."""
    if not is_privileged(request.user):
        return
    lifetime = settings.SYNTHGOV_PRIVILEGED_SESSION_SECONDS
    request.session.set_expiry(lifetime)
    request.session[DEADLINE_KEY] = timezone.now().timestamp() + lifetime


class PrivilegedSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        deadline = request.session.get(DEADLINE_KEY) if hasattr(request, "session") else None
        if deadline is not None and timezone.now().timestamp() >= deadline:
            # Pages then redirect to the sign-in page; the API answers 401/403.
            logout(request)
        return self.get_response(request)
