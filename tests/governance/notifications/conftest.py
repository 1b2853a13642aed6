"""Fixtures of the notification tests: a staffed use case, a live SMTP server wired into Django, a webhook receiver."""
import pytest

from tests.governance.gates_setup import make_team
from tests.governance.notifications.receivers import smtp_server, webhook_receiver


@pytest.fixture
def team(db):
    """A use case with one person per role (and a second reviewer)."""
    return make_team()


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) that Django's SMTP backend sends to."""
    with smtp_server() as inbox:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", inbox.port, 5
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield inbox


@pytest.fixture
def fast_retries(settings):
    """Retries without waiting, and loopback webhooks allowed (the receivers listen on 127.0.0.1)."""
    settings.DRIFTGATE_NOTIFY_RETRY_BASE_SECONDS = 0.0
    settings.DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK = True
    settings.DRIFTGATE_BASE_URL = "http://driftgate.example"
    return settings


@pytest.fixture
def receiver():
    """A webhook receiver that answers 204."""
    with webhook_receiver() as endpoint:
        yield endpoint
