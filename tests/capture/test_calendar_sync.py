"""Connected calendars in sync: ICS feeds from a local HTTP server and CalDAV from a real Radicale
(both on 127.0.0.1, started by the tests), captured into meeting activities."""

import datetime

import pytest
from django.utils import timezone

from salesdesk.activities.models import Activity
from salesdesk.capture import calendar_sync, claims, secrets, tasks
from salesdesk.capture.calendar_sync import due_connections, sync_connection
from salesdesk.capture.meetings import capture_events
from salesdesk.capture.models import CalendarConnection, CapturedEvent
from salesdesk.crm.models import Contact
from tests.capture.caldav_server import radicale_server  # noqa: F401 - pytest fixture
from tests.capture.feed_server import ics_feeds  # noqa: F401 - pytest fixture
from tests.capture.test_calendars import calendar as caldav_calendar_data
from tests.capture.test_meetings import DAY, FUTURE, PAST, TODAY, ics, parse, vevent

pytestmark = pytest.mark.django_db

GLOBEX = ("Jonas Müller <j.mueller@globex.de>",)
COLLEAGUES = ("Bob East <bob@salesdesk.test>",)


@pytest.fixture(autouse=True)
def _local_servers(settings):
    settings.SALESDESK_CALENDAR_PRIVATE_HOSTS = True  # the test servers are on 127.0.0.1


def feed_connection(user, url: str, **fields) -> CalendarConnection:
    password = fields.pop("password", "")
    return CalendarConnection.objects.create(
        user=user,
        kind=CalendarConnection.Kind.ICS,
        host="127.0.0.1",
        url_secret=secrets.encrypt(url),
        secret=secrets.encrypt(password) if password else "",
        **fields,
    )


def calendar_activities() -> list[tuple[str, str]]:
    return sorted(
        Activity.objects.filter(source=Activity.Source.CALENDAR).values_list(
            "external_id", "subject"
        )
    )


def links(connection: CalendarConnection) -> list[str]:
    return sorted(connection.events.values_list("key", flat=True))


PAST_MEETING = vevent(uid="past", start=PAST, summary="Acme pilot review")
NEXT_MEETING = vevent(uid="next", start=FUTURE, summary="Globex demo", attendees=GLOBEX)
TEAM_MEETING = vevent(uid="team", start=PAST + DAY, summary="Pipeline review", attendees=COLLEAGUES)


@pytest.fixture
def feed(ics_feeds, cast):  # noqa: F811
    url = ics_feeds.serve("/calendar/private-key/basic.ics", ics(PAST_MEETING, NEXT_MEETING))
    return feed_connection(cast.alice, url)


# First sync, next syncs


def test_first_sync_logs_meetings_with_outside_people_and_links_them(feed, cast, ics_feeds):  # noqa: F811
    path = "/calendar/private-key/basic.ics"
    ics_feeds.serve(path, ics(PAST_MEETING, NEXT_MEETING, TEAM_MEETING))

    result = sync_connection(feed.pk)

    assert (result.status, result.outcome.logged, result.outcome.internal) == ("ok", 2, 1)
    assert calendar_activities() == [("next/", "Globex demo"), ("past/", "Acme pilot review")]
    feed.refresh_from_db()
    assert (feed.state, feed.last_error, feed.meetings_captured) == ("ok", "", 2)
    assert feed.last_success_at == feed.last_sync_at is not None
    assert links(feed) == ["next/", "past/"]
    assert CapturedEvent.objects.get(key="past/").calendar_ref == f"calendar {feed.pk} (127.0.0.1)"
    jonas = Contact.objects.get(emails__email="j.mueller@globex.de")
    assert jonas.next_meeting_at == FUTURE
    assert ics_feeds.requests == [path]


def test_a_sync_with_nothing_new_changes_nothing(feed):
    sync_connection(feed.pk)
    before = list(Activity.objects.values_list("pk", "updated_at").order_by("pk"))

    result = sync_connection(feed.pk)

    assert (result.status, result.outcome.logged, result.outcome.unchanged) == ("ok", 0, 2)
    assert list(Activity.objects.values_list("pk", "updated_at").order_by("pk")) == before
    feed.refresh_from_db()
    assert feed.meetings_captured == 2


