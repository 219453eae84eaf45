from __future__ import annotations

import json
from typing import Any

from django import forms

from registry.ingest import (
    ENCODING_LABELS,
    MAX_MARKER_LENGTH,
    MAX_MISSING_MARKERS,
    ColumnRole,
    ColumnType,
)
from registry.models import (
    Access,
    DatasetKind,
    GeneratorType,
    PrivacyMechanism,
    Relation,
    datasheet_sections_for,
)


class DatasetForm(forms.Form):
    organisation = forms.ChoiceField(help_text="The organisation that owns and answers for it.")
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=DatasetKind.choices)
    domain = forms.CharField(max_length=64, help_text="e.g. education, health, finance.")
    description = forms.CharField(widget=forms.Textarea, required=False)
    licence = forms.CharField(
        max_length=64,
        help_text="SPDX identifier, e.g. CC-BY-4.0, CC0-1.0, ODbL-1.0, or LicenseRef-Internal.",
    )
    access = forms.ChoiceField(choices=Access.choices, initial=Access.RESTRICTED)
    intended_uses = forms.CharField(widget=forms.Textarea, required=False)
    prohibited_uses = forms.CharField(widget=forms.Textarea, required=False)
    tags = forms.CharField(
        required=False, help_text="Comma-separated, e.g. tabular, students, placements."
    )

    def __init__(self, *args: Any, organisations: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = organisations
        if len(organisations) == 1:
            self.fields["organisation"].initial = organisations[0][0]
            self.fields["organisation"].widget = forms.HiddenInput()

    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


class VersionUploadForm(forms.Form):
    file = forms.FileField(
        allow_empty_file=True,  # the ingest layer explains an empty file better
        help_text="CSV or Parquet; CSV may be gzip, bzip2, xz or zip compressed.",
    )
    encoding = forms.ChoiceField(
        required=False,
        choices=[("", "UTF-8 (detect problems)"), *ENCODING_LABELS.items()],
        help_text="Only needed for a CSV that is not UTF-8.",
    )
    missing_markers = forms.CharField(
        required=False,
        # Bounded here too so a huge value is refused before any parsing.
        max_length=MAX_MISSING_MARKERS * (MAX_MARKER_LENGTH + 2),
        label="Missing-value markers",
        widget=forms.TextInput(attrs={"placeholder": "e.g. ?, -999", "spellcheck": "false"}),
        help_text=(
            "Cell values that mean “no value” in this file, separated by commas (UCI Adult "
            "uses ?). They count as missing in the profile and in audits; the file is stored "
            "as uploaded. Blank cells and NA, null, NaN are missing already."
        ),
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="What changed"
    )


class SchemaForm(forms.Form):
    """One type and one role select per column of the version."""

    def __init__(self, *args: Any, schema: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = schema
        type_choices = [(t.value, t.value.replace("_", " ")) for t in ColumnType]
        role_choices = [(r.value, r.value.replace("_", " ")) for r in ColumnRole]
        for i, column in enumerate(schema):
            self.fields[f"type_{i}"] = forms.ChoiceField(
                choices=type_choices, initial=column["type"], label=f"{column['name']} type"
            )
            self.fields[f"role_{i}"] = forms.ChoiceField(
                choices=role_choices, initial=column["role"], label=f"{column['name']} role"
            )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"column": c, "type": self[f"type_{i}"], "role": self[f"role_{i}"]}
            for i, c in enumerate(self.schema)
        ]

    def columns(self) -> list[dict[str, str]]:
        return [
            {
                "name": c["name"],
                "type": self.cleaned_data[f"type_{i}"],
                "role": self.cleaned_data[f"role_{i}"],
            }
            for i, c in enumerate(self.schema)
        ]


class ParentForm(forms.Form):
    parent = forms.TypedChoiceField(coerce=int, required=False, label="Parent version")
    relation = forms.ChoiceField(choices=Relation.choices, required=False)

    def __init__(self, *args: Any, parent_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", "— none —"), *parent_choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("parent") and not data.get("relation"):
            self.add_error("relation", "Say how this version relates to the parent.")
        return data


ParentFormSet = forms.formset_factory(ParentForm, extra=2, max_num=20)


class GenerationForm(forms.Form):
    generator_type = forms.ChoiceField(choices=GeneratorType.choices, required=False)
    generator_library = forms.CharField(
        max_length=100, required=False, help_text="e.g. sdv, synthcity, ctgan"
    )
    generator_version = forms.CharField(max_length=50, required=False)
    parameters = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        required=False,
        help_text='A JSON object, e.g. {"epochs": 300, "batch_size": 500}.',
    )
    seed = forms.IntegerField(required=False, min_value=-(2**63), max_value=2**63 - 1)
    privacy_mechanism = forms.ChoiceField(choices=PrivacyMechanism.choices, required=False)
    epsilon = forms.FloatField(required=False, min_value=0, help_text="Privacy budget ε")
    delta = forms.FloatField(required=False, min_value=0, help_text="δ, if any")
    compute_description = forms.CharField(
        max_length=300, required=False, help_text="e.g. 1× A100 for 2.5 h"
    )
    energy_kwh = forms.FloatField(required=False, min_value=0, label="Energy (kWh)")
    carbon_kg = forms.FloatField(required=False, min_value=0, label="Carbon (kg CO2e)")


