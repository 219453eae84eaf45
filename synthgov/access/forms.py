"""Account forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Checks the old password through ``authenticate()``, so wrong guesses
    count toward the sign-in lockout (django-axes) like any other."""

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        proven = authenticate(
            self.request, username=self.user.get_username(), password=old_password
        )
        if proven is None or proven.pk != self.user.pk:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password
