"""From calendar events to meeting activities: the calendar half of capture.

`capture_events` takes the occurrences `calendars.parse_ics` (or `caldav_events`) read for a user
and keeps one meeting activity per occurrence that has someone from outside the organization on
it (an attendee or the organizer; colleagues and rooms do not count):

- The people are matched, created or suggested exactly as for e-mail (`pipeline._People`): the
  same match keys, the same capture mode, the same company-from-domain rule and the same choice
  of the company's open deal. Contacts made here have the source "calendar".
- Each occurrence is remembered in `CapturedEvent` under its key (UID + "/" + RECURRENCE-ID,
  hashed when longer than 255 characters), which is also the activity's external id. Importing
  it again changes nothing; a copy with a higher or equal SEQUENCE and different content updates
  the same activity (time, title, notes, people); a lower SEQUENCE is an older copy and is
  ignored.
- A cancellation deletes the activity (a meeting that did not take place is no activity: it
  leaves the timeline and the activity counts) and keeps the row, cancelled, with its
  SEQUENCE: the copy from before the cancellation cannot bring the meeting back, at an equal
  SEQUENCE either. Only a higher SEQUENCE (the organizer re-instated it) does. A cancellation
  without RECURRENCE-ID is for the whole event: every stored occurrence of the UID goes.
- A meeting that lost all its outside people in an update loses its activity the same way.
- A user who deleted a captured meeting's activity by hand is not overruled: re-imports leave it
  deleted.
- Past meetings move the last interaction of their contacts, company and deal forward (never
  back, as e-mail does). The next meeting of every touched contact is recomputed from the
  stored meeting activities, so a cancelled or moved meeting moves it too. Companies and deals
  have no next-meeting field.
- The activity rollups of every (owner, month) touched, before and after, are recomputed.

A batch is one transaction: a few queries whatever its size. Two workers capturing the same
occurrence at once collide on the unique keys; the batch is then retried.
"""

import dataclasses
import datetime
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from salesdesk.accounts.models import User
from salesdesk.activities.models import Activity
from salesdesk.analytics import rollups
from salesdesk.capture.calendars import ParsedEvent, parse_ics
from salesdesk.capture.files import FileError
from salesdesk.capture.message import Address
from salesdesk.capture.models import CapturedEvent
from salesdesk.capture.pipeline import RETRIES, _Context, _People, outside_participants
from salesdesk.crm.models import Contact

logger = logging.getLogger(__name__)

SOURCE_LABEL = "calendar"  # Contact.source of the contacts meetings create
BATCH = 500  # occurrences per transaction when capturing a file
WINDOW_BACK = datetime.timedelta(days=365)
WINDOW_AHEAD = datetime.timedelta(days=90)
STATUS = CapturedEvent.Status
RECORD_FIELDS = [
    "sequence", "fingerprint", "status", "starts_at", "summary", "activity", "captured_by",
    "calendar_ref", "updated_at",
]  # fmt: skip


@dataclass
class MeetingOutcome:
    """What a batch did; every occurrence counts in exactly one of the first six."""

    logged: int = 0  # new meeting activities
    updated: int = 0  # activities changed by a newer copy
    cancelled: int = 0  # cancellations applied (the activities they removed: `removed`)
    unchanged: int = 0  # seen before as it is, or its activity was deleted by a user
    stale: int = 0  # older than what was applied before: ignored
    internal: int = 0  # nobody from outside on it
    removed: int = 0  # activities deleted by cancellations or by losing all outside people
    contacts_created: int = 0
    companies_created: int = 0
    suggested: int = 0

    def add(self, other: "MeetingOutcome") -> None:
        for item in dataclasses.fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    @property
    def seen(self) -> int:
        return (
            self.logged
            + self.updated
            + self.cancelled
            + self.unchanged
            + self.stale
            + self.internal
        )


