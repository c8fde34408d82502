"""Meetings from calendars: occurrences in, one meeting activity each on contacts, companies and
deals out; updates and cancellations land on the same activity."""

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities.models import Activity
from salesdesk.analytics import rollups
from salesdesk.capture.calendars import parse_ics
from salesdesk.capture.meetings import capture_events, event_key
from salesdesk.capture.models import CapturedEvent, SuggestedContact
from salesdesk.core.models import AuditEntry
from salesdesk.crm.models import Company, Contact
from tests.factories import CompanyFactory, DealFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "calendars"
UTC = datetime.UTC
DAY = datetime.timedelta(days=1)
TODAY = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
PAST = TODAY - 30 * DAY + datetime.timedelta(hours=9)  # a meeting a month ago, 09:00 UTC
FUTURE = TODAY + 7 * DAY + datetime.timedelta(hours=14)  # one next week, 14:00 UTC
IN_STEP = {"deals": set(), "activities": set()}
ACME = ("Jane Doe <jane.doe@acme.com>", "Tom Hill <tom.hill@acme.com>")
OUTLOOK_UID = (
    "040000008200E00074C5B7101A82E00800000000D0A1F0C2B389DB01000000000000000010000000"
    "F2F1A3C5E8B14D4B9C2A1E6F0D3B7A51"
)


def stamp(moment: datetime.datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%SZ}"


def vevent(
    uid="meeting-1",
    start=PAST,
    minutes=45,
    summary="Acme pilot review",
    attendees=ACME,
    organizer="Alice East <alice@salesdesk.test>",
    sequence=0,
    extra=(),
) -> str:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp(PAST)}",
        f"DTSTART:{stamp(start)}",
        f"DTEND:{stamp(start + datetime.timedelta(minutes=minutes))}",
        f"SEQUENCE:{sequence}",
        f"SUMMARY:{summary}",
    ]
    if organizer:
        name, email = organizer.rstrip(">").split(" <")
        lines.append(f"ORGANIZER;CN={name}:mailto:{email}")
    for attendee in attendees:
        name, email = attendee.rstrip(">").split(" <")
        lines.append(f"ATTENDEE;CN={name};PARTSTAT=ACCEPTED:mailto:{email}")
    lines += list(extra)
    lines.append("END:VEVENT")
    return "\r\n".join(lines)


def ics(*events: str, method="PUBLISH") -> bytes:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Salesdesk tests//EN", f"METHOD:{method}"]
    return "\r\n".join([*head, *events, "END:VCALENDAR", ""]).encode()


def parse(data: bytes, start=TODAY - 400 * DAY, end=TODAY + 400 * DAY):
    events, problems = parse_ics(data, window_start=start, window_end=end)
    assert problems == []
    return events


def capture(data: bytes, user, **window):
    return capture_events(parse(data, **window), user=user, calendar_ref="test.ics")


def test_a_meeting_with_two_outside_attendees_makes_contacts_company_and_one_activity(cast):
    room = "ATTENDEE;CUTYPE=ROOM;CN=Board room:mailto:board@salesdesk.test"
    data = ics(
        vevent(
            attendees=(*ACME, "Bob East <bob@salesdesk.test>"),
            extra=("DESCRIPTION:Pilot scope and pricing", "LOCATION:Acme HQ, Leeds", room),
        )
    )

    outcome = capture(data, cast.alice)

    assert (outcome.logged, outcome.contacts_created, outcome.companies_created) == (1, 2, 1)
    company = Company.objects.get()
    assert (company.name, company.domain) == ("Acme", "acme.com")
    contacts = Contact.objects.order_by("first_name")
    assert [(c.first_name, c.last_name, c.company, c.source) for c in contacts] == [
        ("Jane", "Doe", company, "calendar"),
        ("Tom", "Hill", company, "calendar"),
    ]
    activity = Activity.objects.get()
    assert (activity.kind, activity.source, activity.external_id) == (
        "meeting",
        "calendar",
        "meeting-1/",
    )
    assert (activity.subject, activity.occurred_at, activity.duration, activity.owner) == (
        "Acme pilot review",
        PAST,
        datetime.timedelta(minutes=45),
        cast.alice,
    )
    assert activity.body == "Pilot scope and pricing\n\nLocation: Acme HQ, Leeds"
    assert set(activity.contacts.all()) == set(contacts)
    assert (activity.company, activity.deal) == (company, None)
    for contact in contacts:
        assert (contact.last_interaction_at, contact.next_meeting_at) == (PAST, None)
    company.refresh_from_db()
    assert company.last_interaction_at == PAST
    record = CapturedEvent.objects.get()
    assert (record.key, record.status, record.sequence, record.activity) == (
        "meeting-1/",
        "logged",
        0,
        activity,
    )
    assert {entry.changes["via"] for entry in AuditEntry.objects.filter(action="create")} == {
        "calendar capture"
    }
    assert rollups.differences() == IN_STEP


