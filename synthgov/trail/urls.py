from django.urls import path

from synthgov.trail import views

app_name = "trail"
urlpatterns = [
    path("", views.event_list, name="list"),
    # Public, no login: signed checkpoints, for anyone to keep (README, "Audit trail").
    path("checkpoints.json", views.checkpoint_list, name="checkpoints"),
    path("checkpoints/latest.json", views.checkpoint_latest, name="checkpoint_latest"),
]
