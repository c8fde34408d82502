"""Pickers in a real browser: type part of a name, choose with the keyboard or the mouse."""

import pytest
from playwright.sync_api import expect

from salesdesk.crm.models import Contact
from salesdesk.pipeline.models import Deal
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_creating_a_contact_by_typing_the_company_name_and_choosing_it(page, cast):
    acme = CompanyFactory(name="Acme GmbH", owner=cast.alice)
    CompanyFactory(name="Initech", owner=cast.alice)
    CompanyFactory(name="Acme West", owner=cast.carol)
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/contacts/new/")
    page.get_by_label("Last name").fill("Lovelace")

    box = page.get_by_role("combobox", name="Company")
    box.press_sequentially("acm", delay=30)
    option = page.get_by_role("option", name="Acme GmbH")
    expect(option).to_be_visible()
    expect(page.get_by_role("listbox")).not_to_contain_text("Acme West")
    box.press("ArrowDown")
    expect(option).to_be_focused()
    page.keyboard.press("Enter")

    expect(box).to_have_value("Acme GmbH")
    expect(box).to_be_focused()
    expect(page.get_by_role("listbox")).to_be_hidden()
    page.get_by_role("button", name="Create contact").click()

    expect(page.get_by_role("heading", name="Lovelace", level=1)).to_be_visible()
    assert Contact.objects.get(last_name="Lovelace").company == acme
    page.goto(f"{page.base_url}/contacts/{Contact.objects.get().pk}/edit/")
    expect(page.get_by_role("combobox", name="Company")).to_have_value("Acme GmbH")


def test_adding_and_removing_deal_contacts_as_chips(page, cast, pipeline):
    for first, last in [("Ada", "Lovelace"), ("Adam", "Smith"), ("Grace", "Hopper")]:
        ContactFactory(first_name=first, last_name=last, owner=cast.alice)
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/deals/new/")
    page.get_by_label("Title").fill("Three people")

    box = page.get_by_role("combobox", name="Contacts")
    box.press_sequentially("ada", delay=30)
    page.get_by_role("option", name="Ada Lovelace").click()
    expect(box).to_have_value("")
    box.press_sequentially("hop", delay=30)
    expect(page.get_by_role("option", name="Grace Hopper")).to_be_visible()
    box.press("Enter")  # the first match
    box.press_sequentially("ada", delay=30)
    page.get_by_role("option", name="Adam Smith").click()
    page.get_by_role("button", name="Remove Ada Lovelace").click()
    expect(page.get_by_role("button", name="Remove Ada Lovelace")).to_have_count(0)
    page.get_by_role("button", name="Create deal").click()

    expect(page.get_by_role("heading", name="Three people")).to_be_visible()
    deal = Deal.objects.get(title="Three people")
    assert sorted(c.full_name for c in deal.contacts.all()) == ["Adam Smith", "Grace Hopper"]
