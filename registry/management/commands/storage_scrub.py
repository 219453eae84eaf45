"""Re-hash stored dataset files now (beat runs the same every SYNTHGOV_SCRUB_SECONDS).

manage.py storage_scrub              # the SYNTHGOV_SCRUB_BATCH files checked longest ago
manage.py storage_scrub --batch 500  # that many
manage.py storage_scrub --all        # every stored file
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from registry.models import DatasetVersion
from registry.scrub import storage_scrub


class Command(BaseCommand):
    help = "Re-hash stored dataset files, oldest-checked first; suspend certificates of bad ones."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--batch", type=int, help="how many files to check")
        group.add_argument("--all", action="store_true", help="check every stored file")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = DatasetVersion.objects.count() if options["all"] else options["batch"]
        if batch is not None and batch < 1:
            self.stdout.write("Nothing to check.")
            return
        counts = storage_scrub(batch=batch)
        self.stdout.write(
            f"Checked {sum(counts.values())} stored files: {counts['ok']} intact, "
            f"{counts['altered']} altered, {counts['missing']} missing."
        )
        if counts["altered"] or counts["missing"]:
            self.stderr.write(
                "Altered or missing files were recorded in the trail and their certificates "
                "suspended; restore them from a backup."
            )