def test_the_meeting_goes_to_the_companys_open_deal_and_moves_its_last_interaction(cast, pipeline):
    acme = CompanyFactory(name="Acme Inc", domain="acme.com")
    deal = DealFactory(company=acme, stage=pipeline.stages.first(), last_interaction_at=None)

    capture(ics(vevent()), cast.alice)

    activity = Activity.objects.get()
    assert (activity.company, activity.deal) == (acme, deal)
    deal.refresh_from_db()
    assert deal.last_interaction_at == PAST
    assert Company.objects.count() == 1


def test_a_meeting_among_colleagues_and_rooms_creates_nothing(cast):
    data = ics(
        vevent(
            attendees=("Bob East <bob@salesdesk.test>",),
            extra=("ATTENDEE;CUTYPE=ROOM;CN=Room:mailto:room@resource.calendar.google.com",),
        )
    )

    outcome = capture(data, cast.alice)

    assert (outcome.internal, outcome.logged) == (1, 0)
    assert not Activity.objects.exists()
    assert not Contact.objects.exists()
    assert not Company.objects.exists()
    assert not CapturedEvent.objects.exists()


def test_importing_twice_changes_nothing(cast):
    data = ics(vevent(), vevent(uid="meeting-2", start=FUTURE))
    capture(data, cast.alice)
    before = list(Activity.objects.order_by("pk").values_list("pk", "updated_at"))

    outcome = capture(data, cast.alice)

    assert (outcome.unchanged, outcome.logged, outcome.updated) == (2, 0, 0)
    assert list(Activity.objects.order_by("pk").values_list("pk", "updated_at")) == before
    assert (Contact.objects.count(), Company.objects.count(), CapturedEvent.objects.count()) == (
        2,
        1,
        2,
    )
    assert rollups.differences() == IN_STEP


def test_the_same_meeting_in_a_colleagues_calendar_is_the_same_activity(cast):
    capture(ics(vevent(attendees=(*ACME, "Bob East <bob@salesdesk.test>"))), cast.alice)

    outcome = capture(ics(vevent(attendees=(*ACME, "Bob East <bob@salesdesk.test>"))), cast.bob)

    assert (outcome.unchanged, outcome.logged) == (1, 0)
    assert Activity.objects.get().owner == cast.alice


