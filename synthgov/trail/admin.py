from django.contrib import admin

from synthgov.trail.models import Checkpoint, Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only, even for administrators."""

    list_display = ["seq", "created", "actor_label", "action", "object_repr", "organisation_label"]
    list_filter = ["action"]
    search_fields = ["action", "actor_label", "object_repr"]
    ordering = ["-seq"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    """Read-only: checkpoints are signed by the scheduler or ``trail_checkpoint``."""

    list_display = ["seq", "created", "kid", "head_hash"]
    ordering = ["-seq"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
