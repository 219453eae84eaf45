"""Administration of sign-offs and certificates: read-only, even for
superusers. They change only through the services (sign, revoke, expire,
suspend), which write the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from audits.models import Certificate, Notification, SignOff


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(SignOff)
class SignOffAdmin(_ReadOnlyAdmin):
    list_display = ["evaluation", "role", "decision", "user", "organisation", "created"]
    list_filter = ["role", "decision"]
    search_fields = ["user__username", "organisation__name", "evidence_sha256"]


@admin.register(Certificate)
class CertificateAdmin(_ReadOnlyAdmin):
    list_display = ["number", "dataset_version", "standard_version", "status", "issued", "expires"]
    list_filter = ["status"]
    search_fields = ["number", "evidence_sha256"]


@admin.register(Notification)
class NotificationAdmin(_ReadOnlyAdmin):
    list_display = ["created", "organisation", "user", "message", "read"]
