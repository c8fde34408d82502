"""Creating a deal in a real browser, then acting on it from its page."""

import pytest

from salesdesk.pipeline.models import Deal, StageChange
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CompanyFactory, ContactFactory, LostReasonFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_a_deal_for_a_company_and_contact_then_lose_it(page, cast, pipeline):
    company = CompanyFactory(name="Initech", owner=cast.alice)
    contact = ContactFactory(first_name="Peter", last_name="Gibbons", company=company)
    LostReasonFactory(name="Timing")
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/deals/")
    page.get_by_role("link", name="New deal").click()

    page.get_by_label("Title").fill("Initech TPS reports")
    page.get_by_label("Company").press_sequentially("init", delay=30)
    page.get_by_role("option", name="Initech").click()
    page.get_by_label("Contacts").press_sequentially("pet", delay=30)
    page.get_by_role("option", name="Peter Gibbons (Initech)").click()
    page.get_by_label("Stage").select_option(label="Qualified")
    page.get_by_label("Amount").fill("12500")
    page.get_by_label("Expected close").fill("2030-06-30")
    page.get_by_label("Next step", exact=True).fill("Send the proposal")
    page.get_by_role("button", name="Create deal").click()

    page.get_by_role("heading", name="Initech TPS reports").wait_for()
    assert page.get_by_text("Deal “Initech TPS reports” created.").is_visible()
    assert page.get_by_text("EUR 12,500.00").first.is_visible()
    deal = Deal.objects.get(title="Initech TPS reports")
    assert (deal.company, deal.owner, deal.stage.name) == (company, cast.alice, "Qualified")
    assert list(deal.contacts.all()) == [contact]
    assert str(deal.expected_close) == "2030-06-30"

    # Losing without a reason is refused next to the field; with one it is recorded.
    # (Under load the page's scripts may still be loading, and the panel still unfolding: the
    # test waits for both, as a click before then can be lost.)
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    page.get_by_role("button", name="Mark as lost…").click()
    page.locator("#lose-panel.collapse.show").wait_for()
    page.get_by_role("button", name="Mark as lost", exact=True).click()
    page.locator("#id_lost_reason_error").get_by_text("Say why the deal was lost.").wait_for()
    assert Deal.objects.get(pk=deal.pk).status == "open"
    page.get_by_label("Reason").select_option(label="Timing")
    page.get_by_role("button", name="Mark as lost", exact=True).click()
    page.get_by_text("“Initech TPS reports” lost (Timing).").wait_for()

    page.reload()
    assert page.get_by_role("button", name="Reopen deal").is_visible()
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason.name) == ("lost", "Timing")
    assert StageChange.objects.filter(deal=deal).count() == 1
