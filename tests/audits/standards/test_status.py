"""The statuses people read, defined once in the engine (no Django)."""

from __future__ import annotations

import pytest

from audits.standards import engine


@pytest.mark.parametrize(
    ("stored", "kwargs", "code", "label"),
    [
        ("compliant", {}, "compliant", "Compliant"),
        (
            "non_compliant",
            {"fails_by_severity": {"advisory": 1}},
            "compliant_with_findings",
            "Compliant, 1 advisory",
        ),
        (
            "non_compliant",
            {"fails_by_severity": {"minor": 1, "advisory": 2}},
            "compliant_with_findings",
            "Compliant, 1 minor, 2 advisory",
        ),
        (
            "non_compliant",
            {"fails_by_severity": {"advisory": 2, "major": 1}},
            "non_compliant",
            "Non-compliant: 1 major, 2 advisory",
        ),
        (
            "non_compliant",
            {"fails_by_severity": {"blocking": 1}, "missing_count": 3},
            "non_compliant",
            "Non-compliant: 1 blocking",
        ),
        (
            "non_compliant",
            {"fails_by_severity": {"minor": 1}, "missing_count": 2},
            "incomplete",
            "Figures missing: 2; 1 minor failing",
        ),
        ("incomplete", {"missing_count": 2}, "incomplete", "Figures missing: 2"),
        # Without the breakdown the stored worst severity still decides.
        (
            "non_compliant",
            {"worst_severity": "advisory", "fail_count": 2},
            "compliant_with_findings",
            "Compliant, 2 advisory",
        ),
        (
            "non_compliant",
            {"worst_severity": "minor", "fail_count": 2},
            "compliant_with_findings",
            "Compliant, 2 minor or advisory",
        ),
        ("non_compliant", {"worst_severity": "major", "fail_count": 1}, "non_compliant", None),
        ("not_audited", {}, "not_audited", "Not audited yet"),
        ("not_applicable", {}, "not_applicable", "Not applicable"),
    ],
)
def test_status_view(stored, kwargs, code, label):
    view = engine.status_view(stored, **kwargs)
    assert view.code == code
    assert view.css == f"status-{code}"
    if label is not None:
        assert view.label == label


def test_only_blocking_or_major_failures_are_red():
    for severity in ("blocking", "major", "minor", "advisory"):
        view = engine.status_view("non_compliant", fails_by_severity={severity: 1})
        assert (view.colour == "red") == (severity in ("blocking", "major")), severity


def test_every_status_has_words_a_colour_and_a_place():
    assert engine.STATUS_ORDER == (
        "compliant",
        "compliant_with_findings",
        "non_compliant",
        "incomplete",
        "not_audited",
        "not_applicable",
    )
    labels = [engine.STATUS_KINDS[c].label for c in engine.STATUS_ORDER]
    assert len(set(labels)) == len(labels)
    for kind in engine.STATUS_KINDS.values():
        assert kind.colour in {"green", "amber", "red", "grey"} and kind.meaning


def test_rules_and_certificates_use_the_same_palette():
    assert engine.rule_status_view("fail", "major").css == "status-non_compliant"
    assert engine.rule_status_view("fail", "advisory").colour == "amber"
    assert engine.rule_status_view("missing", "blocking").label == "Figure missing"
    assert engine.certificate_status_view("valid").css == "status-compliant"
    assert engine.certificate_status_view("suspended").css == "status-non_compliant"
    assert engine.certificate_status_view("expired").colour == "amber"
