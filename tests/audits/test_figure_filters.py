import math

import pytest

from audits.templatetags.figures import figure, figure_anchor


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.051510899999999804, "0.0515"),
        (0.9, "0.9"),
        (3.0, "3"),
        (12345.678, "12,346"),
        (1234567, "1,234,567"),
        (0.000123456, "0.000123"),
        (1.5e-9, "1.5e-09"),
        (-0.25, "-0.25"),
        (None, "—"),
        (math.inf, "∞"),
        ("n/a", "n/a"),
    ],
)
def test_figure_reads_to_sensible_precision(value, text):
    assert figure(value) == text


def test_figure_anchor_is_a_safe_id():
    assert figure_anchor("quality.overall") == "figure-quality-overall"
    assert (
        figure_anchor("fairness.parity_difference_real") == "figure-fairness-parity-difference-real"
    )
