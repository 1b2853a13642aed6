"""Every governance page in a real browser: axe-core finds nothing serious, the keyboard reaches the main action,
and the main actions work with JavaScript off (htmx only enhances)."""
import pytest
from django.utils import timezone

from governance.models import ChecklistItem, Evidence, Obligation
from governance.services.decisions import gate_decide
from governance.services.gates import gate_open
from tests.factories import PASSWORD
from tests.governance.gates_setup import add_goals, gate_in_review, make_team, monitoring_ready

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(monkeypatch):
    monitoring_ready(monkeypatch)
    team = make_team()
    gate1 = gate_in_review(team, 1)
    add_goals(team.use_case, count=0)
    goal = team.use_case.effect_goals.first()
    goal.measurements.create(value=0.9, source="week 2", measured_at=timezone.now() - timezone.timedelta(days=1))
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate1, outcome="go", rationale="ok",
                           role="governance_owner", password=PASSWORD)
    Obligation.objects.create(use_case=team.use_case, title="Re-check", owner=team.product_owner,
                              due_date=timezone.localdate() - timezone.timedelta(days=2))
    return team, gate1, decision


def test_every_page_has_no_serious_accessibility_violation(world, page, login, axe):
    team, gate, decision = world
    login(page, team.product_owner)
    for url in ["/", "/use-cases/", f"/use-cases/{team.use_case.slug}/", f"/gates/{gate.pk}/",
                f"/gates/{gate.pk}/decide/", f"/decisions/{decision.pk}/", "/obligations/",
                f"/use-cases/{team.use_case.slug}/obligations/", "/accounts/password/", "/notifications/",
                "/notifications/preferences/", f"/use-cases/{team.use_case.slug}/webhooks/"]:
        page.goto(url)
        axe(page)
    page.goto(f"/decisions/{decision.pk}/")
    page.context.clear_cookies()
    login(page, team.reviewer, next_url=f"/decisions/{decision.pk}/")
    axe(page)  # the co-signing form with its statement


def test_an_overdue_obligation_is_shown_in_red_on_home(world, page, login):
    team, *_ = world
    login(page, team.product_owner)

    overdue = page.locator(".overdue").first

    assert "overdue since" in overdue.inner_text()
    assert overdue.evaluate("e => getComputedStyle(e).color") == "rgb(163, 20, 28)"


def test_the_keyboard_alone_signs_in_and_reaches_the_main_content(world, page):
    team, *_ = world
    page.goto("/accounts/login/")
    assert page.evaluate("document.activeElement.id") == "id_username"  # the sign-in form takes the focus
    page.keyboard.type(team.product_owner.username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "main"


def test_items_are_completed_with_javascript_off(new_page, login):
    team = make_team(stage="pre_production")
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=2)
    item = ChecklistItem.objects.filter(checklist__gate=gate, required=True).first()
    page = new_page(java_script=False)
    login(page, team.product_owner)
    page.goto(f"/gates/{gate.pk}/")
    card = page.locator(f"#item-{item.pk}")

    card.get_by_text("Work on this item").click()
    card.get_by_label("or a URL").fill("https://wiki.example.com/no-js")
    card.get_by_role("button", name="Attach evidence").click()
    page.wait_for_url(f"**/gates/{gate.pk}/#item-{item.pk}")
    card = page.locator(f"#item-{item.pk}")
    card.get_by_text("Work on this item").click()
    card.get_by_label("Reason (for waived or not applicable)").fill("Covered by the platform's runbook.")
    card.get_by_label("Status").select_option("not_applicable")
    card.get_by_role("button", name="Save status").click()
    page.wait_for_url(f"**/gates/{gate.pk}/#item-{item.pk}")

    item.refresh_from_db()
    assert item.status == "not_applicable"
    assert Evidence.objects.filter(item=item, url="https://wiki.example.com/no-js").exists()


def test_a_file_dropped_on_an_item_is_attached_with_its_hash(page, login):
    team = make_team(stage="pre_production")
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=2)
    item = ChecklistItem.objects.filter(checklist__gate=gate, required=True).first()
    login(page, team.product_owner)
    page.goto(f"/gates/{gate.pk}/")
    card = page.locator(f"#item-{item.pk}")
    card.get_by_text("Work on this item").click()

    transfer = page.evaluate_handle("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["rollback rehearsed on 2 June"], "rehearsal.txt", {type: "text/plain"}));
        return data;
    }""")
    card.locator("[data-dropzone]").dispatch_event("drop", {"dataTransfer": transfer})
    assert card.locator("[data-dropzone-name]").inner_text() == "rehearsal.txt"
    card.get_by_role("button", name="Attach evidence").click()
    page.locator(f"#item-{item.pk} .evidence-list li").first.wait_for()

    evidence = Evidence.objects.get(item=item)
    assert (evidence.name, evidence.size) == ("rehearsal.txt", 28)
    assert evidence.sha256 in page.locator(f"#item-{item.pk} .evidence-list").inner_text()


def test_a_refusal_comes_back_beside_the_field_without_a_reload(page, login):
    team = make_team(stage="pre_production")
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=2)
    item = ChecklistItem.objects.filter(checklist__gate=gate, required=True).first()
    login(page, team.product_owner)
    page.goto(f"/gates/{gate.pk}/")
    page.evaluate("window.marker = 'same page'")
    card = page.locator(f"#item-{item.pk}")
    card.get_by_text("Work on this item").click()

    card.get_by_label("Status").select_option("waived")
    card.get_by_role("button", name="Save status").click()

    error = page.locator(f"#id_item-{item.pk}-reason-errors")
    error.wait_for()
    assert error.inner_text() == "A reason is required."
    assert page.locator(f"#id_item-{item.pk}-reason").get_attribute("aria-describedby") == error.get_attribute("id")
    assert page.evaluate("window.marker") == "same page"  # htmx swapped the item; the page did not reload
    item.refresh_from_db()
    assert item.status == "open"
