"""Monthly rollups of deals and activities: the period sums of the revenue and team dashboards.

On a million deals and ten million activities, summing a quarter from the source rows takes
seconds; summing it from these tables takes milliseconds.

Grain. Dashboards only ask for whole periods (months, quarters, fiscal years), which are made
of whole months of the reporting time zone, so a bucket is one month there:

- `DealRollup`: (month, owner, event created | won | lost, pipeline, lead source, lost reason)
  with the count, the base-currency amount and, for closings, the summed creation-to-close
  time. Created rows are further split by the deal's current stage (the stage-weighted amount),
  the furthest stage position it reached in its pipeline and whether it is won (the funnel).
  A deal is counted in the month of its `created_at` and, when won or lost, of its `closed_at`,
  exactly as the sets of `analytics.metrics` count it.
- `DealTotalsRollup`: the same summed to (month, owner, pipeline, event), what the monthly
  chart, the key figures and the team dashboard read (9,304 rows against 203,151 for 1M
  deals).
- `ActivityRollup`: (month, owner, kind) with the count; tasks count in the month they were
  done, the other kinds in the month they occurred.
- `StageFlowRollup`: deals that entered each stage, per month, fiscal quarter and fiscal year
  (a deal that entered a stage in two months of a quarter counts once in the quarter, so
  quarters are not sums of months), with the deal's current owner, pipeline and amount.
- `OpenDealRollup`: the deals open now per owner, pipeline and stage (no time).
- `OpenDealAgeRollup`: the deals open now per owner, pipeline, stage and the day they entered
  it; `OpenTaskRollup`: the open tasks per owner and due day. The figures that depend on the
  moment (stale deals, overdue tasks) are the buckets of the whole days before the moment's
  limit, plus the source rows of the limit's own day.
- `NextStepRollup`: the deals open now per owner, pipeline, whether they have a next step and
  its due date: those without one or with one overdue (the 1:1 review list).
- `CompanyWonRollup`: the deals won per company in each month, fiscal quarter and fiscal year,
  over every owner and pipeline (quarters and years are sums of their months): the top
  companies of a viewer who sees every deal and filters on nothing but the period.

A daily grain would not pay: 1M deals over a year by 200 owners, 2 pipelines and 8 sources
make about as many (day, owner, pipeline, source) buckets as deals.

The top companies of a filtered slice (a company dimension next to owner and pipeline would
make the buckets as many as the won deals) and the drill-down lists stay on the source rows,
with covering partial indexes.

Visibility. Deal visibility is decided by the deal's owner (`visibility.owner_scope`), so
filtering the buckets with the same condition on their owner gives exactly the visible deals.
An activity is visible when its owner is, or when its deal's owner is. The team dashboard
shows per-rep figures only for owners the viewer may see (members of the teams they manage or
belong to, or themselves), and every activity of a visible owner is visible: the deal clause
only adds activities of owners the viewer cannot see, which are not on the dashboard. So the
per-owner activity buckets, limited to the dashboard's owners, are exact.

Keeping current. A bucket is a sum over deals (activities) of what each one contributes, so a
write that changes one deal (create, update, move, win, lose, reopen, delete) or one activity
adds only the difference: `DealChange` reads the deal's share of every bucket before the change
(from the locked row and its stage changes: one query), `apply` compares it with the share
after and adds the difference to those rows (UPDATE count = count + d, amount = amount + d;
INSERT a bucket that is new; DELETE one whose count drops to zero, so the tables equal a
recount row for row). `ActivityChange` does the same for an activity, read from its locked row.
A write so costs a few indexed statements per bucket of the deal's own (about a dozen for a
move, more for an owner change of a deal that entered many stages), however many deals its
owner has.

Bulk writes (user reassignment, the CSV import, currency rates, a change of the stage order,
the deletion of a stage or lead source) collect the (owner, month) keys they touch, before and
after, and call `refresh_deals` / `refresh_activities`, which delete those buckets (and the
stage-flow periods around those months, the owners' open buckets, and every company's
buckets of those months, quarters and years) and recompute them from the source rows in the
same transaction. A change of the reporting time zone or of the fiscal-year start rebuilds
everything. On PostgreSQL the writes and refreshes of one owner's buckets are serialized by an
advisory lock, so two transactions cannot both insert the same bucket. The company buckets have
no owner: a write takes a shared lock on all of them and an exclusive one on its companies, a
refresh an exclusive lock on all. A deleted company takes its buckets with it (its deals keep
no company). `differences` recounts everything and compares (the nightly job repairs and logs
any difference, and a delta that finds its bucket missing logs it and leaves it to that job);
`salesdesk rollups-rebuild` rebuilds from scratch.

The buckets are in the organization's reporting time zone, the zone `Slice.for_period` uses
by default; a slice that is not made of whole months is computed from the source rows
(`covers`).
"""

import datetime
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import or_

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    DateField,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, TruncDate, TruncMonth

from salesdesk.accounts import visibility
from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities.models import Activity
from salesdesk.analytics import metrics
from salesdesk.analytics.models import (
    ActivityRollup,
    CompanyWonRollup,
    DealRollup,
    DealTotalsRollup,
    NextStepRollup,
    OpenDealAgeRollup,
    OpenDealRollup,
    OpenTaskRollup,
    StageFlowRollup,
)
from salesdesk.goals.periods import PeriodKind, period_containing
from salesdesk.pipeline.models import Deal, StageChange
from salesdesk.pipeline.selectors import stale_cutoffs

logger = logging.getLogger(__name__)

Key = tuple[int | None, datetime.date]  # (owner id, first day of the month)
LOCK_CLASS = 7301  # pg_advisory_xact_lock(LOCK_CLASS, owner id): one refresher per owner
COMPANY_LOCK_CLASS = 7302  # (COMPANY_LOCK_CLASS, company id): one writer per company bucket
COMPANIES_LOCK_CLASS = 7303  # (COMPANIES_LOCK_CLASS, 0): shared by writers, a refresh's alone
BATCH = 5000
CYCLE = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
DEAL_FIELDS = (
    "month",
    "owner_id",
    "event",
    "pipeline_id",
    "lead_source_id",
    "lost_reason_id",
    "stage_id",
    "furthest",
    "is_won",
)
ACTIVITY_FIELDS = ("month", "owner_id", "kind")
FLOW_FIELDS = ("kind", "start", "owner_id", "pipeline_id", "stage_id")
TOTALS_FIELDS = ("month", "owner_id", "event", "pipeline_id")
OPEN_FIELDS = ("owner_id", "pipeline_id", "stage_id", "expected_month", "is_commit")
COMPANY_FIELDS = ("kind", "start", "company_id")
AGE_FIELDS = ("owner_id", "pipeline_id", "stage_id", "entered_on")
TASK_FIELDS = ("owner_id", "due_on")
STEP_FIELDS = ("owner_id", "pipeline_id", "has_step", "due_on")
FLOW_KINDS = (PeriodKind.MONTH, PeriodKind.QUARTER, PeriodKind.YEAR)
MONTHS_OF_KIND = {1: PeriodKind.MONTH, 3: PeriodKind.QUARTER, 12: PeriodKind.YEAR}


