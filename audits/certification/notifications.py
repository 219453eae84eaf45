"""Notifications to an organisation or one user: written when certificates
change, shown on the home page until read."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from audits.models import (
    Notification,
)
from synthgov.accounts.models import Organisation


def notify(*, organisation: Organisation, message: str, link: str = "", user: Any = None) -> None:
    Notification.objects.create(organisation=organisation, user=user, message=message, link=link)


def notifications_for(user: Any, *, limit: int = 10) -> list[Notification]:
    return list(Notification.objects.for_user(user).filter(read__isnull=True)[:limit])


def notification_mark_read(*, notification_id: int, user: Any) -> bool:
    return bool(
        Notification.objects.for_user(user)
        .filter(pk=notification_id, read__isnull=True)
        .update(read=timezone.now())
    )
