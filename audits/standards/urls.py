from django.urls import path

from audits.standards import views

urlpatterns = [
    path("standards/", views.standard_list, name="standards"),
    path("standards/new/", views.standard_edit, name="standard_create"),
    path("standards/import/", views.standard_import, name="standard_import"),
    path("standards/<int:pk>/", views.standard_detail, name="standard"),
    path("standards/<int:pk>/edit/", views.standard_edit, name="standard_edit"),
    path("standards/<int:pk>/publish/", views.standard_publish, name="standard_publish"),
    path("standards/<int:pk>/new-draft/", views.standard_new_draft, name="standard_new_draft"),
    path("standards/<int:pk>/export.yaml", views.standard_export, name="standard_export"),
]
