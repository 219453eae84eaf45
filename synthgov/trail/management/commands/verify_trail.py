from django.core.management.base import BaseCommand, CommandError

from synthgov.trail.services import trail_verify


class Command(BaseCommand):
    help = "Walk the hash-chained audit trail end to end and report the first broken link."

    def handle(self, *args: object, **options: object) -> None:
        result = trail_verify()
        if not result.ok:
            raise CommandError(
                f"Audit trail BROKEN after {result.checked} intact event(s). {result.problem}"
            )
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {result.checked} event(s)."))
