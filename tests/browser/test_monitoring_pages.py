"""Monitoring, alerts, reports and the audit log in a real browser: what a platform owner, a governance owner and a
compliance officer do there, each page checked by axe-core."""
import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from driftgate.actors import Actor
from governance.audit import audit_chain_head
from governance.models import UseCase
from monitoring.models import Alert, Baseline, DriftRun, DriftSignal, MonitoringPolicy
from monitoring.selectors.power import POWER_TABLE
from monitoring.services.alerts import alert_triage
from reports.models import Report, ReportStatus
from reports.services import report_render, report_request
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def monitored(use_case, make_user, grant, settings, tmp_path):
    """A week of hourly runs: prompt drift significant at review in one hour, a quality stop in another."""
    settings.REPORTS_ROOT = tmp_path / "reports"
    people = {"pete": make_user("pete", first_name="Pete", last_name="Platform"),
              "grace": make_user("grace", first_name="Grace", last_name="Governance"),
              "rita": make_user("rita", first_name="Rita", last_name="Reviewer")}
    grant(people["pete"], use_case, "platform_owner")
    grant(people["grace"], use_case, "governance_owner")
    grant(people["rita"], use_case, "reviewer")
    MonitoringPolicy.objects.create(use_case=use_case, config={"alpha": 0.01}, auto_halt=False)
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    baseline = Baseline.objects.create(use_case=use_case, start=end - timedelta(days=30), end=end - timedelta(days=8),
                                       status="frozen", embedding_model="m", n_records=10_000, frozen_at=end)
    runs = DriftRun.objects.bulk_create([
        DriftRun(use_case=use_case, baseline=baseline, window_start=end - timedelta(hours=hour + 1),
                 window_end=end - timedelta(hours=hour), status="succeeded", n=300,
                 severity="review" if hour == 50 else "stop" if hour == 5 else "ok") for hour in range(168)])
    signals = []
    for hour, run in enumerate(runs):
        signals.append(DriftSignal(run=run, name="prompt_drift", statistic=3.0, p_value=0.001 if hour == 50 else 0.4,
                                   p_adjusted=0.004 if hour == 50 else 0.8, effect_size=0.21 if hour == 50 else 0.01,
                                   effect_unit="drifted_share", severity="review" if hour == 50 else "ok",
                                   details={"emerging_topics": [{"terms": ["peppol", "ehf"], "size": 40,
                                                                 "examples": ["What is an EHF invoice?"]}]}
                                   if hour == 50 else {}))
        signals.append(DriftSignal(run=run, name="quality_drop", statistic=9.0, p_value=1e-9 if hour == 5 else 0.5,
                                   p_adjusted=4e-9 if hour == 5 else 0.9, effect_size=0.28 if hour == 5 else 0.003,
                                   effect_unit="relative_drop", severity="stop" if hour == 5 else "ok"))
    DriftSignal.objects.bulk_create(signals)
    review = Alert.objects.create(use_case=use_case, run=runs[50], severity="review",
                                  summary={"raised_by": ["prompt_drift"], "recommendation": "review"})
    stop = Alert.objects.create(use_case=use_case, run=runs[5], severity="stop",
                                summary={"raised_by": ["quality_drop"], "recommendation": "stop"})
    return use_case, people, review, stop


def test_the_monitoring_page_shows_the_episode_on_every_signal_with_tiers_and_marks(page, login, monitored, axe):
    use_case, people, _, _ = monitored
    login(page, people["pete"], next_url=f"/use-cases/{use_case.slug}/monitoring/")

    assert page.get_by_role("heading", level=1).inner_text().startswith("Monitoring of")
    charts = page.locator("figure.chart")
    assert charts.count() == 2
    quality = page.get_by_role("img", name="quality_drop: effect per run")
    assert quality.is_visible()
    svg = quality.inner_html()
    assert "stop tier" in svg and "significant after Holm" in svg and "alert raised" in svg
    assert "1 runs significant after Holm; 1 with an alert" in page.locator("figure.chart figcaption").nth(1).inner_text()
    assert page.get_by_role("cell", name="quality_drop").count() == 1
    axe(page)

    page.locator("table").nth(1).get_by_role("link").first.click()  # the newest run that was not ok
    assert "Run of" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("cell", name="< 0.001").count() == 2  # quality_drop's p and Holm p
    axe(page)


