from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from synthgov.signing.canonical import canonical_json
from synthgov.trail.models import Event


class Command(BaseCommand):
    help = (
        "Write the whole audit trail as JSON lines (one event per line, every hashed "
        "field), for `python -m synthgov.verify_trail` to check offline. The file "
        "holds every event's content: treat it like the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", type=Path, metavar="FILE")

    def handle(self, *args: object, **options: object) -> None:
        count = 0
        with options["output"].open("wb") as handle:
            for event in Event.objects.order_by("seq").iterator(chunk_size=2000):
                handle.write(canonical_json(event.as_record()) + b"\n")
                count += 1
        self.stdout.write(f"Wrote {count} event(s) to {options['output']}.")
