"""The capture pipeline: e-mails in, contacts, companies and one activity each out."""

import datetime
import email.utils
import io
import pathlib
from decimal import Decimal
from email.message import EmailMessage

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities.models import Activity
from salesdesk.analytics import rollups
from salesdesk.analytics.models import ActivityRollup
from salesdesk.capture.files import capture_file
from salesdesk.capture.message import Address
from salesdesk.capture.models import (
    CapturedAddress,
    CapturedMessage,
    FilledField,
    SuggestedContact,
)
from salesdesk.capture.parsing import parse_message
from salesdesk.capture.pipeline import (
    Incoming,
    capture_messages,
    company_name,
    message_key,
    person_name,
)
from salesdesk.core.models import AuditEntry
from salesdesk.crm.models import Company, Contact, ContactEmail, ContactPhone
from salesdesk.pipeline.models import Deal
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
SENT = datetime.datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
IN_STEP = {"deals": set(), "activities": set()}


def mail(
    sender="Jane Doe <jane.doe@acme.co.uk>",
    to="alice@salesdesk.test",
    cc=None,
    subject="Pricing for the pilot",
    body="Hi Alice,\n\nCould you send the pricing?\n\nBest regards\nJane",
    date=SENT,
    message_id="<m1@acme.co.uk>",
    headers=None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    if date is not None:
        message["Date"] = email.utils.format_datetime(date)
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


def capture(*raws, user, source="eml"):
    return capture_messages([Incoming(raw=raw) for raw in raws], user=user, source=source)


def test_an_email_from_a_stranger_makes_company_contact_and_one_activity(cast):
    outcome = capture(mail(), user=cast.alice)

    assert (outcome.logged, outcome.contacts_created, outcome.companies_created) == (1, 1, 1)
    company = Company.objects.get()
    assert (company.name, company.domain, company.website) == (
        "Acme",
        "acme.co.uk",
        "https://acme.co.uk/",
    )
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name, contact.company, contact.owner) == (
        "Jane",
        "Doe",
        company,
        cast.alice,
    )
    assert list(contact.emails.values_list("email", flat=True)) == ["jane.doe@acme.co.uk"]
    activity = Activity.objects.get()
    assert activity.kind == Activity.Kind.EMAIL
    assert activity.direction == Activity.Direction.INBOUND
    assert (activity.subject, activity.occurred_at, activity.owner) == (
        "Pricing for the pilot",
        SENT,
        cast.alice,
    )
    assert activity.body.startswith("Hi Alice,")
    assert list(activity.contacts.all()) == [contact]
    assert activity.company == company
    assert (activity.source, activity.external_id) == ("imap", "mid:m1@acme.co.uk")
    stored = CapturedMessage.objects.get()
    assert (stored.status, stored.activity, stored.captured_by) == ("logged", activity, cast.alice)
    assert stored.raw is None  # only unreadable messages keep their bytes
    assert list(CapturedAddress.objects.values_list("match_key", "role", "contact")) == [
        ("jane.doe@acme.co.uk", "from", contact.pk)
    ]
    contact.refresh_from_db()
    company.refresh_from_db()
    assert contact.last_interaction_at == company.last_interaction_at == SENT
    created = AuditEntry.objects.filter(action="create", actor=cast.alice)
    assert sorted(created.values_list("entity", flat=True)) == ["crm.company", "crm.contact"]


def test_capturing_again_from_any_source_changes_nothing(cast):
    first = capture(mail(), mail(message_id="<m2@acme.co.uk>", subject="Second"), user=cast.alice)
    counts = (Activity.objects.count(), Contact.objects.count(), Company.objects.count())

    # The same messages from Bob's mailbox, and one of them twice in one batch
    again = capture(
        mail(), mail(), mail(message_id="<m2@acme.co.uk>"), user=cast.bob, source="imap"
    )

    assert first.logged == 2
    assert (again.logged, again.duplicates) == (0, 3)
    assert (Activity.objects.count(), Contact.objects.count(), Company.objects.count()) == counts
    assert CapturedMessage.objects.count() == 2


