from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from synthgov.accounts.permissions import TRAIL_VIEW, user_has_perm_anywhere
from synthgov.trail.models import Event


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    if not (request.user.is_superuser or user_has_perm_anywhere(request.user, TRAIL_VIEW)):
        raise PermissionDenied
    events = Event.objects.visible_to(request.user).select_related("organisation")
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    actions = (
        Event.objects.visible_to(request.user).order_by("action").values_list("action", flat=True)
    ).distinct()
    return render(
        request,
        "trail/event_list.html",
        {"page": page, "action": action, "actions": list(actions)},
    )
