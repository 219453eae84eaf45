"""The evaluation list's order, cached under the data's state.

Ordering every current evaluation a user may see by dataset and standard is the
list's slowest query at 10,000 datasets, and with ``OFFSET`` it grows with the
page's depth (at 64,000 evaluations: ~75 ms of SQL on page 1, ~140 ms on page 50,
~570 ms on page 1,000, on every request). What it depends on only changes when an
evaluation, a dataset, a version, a role or an organisation changes, and every
service that makes such a change writes a trail event in the same transaction.

So the total and the list's ids, in order, are kept (the ids in chunks of 1,000, each
read by one narrow query when a page first needs it) under a key made of the
database, the organisations whose restricted datasets the user reads (users with the
same reach share it), the newest trail event other than a sign-in, the day and the
list's filter: it moves exactly when a change commits, as the dashboard's figures do.
A page then reads one chunk and its own rows by id, whatever its depth, through the
same visibility filter as before; the first request after a change costs what one
page did before (the count and one query of its chunk's ids). The page's table is
kept rendered under the same key, the page's number and the template's digest
(``cached_rows``): it holds nothing of the user or the request, and only users with
the same reach share it. A missing, evicted or unreachable cache computes again.
The API's list (``audits.compliance.api.EvaluationPagination``) pages over the same
order and total, under a key of its own query; its JSON is made for each reader.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import Q
from django.template.loader import get_template
from django.utils import timezone
from django.utils.functional import cached_property

from synthgov.accounts.permissions import DATASET_VIEW, organisations_where
from synthgov.trail.models import Event

logger = logging.getLogger(__name__)

ORDER_CACHE_SECONDS = 600
# Ids per cache entry: 20 pages of 50, so a page reads one small entry.
ORDER_CHUNK = 1000
_SESSION_EVENTS = Q(action__startswith="accounts.login.") | Q(action="accounts.logout")


def count_key(user: Any, *parts: str) -> str:
    """The key of one user's list under the data's state (``parts``: the filter)."""
    orgs = list(organisations_where(user, DATASET_VIEW).order_by("id").values_list("id", flat=True))
    head = Event.objects.exclude(_SESSION_EVENTS).order_by("-seq").values_list("seq", "hash")
    database = connection.settings_dict
    where = (database["HOST"], database["PORT"], database["NAME"])
    # The day too: what a status reads as can depend on dates (expiry, coming into force).
    identity = repr((where, orgs, head.first(), timezone.localdate().isoformat(), parts))
    return "evaluation-order:" + hashlib.sha256(identity.encode()).hexdigest()


def totally_ordered(queryset: Any) -> Any:
    """``queryset`` with its primary key as the last sort key, unless it already
    has it: chunks of ids read at different moments fit together only if no two
    rows tie (an order on names or statuses alone leaves ties undefined)."""
    order = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    pk = queryset.model._meta.pk.name
    if any(isinstance(term, str) and term.lstrip("-") in ("pk", pk) for term in order):
        return queryset
    return queryset.order_by(*order, "pk")


class CachedOrderPaginator(Paginator):
    """A ``Paginator`` over a queryset whose ids, in order (``totally_ordered``),
    come from the cache under ``key`` (``count_key``): the total and a page's ids
    without a COUNT or an OFFSET; the page's rows are read from ``object_list`` by id."""

    def __init__(self, object_list: Any, per_page: int, *, key: str) -> None:
        if ORDER_CHUNK % per_page:
            raise ValueError(f"pages of {per_page} do not fit chunks of {ORDER_CHUNK}")
        super().__init__(totally_ordered(object_list), per_page)
        self.key = key
        self._chunks: dict[int, list[int]] = {}

    def _chunk_key(self, index: int) -> str:
        return f"{self.key}:ids:{index}"

    @cached_property
    def count(self) -> int:
        cached = _read(f"{self.key}:n")
        if cached is not None:
            return int(cached)
        counted = super().count
        _store(f"{self.key}:n", counted)
        return counted

    def _ids(self, bottom: int, top: int) -> list[int]:
        """Ids ``bottom`` to ``top`` in order, from their chunk: cached, or read (one
        narrow query of the chunk's ids; the order is total, the id breaking ties,
        so chunks read at different moments under one key fit together)."""
        index = bottom // ORDER_CHUNK
        chunk = self._chunks.get(index)
        if chunk is None:
            chunk = _read(self._chunk_key(index))
        if chunk is None:
            start = index * ORDER_CHUNK
            ids = self.object_list.values_list("pk", flat=True)[start : start + ORDER_CHUNK]
            chunk = list(ids)
            _store(self._chunk_key(index), chunk)
        self._chunks[index] = chunk
        start = bottom - index * ORDER_CHUNK
        return chunk[start : start + (top - bottom)]

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        ids = self._ids(bottom, top) if top > bottom else []
        # Read live, through the same filters (visibility among them) as the order.
        rows = {row.pk: row for row in self.object_list.filter(pk__in=ids).order_by()}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


ROWS_TEMPLATE = "audits/_evaluation_rows.html"


@functools.cache
def _template_digest(name: str) -> str:
    """The template's source, hashed: a deployment that changes the template never
    serves a table rendered by the old one."""
    return hashlib.sha256(get_template(name).template.source.encode()).hexdigest()[:16]


def cached_rows(
    paginator: CachedOrderPaginator, number: Any, render: Callable[[Page], str]
) -> tuple[Page, str]:
    """The page ``number`` asks for (as ``Paginator.get_page``: the first for what is
    not a number, the last past the end) and ``render(page)``, its table, kept under
    the list's key, the page's number and the template's digest. A hit reads no id
    and no row; the returned page holds only its position (for the pagination links)."""
    try:
        number = paginator.validate_number(number)
    except PageNotAnInteger:
        number = 1
    except EmptyPage:
        number = paginator.num_pages
    key = f"{paginator.key}:rows:{number}:{_template_digest(ROWS_TEMPLATE)}"
    html = _read(key)
    if html is None:
        html = render(paginator.page(number))
        _store(key, html)
    return Page([], number, paginator), html


def _read(key: str) -> Any:
    """The cached value under ``key``, or None when it is missing or the cache cannot
    be read (the list is then computed again)."""
    try:
        return cache.get(key)
    except Exception:
        logger.warning("evaluation list cache unreadable", exc_info=True)
        return None


def _store(key: str, value: Any) -> None:
    try:
        cache.set(key, value, ORDER_CACHE_SECONDS)
    except Exception:
        logger.warning("evaluation list not cached", exc_info=True)
