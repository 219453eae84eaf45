"""Two regulators approve the same evaluation at the same moment: exactly one
certificate, and the other gets a clear conflict. Real concurrent
transactions, so PostgreSQL only (SQLite serialises every writer)."""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from audits.certification import rules as certification_rules
from audits.certification import signoffs
from audits.models import Certificate, SignOff
from synthgov.accounts.models import Membership, Role
from tests.audits.certification import helpers as helpers
from tests.factories import UserFactory

# Fixtures shared by the certificate tests.
cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="concurrent approval needs real row locks: run with "
        "DATABASE_URL=postgres://... (CI does)",
    ),
]


def test_two_regulators_approving_at_once_issue_one_certificate(cert_world):
    assert connection.vendor == "postgresql"
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    signoffs.signoff_record(
        evaluation=evaluation,
        user=world.curator_a,
        decision="approve",
        comment="Producer approval.",
        reauthenticated_at=timezone.now(),
    )
    second = UserFactory(username="regulator_two")
    Membership.objects.create(user=second, organisation=world.regulator_org, role=Role.REGULATOR)

    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def approve(user):
        try:
            barrier.wait(timeout=10)
            outcomes[user.username] = signoffs.signoff_record(
                evaluation=evaluation,
                user=user,
                decision="approve",
                comment="Regulator approval.",
                reauthenticated_at=timezone.now(),
            )
        except Exception as error:  # recorded and asserted below
            outcomes[user.username] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (world.regulator, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Certificate.objects.count() == 1
    assert SignOff.objects.filter(role="regulator").count() == 1
    won = [o for o in outcomes.values() if isinstance(o, SignOff)]
    lost = [o for o in outcomes.values() if not isinstance(o, SignOff)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], certification_rules.SignOffConflict), repr(lost[0])
    assert "already approved this evaluation" in str(lost[0])
    assert Certificate.objects.get().signoff == won[0]
