from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from synthgov.signing.canonical import canonical_json
from synthgov.signing.keys import SigningKeyError
from synthgov.trail.models import Checkpoint
from synthgov.trail.services import TrailBrokenError, checkpoint_create


class Command(BaseCommand):
    help = (
        "Sign a checkpoint of the audit trail's head now (the scheduler does it hourly); "
        "optionally write the newest checkpoint to a file to keep outside the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            metavar="FILE",
            help="also write the newest signed checkpoint to FILE",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            checkpoint = checkpoint_create()
        except (SigningKeyError, TrailBrokenError) as error:
            raise CommandError(f"No checkpoint signed: {error}") from error
        if checkpoint is None:
            self.stdout.write("No new events since the last checkpoint; nothing signed.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Signed checkpoint at #{checkpoint.seq} "
                    f"(head {checkpoint.head_hash[:12]}…, key {checkpoint.kid})."
                )
            )
        newest = Checkpoint.objects.order_by("-seq").first()
        if options["output"] and newest is not None:
            options["output"].write_bytes(canonical_json(newest.document()))
            self.stdout.write(f"Wrote the checkpoint at #{newest.seq} to {options['output']}.")
