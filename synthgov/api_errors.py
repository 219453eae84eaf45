"""API errors are JSON objects, whichever layer finds the problem.

DRF answers a ``ValidationError`` raised with a message (or a list) as a bare JSON
list; every other error is an object (``{"detail": ...}`` or one entry per field),
which is what the OpenAPI schema documents. And a URL under ``/api/`` that matches
no route (an id that is not a number, say) is answered in JSON, not with the HTML
page meant for people.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        response.data = {"detail": " ".join(str(message) for message in response.data)}
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
