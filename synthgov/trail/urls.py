from django.urls import path

from synthgov.trail import views

app_name = "trail"
urlpatterns = [path("", views.event_list, name="list")]
