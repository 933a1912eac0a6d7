"""Browser fixtures: one headless Chromium per test process, a fresh context per test.

Every test in this directory is marked `e2e`; scripts/test.sh runs them in the SQLite phase only.
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

from tests.support.browser import launch_chromium
from tests.support.environment import CHROMIUM, skip_or_fail
from tests.support.reports import node_failed

E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = Path(
    os.environ.get("WIJKWERF_TEST_ARTIFACTS")
    or Path(tempfile.gettempdir()) / "wijkwerf-test-artifacts"
)
BROWSER_ERRORS = pytest.StashKey[list[str]]()
SUBRESOURCES = {"stylesheet", "script", "image", "font", "media"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        skip_or_fail(
            f"Chromium not found at {CHROMIUM}: install chromium (apt-get install chromium) "
            "or run with CI=true to let the test setup install it"
        )
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(_playwright: Playwright) -> Iterator[Browser]:
    """Headless system Chromium, shared by the tests of one process."""
    chromium = launch_chromium(_playwright, CHROMIUM)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies), Dutch locale, Brussels time.

    Uncaught exceptions, console errors (CSP violations among them), subresources (CSS,
    scripts, images, fonts) that failed to load and any 5xx answer are collected in
    `browser_errors`; a 4xx answer to a navigation or an htmx request is the test's business.
    When the test fails, a screenshot and the HTML go to ARTIFACTS_DIR.
    """
    context = browser.new_context(
        locale="nl-BE", timezone_id="Europe/Brussels", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    errors: list[str] = []
    request.node.stash[BROWSER_ERRORS] = errors
    new_page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    new_page.on("console", lambda message: _console_error(message, errors))
    new_page.on("response", lambda response: _failed_load(response, errors))
    yield new_page
    if node_failed(request):
        _save_artifacts(new_page, request.node.name)
    context.close()


@pytest.fixture
def browser_errors(page: Page, request: pytest.FixtureRequest) -> list[str]:
    """JavaScript errors and console errors seen by `page` so far (a live list)."""
    errors: list[str] = request.node.stash[BROWSER_ERRORS]
    return errors


def _console_error(message: ConsoleMessage, errors: list[str]) -> None:
    # "Failed to load resource" names no URL and also follows every intended 4xx (htmx 422);
    # _failed_load reports the loads that matter, with their URL.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(f"console.error: {message.text}")


def _failed_load(response: Response, errors: list[str]) -> None:
    resource_type = response.request.resource_type
    if response.status >= 500 or (response.status >= 400 and resource_type in SUBRESOURCES):
        errors.append(f"HTTP {response.status} for {resource_type} {response.url}")


def _save_artifacts(page: Page, test_name: str) -> None:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = ARTIFACTS_DIR / "".join(c if c.isalnum() or c in "-_" else "_" for c in test_name)
    try:
        page.screenshot(path=f"{stem}.png", full_page=True)
        Path(f"{stem}.html").write_text(page.content(), encoding="utf-8")
        print(f"\nbrowser artifacts: {stem}.png, {stem}.html (at {page.url})")
    except Exception as error:  # the page may have crashed; the test's own failure matters more
        print(f"\ncould not save browser artifacts: {error!r}")
