"""Browser-test harness: Debian's chromium driven by Playwright against pytest-django's live server.

Fixtures: `browser` (one chromium per session), `page` (a fresh context per test), `new_page` (more people in
their own contexts), `login` (signs a person in with a session made on the server) and `axe` (asserts that axe-core finds
no serious or critical violation on the current page).
"""
import os
import shutil
from collections.abc import Callable, Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client as DjangoClient
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

# Playwright's sync API runs an event loop in the test thread; Django would then refuse ORM calls made by the
# test itself (SynchronousOnlyOperation) although no coroutine touches them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("DRIFTGATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless chromium for the whole run (starting one costs about a second)."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"chromium not found at {CHROMIUM}: install it (make test does: apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


class Counter:
    """Counts what a person does in a page: clicks and keystrokes, for the README's effort figures."""

    def __init__(self) -> None:
        self.clicks = 0
        self.keystrokes = 0

    def click(self, locator) -> None:
        """Click, and count it."""
        locator.click()
        self.clicks += 1

    def type(self, locator, text: str) -> None:
        """Focus the field by clicking it and type the text key by key, counting both."""
        self.click(locator)
        locator.press_sequentially(text)
        self.keystrokes += len(text)

    def press(self, locator, key: str) -> None:
        """Press one key, and count it."""
        locator.press(key)
        self.keystrokes += 1

    def choose(self, locator, value: str) -> None:
        """Pick an option of a select: two clicks, one to open it and one on the option."""
        locator.select_option(value)
        self.clicks += 2

    def attach(self, locator, path) -> None:
        """Pick a file: one click opens the file picker, one picks the file."""
        locator.set_input_files(path)
        self.clicks += 2


@pytest.fixture
def counter() -> Counter:
    """Counts one person's clicks and keystrokes."""
    return Counter()


@pytest.fixture
def new_page(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """Return a factory of pages, each in its own browser context (its own cookies: one person each)."""
    contexts: list[BrowserContext] = []

    def make(*, locale: str = "en-GB", java_script: bool = True) -> Page:
        context = browser.new_context(base_url=live_server.url, locale=locale, java_script_enabled=java_script)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    """A fresh page in its own context."""
    return new_page()


@pytest.fixture
def login(live_server) -> Callable[..., None]:
    """Sign a person in by handing their browser context a session made on the server, then open `next_url`.

    Signing in through the sign-in page is what tests/browser/test_sign_in.py tests, with the page's form; elsewhere
    the sign-in is a precondition, and going through the form cost a page load, a password hash and a redirect in
    every test. The session is the one Django's login makes (the model backend's, as the form's sign-in stores).
    """
    def sign_in(page: Page, user, *, next_url: str = "/") -> None:
        client = DjangoClient()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                   "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
        page.goto(next_url)
        assert "/accounts/login/" not in page.url, f"the session did not sign {user.get_username()} in"
    return sign_in


@pytest.fixture(scope="session")
def _axe() -> Axe:
    return Axe()


@pytest.fixture
def axe(_axe: Axe) -> Callable[[Page], None]:
    """Assert that axe-core reports no serious or critical violation on the page as it is now."""
    def check(page: Page) -> None:
        results = _axe.run(page)
        blocking = [violation for violation in results.response["violations"]
                    if violation.get("impact") in BLOCKING_IMPACTS]
        details = "\n".join(
            f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            f"{', '.join(node['target'][0] for node in violation['nodes'][:5])}" for violation in blocking)
        assert not blocking, f"axe-core found serious or critical violations on {page.url}:\n{details}"
    return check


def pytest_collection_modifyitems(items) -> None:
    """Mark every test here `browser`, so `-m "not browser"` runs the rest alone."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
