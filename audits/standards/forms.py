"""Forms for writing a standard in the browser; they produce an engine spec."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from audits.checks import METRICS
from audits.models import StandardScope
from audits.standards import engine
from audits.standards.engine.inheritance import MAX_PERIOD_DAYS
from registry.models import DatasetKind

OPERATOR_CHOICES = [(op.value, op.label) for op in engine.Operator]
SEVERITY_CHOICES = [(s.value, s.value.capitalize()) for s in engine.Severity]


def key_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    metrics = [(k, f"{k} — {spec.title}") for k, spec in sorted(METRICS.items())]
    facts = [(k, f"{k} — {fact.description}") for k, fact in sorted(engine.REGISTRY_FACTS.items())]
    derived = [
        (k, f"{k} — {fact.description}") for k, fact in sorted(engine.DERIVED_FIGURES.items())
    ]
    return [
        ("Audit figures", metrics),
        ("Registry facts", facts),
        ("Worked out by the evaluation", derived),
    ]


APPLIES_CHOICES = [
    (engine.ALWAYS, "Always"),
    (engine.WHEN_MEASURED, "Only when measured (advisory rules)"),
]


def _codes(text: str) -> list[str]:
    return [c.strip() for c in text.replace(";", ",").split(",") if c.strip()]


class StandardForm(forms.Form):
    code = forms.SlugField(max_length=64, help_text="Short id, e.g. EU-STRICT-PRIVACY.")
    name = forms.CharField(max_length=200)
    version = forms.CharField(max_length=20, initial="1.0")
    scope = forms.ChoiceField(choices=StandardScope.choices)
    parent = forms.ChoiceField(required=False, help_text="Local standards extend a parent.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    source = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="The guidance or law it implements.",
    )
    jurisdictions = forms.CharField(required=False, help_text="Codes, comma-separated: EU, DE")
    sectors = forms.CharField(required=False, help_text="Domains or sectors, e.g. health")
    dataset_kinds = forms.MultipleChoiceField(
        choices=DatasetKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for every kind.",
    )
    effective_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    effective_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    certificate_validity_days = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_PERIOD_DAYS
    )
    reaudit_interval_days = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_PERIOD_DAYS
    )

    def __init__(
        self, *args: Any, parents: list[tuple[str, str]], allow_global: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", "— none (global) —"), *parents]
        if not allow_global:
            # Only holders of the global-standards permission write global ones.
            self.fields["scope"].choices = [
                c for c in StandardScope.choices if c[0] != StandardScope.GLOBAL
            ]


class RuleForm(forms.Form):
    # Not required: the empty rows offered for new rules are simply skipped.
    key = forms.ChoiceField(required=False)
    operator = forms.ChoiceField(choices=OPERATOR_CHOICES)
    threshold = forms.CharField(
        required=False, help_text="A number; for “is one of” a comma-separated list."
    )
    severity = forms.ChoiceField(choices=SEVERITY_CHOICES)
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    clause = forms.CharField(max_length=200, required=False)
    waived = forms.BooleanField(required=False)
    waiver_rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    # Not required: a form posted without it (an older page, a script) means "always".
    applies = forms.ChoiceField(
        choices=APPLIES_CHOICES,
        required=False,
        initial=engine.ALWAYS,
        help_text="“Only when measured”: an advisory rule that does not apply when the audit "
        "reports its figure as not measurable (no holdout, no target), with the reason.",
    )
    population_profile = forms.CharField(
        max_length=260,
        required=False,
        help_text="Population figures only: the published profile, NAME@VERSION; empty "
        "means the default profile of the standard's jurisdiction.",
    )
    # Not required: empty means the whole version (every table, for a figure each table
    # of linked tables gets).
    table = forms.CharField(
        max_length=63,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "table (linked tables)"}),
        help_text="Linked tables only: the table whose figure the rule judges (e.g. "
        "tumours); empty judges every table.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [("", "— choose —"), *key_choices()]

    def threshold_value(self) -> Any:
        text = (self.cleaned_data.get("threshold") or "").strip()
        operator = self.cleaned_data.get("operator")
        if operator == "present" or text == "":
            return None
        if operator == "one_of":
            return _codes(text)
        try:
            return json.loads(text.lower()) if text.lower() in ("true", "false") else float(text)
        except ValueError:
            return text


RuleFormSet = forms.formset_factory(RuleForm, extra=3, can_delete=True, max_num=200)


def spec_from_forms(form: StandardForm, rules: Any) -> engine.StandardSpec:
    data = form.cleaned_data
    rule_specs = []
    for rule_form in rules:
        cleaned = rule_form.cleaned_data
        if not cleaned or cleaned.get("DELETE") or not cleaned.get("key"):
            continue
        # Text is stripped (the rule strips its key, operator and severity itself).
        values = {name: _stripped(cleaned[name]) for name in engine.RULE_FIELDS}
        values["threshold"] = rule_form.threshold_value()
        rule_specs.append(engine.RuleSpec(**values))
    # Every field as the form cleaned it, but for these:
    standard = {name: data[name] for name in engine.STANDARD_FIELDS}
    standard.update(
        code=data["code"].upper(),
        jurisdictions=[c.upper() for c in _codes(data["jurisdictions"])],
        sectors=[s.lower() for s in _codes(data["sectors"])],
        dataset_kinds=list(data["dataset_kinds"]),
        parent=data["parent"] or None,
    )
    return engine.StandardSpec(**standard, rules=rule_specs)


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def initial_from_spec(spec: engine.StandardSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    standard = {name: getattr(spec, name) for name in engine.STANDARD_FIELDS}
    standard.update(
        parent=spec.parent or "",
        jurisdictions=", ".join(spec.jurisdictions),
        sectors=", ".join(spec.sectors),
        dataset_kinds=list(spec.dataset_kinds),
    )
    rules = [
        {
            **{name: getattr(r, name) for name in engine.RULE_FIELDS},
            "threshold": ", ".join(map(str, r.threshold))
            if isinstance(r.threshold, list)
            else (
                ""
                if r.threshold is None
                else str(r.threshold).lower()
                if isinstance(r.threshold, bool)
                else str(r.threshold)
            ),
        }
        for r in spec.rules
    ]
    return standard, rules


class ImportForm(forms.Form):
    yaml_file = forms.FileField(required=False, label="YAML file")
    yaml_text = forms.CharField(
        required=False,
        label="…or paste YAML",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code"}),
    )

    def text(self) -> str:
        upload = self.cleaned_data.get("yaml_file")
        if upload:
            if upload.size > 1024 * 1024:
                raise forms.ValidationError("A standard's YAML must be under 1 MB.")
            try:
                return upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("The YAML file must be UTF-8 text.") from None
        return self.cleaned_data.get("yaml_text") or ""