def test_the_year_view_draws_each_day_from_the_daily_summary_with_the_runs_still_marked(page, login, monitored, axe):
    use_case, people, _, _ = monitored
    login(page, people["pete"], next_url=f"/use-cases/{use_case.slug}/monitoring/?days=366")

    assert page.get_by_text("each line shows the largest effect of each day").is_visible()
    assert page.locator("figure.chart").count() == 2
    svg = page.get_by_role("img", name="quality_drop: effect per run").inner_html()
    assert "stop tier" in svg and "significant after Holm" in svg and "alert raised" in svg
    # A week of hourly runs is seven or eight days; the stop keeps its day at stop, the significant run is marked.
    caption = page.locator("figure.chart figcaption").nth(1).inner_text()
    assert any(f"{days} points; 1 runs significant after Holm; 1 with an alert" in caption for days in (7, 8))
    assert "1 at the stop tier" in caption
    axe(page)


def test_a_platform_owner_triages_a_review_alert_from_the_queue(page, login, monitored, axe):
    use_case, people, review, _ = monitored
    login(page, people["pete"], next_url="/alerts/")
    axe(page)

    page.get_by_role("row").filter(has_text="prompt_drift").get_by_role("link").click()
    assert "Review alert" in page.get_by_role("heading", level=1).inner_text()
    axe(page)
    page.get_by_role("button", name="Record triage").click()  # no verdict: refused beside the field
    assert page.locator("#id_triage-verdict-errors").is_visible()
    review.refresh_from_db()
    assert review.status == "open"

    page.get_by_label("Verdict").select_option("legitimate_change")
    page.get_by_label("Resolution").select_option("none")
    page.get_by_label("Note").fill("E-invoicing launched this week.")
    page.get_by_role("button", name="Record triage").click()

    assert page.get_by_text("The alert is triaged.").is_visible()
    review.refresh_from_db()
    assert (review.status, review.verdict, review.triaged_by) == ("triaged", "legitimate_change", people["pete"])
    axe(page)


def test_a_governance_owner_confirms_a_stop_and_the_ci_status_turns_not_ok_then_resumes(page, login, monitored,
                                                                                      axe):
    use_case, people, _, stop = monitored
    login(page, people["grace"], next_url=f"/alerts/{stop.pk}/")
    status = page.request.get(f"/api/v1/use-cases/{use_case.slug}/status").json()
    assert status["halted"] is False

    page.get_by_label("Reason").fill("Quality fell by a quarter in the last window.")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Confirm stop and halt").click()
    assert page.locator("#id_stop-password-errors").is_visible()
    assert UseCase.objects.get(pk=use_case.pk).halted is False
    axe(page)

    page.get_by_label("Reason").fill("Quality fell by a quarter in the last window.")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm stop and halt").click()
    assert page.get_by_text("The stop is confirmed: the use case is halted.").is_visible()
    status = page.request.get(f"/api/v1/use-cases/{use_case.slug}/status").json()
    assert status["ok"] is False and status["halted"] is True

    page.get_by_role("region", name="Resume the use case").get_by_role("button", name="Resume").click()
    assert page.locator("#id_resume-reason-errors").is_visible()  # no reason
    assert UseCase.objects.get(pk=use_case.pk).halted is True
    page.get_by_role("region", name="Resume the use case").get_by_label("Reason").fill("Retrieval index restored.")
    page.get_by_role("region", name="Resume the use case").get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("region", name="Resume the use case").get_by_role("button", name="Resume").click()
    assert page.get_by_text("The use case is resumed.").is_visible()
    assert page.request.get(f"/api/v1/use-cases/{use_case.slug}/status").json()["halted"] is False
    axe(page)