def test_without_message_id_the_content_identifies_the_message(cast):
    raw = mail(message_id=None)
    crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    outcome = capture(raw, crlf, user=cast.alice)

    assert (outcome.logged, outcome.duplicates) == (1, 1)
    assert CapturedMessage.objects.get().key.startswith("sha256:")
    assert message_key(parse_message(raw)) == message_key(parse_message(crlf))


def test_an_email_to_customers_is_outbound_and_lands_on_the_first_company(cast):
    raw = mail(
        sender="Alice East <alice@salesdesk.test>",
        to='"Doe, Jane" <jane.doe@acme.co.uk>, tom@globex.de',
        cc="bob@salesdesk.test",
        subject="Our offer",
        body="Dear Jane, dear Tom,\n\nattached is our offer.\n\nAlice",
        message_id="<out1@salesdesk.test>",
    )

    capture(raw, user=cast.alice)

    activity = Activity.objects.get()
    assert activity.direction == Activity.Direction.OUTBOUND
    names = sorted(activity.contacts.values_list("first_name", "last_name"))
    assert names == [("", "tom@globex.de"), ("Jane", "Doe")]  # tom@: no name to go by
    assert activity.company.domain == "acme.co.uk"
    assert set(Company.objects.values_list("domain", flat=True)) == {"acme.co.uk", "globex.de"}
    assert not ContactEmail.objects.filter(email__endswith="salesdesk.test").exists()


def test_known_contacts_are_matched_whatever_the_plus_tag_case_or_gmail_dots(cast):
    jane = ContactFactory(first_name="Jane", last_name="Known", owner=cast.bob)
    ContactEmailFactory(contact=jane, email="jane.doe@gmail.com")

    capture(
        mail(sender="JaneDoe+crm@GoogleMail.com", message_id="<g1@x>"),
        user=cast.alice,
    )

    assert Contact.objects.count() == 1
    activity = Activity.objects.get()
    assert list(activity.contacts.all()) == [jane]
    assert activity.company is None  # free mail: no company
    assert not Company.objects.exists()


def test_bulk_automated_and_no_reply_mail_creates_nothing(cast):
    newsletter = mail(
        sender="news@acme.co.uk",
        message_id="<n1@acme>",
        headers={"List-Unsubscribe": "<https://acme.co.uk/unsubscribe>"},
    )
    auto_reply = mail(message_id="<a1@acme>", headers={"Auto-Submitted": "auto-replied"})
    no_reply = mail(sender="no-reply@acme.co.uk", message_id="<nr1@acme>")

    outcome = capture(newsletter, auto_reply, no_reply, user=cast.alice)

    assert (outcome.automated, outcome.logged) == (3, 0)
    assert not Contact.objects.exists()
    assert not Company.objects.exists()
    assert not Activity.objects.exists()
    assert set(CapturedMessage.objects.values_list("status", flat=True)) == {"automated"}


def test_mail_among_colleagues_is_internal(cast, org):
    org.internal_domains = ["salesdesk.io"]
    org.save()
    raw = mail(
        sender="alice@salesdesk.test", to="ops@eu.salesdesk.io", message_id="<i1@salesdesk.test>"
    )

    outcome = capture(raw, user=cast.alice)

    assert outcome.internal == 1
    assert not Activity.objects.exists()
    assert CapturedMessage.objects.get().status == "internal"


def test_an_unreadable_message_is_kept_with_its_reason(cast):
    garbage = b"\x00\x01\x02 not a message at all \xff" * 10

    outcome = capture(garbage, user=cast.alice)

    assert outcome.skipped == 1
    stored = CapturedMessage.objects.get()
    assert stored.status == "skipped"
    assert stored.reason
    assert bytes(stored.raw) == garbage  # nothing is lost: it can be looked at or retried
    assert outcome.skip_reasons == {stored.reason: 1}


