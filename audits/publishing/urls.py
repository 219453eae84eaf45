"""Public, no-login pages of openly published versions (``open:``), mounted at
``/open/`` beside ``registry.open_urls`` (the files: download and Croissant)."""

from django.urls import path

from audits.publishing import views

app_name = "open"

urlpatterns = [
    path("", views.open_index, name="index"),
    path("versions/<int:pk>/", views.open_version, name="version"),
    path("versions/<int:pk>/manifest.json", views.open_manifest, name="manifest"),
]
