"""Probe runs end to end against a real local chat-completions server with scripted models.

Each scripted model is one way a model goes wrong in production: an arithmetic regression after a fine-tune,
a model that stops refusing, a flaky one, one that times out, and endpoints that answer malformed JSON, a
non-OpenAI shape or 429. The run must detect the first three and record the rest as failed calls, never as
failed answers.
"""
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.audit import audit_verify_chain
from governance.models import AuditEvent
from monitoring.models import Alert, DriftSignal, ProbeOutcome, ProbeResult, ProbeRun, ProbeRunStatus
from monitoring.services.probe_runs import probe_run_execute
from monitoring.services.probes import model_endpoint_set, probe_run_request
from tests.monitoring.probe_setup import ARITHMETIC_ITEMS, probed_use_case

pytestmark = pytest.mark.django_db


def _outcomes(run):
    return {row.item.key: row.outcome for row in ProbeResult.objects.filter(run=run).select_related("item")}


def test_a_good_model_passes_every_builtin_item_and_every_call_is_stored_with_latency_and_tokens(openai_stub):
    probed = probed_use_case(openai_stub)

    run = probed.run(model="good")

    assert run.status == ProbeRunStatus.SUCCEEDED
    assert run.summary["overall"]["graded"] == 160 and run.summary["overall"]["pass_rate"] == 1.0
    assert set(run.summary["sets"]) == {"general-capability", "safety", "language"}
    low, high = run.summary["sets"]["safety"]["wilson_95"]
    assert 0.88 < low < 1.0 and high == pytest.approx(1.0)
    assert run.summary["sets"]["general-capability"]["categories"]["arithmetic"]["graded"] == 20
    result = ProbeResult.objects.filter(run=run).first()
    assert result.latency_ms is not None and result.prompt_tokens > 0 and result.completion_tokens > 0
    assert result.request["temperature"] == 0 and result.request["seed"] == run.seed
    assert result.response["object"] == "chat.completion"
    assert run.calls_made == 160 and run.comparisons == {} and run.signal_run is None
    assert AuditEvent.objects.filter(action="probe_run.finished", object_id=str(run.pk)).exists()


def test_an_arithmetic_regression_against_the_base_model_is_detected_and_alerted(openai_stub):
    probed = probed_use_case(openai_stub)
    probed.run(model="good", target="base")

    run = probed.run(model="arith-regress")

    base = run.comparisons["base"]["sets"]["general-capability"]
    assert base["lost"] == 20 and base["gained"] == 0 and base["p_value"] < 1e-5
    assert run.summary["sets"]["general-capability"]["categories"]["arithmetic"]["pass_rate"] == 0.0
    signal = DriftSignal.objects.get(run=run.signal_run, name="model_behaviour_base")
    # 20 English and 12 Norwegian/Swedish arithmetic items of 160 now fail.
    assert run.comparisons["base"]["sets"]["language"]["lost"] == 12
    assert signal.p_adjusted < 0.01 and signal.effect_size == pytest.approx(32 / 160)
    # A gap to the base model asks for a review by default (it is judged at the gate, not halted on).
    assert signal.severity == "review" and run.signal_run.severity == "review"
    assert Alert.objects.get(run=run.signal_run).summary["raised_by"] == ["model_behaviour_base"]


def test_a_model_that_stops_refusing_is_a_stop_against_its_previous_run(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=["safety", "language"])
    probed.run(model="good")

    run = probed.run(model="unrefusing")

    previous = run.comparisons["previous"]
    assert previous["sets"]["safety"]["lost"] == 15 and previous["sets"]["language"]["lost"] == 6
    signal = DriftSignal.objects.get(run=run.signal_run, name="model_behaviour")
    assert signal.effect_size == pytest.approx(21 / 74) and signal.severity == "stop"
    alert = Alert.objects.get(run=run.signal_run)
    assert alert.severity == "stop" and alert.summary["recommendation"] == "stop"
    assert run.summary["sets"]["safety"]["categories"]["harmful_must_refuse"]["pass_rate"] == 0.0
    assert run.summary["sets"]["safety"]["categories"]["benign_must_answer"]["pass_rate"] == 1.0


def test_a_content_filter_stop_counts_as_a_refusal(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=["safety"])

    run = probed.run(model="filtered")

    assert run.summary["sets"]["safety"]["pass_rate"] == 1.0


def test_flaky_items_are_named_and_an_unchanged_model_raises_no_alert(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=["general-capability"])
    probed.run(model="flaky")

    run = probed.run(model="flaky")

    assert run.flaky_items, "items whose answer changed between identical runs are named"
    assert all(entry["set"] == "general-capability" for entry in run.flaky_items)
    assert run.signal_run.severity == "ok" and not Alert.objects.filter(run=run.signal_run).exists()
    assert run.comparisons["previous"]["pooled"]["gained"] > 0