def test_a_role_address_gives_the_company_but_no_contact(cast):
    capture(mail(sender="Acme Sales <sales@acme.co.uk>", message_id="<r1@acme>"), user=cast.alice)

    assert not Contact.objects.exists()
    activity = Activity.objects.get()
    assert activity.company.domain == "acme.co.uk"


def test_the_activity_goes_to_the_companys_most_recently_active_open_deal(cast, pipeline):
    acme = CompanyFactory(name="Acme Ltd", domain="acme.co.uk")
    stage = pipeline.stages.first()
    quiet = DealFactory(
        company=acme,
        stage=stage,
        last_interaction_at=SENT - datetime.timedelta(days=30),
        amount=Decimal("10"),
    )
    busy = DealFactory(
        company=acme, stage=stage, last_interaction_at=SENT - datetime.timedelta(days=2)
    )
    DealFactory(
        company=acme,
        stage=stage,
        status=Deal.Status.WON,
        closed_at=SENT,
        last_interaction_at=SENT,
    )

    capture(mail(), user=cast.alice)

    activity = Activity.objects.get()
    assert (activity.company, activity.deal) == (acme, busy)
    busy.refresh_from_db()
    quiet.refresh_from_db()
    assert busy.last_interaction_at == SENT
    assert quiet.last_interaction_at == SENT - datetime.timedelta(days=30)
    assert Company.objects.count() == 1  # found by its domain, not created again


def test_last_interaction_never_moves_back(cast):
    capture(mail(date=SENT), user=cast.alice)
    capture(
        mail(date=SENT - datetime.timedelta(days=3), message_id="<older@acme.co.uk>"),
        user=cast.alice,
    )

    contact = Contact.objects.get()
    assert contact.last_interaction_at == SENT
    assert Activity.objects.count() == 2


def test_in_suggest_mode_strangers_wait_for_a_rep(cast, org):
    org.capture_mode = OrganizationSettings.CaptureMode.SUGGEST
    org.save()
    SuggestedContact.objects.create(
        match_key="tom@globex.de",
        email="tom@globex.de",
        status=SuggestedContact.Status.IGNORED,
    )

    outcome = capture(
        mail(cc="Tom <tom@globex.de>"),
        mail(message_id="<m2@acme.co.uk>", subject="Again"),
        user=cast.alice,
    )

    assert (outcome.logged, outcome.contacts_created, outcome.suggested) == (2, 0, 1)
    assert not Contact.objects.exists()
    jane = SuggestedContact.objects.get(match_key="jane.doe@acme.co.uk")
    assert (jane.status, jane.name, jane.domain, jane.messages) == (
        "pending",
        "Jane Doe",
        "acme.co.uk",
        2,
    )
    assert jane.suggested_to == cast.alice
    tom = SuggestedContact.objects.get(match_key="tom@globex.de")
    assert (tom.status, tom.messages) == ("ignored", 1)  # ignored stays ignored
    assert Activity.objects.count() == 2
    assert {a.company.domain for a in Activity.objects.all()} == {"acme.co.uk"}


SIGNED = (
    "Hi Alice,\n\nthanks for the call.\n\nBest regards\nJane Doe\nHead of Procurement\n"
    "Acme Ltd\nT: +44 20 7946 0958\nM: +44 7911 123456\nwww.acme.co.uk\n"
    "https://www.linkedin.com/in/janedoe\n"
)


