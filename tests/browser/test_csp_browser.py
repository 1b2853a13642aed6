"""In a real browser, the admin, the API documentation and the browsable API run under the strict policy with
not one violation: every script and style they need is a file of this origin or carries the nonce."""
import pytest

from tests.factories import PASSWORD, UserFactory

# The browser reports every refusal; the page collects them from the first script on.
COLLECT = ("window.__csp = [];"
           "document.addEventListener('securitypolicyviolation', e => window.__csp.push("
           "{directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile}));")
# Redoc's footer links an image on redoc.ly; the policy refusing it is the point (nothing loads from elsewhere).
EXTERNAL_LOGO = "https://cdn.redoc.ly/"


@pytest.fixture
def browser_page(browser):
    """A page of the suite's shared chromium (one Playwright per session: a second could not start beside it)."""
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(COLLECT)
    yield page
    context.close()


def _goto(page, url: str):
    response = page.goto(url)
    policy = response.headers.get("content-security-policy", "")
    # No policy would mean no violations too: the page must have been served under the strict one.
    assert "default-src 'none'" in policy and "'unsafe-inline'" not in policy, url
    return response


def _violations(page) -> list[dict]:
    return [v for v in page.evaluate("window.__csp") if not v["blocked"].startswith(EXTERNAL_LOGO)]


@pytest.fixture
def admin_user(transactional_db):
    return UserFactory(username="root-ruth", is_staff=True, is_superuser=True)


def test_the_api_documentation_renders_without_a_violation(live_server, admin_user, browser_page):
    page = browser_page

    _goto(page, f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    swagger = _violations(page)
    _goto(page, f"{live_server.url}/api/redoc/")
    page.wait_for_selector("h1:has-text('Driftgate API')", timeout=20_000)
    page.wait_for_timeout(500)

    assert swagger == []
    assert _violations(page) == []


def test_the_admin_and_the_browsable_api_run_without_a_violation(live_server, admin_user, browser_page):
    page = browser_page

    _goto(page, f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    seen = {}
    for path in ["/admin/", "/admin/governance/auditevent/", "/admin/governance/usecase/",
                 "/admin/auth/user/add/", "/admin/axes/accessattempt/", "/api/v1/use-cases/"]:
        _goto(page, f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        seen[path] = _violations(page)

    assert seen == {path: [] for path in seen}