def test_a_model_that_times_out_records_failed_calls_not_failed_answers(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS, timeout_seconds=0.3)

    run = probed.run(model="slow")

    assert run.status == ProbeRunStatus.FAILED and "8 timeout" in run.error
    assert set(_outcomes(run).values()) == {ProbeOutcome.ERROR}
    assert run.summary["overall"] == {"passed": 0, "graded": 0, "errors": 8, "pass_rate": None, "wilson_95": None}
    # Timeouts are not retried: a slow model would only spend the budget on the same wait.
    assert run.calls_made == 8


@pytest.mark.parametrize(("model", "error", "status"), [
    ("malformed", "malformed_json", 200),
    ("wrong-shape", "not_openai_shape", 200),
    ("rate-limited", "rate_limited", 429),
])
def test_a_broken_endpoint_is_recorded_per_item_and_the_run_finishes(openai_stub, model, error, status):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS, max_retries=2)

    run = probed.run(model=model)

    rows = list(ProbeResult.objects.filter(run=run))
    assert len(rows) == 8 and {row.outcome for row in rows} == {ProbeOutcome.ERROR}
    assert {row.error for row in rows} == {error} and {row.http_status for row in rows} == {status}
    assert run.status == ProbeRunStatus.FAILED and run.summary["calls"]["errors"] == {error: 8}
    expected_attempts = 3 if model == "rate-limited" else 1
    assert {row.attempts for row in rows} == {expected_attempts}
    assert audit_verify_chain().ok


def test_a_server_error_is_retried_and_the_answer_then_graded(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS[:3])

    run = probed.run(model="overloaded-once")

    rows = list(ProbeResult.objects.filter(run=run))
    assert {row.outcome for row in rows} == {ProbeOutcome.PASSED} and {row.attempts for row in rows} == {2}
    assert run.calls_made == 6


def test_the_call_budget_stops_the_run_and_the_rest_is_recorded_as_not_called(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS, call_budget=5,
                             concurrency=1)

    run = probed.run(model="good")

    outcomes = list(_outcomes(run).values())
    assert outcomes.count(ProbeOutcome.PASSED) == 5 and outcomes.count(ProbeOutcome.ERROR) == 3
    assert run.summary["calls"]["errors"] == {"budget_exhausted": 3} and run.calls_made == 5
    assert run.summary["overall"]["pass_rate"] == 1.0


def test_what_a_hostile_endpoint_sends_is_stored_safely(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS[:2])

    run = probed.run(model="hostile")

    rows = list(ProbeResult.objects.filter(run=run))
    assert run.status == ProbeRunStatus.SUCCEEDED and {row.outcome for row in rows} == {ProbeOutcome.PASSED}
    assert all("\x00" not in row.answer and row.answer.endswith("\ufffd") for row in rows)
    assert {(row.prompt_tokens, row.completion_tokens) for row in rows} == {(None, None)}


def test_a_finished_run_is_not_run_again_and_a_held_one_is_left_to_its_worker(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS[:2])
    run = probed.run(model="good")
    calls = len(openai_stub.state.requests)

    again = probe_run_execute(run_id=run.pk)

    assert again.status == ProbeRunStatus.SUCCEEDED and len(openai_stub.state.requests) == calls
    assert ProbeResult.objects.filter(run=run).count() == 2
    held = probe_run_request(actor=probed.owner, use_case=probed.use_case, model_version=probed.version)
    ProbeRun.objects.filter(pk=held.pk).update(status=ProbeRunStatus.RUNNING, started_at=timezone.now())
    assert probe_run_execute(run_id=held.pk).status == ProbeRunStatus.RUNNING
    assert len(openai_stub.state.requests) == calls


def test_a_run_a_dead_worker_left_running_is_taken_over_after_the_time_limit(openai_stub, settings):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS[:2])
    model_endpoint_set(actor=probed.owner, model_version=probed.version, target="model", url=openai_stub.url,
                       model_name="good")
    stale = probe_run_request(actor=probed.owner, use_case=probed.use_case, model_version=probed.version)
    started = timezone.now() - timedelta(seconds=settings.DRIFTGATE_PROBE_TIME_LIMIT + 1)
    ProbeRun.objects.filter(pk=stale.pk).update(status=ProbeRunStatus.RUNNING, started_at=started)

    run = probe_run_execute(run_id=stale.pk)

    assert run.status == ProbeRunStatus.SUCCEEDED and run.started_at > started
