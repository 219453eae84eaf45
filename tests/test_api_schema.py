"""Every API operation against the OpenAPI schema, with schemathesis.

Each operation of ``/api/schema/`` is called with generated inputs (valid and invalid),
authenticated as a curator with a token, through the WSGI application on the test
database. Every response must be a documented status with a documented content type
and body, and never a 5xx. Operations with an object in their path are called twice
per example: with the generated id (mostly one that does not exist) and with the id of
a real object, so both answers are checked. Seeded and bounded: it runs the same
examples every time, in a minute or two. Operations without any input that could
be invalid have no negative examples (Hypothesis reports them unsatisfiable).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from synthgov.wsgi import application
from tests.audits.certification import helpers as helpers
from tests.factories import PASSWORD

cert_world = helpers.cert_world
signing_keys = helpers.signing_keys

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SEED = 20261206
# Examples per operation and mode: about 2,000 requests in all, a minute or two.
MAX_EXAMPLES = 12

load_all_checks()


@pytest.fixture
def api_world(cert_world: dict[str, Any]) -> dict[str, Any]:
    """cert_world with a certificate issued, and the curator's token."""
    world, evaluation = cert_world["world"], cert_world["evaluation"]
    for user in (world.curator_a, world.regulator):
        client = Client()
        client.force_login(user)
        response = client.post(
            f"/api/v1/evaluations/{evaluation.pk}/signoffs/",
            {"decision": "approve", "comment": "Reviewed.", "password": PASSWORD},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
    number = response.json()["certificate"]
    token = Token.objects.create(user=world.curator_a)
    return {**cert_world, "number": number, "token": token.key}


def _real_path_parameters(path: str, world: dict[str, Any]) -> dict[str, Any] | None:
    """The path parameters naming a real object of the kind ``path`` is about."""
    ids = {
        "/api/v1/datasets/": world["synthetic"].dataset_id,
        "/api/v1/versions/": world["synthetic"].pk,
        "/api/v1/audits/": world["run"].pk,
        "/api/v1/standards/": world["standard"].pk,
        "/api/v1/evaluations/": world["evaluation"].pk,
        "/api/v1/watermark-runs/": None,
    }
    for prefix, pk in ids.items():
        if path.startswith(prefix + "{id}") and pk is not None:
            return {"id": pk}
    if path.startswith("/api/v1/certificates/{number}"):
        return {"number": world["number"]}
    if path.startswith("/api/v1/organisations/{slug}"):
        return {"slug": world["world"].org_a.slug}
    return None


@pytest.fixture
def wsgi_keeps_test_connection(api_world: dict[str, Any]) -> Any:
    """The WSGI handler closes the database connection when a request finishes; the
    test's transaction lives on that connection (Django's test client does the same,
    and reconnects the signal after each of its requests: so after ``api_world``)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _calls(
    operation: Any, mode: GenerationMode, headers: dict[str, str], real: dict[str, Any] | None
) -> Any:
    """A Hypothesis test calling ``operation`` with generated cases: as generated, then
    (when its path names an object) on a real object."""

    @seed(SEED)  # the same examples on every run: a failure in CI reproduces locally
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def call(case: Any) -> None:
        # buffered: the WSGI response is closed, as a server closes it (Django then
        # closes the request's uploaded files).
        case.call_and_validate(headers=headers, checks=CHECKS, buffered=True)
        if real is not None:
            case.path_parameters = {**(case.path_parameters or {}), **real}
            case.call_and_validate(headers=headers, checks=CHECKS, buffered=True)

    return call


def _failure(operation: str, mode: str, error: BaseException) -> str:
    return f"{operation} ({mode}):\n{error}"


@pytest.mark.usefixtures("wsgi_keeps_test_connection")
def test_api_answers_as_documented(api_world: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    headers = {"Authorization": f"Token {api_world['token']}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        real = _real_path_parameters(operation.path, api_world)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            call = _calls(operation, mode, headers, real)

            try:
                call()
            except Unsatisfiable:
                continue  # no invalid input exists (an operation without parameters)
            except (Exception, FailureGroup) as error:  # report every operation's failures
                failures.append(_failure(operation.label, mode.value, error))
    assert operations > 40, operations
    assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