def test_a_newer_sequence_moves_the_same_activity_and_an_older_one_is_ignored(cast):
    capture(ics(vevent(start=FUTURE)), cast.alice)
    activity = Activity.objects.get()
    assert Contact.objects.filter(next_meeting_at=FUTURE).count() == 2
    moved = FUTURE + 2 * DAY
    newer = ics(vevent(start=moved, minutes=60, summary="Acme pilot review (moved)", sequence=1))

    outcome = capture(newer, cast.alice)

    assert (outcome.updated, outcome.logged) == (1, 0)
    activity.refresh_from_db()
    assert Activity.objects.get().pk == activity.pk
    assert (activity.occurred_at, activity.duration, activity.subject) == (
        moved,
        datetime.timedelta(hours=1),
        "Acme pilot review (moved)",
    )
    assert set(Contact.objects.values_list("next_meeting_at", flat=True)) == {moved}
    assert CapturedEvent.objects.get().sequence == 1

    older = capture(ics(vevent(start=FUTURE)), cast.alice)

    assert (older.stale, older.updated) == (1, 0)
    activity.refresh_from_db()
    assert activity.occurred_at == moved
    assert set(Contact.objects.values_list("next_meeting_at", flat=True)) == {moved}
    assert rollups.differences() == IN_STEP


def test_new_content_at_the_same_sequence_updates_and_changed_people_follow(cast):
    capture(ics(vevent(start=FUTURE)), cast.alice)
    jane = Contact.objects.get(first_name="Jane")

    capture(ics(vevent(start=FUTURE, attendees=(ACME[1],))), cast.alice)

    activity = Activity.objects.get()
    assert [c.first_name for c in activity.contacts.all()] == ["Tom"]
    jane.refresh_from_db()
    assert jane.next_meeting_at is None  # no longer invited
    assert Contact.objects.get(first_name="Tom").next_meeting_at == FUTURE


def weekly(sequence=0, count=4) -> str:
    return vevent(
        uid="weekly-1",
        start=FUTURE,
        minutes=30,
        summary="Acme rollout weekly",
        sequence=sequence,
        extra=(f"RRULE:FREQ=WEEKLY;COUNT={count}",),
    )


def test_a_weekly_series_is_one_activity_per_occurrence_and_a_cancelled_one_goes(cast):
    outcome = capture(ics(weekly()), cast.alice)

    assert outcome.logged == 4
    starts = [FUTURE + week * 7 * DAY for week in range(4)]
    assert list(Activity.objects.order_by("occurred_at").values_list("occurred_at", flat=True)) == (
        starts
    )
    assert sorted(Activity.objects.values_list("external_id", flat=True)) == sorted(
        f"weekly-1/{start.isoformat()}" for start in starts
    )
    assert set(Contact.objects.values_list("next_meeting_at", flat=True)) == {starts[0]}
    cancel = vevent(
        uid="weekly-1",
        start=starts[0],
        minutes=30,
        summary="Canceled: Acme rollout weekly",
        sequence=1,
        extra=(f"RECURRENCE-ID:{stamp(starts[0])}", "STATUS:CANCELLED"),
    )

    outcome = capture(ics(cancel, method="CANCEL"), cast.alice)

    assert (outcome.cancelled, outcome.removed) == (1, 1)
    assert (
        list(Activity.objects.order_by("occurred_at").values_list("occurred_at", flat=True))
        == (starts[1:])
    )
    assert set(Contact.objects.values_list("next_meeting_at", flat=True)) == {starts[1]}
    record = CapturedEvent.objects.get(key=f"weekly-1/{starts[0].isoformat()}")
    assert (record.status, record.sequence, record.activity, record.summary) == (
        "cancelled",
        1,
        None,
        "Acme rollout weekly",  # not Outlook's "Canceled: …"
    )
    assert rollups.differences() == IN_STEP

    repeated = capture(ics(cancel, method="CANCEL"), cast.alice)

    assert (repeated.unchanged, repeated.cancelled, repeated.removed) == (1, 0, 0)
    again = capture(ics(weekly()), cast.alice)  # the series as it was before the cancellation

    assert (again.stale, again.unchanged, again.logged) == (1, 3, 0)
    assert Activity.objects.count() == 3
    assert set(Contact.objects.values_list("next_meeting_at", flat=True)) == {starts[1]}


