from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from synthgov.accounts.permissions import TRAIL_VIEW, user_has_perm_anywhere
from synthgov.trail.models import Checkpoint, Event


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


CHECKPOINTS_PER_PAGE = 500


def _public_json(data: dict) -> JsonResponse:
    response = JsonResponse(data, json_dumps_params={"indent": 2})
    patch_cache_control(response, public=True, max_age=60)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def checkpoint_list(request: HttpRequest) -> JsonResponse:
    """Signed checkpoints, oldest first, after ``?after=<seq>``.

    Public on purpose: a checkpoint is only worth something if people other
    than the operator keep copies. Each discloses the number of events in the
    whole trail, a hash and a time; no event content, actor or organisation.
    """
    text = request.GET.get("after", "0")
    # Bounded before int(): the column is a 64-bit integer.
    after = int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
    if after is None:
        return JsonResponse(
            {"detail": '"after" must be a whole number of at most 18 digits (a seq).'},
            status=400,
        )
    rows = list(Checkpoint.objects.filter(seq__gt=after).order_by("seq")[:CHECKPOINTS_PER_PAGE])
    more = len(rows) == CHECKPOINTS_PER_PAGE
    next_url = f"{reverse('trail:checkpoints')}?after={rows[-1].seq}" if more else None
    return _public_json(
        {
            "checkpoints": [row.document() for row in rows],
            "next": next_url,
            "keys": reverse("public_keys"),
        }
    )


@require_GET
def checkpoint_latest(request: HttpRequest) -> JsonResponse:
    """The newest signed checkpoint alone: the file to keep."""
    newest = Checkpoint.objects.order_by("-seq").first()
    if newest is None:
        return JsonResponse({"detail": "No checkpoint has been signed yet."}, status=404)
    return _public_json(newest.document())
