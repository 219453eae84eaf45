from django.urls import path

from registry import views

app_name = "registry"
urlpatterns = [
    path("datasets/", views.dataset_list, name="datasets"),
    path("datasets/new/", views.dataset_create, name="dataset_create"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset"),
    path("datasets/<int:pk>/edit/", views.dataset_edit, name="dataset_edit"),
    path("datasets/<int:pk>/upload/", views.version_upload, name="upload"),
    path("datasets/<int:pk>/lineage.prov.json", views.dataset_prov, name="prov"),
    path("datasets/<int:pk>/lineage.svg", views.dataset_lineage_svg, name="lineage_svg"),
    path("datasets/<int:pk>/prov/", views.dataset_prov_document, name="prov_document"),
    path("versions/<int:pk>/", views.version_detail, name="version"),
    path("versions/<int:pk>/schema/", views.version_schema, name="schema"),
    path("versions/<int:pk>/lineage/", views.version_lineage, name="lineage"),
    path("versions/<int:pk>/datasheet/", views.version_datasheet, name="datasheet"),
    path("versions/<int:pk>/download/", views.version_download, name="download"),
    path("versions/<int:pk>/croissant.json", views.version_croissant, name="croissant"),
]