def event_key(text: str) -> str:
    """An external id that fits in 255 characters: the text, or a hash of it when longer."""
    if len(text) <= 255:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _Meeting:
    """One occurrence and its outside participants, in the shape `_People` works with."""

    event: ParsedEvent
    key: str
    uid_key: str
    outside: list[tuple[Address, str, str]]
    domains: list[str]

    @classmethod
    def of(cls, event: ParsedEvent, context: _Context) -> "_Meeting":
        roles = [("organizer", event.organizer)] + [("attendee", a) for a in event.attendees]
        outside, domains = outside_participants(roles, context)
        return cls(
            event=event,
            key=event_key(event.external_id),
            uid_key=event_key(event.uid),
            outside=outside,
            domains=domains,
        )

    @property
    def is_external(self) -> bool:
        return bool(self.outside or self.domains)

    @property
    def is_whole_event(self) -> bool:
        return self.event.recurrence_id == ""

    @property
    def fingerprint(self) -> str:
        event = self.event
        content = [
            event.start.isoformat(),
            event.end.isoformat(),
            event.summary,
            event.description,
            event.location,
            sorted(key for _address, key, _role in self.outside),
            self.domains,
        ]
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()

    @property
    def body(self) -> str:
        event = self.event
        location = f"Location: {event.location}" if event.location else ""
        return "\n\n".join(part for part in (event.description, location) if part)

    @property
    def duration(self) -> datetime.timedelta | None:
        length = self.event.end - self.event.start
        return length if length > datetime.timedelta(0) else None


def capture_events(
    events: Iterable[ParsedEvent], *, user: User, calendar_ref: str
) -> MeetingOutcome:
    """Capture a batch of calendar occurrences for `user` (see the module docstring)."""
    events = list(events)
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return _Batch(user, calendar_ref).run(events)
        except IntegrityError:
            # Another worker captured some of these occurrences meanwhile: retried, they are
            # known now.
            if attempt == RETRIES - 1:
                raise
            logger.info("calendar capture collided with another worker; retrying")
    raise AssertionError("unreachable")


