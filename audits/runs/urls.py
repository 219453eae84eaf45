from django.urls import path

from audits.runs import charts, views

urlpatterns = [
    path("audits/", views.audit_list, name="list"),
    path("versions/<int:pk>/audit/", views.audit_request, name="request"),
    path("audits/<int:pk>/", views.audit_detail, name="run"),
    path("audits/<int:pk>/status.json", views.audit_status, name="status"),
    path("audits/<int:pk>/cancel/", views.audit_cancel, name="cancel"),
    path("audits/<int:pk>/report.json", views.audit_report_json, name="report_json"),
    path("audits/<int:pk>/report.html", views.audit_report_html, name="report_html"),
    path("help/metrics/", views.metric_catalogue, name="metrics"),
    # The file name carries the bundle's version: a new bundle is a new address.
    path(f"assets/{charts.PLOTLY_BUNDLE.name}", views.plotly_bundle, name="plotly"),
]
