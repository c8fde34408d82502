"""Sending from Salesdesk (capture/sending.py) through a real SMTP server (aiosmtpd on loopback)
and, for the Sent folder, a real Dovecot: what leaves, what is logged, what is refused."""

import datetime
import email
import hashlib
import re
from email import policy

import pytest
from django.utils import timezone

from salesdesk.activities.models import Activity
from salesdesk.capture import secrets, sending, tasks
from salesdesk.capture.models import (
    CapturedMessage,
    EmailTemplate,
    Mailbox,
    SentEmail,
    TrackedLink,
)
from salesdesk.capture.sending import Draft, SendingFields
from salesdesk.capture.sync import sync_mailbox
from salesdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesdesk.crm.models import Contact
from tests.capture.servers import free_port
from tests.factories import CompanyFactory, ContactEmailFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

BASE = "https://crm.example.com"
PIXEL = re.compile(r'<img src="https://crm\.example\.com/e/o/([A-Za-z0-9_-]{32})\.gif"')
CLICK = re.compile(r'href="https://crm\.example\.com/e/c/([A-Za-z0-9_-]{32})"')


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.SALESDESK_BASE_URL = BASE


def sending_mailbox(user, smtp_server, **fields) -> Mailbox:
    """A mailbox whose IMAP side is never reached, sending through the aiosmtpd server with the
    IMAP login."""
    values = {
        "host": "127.0.0.1",
        "port": free_port(),
        "security": Mailbox.Security.NONE,
        "username": smtp_server.username,
        "secret": secrets.encrypt(smtp_server.password),
        "smtp_host": smtp_server.host,
        "smtp_port": smtp_server.port,
        "smtp_security": Mailbox.Security.NONE,
        "saves_sent_copy": False,
    }
    return Mailbox.objects.create(user=user, **{**values, **fields})


@pytest.fixture
def globex(cast, pipeline):
    company = CompanyFactory(name="Globex", domain="globex.com", owner=cast.alice)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=company, owner=cast.alice)
    ContactEmailFactory(contact=ada, email="ada@globex.com")
    stage = pipeline.stages.first()
    recent = DealFactory(
        title="Globex renewal",
        company=company,
        owner=cast.alice,
        stage=stage,
        last_interaction_at=timezone.now() - datetime.timedelta(days=1),
    )
    older = DealFactory(title="Globex pilot", company=company, owner=cast.alice, stage=stage)
    recent.contacts.add(ada)
    return company, ada, recent, older


def draft(mailbox, **changes) -> Draft:
    values = {
        "mailbox": mailbox,
        "to": [("Ada Lovelace", "ada@globex.com")],
        "subject": "Pricing for {{ company.name }}",
        "body": "Hi {{ contact.first_name }},\n\nthe prices: https://globex.example/pricing?a=1.\n"
        "See you, {{ me.first_name }}",
    }
    return Draft(**{**values, **changes})


VALUES = {"contact.first_name": "Ada", "company.name": "Globex", "me.first_name": "Alice"}


def received(smtp_server, index: int = 0) -> email.message.EmailMessage:
    """The message as a mail program reads it (line ends are the transport's)."""
    content = smtp_server.messages[index].content.replace(b"\r\n", b"\n")
    return email.message_from_bytes(content, policy=policy.default)


def test_a_message_leaves_with_proper_headers_and_plain_text_only_when_untracked(
    cast, globex, smtp_server
):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    result = sending.email_send(
        actor=cast.alice,
        draft=draft(mailbox, cc=[("", "bob@globex.com")]),
        values=VALUES,
    )

    [mail] = smtp_server.messages
    assert mail.mail_from == "alice@salesdesk.test"
    assert mail.rcpt_tos == ["ada@globex.com", "bob@globex.com"]
    message = received(smtp_server)
    assert message["From"] == "Alice East <alice@salesdesk.test>"
    assert message["To"] == "Ada Lovelace <ada@globex.com>"
    assert message["Cc"] == "bob@globex.com"
    assert message["Subject"] == "Pricing for Globex"
    assert re.fullmatch(r"<[0-9a-f]{32}@salesdesk\.test>", message["Message-ID"])
    assert message["Message-ID"] == f"<{result.sent.message_id}>"
    sent_at = email.utils.parsedate_to_datetime(message["Date"])
    assert abs(sent_at - timezone.now()) < datetime.timedelta(minutes=1)
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == (
        "Hi Ada,\n\nthe prices: https://globex.example/pricing?a=1.\nSee you, Alice\n"
    )
    assert "/e/" not in mail.content.decode()
    assert (result.sent.tracks_opens, result.sent.tracks_clicks) == (False, False)
    assert result.refused == {}


