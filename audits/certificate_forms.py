"""Forms for signing off, revoking and looking a certificate up.

Signing and revoking ask for the password again in the same form: the view
checks it and hands the service the moment it was proven.
"""

from __future__ import annotations

from typing import Any

from django import forms

from audits.models import SignOffDecision
from audits.signoffs import COMMENT_MAX_LENGTH


class _FreshLoginForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Signing is a legal act: confirm it is you.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password; nothing was signed.")
        return password


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
