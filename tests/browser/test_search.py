"""The global search box in a real browser: typing shows matches, the keyboard opens one."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, ContactEmailFactory, ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_typing_in_the_search_box_finds_a_contact_and_opens_it(page, cast):
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", owner=cast.alice)
    ContactEmailFactory(contact=ada, email="ada@acme.example")
    ContactFactory(first_name="Grace", last_name="Hopper", owner=cast.alice)
    sign_in(page, cast.alice, PASSWORD)

    box = page.get_by_role("searchbox", name="Search")
    box.press_sequentially("lovel", delay=30)
    result = page.locator("#search-results").get_by_role("link", name="Ada Lovelace")
    expect(result).to_be_visible()
    expect(page.locator("#search-results")).not_to_contain_text("Grace")

    box.press("ArrowDown")
    expect(result).to_be_focused()
    page.keyboard.press("Enter")

    page.wait_for_url(f"{page.base_url}/contacts/{ada.pk}/")
    expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