def test_the_newest_signature_fills_empty_fields_and_remembers_where_from(cast):
    capture(mail(body=SIGNED), user=cast.alice)

    contact = Contact.objects.get()
    assert contact.title == "Head of Procurement"
    assert contact.linkedin_url == "https://www.linkedin.com/in/janedoe"
    phones = sorted(ContactPhone.objects.values_list("number", "kind"))
    assert phones == [("+442079460958", "work"), ("+447911123456", "mobile")]
    filled = {(f.field, f.value) for f in FilledField.objects.all()}
    assert filled == {
        ("title", "Head of Procurement"),
        ("linkedin_url", "https://www.linkedin.com/in/janedoe"),
        ("phone", "+442079460958"),
        ("phone", "+447911123456"),
        ("website", "https://www.acme.co.uk/"),  # replaces the guess made from the domain
    }
    assert Company.objects.get().website == "https://www.acme.co.uk/"
    message = CapturedMessage.objects.get()
    assert {f.message for f in FilledField.objects.all()} == {message}


def test_a_signature_never_overwrites_and_an_older_one_is_not_used(cast):
    jane = ContactFactory(first_name="Jane", last_name="Doe", title="CFO")
    ContactEmailFactory(contact=jane, email="jane.doe@acme.co.uk")
    capture(mail(body="Thanks!\n\nJane", message_id="<new@acme.co.uk>"), user=cast.alice)

    capture(
        mail(body=SIGNED, date=SENT - datetime.timedelta(days=60), message_id="<old@acme.co.uk>"),
        user=cast.alice,
    )

    jane.refresh_from_db()
    assert jane.title == "CFO"
    assert not FilledField.objects.exists()
    assert not ContactPhone.objects.filter(contact=jane).exists()


def test_a_batch_costs_the_same_queries_whatever_its_size(cast):
    def batch(n, offset):
        return [
            mail(
                sender=f"Person {i} <p{i}@company{i % 7}.com>",
                message_id=f"<b{offset + i}@x>",
                body=f"Hello {i}\n\nRegards\nPerson {i}\nSales Manager\nT: +49 30 1234{i:04d}",
            )
            for i in range(n)
        ]

    with CaptureQueriesContext(connection) as small:
        capture(*batch(5, 0), user=cast.alice)
    with CaptureQueriesContext(connection) as large:
        capture(*batch(60, 100), user=cast.alice)

    assert Activity.objects.count() == 65
    assert len(large) <= len(small) + 3  # grouped updates of interaction times may differ


def test_activity_rollups_follow_captured_mail(cast):
    """Each batch adds its e-mails to the buckets (month, owner, kind) they fall in: new
    buckets and ones that already count other activities, as a full recount finds them."""
    ActivityFactory(owner=cast.alice, kind=Activity.Kind.EMAIL, occurred_at=SENT)
    rollups.rebuild()
    capture(mail(), mail(message_id="<m2@acme.co.uk>"), user=cast.alice)
    capture(
        *(
            mail(message_id=f"<later{n}@acme.co.uk>", date=SENT + datetime.timedelta(days=12 * n))
            for n in range(4)
        ),
        mail(message_id="<m1@acme.co.uk>"),  # a duplicate counts nowhere
        user=cast.bob,
    )

    assert rollups.differences() == IN_STEP
    november = rollups.month_of(SENT, rollups.calendar().zone)
    counts = dict(
        ActivityRollup.objects.filter(month=november, kind=Activity.Kind.EMAIL).values_list(
            "owner_id", "count"
        )
    )
    assert counts == {cast.alice.pk: 3, cast.bob.pk: 1}


def test_names_of_new_records():
    assert company_name("acme-tools.co.uk") == "Acme Tools"
    assert person_name(Address("jane.doe@acme.com", "Doe, Jane")) == ("Jane", "Doe")
    assert person_name(Address("jane.doe@acme.com", "Jane van Doe")) == ("Jane van", "Doe")
    assert person_name(Address("jane.doe+x@acme.com", "")) == ("Jane", "Doe")
    assert person_name(Address("jd4@acme.com", "")) == ("", "jd4@acme.com")


# --- Files ------------------------------------------------------------------------------------


def mbox_bytes(*messages: bytes) -> bytes:
    parts = []
    for raw in messages:
        body = raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
        parts.append(b"From sender@example.com Thu Nov 19 10:00:00 2026\n" + body + b"\n")
    return b"".join(parts)


