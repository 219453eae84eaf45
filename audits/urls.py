"""The audits app's pages, one include per concern; names stay under ``audits:``."""

from django.urls import include, path

app_name = "audits"
urlpatterns = [
    path("", include("audits.runs.urls")),
    path("", include("audits.standards.urls")),
    path("", include("audits.populations.urls")),
    path("", include("audits.compliance.urls")),
    path("", include("audits.certification.urls")),
    path("", include("audits.provenance.urls")),
    path("", include("audits.publishing.page_urls")),
]