# --- Months and keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """The reporting time zone and fiscal-year start the buckets follow (one settings read)."""

    zone: zoneinfo.ZoneInfo
    fiscal_start_month: int


def calendar() -> Calendar:
    organization = OrganizationSettings.get()
    return Calendar(zoneinfo.ZoneInfo(organization.timezone), organization.fiscal_year_start_month)


def zone_name() -> str:
    return OrganizationSettings.get().timezone


def fiscal_start_month() -> int:
    return OrganizationSettings.get().fiscal_year_start_month


def month_of(moment: datetime.datetime, zone: zoneinfo.ZoneInfo) -> datetime.date:
    return moment.astimezone(zone).date().replace(day=1)


def month_bounds(month: datetime.date, zone) -> tuple[datetime.datetime, datetime.datetime]:
    start = datetime.datetime(month.year, month.month, 1, tzinfo=zone)
    following = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
    return start, datetime.datetime(following.year, following.month, 1, tzinfo=zone)


def _zone(zone) -> zoneinfo.ZoneInfo:
    if isinstance(zone, Calendar):
        return zone.zone
    if zone is None:
        zone = zone_name()
    return zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone


def _calendar(zone) -> Calendar:
    if isinstance(zone, Calendar):
        return zone
    if zone is None:
        return calendar()
    return Calendar(_zone(zone), fiscal_start_month())


def deal_keys(deal: Deal, zone=None) -> set[Key]:
    """The buckets one deal counts in, as it is now (call before and after a change): the
    months of its creation, its closing and its stage changes (one query)."""
    zone = _zone(zone)
    keys = {(deal.owner_id, month_of(deal.created_at, zone))}
    if deal.closed_at is not None and deal.status != Deal.Status.OPEN:
        keys.add((deal.owner_id, month_of(deal.closed_at, zone)))
    entries = StageChange.objects.filter(deal_id=deal.pk).annotate(m=_month("at", zone))
    months = entries.order_by().values_list("m", flat=True)
    return keys | {(deal.owner_id, month) for month in months}


def _month(field: str, zone) -> TruncMonth:
    return TruncMonth(field, output_field=DateField(), tzinfo=zone)


def deal_keys_of(deals: QuerySet[Deal], zone=None) -> set[Key]:
    """The buckets a set of deals counts in (two grouped queries)."""
    zone = _zone(zone)
    created = deals.annotate(m=_month("created_at", zone)).order_by().values_list("owner_id", "m")
    closed = (
        deals.exclude(status=Deal.Status.OPEN)
        .filter(closed_at__isnull=False)
        .annotate(m=_month("closed_at", zone))
        .order_by()
        .values_list("owner_id", "m")
    )
    moves = (
        StageChange.objects.filter(deal__in=deals)
        .annotate(m=_month("at", zone))
        .order_by()
        .values_list("deal__owner_id", "m")
    )
    return set(created.distinct()) | set(closed.distinct()) | set(moves.distinct())


def activity_keys(activity: Activity, zone=None) -> set[Key]:
    zone = _zone(zone)
    moment = activity.done_at if activity.kind == Activity.Kind.TASK else activity.occurred_at
    return set() if moment is None else {(activity.owner_id, month_of(moment, zone))}


def activity_keys_of(activities: QuerySet[Activity], zone=None) -> set[Key]:
    zone = _zone(zone)
    logged = (
        activities.exclude(kind=Activity.Kind.TASK)
        .annotate(m=_month("occurred_at", zone))
        .order_by()
        .values_list("owner_id", "m")
    )
    done = (
        activities.filter(kind=Activity.Kind.TASK, done_at__isnull=False)
        .annotate(m=_month("done_at", zone))
        .order_by()
        .values_list("owner_id", "m")
    )
    return set(logged.distinct()) | set(done.distinct())


def stored_activity_keys(activity_id: int, zone=None) -> set[Key]:
    """The buckets of an activity as the database has it (before a change to the instance)."""
    stored = Activity.objects.filter(pk=activity_id).only("kind", "owner", "occurred_at", "done_at")
    return set().union(*(activity_keys(row, zone) for row in stored))


# --- Computing buckets from the source rows -----------------------------------------------


def _owner_condition(owner_ids: Iterable[int | None], field: str = "owner") -> Q:
    ids = set(owner_ids)
    condition = Q(**{f"{field}_id__in": sorted(i for i in ids if i is not None)})
    if None in ids:
        condition |= Q(**{f"{field}__isnull": True})
    return condition


def _keys_condition(keys: Iterable[Key], field: str, zone) -> Q:
    """Rows whose `field` falls in one of the keys' months, for that key's owners."""
    by_month = defaultdict(set)
    for owner_id, month in keys:
        by_month[month].add(owner_id)
    conditions = []
    for month, owners in sorted(by_month.items()):
        start, end = month_bounds(month, zone)
        conditions.append(
            Q(**{f"{field}__gte": start, f"{field}__lt": end}) & _owner_condition(owners)
        )
    return reduce(or_, conditions) if conditions else visibility.NOTHING


def _bucket_condition(keys: Iterable[Key]) -> Q:
    by_month = defaultdict(set)
    for owner_id, month in keys:
        by_month[month].add(owner_id)
    conditions = [Q(month=month) & _owner_condition(owners) for month, owners in by_month.items()]
    return reduce(or_, conditions) if conditions else visibility.NOTHING


def _furthest_position():
    """The furthest stage position a deal reached in its own pipeline (as revenue's funnel)."""
    history = (
        StageChange.objects.filter(
            deal=OuterRef("pk"), to_stage__pipeline_id=OuterRef("pipeline_id")
        )
        .order_by()
        .values("deal")
        .annotate(furthest=Max("to_stage__position"))
        .values("furthest")
    )
    return Greatest(
        Coalesce(Subquery(history, output_field=IntegerField()), Value(-1)),
        F("stage__position"),
        output_field=IntegerField(),
    )


