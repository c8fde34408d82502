import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import Lead, RowNumber

from salesdesk.accounts import visibility
from salesdesk.pipeline.models import Deal, Stage, StageChange


def deal_list(
    *,
    actor,
    owner_id: int | None = None,
    team_id: int | None = None,
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
        "owner__team_id": team_id,
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


# --- The board ---------------------------------------------------------------------------

BOARD_CARDS = 20  # cards a column shows before it loads more on scrolling
BOARD_ORDER = ("-amount_base", "-id")  # biggest deals first; the id keeps pages stable


@dataclass(frozen=True)
class ColumnTotal:
    count: int
    total: Decimal


def board_deals(
    *, actor, pipeline_id: int, owner_id: int | None = None, team_id: int | None = None
) -> QuerySet[Deal]:
    """The open deals of a pipeline that `actor` sees, narrowed by the board's filters."""
    deals = visibility.scope(actor, Deal.objects.filter(pipeline_id=pipeline_id, status="open"))
    if owner_id is not None:
        deals = deals.filter(owner_id=owner_id)
    if team_id is not None:
        deals = deals.filter(owner__team_id=team_id)
    return deals


def board_column_totals(*, deals: QuerySet[Deal], stage_ids=None) -> dict[int, ColumnTotal]:
    """Count and base-currency value of each stage's deals, in one aggregate query."""
    if stage_ids is not None:
        deals = deals.filter(stage_id__in=stage_ids)
    rows = (
        deals.order_by()
        .values("stage_id")
        .annotate(count=Count("id"), total=Sum("amount_base"))
        .values_list("stage_id", "count", "total")
    )
    return {stage_id: ColumnTotal(count, total or Decimal("0")) for stage_id, count, total in rows}


def _card_fields(deals: QuerySet[Deal]) -> QuerySet[Deal]:
    return deals.select_related("owner", "company", "stage").only(
        "id",
        "title",
        "amount",
        "currency",
        "amount_base",
        "status",
        "stage_entered_at",
        "pipeline_id",
        "owner__full_name",
        "owner__email",
        "company__name",
        "stage__stale_after_days",
        "stage__pipeline_id",
    )


def board_first_cards(*, deals: QuerySet[Deal], per_column: int = BOARD_CARDS) -> list[Deal]:
    """The first `per_column` (+1, to tell whether there are more) cards of every stage at once.

    One query however many stages and deals: the rows are numbered per stage in SQL.
    """
    order = [F(field[1:]).desc() if field.startswith("-") else F(field) for field in BOARD_ORDER]
    numbered = deals.annotate(
        row=Window(RowNumber(), partition_by=[F("stage_id")], order_by=order)
    ).filter(row__lte=per_column + 1)
    return list(_card_fields(numbered).order_by("stage_id", *BOARD_ORDER))


def board_stage_cards(
    *, deals: QuerySet[Deal], stage_id: int, page: int, per_column: int = BOARD_CARDS
) -> list[Deal]:
    """Page `page` (1-based) of one stage's cards, plus one more row to tell whether more follow."""
    start = (page - 1) * per_column
    cards = _card_fields(deals.filter(stage_id=stage_id)).order_by(*BOARD_ORDER)
    return list(cards[start : start + per_column + 1])


def board_card(*, deal_id: int) -> Deal:
    """One card, freshly read after a move (the caller has checked visibility)."""
    return _card_fields(Deal.objects.filter(pk=deal_id)).get()


def stale_cutoffs(now: datetime.datetime) -> dict[datetime.datetime, list[int]]:
    """Cutoff → the stages whose open deals are stale when they entered them at or before it
    (one query)."""
    by_cutoff: dict[datetime.datetime, list[int]] = {}
    for stage_id, limit in Stage.objects.filter(stale_after_days__isnull=False).values_list(
        "id", "stale_after_days"
    ):
        # `days_in_stage() > limit` means a full `limit + 1` days have passed.
        cutoff = now - datetime.timedelta(days=limit + 1)
        by_cutoff.setdefault(cutoff, []).append(stage_id)
    return by_cutoff