def test_cancelling_the_whole_event_removes_every_stored_occurrence(cast):
    capture(ics(weekly()), cast.alice)
    whole = vevent(uid="weekly-1", start=FUTURE, minutes=30, summary="Canceled: x", sequence=2)

    outcome = capture(ics(whole, method="CANCEL"), cast.alice)

    assert (outcome.cancelled, outcome.removed) == (1, 4)
    assert not Activity.objects.exists()
    assert set(Contact.objects.values_list("next_meeting_at", flat=True)) == {None}
    assert set(CapturedEvent.objects.values_list("status", flat=True)) == {"cancelled"}
    assert rollups.differences() == IN_STEP

    repeated = capture(ics(whole, method="CANCEL"), cast.alice)

    assert (repeated.cancelled, repeated.removed, repeated.unchanged) == (0, 0, 1)
    again = capture(ics(weekly(sequence=2)), cast.alice)  # not newer than the cancellation

    assert (again.stale, again.logged) == (4, 0)
    reinstated = capture(ics(weekly(sequence=3)), cast.alice)

    assert reinstated.logged == 4
    assert Activity.objects.count() == 4
    assert rollups.differences() == IN_STEP


def test_a_meeting_that_loses_its_outside_people_loses_its_activity(cast):
    capture(ics(vevent(start=FUTURE)), cast.alice)

    outcome = capture(ics(vevent(start=FUTURE, attendees=(), sequence=1)), cast.alice)

    assert (outcome.internal, outcome.removed) == (1, 1)
    assert not Activity.objects.exists()
    assert CapturedEvent.objects.get().status == "internal"
    assert set(Contact.objects.values_list("next_meeting_at", flat=True)) == {None}


def test_a_meeting_activity_a_user_deleted_stays_deleted(cast):
    capture(ics(vevent()), cast.alice)
    Activity.objects.all().delete()
    rollups.refresh_activities({(cast.alice.pk, rollups.month_of(PAST, rollups.calendar().zone))})

    outcome = capture(ics(vevent(summary="Renamed")), cast.alice)

    assert outcome.unchanged == 1
    assert not Activity.objects.exists()


def test_in_suggest_mode_attendees_become_suggestions(cast, org):
    org.capture_mode = OrganizationSettings.CaptureMode.SUGGEST
    org.save()

    outcome = capture(ics(vevent()), cast.alice)

    assert (outcome.logged, outcome.contacts_created, outcome.suggested) == (1, 0, 2)
    assert not Contact.objects.exists()
    assert sorted(SuggestedContact.objects.values_list("email", "name", "status")) == [
        ("jane.doe@acme.com", "Jane Doe", "pending"),
        ("tom.hill@acme.com", "Tom Hill", "pending"),
    ]
    activity = Activity.objects.get()
    assert activity.company.domain == "acme.com"
    assert not activity.contacts.exists()


def test_a_long_uid_is_hashed_to_fit_the_external_id(cast):
    uid = "x" * 300

    capture(ics(vevent(uid=uid)), cast.alice)

    assert Activity.objects.get().external_id == event_key(uid + "/")
    assert len(event_key(uid + "/")) == len("sha256:") + 64


def test_a_batch_costs_the_same_queries_whatever_its_size(cast):
    def series(uid, count):
        return vevent(uid=uid, start=FUTURE, extra=(f"RRULE:FREQ=DAILY;COUNT={count}",))

    with CaptureQueriesContext(connection) as small:
        capture(ics(series("small", 2)), cast.alice)
    with CaptureQueriesContext(connection) as large:
        capture(ics(series("large", 40)), cast.alice)
    with CaptureQueriesContext(connection) as again:
        capture(ics(series("large", 40)), cast.alice)

    assert Activity.objects.count() == 42
    assert len(large) <= len(small) + 2  # the rollups of more months
    assert len(again) <= 6  # settings, users, stored records, orphans: nothing written


# --- Real calendar files and the command -------------------------------------------------------


def run(*args) -> str:
    out = io.StringIO()
    call_command("capture", "ics", *args, stdout=out)
    return out.getvalue()


WINDOW = ("--from", "2025-03-17", "--to", "2025-04-14")