class _Batch:
    def __init__(self, user: User, calendar_ref: str):
        self.user = user
        self.calendar_ref = calendar_ref[:500]
        self.now = timezone.now()
        self.outcome = MeetingOutcome()
        self.context = dataclasses.replace(_Context.load(user), source_label=SOURCE_LABEL)
        self.records: dict[str, CapturedEvent] = {}
        self.new_records: list[CapturedEvent] = []
        self.changed_records: dict[int, CapturedEvent] = {}
        self.to_create: list[tuple[_Meeting, CapturedEvent]] = []
        self.to_update: list[tuple[_Meeting, CapturedEvent]] = []
        self.to_delete: set[int] = set()
        # Whole-event cancellations stored or in this batch: uid → their highest SEQUENCE. An
        # occurrence of that UID no newer than it is an older copy of a cancelled meeting.
        self.series_cancelled: dict[str, int] = {}

    def run(self, events: list[ParsedEvent]) -> MeetingOutcome:
        meetings: dict[str, _Meeting] = {}
        for event in events:
            meeting = _Meeting.of(event, self.context)
            known = meetings.get(meeting.key)
            if known is None or event.sequence >= known.event.sequence:
                if known is not None:
                    self.outcome.stale += 1
                meetings[meeting.key] = meeting
            else:
                self.outcome.stale += 1
        if not meetings:
            return self.outcome
        self._load(meetings)
        for record in self.records.values():
            if record.status == STATUS.CANCELLED and record.recurrence_id == "":
                self._cancel_series_at(record.uid_key, record.sequence)
        for meeting in meetings.values():
            if meeting.event.cancelled and meeting.is_whole_event:
                self._cancel_series_at(meeting.uid_key, meeting.event.sequence)
        # Live copies first: a cancellation then finds what they changed (and their SEQUENCE).
        for meeting in meetings.values():
            if not meeting.event.cancelled:
                self._decide_live(meeting)
        for meeting in meetings.values():
            if meeting.event.cancelled:
                self._decide_cancelled(meeting)
        self._write()
        return self.outcome

    def _cancel_series_at(self, uid_key: str, sequence: int) -> None:
        self.series_cancelled[uid_key] = max(sequence, self.series_cancelled.get(uid_key, sequence))

    # --- Reading what is stored --------------------------------------------------------------

    def _load(self, meetings: dict[str, _Meeting]) -> None:
        keys = set(meetings) | {event_key(m.event.uid + "/") for m in meetings.values()}
        whole = {m.uid_key for m in meetings.values() if m.event.cancelled and m.is_whole_event}
        self.records = {
            record.key: record
            for record in CapturedEvent.objects.select_for_update().filter(
                Q(key__in=keys) | Q(uid_key__in=whole)
            )
        }
        # A calendar activity without its record (written by another tool, or the record was
        # removed): adopted, so that the unique external id is updated, not inserted twice.
        missing = [key for key in meetings if key not in self.records]
        for external_id, activity_id in Activity.objects.filter(
            source=Activity.Source.CALENDAR, external_id__in=missing
        ).values_list("external_id", "pk"):
            meeting = meetings[external_id]
            record = self._new_record(meeting, STATUS.LOGGED, sequence=-1)
            record.activity_id = activity_id
            record.fingerprint = ""

    def _new_record(self, meeting: _Meeting, status: str, sequence=None) -> CapturedEvent:
        event = meeting.event
        record = CapturedEvent(
            key=meeting.key,
            uid_key=meeting.uid_key,
            recurrence_id=event.recurrence_id[:40],
            sequence=event.sequence if sequence is None else sequence,
            fingerprint=meeting.fingerprint,
            status=status,
            starts_at=event.start,
            summary=event.summary[:255],
            captured_by=self.user,
            calendar_ref=self.calendar_ref,
            created_at=self.now,
            updated_at=self.now,
        )
        self.records[meeting.key] = record
        self.new_records.append(record)
        return record

    def _changed(self, record: CapturedEvent, meeting: _Meeting, status: str) -> None:
        event = meeting.event
        record.sequence = max(record.sequence, event.sequence)
        record.status = status
        record.calendar_ref = self.calendar_ref
        record.updated_at = self.now
        if not event.cancelled:  # keep the title, not Outlook's "Canceled: …"
            record.fingerprint = meeting.fingerprint
            record.starts_at = event.start
            record.summary = event.summary[:255]
        if record.pk is not None:
            self.changed_records[record.pk] = record

    # --- Deciding -----------------------------------------------------------------------------

    def _decide_live(self, meeting: _Meeting) -> None:
        event, record = meeting.event, self.records.get(meeting.key)
        if self._is_stale(meeting, record):
            self.outcome.stale += 1
            return
        if not meeting.is_external:
            self.outcome.internal += 1
            if record is not None:
                self._remove_activity(record)
                self._changed(record, meeting, STATUS.INTERNAL)
            return
        if record is None:
            record = self._new_record(meeting, STATUS.LOGGED)
            self.to_create.append((meeting, record))
        elif record.activity_id is None and record.status != STATUS.LOGGED:
            self._changed(record, meeting, STATUS.LOGGED)  # re-instated, or outside people again
            self.to_create.append((meeting, record))
        elif record.activity_id is None:  # its activity was deleted by a user: left deleted
            self.outcome.unchanged += 1
            if event.sequence > record.sequence:
                record.sequence = event.sequence
                self.changed_records[record.pk] = record
        elif record.fingerprint == meeting.fingerprint:
            self.outcome.unchanged += 1
            if event.sequence > record.sequence:
                self._changed(record, meeting, STATUS.LOGGED)
        else:
            self._changed(record, meeting, STATUS.LOGGED)
            self.to_update.append((meeting, record))

    def _is_stale(self, meeting: _Meeting, record: CapturedEvent | None) -> bool:
        sequence = meeting.event.sequence
        if record is not None and sequence < record.sequence:
            return True
        if record is not None and record.status == STATUS.CANCELLED and sequence == record.sequence:
            return True  # the copy from before the cancellation: a tie never re-instates
        cancelled_at = self.series_cancelled.get(meeting.uid_key)
        return cancelled_at is not None and sequence <= cancelled_at

    def _decide_cancelled(self, meeting: _Meeting) -> None:
        sequence, record = meeting.event.sequence, self.records.get(meeting.key)
        if record is not None and sequence < record.sequence:
            self.outcome.stale += 1
            return
        targets = [] if record is None else [record]
        if meeting.is_whole_event:
            targets += [
                other
                for other in self.records.values()
                if other.uid_key == meeting.uid_key
                and other.key != meeting.key
                and other.status != STATUS.CANCELLED
                and other.sequence <= sequence
            ]
        if record is not None and record.status == STATUS.CANCELLED and len(targets) == 1:
            self.outcome.unchanged += 1  # this cancellation was applied before
            if sequence > record.sequence:
                self._changed(record, meeting, STATUS.CANCELLED)
            return
        if not targets and not meeting.is_external:
            self.outcome.internal += 1  # a colleagues' meeting never captured: nothing to do
            return
        self.outcome.cancelled += 1
        for target in targets:
            self._remove_activity(target)
            self._changed(target, meeting, STATUS.CANCELLED)
        if record is None:
            self._new_record(meeting, STATUS.CANCELLED)

    def _remove_activity(self, record: CapturedEvent) -> None:
        if record.activity_id is not None:
            self.to_delete.add(record.activity_id)
            self.outcome.removed += 1
            record.activity = None

    # --- Writing ------------------------------------------------------------------------------

    def _write(self) -> None:
        through = Activity.contacts.through
        updated_ids = [record.activity_id for _m, record in self.to_update]
        before_ids = set(updated_ids) | self.to_delete
        before = Activity.objects.filter(pk__in=before_ids)
        keys = rollups.activity_keys_of(before) if before_ids else set()
        touched_contacts = set(
            through.objects.filter(activity_id__in=before_ids).values_list("contact_id", flat=True)
        )
        previous = {
            pk: (company_id, deal_id)
            for pk, company_id, deal_id in Activity.objects.filter(pk__in=updated_ids).values_list(
                "pk", "company_id", "deal_id"
            )
        }

        written = [meeting for meeting, _record in self.to_create + self.to_update]
        people = _People(self.context, written, self.outcome)
        if written:
            people.resolve()
        created = []
        for meeting, _record in self.to_create:
            activity = Activity(
                kind=Activity.Kind.MEETING,
                owner=self.user,
                source=Activity.Source.CALENDAR,
                external_id=meeting.key,
            )
            self._fill(activity, meeting, people)
            created.append(activity)
        Activity.objects.bulk_create(created)
        for (_meeting, record), activity in zip(self.to_create, created, strict=True):
            record.activity = activity
        updated = []
        for meeting, record in self.to_update:
            activity = Activity(
                pk=record.activity_id, source=Activity.Source.CALENDAR, external_id=meeting.key
            )
            self._fill(activity, meeting, people, previous.get(record.activity_id, (None, None)))
            updated.append(activity)
        if updated:
            Activity.objects.bulk_update(
                updated,
                ["subject", "body", "occurred_at", "duration", "company", "deal", "updated_at"],
            )
            through.objects.filter(activity_id__in=updated_ids).delete()
        pairs = [
            through(activity_id=activity.pk, contact_id=contact_id)
            for (meeting, _record), activity in zip(
                self.to_create + self.to_update, created + updated, strict=True
            )
            for contact_id in people.contacts_of(meeting)
        ]
        through.objects.bulk_create(pairs, ignore_conflicts=True)
        touched_contacts |= {pair.contact_id for pair in pairs}

        if self.to_delete:
            Activity.objects.filter(pk__in=self.to_delete).delete()
        CapturedEvent.objects.bulk_create(self.new_records)
        if self.changed_records:
            CapturedEvent.objects.bulk_update(list(self.changed_records.values()), RECORD_FIELDS)

        self.outcome.logged += len(created)
        self.outcome.updated += len(updated)
        people.touch(written, moment_of=self._interaction_time)
        refresh_next_meetings(touched_contacts, now=self.now)
        written_ids = [a.pk for a in created + updated]
        if written_ids:
            keys |= rollups.activity_keys_of(Activity.objects.filter(pk__in=written_ids))
        rollups.refresh_activities(keys)

    def _fill(
        self, activity: Activity, meeting: _Meeting, people: _People, previous=(None, None)
    ) -> None:
        """Set what the event says; `previous` is the (company, deal) the activity had."""
        event = meeting.event
        company_id = people.company_of(meeting)
        # A rep may have filed the meeting under another deal of the same company: kept.
        if previous[1] and previous[0] == company_id:
            deal_id = previous[1]
        else:
            deal_id = people.deal_of_company.get(company_id) if company_id else None
        activity.subject = event.summary[:255]
        activity.body = meeting.body
        activity.occurred_at = event.start
        activity.duration = meeting.duration
        activity.company_id = company_id
        activity.deal_id = deal_id
        activity.updated_at = self.now

    def _interaction_time(self, meeting: _Meeting) -> datetime.datetime | None:
        return meeting.event.start if meeting.event.start <= self.now else None


