"""A dataset's PROV as a user and a third-party tool meet it.

- ``/datasets/{id}/prov/`` (and the API's ``/api/v1/datasets/{id}/prov/`` and
  the ``lineage.prov.json`` download) hold that dataset's lineage: its
  versions, their ancestors and their descendants, not a sibling branch nor an
  unrelated lineage; an ancestor the viewer may not see is "restricted
  source" and nothing else.
- Every identifier resolves: prefix plus local name is a page of the site
  that answers (never 404).
- The W3C ``prov`` package (a third-party check, not our own code) parses the
  document and round-trips it through PROV-JSON, PROV-XML and Turtle with
  every record intact, and writes it as PROV-N.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from prov.identifier import Identifier
from prov.model import ProvDocument
from rest_framework.test import APIClient

from registry import services
from registry.models import DatasetVersion
from tests.registry.conftest import make_dataset, make_version, placements_csv

pytestmark = pytest.mark.usefixtures("registry_storage")


@dataclass
class Lineages:
    secret: DatasetVersion  # org B, restricted, real: B's open synthetic Y is trained on it
    open_b: DatasetVersion  # Y
    s1: DatasetVersion  # org A, trained on Y: the dataset under test
    s2: DatasetVersion  # trained on s1 (a descendant)
    sibling: DatasetVersion  # also trained on Y: neither ancestor nor descendant of s1
    u1: DatasetVersion  # an unrelated lineage: u1 -> u2
    u2: DatasetVersion


def _version(world: Any, org: str, name: str, seed: int, **extra: Any) -> DatasetVersion:
    dataset = make_dataset(world, org=org, name=name, **extra)
    user = world.curator_a if org == "org_a" else world.curator_b
    return make_version(dataset, user, placements_csv(30, seed=seed))


def _derive(version: DatasetVersion, parent: DatasetVersion, user: Any, **generation: Any) -> None:
    services.version_lineage_set(
        version=version,
        user=user,
        parents=[services.ParentLink(parent.pk, "trained_on")],
        generation={"generator_type": "copula", **generation},
    )


@pytest.fixture
def lineages(world: Any) -> Lineages:
    secret = _version(world, "org_b", "Beta secret cohort", 1, kind="real")
    open_b = _version(world, "org_b", "Beta open copy", 2, access="open")
    _derive(open_b, secret, world.curator_b, generator_library="secretgan")
    s1 = _version(world, "org_a", "Alpha copy", 3)
    _derive(s1, open_b, world.curator_a, generator_library="sdv", generator_version="1.2")
    s2 = _version(world, "org_a", "Alpha second generation", 4)
    _derive(s2, s1, world.curator_a)
    sibling = _version(world, "org_a", "Alpha sibling", 5)
    _derive(sibling, open_b, world.curator_a)
    u1 = _version(world, "org_a", "Unrelated real", 6, kind="real")
    u2 = _version(world, "org_a", "Unrelated copy", 7)
    _derive(u2, u1, world.curator_a)
    return Lineages(secret, open_b, s1, s2, sibling, u1, u2)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _prov(client: Client, dataset_id: int) -> dict[str, Any]:
    response = client.get(f"/datasets/{dataset_id}/prov/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def _page(version: DatasetVersion) -> str:
    return "synthgov:" + reverse("registry:version", args=[version.pk]).lstrip("/")


def _versions(doc: dict[str, Any]) -> set[str]:
    return {k for k, v in doc["entity"].items() if v["prov:type"]["$"] == "synthgov:DatasetVersion"}


def _restricted(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in doc["entity"].items() if v["prov:type"]["$"] == "synthgov:RestrictedSource"
    }


# --- One dataset's lineage -------------------------------------------------------------


def test_prov_is_the_datasets_lineage_not_its_connected_graph(world, lineages):
    lin = lineages
    client = _client(world.curator_a)
    doc = _prov(client, lin.s1.dataset_id)
    # Its version, the ancestor the viewer may see, the descendant; one restricted source.
    assert _versions(doc) == {_page(lin.s1), _page(lin.open_b), _page(lin.s2)}
    assert len(_restricted(doc)) == 1
    derived = {
        (d["prov:generatedEntity"], d["prov:usedEntity"]) for d in doc["wasDerivedFrom"].values()
    }
    (restricted_id,) = _restricted(doc)
    assert derived == {
        (_page(lin.open_b), restricted_id),
        (_page(lin.s1), _page(lin.open_b)),
        (_page(lin.s2), _page(lin.s1)),
    }
    text = json.dumps(doc)
    # Not the sibling branch (another child of the shared parent), not the unrelated lineage.
    for other in (lin.sibling, lin.u1, lin.u2):
        assert _page(other) not in text
        assert other.dataset.name not in text

    # The unrelated lineage's document holds only itself.
    assert _versions(_prov(client, lin.u2.dataset_id)) == {_page(lin.u1), _page(lin.u2)}
    # The sibling's holds its own ancestors, not s1 and s2 beside it.
    sibling_doc = _prov(client, lin.sibling.dataset_id)
    assert _versions(sibling_doc) == {_page(lin.sibling), _page(lin.open_b)}
    # From the root down: every descendant, none of the unrelated lineage.
    root = _prov(_client(world.curator_b), lin.secret.dataset_id)
    assert _versions(root) == {_page(lin.secret), _page(lin.open_b)}
    assert len(_restricted(root)) == 3  # org A's restricted s1, s2, sibling: B may not see them
    assert "Alpha copy" not in json.dumps(root)


def test_a_descendants_other_parent_is_left_out(world, lineages):
    """s2 and the unrelated u1 are merged into m: m is s1's descendant, u1 is not its kin."""
    lin = lineages
    merged = _version(world, "org_a", "Alpha merged", 8, kind="hybrid")
    services.version_lineage_set(
        version=merged,
        user=world.curator_a,
        parents=[
            services.ParentLink(lin.s2.pk, "merged_with"),
            services.ParentLink(lin.u1.pk, "merged_with"),
        ],
        generation={},
    )
    client = _client(world.curator_a)
    assert _page(merged) in _versions(_prov(client, lin.s1.dataset_id))
    assert _page(lin.u1) not in _versions(_prov(client, lin.s1.dataset_id))
    # Seen from m, both parents and their ancestors are its lineage.
    assert _versions(_prov(client, merged.dataset_id)) == {
        _page(v) for v in (merged, lin.s2, lin.s1, lin.open_b, lin.u1)
    }