def test_outlook_series_and_its_cancelled_occurrence_through_the_command(cast):
    user = ("--user", "Alice@salesdesk.test")

    first = run(str(DATA / "outlook_weekly.ics"), *user, *WINDOW)
    cancel = run(str(DATA / "outlook_cancel_occurrence.ics"), *user, *WINDOW)
    again = run(str(DATA / "outlook_weekly.ics"), *user, *WINDOW)

    assert "3 events from 2025-03-17 to 2025-04-14: 3 meetings logged" in first
    assert "1 cancellations (1 meetings removed)" in cancel
    assert "2 already captured, 1 older copies ignored" in again
    assert sorted(Activity.objects.values_list("external_id", "occurred_at")) == [
        (f"{OUTLOOK_UID}/2025-03-17T09:00:00+00:00", datetime.datetime(2025, 3, 17, 9, tzinfo=UTC)),
        (f"{OUTLOOK_UID}/2025-03-31T08:00:00+00:00", datetime.datetime(2025, 4, 1, 13, tzinfo=UTC)),
    ]
    assert Company.objects.get().domain == "globex.de"
    assert rollups.differences() == IN_STEP


def test_apple_update_then_the_older_copy(cast):
    user = ("--user", cast.alice.email)

    run(str(DATA / "apple_v1.ics"), *user, *WINDOW)
    assert sorted(Activity.objects.values_list("subject", flat=True)) == [
        "Initech renewal",
        "Lunch with Dana",
    ]
    run(str(DATA / "apple_v2.ics"), *user, *WINDOW)
    run(str(DATA / "apple_v1.ics"), *user, *WINDOW)

    activity = Activity.objects.get()
    assert (activity.subject, activity.occurred_at, activity.duration) == (
        "Initech renewal",
        datetime.datetime(2025, 3, 25, 13, 30, tzinfo=UTC),
        datetime.timedelta(hours=1),
    )
    assert [c.first_name for c in activity.contacts.all()] == ["Dana"]
    dana = Contact.objects.get()
    assert dana.last_interaction_at == datetime.datetime(2025, 3, 25, 13, 30, tzinfo=UTC)
    assert rollups.differences() == IN_STEP


def test_the_command_explains_bad_input(cast, tmp_path):
    user = ("--user", cast.alice.email)
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n")
    broken = tmp_path / "broken.ics"
    broken.write_bytes(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:cut\r\nDTSTART:2025")

    with pytest.raises(CommandError, match="not a file"):
        run(str(tmp_path / "missing.ics"), *user)
    with pytest.raises(CommandError, match="not an iCalendar"):
        run(str(text), *user)
    with pytest.raises(CommandError, match="nothing could be read"):
        run(str(broken), *user)
    with pytest.raises(CommandError, match="not a date"):
        run(str(DATA / "apple_v1.ics"), *user, "--from", "yesterday")
    with pytest.raises(CommandError, match="before --to"):
        run(str(DATA / "apple_v1.ics"), *user, "--from", "2025-04-14", "--to", "2025-03-17")
    with pytest.raises(CommandError, match="No active user"):
        run(str(DATA / "apple_v1.ics"), "--user", "nobody@example.com")
    assert not Activity.objects.exists()
    assert not CapturedEvent.objects.exists()


def test_the_default_window_is_a_year_back_to_ninety_days_ahead(cast, tmp_path):
    path = tmp_path / "calendar.ics"
    path.write_bytes(
        ics(
            vevent(uid="old", start=TODAY - 400 * DAY),
            vevent(uid="recent", start=TODAY - 300 * DAY),
            vevent(uid="soon", start=TODAY + 80 * DAY),
            vevent(uid="later", start=TODAY + 100 * DAY),
        )
    )

    out = run(str(path), "--user", cast.alice.email)

    assert "2 events" in out
    assert sorted(Activity.objects.values_list("external_id", flat=True)) == [
        "recent/",
        "soon/",
    ]