class DatasheetForm(forms.Form):
    """The datasheet sections that apply to a dataset of ``kind`` (real data has no
    generation method, real sources or watermarking)."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label, question in datasheet_sections_for(kind):
            self.fields[key] = forms.CharField(
                label=label,
                help_text=question,
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, "data-datasheet-section": key}),
            )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (``<input type=file multiple>``)."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class TablesUploadForm(forms.Form):
    """A version made of several named tables, with optional keys."""

    tables = MultipleFileField(
        allow_empty_file=True,
        label="Table files",
        help_text="One CSV or Parquet file per table; choose several files at once.",
    )
    archive = forms.FileField(
        required=False,
        allow_empty_file=True,
        label="Or one zip of the tables",
        help_text="A .zip holding one CSV or Parquet file per table, with no folders.",
    )
    names = forms.CharField(
        required=False,
        max_length=20_000,
        label="Table names",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=(
            "Optional, one line per file: “users_2024.csv = users”. A file not named here "
            "takes its name without extensions. A table name is 1 to 63 ASCII letters, "
            "digits and underscores, starting with a letter."
        ),
    )
    metadata = forms.CharField(
        required=False,
        max_length=1_000_000,
        label="SDMetrics metadata (optional)",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=(
            "Paste SDMetrics / SDV multi-table metadata (JSON) to declare the primary keys, "
            "relationships and column sdtypes. Leave empty and SynthGov proposes keys from "
            "the data for you to confirm."
        ),
    )
    encoding = forms.ChoiceField(
        required=False,
        choices=[("", "UTF-8 (detect problems)"), *ENCODING_LABELS.items()],
        help_text="Only needed for CSV files that are not UTF-8.",
    )
    missing_markers = forms.CharField(
        required=False,
        max_length=MAX_MISSING_MARKERS * (MAX_MARKER_LENGTH + 2),
        label="Missing-value markers",
        help_text="Cell values that mean “no value” in these files, separated by commas.",
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="What changed"
    )

    def clean_metadata(self) -> Any:
        text = self.cleaned_data["metadata"].strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise forms.ValidationError(
                f"The SDMetrics metadata is not valid JSON ({exc})."
            ) from None


def parse_foreign_key_lines(text: str) -> list[dict[str, str]]:
    """Foreign keys written one per line as ``child.column -> parent.column``."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        child, sep, parent = line.replace("→", "->").partition("->")
        child_table, dot1, child_key = child.strip().partition(".")
        parent_table, dot2, parent_key = parent.strip().partition(".")
        if not (sep and dot1 and dot2 and child_key and parent_key):
            raise forms.ValidationError(
                f"Line {number} is not “child_table.column -> parent_table.column”."
            )
        out.append(
            {
                "child_table": child_table,
                "child_key": child_key,
                "parent_table": parent_table,
                "parent_key": parent_key,
            }
        )
    return out


class KeysForm(forms.Form):
    """One primary-key select per table, and the foreign keys one per line."""

    foreign_keys = forms.CharField(
        required=False,
        max_length=20_000,
        label="Foreign keys",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One per line: “sessions.user_id -> users.user_id” (the child's column "
        "refers to the parent's primary key).",
    )

    def __init__(self, *args: Any, tables: list[Any], foreign_keys: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tables = tables
        for table in tables:
            self.fields[f"pk_{table.name}"] = forms.ChoiceField(
                required=False,
                label=f"Primary key of {table.name}",
                choices=[("", "(none)"), *[(c["name"], c["name"]) for c in table.schema]],
                initial=table.primary_key,
            )
        self.fields["foreign_keys"].initial = foreign_keys

    def clean_foreign_keys(self) -> list[dict[str, str]]:
        return parse_foreign_key_lines(self.cleaned_data["foreign_keys"])

    def keys(self) -> dict[str, Any]:
        return {
            "primary_keys": {
                t.name: self.cleaned_data.get(f"pk_{t.name}") or None for t in self.tables
            },
            "foreign_keys": self.cleaned_data["foreign_keys"],
        }
