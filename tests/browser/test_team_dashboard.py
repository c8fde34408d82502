"""A manager reads the team dashboard: the leaderboard, a rep's won deals, on a phone too."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesdesk.activities.models import Activity
from salesdesk.goals.periods import PeriodKind, current_period
from salesdesk.pipeline.models import Deal
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, ActivityFactory, DealFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def quarter(org):
    return current_period(PeriodKind.QUARTER, now=timezone.now(), tz="UTC")


@pytest.fixture
def world(cast, pipeline, quarter):
    start, _ = quarter.bounds("UTC")
    lead = pipeline.stages.get(name="Lead")
    for owner, title, amount in [
        (cast.alice, "Alpha renewal", "1000"),
        (cast.bob, "Bravo platform", "5000"),
        (cast.bob, "Bravo add-on", "250"),
    ]:
        DealFactory(
            title=title,
            stage=lead,
            owner=owner,
            amount=Decimal(amount),
            status=Deal.Status.WON,
            created_at=start,
            closed_at=start + HOUR,
        )
    DealFactory(
        title="Stuck deal", stage=lead, owner=cast.alice, stage_entered_at=start - 900 * HOUR
    )
    for kind in (Activity.Kind.CALL, Activity.Kind.EMAIL, Activity.Kind.MEETING):
        ActivityFactory(owner=cast.alice, kind=kind, occurred_at=start + HOUR)
    # A long name must not widen the page on a phone.
    UserFactory(full_name="Maximiliane Schwarzenberger-Wittgenstein", team=cast.alice.team)


def test_manager_reads_the_leaderboard_and_opens_a_reps_won_deals(page, cast, world, quarter):
    errors = []
    # (The browser's own request for /favicon.ico is not the page's business.)
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.location["url"].endswith("/favicon.ico")
            and errors.append(message.text)
        ),
    )
    page.on("response", lambda r: r.status >= 400 and errors.append(r.url))
    sign_in(page, cast.manager, PASSWORD)
    page.get_by_role("button", name="Numbers").click()
    page.get_by_role("link", name="Team dashboard").click()

    expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible()
    leaders = page.locator("#leaderboard li")
    expect(leaders.first).to_contain_text("Bob East")
    expect(leaders.nth(1)).to_contain_text("Alice East")
    # The chart was drawn by team.js
    page.wait_for_function("() => window.Chart && Chart.getChart('team-activity-chart')")
    assert page.evaluate("Chart.getChart('team-activity-chart').data.datasets.length") == 5

    page.locator(f'tr[data-rep="{cast.bob.pk}"] a[data-figure="won"]').click()

    page.wait_for_url(f"**/dashboards/deals/?set=won&period={quarter.key}&owner={cast.bob.pk}")
    expect(page.get_by_role("link", name="Bravo platform")).to_be_visible()
    expect(page.get_by_role("link", name="Bravo add-on")).to_be_visible()
    expect(page.get_by_text("Alpha renewal")).to_have_count(0)
    assert errors == []


def test_dashboard_fits_a_phone_without_sideways_scrolling(phone_page, cast, world):
    page = phone_page
    sign_in(page, cast.manager, PASSWORD)
    page.goto(f"{page.base_url}/dashboards/team/")
    expect(page.get_by_role("heading", name="Per rep", exact=True)).to_be_visible()

    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 390
    # The wide table scrolls inside its own box, with the rep's name kept in view.
    table_box = page.locator(".team-table")
    assert table_box.evaluate("box => box.scrollWidth > box.clientWidth")
    table_box.evaluate("box => { box.scrollLeft = box.scrollWidth; }")
    name = page.locator(f'tr[data-rep="{cast.alice.pk}"] th')
    box = name.bounding_box()
    assert box is not None
    assert 0 <= box["x"] <= box["x"] + box["width"] <= 390


def test_admin_reads_every_team_on_a_phone_and_opens_one(phone_page, cast, world):
    # Given an admin, who sees East and West, on a phone 390 px wide
    page = phone_page
    sign_in(page, cast.admin, PASSWORD)
    page.goto(f"{page.base_url}/dashboards/team/")
    # Then the page shows a row per team, the best reps, and no sideways scroll
    expect(page.get_by_role("heading", name="Per team", exact=True)).to_be_visible()
    expect(page.locator("#team-table tbody tr")).to_have_count(2)
    expect(page.locator("#leaderboard li").first).to_contain_text("Bob East")
    expect(page.locator("#team-comparison")).to_contain_text(" to ")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    east = page.locator(f'tr[data-team="{cast.alice.team_id}"] th')
    box = east.bounding_box()
    assert box is not None
    assert 0 <= box["x"] <= box["x"] + box["width"] <= 390
    # When they open East from its row, they get East's reps
    east.get_by_role("link", name="East").click()
    page.wait_for_url(f"**/dashboards/team/?team={cast.alice.team_id}")
    expect(page.get_by_role("heading", name="Per rep", exact=True)).to_be_visible()
    expect(page.locator(f'tr[data-rep="{cast.bob.pk}"]')).to_be_visible()
    expect(page.locator(f'tr[data-rep="{cast.carol.pk}"]')).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
