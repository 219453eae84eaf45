"""Population profiles: validation, immutability, permissions, trail, import."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from audits.models import JurisdictionProfile, PopulationProfile
from audits.populations import services
from audits.populations.content import ContentError, parse_csv, parse_yaml, to_csv
from synthgov.accounts.models import Jurisdiction
from synthgov.trail.models import Event

SEX = [
    {
        "attributes": ["sex"],
        "groups": [{"values": ["Female"], "share": 0.51}, {"values": ["Male"], "share": 0.49}],
    }
]
URL = "https://www.ons.gov.uk/census"


def _draft(world, user=None, owner=None, **kw):
    options = {
        "user": user or world.regulator,
        "owner": owner or world.regulator_org,
        "name": "Sex",
        "source": "A census",
        "source_url": URL,
        "groupings": SEX,
    }
    options.update(kw)
    return services.profile_save_draft(**options)


def test_draft_publish_new_version_and_trail(world):
    profile = _draft(world)
    assert (profile.number, profile.status) == (1, "draft")
    published = services.profile_publish(profile=profile, user=world.regulator)
    assert published.is_published and len(published.content_sha256) == 64
    # Published: never changed; a change makes version 2.
    with pytest.raises(ValidationError, match="published and cannot change"):
        _draft(world, profile=published, groupings=SEX)
    with pytest.raises(ValidationError, match="already published"):
        services.profile_publish(profile=published, user=world.regulator)
    second = services.profile_new_version(profile=published, user=world.regulator)
    assert second.number == 2 and second.status == "draft"
    changed = _draft(world, profile=second, source="Another census")
    assert changed.pk == second.pk and changed.source == "Another census"
    published.refresh_from_db()
    assert published.source == "A census"
    actions = list(
        Event.objects.filter(object_type="audits.populationprofile")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        "audits.population_profile.draft_saved",
        "audits.population_profile.published",
        "audits.population_profile.draft_saved",
        "audits.population_profile.draft_changed",
    ]


@pytest.mark.parametrize(
    ("groupings", "message"),
    [
        ([], "at least one attribute"),
        ([{"attributes": ["sex"], "groups": [{"values": ["F"], "share": 0.6}]}], "sum to 0.6"),
        (
            [
                {
                    "attributes": ["sex"],
                    "groups": [{"values": ["F"], "share": 1.5}, {"values": ["M"], "share": -0.5}],
                }
            ],
            "outside 0 to 1",
        ),
        ([{"attributes": ["sex"], "groups": [{"values": ["F"], "share": "nan"}]}], "outside"),
        ([{"attributes": ["sex"], "groups": [{"values": ["F"], "share": True}]}], "number"),
        (
            [
                {
                    "attributes": ["sex"],
                    "groups": [{"values": ["F"], "share": 0.5}, {"values": ["F"], "share": 0.5}],
                }
            ],
            "twice",
        ),
        (
            [{"attributes": ["sex", "age"], "groups": [{"values": ["F"], "share": 1}]}],
            "one value per attribute",
        ),
        ([{"attributes": [], "groups": []}], "one to three attributes"),
        ("not a list", "at least one attribute"),
    ],
)
def test_invalid_content_is_refused_with_the_reason(world, groupings, message):
    with pytest.raises(ValidationError) as caught:
        _draft(world, groupings=groupings)
    assert message in " ".join(caught.value.messages)
    assert not PopulationProfile.objects.exists()


def test_shares_within_the_tolerance_are_accepted(world):
    rounded = [{"attributes": ["sex"], "groups": [{"values": ["F"], "share": 0.512},
                                                  {"values": ["M"], "share": 0.49}]}]  # fmt: skip
    assert _draft(world, groupings=rounded).pk


def test_source_and_url_are_required(world):
    with pytest.raises(ValidationError) as caught:
        _draft(world, source="", source_url="javascript:alert(1)")
    assert set(caught.value.message_dict) == {"source", "source_url"}


def test_who_may_write(world):
    # A curator writes for their own organisation; not for another one.
    assert _draft(world, user=world.curator_a, owner=world.org_a).owner == world.org_a
    for user, owner in [
        (world.curator_a, world.org_b),
        (world.officer_a, world.org_a),
        (world.outsider, world.org_a),
        (world.regulator_b, world.regulator_org),
    ]:
        with pytest.raises(services.ProfileForbidden):
            _draft(world, user=user, owner=owner, name="Other")
    profile = _draft(world)
    with pytest.raises(services.ProfileForbidden):
        services.profile_publish(profile=profile, user=world.regulator_b)


def test_visibility_published_for_everyone_drafts_for_the_owner(world):
    draft = _draft(world, name="Draft")
    published = services.profile_publish(profile=_draft(world), user=world.regulator)
    for user in (world.curator_b, world.officer_a, world.regulator_b):
        assert list(PopulationProfile.objects.visible_to(user)) == [published]
    assert set(PopulationProfile.objects.visible_to(world.regulator)) == {draft, published}
    assert not PopulationProfile.objects.visible_to(None).exists()


def test_jurisdiction_default(world):
    eu = Jurisdiction.objects.get(code="EU")
    profile = _draft(world)
    with pytest.raises(ValidationError, match="Publish"):
        services.jurisdiction_set_default(jurisdiction=eu, profile=profile, user=world.regulator)
    profile = services.profile_publish(profile=profile, user=world.regulator)
    with pytest.raises(services.ProfileForbidden):
        services.jurisdiction_set_default(jurisdiction=eu, profile=profile, user=world.regulator_b)
    with pytest.raises(services.ProfileForbidden):
        services.jurisdiction_set_default(jurisdiction=eu, profile=profile, user=world.curator_a)
    services.jurisdiction_set_default(jurisdiction=eu, profile=profile, user=world.regulator)
    assert JurisdictionProfile.objects.get(jurisdiction=eu).profile == profile
    assert Event.objects.filter(action="audits.population_profile.jurisdiction_default").exists()


CSV = """attribute,group,share
sex,Female,0.51
sex,Male,0.49
sex|band,Female|old,0.25
sex|band,Female|young,0.26
sex|band,Male|old,0.24
sex|band,Male|young,0.25
"""

YAML = """
name: UK sex
source: ONS Census 2021
source_url: https://www.ons.gov.uk/census
groupings:
  - attributes: [sex]
    shares: {Female: 0.51, Male: 0.49}
  - attributes: [sex, band]
    shares:
      - {values: [Female, old], share: 0.25}
      - {values: [Female, young], share: 0.26}
      - {values: [Male, old], share: 0.24}
      - {values: [Male, young], share: 0.25}