def test_a_reviewer_may_not_resume_a_halted_use_case(page, login, monitored):
    use_case, people, _, stop = monitored
    UseCase.objects.filter(pk=use_case.pk).update(halted=True, halted_reason="stop alert")
    login(page, people["rita"], next_url=f"/alerts/{stop.pk}/")

    assert page.get_by_role("region", name="Resume the use case").count() == 0
    token = page.locator("body").get_attribute("data-csrf-token")
    response = page.request.post(f"/alerts/{stop.pk}/", form={
        "action": "resume", "resume-reason": "I think it is fine", "resume-password": PASSWORD},
        headers={"X-CSRFToken": token})
    assert response.status == 403
    assert UseCase.objects.get(pk=use_case.pk).halted is True


def test_a_compliance_officer_requests_a_report_watches_it_render_and_downloads_it(page, login, monitored, axe):
    use_case, people, _, _ = monitored
    login(page, people["grace"], next_url="/reports/")
    axe(page)

    today = timezone.localdate()
    page.get_by_label("Kind of report").select_option("monitoring")
    page.get_by_label("From (YYYY-MM-DD)").fill(today.isoformat())
    page.get_by_label("To, inclusive (YYYY-MM-DD)").fill((today - timedelta(days=8)).isoformat())
    page.get_by_role("button", name="Request").click()
    assert "end must come after its start" in page.locator("#id_end-errors").inner_text()
    assert Report.objects.count() == 0
    axe(page)

    page.get_by_label("From (YYYY-MM-DD)").fill((today - timedelta(days=8)).isoformat())
    page.get_by_label("To, inclusive (YYYY-MM-DD)").fill(today.isoformat())
    page.get_by_role("button", name="Request").click()
    report = Report.objects.get()
    assert report.status == ReportStatus.READY  # rendered in-process: no broker in the tests
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download report {report.pk}").click()
    content = open(download.value.path(), "rb").read()
    assert hashlib.sha256(content).hexdigest() == report.sha256 and content.startswith(b"%PDF")
    page.get_by_role("button", name=f"Check hash of report {report.pk}").click()
    assert page.get_by_text(f"the stored file still has its SHA-256 {report.sha256}").is_visible()
    axe(page)


def test_a_queued_report_turns_ready_on_the_page_without_reloading(page, login, monitored):
    use_case, people, _, _ = monitored
    report = report_request(actor=Actor.for_user(people["grace"]), use_case=use_case, kind="audit_trail",
                            enqueue=False)
    login(page, people["grace"], next_url="/reports/")
    row = page.locator(f"#report-{report.pk}")
    assert "Queued" in row.inner_text()
    page.evaluate("window.__marker = 'same page'")

    report_render(report_id=report.pk)

    row.get_by_role("link", name=f"Download report {report.pk}").wait_for(timeout=10_000)
    assert page.evaluate("window.__marker") == "same page"  # updated in place by polling, not reloaded


def test_the_audit_log_verifies_the_chain_and_shows_an_event_as_a_diff(page, login, monitored, axe):
    use_case, people, review, _ = monitored
    alert_triage(actor=Actor.for_user(people["pete"]), alert=review, verdict="false_alarm", resolution="none",
                 note="noise")
    login(page, people["grace"], next_url="/audit/")
    axe(page)

    page.get_by_role("button", name="Verify chain").click()
    result = page.locator("#verify-result")
    result.get_by_text("The chain is intact.").wait_for()
    assert audit_chain_head() in result.inner_text()
    axe(page)

    page.get_by_label("Action (a trailing dot selects a family, e.g. gate.)").fill("alert.")
    page.get_by_label("From (YYYY-MM-DD)").fill("2026-13-40")
    page.get_by_role("button", name="Filter").click()
    assert page.locator("#id_since-errors").is_visible()
    page.get_by_label("From (YYYY-MM-DD)").fill("")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("row").filter(has_text="alert.triaged").get_by_role("link").click()
    assert page.locator("ins").filter(has_text="false_alarm").count() == 1
    assert page.locator("del").filter(has_text="open").count() >= 1
    axe(page)


