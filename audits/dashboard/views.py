from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audits.dashboard import selectors as dashboard
from synthgov.accounts.selectors import home_summary


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Role-aware home: next steps per role, and the compliance dashboard over
    every dataset the user may see (their organisation's, or their jurisdiction's)."""
    summary = home_summary(user=request.user)
    context = {"summary": summary}
    if summary.has_roles:
        filters = dashboard.Filters.from_query(request.GET)
        board = dashboard.home_board(request.user, filters, request.GET.get("page"))
        context.update(
            board=board,
            filters=filters,
            certificate_panels=dashboard.dashboard_panels(request.user, board.state),
        )
    return render(request, "home.html", context)
