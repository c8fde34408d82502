import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from salesdesk.accounts import visibility
from salesdesk.accounts.visibility import NOTHING
from salesdesk.activities.models import Activity
from salesdesk.capture.sending_selectors import with_email_tracking
from salesdesk.pipeline.models import Deal, StageChange


def activity_list(
    *,
    actor,
    owner_id: int | None = None,
    company_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    kind: str | None = None,
    source: str | None = None,
    is_done: bool | None = None,
    q: str | None = None,
    occurred_after: datetime.datetime | None = None,
    occurred_before: datetime.datetime | None = None,
    due_before: datetime.datetime | None = None,
) -> QuerySet[Activity]:
    activities = visibility.scope(actor, Activity.objects.all())
    exact = {
        "owner_id": owner_id,
        "company_id": company_id,
        "contacts__id": contact_id,
        "deal_id": deal_id,
        "kind": kind,
        "source": source,
        "occurred_at__gte": occurred_after,
        "occurred_at__lt": occurred_before,
        "due_at__lt": due_before,
    }
    activities = activities.filter(**{k: v for k, v in exact.items() if v is not None})
    if is_done is not None:
        activities = activities.filter(done_at__isnull=not is_done)
    if q:
        readable = ~visibility.email_text_hidden(actor)
        activities = activities.filter(Q(subject__icontains=q) | Q(body__icontains=q) & readable)
    activities = visibility.with_email_text_hidden(actor, activities)
    return activities.select_related("owner", "company", "deal").prefetch_related("contacts")


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)
# Entries of one instant: stage changes before activities (newest first, the larger rank first).
ACTIVITY, STAGE_CHANGE = 0, 1
CURSOR_KINDS = {"a": ACTIVITY, "s": STAGE_CHANGE}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a record's timeline: an activity or a deal's move between stages."""

    at: datetime.datetime
    activity: Activity | None = None
    stage_change: StageChange | None = None

    @property
    def key(self) -> tuple[datetime.datetime, int, int]:
        """Where the entry sorts: time, kind of entry, id. No two entries share a key."""
        if self.activity is not None:
            return self.at, ACTIVITY, self.activity.pk
        return self.at, STAGE_CHANGE, self.stage_change.pk

    @property
    def cursor(self) -> str:
        """The key as text for a "load more" link: the next page starts below this entry."""
        at, rank, pk = self.key
        letter = "a" if rank == ACTIVITY else "s"
        return f"{(at - EPOCH) // MICROSECOND}.{letter}.{pk}"


def parse_cursor(text: str) -> tuple[datetime.datetime, int, int] | None:
    """The key a cursor stands for, or None if it is not one."""
    parts = (text or "").split(".")
    if len(parts) != 3 or parts[1] not in CURSOR_KINDS:
        return None
    micros, pk = parts[0], parts[2]
    if not (micros.lstrip("-").isdigit() and pk.isdigit()) or len(micros) > 18 or len(pk) > 18:
        return None
    try:
        at = EPOCH + int(micros) * MICROSECOND
    except OverflowError:
        return None
    return at, CURSOR_KINDS[parts[1]], int(pk)


def _below(key, rank: int, *, at: str) -> Q:
    """Rows of one kind (`rank`) that sort after `key` in newest-first order."""
    cursor_at, cursor_rank, cursor_pk = key
    same_instant = Q(**{at: cursor_at})
    if rank == cursor_rank:
        same_instant &= Q(pk__lt=cursor_pk)
    elif rank > cursor_rank:
        same_instant = NOTHING
    return Q(**{f"{at}__lt": cursor_at}) | same_instant


def timeline(
    *,
    actor,
    company_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    before: tuple[datetime.datetime, int, int] | None = None,
    limit: int = 20,
) -> tuple[list[TimelineEntry], bool]:
    """The visible activities of one record and the stage changes of its visible deals.

    A company's timeline also holds the activities linked only to its contacts or its deals
    (each once): the history of an account, whichever record the activity was logged on.

    Newest first; returns (entries, whether more follow). `before` is the key of the last entry
    already shown (TimelineEntry.key): paging by key rather than by position, an entry logged
    between two pages neither shows twice nor pushes another out of sight. Each source reads at
    most limit + 1 rows, so a page costs three queries however long the history, and one more
    for the clicked links when it shows e-mails sent from Salesdesk (`with_email_tracking`).
    """
    activities = visibility.scope(actor, Activity.objects.all())
    changes = StageChange.objects.none()
    visible_deals = visibility.scope(actor, Deal.objects.all())
    if company_id is not None:
        # Subqueries, not joins: an activity with two of the company's contacts shows once.
        of_contacts = Activity.contacts.through.objects.filter(contact__company_id=company_id)
        activities = activities.filter(
            Q(company_id=company_id)
            | Q(pk__in=of_contacts.values("activity_id"))
            | Q(deal__in=Deal.objects.filter(company_id=company_id).values("pk"))
        )
        changes = StageChange.objects.filter(
            deal__in=visible_deals.filter(company_id=company_id).values("pk")
        )
    elif contact_id is not None:
        activities = activities.filter(contacts__id=contact_id)
    elif deal_id is not None:
        activities = activities.filter(deal_id=deal_id)
        changes = StageChange.objects.filter(deal__in=visible_deals.filter(pk=deal_id).values("pk"))
    else:
        return [], False
    if before is not None:
        activities = activities.filter(_below(before, ACTIVITY, at="occurred_at"))
        changes = changes.filter(_below(before, STAGE_CHANGE, at="at"))
    entries = [
        TimelineEntry(at=activity.occurred_at, activity=activity)
        for activity in with_email_tracking(visibility.with_email_text_hidden(actor, activities))
        .select_related("owner", "deal")
        .prefetch_related("contacts")
        .order_by("-occurred_at", "-pk")[: limit + 1]
    ]
    if deal_id is not None or company_id is not None:
        entries += [
            TimelineEntry(at=change.at, stage_change=change)
            for change in changes.select_related("deal", "from_stage", "to_stage", "by").order_by(
                "-at", "-pk"
            )[: limit + 1]
        ]
    entries.sort(key=lambda entry: entry.key, reverse=True)
    return entries[:limit], len(entries) > limit


def next_meeting(
    *, actor, company_id: int | None = None, contact_id: int | None = None, deal_id=None
) -> Activity | None:
    """The next meeting (from now on) the actor can see on a company, contact or deal: always
    current, unlike a stored date that a meeting's passing leaves behind."""
    meetings = visibility.scope(actor, Activity.objects.filter(kind=Activity.Kind.MEETING)).filter(
        occurred_at__gte=timezone.now()
    )
    if company_id is not None:
        meetings = meetings.filter(company_id=company_id)
    elif contact_id is not None:
        meetings = meetings.filter(contacts__id=contact_id)
    elif deal_id is not None:
        meetings = meetings.filter(deal_id=deal_id)
    else:
        return None
    return meetings.order_by("occurred_at", "pk").only("pk", "subject", "occurred_at").first()
