"""Fixtures of the monitoring tests: a real OpenAI-compatible HTTP server with scripted models."""
import pytest

from tests.openai_stub import OpenAIStub


@pytest.fixture
def openai_stub():
    """A chat-completions server on a free loopback port, stopped after the test."""
    server = OpenAIStub().start()
    yield server
    server.stop()
