"""What the monitoring page says a window can see is read from the measured power curves for the policy's size."""
import json

import pytest
from django.utils import translation

from monitoring.models import DriftRun
from monitoring.pages.detection import detection_statements
from monitoring.selectors.power import POWER_TABLE

TABLE = json.loads(POWER_TABLE.read_text(encoding="utf-8"))


def _measured(kind: str, records: int) -> float | None:
    return TABLE["smallest_share"][kind][TABLE["window_sizes"].index(records)]


@pytest.mark.parametrize("records", [500, 1000, 2000, 5000])
def test_at_a_measured_window_size_each_kind_states_the_measured_share(records):
    with translation.override("en"):
        (statement,) = detection_statements(sample_size=records, last_run=None)

    assert statement.records == records
    for kind in statement.kinds:
        measured = _measured(kind.kind, records)
        assert kind.share == (pytest.approx(measured) if measured is not None else None)
        if measured is not None:
            assert kind.text == f"{float(f'{measured * 100:.3g}'):g}% of the window"
        else:
            assert kind.text == "not detected within the measured shares"
    assert f"{records:,} records" in statement.lead and "90% of windows" in statement.lead


def test_a_window_between_measured_sizes_states_a_share_between_theirs():
    (statement,) = detection_statements(sample_size=3000, last_run=None)

    new_topic = next(kind for kind in statement.kinds if kind.kind == "new_topic")
    assert _measured("new_topic", 5000) < new_topic.share < _measured("new_topic", 2000)


def test_below_the_smallest_measured_window_nothing_is_claimed():
    with translation.override("en"):
        (statement,) = detection_statements(sample_size=200, last_run=None)

    assert {kind.share for kind in statement.kinds} == {None}
    assert {kind.text for kind in statement.kinds} == {"not measured below 500 records"}


def test_a_last_run_with_fewer_records_than_the_sample_adds_what_its_window_could_see():
    last = DriftRun(n=1000)

    policy, last_window = detection_statements(sample_size=5000, last_run=last)

    assert (policy.records, last_window.records) == (5000, 1000)
    new_topic = {statement.records: next(k.share for k in statement.kinds if k.kind == "new_topic")
                 for statement in (policy, last_window)}
    assert new_topic == {5000: pytest.approx(_measured("new_topic", 5000)),
                         1000: pytest.approx(_measured("new_topic", 1000))}


def test_a_full_last_window_adds_nothing():
    assert len(detection_statements(sample_size=2000, last_run=DriftRun(n=2000))) == 1


def test_the_figures_follow_the_reader_s_number_format():
    with translation.override("nb"):
        (statement,) = detection_statements(sample_size=2000, last_run=None)

    new_topic = next(kind for kind in statement.kinds if kind.kind == "new_topic")
    assert new_topic.text.startswith("4,33")
