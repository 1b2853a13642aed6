"""data_table: columns with a layout kind, rows that must match them."""
import pytest

from reports.rendering import data_table


def test_it_pairs_every_cell_with_its_column_kind():
    table = data_table(columns=["Signal", ("p-value", "num"), ("Hash", "hash")], rows=[["prompt", 0.01, "ab"]],
                       caption="Runs")

    assert table["columns"] == [
        {"label": "Signal", "kind": "text", "width": ""}, {"label": "p-value", "kind": "num", "width": ""},
        {"label": "Hash", "kind": "hash", "width": ""},
    ]
    assert table["rows"] == [[{"value": "prompt", "kind": "text"}, {"value": 0.01, "kind": "num"},
                              {"value": "ab", "kind": "hash"}]]
    assert table["caption"] == "Runs"


def test_it_refuses_a_row_with_the_wrong_number_of_cells():
    with pytest.raises(ValueError, match="row 2 has 1 cells for 2 columns"):
        data_table(columns=["a", "b"], rows=[["1", "2"], ["3"]])


def test_it_refuses_an_unknown_column_kind():
    with pytest.raises(ValueError, match="unknown kind"):
        data_table(columns=[("a", "wide")], rows=[])
