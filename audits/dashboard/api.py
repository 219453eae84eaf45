"""The dashboard's figures in the API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audits.dashboard import selectors as dashboard


class DashboardView(APIView):
    """The dashboard's figures with the same filters as the page."""

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        filters = dashboard.Filters.from_query(request.query_params)
        page_number = request.query_params.get("page")
        payload, state = dashboard.api_payload(request.user, filters, page_number, _figures)
        in_progress = dashboard.in_progress_shown(request.user, state)
        return Response(
            {
                **payload,
                # Live: progress moves without a trail event, so it is never cached.
                "in_progress": [
                    {"audit": r.pk, "progress": r.progress, "step": r.step} for r in in_progress
                ],
            }
        )


def _figures(board: dashboard.Dashboard) -> dict[str, Any]:
    """Everything in the answer but the audits in progress (plain data: cached)."""
    return {
        # ``counts``: by stored status; ``status_counts``: by the status
        # people read (engine.STATUS_KINDS), as the page counts them.
        "counts": board.counts,
        "status_counts": {k["code"]: k["n"] for k in board.status_counts},
        "failing_rules": board.failing_rules,
        "standards": board.standards,
        "matrix": [
            {
                "dataset": row["dataset"].pk,
                "name": row["dataset"].name,
                "latest_version": row["dataset"].latest_version.number
                if row["dataset"].latest_version
                else None,
                # A cell is null when no evaluation is shown ("not audited
                # yet" or "not applicable"); ``display_cells`` says which.
                "cells": [
                    {"evaluation": c.evaluation, "status": c.stored_status}
                    if c.evaluation
                    else None
                    for c in row["cells"]
                ],
                "display_cells": [c.to_json() for c in row["cells"]],
            }
            for row in board.rows
        ],
        "trend": board.trend,
        "page": board.page.number,
        "pages": board.page.paginator.num_pages,
    }