def deal_buckets(created: QuerySet[Deal], closed: QuerySet[Deal], zone) -> dict[tuple, dict]:
    """Bucket key → count, amount, cycle of the deals created (`created`) and closed
    (`closed`) in them: three grouped queries."""
    buckets: dict[tuple, dict] = {}

    def add(key, count, amount, cycle=None):
        bucket = buckets.setdefault(key, {"count": 0, "amount": 0, "cycle": None})
        bucket["count"] += count
        bucket["amount"] += amount
        if cycle is not None:
            bucket["cycle"] = (bucket["cycle"] or datetime.timedelta(0)) + cycle

    created_rows = (
        created.annotate(month=_month("created_at", zone), furthest=_furthest_position())
        .order_by()
        .values("month", "owner_id", "pipeline_id", "lead_source_id", "stage_id", "furthest")
        .annotate(
            won_count=Count("id", filter=Q(status=Deal.Status.WON)),
            won_amount=Sum("amount_base", filter=Q(status=Deal.Status.WON)),
            other_count=Count("id", filter=~Q(status=Deal.Status.WON)),
            other_amount=Sum("amount_base", filter=~Q(status=Deal.Status.WON)),
        )
    )
    for row in created_rows:
        for is_won, prefix in ((True, "won"), (False, "other")):
            if row[f"{prefix}_count"]:
                key = (
                    row["month"],
                    row["owner_id"],
                    DealRollup.Event.CREATED,
                    row["pipeline_id"],
                    row["lead_source_id"],
                    None,
                    row["stage_id"],
                    row["furthest"],
                    is_won,
                )
                add(key, row[f"{prefix}_count"], row[f"{prefix}_amount"])
    closed_rows = (
        closed.exclude(status=Deal.Status.OPEN)
        .filter(closed_at__isnull=False)
        .annotate(month=_month("closed_at", zone))
        .order_by()
        .values("month", "owner_id", "status", "pipeline_id", "lead_source_id", "lost_reason_id")
        .annotate(count=Count("id"), amount=Sum("amount_base"), cycle=Sum(CYCLE))
    )
    for row in closed_rows:
        is_won = row["status"] == Deal.Status.WON
        key = (
            row["month"],
            row["owner_id"],
            DealRollup.Event.WON if is_won else DealRollup.Event.LOST,
            row["pipeline_id"],
            row["lead_source_id"],
            None if is_won else row["lost_reason_id"],
            None,
            None,
            False,
        )
        add(key, row["count"], row["amount"], row["cycle"] or datetime.timedelta(0))
    return buckets


def flow_buckets(moves: QuerySet[StageChange], zone, fsm: int) -> dict[tuple, dict]:
    """Bucket key → count and amount of the deals that entered each stage in each period.

    A deal counts once per stage and period however often it came back, with its current
    owner, pipeline and amount (as revenue's `entered` set); only moves into stages of the
    deal's own pipeline count. Read deal by deal, so a rebuild streams the moves."""
    buckets: dict[tuple, dict] = {}
    starts: dict[tuple, datetime.date] = {}
    rows = (
        moves.filter(to_stage__pipeline_id=F("deal__pipeline_id"))
        .annotate(month=_month("at", zone))
        .values_list(
            "deal_id",
            "to_stage_id",
            "month",
            "deal__owner_id",
            "deal__pipeline_id",
            "deal__amount_base",
        )
        .distinct()
        .order_by("deal_id")
    )
    current_deal, seen = None, set()
    for deal_id, stage_id, month, owner_id, pipeline_id, amount in rows.iterator(chunk_size=BATCH):
        if deal_id != current_deal:
            current_deal, seen = deal_id, set()
        for kind in FLOW_KINDS:
            start = starts.get((kind, month))
            if start is None:
                start = starts[kind, month] = period_containing(month, kind, fsm).start
            if (kind, start, stage_id) in seen:
                continue
            seen.add((kind, start, stage_id))
            key = (kind, start, owner_id, pipeline_id, stage_id)
            bucket = buckets.setdefault(key, {"count": 0, "amount": 0})
            bucket["count"] += 1
            bucket["amount"] += amount
    return buckets


def company_buckets(
    deals: QuerySet[Deal], zone, fsm: int, kinds: Iterable[str] = FLOW_KINDS
) -> dict[tuple, dict]:
    """Bucket key (kind, period start, company) → count and amount of the deals among `deals`
    won in that period, for the period `kinds` asked (one query grouped by company and month;
    a quarter or a year is the sum of its months)."""
    rows = (
        deals.filter(status=Deal.Status.WON, closed_at__isnull=False, company__isnull=False)
        .annotate(month=_month("closed_at", zone))
        .order_by()
        .values_list("company_id", "month")
        .annotate(count=Count("id"), amount=Sum("amount_base"))
    )
    buckets: dict[tuple, dict] = {}
    starts: dict[tuple, datetime.date] = {}
    for company_id, month, count, amount in rows.iterator(chunk_size=BATCH):
        for kind in kinds:
            start = starts.get((kind, month))
            if start is None:
                start = starts[kind, month] = period_containing(month, kind, fsm).start
            bucket = buckets.setdefault((kind, start, company_id), {"count": 0, "amount": 0})
            bucket["count"] += count
            bucket["amount"] += amount
    return buckets


def totals_buckets(buckets: dict[tuple, dict]) -> dict[tuple, dict]:
    """`deal_buckets` summed to (month, owner, event, pipeline)."""
    totals: dict[tuple, dict] = {}
    for key, values in buckets.items():
        total = totals.setdefault(key[:4], {"count": 0, "amount": 0, "cycle": None})
        total["count"] += values["count"]
        total["amount"] += values["amount"]
        if values["cycle"] is not None:
            total["cycle"] = (total["cycle"] or datetime.timedelta(0)) + values["cycle"]
    return totals


def open_buckets(deals: QuerySet[Deal]) -> dict[tuple, dict]:
    """Bucket key → count and amount of the open deals among `deals` (one query)."""
    rows = (
        deals.filter(status=Deal.Status.OPEN)
        .annotate(
            expected_month=TruncMonth("expected_close", output_field=DateField()),
            is_commit=ExpressionWrapper(
                Q(forecast_category=Deal.ForecastCategory.COMMIT), output_field=BooleanField()
            ),
        )
        .order_by()
        .values(*OPEN_FIELDS)
        .annotate(open_count=Count("id"), open_amount=Sum("amount_base"))
    )
    return {
        tuple(row[name] for name in OPEN_FIELDS): {
            "count": row["open_count"],
            "amount": row["open_amount"],
        }
        for row in rows
    }


def _day(field: str, zone) -> TruncDate:
    return TruncDate(field, tzinfo=zone, output_field=DateField())


def day_of(moment: datetime.datetime, zone: zoneinfo.ZoneInfo) -> datetime.date:
    return moment.astimezone(zone).date()


def day_start(day: datetime.date, zone) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0), zone)


def _counted(queryset: QuerySet, fields: tuple[str, ...]) -> dict[tuple, dict]:
    rows = queryset.order_by().values_list(*fields).annotate(bucket_count=Count("id"))
    return {tuple(row[:-1]): {"count": row[-1]} for row in rows.iterator(chunk_size=BATCH)}


def age_buckets(deals: QuerySet[Deal], zone) -> dict[tuple, dict]:
    """Bucket key → count of the open deals among `deals` by the day they entered their
    stage (one query)."""
    open_deals = deals.filter(status=Deal.Status.OPEN)
    return _counted(open_deals.annotate(entered_on=_day("stage_entered_at", zone)), AGE_FIELDS)


def next_step_buckets(deals: QuerySet[Deal]) -> dict[tuple, dict]:
    """Bucket key → count of the open deals among `deals` by whether they have a next step
    and when it is due (one query)."""
    open_deals = deals.filter(status=Deal.Status.OPEN).annotate(
        has_step=ExpressionWrapper(~Q(next_step=""), output_field=BooleanField()),
        due_on=F("next_step_due"),
    )
    return _counted(open_deals, STEP_FIELDS)


