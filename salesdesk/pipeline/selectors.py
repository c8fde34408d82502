import datetime

from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import Lead

from salesdesk.accounts import visibility
from salesdesk.pipeline.models import Deal, StageChange


def deal_list(
    *,
    actor,
    owner_id: int | None = None,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    status: str | None = None,
    company_id: int | None = None,
    contact_id: int | None = None,
    lead_source_id: int | None = None,
    tag_id: int | None = None,
    q: str | None = None,
    created_after: datetime.datetime | None = None,
    created_before: datetime.datetime | None = None,
    expected_close_after: datetime.date | None = None,
    expected_close_before: datetime.date | None = None,
    closed_after: datetime.datetime | None = None,
    closed_before: datetime.datetime | None = None,
) -> QuerySet[Deal]:
    deals = visibility.scope(actor, Deal.objects.all())
    exact = {
        "owner_id": owner_id,
        "pipeline_id": pipeline_id,
        "stage_id": stage_id,
        "status": status,
        "company_id": company_id,
        "contacts__id": contact_id,
        "lead_source_id": lead_source_id,
        "tags__id": tag_id,
        "created_at__gte": created_after,
        "created_at__lt": created_before,
        "expected_close__gte": expected_close_after,
        "expected_close__lte": expected_close_before,
        "closed_at__gte": closed_after,
        "closed_at__lt": closed_before,
    }
    deals = deals.filter(**{key: value for key, value in exact.items() if value is not None})
    if q:
        deals = deals.filter(Q(title__icontains=q) | Q(company__name__icontains=q))
    return deals.select_related(
        "owner", "company", "pipeline", "stage", "lead_source", "lost_reason"
    ).prefetch_related("contacts", "tags")


def deal_stage_history(*, deal: Deal) -> QuerySet[StageChange]:
    """Each stage the deal was in, with how long it stayed (to the next change, or until now)."""
    return (
        StageChange.objects.filter(deal=deal)
        .select_related("from_stage", "to_stage", "by")
        .annotate(
            left_at=Window(Lead("at"), partition_by=[F("deal_id")], order_by=[F("at"), F("id")])
        )
        .order_by("at", "id")
    )


def stage_durations(*, deal: Deal, now: datetime.datetime | None = None) -> list[dict]:
    rows = []
    for change in deal_stage_history(deal=deal):
        end = change.left_at or (deal.closed_at if deal.status != Deal.Status.OPEN else None)
        end = end or now or datetime.datetime.now(datetime.UTC)
        rows.append(
            {
                "stage_id": change.to_stage_id,
                "stage": change.to_stage.name,
                "entered_at": change.at,
                "left_at": change.left_at,
                "seconds": max(0, int((end - change.at).total_seconds())),
                "by": change.by,
            }
        )
    return rows
