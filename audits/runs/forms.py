from __future__ import annotations

from typing import Any

from django import forms

from audits.checks.base import FAMILIES, MAX_SEED

FAMILY_LABELS = {
    "integrity": "Integrity (hash, duplicates, out-of-domain values, schema)",
    "quality": "Quality and utility (SDMetrics reports, coverage, detection, TSTR)",
    "fairness": "Fairness (representation, parity, amplification per protected group)",
    "privacy": "Privacy (exact copies, distance to closest record, linkage, disclosure)",
    "provenance": "Provenance and documentation (lineage, generator, datasheet, licence)",
}


class AuditRequestForm(forms.Form):
    reference = forms.TypedChoiceField(
        coerce=int, help_text="The real data the generator learned from."
    )
    holdout = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        help_text="Real data the generator never saw; needed for distance-based privacy figures.",
    )
    protected = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Protected attributes"
    )
    quasi_identifiers = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Quasi-identifiers"
    )
    sensitive = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Sensitive attributes"
    )
    target = forms.ChoiceField(required=False, help_text="Outcome column for utility and fairness.")
    positive_outcome = forms.CharField(
        required=False,
        max_length=100,
        help_text="The target value that counts as the favourable outcome (e.g. True). "
        "Left empty, SynthGov picks one and says which.",
    )
    families = forms.MultipleChoiceField(
        choices=[(f, FAMILY_LABELS[f]) for f in FAMILIES],
        widget=forms.CheckboxSelectMultiple,
        label="Check families",
    )
    seed = forms.IntegerField(
        initial=0, min_value=0, max_value=MAX_SEED, help_text="Same seed, same figures."
    )

    population_profile = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Population profile",
        help_text="Compare group shares with this population; left empty, the default "
        "profile of your organisation's jurisdiction applies, if it has one.",
    )
    population_intended = forms.BooleanField(
        required=False,
        label="The data was deliberately rebalanced towards this profile",
        help_text="Representation is then judged against the profile, not the real data, "
        "and the report says so.",
    )

    # Linked tables only (removed from a single-table version's form).
    individuals_table = forms.ChoiceField(
        required=False,
        label="Table holding individuals",
        help_text="Re-identification figures run on it, with its children's aggregates "
        "(count(child), mean(child.column), mode(child.column)) usable as quasi-identifiers.",
    )
    fairness_table = forms.ChoiceField(
        required=False,
        label="Table for fairness",
        help_text="A child table (treatments); group shares and outcome rates count its rows.",
    )
    fairness_parent_columns = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Parent columns joined to it",
        help_text="For example patients.sex, then choose it as a protected attribute.",
    )

    def __init__(
        self,
        *args: Any,
        columns: list[str],
        references: list[tuple[int, str]],
        profiles: list[tuple[int, str]] | None = None,
        linked: dict[str, list[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if linked is None:
            for name in ("individuals_table", "fairness_table", "fairness_parent_columns"):
                del self.fields[name]
        else:
            columns = linked["columns"]
            tables = [("", "— none —"), *((t, t) for t in linked["tables"])]
            self.fields["individuals_table"].choices = tables
            self.fields["fairness_table"].choices = tables
            self.fields["fairness_parent_columns"].choices = [
                (c, c) for c in linked["parent_columns"]
            ]
        column_choices = [(c, c) for c in columns]
        for name in ("protected", "quasi_identifiers", "sensitive"):
            self.fields[name].choices = column_choices
        self.fields["target"].choices = [("", "— none —"), *column_choices]
        self.fields["reference"].choices = references
        self.fields["holdout"].choices = [("", "— none —"), *references]
        self.fields["population_profile"].choices = [
            ("", "— the jurisdiction's default —"),
            *(profiles or []),
        ]
