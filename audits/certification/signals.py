"""Certificates react to what happens in the registry.

- A new dataset version may replace a parent in a certified version's lineage:
  once the upload commits, the review task suspends such certificates (the
  receiver only queues it; the rule is ``certificates.certificates_check_lineage``).
- A stored file found altered or missing (``registry.signals.stored_file_failed``)
  suspends the version's valid certificates at once.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from audits.certification.certificates import certificates_suspend_for_stored_file
from audits.models import Certificate, CertificateStatus
from registry.models import DatasetVersion
from registry.signals import stored_file_failed
from synthgov.queue import enqueue


@receiver(post_save, sender=DatasetVersion, dispatch_uid="audits.certificates_lineage")
def queue_lineage_review(
    sender: Any, instance: DatasetVersion, created: bool, **kwargs: Any
) -> None:
    if not created or kwargs.get("raw"):
        return
    # Most uploads happen where nothing is certified: skip the task then.
    if not Certificate.objects.filter(status=CertificateStatus.VALID).exists():
        return
    transaction.on_commit(lambda: enqueue("audits.certificates_lineage"))


@receiver(stored_file_failed, dispatch_uid="audits.certificates_stored_file")
def suspend_for_stored_file(
    sender: Any, version: DatasetVersion, outcome: str, found_by: str, **kwargs: Any
) -> None:
    certificates_suspend_for_stored_file(version=version, outcome=outcome, found_by=found_by)
