"""Demo organisations, jurisdictions and one user per role.

Idempotent: loading twice changes nothing the second time.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from synthgov.access import services
from synthgov.accounts.models import Jurisdiction, Organisation, Role

DEMO_PASSWORD = "synthgov-demo"  # noqa: S105 - printed on purpose; demo only

JURISDICTIONS = [
    ("EU", "European Union"),
    ("DE", "Germany"),
    ("UK", "United Kingdom"),
    ("HEALTH", "Health sector"),
]

ORGANISATIONS = [
    # slug, name, kind, established in, covers
    ("northwind", "Northwind Synthetics", "producer", ["EU", "DE"], []),
    ("meridian", "Meridian Health Data", "producer", ["UK", "HEALTH"], []),
    ("eu-dpa", "European Data Protection Authority", "regulator", ["EU"], ["EU", "DE"]),
    ("uk-ico", "UK Information Regulator", "regulator", ["UK"], ["UK", "HEALTH"]),
]

# username, full name, organisation slug, role, is staff
USERS = [
    ("curator", "Clara Curator", "northwind", Role.CURATOR, False),
    ("officer", "Oscar Officer", "northwind", Role.COMPLIANCE_OFFICER, False),
    ("curator-uk", "Uma Curator", "meridian", Role.CURATOR, False),
    ("officer-uk", "Owen Officer", "meridian", Role.COMPLIANCE_OFFICER, False),
    ("regulator", "Rhea Regulator", "eu-dpa", Role.REGULATOR, False),
    ("regulator-uk", "Rafe Regulator", "uk-ico", Role.REGULATOR, False),
    ("admin", "Ada Administrator", "northwind", Role.ADMINISTRATOR, True),
]


@transaction.atomic
def load_accounts_demo() -> dict[str, Organisation]:
    """Create the demo organisations and users; return organisations by slug."""
    jurisdictions = {
        code: Jurisdiction.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in JURISDICTIONS
    }
    orgs = {}
    for slug, name, kind, member_of, covers in ORGANISATIONS:
        org, _ = Organisation.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": kind}
        )
        org.jurisdictions.set([jurisdictions[c] for c in member_of])
        org.covered_jurisdictions.set([jurisdictions[c] for c in covers])
        orgs[slug] = org
    user_model = get_user_model()
    for username, full_name, org_slug, role, staff in USERS:
        first, last = full_name.split(" ", 1)
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@demo.synthgov.test",
                "is_staff": staff,
                "is_superuser": staff,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        services.membership_grant(user=user, organisation=orgs[org_slug], role=role, by=None)
    return orgs
