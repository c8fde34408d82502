"""A manager's 1:1: open a rep's scorecard, set a next step inline, write a coaching note."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from salesdesk.analytics.models import CoachingNote
from salesdesk.pipeline.models import StageChange
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, DealFactory

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 390


@pytest.fixture
def deals(cast, pipeline):
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    now = timezone.now()
    quiet = DealFactory(
        owner=cast.alice,
        stage=stages["Proposal"],
        title="Acme renewal",
        amount=Decimal("5000"),
        expected_close=timezone.localdate() + datetime.timedelta(days=60),
    )
    stale = DealFactory(
        owner=cast.alice,
        stage=stages["Lead"],
        title="Initech pilot with a rather long name that must wrap on a phone",
        amount=Decimal("125000"),
        next_step="Call the CFO",
        next_step_due=timezone.localdate() - datetime.timedelta(days=3),
        stage_entered_at=now - datetime.timedelta(days=40),
        expected_close=timezone.localdate() - datetime.timedelta(days=2),
    )
    StageChange.objects.create(
        deal=stale,
        from_stage=stages["Qualified"],
        to_stage=stages["Lead"],
        at=now - datetime.timedelta(days=1),
    )
    return quiet, stale


def test_a_manager_runs_a_one_to_one_from_the_scorecard(page, cast, deals):
    quiet, _ = deals
    sign_in(page, cast.manager, PASSWORD)
    page.goto(f"{page.base_url}/reviews/")
    page.get_by_role("link", name="Alice East").click()
    page.wait_for_url(f"{page.base_url}/reviews/{cast.alice.pk}/")
    page.evaluate("window.stillTheSamePage = true")

    focus = page.locator("#focus-no-next-step")
    focus.get_by_label("Next step for Acme renewal", exact=True).fill("Send the revised quote")
    due = timezone.localdate() + datetime.timedelta(days=2)
    focus.get_by_label("Next step due for Acme renewal").fill(due.isoformat())
    focus.get_by_role("button", name="Save next step for Acme renewal").click()

    focus.get_by_role("status").get_by_text("Next step saved.").wait_for()
    assert page.evaluate("window.stillTheSamePage") is True
    quiet.refresh_from_db()
    assert (quiet.next_step, quiet.next_step_due) == ("Send the revised quote", due)

    page.get_by_label("New coaching note").fill("Ask Acme for the decision date.")
    page.get_by_role("button", name="Add note").click()

    notes = page.locator("#notes")
    notes.get_by_role("status").get_by_text("Note added.").wait_for()
    assert notes.locator("li").first.inner_text().endswith("Ask Acme for the decision date.")
    assert page.get_by_label("New coaching note").input_value() == ""
    assert page.evaluate("window.stillTheSamePage") is True
    assert CoachingNote.objects.get().body == "Ask Acme for the decision date."

    page.get_by_role("button", name="Mark 1:1 held").click()
    page.get_by_text("marked held").wait_for()
    assert page.locator('[data-count="moved"]').inner_text() == "0"


def test_the_scorecard_fits_a_phone(phone_page, cast, deals):
    CoachingNote.objects.create(rep=cast.alice, author=cast.manager, body="A" * 300)
    sign_in(phone_page, cast.manager, PASSWORD)

    for path in ("/reviews/", f"/reviews/{cast.alice.pk}/"):
        phone_page.goto(f"{phone_page.base_url}{path}")
        assert phone_page.evaluate("document.documentElement.scrollWidth") <= WIDTH, path
        assert phone_page.evaluate("window.innerWidth") == WIDTH

    save = phone_page.get_by_role("button", name="Save next step for Acme renewal")
    box = save.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= WIDTH
