"""The dashboard's figures in the API."""

from __future__ import annotations

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
        board = dashboard.dashboard_for(request.user, filters, request.query_params.get("page"))
        return Response(
            {
                "counts": board.counts,
                "failing_rules": board.failing_rules,
                "standards": board.standards,
                "matrix": [
                    {
                        "dataset": row["dataset"].pk,
                        "name": row["dataset"].name,
                        "cells": [
                            {"evaluation": c["pk"], "status": c["status"]} if c else None
                            for c in row["cells"]
                        ],
                    }
                    for row in board.rows
                ],
                "in_progress": [
                    {"audit": r.pk, "progress": r.progress, "step": r.step}
                    for r in board.in_progress
                ],
                "trend": board.trend,
                "page": board.page.number,
                "pages": board.page.paginator.num_pages,
            }
        )
