"""Calendar reading: ICS files as Google, Outlook and Apple write them, ICS feeds over HTTP, and a
real CalDAV server (Radicale)."""

import contextlib
import datetime
import http.server
import threading
import time
from pathlib import Path

import pytest

from salesdesk.capture.calendars import (
    CalDavSettings,
    CalendarError,
    caldav_events,
    fetch_ics_url,
    parse_ics,
)
from salesdesk.capture.message import Address
from tests.capture.caldav_server import radicale_server  # noqa: F401 - pytest fixture

DATA = Path(__file__).parent / "data" / "calendars"
UTC = datetime.UTC
# Four weeks around the switch to summer time in Europe (2025-03-30).
WINDOW = {
    "window_start": datetime.datetime(2025, 3, 17, tzinfo=UTC),
    "window_end": datetime.datetime(2025, 4, 14, tzinfo=UTC),
}
OUTLOOK_UID = (
    "040000008200E00074C5B7101A82E00800000000D0A1F0C2B389DB01000000000000000010000000"
    "F2F1A3C5E8B14D4B9C2A1E6F0D3B7A51"
)


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def calendar(*events: str, method: str = "PUBLISH") -> bytes:
    body = "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Salesdesk tests//EN", f"METHOD:{method}"]
        + [line for event in events for line in event.strip().splitlines()]
        + ["END:VCALENDAR", ""]
    )
    return body.encode()


# -- ICS files ---------------------------------------------------------------------------------


def test_google_meeting_with_external_attendees_skips_the_room():
    events, problems = parse_ics(read("google_feed.ics"), **WINDOW)

    assert problems == []
    meeting = events[0]
    assert meeting.uid == "4k1v3qkq0p8b2n5l6m7c9d0e1f@google.com"
    assert meeting.external_id == "4k1v3qkq0p8b2n5l6m7c9d0e1f@google.com/"
    assert meeting.recurrence_id == ""
    assert meeting.sequence == 0
    # 15:00 in Berlin in March (CET, UTC+1).
    assert (meeting.start, meeting.end) == (utc(2025, 3, 19, 14), utc(2025, 3, 19, 15))
    assert meeting.all_day is False
    assert meeting.summary == "Globex / Salesdesk \N{EN DASH} pricing call"
    assert meeting.location == "Globex HQ, Friedrichstraße 68, 10117 Berlin"
    assert meeting.description.startswith("Agenda:\n1. Pricing for 250 seats\n2. Security review")
    assert meeting.organizer == Address("alice@salesdesk.test", "Alice Archer")
    assert meeting.attendees == [
        Address("alice@salesdesk.test", "Alice Archer"),
        Address("j.mueller@globex.de", "Jonas Müller"),
        Address("priya.nair@globex.de", "Priya Nair"),
    ]
    assert meeting.partstat == {
        "alice@salesdesk.test": "ACCEPTED",
        "j.mueller@globex.de": "ACCEPTED",
        "priya.nair@globex.de": "TENTATIVE",
    }
    assert meeting.cancelled is False


def test_all_day_event_is_midnight_utc_with_exclusive_end():
    events, _ = parse_ics(read("google_feed.ics"), **WINDOW)

    offsite = events[1]
    assert offsite.summary == "Sales offsite"
    assert offsite.all_day is True
    assert (offsite.start, offsite.end) == (utc(2025, 3, 20), utc(2025, 3, 22))
    assert offsite.attendees == []
    assert offsite.organizer is None


def test_all_day_event_without_end_lasts_one_day():
    events, problems = parse_ics(
        calendar("BEGIN:VEVENT\nUID:day\nDTSTART;VALUE=DATE:20250401\nSUMMARY:Visit\nEND:VEVENT"),
        **WINDOW,
    )

    assert problems == []
    assert [(e.start, e.end, e.all_day) for e in events] == [
        (utc(2025, 4, 1), utc(2025, 4, 2), True)
    ]


