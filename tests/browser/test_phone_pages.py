"""Every page fits a phone: 390 px wide, as a rep and as an admin.

The pages come from the URL walk of tests/test_page_queries.py, so a page added later is visited
here too. Each must answer 200, show its heading, log no console error and never scroll
sideways: wide content (the board's columns, tables) scrolls inside its own box.
"""

from urllib.parse import urlencode

import pytest
from django.test import Client
from playwright.sync_api import expect

from salesdesk.activities.models import Activity
from salesdesk.core import views as core_views
from salesdesk.crm.models import Company, ContactEmail
from salesdesk.pipeline.models import Deal
from tests import test_page_queries as pages
from tests.browser.conftest import sign_in
from tests.factories import (
    PASSWORD,
    LeadSourceFactory,
    LostReasonFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 390
# What sticks out past the screen's right edge outside any box that scrolls it (an element, or
# text running out of its element), innermost first: named in the failure, so a fix knows where
# to look.
OVERFLOWING = """(width) => {
    const scrolled = (element) => {
        for (let node = element.parentElement; node !== document.body; node = node.parentElement) {
            if (getComputedStyle(node).overflowX !== "visible") {
                return true;
            }
        }
        return false;
    };
    const sticksOut = (element) =>
        element.getBoundingClientRect().right > width + 0.5
        || element.scrollWidth > element.clientWidth + 1
            && getComputedStyle(element).overflowX === "visible";
    const culprits = [...document.querySelectorAll("main *, nav *")]
        .filter((element) => sticksOut(element) && !scrolled(element));
    const inner = (element) => !culprits.some((o) => o !== element && element.contains(o));
    return culprits
        .filter(inner)
        .slice(0, 3)
        .map((element) => element.outerHTML.slice(0, 160));
}"""
# Boxes wider than the screen even where a scrolling parent hides it (a board column, a card):
# only tables may be wider, and they scroll inside .table-responsive.
TOO_WIDE = """(width) => [...document.querySelectorAll("main *")]
    .filter((element) => !element.closest("table, .table-responsive"))
    .filter((element) => element.getBoundingClientRect().width > width + 0.5)
    .slice(0, 3)
    .map((element) => element.outerHTML.slice(0, 160))"""


@pytest.fixture
def data(cast, pipeline, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    built = pages.build(cast, pipeline)
    widen(built)
    built.tokens_import = {
        role: core_views._upload_store(user, b"Name,Email\nAda Lovelace,ada@example.com\n")
        for role, user in built.users.items()
    }
    return built


def widen(data) -> None:
    """Long names, addresses and links without a place to break on the sample records."""
    domain = "internationale-handelsgesellschaft-fuer-industriebedarf.example"
    Company.objects.filter(pk=data.company).update(
        name="Company 0 Alpha Internationale Handelsgesellschaft für Industriebedarf mbH",
        domain=domain,
        website=f"https://www.{domain}/unternehmen/ansprechpartner",
        industry="Wholesale of industrial machinery and equipment",
    )
    ContactEmail.objects.filter(contact_id=data.contact).update(
        email=f"anna-maria.schwarzenberger-wagner@{domain}"
    )
    Deal.objects.filter(pk=data.deal).update(
        title="Deal 0 Alpha: Rahmenvertragsverlängerung Instandhaltungsdienstleistungen",
        next_step="Send the signed Rahmenvertragsverlängerungsvereinbarung to procurement",
    )
    Activity.objects.filter(deal_id=data.deal).update(
        subject="Follow-up on Rahmenvertragsverlängerung Instandhaltungsdienstleistungen",
        body=f"Notes at https://docs.{domain}/vertraege/2026/rahmenvertrag-verlaengerung",
    )


def page_paths(data, role: str) -> list[str]:
    """Every URL that answers the role with a whole HTML page (not an action, file or fragment)."""
    client = Client()
    client.force_login(data.users[role])
    candidates = []
    for route, defaults in pages.app_routes():
        path = pages.sample_path(route, defaults, data, role)
        if route in pages.ROUTE_QUERIES:
            path += "?" + urlencode(pages.ROUTE_QUERIES[route](data))
        candidates.append(path)
    candidates += [
        f"{path}?{urlencode(params)}"
        for path, params, htmx in pages.FILTERED
        if params and not htmx and "timeline_for" not in params
    ]
    found = []
    for path in candidates:
        response = client.get(path)
        is_page = response.status_code == 200 and response.get("Content-Type", "").startswith(
            "text/html"
        )
        if is_page and b"<html" in response.content[:500]:
            found.append(path)
    return found


def problems_on(page, path: str, errors: list[str]) -> list[str]:
    errors.clear()
    response = page.goto(page.base_url + path)
    found = []
    if response.status != 200:
        return [f"{path}: HTTP {response.status}"]
    heading = page.locator("main h1").first
    if not heading.count() or not heading.is_visible():
        found.append(f"{path}: no visible <h1> in <main>")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > WIDTH:
        culprits = page.evaluate(OVERFLOWING, WIDTH)
        found.append(f"{path}: {width}px wide; sticking out: {culprits}")
    wide = page.evaluate(TOO_WIDE, WIDTH)
    if wide:
        found.append(f"{path}: wider than the screen: {wide}")
    found += [f"{path}: console: {error}" for error in errors]
    return found


@pytest.mark.parametrize("role", ["rep", "admin"])
def test_every_page_fits_a_phone_without_console_errors(phone_page, data, role):
    paths = page_paths(data, role)
    errors: list[str] = []
    phone_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    phone_page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(phone_page, data.users[role], PASSWORD)

    found = [problem for path in paths for problem in problems_on(phone_page, path, errors)]

    assert not found, "\n".join(found)
    assert len(paths) >= (40 if role == "admin" else 20), paths


# A table that scrolls sideways inside its .table-responsive box: the crawl above allows it,
# the settings lists must not need it.
SCROLLING_TABLES = """() => [...document.querySelectorAll("main .table-responsive")]
    .filter((box) => box.scrollWidth > box.clientWidth + 1)
    .map((box) => `${box.scrollWidth}px in ${box.clientWidth}px: ${box.outerHTML.slice(0, 120)}`)"""


@pytest.mark.parametrize("kind", ["tags", "lead-sources", "lost-reasons"])
def test_settings_lists_fit_a_phone_without_scrolling_sideways(phone_page, cast, kind):
    factory = {"tags": TagFactory, "lead-sources": LeadSourceFactory}.get(kind, LostReasonFactory)
    factory(name="Referral by an existing customer, DACH region")
    factory(name="Inbound")
    sign_in(phone_page, cast.admin, PASSWORD)

    phone_page.goto(f"{phone_page.base_url}/settings/{kind}/")

    rows = phone_page.get_by_role("row")
    expect(rows).to_have_count(3)  # the header and two rows
    expect(phone_page.get_by_role("button", name="Deactivate Inbound")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert phone_page.evaluate("window.innerWidth") == WIDTH
    assert phone_page.evaluate(SCROLLING_TABLES) == []
    for name in ("Rename Inbound", "Delete Inbound"):
        box = phone_page.get_by_role("link", name=name).bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= WIDTH, name


def test_settings_users_fit_a_phone_with_the_resend_button_in_sight(phone_page, cast):
    UserFactory(
        email="nina.newcomer-from-the-dach-region@salesdesk.test",
        full_name="Nina Newcomer",
        password=None,  # invited: no password chosen yet
    )
    sign_in(phone_page, cast.admin, PASSWORD)

    phone_page.goto(f"{phone_page.base_url}/settings/users/")

    resend = phone_page.get_by_role("button", name="Resend the invitation to Nina Newcomer")
    expect(resend).to_be_visible()
    expect(phone_page.get_by_role("row").filter(has_text="Nina Newcomer")).to_contain_text(
        "Invited"
    )
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert phone_page.evaluate(SCROLLING_TABLES) == []
    box = resend.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= WIDTH