def test_a_policy_the_engine_rejects_is_refused_beside_the_field_and_nothing_changes(page, login, monitored, axe):
    use_case, people, _, _ = monitored
    before = MonitoringPolicy.objects.get(use_case=use_case).config
    login(page, people["pete"], next_url=f"/use-cases/{use_case.slug}/policy/")
    axe(page)

    page.get_by_label("prompt_drift: review at").fill("0.3")
    page.get_by_label("prompt_drift: stop at").fill("0.2")
    page.get_by_role("button", name="Save policy").click()

    assert "review threshold 0.3 exceeds stop threshold 0.2" in page.locator(
        "#id_review_prompt_drift-errors").inner_text()
    assert MonitoringPolicy.objects.get(use_case=use_case).config == before
    axe(page)

    page.get_by_label("prompt_drift: review at").fill("0.06")
    page.get_by_role("button", name="Save policy").click()
    assert page.get_by_text("The monitoring policy is saved.").is_visible()
    assert MonitoringPolicy.objects.get(use_case=use_case).config["tiers"]["prompt_drift"] == [0.06, 0.2]


def test_the_baseline_page_shows_the_frozen_baseline_and_refuses_a_replacement_without_reason(page, login,
                                                                                             monitored, axe):
    use_case, people, _, _ = monitored
    login(page, people["pete"], next_url=f"/use-cases/{use_case.slug}/baselines/")
    assert page.get_by_role("heading", name="Frozen baseline").count() == 1
    axe(page)

    page.get_by_role("button", name="Build").click()
    assert page.locator(".field-errors, .form-errors").first.is_visible()
    assert Baseline.objects.filter(use_case=use_case).count() == 1
    axe(page)


def test_a_governance_owner_marks_a_serious_incident_and_sees_its_deadline_count_down(page, login, monitored, axe):
    use_case, people, _, stop = monitored
    login(page, people["grace"], next_url=f"/alerts/{stop.pk}/")

    section = page.get_by_role("region", name="Serious incident (Art. 73)")
    section.get_by_role("button", name="Mark as serious incident").click()
    assert page.locator("#id_incident-incident_class-errors").is_visible()  # no class chosen
    aware = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    section = page.get_by_role("region", name="Serious incident (Art. 73)")
    section.get_by_label("Class of serious incident").select_option("death")
    section.get_by_label("Aware since (YYYY-MM-DD HH:MM, UTC)").fill(aware)
    section.get_by_role("button", name="Mark as serious incident").click()

    stop.refresh_from_db()
    assert stop.incident_class == "death"
    facts = page.locator("dl.facts").inner_text()
    assert "report by" in facts and "1\xa0week, 2\xa0days left" in facts  # 10 days from 2 hours ago
    axe(page)


def _measured_share(kind: str, records: int) -> str:
    """The power table's smallest detected share at a measured window size, as the page prints it (3 digits)."""
    table = json.loads(POWER_TABLE.read_text(encoding="utf-8"))
    share = table["smallest_share"][kind][table["window_sizes"].index(records)]
    return f"{float(f'{share * 100:.3g}'):g}% of the window"


def test_what_the_window_can_see_is_the_power_table_for_the_policy_s_sample_size(page, login, monitored, axe):
    use_case, people, _, _ = monitored
    login(page, people["pete"], next_url=f"/use-cases/{use_case.slug}/monitoring/")
    seen = page.locator("#what-it-can-see")

    assert "With windows of 5,000 records" in seen.inner_text()
    assert seen.locator("[data-kind=new_topic]").first.inner_text() == f"a new topic: {_measured_share('new_topic', 5000)}"
    # The week's runs held 300 records, below every measured window: the page claims nothing for them.
    assert "The last run's window held only 300 records" in seen.inner_text()
    assert seen.locator("[data-kind=new_topic]").nth(1).inner_text() == "a new topic: not measured below 500 records"

    page.goto(f"{page.url.split('/use-cases/')[0]}/use-cases/{use_case.slug}/policy/")
    page.get_by_label("Sample size per window").fill("2000")
    page.get_by_role("button", name="Save policy").click()
    assert page.get_by_text("The monitoring policy is saved.").is_visible()
    page.goto(f"{page.url.split('/use-cases/')[0]}/use-cases/{use_case.slug}/monitoring/")

    assert "With windows of 2,000 records" in seen.inner_text()
    for kind, label in (("new_topic", "a new topic"), ("language", "prompts in another language"),
                        ("style", "a new style of writing (same topics, new phrasing)")):
        assert seen.locator(f"[data-kind={kind}]").first.inner_text() == f"{label}: {_measured_share(kind, 2000)}"
    axe(page)
