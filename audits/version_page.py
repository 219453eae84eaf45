"""The audits app's panels on the registry's version page: recent audits, model
collapse, watermarking and open publication. The registry renders the page and asks for its panels
through ``registry.signals.version_page_context``; it never imports audits."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.http import HttpRequest

from audits.collapse.selectors import collapse_panel
from audits.provenance.views import provenance_context
from audits.publishing.views import publishing_context
from audits.runs.selectors import audits_for
from registry.models import DatasetVersion
from registry.signals import version_page_context
from synthgov.accounts.permissions import AUDIT_REQUEST, user_has_perm


@receiver(version_page_context, dispatch_uid="audits.version_page.audits")
def audit_panels(
    sender: Any, request: HttpRequest, version: DatasetVersion, **kwargs: Any
) -> dict[str, Any]:
    return {
        "audits": audits_for(request.user).filter(version=version)[:10],
        "collapse": collapse_panel(user=request.user, version=version),
        "can_audit": user_has_perm(
            request.user, AUDIT_REQUEST, organisation=version.dataset.organisation
        ),
    }


@receiver(version_page_context, dispatch_uid="audits.version_page.provenance")
def provenance_panel(
    sender: Any, request: HttpRequest, version: DatasetVersion, **kwargs: Any
) -> dict[str, Any]:
    return provenance_context(request, version)


@receiver(version_page_context, dispatch_uid="audits.version_page.publishing")
def publishing_panel(
    sender: Any, request: HttpRequest, version: DatasetVersion, **kwargs: Any
) -> dict[str, Any]:
    return publishing_context(request, version)
