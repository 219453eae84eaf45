from django.urls import path
from rest_framework.routers import SimpleRouter

from audits.api import AuditRunViewSet, MetricCatalogueView

router = SimpleRouter()
router.register("audits", AuditRunViewSet, basename="api-audit")
urlpatterns = [
    path("metrics/", MetricCatalogueView.as_view(), name="api-metrics"),
    *router.urls,
]
