"""The deal and activity sets every dashboard, goal and forecast counts from.

One definition per figure, so that a goal's "achieved", the revenue dashboard's "won" and the
deals a user drills down to are the same rows:

- won / lost in a period: deals whose status is won / lost and whose `closed_at` falls in it
  (a deal reopened after a loss is open again and counts nowhere until it closes again);
- created: deals whose `created_at` falls in the period;
- expected: open deals whose `expected_close` date falls in the period (dates read in the
  reporting time zone);
- activities logged: activities whose `occurred_at` falls in the period, except tasks, which
  count when done (`done_at`);
- a deal counts for its current owner and that owner's current team, whether or not the owner
  is still active.

Every set is limited to what the acting user may see (`accounts.visibility`).
"""

import datetime
import zoneinfo
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from salesdesk.accounts import visibility
from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities.models import Activity
from salesdesk.goals.periods import Period
from salesdesk.pipeline.models import Deal

MONEY = DecimalField(max_digits=18, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MONEY)

# The stage-probability-weighted value of a deal (typed probabilities, 0 to 100).
WEIGHTED_AMOUNT = ExpressionWrapper(
    F("amount_base") * F("stage__probability") / Value(Decimal("100")), output_field=MONEY
)


@dataclass(frozen=True)
class Slice:
    """Whose numbers over which time: the filters all dashboards share.

    `start`/`end` are aware instants, [start, end). `tz` is the reporting time zone, used to
    read date fields such as `expected_close`.
    """

    actor: object
    start: datetime.datetime
    end: datetime.datetime
    tz: str = "UTC"
    pipeline_id: int | None = None
    team_id: int | None = None
    owner_id: int | None = None

    @classmethod
    def for_period(cls, actor, period: Period, *, tz: str | None = None, **filters) -> "Slice":
        tz = tz or OrganizationSettings.get().timezone
        start, end = period.bounds(tz)
        return cls(actor=actor, start=start, end=end, tz=tz, **filters)

    def with_range(self, start: datetime.datetime, end: datetime.datetime) -> "Slice":
        return replace(self, start=start, end=end)

    @property
    def start_date(self) -> datetime.date:
        return self.start.astimezone(zoneinfo.ZoneInfo(self.tz)).date()

    @property
    def end_date(self) -> datetime.date:
        """The first day after the slice, in the reporting time zone."""
        return self.end.astimezone(zoneinfo.ZoneInfo(self.tz)).date()


def _owner_filters(slice_: Slice, prefix: str = "") -> dict:
    filters = {f"{prefix}owner_id": slice_.owner_id, f"{prefix}owner__team_id": slice_.team_id}
    return {key: value for key, value in filters.items() if value is not None}


def deals(slice_: Slice) -> QuerySet[Deal]:
    """The visible deals of the slice's pipeline, team and owner, at any time."""
    queryset = visibility.scope(slice_.actor, Deal.objects.all()).filter(**_owner_filters(slice_))
    if slice_.pipeline_id is not None:
        queryset = queryset.filter(pipeline_id=slice_.pipeline_id)
    return queryset


def won(slice_: Slice) -> QuerySet[Deal]:
    return deals(slice_).filter(
        status=Deal.Status.WON, closed_at__gte=slice_.start, closed_at__lt=slice_.end
    )


def lost(slice_: Slice) -> QuerySet[Deal]:
    return deals(slice_).filter(
        status=Deal.Status.LOST, closed_at__gte=slice_.start, closed_at__lt=slice_.end
    )


def created(slice_: Slice) -> QuerySet[Deal]:
    return deals(slice_).filter(created_at__gte=slice_.start, created_at__lt=slice_.end)


def open_deals(slice_: Slice) -> QuerySet[Deal]:
    """Open now, whatever their expected close."""
    return deals(slice_).filter(status=Deal.Status.OPEN)


def overdue_tasks(actor, now: datetime.datetime) -> QuerySet[Activity]:
    """Open tasks past their due time, visible to `actor`."""
    return visibility.scope(actor, Activity.objects.all()).filter(
        kind=Activity.Kind.TASK, done_at__isnull=True, due_at__lt=now
    )


def expected(slice_: Slice) -> QuerySet[Deal]:
    """Open deals expected to close inside the slice."""
    return open_deals(slice_).filter(
        expected_close__gte=slice_.start_date, expected_close__lt=slice_.end_date
    )


def activities(slice_: Slice, kind: str | None = None) -> QuerySet[Activity]:
    """Activities logged in the slice (tasks when done); the pipeline filter does not apply."""
    queryset = visibility.scope(slice_.actor, Activity.objects.all()).filter(
        **_owner_filters(slice_)
    )
    if kind:
        queryset = queryset.filter(kind=kind)
    in_range = Q(occurred_at__gte=slice_.start, occurred_at__lt=slice_.end) & ~Q(
        kind=Activity.Kind.TASK
    )
    done_in_range = Q(kind=Activity.Kind.TASK, done_at__gte=slice_.start, done_at__lt=slice_.end)
    return queryset.filter(in_range | done_in_range)


# The sets a dashboard figure can be drilled down to, by name (`?set=won`).
DEAL_SETS = {
    "won": won,
    "lost": lost,
    "created": created,
    "expected": expected,
    "open": open_deals,
}


@dataclass(frozen=True)
class Totals:
    count: int
    amount: Decimal
    weighted: Decimal


def totals(queryset: QuerySet[Deal]) -> Totals:
    """Count, base-currency amount and stage-weighted amount of a deal set, in one query."""
    row = queryset.aggregate(
        count=Count("id"),
        amount=Coalesce(Sum("amount_base"), ZERO),
        weighted=Coalesce(Sum(WEIGHTED_AMOUNT), ZERO),
    )
    return Totals(
        row["count"],
        Decimal(row["amount"]).quantize(Decimal("0.01")),
        Decimal(row["weighted"]).quantize(Decimal("0.01")),
    )


def totals_by(queryset: QuerySet[Deal], field: str) -> dict:
    """`totals` grouped by one field (owner_id, owner__team_id, lead_source_id …), one query."""
    rows = (
        queryset.order_by()
        .values(field)
        .annotate(
            count=Count("id"),
            amount=Coalesce(Sum("amount_base"), ZERO),
            weighted=Coalesce(Sum(WEIGHTED_AMOUNT), ZERO),
        )
    )
    return {
        row[field]: Totals(
            row["count"],
            Decimal(row["amount"]).quantize(Decimal("0.01")),
            Decimal(row["weighted"]).quantize(Decimal("0.01")),
        )
        for row in rows
    }
