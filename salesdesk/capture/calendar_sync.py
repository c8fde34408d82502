"""Syncing a connected calendar (an ICS feed or a CalDAV account) into meeting activities.

Each sync reads the whole calendar inside `meetings.default_window()` (a year back, 90 days
ahead) and hands the occurrences to `meetings.capture_events`, which applies SEQUENCE,
cancellations and RECURRENCE-ID. Capturing twice changes nothing, so a sync stopped at any point
is simply run again.

Claims work as for mailboxes (capture/sync.py): a short transaction with
`select_for_update(skip_locked=True)` sets `state=syncing`; `last_sync_at` is the heartbeat,
written at the start, before every batch and at the end; a claim without a heartbeat for
claims.STALE_AFTER is taken over, and the worker that lost it stops at its next batch.

Deleted events. An occurrence removes its meeting activity when it disappears from the calendar,
but only when all of these hold:
- this connection captured it before and still saw it at its previous complete sync (the
  `CalendarConnection.events` links; a file import or another user's calendar never counts);
- the sync read the calendar completely: the download or every CalDAV calendar succeeded, the
  data is a whole iCalendar file, and nothing in it was skipped as unreadable;
- it starts inside the window, a day in from either end, and not before the earliest event the
  calendar still returns: feeds that publish only a recent range (Outlook's "previous 30 days")
  drop old meetings that took place, and those stay;
- no other connected calendar still has it (a meeting two reps are invited to).
Its record is kept as "deleted": if the event comes back, so does its meeting. A meeting whose
activity a user deleted by hand stays deleted, as for files.
"""

import datetime
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from salesdesk.activities.models import Activity
from salesdesk.analytics import rollups
from salesdesk.capture import secrets
from salesdesk.capture.calendars import (
    CalDavSettings,
    CalendarError,
    ParsedEvent,
    caldav_calendars,
    caldav_events,
    fetch_ics_url,
    parse_ics,
)
from salesdesk.capture.claims import Claim, ClaimLost, Status, due
from salesdesk.capture.meetings import (
    MeetingOutcome,
    capture_events,
    default_window,
    event_key,
    refresh_next_meetings,
)
from salesdesk.capture.models import CalendarConnection, CapturedEvent

logger = logging.getLogger(__name__)

GENERIC_ERROR = "Sync failed; it will be retried."
BATCH = 500  # occurrences per transaction
TIMEOUT = 30  # seconds for a download in the background
EDGE = datetime.timedelta(days=1)  # deletions stay this far inside the window
# Problems `parse_ics` reports about events it still returned: they do not make a read partial.
INFORMATIONAL = ("event(s) had no known time zone", "An event without UID")


@dataclass
class CalendarSyncResult:
    status: Status
    outcome: MeetingOutcome = field(default_factory=MeetingOutcome)
    removed: int = 0  # meetings removed because their event was deleted from the calendar
    error: str = ""


# --- Reading ------------------------------------------------------------------------------------


def fetch_feed(url: str, *, username: str = "", password: str = "", timeout: float = TIMEOUT):
    """Download an ICS feed (with basic authentication when a username is given) and make sure
    it is a whole iCalendar file. Raises CalendarError; its message never holds the password."""
    if username:
        parts = urllib.parse.urlsplit(url.strip())
        credentials = (
            f"{urllib.parse.quote(username, safe='')}:{urllib.parse.quote(password, safe='')}"
        )
        url = urllib.parse.urlunsplit(parts._replace(netloc=f"{credentials}@{parts.netloc}"))
    try:
        data = fetch_ics_url(url, timeout=timeout)
    except CalendarError as error:
        raise CalendarError(_scrub(str(error), password)) from None
    host = urllib.parse.urlsplit(url.strip()).hostname or "the server"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    if not head.startswith(b"BEGIN:VCALENDAR"):
        raise CalendarError(
            f"The address on {host} does not return a calendar (iCalendar data) but something "
            "else, such as a web page: copy the calendar's ICS or iCal address."
        )
    if b"END:VCALENDAR" not in data[-4096:].upper():
        raise CalendarError(f"The calendar from {host} was cut off before its end.")
    return data


