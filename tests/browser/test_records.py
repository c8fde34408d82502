"""Companies and contacts in a real browser: create them, log a call, the list on a phone."""

import re

import pytest
from playwright.sync_api import expect

from salesdesk.activities.models import Activity
from salesdesk.crm.models import Company, Contact
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CompanyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_company_and_contact_then_log_a_call_on_the_timeline(page, cast):
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/companies/new/")
    page.get_by_label("Name").fill("Acme GmbH")
    page.get_by_label("Domain").fill("acme.example")
    page.get_by_role("button", name="Create company").click()
    expect(page.get_by_role("heading", name="Acme GmbH", level=1)).to_be_visible()
    acme = Company.objects.get()

    page.get_by_role("link", name="Add contact").click()
    expect(page.get_by_label("Company")).to_have_value(acme.name)
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("E-mail", exact=True).fill("ada@acme.example")
    page.get_by_role("button", name="Create contact").click()
    expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
    ada = Contact.objects.get()
    contact_url = page.url

    page.evaluate("window.notReloaded = true")
    call = page.locator("#quick-call")
    call.get_by_label("Subject").fill("Intro call")
    call.get_by_label("Notes").fill("Budget approved in Q3.")
    call.get_by_label("Duration (minutes)").fill("20")
    call.get_by_role("button", name="Log call").click()

    timeline = page.locator("#timeline")
    expect(timeline.get_by_text("Intro call", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Call saved.")
    expect(page.locator("#quick-call").get_by_label("Subject")).to_have_value("")
    assert page.evaluate("window.notReloaded") is True
    assert page.url == contact_url

    page.reload()
    expect(page.locator("#timeline").get_by_text("Budget approved in Q3.")).to_be_visible()
    activity = Activity.objects.get()
    assert (activity.kind, activity.subject, activity.owner_id, activity.company_id) == (
        "call",
        "Intro call",
        cast.alice.pk,
        acme.pk,
    )
    assert list(activity.contacts.all()) == [ada]


def test_companies_list_fits_a_phone(phone_page, cast):
    for number in range(12):
        CompanyFactory(
            name=f"A company with a rather long name {number}",
            industry="Industrial machinery",
            country="DE",
            owner=cast.alice,
        )
    sign_in(phone_page, cast.alice, PASSWORD)
    phone_page.goto(f"{phone_page.base_url}/companies/")

    expect(phone_page.get_by_role("heading", name="Companies")).to_be_visible()
    expect(phone_page.get_by_role("link", name=re.compile("rather long name 0"))).to_be_visible()
    phone_page.get_by_role("button", name="Filters").click()
    search = phone_page.get_by_label("Name or domain")
    expect(search).to_be_visible()
    box = search.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
