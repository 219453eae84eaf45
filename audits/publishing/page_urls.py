"""The signed-in publishing actions, included in ``audits.urls`` (``audits:``)."""

from django.urls import path

from audits.publishing import views

urlpatterns = [
    path("versions/<int:pk>/publish/", views.version_publish, name="version_publish"),
    path("versions/<int:pk>/withdraw/", views.version_withdraw, name="version_withdraw"),
]