"""


def test_csv_and_yaml_give_the_same_content_and_csv_round_trips():
    from_csv, from_yaml = parse_csv(CSV), parse_yaml(YAML)
    assert from_csv.groupings == from_yaml.groupings
    assert from_yaml.name == "UK sex" and from_yaml.source_url.startswith("https://")
    assert parse_csv(to_csv(from_csv.groupings)).groupings == from_csv.groupings


def test_import_stores_a_draft_with_a_trail_entry(world):
    profile = services.profile_import(
        text=YAML, fmt="yaml", user=world.regulator, owner=world.regulator_org
    )
    assert profile.name == "UK sex" and profile.attributes == ["band", "sex"]
    csv_profile = services.profile_import(
        text=CSV, fmt="csv", user=world.curator_a, owner=world.org_a,
        name="From CSV", source="ONS", source_url=URL,
    )  # fmt: skip
    assert csv_profile.groupings == profile.groupings
    assert Event.objects.filter(action="audits.population_profile.draft_saved").count() == 2


HOSTILE = [
    ("yaml", "a: &a [1, 2]\nb: [*a, *a, *a]\n", "aliases"),
    ("yaml", "[" * 5000 + "]" * 5000, ""),
    ("yaml", "!!python/object/apply:os.system ['echo hi']", "cannot be read"),
    ("yaml", "- just\n- a list\n", "mapping"),
    ("yaml", "name: x\nextra: 1\ngroupings: []\n", "Unknown field"),
    ("yaml", "groupings:\n  - attributes: [sex]\n    shares: {F: 1e999}\n", "outside"),
    ("yaml", "x" * 300_000, "larger than"),
    ("csv", "sex,Female,0.5\n", "header"),
    ("csv", "attribute,group,share\nsex,Female\n", "3 cells"),
    ("csv", "attribute,group,share\nsex|band,Female,1\n", "separate both"),
    ("csv", "attribute,group,share\nsex,F,abc\n", "number"),
    ("csv", "attribute,group,share\nsex,F,0.5\x00\n", "not text"),
    ("csv", "attribute,group,share\n" + "".join(f"a{i},x,1\n" for i in range(30)), "at most"),
    ("xml", "<a/>", "Choose one of"),
]


@pytest.mark.parametrize(("fmt", "text", "message"), HOSTILE)
def test_hostile_input_is_refused_and_nothing_stored(world, fmt, text, message):
    with pytest.raises(ValidationError) as caught:
        services.profile_import(
            text=text, fmt=fmt, user=world.regulator, owner=world.regulator_org,
            name="Hostile", source="x", source_url=URL,
        )  # fmt: skip
    assert message in " ".join(caught.value.messages)
    assert not PopulationProfile.objects.exists()
    assert not Event.objects.filter(object_type="audits.populationprofile").exists()


def test_parse_errors_list_every_problem():
    with pytest.raises(ContentError) as caught:
        parse_csv("attribute,group,share\nsex,F,2\nsex,M,x\n")
    assert len(caught.value.problems) == 2
