from django.urls import path

from audits.populations import views

urlpatterns = [
    path("populations/", views.profile_list, name="populations"),
    path("populations/new/", views.profile_edit, name="population_create"),
    path("populations/import/", views.profile_import, name="population_import"),
    path("populations/<int:pk>/", views.profile_detail, name="population"),
    path("populations/<int:pk>/edit/", views.profile_edit, name="population_edit"),
    path("populations/<int:pk>/publish/", views.profile_publish, name="population_publish"),
    path(
        "populations/<int:pk>/new-version/",
        views.profile_new_version,
        name="population_new_version",
    ),
    path("populations/<int:pk>/default/", views.profile_set_default, name="population_default"),
]