def caldav_settings(connection: CalendarConnection) -> CalDavSettings:
    password = secrets.decrypt(connection.secret) if connection.secret else ""
    return CalDavSettings(connection.url, connection.username, password)


def read_events(
    connection: CalendarConnection,
    *,
    window_start: datetime.datetime,
    window_end: datetime.datetime,
    timeout: float = TIMEOUT,
) -> tuple[list[ParsedEvent], list[str], list[dict]]:
    """(events, problems, the CalDAV account's calendars) of the connection in the window.
    Raises CalendarError, or SecretError for a password that can no longer be read."""
    window = {"window_start": window_start, "window_end": window_end}
    if connection.kind == CalendarConnection.Kind.CALDAV:
        settings = caldav_settings(connection)
        listed = [
            {"url": url, "name": name} for url, name in caldav_calendars(settings, timeout=timeout)
        ]
        events, problems = caldav_events(
            settings, **window, timeout=timeout, calendars=connection.calendars
        )
        return events, problems, listed
    password = secrets.decrypt(connection.secret) if connection.secret else ""
    data = fetch_feed(
        secrets.decrypt(connection.url_secret),
        username=connection.username,
        password=password,
        timeout=timeout,
    )
    events, problems = parse_ics(data, **window)
    if not events and any(not _informational(problem) for problem in problems):
        raise CalendarError(f"The calendar on {connection.host} could not be read: {problems[0]}")
    return events, problems, []


def _informational(problem: str) -> bool:
    return any(marker in problem for marker in INFORMATIONAL)


def _scrub(message: str, password: str) -> str:
    if password:
        for form in {password, urllib.parse.quote(password, safe="")}:
            message = message.replace(form, "***")
    return message


# --- Syncing ------------------------------------------------------------------------------------


def due_connections(now: datetime.datetime) -> QuerySet[CalendarConnection]:
    """Enabled connections never synced, synced longer ago than their interval, or asked to
    sync now (the claim refuses one another worker is syncing)."""
    return due(CalendarConnection, now)


def sync_connection(
    connection_id: int, *, now: datetime.datetime | None = None, batch: int = BATCH
) -> CalendarSyncResult:
    """Sync one connected calendar (see the module docstring) and record how it went on it."""
    clock: Callable[[], datetime.datetime] = (lambda: now) if now else timezone.now
    claim = Claim.take(CalendarConnection, connection_id, clock())
    if isinstance(claim, str):
        return CalendarSyncResult(status=claim)
    run = _Run(claim=claim)
    try:
        run.sync(clock, batch)
    except ClaimLost:
        logger.warning("calendar %s: another worker took over a stale sync", connection_id)
        return CalendarSyncResult(status="busy", outcome=run.outcome, removed=run.removed)
    except (CalendarError, secrets.SecretError) as error:
        message = str(error)[:500]
        logger.info("calendar %s sync failed: %s", connection_id, message)
        claim.finish(clock(), error=message)
        return CalendarSyncResult(
            status="error", outcome=run.outcome, removed=run.removed, error=message
        )
    except Exception:
        logger.exception("calendar %s sync failed unexpectedly", connection_id)
        claim.finish(clock(), error=GENERIC_ERROR)
        return CalendarSyncResult(
            status="error", outcome=run.outcome, removed=run.removed, error=GENERIC_ERROR
        )
    claim.finish(clock(), error="")
    return CalendarSyncResult(status="ok", outcome=run.outcome, removed=run.removed)