def test_weekly_outlook_meeting_expands_with_exdate_and_moved_instance():
    """Mondays 10:00 Berlin from 3 March; 24 March excluded; 31 March moved to Tuesday 1 April
    15:00. Summer time starts on 30 March, so 10:00 Berlin is 09:00 UTC before, 08:00 after."""
    events, problems = parse_ics(read("outlook_weekly.ics"), **WINDOW)

    assert problems == []
    assert [(e.external_id.split("/")[1], e.start, e.end, e.summary) for e in events] == [
        (
            "2025-03-17T09:00:00+00:00",
            utc(2025, 3, 17, 9),
            utc(2025, 3, 17, 9, 30),
            "Globex rollout \N{EN DASH} weekly",
        ),
        (
            "2025-03-31T08:00:00+00:00",
            utc(2025, 4, 1, 13),
            utc(2025, 4, 1, 13, 30),
            "Globex rollout \N{EN DASH} weekly (moved)",
        ),
        (
            "2025-04-07T08:00:00+00:00",
            utc(2025, 4, 7, 8),
            utc(2025, 4, 7, 8, 30),
            "Globex rollout \N{EN DASH} weekly",
        ),
    ]
    assert {e.uid for e in events} == {OUTLOOK_UID}
    assert events[1].location == "Globex HQ, Room Kepler"
    assert events[0].attendees == [
        Address("j.mueller@globex.de", "Jonas Müller"),
        Address("priya.nair@globex.de", ""),  # Outlook repeats the address as the name
        Address("bob@salesdesk.test", "Bob Baker"),
    ]
    assert not any(e.cancelled for e in events)


def test_windows_time_zone_name_without_vtimezone():
    events, problems = parse_ics(
        calendar(
            """BEGIN:VEVENT
UID:exchange-1
DTSTART;TZID=Pacific Standard Time:20250320T090000
DTEND;TZID=Pacific Standard Time:20250320T100000
SUMMARY:Exchange call
END:VEVENT"""
        ),
        **WINDOW,
    )

    assert problems == []
    assert (events[0].start, events[0].end) == (utc(2025, 3, 20, 16), utc(2025, 3, 20, 17))


def test_cancelled_occurrence_has_the_key_of_the_expanded_one():
    weekly, _ = parse_ics(read("outlook_weekly.ics"), **WINDOW)
    cancels, problems = parse_ics(read("outlook_cancel_occurrence.ics"), **WINDOW)

    assert problems == []
    assert len(cancels) == 1
    cancel = cancels[0]
    assert cancel.cancelled is True
    assert cancel.external_id == f"{OUTLOOK_UID}/2025-04-07T08:00:00+00:00"
    assert cancel.external_id == weekly[2].external_id
    assert cancel.sequence == 2
    assert cancel.sequence > weekly[2].sequence


def test_method_cancel_for_a_whole_series_cancels_every_occurrence():
    events, _ = parse_ics(
        calendar(
            """BEGIN:VEVENT
UID:standup
SEQUENCE:3
DTSTART:20250401T080000Z
DTEND:20250401T081500Z
RRULE:FREQ=DAILY;COUNT=3
SUMMARY:Stand-up
END:VEVENT""",
            method="CANCEL",
        ),
        **WINDOW,
    )

    assert [(e.recurrence_id, e.cancelled) for e in events] == [
        ("2025-04-01T08:00:00+00:00", True),
        ("2025-04-02T08:00:00+00:00", True),
        ("2025-04-03T08:00:00+00:00", True),
    ]


def test_status_cancelled_in_a_feed_and_an_updated_event():
    before, _ = parse_ics(read("apple_v1.ics"), **WINDOW)
    after, problems = parse_ics(read("apple_v2.ics"), **WINDOW)

    assert problems == []
    renewal_before = next(e for e in before if e.summary == "Initech renewal")
    renewal_after = next(e for e in after if e.summary == "Initech renewal")
    assert (
        renewal_before.external_id
        == renewal_after.external_id
        == ("8F3B2C1D-4E5F-4A6B-8C7D-9E0F1A2B3C4D/")
    )
    assert (renewal_before.sequence, renewal_after.sequence) == (0, 1)
    # 14:00 New York (EDT since 9 March) moved to 09:30 on the 25th.
    assert renewal_before.start == utc(2025, 3, 20, 18)
    assert (renewal_after.start, renewal_after.end) == (
        utc(2025, 3, 25, 13, 30),
        utc(2025, 3, 25, 14, 30),
    )
    # Apple: urn:uuid values with an EMAIL parameter; the board room is not a person.
    assert renewal_after.organizer == Address("carol@salesdesk.test", "Carol Chen")
    assert renewal_after.attendees == [
        Address("dana@initech.com", "Dana Scully"),
        Address("carol@salesdesk.test", "Carol Chen"),
    ]
    assert renewal_after.location == "Initech, 4120 Freidrich Lane\nAustin TX 78744"
    lunch = [(e.summary, e.sequence, e.cancelled) for e in after if e.summary.startswith("Lunch")]
    assert lunch == [("Lunch with Dana", 1, True)]


