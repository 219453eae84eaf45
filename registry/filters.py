"""The dataset list's search and filters, shared by the page and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from registry.models import Access, Dataset, DatasetKind
from synthgov.accounts.models import Organisation


class DatasetFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    kind = django_filters.ChoiceFilter(choices=DatasetKind.choices)
    domain = django_filters.CharFilter(field_name="domain", lookup_expr="iexact")
    organisation = django_filters.ModelChoiceFilter(
        queryset=Organisation.objects.all(), field_name="organisation", to_field_name="slug"
    )
    access = django_filters.ChoiceFilter(choices=Access.choices)
    tag = django_filters.CharFilter(field_name="tags__name", lookup_expr="iexact", distinct=True)

    class Meta:
        model = Dataset
        fields = ["q", "kind", "domain", "organisation", "access", "tag"]

    def search(self, queryset: QuerySet[Dataset], name: str, value: str) -> QuerySet[Dataset]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(domain__icontains=value)
            | Q(tags__name__icontains=value)
        ).distinct()

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = user if user is not None else getattr(self.request, "user", None)
        # Offer only organisations whose datasets the user can see at all.
        visible_orgs = Dataset.objects.visible_to(user).values("organisation_id")
        self.filters["organisation"].queryset = Organisation.objects.filter(id__in=visible_orgs)
