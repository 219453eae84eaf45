"""Shared fixtures: two producer organisations in different jurisdictions,
two regulators, and one user per role, used across permission tests.

- org_a (Alpha Synthetics) is established in EU; org_b (Beta Data) in UK.
- regulator_org covers EU (so it reaches org_a, not org_b).
- regulator_org_b covers UK (reaches org_b).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from synthgov.accounts.models import Membership, Organisation, Role
from tests.factories import JurisdictionFactory, OrganisationFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django refuses
# ORM calls there unless told the caller is synchronous (it is).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# --- Which file starts first in `make test` ------------------------------------
# `make test` hands whole files to two processes (`--dist loadfile`): the next file goes
# to whichever process is free, in the order the files come. xdist's own order (most tests
# first) puts one-test files that take minutes last, where one process works alone at the
# end while the other has finished. These files take a minute or more on an idle machine
# (README, "CI"): in a test process they come first, longest first; the others follow by
# number of tests, as before. `make test` passes --no-loadscope-reorder so xdist keeps it.
LONG_FILES = (
    "tests/browser/test_accessibility.py",
    "tests/audits/runs/test_dask.py",
    "tests/audits/runs/test_worker.py",
    "tests/test_api_schema.py",
)


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if not hasattr(config, "workerinput"):
        return  # one process: the order pytest-django chose (plain db tests first)
    files: dict[str, list[Any]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    order = sorted(files, key=lambda f: (rank.get(f, len(rank)), -len(files[f])))
    items[:] = [item for name in order for item in files[name]]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's test database, and before it is dropped (PostgreSQL refuses to
    drop a database anyone is connected to), the sessions still connected to it closed.

    A process a test started and stopped (a Celery worker, a live server's thread) can
    leave its session open a moment after it exits; with two test processes the last
    test of one of them may end inside that moment. Each such session is reported.
    """
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, application_name, state, left(query, 120),"
                " pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            for pid, application, state, query, _ in cursor.fetchall():
                print(
                    f"\nclosed a session left on the test database: pid {pid} "
                    f"{application!r} {state} {query!r}"
                )
        connection.close()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # The production hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _organisation_keys_per_test(settings: Any, tmp_path: Any) -> None:
    # Watermark and manifest keys are generated on first use: never in the repository's var/.
    settings.SYNTHGOV_ORG_KEYS_DIR = tmp_path / "organisation-keys"


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Each test's database starts afresh, and SQLite may hand out the same ids
    # again: a cache entry from an earlier test must not answer for this one.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def registry_storage(settings: Any, tmp_path: Any) -> None:
    """Uploads and stored files in a fresh folder per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()


@dataclass
class World:
    org_a: Organisation
    org_b: Organisation
    regulator_org: Organisation
    regulator_org_b: Organisation
    curator_a: Any
    curator_b: Any
    officer_a: Any
    regulator: Any
    regulator_b: Any
    admin_a: Any
    outsider: Any


def _member(username: str, organisation: Organisation, role: str, **extra: Any) -> Any:
    user = UserFactory(username=username, **extra)
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


@pytest.fixture
def world(db: None) -> World:
    eu = JurisdictionFactory(code="EU", name="European Union")
    uk = JurisdictionFactory(code="UK", name="United Kingdom")
    org_a = OrganisationFactory(name="Alpha Synthetics", slug="alpha", jurisdictions=[eu])
    org_b = OrganisationFactory(name="Beta Data", slug="beta", jurisdictions=[uk])
    regulator_org = OrganisationFactory(
        name="EU Regulator", slug="eu-reg", kind="regulator", jurisdictions=[eu], covers=[eu]
    )
    regulator_org_b = OrganisationFactory(
        name="UK Regulator", slug="uk-reg", kind="regulator", jurisdictions=[uk], covers=[uk]
    )
    return World(
        org_a=org_a,
        org_b=org_b,
        regulator_org=regulator_org,
        regulator_org_b=regulator_org_b,
        curator_a=_member("curator_a", org_a, Role.CURATOR),
        curator_b=_member("curator_b", org_b, Role.CURATOR),
        officer_a=_member("officer_a", org_a, Role.COMPLIANCE_OFFICER),
        regulator=_member("regulator", regulator_org, Role.REGULATOR),
        regulator_b=_member("regulator_b", regulator_org_b, Role.REGULATOR),
        admin_a=_member("admin_a", org_a, Role.ADMINISTRATOR, is_staff=True, is_superuser=True),
        outsider=UserFactory(username="outsider"),
    )
