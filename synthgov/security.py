"""Site-wide security headers and start-up checks that Django does not make
errors of on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.http import HttpRequest, HttpResponse

# Django's own check (security.W009) only warns; a short key signs sessions,
# password-reset links and CSRF tokens that can then be forged.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5


class PermissionsPolicyMiddleware:
    """Adds settings.PERMISSIONS_POLICY to every response: no page of ours
    needs the camera, microphone, location, payment or USB devices."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


@register(Tags.security, deploy=True)
def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """`check --deploy` fails on a missing, short, repetitive or development key."""
    key = str(getattr(settings, "SECRET_KEY", "") or "")
    problem = ""
    if key.startswith("django-insecure"):
        problem = "is the development key (or another django-insecure key)"
    elif len(key) < SECRET_KEY_MIN_LENGTH:
        problem = f"has {len(key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}"
    elif len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        problem = f"has fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct characters"
    if not problem:
        return []
    return [
        Error(
            f"SECRET_KEY {problem}: sessions and CSRF tokens signed with it can be forged.",
            hint="Set SECRET_KEY to a long random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`.",
            id="synthgov.E010",
        )
    ]
