from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from synthgov.accounts import permissions


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Navigation links the signed-in user's roles may use, and nothing else."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_roles": []}
    roles = permissions.roles_for(user)
    items = [("Home", reverse("home"))]
    for label, url_name, perm in NAV_ENTRIES:
        if perm is None or any(perm in permissions.ROLE_PERMISSIONS[r] for r in roles):
            items.append((label, reverse(url_name)))
    if user.is_staff:
        items.append(("Administration", reverse("admin:index")))
    path = request.path
    return {
        "nav_items": [
            {"label": label, "url": url, "active": _is_active(url, path)} for label, url in items
        ],
        "nav_roles": sorted(roles),
    }


def _is_active(url: str, path: str) -> bool:
    return path == url if url == "/" else path.startswith(url)


# (label, url name, permission needed or None for every signed-in user)
NAV_ENTRIES: list[tuple[str, str, str | None]] = [
    ("Datasets", "registry:datasets", permissions.DATASET_VIEW),
    ("Audits", "audits:list", permissions.DATASET_VIEW),
    ("Standards", "audits:standards", None),
    ("Populations", "audits:populations", permissions.POPULATION_PROFILE_EDIT),
    ("Evaluations", "audits:evaluations", permissions.DATASET_VIEW),
    ("Certificates", "audits:certificates", permissions.DATASET_VIEW),
    ("Check origin", "audits:check_origin", permissions.DATASET_VIEW),
    ("Figures", "audits:metrics", None),
    ("Audit trail", "trail:list", permissions.TRAIL_VIEW),
    ("API", "api-docs", None),
]
