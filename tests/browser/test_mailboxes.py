"""Connecting a mailbox in a real browser, against a real Dovecot: the CRM fills itself."""

import pytest
from playwright.sync_api import expect

from salesdesk.crm.models import Company
from tests.browser.conftest import sign_in
from tests.capture.test_sync import inbound, outbound
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_connect_a_mailbox_then_sync_now(page, cast, dovecot, imap_user):
    dovecot.append(imap_user, "INBOX", inbound(1))
    dovecot.append(imap_user, "Sent", outbound(1))
    sign_in(page, cast.alice, PASSWORD)

    page.goto(f"{page.base_url}/")
    page.get_by_role("button", name=cast.alice.get_short_name()).click()
    page.get_by_role("link", name="Mailboxes").click()
    page.get_by_label("IMAP server").fill(dovecot.host)
    page.get_by_label("Security").select_option("none")
    page.get_by_label("Port").fill(str(dovecot.port))
    page.get_by_label("Username").fill(imap_user)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert").filter(has_text="refused the login")).to_be_visible()

    page.get_by_label("Password").fill(dovecot.passwords[imap_user])
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status").filter(has_text="is connected")).to_be_visible()
    row = page.locator(".list-group-item").filter(has_text=imap_user)
    expect(row.get_by_text("Up to date")).to_be_visible()
    expect(row.locator("dd").nth(2)).to_have_text("2")
    assert Company.objects.filter(domain="globex.com").exists()

    dovecot.append(imap_user, "INBOX", inbound(2))
    row.get_by_role("button", name=f"Sync {imap_user} now").click()
    expect(row.locator("dd").nth(2)).to_have_text("3")
    expect(page.get_by_role("status").filter(has_text="is connected")).to_be_visible()
