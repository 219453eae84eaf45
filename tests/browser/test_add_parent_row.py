"""Adding a parent to a version's lineage needs no save first (issue 13): the page
copies an empty row (static/js/formset.js) and the server reads it like the others."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD
from tests.registry.conftest import make_dataset, make_version, placements_csv

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("registry_storage"),
]


def test_a_curator_adds_a_third_parent_without_saving(page, world):
    real = make_dataset(world, name="Real placements", kind="real")
    parents = [make_version(real, world.curator_a, placements_csv(seed=s)) for s in (1, 2, 3)]
    synthetic = make_dataset(world, name="Synthetic placements")
    version = make_version(synthetic, world.curator_a, placements_csv(seed=4))

    sign_in(page, "curator_a", PASSWORD)
    page.goto(f"/versions/{version.pk}/lineage/")
    expect(page.get_by_text("Need more rows? Save")).to_be_hidden()  # the no-JS note
    expect(page.get_by_label("Parent 3 version")).to_have_count(0)
    page.get_by_role("button", name="Add a parent").click()
    expect(page.get_by_label("Parent 3 version")).to_be_focused()
    for number, parent in enumerate(parents, start=1):
        page.get_by_label(f"Parent {number} version").select_option(str(parent.pk))
        page.get_by_label(f"Parent {number} relation").select_option("trained_on")
    page.get_by_role("button", name="Save and fill in the datasheet").click()

    expect(page.get_by_role("heading", name="Datasheet")).to_be_visible()
    linked = set(version.parent_edges.values_list("parent_id", flat=True))
    assert linked == {p.pk for p in parents}
