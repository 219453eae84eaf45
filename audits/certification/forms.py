"""Forms for signing off, revoking and looking a certificate up.

Signing and revoking ask for the password again in the same form: the view
checks it and hands the service the moment it was proven. The check goes
through ``authenticate()`` so that wrong passwords count toward the same
sign-in lockout (django-axes) as the sign-in page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest

from audits.certification.rules import COMMENT_MAX_LENGTH
from audits.models import SignOffDecision


class _FreshLoginForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Signing is a legal act: confirm it is you.",
    )

    def __init__(self, *args: Any, user: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not password_reentry_matches(self.request, self.user, password):
            raise forms.ValidationError("That is not your password; nothing was signed.")
        return password


def password_reentry_matches(request: HttpRequest, user: Any, password: str) -> bool:
    """Whether ``password`` is ``user``'s, counted like a sign-in attempt: a
    wrong one counts toward the lockout of this username and address, and while
    locked out even the right one is refused (the response becomes the
    lockout page)."""
    proven = authenticate(request, username=user.get_username(), password=password)
    return proven is not None and proven.pk == user.pk


class SignOffForm(_FreshLoginForm):
    decision = forms.ChoiceField(choices=SignOffDecision.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you checked and why. To approve despite a failing minor or advisory "
        "rule, name the rule and say why it is acceptable.",
    )
    field_order = ["decision", "comment", "password"]


class RevokeForm(_FreshLoginForm):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the public verification page.",
    )
    field_order = ["reason", "password"]


class CertificateLookupForm(forms.Form):
    number = forms.CharField(
        label="Certificate number", max_length=32, help_text="For example SG-2026-000123."
    )
    token = forms.CharField(
        label="Verification code",
        max_length=64,
        required=False,
        help_text="Optional: the code in the certificate's verification link (after token=). "
        "Without it you see only whether the certificate is in force.",
    )