def test_a_higher_sequence_updates_the_same_activity(feed, ics_feeds):  # noqa: F811
    sync_connection(feed.pk)
    activity = Activity.objects.get(external_id="next/")
    moved = vevent(
        uid="next", start=FUTURE + DAY, summary="Globex demo (moved)", attendees=GLOBEX, sequence=1
    )
    ics_feeds.serve("/calendar/private-key/basic.ics", ics(PAST_MEETING, moved))

    result = sync_connection(feed.pk)

    assert (result.outcome.updated, result.outcome.logged, result.removed) == (1, 0, 0)
    activity.refresh_from_db()
    assert (activity.subject, activity.occurred_at) == ("Globex demo (moved)", FUTURE + DAY)
    assert CapturedEvent.objects.get(key="next/").sequence == 1


def test_a_cancellation_removes_the_meeting(feed, ics_feeds):  # noqa: F811
    sync_connection(feed.pk)
    cancelled = vevent(
        uid="next",
        start=FUTURE,
        summary="Globex demo",
        attendees=GLOBEX,
        sequence=1,
        extra=("STATUS:CANCELLED",),
    )
    ics_feeds.serve("/calendar/private-key/basic.ics", ics(PAST_MEETING, cancelled))

    result = sync_connection(feed.pk)

    assert (result.outcome.cancelled, result.outcome.removed, result.removed) == (1, 1, 0)
    assert calendar_activities() == [("past/", "Acme pilot review")]
    assert CapturedEvent.objects.get(key="next/").status == "cancelled"
    assert Contact.objects.get(emails__email="j.mueller@globex.de").next_meeting_at is None


# Deleted events


def test_an_event_deleted_from_the_feed_removes_its_meeting_and_comes_back_with_it(
    feed,
    ics_feeds,  # noqa: F811
):
    sync_connection(feed.pk)
    ics_feeds.serve("/calendar/private-key/basic.ics", ics(PAST_MEETING))

    result = sync_connection(feed.pk)

    assert (result.status, result.removed) == ("ok", 1)
    assert calendar_activities() == [("past/", "Acme pilot review")]
    record = CapturedEvent.objects.get(key="next/")
    assert (record.status, record.activity) == ("deleted", None)
    assert links(feed) == ["past/"]
    feed.refresh_from_db()
    assert feed.meetings_removed == 1
    assert Contact.objects.get(emails__email="j.mueller@globex.de").next_meeting_at is None

    ics_feeds.serve("/calendar/private-key/basic.ics", ics(PAST_MEETING, NEXT_MEETING))
    again = sync_connection(feed.pk)

    assert (again.outcome.logged, again.removed) == (1, 0)
    assert calendar_activities() == [("next/", "Globex demo"), ("past/", "Acme pilot review")]
    assert CapturedEvent.objects.get(key="next/").status == "logged"


def test_nothing_is_removed_when_the_feed_could_not_be_read_completely(feed, ics_feeds):  # noqa: F811
    sync_connection(feed.pk)
    broken = "BEGIN:VEVENT\r\nUID:broken\r\nSUMMARY:No start\r\nEND:VEVENT"
    path = "/calendar/private-key/basic.ics"

    ics_feeds.serve(path, ics(PAST_MEETING, broken))  # an event skipped as unreadable
    partial = sync_connection(feed.pk)
    ics_feeds.serve(path, ics())  # an empty calendar
    empty = sync_connection(feed.pk)
    ics_feeds.serve(path, ics(PAST_MEETING, NEXT_MEETING)[:-40])  # cut off
    cut = sync_connection(feed.pk)
    ics_feeds.serve(path, b"", status=500)
    failed = sync_connection(feed.pk)

    assert [r.status for r in (partial, empty, cut, failed)] == ["ok", "ok", "error", "error"]
    assert [r.removed for r in (partial, empty, cut, failed)] == [0, 0, 0, 0]
    assert calendar_activities() == [("next/", "Globex demo"), ("past/", "Acme pilot review")]
    assert cut.error == "The calendar from 127.0.0.1 was cut off before its end."
    assert failed.error == "127.0.0.1 answered with an error (HTTP 500)."