def test_every_route_serves_the_same_lineage(world, lineages):
    client = _client(world.curator_a)
    dataset_id = lineages.s1.dataset_id
    doc = _prov(client, dataset_id)
    download = client.get(reverse("registry:prov", args=[dataset_id]))
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    assert json.loads(download.content) == doc
    api = APIClient()
    api.force_authenticate(world.curator_a)
    assert api.get(f"/api/v1/datasets/{dataset_id}/prov/").json() == doc


def test_a_restricted_ancestor_discloses_nothing(world, lineages):
    secret = lineages.secret
    doc = _prov(_client(world.curator_a), lineages.s1.dataset_id)
    ((record_id, attrs),) = _restricted(doc).items()
    assert attrs == {
        "prov:type": {"$": "synthgov:RestrictedSource", "type": "xsd:QName"},
        "prov:label": "restricted source",
    }
    text = json.dumps(doc)
    for leak in (
        "Beta secret cohort",
        secret.sha256,
        f"versions/{secret.pk}/",
        f"version-{secret.pk}",
        f"generation-{secret.pk}",
    ):
        assert leak not in text, leak
    # Only its child's usage and derivation name it: no generation, agent or attribution.
    mentions = {
        section
        for section, records in doc.items()
        if section not in ("prefix", "entity")
        for rec in records.values()
        if record_id in rec.values()
    }
    assert mentions == {"used", "wasDerivedFrom"}