def step_key(deal: Deal) -> tuple:
    return (deal.owner_id, deal.pipeline_id, deal.next_step != "", deal.next_step_due)


def age_key(deal: Deal, zone) -> tuple:
    return (deal.owner_id, deal.pipeline_id, deal.stage_id, day_of(deal.stage_entered_at, zone))


def open_tasks(activities: QuerySet[Activity]) -> QuerySet[Activity]:
    return activities.filter(kind=Activity.Kind.TASK, done_at__isnull=True, due_at__isnull=False)


def task_buckets(activities: QuerySet[Activity], zone) -> dict[tuple, dict]:
    """Bucket key → count of the open tasks among `activities` by due day (one query)."""
    return _counted(open_tasks(activities).annotate(due_on=_day("due_at", zone)), TASK_FIELDS)


def open_key(deal: Deal) -> tuple:
    """The open-deal bucket of an open deal (as `open_buckets` groups it)."""
    month = deal.expected_close.replace(day=1) if deal.expected_close else None
    is_commit = deal.forecast_category == Deal.ForecastCategory.COMMIT
    return (deal.owner_id, deal.pipeline_id, deal.stage_id, month, is_commit)


def _flow_periods(keys: Iterable[Key], fsm: int) -> set[tuple]:
    """The (kind, period, owner) flow buckets a change in the keys' months can touch."""
    periods = set()
    for owner_id, month in keys:
        for kind in FLOW_KINDS:
            periods.add((kind, period_containing(month, kind, fsm), owner_id))
    return periods


def activity_buckets(activities: QuerySet[Activity], zone) -> dict[tuple, dict]:
    """Bucket key → count of the activities logged (tasks: done) in them: two queries."""
    buckets: dict[tuple, dict] = {}
    logged = activities.exclude(kind=Activity.Kind.TASK).annotate(month=_month("occurred_at", zone))
    done = activities.filter(kind=Activity.Kind.TASK, done_at__isnull=False).annotate(
        month=_month("done_at", zone)
    )
    for queryset in (logged, done):
        for row in queryset.order_by().values(*ACTIVITY_FIELDS).annotate(count=Count("id")):
            key = tuple(row[name] for name in ACTIVITY_FIELDS)
            buckets[key] = {"count": buckets.get(key, {"count": 0})["count"] + row["count"]}
    return buckets


def _stored(model, queryset, fields: tuple[str, ...], sums: tuple[str, ...]) -> dict:
    rows = (
        queryset.order_by().values(*fields).annotate(**{f"{name}_sum": Sum(name) for name in sums})
    )
    return {
        tuple(row[name] for name in fields): {name: row[f"{name}_sum"] for name in sums}
        for row in rows
    }


def _write(model, buckets: dict[tuple, dict], fields: tuple[str, ...]) -> None:
    model.objects.bulk_create(
        (model(**dict(zip(fields, key, strict=True)), **values) for key, values in buckets.items()),
        batch_size=BATCH,
    )


def _lock(owner_ids: Iterable[int | None]) -> None:
    """Serialize refreshes of the same owners (PostgreSQL; SQLite has one writer anyway).

    Without it two transactions could each delete a bucket and both insert its new rows."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for owner_id in sorted({owner_id or 0 for owner_id in owner_ids}):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, owner_id])


def _lock_companies(company_ids: Iterable[int]) -> None:
    """Serialize writers of the same company buckets; shared with other writers, exclusive
    against a refresh (`_lock_all_companies`). Taken after the owners' locks, always in this
    order, so two transactions cannot wait for each other."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [COMPANIES_LOCK_CLASS])
        for company_id in sorted(set(company_ids)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [COMPANY_LOCK_CLASS, company_id])


