"""`manage.py probe_run`: probes now and prints the pass rates, comparisons and severity; refuses what it cannot do."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from monitoring.models import ProbeRun, ProbeTrigger
from tests.monitoring.probe_setup import ARITHMETIC_ITEMS, probed_use_case

pytestmark = pytest.mark.django_db


def test_it_runs_in_process_and_prints_json(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS)
    probed.run(model="good", target="base")
    probed.run(model="arith-regress")
    out = StringIO()

    call_command("probe_run", "--use-case", probed.use_case.slug, "--json", stdout=out)

    data = json.loads(out.getvalue())
    assert data["status"] == "succeeded" and data["sets"] == {"own": 1}
    assert data["summary"]["sets"]["own"]["pass_rate"] == 0.0
    assert data["comparisons"]["base"]["pooled"]["lost"] == 8 and data["severity"] == "review"
    assert ProbeRun.objects.filter(trigger=ProbeTrigger.COMMAND).count() == 1


def test_the_table_names_each_set_and_comparison(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS)
    probed.run(model="good")
    out = StringIO()

    call_command("probe_run", "--use-case", probed.use_case.slug, stdout=out)

    text = out.getvalue()
    assert "own v1: 100.0% [67.6–100.0] of 8 graded, 0 failed call(s)" in text
    assert "vs previous run" in text and "0 lost, 0 gained of 8" in text and "severity: ok" in text


def test_it_refuses_an_unknown_use_case_or_a_version_without_endpoint(openai_stub):
    with pytest.raises(CommandError, match="Unknown use case"):
        call_command("probe_run", "--use-case", "nope")
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS)
    with pytest.raises(CommandError, match="no_endpoint"):
        call_command("probe_run", "--use-case", probed.use_case.slug, "--target", "base")
