import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from salesdesk.accounts import visibility
from salesdesk.activities.models import Activity
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
        activities = activities.filter(Q(subject__icontains=q) | Q(body__icontains=q))
    return activities.select_related("owner", "company", "deal").prefetch_related("contacts")


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a record's timeline: an activity or a deal's move between stages."""

    at: datetime.datetime
    activity: Activity | None = None
    stage_change: StageChange | None = None


def timeline(
    *,
    actor,
    company_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[TimelineEntry], bool]:
    """The visible activities of one record and the stage changes of its visible deals.

    Newest first; returns (entries, whether more follow). Each source reads at most
    offset + limit + 1 rows, so a page costs three queries however long the history.
    """
    window = offset + limit + 1
    activities = visibility.scope(actor, Activity.objects.all())
    changes = StageChange.objects.none()
    visible_deals = visibility.scope(actor, Deal.objects.all())
    if company_id is not None:
        activities = activities.filter(company_id=company_id)
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
    entries = [
        TimelineEntry(at=activity.occurred_at, activity=activity)
        for activity in activities.select_related("owner", "deal")
        .prefetch_related("contacts")
        .order_by("-occurred_at", "-pk")[:window]
    ]
    if deal_id is not None or company_id is not None:
        entries += [
            TimelineEntry(at=change.at, stage_change=change)
            for change in changes.select_related("deal", "from_stage", "to_stage", "by").order_by(
                "-at", "-pk"
            )[:window]
        ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[offset : offset + limit], len(entries) > offset + limit