def test_two_versions_in_one_file_keep_the_higher_sequence():
    """Several VCALENDARs in one file (concatenated exports): the newest version of each wins,
    whatever the order."""
    events, problems = parse_ics(read("apple_v2.ics") + read("apple_v1.ics"), **WINDOW)

    assert problems == []
    assert [(e.summary, e.sequence, e.start, e.cancelled) for e in events] == [
        ("Lunch with Dana", 1, utc(2025, 3, 21, 16), True),
        ("Initech renewal", 1, utc(2025, 3, 25, 13, 30), False),
    ]


def test_events_outside_the_window_are_left_out():
    events, _ = parse_ics(
        read("google_feed.ics"),
        window_start=utc(2025, 3, 20, 12),
        window_end=utc(2025, 3, 21),
    )

    assert [e.summary for e in events] == ["Sales offsite"]


def test_floating_time_and_unknown_zone_are_read_as_utc_and_reported():
    events, problems = parse_ics(
        calendar(
            """BEGIN:VEVENT
UID:floating
DTSTART:20250318T090000
DTEND:20250318T100000
END:VEVENT
BEGIN:VEVENT
UID:custom-zone
DTSTART;TZID=Customized Time Zone:20250319T090000
DTEND;TZID=Customized Time Zone:20250319T100000
END:VEVENT"""
        ),
        **WINDOW,
    )

    assert [(e.uid, e.start) for e in events] == [
        ("floating", utc(2025, 3, 18, 9)),
        ("custom-zone", utc(2025, 3, 19, 9)),
    ]
    assert problems == [
        "2 event(s) had no known time zone (floating times or an unknown TZID); "
        "their times were read as UTC."
    ]


def test_long_description_is_capped_and_nul_bytes_removed():
    events, _ = parse_ics(
        calendar(
            "BEGIN:VEVENT\nUID:long\nDTSTART:20250318T090000Z\n"
            f"SUMMARY:a\x00b\nDESCRIPTION:{'x' * 6000}\nEND:VEVENT"
        ),
        **WINDOW,
    )

    assert events[0].summary == "ab"
    assert len(events[0].description) == 5000
    assert events[0].description.endswith("x…")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "The calendar file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00garbage", "Not a readable iCalendar file"),
        (b"<html><body>Sign in</body></html>", "Not a readable iCalendar file"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:cut\r\nDTSTART:20250318T090000Z\r\nSUMM",
            "No complete calendar in the file",
        ),
    ],
)
def test_broken_files_give_problems_not_exceptions(data, problem):
    events, problems = parse_ics(data, **WINDOW)

    assert events == []
    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_bad_events_are_reported_and_the_good_ones_kept():
    events, problems = parse_ics(
        calendar(
            """BEGIN:VEVENT
UID:no-start
SUMMARY:No start
END:VEVENT
BEGIN:VEVENT
UID:bad-rule
DTSTART:20250318T090000Z
RRULE:FREQ=SOMETIMES
END:VEVENT
BEGIN:VEVENT
SUMMARY:No UID
DTSTART:20250319T090000Z
END:VEVENT
BEGIN:VEVENT
UID:good
DTSTART:20250320T090000Z
SEQUENCE:soon
END:VEVENT"""
        ),
        **WINDOW,
    )

    assert [(e.summary, e.start, e.sequence) for e in events] == [
        ("No UID", utc(2025, 3, 19, 9), 0),
        ("", utc(2025, 3, 20, 9), 0),
    ]
    assert events[0].uid.startswith("sha1-")
    # The made-up UID is stable: importing again gives the same key.
    again, _ = parse_ics(
        calendar("BEGIN:VEVENT\nSUMMARY:No UID\nDTSTART:20250319T090000Z\nEND:VEVENT"), **WINDOW
    )
    assert again[0].uid == events[0].uid
    assert problems == [
        "Event 'no-start' has no start date; skipped.",
        "Event 'bad-rule': unreadable RRULE (Expected frequency, got: SOMETIMES).",
        "An event without UID (No UID) got one.",
        "Event 'good': unreadable SEQUENCE (Expected int, got: soon).",
        "Event 'bad-rule' could not be expanded: UNTIL parameter is missing: FREQ=SOMETIMES",
    ]


