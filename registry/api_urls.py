from django.urls import path
from rest_framework.routers import SimpleRouter

from registry.api import DatasetViewSet, VersionViewSet
from registry.provenance_api import (
    CheckOriginView,
    OrganisationManifestKeyView,
    VersionManifestView,
    VersionWatermarkView,
    WatermarkRunView,
)

router = SimpleRouter()
router.register("datasets", DatasetViewSet, basename="api-dataset")
router.register("versions", VersionViewSet, basename="api-version")
urlpatterns = [
    path(
        "versions/<int:pk>/watermark/", VersionWatermarkView.as_view(), name="api-version-watermark"
    ),
    path("versions/<int:pk>/manifest/", VersionManifestView.as_view(), name="api-version-manifest"),
    path("watermark-runs/<int:pk>/", WatermarkRunView.as_view(), name="api-watermark-run"),
    path("check-origin/", CheckOriginView.as_view(), name="api-check-origin"),
    path(
        "organisations/<slug:slug>/manifest-key/",
        OrganisationManifestKeyView.as_view(),
        name="api-organisation-manifest-key",
    ),
    *router.urls,
]
