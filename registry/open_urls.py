"""Public, no-login files of openly published versions (``open_files:``)."""

from django.urls import path

from registry import open_views

app_name = "open_files"

urlpatterns = [
    path("versions/<int:pk>/download/", open_views.open_download, name="download"),
    path("versions/<int:pk>/croissant.json", open_views.open_croissant, name="croissant"),
]