def test_naive_window_is_a_programming_error():
    with pytest.raises(ValueError, match="aware"):
        parse_ics(
            read("google_feed.ics"),
            window_start=datetime.datetime(2025, 3, 1),  # noqa: DTZ001
            window_end=utc(2025, 4, 1),
        )


def big_feed(count: int) -> bytes:
    lines = []
    first = datetime.datetime(2025, 1, 1, 8, tzinfo=UTC)
    for i in range(count):
        start = first + datetime.timedelta(hours=3 * i)
        end = start + datetime.timedelta(minutes=45)
        lines += [
            "BEGIN:VEVENT",
            f"UID:bulk-{i}@example.com",
            "DTSTAMP:20250101T000000Z",
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
            f"DTEND:{end:%Y%m%dT%H%M%SZ}",
            f"SUMMARY:Meeting {i}",
            f"ATTENDEE;CN=Guest {i};PARTSTAT=ACCEPTED:mailto:guest{i}@customer{i % 50}.com",
            "END:VEVENT",
        ]
    return calendar("\n".join(lines))


def test_five_thousand_events():
    events, problems = parse_ics(
        big_feed(5000), window_start=utc(2025, 1, 1), window_end=utc(2027, 1, 1)
    )

    assert problems == []
    assert len(events) == 5000
    assert len({e.external_id for e in events}) == 5000
    assert events[0].start == utc(2025, 1, 1, 8)
    # Event 4999 starts 3 x 4999 = 14,997 hours (624 days 21 hours) after 2025-01-01 08:00.
    assert (events[-1].uid, events[-1].start) == ("bulk-4999@example.com", utc(2026, 9, 18, 5))
    assert events[-1].attendees == [Address("guest4999@customer49.com", "Guest 4999")]


# -- ICS feeds over HTTP -----------------------------------------------------------------------


class FeedHandler(http.server.BaseHTTPRequestHandler):
    feed = (DATA / "google_feed.ics").read_bytes()

    def do_GET(self):
        routes = {
            "/calendar/private-token/basic.ics": lambda: self.send(200, self.feed),
            "/private.ics": lambda: self.send(401, b"login required"),
            "/gone.ics": lambda: self.send(404, b"not here"),
            "/moved.ics": lambda: self.redirect("/calendar/private-token/basic.ics"),
            "/to-file.ics": lambda: self.redirect("file:///etc/passwd"),
            "/huge.ics": lambda: self.send(200, b"X" * 2_000),
            "/auth.ics": self.basic_auth,
            "/slow.ics": self.slow,
        }
        routes.get(self.path, lambda: self.send(404, b""))()

    def send(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "text/calendar; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def basic_auth(self):
        # base64("feeds:s3cret")
        if self.headers.get("Authorization") == "Basic ZmVlZHM6czNjcmV0":
            self.send(200, self.feed)
        else:
            self.send(401, b"")

    def slow(self):
        time.sleep(1.5)
        with contextlib.suppress(ConnectionError):  # the client gave up long ago
            self.send(200, self.feed)

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def feed_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_feed_and_parse_it(feed_server):
    data = fetch_ics_url(f"{feed_server}/calendar/private-token/basic.ics")

    assert data == read("google_feed.ics")
    events, _ = parse_ics(data, **WINDOW)
    assert [e.summary for e in events] == [
        "Globex / Salesdesk \N{EN DASH} pricing call",
        "Sales offsite",
    ]


def test_fetch_follows_http_redirects(feed_server):
    assert fetch_ics_url(f"{feed_server}/moved.ics") == read("google_feed.ics")


def test_fetch_with_credentials_in_the_address(feed_server):
    host = feed_server.removeprefix("http://")

    assert fetch_ics_url(f"http://feeds:s3cret@{host}/auth.ics") == read("google_feed.ics")
    with pytest.raises(CalendarError) as refused:
        fetch_ics_url(f"http://feeds:wrong@{host}/auth.ics")
    assert "wrong" not in str(refused.value)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/private.ics", "127.0.0.1 refused access to the calendar (HTTP 401)"),
        ("/gone.ics", "There is no calendar at this address on 127.0.0.1 (HTTP 404)."),
        ("/to-file.ics", "The calendar address redirects to something that is not a web page."),
    ],
)
def test_fetch_errors_are_calendar_errors(feed_server, path, message):
    with pytest.raises(CalendarError) as error:
        fetch_ics_url(feed_server + path)

    assert str(error.value).startswith(message)


