"""Files of openly published versions, for everyone, with no account.

Only a version whose ``published_at`` is set is served here; any other id answers
404 exactly as an id that does not exist, so these URLs tell nobody which
unpublished versions exist. The landing page that links here is
``audits.publishing``'s (it shows audits and certificates, which live above the
registry)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from registry.documents.for_models import public_croissant_for_version
from registry.models import DatasetVersion
from registry.views import croissant_response, download_or_gone
from synthgov.downloads import PUBLIC_CACHE_CONTROL


def published_version(pk: int) -> DatasetVersion:
    """The published version ``pk``, or 404 (unpublished and unknown alike)."""
    return get_object_or_404(
        DatasetVersion.objects.published().select_related("dataset__organisation"), pk=pk
    )


@require_safe
def open_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    return download_or_gone(request, published_version(pk), public=True)


@require_safe
def open_croissant(request: HttpRequest, pk: int) -> HttpResponse:
    version = published_version(pk)
    # The same document for everyone, signed in or not (shared caches keep it): it
    # names only what an anonymous reader may see, whoever asks.
    response = croissant_response(
        public_croissant_for_version(version=version, request=request), version
    )
    response["Cache-Control"] = PUBLIC_CACHE_CONTROL
    return response