@dataclass
class _Run:
    claim: Claim
    outcome: MeetingOutcome = field(default_factory=MeetingOutcome)
    removed: int = 0

    def sync(self, clock: Callable[[], datetime.datetime], batch: int) -> None:
        connection = self.claim.row
        window_start, window_end = default_window(clock())
        events, problems, listed = read_events(
            connection, window_start=window_start, window_end=window_end
        )
        for problem in problems:
            logger.info("calendar %s: %s", connection.pk, problem[:300])
        if listed:
            CalendarConnection.objects.filter(pk=connection.pk).update(available_calendars=listed)
        for start in range(0, len(events), batch):
            self.store(events[start : start + batch], clock())
        is_complete = not any(not _informational(problem) for problem in problems)
        if is_complete and events:
            earliest = min(event.start for event in events)
            self.remove_deleted(
                seen={event_key(event.external_id) for event in events},
                since=max(window_start + EDGE, earliest),
                until=window_end - EDGE,
                now=clock(),
            )

    def store(self, chunk: list[ParsedEvent], now: datetime.datetime) -> None:
        """One batch, its links to the connection and the heartbeat, in one transaction."""
        connection = self.claim.row
        with transaction.atomic():
            self.claim.beat(now)
            stored = capture_events(
                chunk, user=connection.user, calendar_ref=connection.calendar_ref
            )
            keys = [event_key(event.external_id) for event in chunk]
            ids = CapturedEvent.objects.filter(key__in=keys).values_list("pk", flat=True)
            through = CalendarConnection.events.through
            through.objects.bulk_create(
                [through(calendarconnection_id=connection.pk, capturedevent_id=pk) for pk in ids],
                ignore_conflicts=True,
            )
            CalendarConnection.objects.filter(pk=connection.pk).update(
                meetings_captured=F("meetings_captured") + stored.logged
            )
        self.claim.heartbeat = now
        self.outcome.add(stored)

    def remove_deleted(
        self,
        *,
        seen: set[str],
        since: datetime.datetime,
        until: datetime.datetime,
        now: datetime.datetime,
    ) -> None:
        """Remove the meetings of events gone from the calendar (the rule is in the module
        docstring), in one transaction."""
        with transaction.atomic():
            self.claim.beat(now)
            self.removed += self._remove(seen=seen, since=since, until=until, now=now)
        self.claim.heartbeat = now

    def _remove(
        self,
        *,
        seen: set[str],
        since: datetime.datetime,
        until: datetime.datetime,
        now: datetime.datetime,
    ) -> int:
        through = CalendarConnection.events.through
        connection = self.claim.row
        linked = connection.events.filter(starts_at__gte=since, starts_at__lt=until)
        gone = [pk for pk, key in linked.values_list("pk", "key") if key not in seen]
        if not gone:
            return 0
        through.objects.filter(
            calendarconnection_id=connection.pk, capturedevent_id__in=gone
        ).delete()
        still_elsewhere = set(
            through.objects.filter(capturedevent_id__in=gone).values_list(
                "capturedevent_id", flat=True
            )
        )
        records = list(
            CapturedEvent.objects.select_for_update().filter(
                pk__in=set(gone) - still_elsewhere,
                status=CapturedEvent.Status.LOGGED,
                activity__isnull=False,
            )
        )
        if not records:
            return 0
        activity_ids = [record.activity_id for record in records]
        activities = Activity.objects.filter(pk__in=activity_ids)
        keys = rollups.activity_keys_of(activities)
        contacts = set(
            Activity.contacts.through.objects.filter(activity_id__in=activity_ids).values_list(
                "contact_id", flat=True
            )
        )
        activities.delete()
        CapturedEvent.objects.filter(pk__in=[record.pk for record in records]).update(
            status=CapturedEvent.Status.DELETED, activity=None, updated_at=now
        )
        refresh_next_meetings(contacts, now=now)
        rollups.refresh_activities(keys)
        CalendarConnection.objects.filter(pk=connection.pk).update(
            meetings_removed=F("meetings_removed") + len(records)
        )
        return len(records)
