from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from synthgov.access import views as account_views
from synthgov.health import healthz

api_v1 = [
    path("me/", include("synthgov.accounts.api_urls")),
    path("", include("registry.api_urls")),
    path("", include("audits.api_urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Home and the public, no-login certificate verification and signing keys.
    path("", include("audits.public_urls")),
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", account_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        account_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html",
            success_url=reverse_lazy("password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path("trail/", include("synthgov.trail.urls")),
    # Openly published versions, for everyone with no account: their pages and
    # manifests (audits.publishing) and their files (registry.open_urls).
    path("open/", include("audits.publishing.urls")),
    path("open/", include("registry.open_urls")),
    path("", include("registry.urls")),
    path("", include("audits.urls")),
    # One sign-in page for everyone, so every sign-in is recorded the same way.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up code as a script file (CSP: no inline script).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

# JSON, not the HTML page, for a URL under /api/ that matches no route.
handler404 = "synthgov.api_errors.not_found"
