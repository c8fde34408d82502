"""Setting a goal in a real browser and reading its progress, on a desktop and on a phone."""

from decimal import Decimal

import pytest
from django.utils import timezone

from salesdesk.goals.models import Goal
from salesdesk.goals.periods import current_period
from salesdesk.pipeline.models import Deal
from tests.browser.conftest import sign_in
from tests.browser.test_phone_pages import OVERFLOWING, TOO_WIDE, WIDTH
from tests.factories import PASSWORD, DealFactory, GoalFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quarter(org):
    return current_period("quarter", now=timezone.now(), tz="UTC")


@pytest.fixture
def alice_won(cast, pipeline, quarter):
    """Alice won 4000 at the very start of the current quarter."""
    return DealFactory(
        stage=pipeline.stages.first(),
        owner=cast.alice,
        amount=Decimal("4000"),
        status=Deal.Status.WON,
        closed_at=quarter.bounds("UTC")[0],
    )


def test_a_manager_sets_a_ramped_goal_for_a_rep_and_sees_its_progress(
    page, cast, quarter, alice_won
):
    sign_in(page, cast.manager, PASSWORD)
    page.goto(f"{page.base_url}/goals/")
    page.get_by_role("heading", name=f"No goals for {quarter.label} yet").wait_for()
    page.get_by_role("link", name="Add a goal").first.click()

    page.get_by_label("For").select_option(label="Alice East")
    assert page.get_by_label("Period").input_value() == quarter.key
    page.get_by_label("Measure").select_option(label="Won revenue")
    page.get_by_label("Target").fill("30000")
    page.get_by_label("Ramp (% per month)").fill("25, fifty")
    page.get_by_label("Ramp starts in").fill(f"{quarter.start:%Y-%m}")
    page.get_by_role("button", name="Save").click()

    page.locator("#id_ramp_error").get_by_text("Write whole percents").wait_for()
    assert not Goal.objects.exists()
    page.get_by_label("Ramp (% per month)").fill("25, 50, 75")
    page.get_by_role("button", name="Save").click()

    # The quarter's months count 25, 50 and 75 %: half of 30 000.
    card = page.locator("article.goal-card", has_text="Alice East")
    card.wait_for()
    assert page.get_by_text("Goal set: Alice East").is_visible()
    assert card.locator('[data-figure="target"]').inner_text().startswith("EUR 15,000.00")
    assert card.locator('[data-figure="achieved"]').inner_text() == "EUR 4,000.00 (27%)"
    assert card.locator('[data-figure="gap"]').inner_text() == "EUR 11,000.00"
    assert "ramp 25 / 50 / 75 %" in card.inner_text()
    goal = Goal.objects.get()
    assert (goal.user, goal.ramp, goal.ramp_start) == (cast.alice, [25, 50, 75], quarter.start)


def test_the_goals_page_fits_a_phone(phone_page, cast, quarter, alice_won):
    page = phone_page
    goal = {"period_kind": "quarter", "period_start": quarter.start}
    GoalFactory(team=cast.alice.team, target=None, **goal)
    GoalFactory(user=cast.alice, target=Decimal("1234567.89"), **goal)
    GoalFactory(user=cast.bob, target=Decimal("50000"), **goal)
    GoalFactory(user=cast.manager, metric="activities", activity_kind="call", target=40, **goal)
    sign_in(page, cast.manager, PASSWORD)

    for path in ("/goals/", "/goals/new/", f"/goals/{Goal.objects.first().pk}/edit/"):
        page.goto(f"{page.base_url}{path}")
        page.locator("h1").wait_for()
        assert page.evaluate(OVERFLOWING, WIDTH) == [], path
        assert page.evaluate(TOO_WIDE, WIDTH) == [], path

    page.goto(f"{page.base_url}/goals/")
    member = page.locator("li.goal-member", has_text="Alice East")
    member.get_by_role("button").first.click()
    member.locator('[data-figure="gap"]').wait_for()
    assert page.evaluate(OVERFLOWING, WIDTH) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_choosing_another_period_swaps_the_goals_in_place(page, cast, quarter):
    GoalFactory(user=cast.alice, period_kind="quarter", period_start=quarter.next().start)
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/goals/")
    page.get_by_text(f"No goal is set for {quarter.label}").wait_for()

    page.get_by_label("Period", exact=True).select_option(quarter.next().key)

    page.locator("article.goal-card", has_text="Alice East").wait_for()
    assert page.url.endswith(f"/goals/?period={quarter.next().key}")
    assert "Edit" not in page.locator("article.goal-card").inner_text()
