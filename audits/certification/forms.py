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


class _ConfirmedForm(_FreshLoginForm):
    """A form for an irreversible act (signing, revoking) whose last field is a required
    tick stating what the act does.

    It is the confirmation without JavaScript; with it, static/js/confirm.js hides the
    tick and asks in a dialog instead, ticking it on "yes". The tick is never shown back
    already ticked: each attempt is confirmed anew, like the password."""

    confirm = forms.BooleanField(
        required=True,
        widget=forms.CheckboxInput(
            attrs={"data-confirm-checkbox": ""}, check_test=lambda value: False
        ),
        error_messages={"required": "Tick the box to confirm; nothing was signed."},
    )


class SignOffForm(_ConfirmedForm):
    decision = forms.ChoiceField(choices=SignOffDecision.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you checked and why. To approve despite a failing minor or advisory "
        "rule, name the rule and say why it is acceptable.",
    )
    field_order = ["decision", "comment", "password", "confirm"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = (
            "I understand that my decision is final: it is recorded under my name, does "
            "what is described above, and cannot be withdrawn."
        )


class RevokeForm(_ConfirmedForm):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown on the public verification page.",
    )
    field_order = ["reason", "password", "confirm"]

    def __init__(self, *args: Any, certificate_number: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = revoke_consequence(certificate_number)
        self.fields["confirm"].error_messages["required"] = (
            "Tick the box to confirm; nothing was revoked."
        )


def revoke_consequence(certificate_number: str) -> str:
    """What revoking does, as the confirmation states it."""
    return (
        f"I understand that revoking {certificate_number} is final: it cannot be undone, "
        "and the public verification page will show it as revoked, with my reason."
    )


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
