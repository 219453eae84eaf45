"""Sign-off through the services: the flow, each separation-of-duties rule,
fresh login, and evidence changes that void earlier sign-offs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audits.certification import rules as certification_rules
from audits.certification import signoffs
from audits.models import Certificate, SignOff
from synthgov.accounts.models import Membership, Role
from synthgov.signing.certificates import parse_certificate_file, verify_certificate
from synthgov.signing_keys import signing_keyring
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.audits.certification import helpers as helpers
from tests.audits.certification.helpers import GOOD, evaluate, record_audit
from tests.factories import UserFactory

# Fixtures shared by the certificate tests.
cert_world = helpers.cert_world
signing_keys = helpers.signing_keys


def sign(evaluation, user, decision="approve", comment="Checked every rule and audit.", **kw):
    return signoffs.signoff_record(
        evaluation=evaluation,
        user=user,
        decision=decision,
        comment=comment,
        reauthenticated_at=kw.pop("at", timezone.now()),
    )


def reevaluate(cw, figures, **kw):
    record_audit(cw["synthetic"], cw["real"], cw["world"].curator_a, figures, **kw)
    return evaluate(cw["synthetic"], cw["standard"])


def test_curator_then_regulator_approval_issues_a_signed_certificate(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    producer = sign(evaluation, world.curator_a)
    assert (producer.role, producer.organisation) == ("producer", world.org_a)
    assert signoffs.signoff_state(evaluation).stage == "regulator"

    regulator = sign(evaluation, world.regulator, comment="Evidence reviewed for the EU.")
    assert (regulator.role, regulator.organisation) == ("regulator", world.regulator_org)
    certificate = Certificate.objects.get()
    assert certificate.signoff == regulator and certificate.evaluation == evaluation
    year = certificate.issued.year
    assert certificate.number == f"SG-{year}-000001"
    assert certificate.expires == certificate.issued.date() + timedelta(days=365)

    document = parse_certificate_file(certificate.signed_text)
    payload = document["certificate"]
    assert payload["dataset_version"]["sha256"] == cert_world["synthetic"].sha256
    assert payload["standard"] == {
        "code": "CERT-TEST",
        "version": "1.0",
        "name": "Certification test standard",
        "spec_sha256": cert_world["standard"].spec_sha256,
    }
    assert payload["evaluation"]["evidence_sha256"] == evaluation.evidence_sha256
    assert payload["audits"] == [
        {
            "id": cert_world["run"].pk,
            "evidence_sha256": cert_world["run"].evidence_sha256,
            "finished": cert_world["run"].finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ]
    assert payload["issuer"]["organisation"] == "EU Regulator"
    assert payload["expires"] == certificate.expires.isoformat()
    assert [s["role"] for s in payload["signoffs"]] == ["producer", "regulator"]
    result = verify_certificate(document, signing_keyring().public_keys())
    assert result.valid and result.kid == certificate.kid

    actions = list(Event.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-3:] == [
        "audits.signoff.recorded",
        "audits.signoff.recorded",
        "audits.certificate.issued",
    ]
    assert trail_verify().ok


def test_regulator_cannot_sign_before_the_curator(cert_world):
    with pytest.raises(
        certification_rules.SignOffForbidden, match="A curator of Alpha Synthetics signs first"
    ):
        sign(cert_world["evaluation"], cert_world["world"].regulator)
    assert not SignOff.objects.exists()


@pytest.mark.parametrize("username", ["curator_b", "officer_a", "outsider"])
def test_only_a_curator_of_the_producer_signs_first(cert_world, username):
    user = getattr(cert_world["world"], username)
    with pytest.raises(certification_rules.SignOffForbidden):
        sign(cert_world["evaluation"], user)


def test_nobody_signs_the_same_evaluation_twice(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    sign(evaluation, world.curator_a)
    with pytest.raises(
        certification_rules.SignOffForbidden, match="nobody signs the same evaluation twice"
    ):
        sign(evaluation, world.curator_a)


def test_nobody_signs_in_both_roles(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    both = UserFactory(username="both_roles")
    Membership.objects.create(user=both, organisation=world.org_a, role=Role.CURATOR)
    Membership.objects.create(user=both, organisation=world.regulator_org, role=Role.REGULATOR)
    sign(evaluation, both)
    with pytest.raises(
        certification_rules.SignOffForbidden, match="already signed this evaluation"
    ):
        sign(evaluation, both)
    assert SignOff.objects.count() == 1


def test_regulator_cannot_sign_for_their_own_organisations_data(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    sign(evaluation, world.curator_a)
    insider = UserFactory(username="insider_regulator")
    Membership.objects.create(user=insider, organisation=world.regulator_org, role=Role.REGULATOR)
    Membership.objects.create(user=insider, organisation=world.org_a, role=Role.COMPLIANCE_OFFICER)
    with pytest.raises(
        certification_rules.SignOffForbidden, match="cannot sign for their own organisation"
    ):
        sign(evaluation, insider)
    assert not Certificate.objects.exists()


def test_regulator_outside_the_jurisdiction_cannot_sign(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    sign(evaluation, world.curator_a)
    with pytest.raises(certification_rules.SignOffForbidden, match="Only a regulator covering"):
        sign(evaluation, world.regulator_b)  # covers UK; the dataset is in the EU


def test_a_failing_blocking_rule_cannot_be_approved(cert_world):
    world = cert_world["world"]
    evaluation = reevaluate(cert_world, {**GOOD, "quality.overall": 0.5})
    assert evaluation.status == "non_compliant"
    with pytest.raises(ValidationError, match=r"quality.overall \(blocking\)"):
        sign(evaluation, world.curator_a, comment="quality.overall is fine by us")
    assert not SignOff.objects.exists()
    sign(evaluation, world.curator_a, decision="request_changes", comment="Regenerate.")
    assert SignOff.objects.get().decision == "request_changes"


def test_a_minor_failure_needs_a_comment_that_addresses_it(cert_world):
    world = cert_world["world"]
    evaluation = reevaluate(
        cert_world, {**GOOD, "privacy.exact_match_rate": 0.05, "quality.detection": 0.1}
    )
    assert evaluation.worst_severity == "minor"
    with pytest.raises(ValidationError, match=r"privacy\.exact_match_rate, quality\.detection"):
        sign(evaluation, world.curator_a, comment="Looks good.")
    with pytest.raises(ValidationError, match=r"name quality\.detection"):
        sign(evaluation, world.curator_a, comment="privacy.exact_match_rate: public records.")
    sign(
        evaluation,
        world.curator_a,
        comment="privacy.exact_match_rate: copies are public records; "
        "quality.detection: accepted for this use.",
    )
    sign(
        evaluation,
        world.regulator,
        comment="Agree on privacy.exact_match_rate and quality.detection as explained.",
    )
    assert Certificate.objects.filter(evaluation=evaluation).exists()


def test_an_incomplete_evaluation_cannot_be_approved(cert_world):
    world = cert_world["world"]
    figures = {k: v for k, v in GOOD.items() if k != "quality.detection"}
    run = record_audit(cert_world["synthetic"], cert_world["real"], world.curator_a, figures)
    # The newest audit lacks a figure, but the older one still supplies it:
    # make this the only audit so the figure is missing.
    cert_world["run"].metrics.filter(key="quality.detection").delete()
    evaluation = evaluate(cert_world["synthetic"], cert_world["standard"])
    assert evaluation.status == "incomplete" and run.pk
    with pytest.raises(ValidationError, match="incomplete"):
        sign(evaluation, world.curator_a)


@pytest.mark.parametrize("comment", ["", "   "])
def test_a_comment_is_required(cert_world, comment):
    with pytest.raises(ValidationError, match="Write a comment"):
        sign(cert_world["evaluation"], cert_world["world"].curator_a, comment=comment)


def test_signing_needs_a_fresh_login(cert_world):
    evaluation, curator = cert_world["evaluation"], cert_world["world"].curator_a
    with pytest.raises(certification_rules.FreshLoginRequired):
        sign(evaluation, curator, at=None)
    with pytest.raises(certification_rules.FreshLoginRequired, match="re-enter your password"):
        sign(evaluation, curator, at=timezone.now() - timedelta(minutes=6))
    assert not SignOff.objects.exists()


def test_new_evidence_voids_earlier_signoffs_and_restarts_the_flow(cert_world):
    world, old = cert_world["world"], cert_world["evaluation"]
    producer = sign(old, world.curator_a)
    assert producer.applies

    new = reevaluate(cert_world, {**GOOD, "quality.overall": 0.95})  # a newer audit
    assert new.pk != old.pk and new.evidence_sha256 != old.evidence_sha256
    producer.refresh_from_db()
    producer.evaluation.refresh_from_db()
    assert not producer.applies
    assert signoffs.signoff_state(producer.evaluation).stage == "superseded"
    with pytest.raises(certification_rules.SignOffConflict, match="Newer evidence replaced"):
        sign(old, world.regulator)
    assert signoffs.signoff_state(new).stage == "producer"
    sign(new, world.curator_a)  # the same curator signs the new evidence
    sign(new, world.regulator)
    assert Certificate.objects.get().evaluation == new


def test_a_request_for_changes_closes_the_flow(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    sign(evaluation, world.curator_a)
    sign(evaluation, world.regulator, decision="request_changes", comment="Add a holdout.")
    assert signoffs.signoff_state(evaluation).stage == "closed"
    assert not Certificate.objects.exists()
    other = UserFactory(username="second_regulator")
    Membership.objects.create(user=other, organisation=world.regulator_org, role=Role.REGULATOR)
    with pytest.raises(certification_rules.SignOffConflict, match="closes its sign-off"):
        sign(evaluation, other)


def test_the_database_refuses_a_second_decision_in_one_role(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    first = sign(evaluation, world.curator_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        SignOff.objects.create(
            evaluation=evaluation,
            evidence_sha256=first.evidence_sha256,
            role="producer",
            decision="reject",
            comment="x",
            user=world.officer_a,
            organisation=world.org_a,
        )


def test_waiting_lists_follow_the_flow(cert_world):
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    assert signoffs.signoffs_waiting_for(world.curator_a) == [evaluation]
    assert signoffs.signoffs_waiting_for(world.regulator) == []
    sign(evaluation, world.curator_a)
    assert signoffs.signoffs_waiting_for(world.curator_a) == []
    assert signoffs.signoffs_waiting_for(world.regulator) == [evaluation]
    assert signoffs.signoffs_waiting_for(world.regulator_b) == []