def _lock_all_companies() -> None:
    """A refresh of the company buckets: alone, after the writers in progress."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [COMPANIES_LOCK_CLASS])


# --- Refreshing ----------------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def refresh_deals(
    keys: Iterable[Key], zone=None, *, flows: bool = True, flow_stages: Iterable[int] = ()
) -> None:
    """Recompute the deal buckets of `keys` from the deals (delete, recount, insert).

    `flows=False` leaves the stage flow alone (a closing or reopening does not change it);
    `flow_stages` limits its recount to those stages (a move changes only the stage entered)."""
    keys = set(keys)
    if not keys:
        return
    cal = _calendar(zone)
    zone = cal.zone
    _lock(owner_id for owner_id, _ in keys)
    DealRollup.objects.filter(_bucket_condition(keys)).delete()
    DealTotalsRollup.objects.filter(_bucket_condition(keys)).delete()
    buckets = deal_buckets(
        Deal.objects.filter(_keys_condition(keys, "created_at", zone)),
        Deal.objects.filter(_keys_condition(keys, "closed_at", zone)),
        zone,
    )
    _write(DealRollup, buckets, DEAL_FIELDS)
    _write(DealTotalsRollup, totals_buckets(buckets), TOTALS_FIELDS)
    if flows:
        _refresh_flows(keys, zone, cal.fiscal_start_month, set(flow_stages))
    _refresh_companies({month for _, month in keys}, cal)
    # What is open now, for every owner touched (whatever the months).
    owners = _owner_condition(owner_id for owner_id, _ in keys)
    OpenDealRollup.objects.filter(owners).delete()
    _write(OpenDealRollup, open_buckets(Deal.objects.filter(owners)), OPEN_FIELDS)
    OpenDealAgeRollup.objects.filter(owners).delete()
    _write(OpenDealAgeRollup, age_buckets(Deal.objects.filter(owners), zone), AGE_FIELDS)
    NextStepRollup.objects.filter(owners).delete()
    _write(NextStepRollup, next_step_buckets(Deal.objects.filter(owners)), STEP_FIELDS)


def _refresh_flows(keys: set[Key], zone, fsm: int, stages: set[int]) -> None:
    """Recount the stage-flow buckets of the periods (month, quarter, year) around the keys
    (of `stages` only, when given)."""
    periods = _flow_periods(keys, fsm)
    stored = reduce(
        or_,
        (
            Q(kind=kind, start=period.start) & _owner_condition([owner_id])
            for kind, period, owner_id in periods
        ),
    )
    only = Q(stage_id__in=sorted(stages)) if stages else Q()
    StageFlowRollup.objects.filter(stored, only).delete()
    moves = reduce(
        or_,
        (
            Q(at__gte=period.bounds(zone)[0], at__lt=period.bounds(zone)[1])
            & _owner_condition([owner_id], "deal__owner")
            for kind, period, owner_id in periods
            if kind == PeriodKind.YEAR  # the years hold the months and quarters
        ),
    )
    wanted = {(kind, period.start, owner_id) for kind, period, owner_id in periods}
    entries = StageChange.objects.filter(moves)
    if stages:
        entries = entries.filter(to_stage_id__in=sorted(stages))
    buckets = {
        key: values for key, values in flow_buckets(entries, zone, fsm).items() if key[:3] in wanted
    }
    _write(StageFlowRollup, buckets, FLOW_FIELDS)


def _refresh_companies(months: set[datetime.date], cal: Calendar) -> None:
    """Recount the company buckets of `months` from the deals won in them (every owner: the
    buckets have none), then the quarters and years around them from their months."""
    zone, fsm = cal.zone, cal.fiscal_start_month
    _lock_all_companies()
    CompanyWonRollup.objects.filter(kind=PeriodKind.MONTH, start__in=months).delete()
    won = reduce(
        or_,
        (
            Q(closed_at__gte=start, closed_at__lt=end)
            for start, end in (month_bounds(month, zone) for month in sorted(months))
        ),
    )
    buckets = company_buckets(Deal.objects.filter(won), zone, fsm, [PeriodKind.MONTH])
    _write(CompanyWonRollup, buckets, COMPANY_FIELDS)
    periods = {
        period_containing(month, kind, fsm)
        for month in months
        for kind in (PeriodKind.QUARTER, PeriodKind.YEAR)
    }
    table = connection.ops.quote_name(CompanyWonRollup._meta.db_table)
    with connection.cursor() as cursor:
        for period in sorted(periods, key=lambda period: (period.kind, period.start)):
            CompanyWonRollup.objects.filter(kind=period.kind, start=period.start).delete()
            cursor.execute(
                f'INSERT INTO {table} ("kind", "start", "company_id", "count", "amount")'  # noqa: S608
                f' SELECT %s, %s, "company_id", SUM("count"), SUM("amount") FROM {table}'
                ' WHERE "kind" = %s AND "start" >= %s AND "start" < %s GROUP BY "company_id"',
                [str(period.kind), period.start, str(PeriodKind.MONTH), period.start, period.end],
            )


@transaction.atomic(savepoint=False)
def refresh_activities(keys: Iterable[Key], zone=None) -> None:
    """Recompute the activity buckets of `keys` from the activities."""
    keys = set(keys)
    if not keys:
        return
    zone = _zone(zone)
    _lock(owner_id for owner_id, _ in keys)
    ActivityRollup.objects.filter(_bucket_condition(keys)).delete()
    logged = _keys_condition(keys, "occurred_at", zone) & ~Q(kind=Activity.Kind.TASK)
    done = _keys_condition(keys, "done_at", zone) & Q(kind=Activity.Kind.TASK)
    buckets = activity_buckets(Activity.objects.filter(logged | done), zone)
    _write(ActivityRollup, buckets, ACTIVITY_FIELDS)
    _refresh_open_tasks({owner_id for owner_id, _ in keys}, zone)


@transaction.atomic(savepoint=False)
def refresh_open_tasks(owner_ids: Iterable[int | None], zone=None) -> None:
    """Recount the open-task buckets of these owners (after a bulk change of their tasks)."""
    owner_ids = set(owner_ids)
    if owner_ids:
        zone = _zone(zone)
        _lock(owner_ids)
        _refresh_open_tasks(owner_ids, zone)


def _refresh_open_tasks(owner_ids: set[int | None], zone) -> None:
    owners = _owner_condition(owner_ids)
    OpenTaskRollup.objects.filter(owners).delete()
    _write(OpenTaskRollup, task_buckets(Activity.objects.filter(owners), zone), TASK_FIELDS)


def refresh_deal_set(deals: QuerySet[Deal], change=None, zone=None) -> None:
    """Refresh every bucket a set of deals counts in, around `change()` (a bulk update)."""
    zone = _zone(zone)
    keys = deal_keys_of(deals, zone)
    if change is not None:
        change()
        keys |= deal_keys_of(deals, zone)
    refresh_deals(keys, zone)


# --- Applying one change -------------------------------------------------------------------
# A bucket is a sum over deals (activities) of what each contributes, so a write that changes
# one deal needs only that deal's share before and after: the difference is added to the rows.

Share = dict[tuple, list]  # (model, bucket key) → [count, amount, cycle]
SUMS = {
    DealRollup: ("count", "amount", "cycle"),
    DealTotalsRollup: ("count", "amount", "cycle"),
    StageFlowRollup: ("count", "amount"),
    OpenDealRollup: ("count", "amount"),
    OpenDealAgeRollup: ("count",),
    NextStepRollup: ("count",),
    ActivityRollup: ("count",),
    OpenTaskRollup: ("count",),
    CompanyWonRollup: ("count", "amount"),
}
KEY_FIELDS = {
    DealRollup: DEAL_FIELDS,
    DealTotalsRollup: TOTALS_FIELDS,
    StageFlowRollup: FLOW_FIELDS,
    OpenDealRollup: OPEN_FIELDS,
    OpenDealAgeRollup: AGE_FIELDS,
    NextStepRollup: STEP_FIELDS,
    ActivityRollup: ACTIVITY_FIELDS,
    OpenTaskRollup: TASK_FIELDS,
    CompanyWonRollup: COMPANY_FIELDS,
}


def _add(share: Share, model, key: tuple, amount=None, cycle=None) -> None:
    share[model, key] = [1, amount, cycle]  # a deal counts at most once in a bucket


class DealChange:
    """One deal's share of every rollup, read before a change; `apply` writes the difference.

    Call it on the deal row as stored (the services lock it first), tell it about the stage
    changes the write records (`moved`), and `apply` the deal as saved (None once deleted)."""

    def __init__(self, deal: Deal | None, cal: Calendar):
        self.calendar = cal
        # (stage, its pipeline, its position, when) of every stage change: one query
        self.history: list[tuple] = []
        if deal is not None:
            self.history = list(
                StageChange.objects.filter(deal_id=deal.pk).values_list(
                    "to_stage_id", "to_stage__pipeline_id", "to_stage__position", "at"
                )
            )
        self.before = self.share(deal) if deal is not None else {}

    def moved(self, stage, at: datetime.datetime) -> None:
        self.history.append((stage.pk, stage.pipeline_id, stage.position, at))

    def share(self, deal: Deal) -> Share:
        """What the deal adds to each bucket, as `deal_buckets`, `open_buckets`,
        `flow_buckets` and `company_buckets` count it."""
        zone, fsm = self.calendar.zone, self.calendar.fiscal_start_month
        positions = {stage: position for stage, _, position, _ in self.history}
        position = positions.get(deal.stage_id)
        if position is None:
            position = deal.stage.position
        reached = [p for _, pipeline, p, _ in self.history if pipeline == deal.pipeline_id]
        furthest = max(position, *reached, -1)
        is_won = deal.status == Deal.Status.WON
        amount = deal.amount_base
        share: Share = {}
        created = (month_of(deal.created_at, zone), deal.owner_id, DealRollup.Event.CREATED)
        created += (deal.pipeline_id,)
        _add(share, DealTotalsRollup, created, amount)
        created += (deal.lead_source_id, None, deal.stage_id, furthest, is_won)
        _add(share, DealRollup, created, amount)
        if deal.status != Deal.Status.OPEN and deal.closed_at is not None:
            event = DealRollup.Event.WON if is_won else DealRollup.Event.LOST
            cycle = deal.closed_at - deal.created_at
            closed = (month_of(deal.closed_at, zone), deal.owner_id, event, deal.pipeline_id)
            _add(share, DealTotalsRollup, closed, amount, cycle)
            closed += (deal.lead_source_id, None if is_won else deal.lost_reason_id)
            _add(share, DealRollup, (*closed, None, None, False), amount, cycle)
            if is_won and deal.company_id is not None:
                month = month_of(deal.closed_at, zone)
                for kind in FLOW_KINDS:
                    key = (kind, period_containing(month, kind, fsm).start, deal.company_id)
                    _add(share, CompanyWonRollup, key, amount)
        if deal.status == Deal.Status.OPEN:
            _add(share, OpenDealRollup, open_key(deal), amount)
            _add(share, OpenDealAgeRollup, age_key(deal, zone))
            _add(share, NextStepRollup, step_key(deal))
        for stage_id, pipeline_id, _, at in self.history:
            if pipeline_id != deal.pipeline_id:
                continue
            month = month_of(at, zone)
            for kind in FLOW_KINDS:
                key = (kind, period_containing(month, kind, fsm).start, deal.owner_id)
                key += (deal.pipeline_id, stage_id)
                if (StageFlowRollup, key) not in share:  # once per stage and period
                    _add(share, StageFlowRollup, key, amount)
        return share

    def apply(self, deal: Deal | None) -> None:
        apply_difference(self.before, self.share(deal) if deal is not None else {})


class ActivityChange:
    """One activity's share of the activity rollup, read from the stored row before a change
    (locked, so two changes of the same activity cannot both start from the same share)."""

    def __init__(self, activity_id: int | None, cal: Calendar):
        self.calendar = cal
        self.before: Share = {}
        if activity_id is not None:
            stored = Activity.objects.select_for_update().filter(pk=activity_id)
            for row in stored.only("kind", "owner", "occurred_at", "done_at", "due_at"):
                self.before = self.share(row)

    def share(self, activity: Activity) -> Share:
        return activity_share(activity, self.calendar.zone)

    def apply(self, activity: Activity | None) -> None:
        apply_difference(self.before, self.share(activity) if activity is not None else {})


def activity_share(activity: Activity, zone) -> Share:
    """What one activity adds to each bucket, as `activity_buckets` and `task_buckets` count
    it."""
    share: Share = {
        (ActivityRollup, (month, owner_id, activity.kind)): [1]
        for owner_id, month in activity_keys(activity, zone)
    }
    is_task = activity.kind == Activity.Kind.TASK
    if is_task and activity.done_at is None and activity.due_at is not None:
        share[OpenTaskRollup, (activity.owner_id, day_of(activity.due_at, zone))] = [1]
    return share


def add_activities(activities: list[Activity], zone=None) -> None:
    """Count activities just inserted into their buckets: one UPDATE per bucket they fall in
    (a batch of captured e-mails fills one or two), where recounting those buckets would read
    every activity of their owners' months again."""
    zone = _zone(zone)
    after: Share = {}
    for activity in activities:
        for key in activity_share(activity, zone):
            after.setdefault(key, [0])[0] += 1
    apply_difference({}, after)


