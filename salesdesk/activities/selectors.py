import datetime

from django.db.models import Q, QuerySet

from salesdesk.accounts import visibility
from salesdesk.activities.models import Activity


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