def test_tracking_puts_the_pixel_and_the_links_in_the_html_part_only(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)
    body = "Prices: https://globex.example/pricing, terms (https://globex.example/terms).\n<b>x</b>"

    result = sending.email_send(
        actor=cast.alice,
        draft=draft(mailbox, body=body, track_opens=True, track_clicks=True),
        values=VALUES,
    )

    message = received(smtp_server)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text == body + "\n"
    assert "/e/" not in text
    [pixel] = PIXEL.findall(html)
    clicks = CLICK.findall(html)
    assert len(clicks) == 2
    assert ">https://globex.example/pricing</a>, terms (<a" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html  # the text is escaped, never markup
    sent = result.sent
    assert sent.open_token == hashlib.sha256(pixel.encode()).hexdigest()
    assert [
        (link.url, link.token, link.position) for link in TrackedLink.objects.filter(email=sent)
    ] == [
        ("https://globex.example/pricing", hashlib.sha256(clicks[0].encode()).hexdigest(), 0),
        ("https://globex.example/terms", hashlib.sha256(clicks[1].encode()).hexdigest(), 1),
    ]
    assert pixel not in str(SentEmail.objects.values().get())  # only hashes are stored


def test_opens_alone_add_the_pixel_and_leave_the_links_as_written(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    sending.email_send(actor=cast.alice, draft=draft(mailbox, track_opens=True), values=VALUES)

    html = received(smtp_server).get_body(("html",)).get_content()
    assert len(PIXEL.findall(html)) == 1
    assert CLICK.findall(html) == []
    assert '<a href="https://globex.example/pricing?a=1">' in html
    assert TrackedLink.objects.count() == 0


def test_a_sent_message_is_logged_like_captured_mail(cast, globex, smtp_server):
    company, ada, recent, _older = globex
    mailbox = sending_mailbox(cast.alice, smtp_server)

    result = sending.email_send(actor=cast.alice, draft=draft(mailbox), values=VALUES)

    activity = Activity.objects.get()
    assert (activity.kind, activity.direction, activity.source) == ("email", "out", "imap")
    assert activity.subject == "Pricing for Globex"
    assert activity.body.startswith("Hi Ada,")
    assert (activity.owner, activity.company, activity.deal) == (cast.alice, company, recent)
    assert list(activity.contacts.all()) == [ada]
    assert activity.external_id == f"mid:{result.sent.message_id}"
    captured = CapturedMessage.objects.get()
    assert (captured.source, captured.status, captured.activity) == ("sent", "logged", activity)
    assert result.sent.activity == activity
    assert result.status == "logged"
    ada.refresh_from_db()
    assert ada.last_interaction_at == activity.occurred_at


def test_sending_from_a_deal_logs_the_email_on_that_deal(cast, globex, smtp_server):
    _company, _ada, _recent, older = globex
    mailbox = sending_mailbox(cast.alice, smtp_server)

    sending.email_send(actor=cast.alice, draft=draft(mailbox), values=VALUES, deal=older)

    activity = Activity.objects.get()
    assert activity.deal == older
    older.refresh_from_db()
    assert older.last_interaction_at == activity.occurred_at


def test_a_new_address_becomes_a_contact_as_in_captured_mail(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    sending.email_send(
        actor=cast.alice,
        draft=draft(mailbox, to=[("Grace Hopper", "grace@initech.com")]),
        values=VALUES,
    )

    grace = Contact.objects.get(emails__email="grace@initech.com")
    assert (grace.first_name, grace.last_name, grace.company.domain) == (
        "Grace",
        "Hopper",
        "initech.com",
    )
    assert list(Activity.objects.get().contacts.all()) == [grace]


def test_the_mailbox_address_is_the_sender_and_never_becomes_a_contact(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, username="alice.east@gmail.com")
    smtp_server.username = "alice.east@gmail.com"

    sending.email_send(actor=cast.alice, draft=draft(mailbox), values=VALUES)

    assert received(smtp_server)["From"] == "Alice East <alice.east@gmail.com>"
    assert received(smtp_server)["Message-ID"].endswith("@gmail.com>")
    activity = Activity.objects.get()
    assert activity.direction == "out"
    assert not Contact.objects.filter(emails__email="alice.east@gmail.com").exists()


def test_a_refused_login_is_a_clear_error_and_nothing_is_logged(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)
    smtp_server.password = "changed-on-the-server"

    with pytest.raises(ValidationFailed) as caught:
        sending.email_send(actor=cast.alice, draft=draft(mailbox), values=VALUES)

    assert "refused the login for rep" in caught.value.message
    assert "secret" not in caught.value.message
    assert smtp_server.messages == []
    assert (Activity.objects.count(), CapturedMessage.objects.count()) == (0, 0)
    assert SentEmail.objects.count() == 0


def test_an_unreachable_server_logs_nothing(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, smtp_port=free_port())

    with pytest.raises(ValidationFailed, match="refused the connection"):
        sending.email_send(actor=cast.alice, draft=draft(mailbox), values=VALUES)

    assert (Activity.objects.count(), SentEmail.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"to": []}, {"to": "Enter at least one address."}),
        (
            {"to": [("", "not-an-address")]},
            {"to": "Not an address Salesdesk can send to: not-an-address."},
        ),
        (
            {"subject": "Two\nlines"},
            {"subject": "Enter a subject: one line of at most 255 characters."},
        ),
        ({"body": "  "}, {"body": "Write the message (at most 100,000 characters)."}),
        (
            {"to": [("", f"p{n}@globex.com") for n in range(51)]},
            {"to": "Send to at most 50 addresses at once."},
        ),
    ],
)
def test_bad_drafts_are_refused_before_anything_is_sent(cast, globex, smtp_server, changes, fields):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    with pytest.raises(ValidationFailed) as caught:
        sending.email_send(actor=cast.alice, draft=draft(mailbox, **changes), values=VALUES)

    assert caught.value.fields == fields
    assert smtp_server.messages == []
    assert Activity.objects.count() == 0