def test_prov_asks_for_sign_in_and_hides_other_organisations_data(world, lineages):
    dataset_id = lineages.s1.dataset_id  # org A, restricted
    response = Client().get(f"/datasets/{dataset_id}/prov/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert _client(world.curator_b).get(f"/datasets/{dataset_id}/prov/").status_code == 404


# --- Identifiers resolve ----------------------------------------------------------------


def _expand(doc: dict[str, Any], name: str) -> str:
    prefix, local = name.split(":", 1)
    return doc["prefix"][prefix] + local


def _identifiers(doc: dict[str, Any]) -> list[str]:
    return [rid for section, records in doc.items() if section != "prefix" for rid in records]


@pytest.mark.parametrize("who", ["curator_a", "curator_b"])
def test_every_identifier_is_a_page_that_answers(world, lineages, who):
    """The bug: ``synthgov:version/1`` expanded to ``/version/1``, which answered 404."""
    viewer = getattr(world, who)
    client = _client(viewer)
    dataset = lineages.open_b.dataset  # open: both organisations read it
    doc = _prov(client, dataset.pk)
    identifiers = _identifiers(doc)
    assert len(identifiers) > 10
    for name in identifiers:
        url = urlsplit(_expand(doc, name))
        assert f"{url.scheme}://{url.netloc}" == "http://testserver", name
        response = client.get(url.path)
        assert response.status_code == 200, (name, response.status_code)
        if url.path == f"/datasets/{dataset.pk}/prov/":  # named inside the document: it is there
            assert name in _identifiers(response.json()), name
        elif url.fragment:  # the part of the page it names exists
            assert f'id="{url.fragment}"' in response.content.decode(), name
    # Versions, their generations, and the records named inside the document.
    assert _page(lineages.open_b) in identifiers
    assert _page(lineages.open_b) + "#generation" in doc["activity"]
    lineage_ns = doc["prefix"]["lineage"]
    assert lineage_ns == f"http://testserver/datasets/{dataset.pk}/prov/#"
    assert any(n.startswith("lineage:organisation-") for n in doc["agent"])
    assert any(n.startswith("lineage:software-") for n in doc["agent"])


def test_identifiers_of_a_private_dataset_ask_for_sign_in_rather_than_404(world, lineages):
    doc = _prov(_client(world.curator_a), lineages.s1.dataset_id)
    anonymous = Client()
    for name in _identifiers(doc):
        response = anonymous.get(urlsplit(_expand(doc, name)).path)
        assert response.status_code == 302, name
        assert response["Location"].startswith("/accounts/login/"), name


# --- The prov package -------------------------------------------------------------------


def _text(value: Any) -> str:
    # A qualified name is compared by its URI: RDF may read it back under another prefix.
    return str(value.uri) if isinstance(value, Identifier) else str(value)


def _records(document: ProvDocument) -> set[tuple[str, str, frozenset[tuple[str, str]]]]:
    """Each record as (type, identifier URI, attributes as text), comparable across formats."""
    return {
        (
            type(record).__name__,
            str(record.identifier.uri) if record.identifier else "",
            frozenset((str(name.uri), _text(value)) for name, value in record.attributes),
        )
        for record in document.get_records()
    }


@pytest.fixture
def served(world, lineages) -> tuple[dict[str, Any], ProvDocument]:
    response = _client(world.curator_a).get(f"/datasets/{lineages.s1.dataset_id}/prov/")
    content = response.content.decode()
    return json.loads(content), ProvDocument.deserialize(content=content, format="json")


def test_the_prov_package_reads_every_record(served):
    doc, document = served
    kinds = {
        "entity": "Entity",
        "activity": "Activity",
        "agent": "Agent",
        "used": "Usage",
        "wasGeneratedBy": "Generation",
        "wasDerivedFrom": "Derivation",
        "wasAssociatedWith": "Association",
        "wasAttributedTo": "Attribution",
    }
    written = {
        (kinds[section], _expand(doc, rid))
        for section, records in doc.items()
        if section != "prefix"
        for rid in records
    }
    read = {(r.get_type().localpart, r.identifier.uri) for r in document.get_records()}
    assert read == written
    assert len(document.get_records()) == len(written)
    for rid, attrs in doc["entity"].items():
        (record,) = document.get_record(rid)
        assert {str(v) for k, v in record.attributes if str(k) == "prov:label"} == {
            attrs["prov:label"]
        }


# rdflib 7.6 warns about its own deprecated calls from inside prov's RDF serializer.
RDFLIB_OWN_DEPRECATIONS = pytest.mark.filterwarnings(
    r"ignore:Dataset\.\w+ is deprecated:DeprecationWarning"
)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("json", {}),
        ("xml", {}),
        pytest.param("rdf", {"rdf_format": "turtle"}, marks=RDFLIB_OWN_DEPRECATIONS),
        pytest.param("rdf", {"rdf_format": "xml"}, marks=RDFLIB_OWN_DEPRECATIONS),
    ],
)
def test_the_prov_package_round_trips_it(served, fmt, options):
    _, document = served
    text = document.serialize(format=fmt, **options)
    back = ProvDocument.deserialize(content=text, format=fmt, **options)
    assert back == document
    assert _records(back) == _records(document)
    assert len(_records(document)) == len(document.get_records()) > 10


def test_the_prov_package_writes_it_as_prov_n(served):
    """The prov package has no PROV-N reader: each record must appear as its statement."""
    doc, document = served
    provn = document.get_provn()
    assert provn.startswith("document\n") and provn.rstrip().endswith("endDocument")
    assert f"prefix lineage <{doc['prefix']['lineage']}>" in provn
    statements = [
        line.strip()
        for line in provn.splitlines()
        if line.strip() and not line.strip().startswith(("prefix ", "document", "endDocument"))
    ]
    assert len(statements) == len(document.get_records())
    for section, records in doc.items():
        if section == "prefix":
            continue
        # Elements are "entity(id, [...])"; relations "used(id; activity, entity, ...)".
        separator = ", " if section in ("entity", "activity", "agent") else "; "
        for rid in records:
            assert sum(s.startswith(f"{section}({rid}{separator}") for s in statements) == 1, rid
