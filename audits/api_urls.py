from django.urls import path
from rest_framework.routers import SimpleRouter

from audits.api import AuditRunViewSet, MetricCatalogueView
from audits.certificate_api import (
    CertificateFileView,
    CertificateVerifyView,
    CertificateViewSet,
    EvaluationSignOffsView,
)
from audits.standard_api import DashboardView, EvaluationViewSet, StandardViewSet

router = SimpleRouter()
router.register("audits", AuditRunViewSet, basename="api-audit")
router.register("standards", StandardViewSet, basename="api-standard")
router.register("evaluations", EvaluationViewSet, basename="api-evaluation")
router.register("certificates", CertificateViewSet, basename="api-certificate")
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
    *router.urls,
]