@transaction.atomic(savepoint=False)
def apply_difference(before: Share, after: Share) -> None:
    """Add `after - before` to the stored buckets: update the row, insert it when missing,
    delete it when its count drops to zero."""
    changes = []
    for model, key in sorted(before.keys() | after.keys(), key=str):
        old, new = before.get((model, key)), after.get((model, key))
        difference = []
        for index, name in enumerate(SUMS[model]):
            zero = datetime.timedelta(0) if name == "cycle" else 0
            values = [(entry[index] if entry else None) for entry in (old, new)]
            if values == [None, None]:
                difference.append(None)  # a created bucket has no cycle
            else:
                difference.append((values[1] or zero) - (values[0] or zero))
        if any(difference):
            changes.append((model, key, difference))
    if not changes:
        return
    keys = [dict(zip(KEY_FIELDS[model], key, strict=True)) for model, key, _ in changes]
    _lock(key["owner_id"] for key in keys if "owner_id" in key)
    companies = [key["company_id"] for key in keys if "company_id" in key]
    if companies:
        _lock_companies(companies)
    for model, key, difference in changes:
        _add_to_bucket(model, key, dict(zip(SUMS[model], difference, strict=True)))


def _add_to_bucket(model, key: tuple, difference: dict) -> None:
    match = dict(zip(KEY_FIELDS[model], key, strict=True))  # owner_id=None matches IS NULL
    rows = model.objects.filter(**match)
    count = difference["count"]
    updates = {"count": F("count") + count}
    if difference.get("amount") is not None:
        updates["amount"] = F("amount") + difference["amount"]
    if difference.get("cycle") is not None:
        updates["cycle"] = Coalesce("cycle", Value(datetime.timedelta(0))) + difference["cycle"]
    # Mostly one statement: the bucket exists and keeps other deals.
    if (rows.filter(count__gt=-count) if count < 0 else rows).update(**updates):
        return
    if count > 0:
        model.objects.create(**match, **difference)
    elif not (count < 0 and rows.filter(count=-count).delete()[0]):  # the bucket empties
        # Only a bucket that had already drifted gets here; the nightly check repairs it.
        logger.warning("rollup bucket %s %s missing for a change of %s", model.__name__, key, count)


@transaction.atomic
def rebuild(zone=None) -> dict[str, int]:
    """Recompute every bucket from scratch; returns the number of buckets written."""
    zone = _zone(zone)
    _lock_everything()
    for model in KEY_FIELDS:
        model.objects.all().delete()
    deals = deal_buckets(Deal.objects.all(), Deal.objects.all(), zone)
    _write(DealRollup, deals, DEAL_FIELDS)
    _write(DealTotalsRollup, totals_buckets(deals), TOTALS_FIELDS)
    _write(OpenDealRollup, open_buckets(Deal.objects.all()), OPEN_FIELDS)
    _write(OpenDealAgeRollup, age_buckets(Deal.objects.all(), zone), AGE_FIELDS)
    _write(NextStepRollup, next_step_buckets(Deal.objects.all()), STEP_FIELDS)
    activities = activity_buckets(Activity.objects.all(), zone)
    _write(ActivityRollup, activities, ACTIVITY_FIELDS)
    _write(OpenTaskRollup, task_buckets(Activity.objects.all(), zone), TASK_FIELDS)
    flows = flow_buckets(StageChange.objects.all(), zone, fiscal_start_month())
    _write(StageFlowRollup, flows, FLOW_FIELDS)
    companies = company_buckets(Deal.objects.all(), zone, fiscal_start_month())
    _write(CompanyWonRollup, companies, COMPANY_FIELDS)
    return {
        "deal_buckets": len(deals),
        "activity_buckets": len(activities),
        "flow_buckets": len(flows),
        "company_buckets": len(companies),
    }


