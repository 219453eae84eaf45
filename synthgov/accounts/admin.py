"""Administration of organisations, jurisdictions and roles.

Role changes go through the services so each one lands in the audit trail.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from synthgov.accounts import services
from synthgov.accounts.models import Jurisdiction, Membership, Organisation


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


def _save_membership(request: Any, membership: Membership, change: bool) -> None:
    if change and membership.pk:
        services.membership_change(
            membership=membership,
            role=membership.role,
            organisation=membership.organisation,
            by=request.user,
        )
    else:
        services.membership_grant(
            user=membership.user,
            organisation=membership.organisation,
            role=membership.role,
            by=request.user,
        )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "jurisdiction_codes", "covered_codes"]
    list_filter = ["kind"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["jurisdictions", "covered_jurisdictions"]
    inlines = [MembershipInline]

    @admin.display(description="Jurisdictions")
    def jurisdiction_codes(self, obj: Organisation) -> str:
        return ", ".join(j.code for j in obj.jurisdictions.all())

    @admin.display(description="Covers")
    def covered_codes(self, obj: Organisation) -> str:
        return ", ".join(j.code for j in obj.covered_jurisdictions.all())

    def get_queryset(self, request: Any):
        return (
            super().get_queryset(request).prefetch_related("jurisdictions", "covered_jurisdictions")
        )

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        memberships = formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.membership_revoke(membership=membership, by=request.user)
        for membership in memberships:
            _save_membership(request, membership, change=bool(membership.pk))
        formset.save_m2m()
        return None


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "created"]
    list_filter = ["role", "organisation"]
    search_fields = ["user__username", "user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]

    def save_model(self, request: Any, obj: Membership, form: Any, change: bool) -> None:
        _save_membership(request, obj, change)

    def delete_model(self, request: Any, obj: Membership) -> None:
        services.membership_revoke(membership=obj, by=request.user)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for membership in queryset:
            services.membership_revoke(membership=membership, by=request.user)