def test_only_meetings_this_calendar_still_covers_are_removed(cast, feed, ics_feeds):  # noqa: F811
    """A meeting older than the feed's earliest event (feeds that publish a recent range), one
    a file captured, and one another user's calendar still has, all stay."""
    old = vevent(uid="old", start=TODAY - 300 * DAY, summary="Old kickoff")
    path = "/calendar/private-key/basic.ics"
    ics_feeds.serve(path, ics(old, PAST_MEETING, NEXT_MEETING))
    sync_connection(feed.pk)
    from_file = vevent(uid="file", start=FUTURE + DAY, summary="From a file")
    capture_events(parse(ics(from_file)), user=cast.alice, calendar_ref="export.ics")
    bobs_url = ics_feeds.serve("/bob.ics", ics(NEXT_MEETING))
    bobs = feed_connection(cast.bob, bobs_url)
    sync_connection(bobs.pk)
    ics_feeds.serve(path, ics(PAST_MEETING))

    result = sync_connection(feed.pk)

    assert result.removed == 0
    assert [key for key, _subject in calendar_activities()] == ["file/", "next/", "old/", "past/"]
    assert links(feed) == ["old/", "past/"]
    assert links(bobs) == ["next/"]

    ics_feeds.serve("/bob.ics", ics(vevent(uid="other", start=FUTURE, attendees=GLOBEX)))
    assert sync_connection(bobs.pk).removed == 1
    assert [key for key, _subject in calendar_activities()] == ["file/", "old/", "other/", "past/"]


def test_recurring_events_expand_and_a_removed_occurrence_goes(feed, ics_feeds):  # noqa: F811
    start = TODAY - 14 * DAY + datetime.timedelta(hours=10)
    weekly = vevent(
        uid="weekly", start=start, summary="Acme weekly", extra=("RRULE:FREQ=WEEKLY;COUNT=5",)
    )
    path = "/calendar/private-key/basic.ics"
    ics_feeds.serve(path, ics(weekly))

    first = sync_connection(feed.pk)

    occurrences = [f"weekly/{(start + n * 7 * DAY).isoformat()}" for n in range(5)]
    assert first.outcome.logged == 5
    assert [key for key, _subject in calendar_activities()] == occurrences
    excluded = f"EXDATE:{start + 21 * DAY:%Y%m%dT%H%M%SZ}"
    ics_feeds.serve(path, ics(weekly.replace("END:VEVENT", f"{excluded}\r\nEND:VEVENT")))

    second = sync_connection(feed.pk)

    assert (second.removed, second.outcome.unchanged) == (1, 4)
    assert [key for key, _subject in calendar_activities()] == occurrences[:3] + occurrences[4:]


# Errors


def test_a_wrong_password_is_the_last_error_without_the_password(cast, ics_feeds):  # noqa: F811
    url = ics_feeds.serve("/team.ics", ics(PAST_MEETING), credentials="alice:right-one")
    connection = feed_connection(cast.alice, url, username="alice", password="hunter2-wrong-secret")

    result = sync_connection(connection.pk)

    connection.refresh_from_db()
    assert (result.status, connection.state) == ("error", "error")
    assert (
        connection.last_error
        == "127.0.0.1 refused access to the calendar (HTTP 401): check the address or its key."
    )
    assert "hunter2" not in connection.last_error
    assert (connection.last_success_at, Activity.objects.count()) == (None, 0)

    connection.secret = secrets.encrypt("right-one")
    connection.save()
    assert sync_connection(connection.pk).status == "ok"
    connection.refresh_from_db()
    assert (connection.state, connection.last_error, connection.meetings_captured) == ("ok", "", 1)


def test_a_web_page_instead_of_a_calendar_is_an_error(cast, ics_feeds):  # noqa: F811
    url = ics_feeds.serve("/share", b"<html><body>Sign in</body></html>", content_type="text/html")
    connection = feed_connection(cast.alice, url)

    result = sync_connection(connection.pk)

    assert result.error.startswith("The address on 127.0.0.1 does not return a calendar")


# Workers


def test_a_second_worker_is_busy_while_the_first_syncs(feed, monkeypatch):
    seen = []
    read = calendar_sync.read_events

    def read_and_race(connection, **window):
        seen.append(sync_connection(connection.pk))  # another worker, while this one reads
        return read(connection, **window)

    monkeypatch.setattr(calendar_sync, "read_events", read_and_race)

    result = sync_connection(feed.pk)

    assert [r.status for r in seen] == ["busy"]
    assert (result.status, result.outcome.logged) == ("ok", 2)


def test_a_stale_claim_is_taken_over_and_its_worker_stops(feed):
    now = timezone.now()
    CalendarConnection.objects.filter(pk=feed.pk).update(
        state="syncing", last_sync_at=now - datetime.timedelta(minutes=5)
    )
    assert sync_connection(feed.pk).status == "busy"

    CalendarConnection.objects.filter(pk=feed.pk).update(
        last_sync_at=now - claims.STALE_AFTER - datetime.timedelta(seconds=1)
    )
    assert sync_connection(feed.pk).status == "ok"


def test_a_paused_or_removed_calendar_is_not_synced(feed):
    CalendarConnection.objects.filter(pk=feed.pk).update(enabled=False)
    assert sync_connection(feed.pk).status == "disabled"
    assert sync_connection(feed.pk + 1000).status == "missing"
    assert Activity.objects.count() == 0


