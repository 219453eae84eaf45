from django.urls import path

from audits.provenance import views

urlpatterns = [
    path("versions/<int:pk>/watermark/", views.version_watermark, name="watermark"),
    path("watermark-runs/<int:pk>/", views.watermark_run, name="watermark_run"),
    path("versions/<int:pk>/manifest.json", views.version_manifest, name="manifest"),
    path(
        "versions/<int:pk>/manifest.parquet",
        views.version_manifest_parquet,
        name="manifest_parquet",
    ),
    path(
        "organisations/<slug:slug>/manifest-key.json",
        views.organisation_manifest_key,
        name="manifest_key",
    ),
    path("check-origin/", views.check_origin, name="check_origin"),
]
