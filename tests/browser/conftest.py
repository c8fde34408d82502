"""Playwright driving Debian's Chromium against a live test server.

Each test gets a fresh browser context; a failing test leaves a screenshot in test-results/.
"""

import os
from pathlib import Path

import pytest

from tests.capture.servers import dovecot, imap_user, smtp_server

# Fixtures of the mailbox tests: a real Dovecot, and aiosmtpd for sending.
__all__ = ["dovecot", "imap_user", "smtp_server"]

CHROMIUM = "/usr/bin/chromium"
# How long an action or an expectation waits. Generous: on two busy cores (CI running the
# suite next to other work) an htmx answer has been seen to take more than 10 s.
TIMEOUT_MS = 20_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# next to it are synchronous and safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests skipped: {CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(request, browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.base_url = live_server.url
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.nodeid.replace("/", "_").replace("::", "__")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def phone_page(request, browser, live_server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.base_url = live_server.url
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.nodeid.replace("/", "_").replace("::", "__")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


def sign_in(page, user, password: str) -> None:
    page.goto(f"{page.base_url}/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{page.base_url}/")


@pytest.fixture(autouse=True)
def rollups_follow_writes():
    """Browser tests build their data with factories: keep the dashboards' rollups in step."""
    from tests.factories import rollups_follow_direct_writes

    with rollups_follow_direct_writes():
        yield
