"""Issue 3 in a real browser: a picker's list in sight on a phone, refusals said out loud."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities.models import Activity
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, ActivityFactory, DealFactory

pytestmark = pytest.mark.django_db(transaction=True)

HEIGHT = 844


def test_a_picker_near_the_bottom_of_a_phone_opens_its_list_in_sight(phone_page, cast, pipeline):
    for number in range(12):
        DealFactory(title=f"Acme expansion {number:02}", owner=cast.alice)
    sign_in(phone_page, cast.alice, PASSWORD)
    phone_page.goto(f"{phone_page.base_url}/activities/new/")
    box = phone_page.get_by_role("combobox", name="Deal")
    # The box sits on the screen's bottom edge, as after scrolling down to it.
    box.evaluate("(input) => input.scrollIntoView({ block: 'end' })")
    assert box.bounding_box()["y"] + box.bounding_box()["height"] > HEIGHT - 60

    box.press_sequentially("acme", delay=30)

    listbox = phone_page.get_by_role("listbox")
    expect(phone_page.get_by_role("option", name="Acme expansion 00")).to_be_visible()
    expect(listbox).to_be_in_viewport(ratio=1)
    shown = listbox.bounding_box()
    assert shown["y"] >= 0
    assert shown["y"] + shown["height"] <= HEIGHT
    expect(box).to_be_in_viewport()
    expect(box).to_be_focused()
    phone_page.get_by_role("option", name="Acme expansion 00").click()
    expect(box).to_have_value("Acme expansion 00")


@pytest.fixture
def task_due_today(cast):
    return ActivityFactory(
        kind="task",
        subject="Send the offer",
        owner=cast.alice,
        occurred_at=timezone.now(),
        due_at=timezone.now() + datetime.timedelta(minutes=30),
    )


def test_a_refused_htmx_action_shows_the_servers_reason(page, cast, task_due_today):
    OrganizationSettings.objects.update(reps_see_all=True)  # Alice still sees Bob's tasks
    sign_in(page, cast.alice, PASSWORD)
    done = page.get_by_role("button", name="Mark “Send the offer” done")
    expect(done).to_be_visible()
    Activity.objects.filter(pk=task_due_today.pk).update(owner=cast.bob)  # handed over meanwhile

    done.click()

    alert = page.locator("#messages").get_by_role("alert")
    expect(alert).to_have_text("You cannot change this activity.")
    expect(alert).to_be_in_viewport()
    expect(done).to_be_visible()  # nothing was swapped
    task_due_today.refresh_from_db()
    assert task_due_today.done_at is None

    done.click()  # a second refusal replaces the first message
    expect(alert).to_have_count(1)


def test_a_refusal_without_a_reason_still_says_nothing_was_changed(page, cast, task_due_today):
    sign_in(page, cast.alice, PASSWORD)
    done = page.get_by_role("button", name="Mark “Send the offer” done")
    expect(done).to_be_visible()
    page.context.clear_cookies()  # signed out elsewhere: the CSRF check refuses (403)

    done.click()

    expect(page.locator("#messages").get_by_role("alert")).to_have_text(
        "This was refused: you may not do this. Nothing was changed. "
        "If you were signed out, reload the page."
    )
    task_due_today.refresh_from_db()
    assert task_due_today.done_at is None
