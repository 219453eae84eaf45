from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from synthgov.signing.checkpoints import checkpoint_documents
from synthgov.signing.strict_json import loads_strict
from synthgov.trail.services import trail_verify


class Command(BaseCommand):
    help = (
        "Walk the hash-chained audit trail end to end; compare it with its head, every "
        "stored checkpoint and any checkpoint files kept outside the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            type=Path,
            metavar="FILE",
            help="a checkpoint (or checkpoints export) downloaded earlier from "
            "/trail/checkpoints.json; may be given more than once",
        )

    def handle(self, *args: object, **options: object) -> None:
        kept = []
        for path in options["checkpoint"]:
            try:
                kept += checkpoint_documents(loads_strict(path.read_bytes()))
            except (OSError, ValueError) as error:
                raise CommandError(f"Cannot read the checkpoint file {path}: {error}") from error
        result = trail_verify(external=kept)
        if not result.ok:
            raise CommandError(
                f"Audit trail BROKEN after {result.checked} intact event(s). {result.problem}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit trail intact: {result.checked} event(s), "
                f"matching {result.checkpoints} signed checkpoint(s)."
            )
        )
        if result.v1_events:
            self.stdout.write(
                f"{result.v1_events} event(s) predate hash format v2: their contents are "
                "hashed as written then, their actor and organisation ids by the "
                "trail.format.upgraded event."
            )
        if not result.checkpoints:
            self.stdout.write(
                "No checkpoint yet: a rewrite consistent within the database cannot be "
                "detected until one is signed (manage.py trail_checkpoint) and kept elsewhere."
            )