def _lock_everything() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "LOCK TABLE analytics_dealrollup, analytics_dealtotalsrollup,"
                " analytics_opendealrollup, analytics_activityrollup, analytics_stageflowrollup,"
                " analytics_companywonrollup, analytics_opendealagerollup,"
                " analytics_opentaskrollup, analytics_nextsteprollup"
            )


# --- Verifying -----------------------------------------------------------------------------


def _normalized(buckets: dict[tuple, dict]) -> dict[tuple, tuple]:
    """Comparable bucket values (Decimal amounts at cents; empty cycles as zero)."""
    result = {}
    for key, values in buckets.items():
        if not values.get("count"):
            continue
        amount = values.get("amount")
        cycle = values.get("cycle")
        result[key] = (
            values["count"],
            None if amount is None else round(amount, 2),
            cycle or datetime.timedelta(0) if "cycle" in values else None,
        )
    return result


def differences(zone=None) -> dict[str, set[Key]]:
    """The (owner, month) keys whose buckets differ from a full recount, per table: "deals"
    (deal, totals, open and stage-flow buckets) and "activities"."""
    zone = _zone(zone)
    deals = deal_buckets(Deal.objects.all(), Deal.objects.all(), zone)
    money = ("count", "amount")
    stored_deals = _stored(DealRollup, DealRollup.objects.all(), DEAL_FIELDS, (*money, "cycle"))
    stored_totals = _stored(
        DealTotalsRollup, DealTotalsRollup.objects.all(), TOTALS_FIELDS, (*money, "cycle")
    )
    drifted = _wrong(deals, stored_deals) | _wrong(totals_buckets(deals), stored_totals)
    result = {"deals": {(key[1], key[0]) for key in drifted}}
    # An open bucket has no month: refresh its owner's current month (which recounts the
    # owner's open deals). A drifted period is repaired through its owner's first month
    # (which recounts the month, quarter and year around it).
    this_month = month_of(datetime.datetime.now(datetime.UTC), zone)
    stored_open = _stored(OpenDealRollup, OpenDealRollup.objects.all(), OPEN_FIELDS, money)
    result["deals"] |= {
        (key[0], this_month) for key in _wrong(open_buckets(Deal.objects.all()), stored_open)
    }
    stored_age = _stored(OpenDealAgeRollup, OpenDealAgeRollup.objects.all(), AGE_FIELDS, ("count",))
    result["deals"] |= {
        (key[0], this_month) for key in _wrong(age_buckets(Deal.objects.all(), zone), stored_age)
    }
    stored_steps = _stored(NextStepRollup, NextStepRollup.objects.all(), STEP_FIELDS, ("count",))
    result["deals"] |= {
        (key[0], this_month) for key in _wrong(next_step_buckets(Deal.objects.all()), stored_steps)
    }
    flows = flow_buckets(StageChange.objects.all(), zone, fiscal_start_month())
    stored_flows = _stored(StageFlowRollup, StageFlowRollup.objects.all(), FLOW_FIELDS, money)
    result["deals"] |= {(key[2], key[1]) for key in _wrong(flows, stored_flows)}
    # A company bucket has no owner: any key of its first month recounts it (and the periods
    # around that month), whichever owner it names.
    companies = company_buckets(Deal.objects.all(), zone, fiscal_start_month())
    stored_companies = _stored(
        CompanyWonRollup, CompanyWonRollup.objects.all(), COMPANY_FIELDS, money
    )
    result["deals"] |= {(None, key[1]) for key in _wrong(companies, stored_companies)}
    stored_activities = _stored(
        ActivityRollup, ActivityRollup.objects.all(), ACTIVITY_FIELDS, ("count",)
    )
    recount = activity_buckets(Activity.objects.all(), zone)
    result["activities"] = {(key[1], key[0]) for key in _wrong(recount, stored_activities)}
    # An open-task bucket is repaired through its owner's current month (which recounts the
    # owner's open tasks).
    stored_tasks = _stored(OpenTaskRollup, OpenTaskRollup.objects.all(), TASK_FIELDS, ("count",))
    result["activities"] |= {
        (key[0], this_month)
        for key in _wrong(task_buckets(Activity.objects.all(), zone), stored_tasks)
    }
    return result


def _wrong(recount: dict, stored: dict) -> set[tuple]:
    expected, actual = _normalized(recount), _normalized(stored)
    return {key for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key)}


def verify_and_repair(zone=None) -> dict[str, int]:
    """Compare every bucket with a full recount, log and repair any drift.

    Returns the number of (owner, month) keys repaired per table."""
    zone = _zone(zone)
    drift = differences(zone)
    if drift["deals"]:
        logger.warning(
            "deal rollups drifted in %d bucket(s): %s",
            len(drift["deals"]),
            sorted(drift["deals"], key=str)[:20],
        )
        refresh_deals(drift["deals"], zone)
    if drift["activities"]:
        logger.warning(
            "activity rollups drifted in %d bucket(s): %s",
            len(drift["activities"]),
            sorted(drift["activities"], key=str)[:20],
        )
        refresh_activities(drift["activities"], zone)
    return {name: len(keys) for name, keys in drift.items()}


# --- Reading -------------------------------------------------------------------------------


def covers(slice_) -> bool:
    """Can the slice be summed from the buckets: whole months of the reporting time zone?

    The buckets are in the organization's zone; callers pass slices in that zone (Slice.tz)."""
    zone = zoneinfo.ZoneInfo(slice_.tz)
    return all(
        (local := moment.astimezone(zone)).day == 1 and local.time() == datetime.time(0)
        for moment in (slice_.start, slice_.end)
    )


def _slice_filters(slice_) -> Q:
    condition = Q(month__gte=slice_.start_date, month__lt=slice_.end_date)
    if slice_.owner_id is not None:
        condition &= Q(owner_id=slice_.owner_id)
    if slice_.team_id is not None:
        condition &= Q(owner__team_id=slice_.team_id)
    return condition


def deal_rows(slice_, *events: str, model=DealRollup) -> QuerySet[DealRollup]:
    """The visible deal buckets of the slice (its months, pipeline, team and owner); `model`
    DealTotalsRollup for the coarser buckets."""
    queryset = model.objects.filter(visibility.owner_scope(slice_.actor), _slice_filters(slice_))
    if slice_.pipeline_id is not None:
        queryset = queryset.filter(pipeline_id=slice_.pipeline_id)
    if events:
        queryset = queryset.filter(event__in=events)
    return queryset


def totals_rows(slice_, *events: str) -> QuerySet[DealTotalsRollup]:
    return deal_rows(slice_, *events, model=DealTotalsRollup)


