"""Connecting a calendar feed in a real browser, against a feed served on 127.0.0.1 by the test:
the meeting lands on the contact's timeline."""

import pytest
from playwright.sync_api import expect

from salesdesk.crm.models import Contact
from tests.browser.conftest import sign_in
from tests.capture.feed_server import ics_feeds  # noqa: F401 - pytest fixture
from tests.capture.test_calendar_sync import NEXT_MEETING, PAST_MEETING
from tests.capture.test_meetings import ics
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_connect_a_calendar_feed_and_see_the_meeting_on_the_timeline(
    page,
    cast,
    ics_feeds,  # noqa: F811
    settings,
):
    settings.SALESDESK_CALENDAR_PRIVATE_HOSTS = True  # the feed is served on 127.0.0.1
    url = ics_feeds.serve("/calendar/ical/private-token/basic.ics", ics(PAST_MEETING, NEXT_MEETING))
    sign_in(page, cast.alice, PASSWORD)

    page.goto(f"{page.base_url}/")
    page.get_by_role("button", name=cast.alice.get_short_name()).click()
    page.get_by_role("link", name="Mailboxes").click()
    page.get_by_role("link", name="Calendars").click()
    page.get_by_label("Address").fill(f"{ics_feeds.url}/gone.ics")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert").filter(has_text="There is no calendar")).to_be_visible()

    page.get_by_label("Address").fill(url)
    page.get_by_label("Name", exact=True).fill("Work calendar")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status").filter(has_text="is connected")).to_be_visible()
    row = page.locator(".list-group-item").filter(has_text="Work calendar")
    expect(row.get_by_text("Up to date")).to_be_visible()
    expect(row.locator("dd").nth(2)).to_have_text("2")
    expect(page.get_by_text("private-token")).to_have_count(0)

    jonas = Contact.objects.get(emails__email="j.mueller@globex.de")
    page.goto(f"{page.base_url}/contacts/{jonas.pk}/")
    expect(page.get_by_text("Globex demo").first).to_be_visible()

    page.goto(f"{page.base_url}/account/calendars/")
    row.get_by_role("button", name="Sync Work calendar now").click()
    expect(row.get_by_text("Up to date")).to_be_visible()
