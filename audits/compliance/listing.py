"""The evaluation list's row count, cached under the data's state.

Counting every current evaluation a user may see is the list's slowest query at
10,000 datasets (a scan of every current evaluation behind the visibility
subqueries), and it only changes when an evaluation, a dataset, a version, a role or
an organisation changes: every service that makes such a change writes a trail event
in the same transaction. So the count is kept under a key made of the database,
the organisations whose restricted datasets the user reads (users with the same
reach share it), the newest trail event other than a sign-in, and the list's filter:
it moves exactly when a change commits, as the dashboard's figures do. A missing or
unreachable cache counts again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from synthgov.accounts.permissions import DATASET_VIEW, organisations_where
from synthgov.trail.models import Event

logger = logging.getLogger(__name__)

COUNT_CACHE_SECONDS = 600
_SESSION_EVENTS = Q(action__startswith="accounts.login.") | Q(action="accounts.logout")


def count_key(user: Any, *parts: str) -> str:
    orgs = list(organisations_where(user, DATASET_VIEW).order_by("id").values_list("id", flat=True))
    head = Event.objects.exclude(_SESSION_EVENTS).order_by("-seq").values_list("seq", "hash")
    database = connection.settings_dict
    where = (database["HOST"], database["PORT"], database["NAME"])
    # The day too: what a status reads as can depend on dates (expiry, coming into force).
    identity = repr((where, orgs, head.first(), timezone.localdate().isoformat(), parts))
    return "evaluation-count:" + hashlib.sha256(identity.encode()).hexdigest()


class CachedCountPaginator(Paginator):
    """A ``Paginator`` whose total comes from the cache under ``key`` (``count_key``)."""

    def __init__(self, object_list: Any, per_page: int, *, key: str) -> None:
        super().__init__(object_list, per_page)
        self.key = key

    @cached_property
    def count(self) -> int:
        try:
            cached = cache.get(self.key)
        except Exception:
            logger.warning("evaluation count cache unreadable", exc_info=True)
            return super().count
        if cached is not None:
            return int(cached)
        counted = super().count
        try:
            cache.set(self.key, counted, COUNT_CACHE_SECONDS)
        except Exception:
            logger.warning("evaluation count not cached", exc_info=True)
        return counted
