"""The chat-completions client against the local server: the request it sends, retries, failures as data."""
import socket
import time

from monitoring.probes.client import CallBudget, CallError, EndpointConfig, chat
from tests.openai_stub import Taught

MESSAGES = [{"role": "user", "content": "What is 15 plus 7? Answer with the number only."}]


def _config(stub, model, **kwargs) -> EndpointConfig:
    return EndpointConfig(url=stub.url, model=model, **{"timeout_s": 2.0, "backoff_s": 0.01, **kwargs})


def test_it_sends_temperature_zero_a_fixed_seed_and_the_key_only_as_a_header(openai_stub):
    openai_stub.state.answers[MESSAGES[0]["content"]] = Taught("22", "arithmetic", "numeric")
    openai_stub.state.required_key = "sk-local-test"

    result = chat(_config(openai_stub, "good", api_key="sk-local-test"), MESSAGES, seed=7, budget=CallBudget(5))

    assert result.ok and result.answer == "22" and result.attempts == 1
    sent = openai_stub.state.requests[0]
    assert sent["temperature"] == 0 and sent["seed"] == 7 and sent["model"] == "good"
    assert result.request == sent and "sk-local-test" not in repr(result)
    assert "sk-local-test" not in repr(_config(openai_stub, "good", api_key="sk-local-test"))
    assert result.prompt_tokens == 10 and result.completion_tokens == 1 and result.latency_ms is not None


def test_a_wrong_key_is_an_http_error_and_not_retried(openai_stub):
    openai_stub.state.required_key = "right"
    result = chat(_config(openai_stub, "good", api_key="wrong"), MESSAGES, seed=0, budget=CallBudget(5))
    assert result.error == CallError.HTTP_ERROR and result.http_status == 401 and result.attempts == 1


def test_rate_limiting_is_retried_then_recorded_and_the_budget_counts_each_attempt(openai_stub):
    budget = CallBudget(10)
    result = chat(_config(openai_stub, "rate-limited", max_retries=3), MESSAGES, seed=0, budget=budget)
    assert result.error == CallError.RATE_LIMITED and result.attempts == 4 and budget.used == 4


def test_a_spent_budget_makes_no_call(openai_stub):
    result = chat(_config(openai_stub, "good"), MESSAGES, seed=0, budget=CallBudget(0))
    assert result.error == CallError.BUDGET and result.attempts == 0 and openai_stub.state.requests == []


def test_a_refused_connection_is_a_connection_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = EndpointConfig(url=f"http://127.0.0.1:{port}/v1/chat/completions", model="m", timeout_s=1.0)
    result = chat(config, MESSAGES, seed=0, budget=CallBudget(3))
    assert result.error == CallError.CONNECTION and result.attempts == 1


def test_a_server_trickling_its_body_is_held_to_the_whole_call_timeout(openai_stub):
    started = time.monotonic()
    result = chat(_config(openai_stub, "trickle", timeout_s=0.5), MESSAGES, seed=0, budget=CallBudget(3))
    assert result.error == CallError.TIMEOUT and result.attempts == 1
    assert time.monotonic() - started < 2.0


def test_a_body_too_large_to_be_a_completion_is_not_read_to_its_end(openai_stub):
    result = chat(_config(openai_stub, "huge"), MESSAGES, seed=0, budget=CallBudget(3))
    assert result.error == CallError.TOO_LARGE and result.answer is None
