"""Administration of organisations, jurisdictions, roles, users and groups.

Every change that grants or takes access (roles, an organisation's
jurisdictions, users' flags, groups and permissions, passwords) goes through
the services so it lands in the audit trail: the admin's save and delete hooks
call them. Django's own user and group admins are replaced for that reason.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from synthgov.access import services
from synthgov.accounts.models import Jurisdiction, Membership, Organisation


class DeleteEachThroughService:
    """Bulk delete ("delete selected") goes through ``delete_model`` one object at
    a time, so it calls the same service, and leaves the same trail entry, as a
    single delete. Django's default deletes the queryset in one statement."""

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)  # type: ignore[attr-defined]


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
            user=membership.user,
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
class OrganisationAdmin(DeleteEachThroughService, admin.ModelAdmin):
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

    def save_model(self, request: Any, obj: Organisation, form: Any, change: bool) -> None:
        # Its jurisdictions are set here too, so the trail entry holds them;
        # save_related then sets the same values again (no change).
        services.organisation_save(
            organisation=obj,
            by=request.user,
            jurisdictions=form.cleaned_data.get("jurisdictions"),
            covered_jurisdictions=form.cleaned_data.get("covered_jurisdictions"),
        )

    def delete_model(self, request: Any, obj: Organisation) -> None:
        services.organisation_delete(organisation=obj, by=request.user)

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
class MembershipAdmin(DeleteEachThroughService, admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "created"]
    list_filter = ["role", "organisation"]
    search_fields = ["user__username", "user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]

    def save_model(self, request: Any, obj: Membership, form: Any, change: bool) -> None:
        _save_membership(request, obj, change)

    def delete_model(self, request: Any, obj: Membership) -> None:
        services.membership_revoke(membership=obj, by=request.user)


User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AccessRecordingUserAdmin(DeleteEachThroughService, UserAdmin):
    """Django's user admin, saving through the services (flags, groups,
    permissions and passwords are recorded)."""

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        # Groups and permissions are set here with the flags, so one trail entry
        # holds the whole change; save_related sets the same values again.
        services.user_save(
            user=obj,
            by=request.user,
            groups=form.cleaned_data.get("groups"),
            permissions=form.cleaned_data.get("user_permissions"),
        )

    def delete_model(self, request: Any, obj: Any) -> None:
        services.user_delete(user=obj, by=request.user)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        # Django's view saves the form itself (no save_model hook): record it
        # in the same transaction when it succeeded (a redirect after POST).
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = self.get_object(request, unquote(id))
                services.user_password_set_record(user=user, by=request.user)
        return response


@admin.register(Group)
class AccessRecordingGroupAdmin(DeleteEachThroughService, GroupAdmin):
    """Django's group admin, saving through the services: a group's
    permissions are held by every member."""

    def save_model(self, request: Any, obj: Group, form: Any, change: bool) -> None:
        services.group_save(
            group=obj, by=request.user, permissions=form.cleaned_data.get("permissions")
        )

    def delete_model(self, request: Any, obj: Group) -> None:
        services.group_delete(group=obj, by=request.user)
