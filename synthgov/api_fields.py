"""Serializer fields shared by every API serializer.

A refused choice names the valid ones, so a client can correct its request without
reading the schema: ``"synthetic" is not a valid choice; choose one of: real,
fully_synthetic, partially_synthetic.`` Every serializer of the API takes its choice
fields from here (``ModelSerializer`` maps model choice fields to them too);
tests/test_api_choices.py checks that none uses DRF's own.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, serializers

INVALID_CHOICE = '"{input}" is not a valid choice; choose one of: {choices}.'


def _valid(field: serializers.ChoiceField) -> str:
    return ", ".join(str(key) for key in field.choice_strings_to_values)


class ChoiceField(serializers.ChoiceField):
    default_error_messages = {"invalid_choice": INVALID_CHOICE}

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        try:
            return self.choice_strings_to_values[str(data)]
        except KeyError:
            self.fail("invalid_choice", input=data, choices=_valid(self))


class MultipleChoiceField(serializers.MultipleChoiceField):
    default_error_messages = {"invalid_choice": INVALID_CHOICE}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) or not hasattr(data, "__iter__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not self.allow_empty and len(data) == 0:
            self.fail("empty")
        for item in data:
            if str(item) not in self.choice_strings_to_values and not (
                item == "" and self.allow_blank
            ):
                self.fail("invalid_choice", input=item, choices=_valid(self))
        return super().to_internal_value(data)


class ModelSerializer(serializers.ModelSerializer):
    """DRF's ModelSerializer with the choice fields above for model fields with choices."""

    serializer_choice_field = ChoiceField


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, whose refused choices (``?kind=synthetic``) name the
    valid ones like the serializers' do. Lists of objects (an organisation's slug) are
    not spelt out: they are the user's own to look up."""

    def get_filterset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        for field in filterset.form.fields.values():
            if isinstance(field, forms.ChoiceField) and not isinstance(
                field, forms.ModelChoiceField
            ):
                valid = ", ".join(str(value) for value, _ in field.choices if value != "")
                # Django fills in %(value)s: a % in a choice must not be read as one.
                field.error_messages["invalid_choice"] = INVALID_CHOICE.format(
                    input="%(value)s", choices=valid.replace("%", "%%")
                )
        return filterset


def _sortable(model: Any, path: str) -> bool:
    """Whether ``path`` (``standard_version__standard__code``) names a column the database
    can sort ``model`` by: forward relations then a concrete field. A property computed in
    Python (``label``), a to-many relation (a row per related object) and a JSON or
    list field are not."""
    parts = path.split("__")
    for i, part in enumerate(parts):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if field.many_to_many or field.one_to_many:
            return False
        if i < len(parts) - 1:
            if not field.is_relation:
                return False
            model = field.related_model
        elif field.is_relation:
            return True  # a foreign key sorts by its id
        elif field.get_internal_type() == "JSONField":
            return False
    return True


class OrderingFilter(filters.OrderingFilter):
    """DRF's ``?ordering=``. Where a view names no ``ordering_fields``, DRF offers every
    readable serializer field, including ones the database cannot sort on, which answered
    500 (``/api/v1/evaluations/?ordering=standard_version__label``): only those it can
    sort on are offered; any other term is ignored, as DRF ignores unknown ones."""

    def get_default_valid_fields(self, queryset: Any, view: Any, context: Any = None) -> Any:
        offered = super().get_default_valid_fields(queryset, view, context or {})
        return [(name, label) for name, label in offered if _sortable(queryset.model, name)]

    def get_schema_operation_parameters(self, view: Any) -> Any:
        """The schema names the terms each list takes (each field, ``-`` for descending),
        so clients, and schemathesis's sweep, see every one. Only lists order: the
        extra actions (``/datasets/{id}/versions/``, ``/versions/{id}/tables/``) do not."""
        if getattr(view, "action", None) != "list":
            return []
        parameters = super().get_schema_operation_parameters(view)
        model = view.get_serializer_class().Meta.model
        fields = self.get_valid_fields(model._default_manager.none(), view, {})
        terms = [term for name, _ in fields for term in (name, f"-{name}")]
        for parameter in parameters:
            parameter["schema"] = {"type": "string", "enum": terms}
            parameter["description"] = (
                "Which field to order the results by; a leading - orders them descending."
            )
        return parameters
