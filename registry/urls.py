from django.urls import path

from registry import table_views, views

app_name = "registry"
urlpatterns = [
    path("datasets/", views.dataset_list, name="datasets"),
    path("datasets/new/", views.dataset_create, name="dataset_create"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset"),
    path("datasets/<int:pk>/edit/", views.dataset_edit, name="dataset_edit"),
    path("datasets/<int:pk>/upload/", views.version_upload, name="upload"),
    path("datasets/<int:pk>/upload-tables/", table_views.tables_upload, name="upload_tables"),
    path("datasets/<int:pk>/lineage.prov.json", views.dataset_prov, name="prov"),
    path("datasets/<int:pk>/lineage.svg", views.dataset_lineage_svg, name="lineage_svg"),
    path("datasets/<int:pk>/prov/", views.dataset_prov_document, name="prov_document"),
    path("versions/<int:pk>/", views.version_detail, name="version"),
    path("versions/<int:pk>/schema/", views.version_schema, name="schema"),
    path("versions/<int:pk>/lineage/", views.version_lineage, name="lineage"),
    path("versions/<int:pk>/datasheet/", views.version_datasheet, name="datasheet"),
    path("versions/<int:pk>/download/", views.version_download, name="download"),
    path("versions/<int:pk>/croissant.json", views.version_croissant, name="croissant"),
    path("versions/<int:pk>/keys/", table_views.version_keys, name="keys"),
    path("versions/<int:pk>/metadata.json", table_views.version_metadata, name="metadata"),
    path(
        "versions/<int:pk>/tables/<str:table>/download/",
        table_views.table_download,
        name="table_download",
    ),
]
