from __future__ import annotations

from typing import Any

from django import forms

from audits.populations.content import CSV_HEADER, MAX_TEXT_CHARS
from audits.populations.services import IMPORT_FORMATS

SHARES_HELP = (
    f"One line per group: {','.join(CSV_HEADER)}. For an intersection join the attributes "
    "and the values with | (sex|age_band,Female|16-24,0.05). Each attribute's shares sum to 1."
)


class OwnerMixin:
    def set_owners(self, owners: list[Any]) -> None:
        field = self.fields["owner"]  # type: ignore[attr-defined]
        field.choices = [(o.pk, o.name) for o in owners]
        if len(owners) == 1:
            field.initial = owners[0].pk
            field.widget = forms.HiddenInput()


class ProfileForm(OwnerMixin, forms.Form):
    owner = forms.TypedChoiceField(coerce=int, label="Owner")
    name = forms.CharField(max_length=200, help_text="For example: UK population by sex.")
    source = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Cite where the shares come from (publisher, table, date).",
    )
    source_url = forms.CharField(max_length=500, label="Source address (URL)")
    shares = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
        max_length=MAX_TEXT_CHARS,
        initial=",".join(CSV_HEADER) + "\n",
        help_text=SHARES_HELP,
    )


class ProfileImportForm(OwnerMixin, forms.Form):
    owner = forms.TypedChoiceField(coerce=int, label="Owner")
    format = forms.ChoiceField(
        choices=[(f, f.upper()) for f in IMPORT_FORMATS], widget=forms.RadioSelect
    )
    upload = forms.FileField(required=False, label="File")
    text = forms.CharField(
        required=False,
        label="…or paste it",
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "code"}),
    )
    name = forms.CharField(required=False, max_length=200, help_text="Needed for CSV.")
    source = forms.CharField(required=False, max_length=2000, help_text="Needed for CSV.")
    source_url = forms.CharField(
        required=False, max_length=500, label="Source address (URL)", help_text="Needed for CSV."
    )

    def content(self) -> str:
        upload = self.cleaned_data.get("upload")
        if upload:
            if upload.size > MAX_TEXT_CHARS:
                raise forms.ValidationError(f"The file must be under {MAX_TEXT_CHARS:,} bytes.")
            try:
                return upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file must be UTF-8 text.") from None
        return self.cleaned_data.get("text") or ""


class DefaultForm(forms.Form):
    jurisdiction = forms.TypedChoiceField(coerce=int, label="Jurisdiction")

    def __init__(self, *args: Any, jurisdictions: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].choices = [(j.pk, str(j)) for j in jurisdictions]
