"""The audits app's API routes, under /api/v1/ (names are global: ``api-…``)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from audits.certification.api import (
    CertificateFileView,
    CertificateVerifyView,
    CertificateViewSet,
    EvaluationSignOffsView,
)
from audits.compliance.api import EvaluationViewSet
from audits.dashboard.api import DashboardView
from audits.populations.api import PopulationProfileViewSet
from audits.provenance.api import (
    CheckOriginView,
    OrganisationManifestKeyView,
    VersionManifestView,
    VersionWatermarkView,
    WatermarkRunView,
)
from audits.publishing.api import VersionPublishView, VersionWithdrawView
from audits.runs.api import AuditRunViewSet, MetricCatalogueView
from audits.standards.api import StandardViewSet

router = SimpleRouter()
router.register("audits", AuditRunViewSet, basename="api-audit")
router.register("standards", StandardViewSet, basename="api-standard")
router.register("evaluations", EvaluationViewSet, basename="api-evaluation")
router.register("certificates", CertificateViewSet, basename="api-certificate")
router.register("population-profiles", PopulationProfileViewSet, basename="api-population-profile")
urlpatterns = [
    path("metrics/", MetricCatalogueView.as_view(), name="api-metrics"),
    path("dashboard/", DashboardView.as_view(), name="api-dashboard"),
    path(
        "evaluations/<int:pk>/signoffs/",
        EvaluationSignOffsView.as_view(),
        name="api-evaluation-signoffs",
    ),
    path(
        "certificates/<str:number>/verify/",
        CertificateVerifyView.as_view(),
        name="api-certificate-verify",
    ),
    path(
        "certificates/<str:number>/file/",
        CertificateFileView.as_view(),
        name="api-certificate-file",
    ),
    path(
        "versions/<int:pk>/watermark/", VersionWatermarkView.as_view(), name="api-version-watermark"
    ),
    path("versions/<int:pk>/manifest/", VersionManifestView.as_view(), name="api-version-manifest"),
    path("versions/<int:pk>/publish/", VersionPublishView.as_view(), name="api-version-publish"),
    path("versions/<int:pk>/withdraw/", VersionWithdrawView.as_view(), name="api-version-withdraw"),
    path("watermark-runs/<int:pk>/", WatermarkRunView.as_view(), name="api-watermark-run"),
    path("check-origin/", CheckOriginView.as_view(), name="api-check-origin"),
    path(
        "organisations/<slug:slug>/manifest-key/",
        OrganisationManifestKeyView.as_view(),
        name="api-organisation-manifest-key",
    ),
    *router.urls,
]