def open_rows(slice_, model=OpenDealRollup) -> QuerySet[OpenDealRollup]:
    """The visible open-deal buckets of the slice's pipeline, team and owner (any time);
    `model` OpenDealAgeRollup for the buckets by the day deals entered their stage."""
    queryset = model.objects.filter(visibility.owner_scope(slice_.actor))
    for name, value in (
        ("owner_id", slice_.owner_id),
        ("owner__team_id", slice_.team_id),
        ("pipeline_id", slice_.pipeline_id),
    ):
        if value is not None:
            queryset = queryset.filter(**{name: value})
    return queryset


Part = tuple[QuerySet, Count | Sum]  # rows to count per group, and how (`counted`)

# The readers below take the slice and one condition on the owner (`narrow`, such as
# Q(owner_id__in=ids)) and apply it to the buckets and to the boundary rows alike, so both
# count the same deals or tasks. `Slice.tz` is the buckets' time zone, as for `covers`.


def open_parts(slice_, narrow: Q) -> list[Part]:
    """The open deals, for `counted`: the open-deal buckets."""
    return [(open_rows(slice_).filter(narrow), Sum("count"))]


def stale_parts(slice_, narrow: Q, now: datetime.datetime) -> list[Part]:
    """The stale deals, as `metrics.open_deals(slice_).filter(stale_condition(now))` counts
    them, for `counted`: the age buckets of the whole days before each stage limit's cutoff
    day, and the deals of that day entered by the cutoff."""
    cutoffs = stale_cutoffs(now)
    if not cutoffs:
        return []
    zone = _zone(slice_.tz)
    whole, boundary = visibility.NOTHING, visibility.NOTHING
    for cutoff, stage_ids in cutoffs.items():
        day = day_of(cutoff, zone)
        whole |= Q(stage_id__in=stage_ids, entered_on__lt=day)
        boundary |= Q(
            stage_id__in=stage_ids,
            stage_entered_at__gte=day_start(day, zone),
            stage_entered_at__lte=cutoff,
        )
    buckets = open_rows(slice_, OpenDealAgeRollup).filter(narrow, whole)
    deals = metrics.open_deals(slice_).filter(narrow, boundary)
    return [(buckets, Sum("count")), (deals, Count("*"))]


def no_next_step_parts(slice_, narrow: Q, today: datetime.date) -> list[Part]:
    """Open deals without a next step or with one due before `today`, for `counted`: whole
    buckets, as due dates are dates."""
    due = Q(has_step=False) | Q(due_on__lt=today)
    return [(open_rows(slice_, NextStepRollup).filter(narrow, due), Sum("count"))]


def overdue_close_parts(slice_, narrow: Q, today: datetime.date) -> list[Part]:
    """Open deals expected to close before `today`, for `counted`: the open-deal buckets of
    the months before this one, and this month's deals from its first day."""
    month = today.replace(day=1)
    earlier = open_rows(slice_).filter(narrow, expected_month__lt=month)
    this_month = metrics.open_deals(slice_).filter(
        narrow, expected_close__gte=month, expected_close__lt=today
    )
    return [(earlier, Sum("count")), (this_month, Count("*"))]


def overdue_parts(slice_, narrow: Q, now: datetime.datetime) -> list[Part]:
    """Open tasks due before `now`, for `counted`: the buckets of the days before today, and
    today's tasks already due. Exact for owners the actor may see: every activity of a visible
    owner is visible (see the module docstring)."""
    zone = _zone(slice_.tz)
    today = day_of(now, zone)
    buckets = OpenTaskRollup.objects.filter(visibility.owner_scope(slice_.actor), narrow)
    due_today = metrics.overdue_tasks(slice_.actor, now).filter(
        narrow, due_at__gte=day_start(today, zone)
    )
    return [(buckets.filter(due_on__lt=today), Sum("count")), (due_today, Count("*"))]


def counted(group: str, **figures: list[Part]) -> dict[str, dict]:
    """Figure name → {value of `group` (such as "owner_id") → count}: each figure's parts
    (`stale_parts`, `overdue_parts` …) grouped and added up, all in one query (UNION ALL)."""
    parts = [
        queryset.order_by()
        .annotate(figure=Value(name, output_field=CharField()))
        .values_list(group, "figure")
        .annotate(counted=count)
        for name, pairs in figures.items()
        for queryset, count in pairs
    ]
    result: dict[str, dict] = {name: defaultdict(int) for name in figures}
    if parts:
        for key, name, count in parts[0].union(*parts[1:], all=True):
            result[name][key] += count
    return {name: dict(counts) for name, counts in result.items()}


# An open bucket's amount weighted by its stage's probability (metrics.WEIGHTED_AMOUNT summed).
WEIGHTED = ExpressionWrapper(
    F("amount") * F("stage__probability") / Value(Decimal("100")),
    output_field=DecimalField(max_digits=18, decimal_places=2),
)


def expected_rows(slice_) -> QuerySet[OpenDealRollup]:
    """The visible open-deal buckets expected to close inside the slice, as `metrics.expected`
    counts them (by the date of `expected_close`): exact for slices of whole months, the only
    ones goals and forecasts ask for."""
    start, end = slice_.start_date, slice_.end_date
    if start.day != 1 or end.day != 1:
        raise ValueError("expected_rows needs whole months")
    return open_rows(slice_).filter(expected_month__gte=start, expected_month__lt=end)


def activity_rows(slice_) -> QuerySet[ActivityRollup]:
    """The activity buckets of the slice's months, team and owner, of owners the actor may see.

    Only exact per owner the actor may see (see the module docstring)."""
    return ActivityRollup.objects.filter(
        visibility.owner_scope(slice_.actor), _slice_filters(slice_)
    )


def company_rows(slice_, period) -> QuerySet[CompanyWonRollup] | None:
    """The company buckets of `period`, when they answer the slice (which covers it): no
    pipeline, team or owner filter, and an actor who sees every deal. Else None."""
    if (slice_.pipeline_id, slice_.team_id, slice_.owner_id) != (None, None, None):
        return None
    if visibility.owner_scope(slice_.actor):  # a condition: not every deal
        return None
    if not covers(slice_) or (slice_.start_date, slice_.end_date) != (period.start, period.end):
        return None
    return CompanyWonRollup.objects.filter(kind=period.kind, start=period.start)


def flow_kind(slice_) -> str | None:
    """The period kind of a whole-month slice (month, quarter or year), else None."""
    if not covers(slice_):
        return None
    start, end = slice_.start_date, slice_.end_date
    return MONTHS_OF_KIND.get((end.year - start.year) * 12 + end.month - start.month)


def flow_rows(slice_, kind: str) -> QuerySet[StageFlowRollup]:
    """The visible stage-flow buckets of the slice's period, pipeline, team and owner."""
    queryset = StageFlowRollup.objects.filter(
        visibility.owner_scope(slice_.actor), kind=kind, start=slice_.start_date
    )
    if slice_.owner_id is not None:
        queryset = queryset.filter(owner_id=slice_.owner_id)
    if slice_.team_id is not None:
        queryset = queryset.filter(owner__team_id=slice_.team_id)
    if slice_.pipeline_id is not None:
        queryset = queryset.filter(pipeline_id=slice_.pipeline_id)
    return queryset
