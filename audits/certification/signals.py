"""A new dataset version may replace a parent in a certified version's
lineage: once the upload commits, the review task suspends such certificates.

The receiver only queues the task; the rule lives in
``audits.certification.certificates.certificates_check_lineage``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from registry.models import DatasetVersion
from synthgov.queue import enqueue


@receiver(post_save, sender=DatasetVersion, dispatch_uid="audits.certificates_lineage")
def queue_lineage_review(
    sender: Any, instance: DatasetVersion, created: bool, **kwargs: Any
) -> None:
    if not created or kwargs.get("raw"):
        return
    from audits.models import Certificate, CertificateStatus

    # Most uploads happen where nothing is certified: skip the task then.
    if not Certificate.objects.filter(status=CertificateStatus.VALID).exists():
        return
    transaction.on_commit(lambda: enqueue("audits.certificates_lineage"))
