import datetime

import pytest
from django.utils import timezone

from salesdesk.activities.models import Activity
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, ActivityFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_marking_a_task_done_persists(page, cast):
    now = timezone.now()
    call = ActivityFactory(
        kind=Activity.Kind.TASK, owner=cast.alice, subject="Call Bert", due_at=now
    )
    ActivityFactory(
        kind=Activity.Kind.TASK,
        owner=cast.alice,
        subject="Send the quote",
        due_at=now - datetime.timedelta(days=2),
    )
    sign_in(page, cast.alice, PASSWORD)
    today = page.locator("#tasks-today")
    assert today.get_by_text("Call Bert").is_visible()

    page.get_by_role("button", name="Mark “Call Bert” done").click()

    page.get_by_role("status").get_by_text("“Call Bert” is done.").wait_for()
    assert page.locator('[data-count="today"]').inner_text() == "0"
    call.refresh_from_db()
    assert call.done_at is not None
    page.reload()
    assert page.get_by_text("Call Bert").count() == 0
    assert page.locator("#tasks-overdue").get_by_text("Send the quote").is_visible()


def test_adding_a_task_on_a_phone(phone_page, cast):
    page = phone_page
    sign_in(page, cast.alice, PASSWORD)

    page.get_by_label("Task", exact=True).fill("Book the demo room")
    page.get_by_role("button", name="Add task").click()

    page.get_by_role("status").get_by_text("Task “Book the demo room” added.").wait_for()
    task = Activity.objects.get(subject="Book the demo room")
    assert (task.kind, task.owner, task.done_at) == ("task", cast.alice, None)
    assert page.locator("#tasks-today").get_by_text("Book the demo room").is_visible()