def test_due_connections_and_the_periodic_job(cast, feed, ics_feeds):  # noqa: F811
    now = timezone.now()
    recent = feed_connection(cast.alice, ics_feeds.serve("/recent.ics", ics()), last_sync_at=now)
    asked = feed_connection(
        cast.alice, ics_feeds.serve("/asked.ics", ics()), last_sync_at=now, sync_requested_at=now
    )
    old = feed_connection(
        cast.alice,
        ics_feeds.serve("/old.ics", ics()),
        last_sync_at=now - datetime.timedelta(minutes=16),
    )
    paused = feed_connection(cast.alice, ics_feeds.serve("/paused.ics", ics()), enabled=False)

    assert sorted(due_connections(now).values_list("pk", flat=True)) == sorted(
        [feed.pk, asked.pk, old.pk]
    )
    assert tasks.sync_due_calendars.call_local() == 3  # Huey runs them at once in tests
    assert sorted(ics_feeds.requests) == [
        "/asked.ics",
        "/calendar/private-key/basic.ics",
        "/old.ics",
    ]
    assert CalendarConnection.objects.get(pk=asked.pk).sync_requested_at is None
    assert CalendarConnection.objects.get(pk=recent.pk).state == "new"
    assert CalendarConnection.objects.get(pk=paused.pk).state == "new"
    assert Activity.objects.count() == 2
    assert tasks.sync_due_calendars.call_local() == 0  # synced a moment ago


# CalDAV against Radicale

CALDAV_MEETING = "\n".join(vevent(uid="dav-1", start=FUTURE, attendees=GLOBEX).split("\r\n"))
CALDAV_OTHER = "\n".join(vevent(uid="dav-2", start=PAST, summary="Acme call").split("\r\n"))


@pytest.fixture
def caldav_account(radicale_server, cast):  # noqa: F811
    work = radicale_server.make_calendar()
    home = radicale_server.make_calendar()
    radicale_server.put_event(work, "one", caldav_calendar_data(CALDAV_MEETING))
    radicale_server.put_event(home, "two", caldav_calendar_data(CALDAV_OTHER))
    connection = CalendarConnection.objects.create(
        user=cast.alice,
        kind=CalendarConnection.Kind.CALDAV,
        host="127.0.0.1",
        url=radicale_server.url,
        username=radicale_server.username,
        secret=secrets.encrypt(radicale_server.password),
    )
    yield connection, work, home
    radicale_server.delete(work)
    radicale_server.delete(home)


def test_caldav_sync_reads_the_chosen_calendars_and_notices_deleted_events(
    caldav_account,
    radicale_server,  # noqa: F811
):
    connection, work, home = caldav_account

    first = sync_connection(connection.pk)

    assert (first.status, first.outcome.logged) == ("ok", 2)
    connection.refresh_from_db()
    listed = {item["url"].rstrip("/").rsplit("/", 1)[1] for item in connection.available_calendars}
    assert {work.strip("/").split("/")[1], home.strip("/").split("/")[1]} <= listed

    work_url = next(i["url"] for i in connection.available_calendars if i["url"].endswith(work))
    connection.calendars = [work_url]
    connection.save()
    later = vevent(uid="dav-3", start=FUTURE - DAY, summary="Globex call", attendees=GLOBEX)
    radicale_server.put_event(work, "three", caldav_calendar_data("\n".join(later.split("\r\n"))))
    radicale_server.delete(f"{work}one.ics")
    second = sync_connection(connection.pk)

    assert (second.status, second.outcome.logged, second.removed) == ("ok", 1, 1)
    assert calendar_activities() == [("dav-2/", "Acme call"), ("dav-3/", "Globex call")]


def test_caldav_wrong_password_and_a_chosen_calendar_gone(caldav_account, radicale_server):  # noqa: F811
    connection, _work, _home = caldav_account
    connection.secret = secrets.encrypt("hunter2-wrong")
    connection.save()

    wrong = sync_connection(connection.pk)

    assert wrong.error == "127.0.0.1 refused the user name or password for the calendar."
    connection.secret = secrets.encrypt(radicale_server.password)
    connection.calendars = [radicale_server.url.rstrip("/") + "/rep/gone/"]
    connection.save()

    gone = sync_connection(connection.pk)

    assert gone.error == (
        "1 of the chosen calendars are no longer on 127.0.0.1: choose the calendars to sync again."
    )
    assert Activity.objects.count() == 0