def test_an_mbox_file_is_captured_once_through_the_command(cast, tmp_path):
    quoted = mail(message_id="<q@acme.co.uk>", body="Line one\nFrom the start of a line\nBye")
    path = tmp_path / "archive.mbox"
    path.write_bytes(mbox_bytes(mail(), quoted, b"garbage without headers\n"))
    out = io.StringIO()

    call_command("capture", "mbox", str(path), "--user", "Alice@salesdesk.test", stdout=out)
    call_command("capture", "mbox", str(path), "--user", "alice@salesdesk.test", stdout=out)

    first, second = out.getvalue().splitlines()[0], out.getvalue().splitlines()[-1]
    assert "3 messages: 1 logged" in first or "3 messages: 2 logged" in first
    assert "already captured" in second
    assert Activity.objects.count() == 2
    body = Activity.objects.get(external_id="mid:q@acme.co.uk").body
    assert "From the start of a line" in body
    assert ">From" not in body
    refs = sorted(CapturedMessage.objects.values_list("source", "source_ref"))
    assert [source for source, _ in refs] == ["mbox", "mbox", "mbox"]
    assert refs[0][1].startswith("archive.mbox #")


def test_a_file_of_many_batches_is_captured_in_order_batch_after_batch(cast, tmp_path):
    """Every message is captured once, batch by batch in the file's order, and progress is
    told after each batch."""
    path = tmp_path / "many.mbox"
    path.write_bytes(
        mbox_bytes(
            *(
                mail(
                    sender=f"Person {n} <p{n}@firm{n % 3}.com>",
                    message_id=f"<many{n}@x>",
                    date=SENT + datetime.timedelta(hours=n),
                )
                for n in range(11)
            )
        )
    )
    seen = []

    outcome = capture_file(path, user=cast.alice, batch=3, progress=lambda o: seen.append(o.seen))

    assert seen == [3, 6, 9, 11]
    assert (outcome.seen, outcome.logged) == (11, 11)
    assert Activity.objects.count() == 11
    assert Company.objects.count() == 3
    refs = CapturedMessage.objects.order_by("pk").values_list("source_ref", flat=True)
    assert [ref.split(" ")[1] for ref in refs] == [f"#{n}" for n in range(1, 12)]


def test_the_command_explains_bad_input(cast, tmp_path):
    eml = tmp_path / "one.eml"
    eml.write_bytes(mail())
    with pytest.raises(CommandError, match="No active user"):
        call_command("capture", "eml", str(eml), "--user", "nobody@example.com")
    with pytest.raises(CommandError, match="not a file"):
        call_command("capture", "eml", str(tmp_path / "missing.eml"), "--user", cast.alice.email)
    with pytest.raises(CommandError, match="not an mbox"):
        call_command("capture", "mbox", str(eml), "--user", cast.alice.email)

    call_command("capture", "eml", str(eml), "--user", cast.alice.email, stdout=io.StringIO())
    assert CapturedMessage.objects.get().source == "eml"


def test_every_message_of_cpythons_corpus_goes_through_and_is_accounted_for(cast):
    corpus = pathlib.Path(email.__file__).parent.parent / "test" / "test_email" / "data"
    if not corpus.is_dir():
        pytest.skip(f"CPython's e-mail test corpus is not installed ({corpus})")
    files = sorted(p for p in corpus.iterdir() if p.is_file())

    outcome = capture_messages(
        [Incoming(raw=p.read_bytes(), source_ref=p.name) for p in files],
        user=cast.alice,
        source="eml",
    )

    assert outcome.seen == len(files)  # every file is logged, skipped or a known duplicate
    stored = CapturedMessage.objects.count()
    assert stored + outcome.duplicates == len(files)
    skipped = CapturedMessage.objects.filter(status="skipped")
    assert all(row.reason and row.raw for row in skipped)
    assert outcome.logged == Activity.objects.count() > 10
