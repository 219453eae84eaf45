"""Hand on audit and watermark runs nothing is working on, now (beat runs the
same every SYNTHGOV_SWEEP_SECONDS): send runs that have no task, take over or
fail runs whose worker died, complete their cancels."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audits.provenance.dispatch import watermark_runs_sweep
from audits.runs.services import audit_runs_sweep


class Command(BaseCommand):
    help = "Send runs that have no task; hand on or fail runs whose worker died."

    def handle(self, *args: Any, **options: Any) -> None:
        audits = audit_runs_sweep()
        watermarks = watermark_runs_sweep()
        self.stdout.write(
            "Audits: {sent} sent, {requeued} queued again, {cancelled} cancelled, "
            "{failed} failed.".format(**audits)
            + " Watermark runs: {sent} sent, {failed} failed.".format(**watermarks)
        )
