"""The version page's "Model collapse" panel for a version of linked tables (issue 17):
each table's collapse figures (stored per table, against the real ancestor's table of
the same name) are shown per table, as the audit report's "Figures per table" shows
them; a single-table version's panel is unchanged (test_audited_collapse)."""

from __future__ import annotations

import html
import re

import pytest

from audits.checks.collapse import FIGURES, KEYS
from audits.collapse.selectors import collapse_panel
from registry import services as registry_services
from tests.registry.conftest import make_dataset
from tests.registry.relational_helpers import (
    DEMO_TABLES,
    audit_now,
    demo_bytes,
    demo_metadata,
    register_tables,
)

pytestmark = pytest.mark.usefixtures("registry_storage")


@pytest.fixture
def linked_generation(world):
    """SDMetrics' demo: the real tables, and the synthetic ones declared as trained on
    them and audited (the audit computes each table's collapse figures)."""
    real = register_tables(
        make_dataset(world, kind="real", name="Web real"),
        world.curator_a,
        {t: demo_bytes(t) for t in DEMO_TABLES},
        metadata=demo_metadata(),
    )
    synthetic = register_tables(
        make_dataset(world, name="Web synthetic"),
        world.curator_a,
        {t: demo_bytes(t, "synthetic") for t in DEMO_TABLES},
        metadata=demo_metadata(),
    )
    registry_services.version_lineage_set(
        version=synthetic,
        user=world.curator_a,
        parents=[registry_services.ParentLink(real.pk, "trained_on")],
        generation={"generator_type": "copula", "generator_library": "sdv"},
    )
    run = audit_now(synthetic, real, ["integrity"], world.curator_a)
    stored = {(m.table, m.key): m.value for m in run.metrics.filter(key__startswith="collapse.")}
    assert {t for t, _ in stored} == set(DEMO_TABLES)  # per table only
    return {"real": real, "synthetic": synthetic, "run": run, "stored": stored}


def test_the_panel_holds_each_tables_chain_with_its_stored_figures(world, linked_generation):
    synthetic, run, stored = (linked_generation[k] for k in ("synthetic", "run", "stored"))
    panel = collapse_panel(user=world.curator_a, version=synthetic)
    assert panel["applicable"] and panel["measured"] and not panel["withheld"]
    assert panel["rows"] == [] and panel["chart"] is None and panel["charted"]
    order = list(synthetic.tables.order_by("position").values_list("name", flat=True))
    assert [t.table for t in panel["tables"]] == order
    for chain in panel["tables"]:
        real_row, generation = chain.rows
        assert real_row.note == "real ancestor" and real_row.figures == dict.fromkeys(FIGURES, 1.0)
        assert generation.audit_id == run.pk
        assert generation.figures == {f: stored[(chain.table, KEYS[f])] for f in FIGURES}
        assert chain.chart["json_id"] == f"chart-data-collapse-{chain.table}"
    # A warning is a table's own (users and transactions lose their tails; the sessions
    # keep enough of everything), never the version's.
    warnings = {t.table: t.warning for t in panel["tables"]}
    assert warnings["users"].startswith("Tails have lost ")
    assert "25% of the real categories have disappeared" in warnings["users"]
    assert warnings["sessions"] is None
    assert warnings["transactions"].endswith(" over 1 generation.")
    assert panel["warning"] is None


def _floatformat(value: float) -> str:
    # Django's floatformat:"-3": three decimals, none for a whole number.
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def _section(page: str, table: str) -> str:
    start = page.index(f'<section class="table-figures" data-table="{table}"')
    return page[start : page.index("</section>", start)]


def test_the_version_page_shows_the_figures_per_table(client, world, linked_generation):
    synthetic, run, stored = (linked_generation[k] for k in ("synthetic", "run", "stored"))
    client.force_login(world.curator_a)
    response = client.get(synthetic.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    panel = page[page.index('data-testid="collapse-panel"') :]
    assert "No audit you can see has measured" not in panel
    for table in DEMO_TABLES:
        section = _section(panel, table)
        assert f'<h3 id="collapse-table-{table}">Table {table}</h3>' in section
        assert f"<caption>Model collapse · {table}</caption>" in section
        row = re.search(r'<tr data-generation="1">(.*?)</tr>', section, re.S).group(1)
        cells = re.findall(r'<td class="value">(.*?)</td>', row)
        expected = []
        for f in FIGURES:
            value = stored[(table, KEYS[f])]
            expected.append("—" if value is None else _floatformat(value))
        assert cells == expected, (table, cells, expected)
        assert f'href="/audits/{run.pk}/"' in row
        assert f'id="chart-data-collapse-{table}"' in section
        assert ('data-testid="collapse-warning"' in section) == (table != "sessions")
    # Each table's figures once: the whole-version chain is not drawn for linked tables.
    assert 'data-testid="collapse-chain"' not in panel
    assert html.escape("Table sessions: ") in page  # the chart's caption names its table
