from django.urls import path

from audits import certificate_views, standard_views, views

app_name = "audits"
urlpatterns = [
    path("audits/", views.audit_list, name="list"),
    path("versions/<int:pk>/audit/", views.audit_request, name="request"),
    path("audits/<int:pk>/", views.audit_detail, name="run"),
    path("audits/<int:pk>/status.json", views.audit_status, name="status"),
    path("audits/<int:pk>/cancel/", views.audit_cancel, name="cancel"),
    path("audits/<int:pk>/report.json", views.audit_report_json, name="report_json"),
    path("audits/<int:pk>/report.html", views.audit_report_html, name="report_html"),
    path("help/metrics/", views.metric_catalogue, name="metrics"),
    path("assets/plotly.js", views.plotly_bundle, name="plotly"),
    path("standards/", standard_views.standard_list, name="standards"),
    path("standards/new/", standard_views.standard_edit, name="standard_create"),
    path("standards/import/", standard_views.standard_import, name="standard_import"),
    path("standards/<int:pk>/", standard_views.standard_detail, name="standard"),
    path("standards/<int:pk>/edit/", standard_views.standard_edit, name="standard_edit"),
    path("standards/<int:pk>/publish/", standard_views.standard_publish, name="standard_publish"),
    path(
        "standards/<int:pk>/new-draft/",
        standard_views.standard_new_draft,
        name="standard_new_draft",
    ),
    path("standards/<int:pk>/export.yaml", standard_views.standard_export, name="standard_export"),
    path("evaluations/", standard_views.evaluation_list, name="evaluations"),
    path("evaluations/<int:pk>/", standard_views.evaluation_detail, name="evaluation"),
    path("evaluations/<int:pk>/signoff/", certificate_views.signoff_page, name="signoff"),
    path("certificates/", certificate_views.certificate_list, name="certificates"),
    path("certificates/<str:number>/", certificate_views.certificate_detail, name="certificate"),
    path(
        "certificates/<str:number>/revoke/",
        certificate_views.certificate_revoke,
        name="certificate_revoke",
    ),
    path(
        "notifications/<int:pk>/read/",
        certificate_views.notification_read,
        name="notification_read",
    ),
]
