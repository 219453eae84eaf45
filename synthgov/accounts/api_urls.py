from django.urls import path

from synthgov.accounts.api import MeView

urlpatterns = [path("", MeView.as_view(), name="api-me")]
