"""Routes at the site's root that belong to audits: the home dashboard and the
public, no-login certificate verification and key documents. Included from
``synthgov/urls.py`` without a namespace, so their names stay as they were."""

from django.urls import path

from audits.certification import views as certificate_views
from audits.dashboard import views as dashboard_views

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path(".well-known/synthgov-keys.json", certificate_views.public_keys, name="public_keys"),
    path(
        ".well-known/synthgov-revocations.json",
        certificate_views.revocations,
        name="certificate_revocations",
    ),
    path("certificates/verify/", certificate_views.certificate_lookup, name="certificate_lookup"),
    path(
        "certificates/verify/<str:number>/",
        certificate_views.certificate_verify,
        name="certificate_verify",
    ),
    path(
        "certificates/verify/<str:number>/certificate.json",
        certificate_views.certificate_file,
        name="certificate_file",
    ),
]
