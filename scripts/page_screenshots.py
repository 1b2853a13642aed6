"""Take the README's screenshots of the pages from a fresh demo: home, gate 2's workspace, the signing step.

    .venv/bin/python scripts/page_screenshots.py [--port 8101]

Builds the demo in a throwaway SQLite database (the demo seed, plus the monitoring policy gate 2 asks for, plus
the product owner's remaining items done so the gate is in review), serves it with runserver and drives
Debian's chromium through Playwright. Writes docs/images/page-home.png, page-gate.png and page-signing.png.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "screenshot demo password"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def prepare(env: dict) -> None:
    """Migrate, seed the demo and bring gate 2 to review, in the throwaway database."""
    run = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*run, "migrate", "--noinput", "-v", "0"], check=True, env=env, cwd=ROOT)
    subprocess.run([*run, "demo_seed"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    script = """
from driftgate.actors import Actor
from governance.models import ChecklistItem, Gate, UseCase
from governance.services.checklists import checklist_item_update, evidence_add
from monitoring.services.policies import policy_configure, policy_defaults
use_case = UseCase.objects.get(slug="invoice-assistant")
pete = use_case.memberships.get(role="platform_owner").user
paula = Actor.for_user(use_case.memberships.get(role="product_owner").user)
defaults = policy_defaults(use_case=use_case)
policy_configure(actor=Actor.for_user(pete), use_case=use_case, config=defaults.config, auto_halt=False,
                 window_hours=defaults.window_hours, sample_size=defaults.sample_size,
                 material_degradation=defaults.material_degradation, enabled=True)
gate = Gate.objects.get(use_case=use_case, number=2)
items = list(ChecklistItem.objects.filter(checklist__gate=gate, required=True, status="open"))
for item in items[1:]:
    evidence_add(actor=paula, item=item, url=f"https://wiki.example.com/invoice-assistant/{item.key}")
    checklist_item_update(actor=paula, item=item, status="done")
"""
    subprocess.run([*run, "shell", "-c", script], check=True, env=env, cwd=ROOT)


def shoot(base: str, out: Path) -> None:
    """Sign in as the product owner and the governance owner and capture the three pages."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for who, shots in (("paula", ("home", "gate")), ("grace", ("signing",))):
            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900}, locale="en-GB")
            page = context.new_page()
            page.goto("/accounts/login/?next=/")
            page.get_by_label("Username").fill(who)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
            if "home" in shots:
                page.screenshot(path=out / "page-home.png", full_page=False)
            if "gate" in shots:
                page.get_by_role("link", name="Gate 2").first.click()
                # The failing criterion links to the item that is still open.
                anchor = page.locator("#gate-criteria .criterion-fail a").first.get_attribute("href")
                page.screenshot(path=out / "page-gate.png", full_page=False)
                card = page.locator(anchor)
                card.locator("summary").click()
                # Finish the last item and ask for the decision, so the governance owner can sign.
                card.get_by_label("or a URL").fill("https://wiki.example.com/invoice-assistant/rollback")
                card.get_by_role("button", name="Attach evidence").click()
                card = page.locator(anchor)
                card.locator(".evidence-list li").first.wait_for()
                card.get_by_label("Status").select_option("done")
                card.get_by_role("button", name="Save status").click()
                page.locator("#gate-criteria .criterion-fail").first.wait_for(state="detached")
                page.get_by_role("button", name="Request decision").click()
                page.get_by_text("The decision is requested").wait_for()
            if "signing" in shots:
                page.get_by_role("link", name="Decide gate 2 of Invoice assistant").click()
                page.get_by_label("Go with conditions").check()
                page.get_by_label("Rationale").fill("Operable and monitored; review the first four weeks of drift.")
                page.locator("#id_conditions-0-title").fill("Review the first four weeks of drift runs")
                page.locator("#id_conditions-0-owner").select_option("pete")
                page.get_by_role("button", name="Review what you sign").click()
                page.get_by_label("Your password").fill("typed here")
                page.locator(".signature-preview").scroll_into_view_if_needed()
                page.screenshot(path=out / "page-signing.png", full_page=False)
            context.close()
        browser.close()


def main() -> None:
    """Build the demo, serve it, take the screenshots, stop the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8101)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "DRIFTGATE_VAR_DIR": var, "DRIFTGATE_DEMO_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT),
               "DATABASE_URL": f"sqlite:///{var}/demo.sqlite3"}
        env.pop("DRIFTGATE_TEST_DB_SUFFIX", None)
        prepare(env)
        server = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload",
                                   f"127.0.0.1:{options.port}"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{options.port}"
            for _ in range(100):
                try:
                    urlopen(f"{base}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            shoot(base, ROOT / "docs" / "images")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
