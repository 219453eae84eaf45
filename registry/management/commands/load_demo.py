"""Load the demo: organisations, one user per role, and registry content.

Idempotent: running it twice changes nothing the second time.
"""

from django.core.management.base import BaseCommand

from registry.demo import load_registry_demo
from synthgov.accounts.demo import load_accounts_demo


class Command(BaseCommand):
    help = "Load demo organisations, users (password: synthgov-demo) and datasets."

    def handle(self, *args: object, **options: object) -> None:
        orgs = load_accounts_demo()
        datasets = load_registry_demo(orgs)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded: {len(orgs)} organisations, {len(datasets)} datasets with lineage."
            )
        )
