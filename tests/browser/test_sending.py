"""Sending from a contact's page in a real browser: set up SMTP on the mailbox, write with a
shared template, send through a real SMTP server (aiosmtpd), see it on the timeline, then the
recipient opens it and follows its link."""

import email
import re
from email import policy

import pytest
from playwright.sync_api import expect

from salesdesk.capture import secrets
from salesdesk.capture.models import EmailTemplate, Mailbox
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, CompanyFactory, ContactEmailFactory, ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_compose_and_send_from_a_contact_page_then_see_opens_and_clicks(
    page, cast, dovecot, imap_user, smtp_server, settings, live_server
):
    settings.SALESDESK_BASE_URL = live_server.url
    smtp_server.username = imap_user
    with dovecot.client(imap_user) as box:
        box.folder.create("Sent")
    mailbox = Mailbox.objects.create(
        user=cast.alice,
        host=dovecot.host,
        port=dovecot.port,
        security=Mailbox.Security.NONE,
        username=imap_user,
        secret=secrets.encrypt(dovecot.passwords[imap_user]),
    )
    company = CompanyFactory(name="Globex", domain="globex.com", owner=cast.alice)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=company, owner=cast.alice)
    ContactEmailFactory(contact=ada, email="ada@globex.com")
    EmailTemplate.objects.create(
        owner=cast.manager,
        name="Pricing",
        subject="Pricing for {{ company.name }}",
        body=f"Hi {{{{ contact.first_name }}}},\n\nthe prices: {live_server.url}/healthz\n\n"
        "{{ me.full_name }}",
        is_shared=True,
    )
    sign_in(page, cast.alice, PASSWORD)

    # Sending is set up on the mailbox's settings page; the login is checked first.
    page.goto(f"{page.base_url}/account/mailboxes/{mailbox.pk}/")
    page.get_by_label("SMTP server").fill(smtp_server.host)
    page.get_by_label("SMTP security").select_option("none")
    page.get_by_label("SMTP port").fill(str(smtp_server.port))
    page.get_by_role("button", name="Set up sending").click()
    expect(page.get_by_role("status").filter(has_text="the login worked")).to_be_visible()

    # Write from the contact's page with the shared template.
    page.goto(f"{page.base_url}/contacts/{ada.pk}/")
    page.get_by_role("link", name="Send e-mail").click()
    expect(page.get_by_role("heading", name="E-mail Ada Lovelace")).to_be_visible()
    expect(page.get_by_label("To", exact=True)).to_have_value("Ada Lovelace <ada@globex.com>")
    page.get_by_label("Template").select_option(label="Pricing (shared by Max Manager)")
    expect(page.get_by_label("Subject")).to_have_value("Pricing for Globex")
    expect(page.get_by_label("Message")).to_have_value(
        f"Hi Ada,\n\nthe prices: {live_server.url}/healthz\n\nAlice East"
    )
    page.get_by_label("Track opens").check()
    page.get_by_label("Track clicks").check()
    page.get_by_role("button", name="Send").click()

    expect(
        page.get_by_role("status").filter(has_text="E-mail sent to ada@globex.com.")
    ).to_be_visible()
    entry = page.locator(".timeline-entry").filter(has_text="Pricing for Globex")
    expect(entry).to_contain_text("Sent from Salesdesk")
    expect(entry).to_contain_text("Not opened yet")
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ["ada@globex.com"]

    # Ada's mail program loads the image, and she follows the link.
    message = email.message_from_bytes(mail.content, policy=policy.default)
    html = message.get_body(("html",)).get_content()
    pixel = re.search(r'<img src="([^"]+)"', html).group(1)
    link = re.search(r'<a href="([^"]+)"', html).group(1)
    assert pixel.startswith(f"{live_server.url}/e/o/")
    assert link.startswith(f"{live_server.url}/e/c/")
    assert page.request.get(pixel).body().startswith(b"GIF89a")
    page.goto(link)
    expect(page.locator("body")).to_contain_text('"status": "ok"')

    page.goto(f"{page.base_url}/contacts/{ada.pk}/")
    entry = page.locator(".timeline-entry").filter(has_text="Pricing for Globex")
    expect(entry).to_contain_text("Opened 1 time, last")
    expect(entry).to_contain_text(f"Clicked {live_server.url}/healthz 1 time, last")

    # The copy in the Sent folder has no tracking in it.
    with dovecot.client(imap_user) as box:
        box.folder.set("Sent")
        [copy] = list(box.fetch(mark_seen=False))
    assert copy.subject == "Pricing for Globex"
    assert "/e/" not in copy.html