def test_fetch_refuses_a_feed_over_the_size_limit(feed_server):
    with pytest.raises(CalendarError, match=r"larger than 0 MB"):
        fetch_ics_url(f"{feed_server}/huge.ics", max_bytes=1_000)
    assert fetch_ics_url(f"{feed_server}/huge.ics", max_bytes=2_000) == b"X" * 2_000


def test_fetch_times_out(feed_server):
    with pytest.raises(CalendarError, match=r"127.0.0.1 did not answer within 0.3 seconds"):
        fetch_ics_url(f"{feed_server}/slow.ics", timeout=0.3)


def test_fetch_error_does_not_reveal_the_secret_path(feed_server):
    with pytest.raises(CalendarError) as error:
        fetch_ics_url(f"{feed_server}/private.ics?token=abc123secret")

    assert "abc123secret" not in str(error.value)
    assert "private" not in str(error.value)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/cal.ics", "data:text/calendar,BEGIN", "/etc/hosts"],
)
def test_fetch_refuses_other_schemes(url):
    with pytest.raises(CalendarError, match=r"Only http://, https:// and webcal://"):
        fetch_ics_url(url)


def test_fetch_unreachable_host():
    with pytest.raises(CalendarError, match=r"Could not reach 127.0.0.1"):
        fetch_ics_url("http://127.0.0.1:9/calendar.ics", timeout=2)


# -- CalDAV against a real Radicale ------------------------------------------------------------

SINGLE = """BEGIN:VEVENT
UID:caldav-single@salesdesk.test
DTSTAMP:20250301T120000Z
SEQUENCE:0
DTSTART;TZID=Europe/Berlin:20250318T110000
DTEND;TZID=Europe/Berlin:20250318T120000
SUMMARY:Demo for Globex
ORGANIZER;CN=Rep:mailto:rep@salesdesk.test
ATTENDEE;CN=Jonas Müller;PARTSTAT=ACCEPTED:mailto:j.mueller@globex.de
END:VEVENT"""

WEEKLY = """BEGIN:VEVENT
UID:caldav-weekly@salesdesk.test
DTSTAMP:20250301T120000Z
DTSTART:20250305T150000Z
DTEND:20250305T153000Z
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE:20250326T150000Z
SUMMARY:Initech check-in
ATTENDEE;CN=Dana Scully:mailto:dana@initech.com
END:VEVENT
BEGIN:VEVENT
UID:caldav-weekly@salesdesk.test
DTSTAMP:20250301T120000Z
RECURRENCE-ID:20250402T150000Z
DTSTART:20250403T160000Z
DTEND:20250403T163000Z
SUMMARY:Initech check-in (Thursday)
ATTENDEE;CN=Dana Scully:mailto:dana@initech.com
END:VEVENT"""

ALL_DAY = """BEGIN:VEVENT
UID:caldav-allday@salesdesk.test
DTSTAMP:20250301T120000Z
DTSTART;VALUE=DATE:20250410
DTEND;VALUE=DATE:20250411
SUMMARY:Trade fair
END:VEVENT"""

BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


@pytest.fixture
def caldav_calendar(radicale_server):  # noqa: F811
    """A calendar with a single meeting, a weekly series and an all-day event, removed after the
    test so that every test sees only its own calendar."""
    path = radicale_server.make_calendar()
    radicale_server.put_event(path, "single", calendar(BERLIN, SINGLE))
    radicale_server.put_event(path, "weekly", calendar(WEEKLY))
    radicale_server.put_event(path, "allday", calendar(ALL_DAY))
    yield path
    radicale_server.delete(path)


