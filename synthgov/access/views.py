from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from synthgov.access import services
from synthgov.access.forms import ThrottledPasswordChangeForm
from synthgov.access.lockout import client_ip
from synthgov.access.sessions import privileged_session_start


def _client_ip(request: HttpRequest) -> str | None:
    return client_ip(request)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        privileged_session_start(self.request)
        services.login_record(user=form.get_user(), ip=_client_ip(self.request))
        return response

    # A wrong password is counted by django-axes (it authenticates through the
    # AxesStandaloneBackend); only a lockout reaches the trail (lockout.py).


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            services.logout_record(user=request.user)
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}