def test_an_unknown_placeholder_is_refused_by_name(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    with pytest.raises(ValidationFailed) as caught:
        sending.email_send(
            actor=cast.alice, draft=draft(mailbox, body="Hi {{ contact.nickname }}"), values=VALUES
        )

    assert caught.value.fields["body"].startswith("Unknown placeholder {{ contact.nickname }}.")
    assert smtp_server.messages == []


def test_nobody_sends_from_another_users_mailbox(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    with pytest.raises(NotFound):
        sending.email_send(actor=cast.admin, draft=draft(mailbox), values=VALUES)

    assert smtp_server.messages == []


def test_a_mailbox_without_sending_set_up_cannot_send(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, smtp_host="")

    with pytest.raises(ValidationFailed) as caught:
        sending.email_send(actor=cast.alice, draft=draft(mailbox), values=VALUES)

    assert caught.value.fields == {
        "mailbox": "Set up sending for this mailbox first (Your account, Mailboxes)."
    }


def test_only_colleagues_on_it_is_sent_but_not_logged(cast, globex, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    result = sending.email_send(
        actor=cast.alice, draft=draft(mailbox, to=[("", "bob@salesdesk.test")]), values=VALUES
    )

    assert len(smtp_server.messages) == 1
    assert result.status == "internal"
    assert result.sent.activity is None
    assert Activity.objects.count() == 0


# The copy in the Sent folder, and the sync that reads it later


def test_the_copy_goes_to_the_sent_folder_and_the_sync_captures_nothing_new(
    cast, globex, smtp_server, dovecot, imap_user, django_capture_on_commit_callbacks
):
    smtp_server.username = imap_user
    with dovecot.client(imap_user) as box:
        box.folder.create("Sent")
    mailbox = sending_mailbox(
        cast.alice,
        smtp_server,
        host=dovecot.host,
        port=dovecot.port,
        username=imap_user,
        saves_sent_copy=True,
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.send_email(
            actor=cast.alice,
            draft=draft(mailbox, track_opens=True, track_clicks=True),
            values=VALUES,
        )

    with dovecot.client(imap_user) as box:
        box.folder.set("Sent")
        [copy] = list(box.fetch(mark_seen=False))
    assert copy.headers["message-id"] == (f"<{result.sent.message_id}>",)
    assert "\\Seen" in copy.flags
    assert "/e/" not in copy.html  # reading the copy opens nothing
    assert copy.html.count('href="https://globex.example/pricing?a=1"') == 1
    result.sent.refresh_from_db()
    assert result.sent.sent_copy is None

    outcome = sync_mailbox(mailbox.pk).outcome
    assert (outcome.logged, outcome.duplicates) == (0, 1)
    assert Activity.objects.count() == 1
    assert CapturedMessage.objects.get().source == "sent"


def test_the_providers_own_sent_copy_is_a_duplicate_too(
    cast, globex, smtp_server, dovecot, imap_user
):
    smtp_server.username = imap_user
    mailbox = sending_mailbox(
        cast.alice, smtp_server, host=dovecot.host, port=dovecot.port, username=imap_user
    )
    sending.email_send(actor=cast.alice, draft=draft(mailbox, track_opens=True), values=VALUES)
    # What Gmail or Microsoft 365 would put in Sent: the message as it left, pixel and all.
    dovecot.append(imap_user, "Sent", smtp_server.messages[0].content)

    outcome = sync_mailbox(mailbox.pk).outcome

    assert (outcome.logged, outcome.duplicates) == (0, 1)
    assert Activity.objects.count() == 1


def test_a_copy_that_cannot_be_stored_is_logged_and_kept(cast, globex, smtp_server, caplog):
    mailbox = sending_mailbox(cast.alice, smtp_server, saves_sent_copy=True)
    result = sending.email_send(actor=cast.alice, draft=draft(mailbox), values=VALUES)

    assert sending.sent_copy_append(sent_email_id=result.sent.pk) is False

    assert "the sent copy was not stored" in caplog.text
    assert "secret" not in caplog.text
    result.sent.refresh_from_db()
    assert result.sent.sent_copy is not None


# Sending settings


def test_setting_up_sending_checks_the_login_and_uses_the_imap_account_by_default(
    cast, smtp_server
):
    mailbox = sending_mailbox(cast.alice, smtp_server, smtp_host="", smtp_port=587)
    fields = SendingFields(
        host=f" {smtp_server.host.upper()} ", port=smtp_server.port, security="none"
    )

    sending.mailbox_sending_update(mailbox=mailbox, actor=cast.alice, fields=fields)

    mailbox.refresh_from_db()
    assert (mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security) == (
        "127.0.0.1",
        smtp_server.port,
        "none",
    )
    assert (mailbox.smtp_username, mailbox.smtp_secret) == ("", "")
    assert mailbox.sends


def test_a_wrong_smtp_password_is_refused_and_changes_nothing(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, smtp_host="")
    fields = SendingFields(
        host=smtp_server.host, port=smtp_server.port, security="none", username="other"
    )

    with pytest.raises(ValidationFailed) as caught:
        sending.mailbox_sending_update(
            mailbox=mailbox, actor=cast.alice, fields=fields, password="guess-me"
        )

    assert "refused the login for other" in caught.value.message
    assert "guess-me" not in caught.value.message
    mailbox.refresh_from_db()
    assert (mailbox.smtp_host, mailbox.smtp_username, mailbox.smtp_secret) == ("", "", "")


def test_its_own_smtp_password_is_encrypted_and_kept_when_left_empty(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, secret=secrets.encrypt("imap-only"))
    smtp_server.username, smtp_server.password = "smtp-user", "smtp-pass"
    fields = SendingFields(
        host=smtp_server.host, port=smtp_server.port, security="none", username="smtp-user"
    )

    sending.mailbox_sending_update(
        mailbox=mailbox, actor=cast.alice, fields=fields, password="smtp-pass"
    )
    mailbox.refresh_from_db()
    saved = mailbox.smtp_secret
    assert "smtp-pass" not in saved
    assert secrets.decrypt(saved) == "smtp-pass"

    fields.saves_sent_copy = False
    sending.mailbox_sending_update(mailbox=mailbox, actor=cast.alice, fields=fields)
    mailbox.refresh_from_db()
    assert (mailbox.smtp_secret, mailbox.saves_sent_copy) == (saved, False)


def test_bad_sending_fields_are_named(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    with pytest.raises(ValidationFailed) as caught:
        sending.mailbox_sending_update(
            mailbox=mailbox,
            actor=cast.alice,
            fields=SendingFields(
                host="smtp example.com", port=0, security="tls", username="x" * 255
            ),
        )

    assert set(caught.value.fields) == {"smtp_host", "smtp_port", "smtp_security", "smtp_username"}


def test_stopping_sending_forgets_the_smtp_password(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, smtp_secret=secrets.encrypt("x"))

    sending.mailbox_sending_remove(mailbox=mailbox, actor=cast.alice)

    mailbox.refresh_from_db()
    assert (mailbox.sends, mailbox.smtp_secret) == (False, "")


def test_nobody_changes_another_users_sending(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    with pytest.raises(NotFound):
        sending.mailbox_sending_remove(mailbox=mailbox, actor=cast.admin)

    mailbox.refresh_from_db()
    assert mailbox.sends


# Templates


def test_reps_keep_templates_to_themselves_and_managers_share(cast):
    with pytest.raises(PermissionDenied):
        sending.email_template_create(
            actor=cast.alice, name="Intro", subject="Hi", body="Hello", is_shared=True
        )
    assert EmailTemplate.objects.count() == 0

    shared = sending.email_template_create(
        actor=cast.manager,
        name="Intro",
        subject="Hello {{ contact.first_name }}",
        body="Hi",
        is_shared=True,
    )
    own = sending.email_template_create(actor=cast.alice, name="Intro", subject="Hi", body="x")

    assert (shared.is_shared, own.is_shared) == (True, False)


def test_a_template_with_an_unknown_placeholder_is_refused(cast):
    with pytest.raises(ValidationFailed) as caught:
        sending.email_template_create(
            actor=cast.alice, name="Intro", subject="Hi {{ contact.nick }}", body="{{ deal.value }}"
        )

    assert caught.value.fields["subject"].startswith("Unknown placeholder {{ contact.nick }}.")
    assert caught.value.fields["body"].startswith("Unknown placeholder {{ deal.value }}.")
    assert EmailTemplate.objects.count() == 0


def test_one_name_per_owner(cast):
    sending.email_template_create(actor=cast.alice, name="Intro", subject="Hi", body="x")

    with pytest.raises(Conflict):
        sending.email_template_create(actor=cast.alice, name="Intro", subject="Ho", body="y")

    assert EmailTemplate.objects.get().subject == "Hi"


def test_a_shared_template_is_changed_by_its_owner_and_admins_only(cast):
    shared = sending.email_template_create(
        actor=cast.manager, name="Intro", subject="Hi", body="x", is_shared=True
    )
    changes = {"name": "Intro", "subject": "Changed", "body": "y", "is_shared": True}

    for actor in (cast.alice, cast.bob):
        with pytest.raises(NotFound):
            sending.email_template_update(template=shared, actor=actor, **changes)
        with pytest.raises(NotFound):
            sending.email_template_delete(template=shared, actor=actor)
    sending.email_template_update(template=shared, actor=cast.admin, **changes)

    shared.refresh_from_db()
    assert shared.subject == "Changed"