def settings_for(server, password: str = "") -> CalDavSettings:
    return CalDavSettings(server.url, server.username, password or server.password)


def summary_of(events):
    return [(e.external_id, e.start, e.summary, e.cancelled) for e in events]


def test_caldav_events_in_the_window(radicale_server, caldav_calendar):  # noqa: F811
    events, problems = caldav_events(settings_for(radicale_server), **WINDOW)

    assert problems == []
    weekly = "caldav-weekly@salesdesk.test"
    # Weekly from 5 March, six times: 17 March is outside, 19 March in, 26 March excluded,
    # 2 April moved to 3 April, 9 April is the sixth.
    assert summary_of(events) == [
        ("caldav-single@salesdesk.test/", utc(2025, 3, 18, 10), "Demo for Globex", False),
        (f"{weekly}/2025-03-19T15:00:00+00:00", utc(2025, 3, 19, 15), "Initech check-in", False),
        (
            f"{weekly}/2025-04-02T15:00:00+00:00",
            utc(2025, 4, 3, 16),
            "Initech check-in (Thursday)",
            False,
        ),
        (f"{weekly}/2025-04-09T15:00:00+00:00", utc(2025, 4, 9, 15), "Initech check-in", False),
        ("caldav-allday@salesdesk.test/", utc(2025, 4, 10), "Trade fair", False),
    ]
    assert events[0].attendees == [Address("j.mueller@globex.de", "Jonas Müller")]
    assert events[0].organizer == Address("rep@salesdesk.test", "Rep")


def test_caldav_update_and_cancel_are_seen_on_refetch(radicale_server, caldav_calendar):  # noqa: F811
    moved = SINGLE.replace("SEQUENCE:0", "SEQUENCE:1").replace("T110000", "T140000")
    moved = moved.replace("T120000", "T150000")
    radicale_server.put_event(caldav_calendar, "single", calendar(BERLIN, moved))
    cancelled = WEEKLY.replace(
        "SUMMARY:Initech check-in (Thursday)",
        "SUMMARY:Initech check-in (Thursday)\nSTATUS:CANCELLED",
    )
    radicale_server.put_event(caldav_calendar, "weekly", calendar(cancelled))
    radicale_server.delete(f"{caldav_calendar}allday.ics")

    events, problems = caldav_events(settings_for(radicale_server), **WINDOW)

    assert problems == []
    weekly = "caldav-weekly@salesdesk.test"
    assert summary_of(events) == [
        ("caldav-single@salesdesk.test/", utc(2025, 3, 18, 13), "Demo for Globex", False),
        (f"{weekly}/2025-03-19T15:00:00+00:00", utc(2025, 3, 19, 15), "Initech check-in", False),
        (
            f"{weekly}/2025-04-02T15:00:00+00:00",
            utc(2025, 4, 3, 16),
            "Initech check-in (Thursday)",
            True,
        ),
        (f"{weekly}/2025-04-09T15:00:00+00:00", utc(2025, 4, 9, 15), "Initech check-in", False),
    ]
    assert events[0].sequence == 1
    assert events[0].end == utc(2025, 3, 18, 14)


def test_caldav_wrong_password(radicale_server, caldav_calendar):  # noqa: F811
    with pytest.raises(CalendarError) as error:
        caldav_events(settings_for(radicale_server, "hunter2-wrong"), **WINDOW)

    assert str(error.value) == "127.0.0.1 refused the user name or password for the calendar."


def test_caldav_unreachable_server_does_not_show_the_password():
    settings = CalDavSettings("http://127.0.0.1:9/dav/", "rep", "hunter2-secret")

    with pytest.raises(CalendarError) as error:
        caldav_events(settings, **WINDOW, timeout=2)

    assert str(error.value).startswith("Could not read the calendars on 127.0.0.1:")
    assert "hunter2-secret" not in str(error.value)
    assert "hunter2-secret" not in repr(settings)


@pytest.mark.parametrize("url", ["file:///etc/", "caldav.example.com/dav/", "http://"])
def test_caldav_refuses_addresses_that_are_not_http(url):
    with pytest.raises(CalendarError, match="must start with http:// or https:// and a host"):
        caldav_events(CalDavSettings(url, "rep", "x"), **WINDOW)
