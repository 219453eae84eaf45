"""The OpenAPI schema's view of each operation, with its error answers documented.

drf-spectacular documents the success answer of each operation. Every API error is
a JSON object (``{"detail": "..."}``, or field names with their messages), and which
errors an operation can give follows from its shape:

- 400 when it takes a body or query parameters (a value that is not valid);
- 401 when it needs a signed-in user or token;
- 403 when it changes something (allowed to see it, not to act), or is a change
  made with a session but without its CSRF token;
- 404 when its path names an object (none, or not visible to you) or its list is
  paginated (a page past the end);
- 415 when it takes a body (sent in a media type it does not read).

Operations answering 409 (a conflict with the object's state) declare it themselves.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

ERRORS = {
    "400": "Not valid: the body names each field (or `detail`) and what to fix.",
    "401": "Not signed in: send a session cookie or `Authorization: Token <key>`.",
    "403": "You may see this, but not do this (or the session's CSRF token is missing).",
    "404": "Not found, or not visible to you (or a page past the last).",
    "415": "The body is not in a media type this operation reads.",
}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# The largest id a request may name (a 64-bit primary key): larger ones overflow the
# database driver before any lookup can say "not found".
MAX_ID = 2**63 - 1


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=OpenApiTypes.OBJECT, description=description)


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    error_response(ERRORS[code]), code, ["application/json"], direction
                )
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[str]:
        codes = []
        takes_input = self.method not in SAFE_METHODS or bool(self._query_parameters())
        if takes_input:
            codes.append("400")
        if not self._is_public():
            codes.append("401")
            if self.method not in SAFE_METHODS:
                codes.append("403")
        if "{" in self.path or self._is_paginated_list():
            codes.append("404")
        if self.method not in SAFE_METHODS and self._get_request_body():
            codes.append("415")
        return codes

    def _is_public(self) -> bool:
        return all(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _query_parameters(self) -> list[Any]:
        return [p for p in self._get_parameters() if p.get("in") == "query"]
