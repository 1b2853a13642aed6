"""Notifications in a real browser: the inbox on the home page with the unread count in the navigation, marking read,
the preferences page and a use case's webhooks (secret shown once), each page checked by axe-core."""
import re

import pytest
from playwright.sync_api import expect

from governance.models import NotificationPreference, Webhook
from governance.services.gates import gate_open, gate_request_decision
from tests.governance.gates_setup import complete_required_items, make_team
from tests.governance.notifications.receivers import webhook_receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def requested():
    """A staffed use case whose gate 1 waits for a decision: its signers each have one unread notification."""
    team = make_team()
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    complete_required_items(team, gate)
    gate_request_decision(actor=team.actor("product_owner"), gate=gate)
    return team, gate


def test_a_signer_sees_the_request_on_the_home_page_opens_it_and_the_unread_count_goes(
        page, login, requested, axe):
    team, gate = requested
    login(page, team.reviewer)

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name=re.compile(r"Notifications\s+1 unread"))).to_be_visible()
    inbox = page.get_by_role("region", name="Notifications")
    expect(inbox.get_by_text("unread")).to_be_visible()
    axe(page)

    inbox.get_by_role("button", name=f"Decision requested: gate 1 of {team.use_case.name}").click()
    expect(page).to_have_url(re.compile(rf"/gates/{gate.pk}/decide/$"))
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications",
                                                                   exact=True)).to_be_visible()

    page.goto("/notifications/")
    expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    expect(page.locator(".notification.unread")).to_have_count(0)
    axe(page)


def test_a_person_turns_an_event_off_by_email(page, login, requested, axe):
    team, _gate = requested
    login(page, team.reviewer, next_url="/notifications/preferences/")
    axe(page)

    page.get_by_label("Review alert by e-mail").uncheck()
    page.get_by_role("button", name="Save choices").click()

    expect(page.get_by_text("Your notification choices are saved.")).to_be_visible()
    expect(page.get_by_label("Review alert by e-mail")).not_to_be_checked()
    expect(page.get_by_label("Review alert in the inbox")).to_be_checked()
    assert NotificationPreference.objects.get(user=team.reviewer, event="review_alert", channel="email").enabled \
        is False


def test_a_governance_owner_adds_a_webhook_and_sees_its_secret_once(page, login, requested, axe, settings):
    team, _gate = requested
    settings.DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK = True
    with webhook_receiver() as receiver:
        login(page, team.governance_owner, next_url=f"/use-cases/{team.use_case.slug}/webhooks/")
        page.get_by_label("URL").fill("ftp://hooks.example.com/x")
        page.get_by_label("Stop alert").check()
        page.get_by_role("button", name="Add webhook").click()
        expect(page.get_by_text("A webhook URL must start with http:// or https://.")).to_be_visible()
        axe(page)

        page.get_by_label("URL").fill(receiver.url)
        page.get_by_role("button", name="Add webhook").click()

        secret = page.locator("code.secret")
        expect(secret).to_have_text(re.compile(r"^whsec_"))
        axe(page)
        page.goto(f"/use-cases/{team.use_case.slug}/webhooks/")
        expect(page.locator("code.secret")).to_have_count(0)
        expect(page.get_by_text(receiver.url)).to_be_visible()
    assert Webhook.objects.get(use_case=team.use_case).events == ["stop_alert"]
