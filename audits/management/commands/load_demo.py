"""Load the demo: organisations, one user per role, datasets with lineage and
finished audits.

Idempotent: running it twice changes nothing the second time.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from audits.demo import (
    load_audits_demo,
    load_certificates_demo,
    load_populations_demo,
    load_standards_demo,
    load_watermark_demo,
)
from registry.demo import load_registry_demo, load_relational_demo
from synthgov.access.demo import load_accounts_demo
from synthgov.trail.services import checkpoint_create


class Command(BaseCommand):
    help = "Load demo organisations, users (password: synthgov-demo), datasets and audits."

    def handle(self, *args: object, **options: object) -> None:
        orgs = load_accounts_demo()
        self.stdout.write("Loading datasets (SDMetrics student placements and generations)…")
        datasets = load_registry_demo(orgs)
        self.stdout.write("Loading a relational dataset (SDMetrics users, sessions, transactions)…")
        relational = load_relational_demo(orgs)
        self.stdout.write("Watermarking the synthetic dataset (its version 2)…")
        load_watermark_demo(datasets)
        self.stdout.write("Publishing the shipped population profiles (UK default)…")
        load_populations_demo()
        self.stdout.write("Running the demo audits…")
        officer = get_user_model().objects.get(username="officer")
        runs = load_audits_demo(datasets, user=officer)
        self.stdout.write("Auditing the synthetic linked tables against the real ones…")
        runs += load_audits_demo(relational, user=officer)
        self.stdout.write("Publishing the shipped standards and evaluating compliance…")
        standards = load_standards_demo(user=get_user_model().objects.get(username="admin"))
        self.stdout.write("Signing off approvable evaluations and issuing certificates…")
        certificates = load_certificates_demo()
        # The scheduler signs hourly; sign now so /trail/checkpoints/ has one at once.
        checkpoint = checkpoint_create()
        if checkpoint is not None:
            self.stdout.write(f"Trail checkpoint signed at event #{checkpoint.seq}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded: {len(orgs)} organisations, {len(datasets)} datasets with "
                f"lineage, {len(relational)} relational datasets, {len(runs)} finished "
                f"audits, {len(standards)} published standards, "
                f"{len(certificates)} certificates."
            )
        )
