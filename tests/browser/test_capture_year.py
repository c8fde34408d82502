"""The capture issue's "done when", as a rep lives it: connect a mailbox holding a year of
mail and, without typing anything, find the customers with their phone numbers and titles,
every e-mail on the right timeline and the open deal showing the last interaction; connecting
again or importing the same mail again changes nothing."""

import datetime
import mailbox
import pathlib

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesdesk.activities.models import Activity
from salesdesk.crm.models import Company, Contact
from salesdesk.pipeline.models import Deal
from tests.browser.conftest import sign_in
from tests.capture.test_pipeline import mail
from tests.factories import PASSWORD, CompanyFactory, DealFactory

pytestmark = pytest.mark.django_db(transaction=True)

SIGNATURE = (
    "\n\nBest regards\nJane Doe\nHead of Procurement\nAcme Ltd\nT: +44 20 7946 0958\n"
    "www.acme.co.uk\n"
)


def year_of_mail(now: datetime.datetime) -> tuple[list[bytes], list[bytes]]:
    """Inbox and sent mail over the last year: a customer thread, a second customer on
    free mail, a newsletter and a colleague's note."""
    day = datetime.timedelta(days=1)
    inbox = [
        mail(
            subject="Pilot for 40 seats",
            body="Hi Alice,\n\nwe would like a pilot." + SIGNATURE,
            date=now - 300 * day,
            message_id="<y1@acme.co.uk>",
        ),
        mail(
            subject="Re: Pilot for 40 seats",
            body="Thanks, the pilot went well. Let us talk renewal." + SIGNATURE,
            date=now - 20 * day,
            message_id="<y3@acme.co.uk>",
        ),
        mail(
            sender="Tom Free <tom.free@gmail.com>",
            subject="Intro",
            body="Hello from Tom.",
            date=now - 90 * day,
            message_id="<y4@gmail.com>",
        ),
        mail(
            sender="News <news@shop.example>",
            subject="Our spring sale",
            body="Buy now.",
            date=now - 60 * day,
            message_id="<y5@shop.example>",
            headers={"List-Unsubscribe": "<mailto:unsubscribe@shop.example>"},
        ),
        mail(
            sender="Bob East <bob@salesdesk.test>",
            subject="Lunch?",
            body="Lunch today?",
            date=now - 10 * day,
            message_id="<y6@salesdesk.test>",
        ),
    ]
    sent = [
        mail(
            sender="Alice East <alice@salesdesk.test>",
            to="Jane Doe <jane.doe@acme.co.uk>",
            subject="Re: Pilot for 40 seats",
            body="Hi Jane, here is the pilot plan.",
            date=now - 299 * day,
            message_id="<y2@salesdesk.test>",
        )
    ]
    return inbox, sent


def test_a_year_of_mail_fills_the_crm_and_doing_it_again_changes_nothing(
    page, cast, org, dovecot, imap_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    org.internal_domains = ["salesdesk.test"]
    org.save()
    acme = CompanyFactory(name="Acme", domain="acme.co.uk", owner=cast.alice)
    renewal = DealFactory(title="Acme renewal", company=acme, owner=cast.alice)
    now = timezone.now().replace(microsecond=0)
    inbox, sent = year_of_mail(now)
    dovecot.append(imap_user, "INBOX", *inbox)
    dovecot.append(imap_user, "Sent", *sent)
    sign_in(page, cast.alice, PASSWORD)

    # Connect the mailbox, reading all of it.
    page.goto(f"{page.base_url}/account/mailboxes/")
    page.get_by_label("IMAP server").fill(dovecot.host)
    page.get_by_label("Security").select_option("none")
    page.get_by_label("Port").fill(str(dovecot.port))
    page.get_by_label("Username").fill(imap_user)
    page.get_by_label("Password").fill(dovecot.passwords[imap_user])
    page.get_by_label("Capture mail from").select_option("")
    page.get_by_role("button", name="Connect").click()
    row = page.locator(".list-group-item").filter(has_text=imap_user)
    expect(row.get_by_text("Up to date")).to_be_visible()
    expect(row.locator("dd").nth(2)).to_have_text("4")  # the newsletter and Bob's note: no

    # The customer, with what her signature says, and her e-mails on her timeline.
    page.goto(f"{page.base_url}/contacts/")
    page.get_by_role("link", name="Jane Doe").click()
    expect(page.get_by_role("heading", name="Jane Doe")).to_be_visible()
    expect(page.get_by_text("Head of Procurement at Acme")).to_be_visible()
    expect(page.get_by_role("link", name="+442079460958")).to_be_visible()
    timeline = page.locator("#timeline")
    expect(timeline.locator(".timeline-subject")).to_have_text(
        ["Re: Pilot for 40 seats", "Re: Pilot for 40 seats", "Pilot for 40 seats"]
    )
    # A free-mail sender is a contact without a company.
    assert Contact.objects.get(emails__email="tom.free@gmail.com").company is None

    # The open deal shows the last interaction and holds the thread.
    page.goto(f"{page.base_url}/deals/{renewal.pk}/")
    last = (now - datetime.timedelta(days=20)).astimezone(datetime.UTC)  # alice's zone: UTC
    expect(page.locator(".deal-details")).to_contain_text(f"Last interaction{last:%d/%m/%Y}")
    assert Deal.objects.get(pk=renewal.pk).last_interaction_at == now - datetime.timedelta(days=20)
    expect(page.locator("#deal-timeline .timeline-subject")).to_have_count(3)
    counts = (Activity.objects.count(), Contact.objects.count(), Company.objects.count())
    assert counts == (4, 2, 1)

    # Connect again: disconnect, connect the same mailbox, sync it all again.
    page.goto(f"{page.base_url}/account/mailboxes/")
    page.get_by_role("link", name=f"Disconnect {imap_user}").click()
    page.get_by_role("button", name="Disconnect").click()
    page.get_by_label("IMAP server").fill(dovecot.host)
    page.get_by_label("Security").select_option("none")
    page.get_by_label("Port").fill(str(dovecot.port))
    page.get_by_label("Username").fill(imap_user)
    page.get_by_label("Password").fill(dovecot.passwords[imap_user])
    page.get_by_label("Capture mail from").select_option("")
    page.get_by_role("button", name="Connect").click()
    row = page.locator(".list-group-item").filter(has_text=imap_user)
    expect(row.get_by_text("Up to date")).to_be_visible()
    expect(row.locator("dd").nth(2)).to_have_text("0")
    assert (Activity.objects.count(), Contact.objects.count(), Company.objects.count()) == counts

    # Import the same mail as an mbox file: every message is already captured.
    archive = tmp_path / "export.mbox"
    box = mailbox.mbox(str(archive))
    for raw in inbox + sent:
        box.add(raw)
    box.flush()
    page.goto(f"{page.base_url}/capture/import/")
    page.get_by_label("Mail or calendar files").set_input_files(str(pathlib.Path(archive)))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("6 messages: 0 e-mails logged, 6 already captured")).to_be_visible()
    assert (Activity.objects.count(), Contact.objects.count(), Company.objects.count()) == counts
