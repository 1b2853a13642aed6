"""Numbers for people: p-values, three significant digits and percentages, against answers worked out by hand."""
import math

import pytest

from driftgate.numbers import p_text, percent, significant


@pytest.mark.parametrize(("value", "text"), [
    (3e-12, "< 0.001"), (0.000999, "< 0.001"), (0.001, "0.00100"), (0.0123456, "0.0123"), (0.4, "0.400"),
    (1.0, "1.00"), (None, "—"), (math.nan, "—"),
])
def test_p_values_read_as_less_than_a_thousandth_or_three_significant_digits(value, text):
    assert p_text(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (0.5453216789012345, "0.545"), (12.3456, "12.3"), (123456.7, "123,457"), (7, "7"), (0, "0"),
    (-0.0345678, "-0.0346"), (2.5e-9, "2.50e-09"), (math.inf, "—"), (None, "—"),
])
def test_numbers_keep_three_significant_digits_without_exponents_for_everyday_magnitudes(value, text):
    assert significant(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (0.1234, "12.3%"), (0.012, "1.20%"), (1.0, "100%"), (0.000123, "0.0123%"), (0.0, "0%"), (None, "—"),
])
def test_shares_read_as_percentages(value, text):
    assert percent(value) == text
