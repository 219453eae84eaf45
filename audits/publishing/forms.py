"""The confirmation tick of publishing and withdrawing (``static/js/confirm.js`` asks in
a dialog instead when JavaScript runs, and ticks it on "yes")."""

from __future__ import annotations

from django import forms


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        widget=forms.CheckboxInput(
            attrs={"data-confirm-checkbox": ""}, check_test=lambda value: False
        ),
        error_messages={"required": "Tick the box to confirm; nothing was changed."},
    )

    def __init__(self, *args: object, label: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = label
