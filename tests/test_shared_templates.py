"""The shared partials every form and page uses (templates/_field.html, base.html):
what a screen reader is told about a field, and the page's skip link and menu."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.template.loader import render_to_string


class ExampleForm(forms.Form):
    name = forms.CharField(help_text="As printed on the certificate.")
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")],
        widget=forms.RadioSelect,
        help_text="What you decide.",
    )


def render_field(form: forms.Form, name: str) -> str:
    return render_to_string("_field.html", {"field": form[name]})


def ids_in(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


def test_a_field_points_at_its_help_and_its_error():
    form = ExampleForm(data={"name": "", "decision": "approve"})
    assert not form.is_valid()
    html = render_field(form, "name")
    (described,) = re.findall(r'aria-describedby="([^"]+)"', html)
    assert described.split() == ["id_name_helptext", "id_name_error"]
    assert set(described.split()) <= ids_in(html)  # no dangling reference
    assert 'aria-invalid="true"' in html
    assert '<label for="id_name">' in html


def test_a_group_of_radios_is_a_fieldset_named_by_its_legend():
    html = render_field(ExampleForm(), "decision")
    assert re.search(r"<fieldset[^>]*>\s*<legend>Decision", html)
    assert 'aria-describedby="id_decision_helptext"' in html
    assert "id_decision_helptext" in ids_in(html)
    assert '<label for="">' not in html  # a label pointing at nothing


@pytest.mark.django_db
def test_every_page_has_a_skip_link_and_a_menu_button_for_script(client, world):
    client.force_login(world.curator_a)
    html = client.get("/").content.decode()
    assert '<a class="skip-link" href="#main">Skip to content</a>' in html
    assert re.search(r'<main[^>]* id="main"', html)
    # Hidden until static/js/nav.js runs, so without script the menu stays open.
    assert re.search(
        r'<button type="button" class="menu-toggle" aria-expanded="false" '
        r'aria-controls="site-menu" hidden>Menu</button>',
        html,
    )
    assert 'id="site-menu"' in html
    assert "js/nav.js" in html and "js/wide-tables.js" in html
