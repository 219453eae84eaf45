"""Factories for test data; the shared per-role users live in tests/conftest.py."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from synthgov.accounts.models import Jurisdiction, Organisation

PASSWORD = "correct horse battery staple"


class JurisdictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Jurisdiction
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"J{n}")
    name = factory.LazyAttribute(lambda o: f"Jurisdiction {o.code}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    kind = Organisation.Kind.PRODUCER

    @factory.post_generation
    def jurisdictions(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.jurisdictions.set(extracted)

    @factory.post_generation
    def covers(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.covered_jurisdictions.set(extracted)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    first_name = "Test"
    last_name = factory.LazyAttribute(lambda o: o.username.title())

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save()
