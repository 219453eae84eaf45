from django.urls import path
from rest_framework.routers import SimpleRouter

from audits.api import AuditRunViewSet, MetricCatalogueView
from audits.standard_api import DashboardView, EvaluationViewSet, StandardViewSet

router = SimpleRouter()
router.register("audits", AuditRunViewSet, basename="api-audit")
router.register("standards", StandardViewSet, basename="api-standard")
router.register("evaluations", EvaluationViewSet, basename="api-evaluation")
urlpatterns = [
    path("metrics/", MetricCatalogueView.as_view(), name="api-metrics"),
    path("dashboard/", DashboardView.as_view(), name="api-dashboard"),
    *router.urls,
]