def refresh_next_meetings(contact_ids: Iterable[int], *, now: datetime.datetime | None = None):
    """Set each contact's next meeting to the earliest meeting activity on it from `now` on (or
    none), in one UPDATE. Also what a periodic job calls, since meetings pass."""
    contact_ids = sorted(set(contact_ids))
    if not contact_ids:
        return
    upcoming = (
        Activity.contacts.through.objects.filter(
            contact_id=OuterRef("pk"),
            activity__kind=Activity.Kind.MEETING,
            activity__occurred_at__gte=now or timezone.now(),
        )
        .order_by("activity__occurred_at")
        .values("activity__occurred_at")[:1]
    )
    Contact.objects.filter(pk__in=contact_ids).update(next_meeting_at=Subquery(upcoming))


# --- Files ------------------------------------------------------------------------------------


def default_window(
    now: datetime.datetime | None = None,
) -> tuple[datetime.datetime, datetime.datetime]:
    """One year back to 90 days ahead: the meetings that make last interactions and the next
    ones."""
    now = now or timezone.now()
    return now - WINDOW_BACK, now + WINDOW_AHEAD


def capture_ics_file(
    path: str | os.PathLike,
    *,
    user: User,
    window_start: datetime.datetime,
    window_end: datetime.datetime,
    batch: int = BATCH,
) -> tuple[MeetingOutcome, list[str]]:
    """Capture the meetings of an .ics file in [window_start, window_end) for `user`. Returns
    the outcome and the problems met reading the file; raises FileError when it is not a
    calendar at all."""
    path = Path(path)
    if not path.is_file():
        raise FileError(f"{path} is not a file.")
    data = path.read_bytes()
    if b"BEGIN:VCALENDAR" not in data.upper():
        raise FileError(f"{path} is not an iCalendar (.ics) file: it has no BEGIN:VCALENDAR.")
    events, problems = parse_ics(data, window_start=window_start, window_end=window_end)
    if not events and problems:
        raise FileError(f"{path}: nothing could be read. " + " ".join(problems))
    outcome = MeetingOutcome()
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        outcome.add(capture_events(chunk, user=user, calendar_ref=path.name))
    return outcome, problems
