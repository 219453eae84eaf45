from rest_framework.routers import SimpleRouter

from registry.api import DatasetViewSet, VersionViewSet

router = SimpleRouter()
router.register("datasets", DatasetViewSet, basename="api-dataset")
router.register("versions", VersionViewSet, basename="api-version")
urlpatterns = router.urls
