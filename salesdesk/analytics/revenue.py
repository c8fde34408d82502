"""The revenue dashboard's figures, and the deal sets each one can be drilled down to.

Every figure is an aggregate over one deal set of `metrics` (or a set below, built on
`metrics.deals`), so the drill-down page lists exactly the rows a figure counted:

- closed: won or lost in the period (the denominator of a win rate);
- entered: deals that entered a stage during the period (pipeline value moving between stages);
- reached: deals created in the period whose furthest stage is the given one or a later one,
  or that are won (a won deal went all the way, even when it skipped a stage);
- converted: deals created in the period and won since (the last step of the funnel).

Figures on months read months in the reporting time zone (`Slice.tz`); they add up to the
period's figure because periods are made of whole months.
"""

import datetime
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
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
    Window,
)
from django.db.models.functions import Coalesce, Greatest, Rank, TruncMonth

from salesdesk.accounts.models import Team, User
from salesdesk.analytics import metrics, rollups
from salesdesk.analytics.metrics import MONEY, ZERO, Slice, Totals
from salesdesk.analytics.models import DealRollup
from salesdesk.crm.models import Company
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import Period, PeriodKind
from salesdesk.goals.selectors import target_totals
from salesdesk.pipeline.models import Deal, Stage, StageChange

MONTHS_BEFORE = 12  # the won-revenue chart shows the period and this many months before it
TOP_COMPANIES = 10
NO_SOURCE = "none"  # the lead-source filter value for deals without a source
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
DAY_SECONDS = Decimal(86400)
MONTH_DAYS = 30  # sales velocity "per month" is 30 days of it

WON = Deal.Status.WON
LOST = Deal.Status.LOST
CREATED = DealRollup.Event.CREATED
# Bucket sums, named apart from the buckets' own `count` and `amount` columns.
ROLLED_UP = {"n": Coalesce(Sum("count"), 0), "total": Coalesce(Sum("amount"), ZERO)}


def _rolled(row: dict) -> dict:
    """A row of bucket sums under the names the source-row queries use."""
    row["count"], row["amount"] = row.pop("n"), row.pop("total")
    return row


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH)


# --- Deal sets -------------------------------------------------------------------------------


def closed(slice_: Slice) -> QuerySet[Deal]:
    """Won or lost in the slice: the deals a win rate is computed over."""
    return metrics.won(slice_) | metrics.lost(slice_)


def _entries(slice_: Slice) -> QuerySet[StageChange]:
    return StageChange.objects.filter(at__gte=slice_.start, at__lt=slice_.end)


def entered(slice_: Slice, stage: Stage) -> QuerySet[Deal]:
    """Deals that entered `stage` during the slice (once, however often they went back)."""
    moves = _entries(slice_).filter(deal=OuterRef("pk"), to_stage=stage)
    return metrics.deals(slice_).filter(Exists(moves))


def _furthest_position(pipeline_id: int):
    """The furthest position a deal reached in the pipeline: its history and its current stage."""
    history = (
        StageChange.objects.filter(deal=OuterRef("pk"), to_stage__pipeline_id=pipeline_id)
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


def _reached_condition(position: int) -> Q:
    return Q(furthest__gte=position) | Q(status=WON)


def _funnel_base(slice_: Slice, pipeline_id: int) -> QuerySet[Deal]:
    return metrics.created(replace(slice_, pipeline_id=pipeline_id)).annotate(
        furthest=_furthest_position(pipeline_id)
    )


def reached(slice_: Slice, stage: Stage) -> QuerySet[Deal]:
    """Deals created in the slice (in the stage's pipeline) that got to `stage` or beyond."""
    return _funnel_base(slice_, stage.pipeline_id).filter(_reached_condition(stage.position))


def converted(slice_: Slice) -> QuerySet[Deal]:
    """Deals created in the slice and won since."""
    return metrics.created(slice_).filter(status=WON)


# Sets a drill-down can list, by name; those in STAGE_SETS need a stage.
SETS: dict[str, Callable] = {
    **metrics.DEAL_SETS,
    "closed": closed,
    "converted": converted,
    "entered": entered,
    "reached": reached,
}
STAGE_SETS = {"entered", "reached"}
SET_LABELS = {
    "won": "Won",
    "lost": "Lost",
    "created": "Created",
    "expected": "Expected to close",
    "open": "Open now",
    "closed": "Won or lost",
    "converted": "Created and won",
    "entered": "Entered stage",
    "reached": "Reached stage",
}


def deal_set(
    slice_: Slice,
    name: str,
    *,
    stage: Stage | None = None,
    lead_source: int | str | None = None,
    lost_reason_id: int | None = None,
    company_id: int | None = None,
) -> QuerySet[Deal]:
    """The deals behind one figure: a named set narrowed by the figure's row (source, reason…).

    For `entered` and `reached` the stage is the set's stage; for the other sets it narrows to
    deals now in that stage. `lead_source` is an id or NO_SOURCE.
    """
    if name in STAGE_SETS:
        if stage is None:
            raise ValueError(f"The {name!r} set needs a stage.")
        queryset = SETS[name](slice_, stage)
    else:
        queryset = SETS[name](slice_)
        if stage is not None:
            queryset = queryset.filter(stage_id=stage.pk)
    if lead_source == NO_SOURCE:
        queryset = queryset.filter(lead_source__isnull=True)
    elif lead_source is not None:
        queryset = queryset.filter(lead_source_id=lead_source)
    if lost_reason_id is not None:
        queryset = queryset.filter(lost_reason_id=lost_reason_id)
    if company_id is not None:
        queryset = queryset.filter(company_id=company_id)
    return queryset


# --- Won revenue and deal flow by month --------------------------------------------------------


@dataclass(frozen=True)
class Month:
    period: Period
    is_in_period: bool  # inside the selected period (the others are the months before it)
    won: Totals
    lost: Totals
    created: Totals
    goal: Decimal | None

    @property
    def attainment(self) -> Decimal | None:
        if not self.goal:
            return None
        return (self.won.amount * 100 / self.goal).quantize(TENTH)


def _month_start(period: Period) -> Period:
    return Period(PeriodKind.MONTH, period.start, period.fiscal_start_month)


def _month_key(moment: datetime.datetime, zone: zoneinfo.ZoneInfo) -> datetime.date:
    return moment.astimezone(zone).date().replace(day=1)


def _by_month(queryset: QuerySet[Deal], field: str, zone, *extra: str) -> list[dict]:
    return list(
        queryset.annotate(month=TruncMonth(field, tzinfo=zone))
        .order_by()
        .values("month", *extra)
        .annotate(count=Count("id"), amount=Coalesce(Sum("amount_base"), ZERO))
    )


def _totals(row: dict | None) -> Totals:
    if row is None:
        return Totals(0, _money(0), _money(0))
    return Totals(row["count"], _money(row["amount"]), _money(0))


def goals_for(slice_: Slice, periods: list[Period]) -> dict[Period, Decimal | None]:
    """The won-revenue goals of the slice's rep, else its team, else everyone's (one query).

    Goals are not per pipeline: with a pipeline filter they still cover every pipeline.
    """
    return target_totals(
        actor=slice_.actor,
        periods=periods,
        metric=Goal.Metric.WON_REVENUE,
        user_id=slice_.owner_id,
        team_id=slice_.team_id,
    )


def window_months(period: Period) -> list[Period]:
    """The months of `period` and the MONTHS_BEFORE months before it."""
    first = _month_start(period).shifted(-MONTHS_BEFORE)
    return [first.shifted(i) for i in range(MONTHS_BEFORE + len(period.months()))]


def months(slice_: Slice, period: Period, *, goals: dict | None = None) -> list[Month]:
    """Won, lost and created per month over `period` and the MONTHS_BEFORE months before it.

    Three queries: closed deals by month and status, created deals by month, and the goals
    unless given (`goals_for` of the months).
    """
    zone = zoneinfo.ZoneInfo(slice_.tz)
    every_month = window_months(period)
    window = slice_.with_range(every_month[0].bounds(zone)[0], slice_.end)
    if rollups.covers(window):
        closed_rows = {
            (row["month"], row["event"]): _rolled(row)
            for row in rollups.totals_rows(window, WON, LOST)
            .values("month", "event")
            .annotate(**ROLLED_UP)
        }
        created_rows = {
            row["month"]: _rolled(row)
            for row in rollups.totals_rows(window, CREATED).values("month").annotate(**ROLLED_UP)
        }
    else:
        closed_rows = {
            (_month_key(row["month"], zone), row["status"]): row
            for row in _by_month(closed(window), "closed_at", zone, "status")
        }
        created_rows = {
            _month_key(row["month"], zone): row
            for row in _by_month(metrics.created(window), "created_at", zone)
        }
    if goals is None:
        goals = goals_for(slice_, every_month)
    result = []
    for index, month in enumerate(every_month):
        result.append(
            Month(
                period=month,
                is_in_period=index >= MONTHS_BEFORE,
                won=_totals(closed_rows.get((month.start, WON))),
                lost=_totals(closed_rows.get((month.start, LOST))),
                created=_totals(created_rows.get(month.start)),
                goal=goals.get(month),
            )
        )
    return result


# --- Key figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFigures:
    """The period's headline numbers.

    - win rate: won ÷ (won + lost), of the deals closed in the period, in percent;
    - average deal size: the mean base-currency amount of the deals won in the period;
    - sales cycle: the mean number of days from creation to win of the deals won in the period;
    - sales velocity: open deals x win rate x average deal size / sales cycle, in base
      currency per day — what the pipeline open now yields per day at the period's pace
      (`velocity_per_month` is 30 days of it). Empty when any ingredient is missing.
    """

    won: Totals
    lost: Totals
    created: Totals
    open: Totals
    goal: Decimal | None
    average_deal_size: Decimal | None
    cycle_days: Decimal | None

    @property
    def win_rate(self) -> Decimal | None:
        return _percent(self.won.count, self.won.count + self.lost.count)

    @property
    def attainment(self) -> Decimal | None:
        if not self.goal:
            return None
        return (self.won.amount * 100 / self.goal).quantize(TENTH)

    @property
    def velocity_per_day(self) -> Decimal | None:
        if not (self.won.count and self.cycle_days and self.average_deal_size is not None):
            return None
        win_share = Decimal(self.won.count) / Decimal(self.won.count + self.lost.count)
        per_day = self.open.count * win_share * self.average_deal_size / self.cycle_days
        return per_day.quantize(CENT)

    @property
    def velocity_per_month(self) -> Decimal | None:
        per_day = self.velocity_per_day
        return None if per_day is None else (per_day * MONTH_DAYS).quantize(CENT)


def key_figures(slice_: Slice, period: Period, *, goals: dict | None = None) -> KeyFigures:
    """Four queries: closed deals (won and lost together), created ones, open ones, and the
    goal unless given (`goals_for` including `period`)."""
    if rollups.covers(slice_):
        return _rolled_up_key_figures(slice_, period, goals=goals)
    won_only = Q(status=WON)
    lost_only = Q(status=LOST)
    cycle = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    row = closed(slice_).aggregate(
        won_count=Count("id", filter=won_only),
        won_amount=Coalesce(Sum("amount_base", filter=won_only), ZERO),
        lost_count=Count("id", filter=lost_only),
        lost_amount=Coalesce(Sum("amount_base", filter=lost_only), ZERO),
        average=Avg("amount_base", filter=won_only),
        cycle=Avg(cycle, filter=won_only),
    )
    cycle_days = None
    if row["cycle"] is not None:
        cycle_days = (Decimal(row["cycle"].total_seconds()) / DAY_SECONDS).quantize(TENTH)
    return KeyFigures(
        won=Totals(row["won_count"], _money(row["won_amount"]), _money(0)),
        lost=Totals(row["lost_count"], _money(row["lost_amount"]), _money(0)),
        created=metrics.totals(metrics.created(slice_)),
        open=metrics.totals(metrics.open_deals(slice_)),
        goal=(goals if goals is not None else goals_for(slice_, [period]))[period],
        average_deal_size=None if row["average"] is None else _money(row["average"]),
        cycle_days=cycle_days,
    )


def _rolled_up_key_figures(slice_: Slice, period: Period, *, goals: dict | None) -> KeyFigures:
    """`key_figures` from the monthly rollups (the same four queries)."""
    won_only, lost_only = Q(event=WON), Q(event=LOST)
    row = rollups.totals_rows(slice_, WON, LOST).aggregate(
        won_count=Coalesce(Sum("count", filter=won_only), 0),
        won_amount=Coalesce(Sum("amount", filter=won_only), ZERO),
        lost_count=Coalesce(Sum("count", filter=lost_only), 0),
        lost_amount=Coalesce(Sum("amount", filter=lost_only), ZERO),
        cycle=Sum("cycle", filter=won_only),
    )
    weighted = ExpressionWrapper(
        F("amount") * F("stage__probability") / Value(Decimal("100")), output_field=MONEY
    )
    made = rollups.deal_rows(slice_, CREATED).aggregate(
        **ROLLED_UP, weighted=Coalesce(Sum(weighted), ZERO)
    )
    now_open = rollups.open_rows(slice_).aggregate(
        **ROLLED_UP, weighted=Coalesce(Sum(weighted), ZERO)
    )
    won_count = row["won_count"]
    average = cycle_days = None
    if won_count:
        average = _money(Decimal(row["won_amount"]) / won_count)
        if row["cycle"] is not None:
            seconds = Decimal((row["cycle"] / won_count).total_seconds())
            cycle_days = (seconds / DAY_SECONDS).quantize(TENTH)
    return KeyFigures(
        won=Totals(won_count, _money(row["won_amount"]), _money(0)),
        lost=Totals(row["lost_count"], _money(row["lost_amount"]), _money(0)),
        created=Totals(made["n"], _money(made["total"]), _money(made["weighted"])),
        open=Totals(now_open["n"], _money(now_open["total"]), _money(now_open["weighted"])),
        goal=(goals if goals is not None else goals_for(slice_, [period]))[period],
        average_deal_size=average,
        cycle_days=cycle_days,
    )


# --- Stages: flow and funnel -----------------------------------------------------------------


@dataclass(frozen=True)
class StageFigures:
    stage_id: int
    name: str
    entered: Totals  # entered the stage during the period
    reached: Totals  # created in the period and got this far (funnel)
    next_reached: int  # the funnel count of the next step (the next stage, or won)

    @property
    def conversion(self) -> Decimal | None:
        """Of the deals that reached this stage, the share that reached the next step (%)."""
        return _percent(self.next_reached, self.reached.count)


@dataclass(frozen=True)
class Stages:
    pipeline_id: int | None
    pipeline_name: str
    stages: list[StageFigures]
    converted: Totals  # created in the period and won: the funnel's last step


def pipeline_stages() -> list[Stage]:
    """Every stage with its pipeline, default pipeline first: the filter's pipelines and the
    funnel's stages in one query (a pipeline without stages has no deals)."""
    return list(
        Stage.objects.select_related("pipeline").order_by(
            "-pipeline__is_default", "pipeline__name", "pipeline_id", "position", "id"
        )
    )


def funnel_pipeline(stages: list[Stage], pipeline_id: int | None) -> tuple[int | None, str]:
    """The pipeline the funnel shows: the filtered one, or the default (else the first)."""
    for stage in stages:
        if pipeline_id is None or stage.pipeline_id == pipeline_id:
            return stage.pipeline_id, stage.pipeline.name
    return None, ""


def _flow(slice_: Slice, pipeline_id: int) -> dict[int, Totals]:
    """Deals that entered each stage of the pipeline in the slice, from the stage changes."""
    # The first entry of each (deal, stage) inside the period, so a deal that went back and
    # came again counts once, as in the `entered` set.
    earlier = (
        _entries(slice_)
        .filter(deal_id=OuterRef("deal_id"), to_stage_id=OuterRef("to_stage_id"))
        .filter(Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), pk__lt=OuterRef("pk")))
    )
    return {
        row["to_stage_id"]: Totals(row["count"], _money(row["amount"]), _money(0))
        for row in _entries(slice_)
        .filter(deal__in=metrics.deals(slice_), to_stage__pipeline_id=pipeline_id)
        .exclude(Exists(earlier))
        .order_by()
        .values("to_stage_id")
        .annotate(count=Count("id"), amount=Coalesce(Sum("deal__amount_base"), ZERO))
    }


def stage_figures(slice_: Slice, stages: list[Stage]) -> Stages:
    """Stage flow and conversion funnel of the funnel pipeline (two queries).

    Both count over the funnel pipeline whatever the slice's pipeline filter, so a drill-down
    link carries that pipeline.
    """
    pipeline_id, pipeline_name = funnel_pipeline(stages, slice_.pipeline_id)
    if pipeline_id is None:
        return Stages(None, "", [], _totals(None))
    slice_ = replace(slice_, pipeline_id=pipeline_id)
    own = [stage for stage in stages if stage.pipeline_id == pipeline_id]

    kind = rollups.flow_kind(slice_)
    if kind is not None:
        rows = rollups.flow_rows(slice_, kind).values("stage_id").annotate(**ROLLED_UP)
        flow = {row["stage_id"]: Totals(row["n"], _money(row["total"]), _money(0)) for row in rows}
    else:
        flow = _flow(slice_, pipeline_id)

    if rollups.covers(slice_):
        funnel = _rolled_up_funnel(slice_, own)
    else:
        aggregates = {
            "won_count": Count("id", filter=Q(status=WON)),
            "won_amount": Coalesce(Sum("amount_base", filter=Q(status=WON)), ZERO),
        }
        for stage in own:
            condition = _reached_condition(stage.position)
            aggregates[f"count_{stage.pk}"] = Count("id", filter=condition)
            aggregates[f"amount_{stage.pk}"] = Coalesce(Sum("amount_base", filter=condition), ZERO)
        funnel = _funnel_base(slice_, pipeline_id).aggregate(**aggregates)

    rows = []
    for index, stage in enumerate(own):
        following = own[index + 1] if index + 1 < len(own) else None
        rows.append(
            StageFigures(
                stage_id=stage.pk,
                name=stage.name,
                entered=flow.get(stage.pk, _totals(None)),
                reached=Totals(
                    funnel[f"count_{stage.pk}"], _money(funnel[f"amount_{stage.pk}"]), _money(0)
                ),
                next_reached=funnel[f"count_{following.pk}"] if following else funnel["won_count"],
            )
        )
    converted_totals = Totals(funnel["won_count"], _money(funnel["won_amount"]), _money(0))
    return Stages(pipeline_id, pipeline_name, rows, converted_totals)


def _rolled_up_funnel(slice_: Slice, own: list[Stage]) -> dict:
    """The funnel's counts and amounts from the created buckets (furthest position, won)."""
    aggregates = {
        "won_count": Coalesce(Sum("count", filter=Q(is_won=True)), 0),
        "won_amount": Coalesce(Sum("amount", filter=Q(is_won=True)), ZERO),
    }
    for stage in own:
        condition = Q(furthest__gte=stage.position) | Q(is_won=True)
        aggregates[f"count_{stage.pk}"] = Coalesce(Sum("count", filter=condition), 0)
        aggregates[f"amount_{stage.pk}"] = Coalesce(Sum("amount", filter=condition), ZERO)
    return rollups.deal_rows(slice_, CREATED).aggregate(**aggregates)


# --- Tables: lead sources, lost reasons, companies -------------------------------------------


@dataclass(frozen=True)
class SourceRow:
    source_id: int | None
    name: str
    created: Totals
    won: Totals
    lost_count: int

    @property
    def win_rate(self) -> Decimal | None:
        return _percent(self.won.count, self.won.count + self.lost_count)

    @property
    def filter_value(self) -> str:
        """The drill-down's `lead_source` value for this row."""
        return NO_SOURCE if self.source_id is None else str(self.source_id)


def lead_sources(slice_: Slice) -> list[SourceRow]:
    """Per lead source: deals created, won revenue and win rate in the period (two queries)."""
    fields = ("lead_source_id", "lead_source__name")
    if rollups.covers(slice_):
        created_rows = {
            row["lead_source_id"]: _rolled(row)
            for row in rollups.deal_rows(slice_, CREATED).values(*fields).annotate(**ROLLED_UP)
        }
        closed_rows = {
            row["lead_source_id"]: row
            for row in rollups.deal_rows(slice_, WON, LOST)
            .values(*fields)
            .annotate(
                won_count=Coalesce(Sum("count", filter=Q(event=WON)), 0),
                won_amount=Coalesce(Sum("amount", filter=Q(event=WON)), ZERO),
                lost_count=Coalesce(Sum("count", filter=Q(event=LOST)), 0),
            )
        }
        return _source_rows(created_rows, closed_rows)
    created_rows = {
        row["lead_source_id"]: row
        for row in metrics.created(slice_)
        .order_by()
        .values(*fields)
        .annotate(count=Count("id"), amount=Coalesce(Sum("amount_base"), ZERO))
    }
    closed_rows = {
        row["lead_source_id"]: row
        for row in closed(slice_)
        .order_by()
        .values(*fields)
        .annotate(
            won_count=Count("id", filter=Q(status=WON)),
            won_amount=Coalesce(Sum("amount_base", filter=Q(status=WON)), ZERO),
            lost_count=Count("id", filter=Q(status=LOST)),
        )
    }
    return _source_rows(created_rows, closed_rows)


def _source_rows(created_rows: dict, closed_rows: dict) -> list[SourceRow]:
    rows = []
    for source_id in created_rows.keys() | closed_rows.keys():
        made = created_rows.get(source_id)
        done = closed_rows.get(source_id)
        name = (made or done)["lead_source__name"] or "No source"
        rows.append(
            SourceRow(
                source_id=source_id,
                name=name,
                created=_totals(made),
                won=Totals(
                    done["won_count"] if done else 0,
                    _money(done["won_amount"] if done else 0),
                    _money(0),
                ),
                lost_count=done["lost_count"] if done else 0,
            )
        )
    rows.sort(
        key=lambda row: (-row.won.amount, -row.created.count, row.source_id is None, row.name)
    )
    return rows


@dataclass(frozen=True)
class NamedTotals:
    id: int
    name: str
    totals: Totals


def lost_reasons(slice_: Slice) -> list[NamedTotals]:
    """Deals lost in the period by reason, largest value first."""
    if rollups.covers(slice_):
        rows = rollups.deal_rows(slice_, LOST).values("lost_reason_id", "lost_reason__name")
        rows = rows.annotate(**ROLLED_UP).order_by("-total", "-n", "lost_reason__name")
        rows = [_rolled(row) for row in rows]
    else:
        rows = (
            metrics.lost(slice_)
            .order_by()
            .values("lost_reason_id", "lost_reason__name")
            .annotate(count=Count("id"), amount=Coalesce(Sum("amount_base"), ZERO))
            .order_by("-amount", "-count", "lost_reason__name")
        )
    return [
        NamedTotals(row["lost_reason_id"], row["lost_reason__name"], _totals(row)) for row in rows
    ]


# Less than any amount a rollup holds (18 digits, 2 of them decimals).
BELOW_ANY_AMOUNT = Decimal(-(10**16))


def top_companies(
    slice_: Slice, limit: int = TOP_COMPANIES, *, period: Period | None = None
) -> list[NamedTotals]:
    """The companies with the most revenue won in the slice (which covers `period`, if given).

    Only the companies that can be among the first `limit` (ties at the last place kept) are
    looked up for their names: joining every won deal of a quarter to its company first costs
    several times more. Seen whole (no filter, a viewer who sees every deal, a whole period)
    they are read from the period's company buckets in the order of their index: those at
    least as large as the `limit`-th. Otherwise the won deals are grouped by company and ranked
    from the deals' covering index alone.
    """
    buckets = rollups.company_rows(slice_, period) if period is not None else None
    if buckets is not None:
        last = buckets.order_by("-amount", "-count").values("amount")[limit - 1 : limit]
        # With fewer buckets than `limit` there is no last one: every bucket then.
        at_least = Coalesce(Subquery(last), Value(BELOW_ANY_AMOUNT))
        ranked = buckets.filter(amount__gte=at_least).values("company_id", "count", "amount")
    else:
        ranked = (
            metrics.won(slice_)
            .filter(company__isnull=False)
            .order_by()
            .values("company_id")
            .annotate(count=Count("id"), amount=Coalesce(Sum("amount_base"), ZERO))
            .annotate(rank=Window(Rank(), order_by=[F("amount").desc(), F("count").desc()]))
            .filter(rank__lte=limit)
            .values("company_id", "count", "amount")
        )
    sql, params = ranked.query.sql_with_params()
    company = connection.ops.quote_name(Company._meta.db_table)
    query = (
        f"SELECT ranked.company_id, (SELECT c.name FROM {company} c"  # noqa: S608 (no input)
        f" WHERE c.id = ranked.company_id), ranked.count, ranked.amount FROM ({sql}) ranked"
        " ORDER BY ranked.amount DESC, ranked.count DESC, 2, ranked.company_id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*params, limit])
        rows = cursor.fetchall()
    return [
        NamedTotals(company_id, name, Totals(count, _money(amount), _money(0)))
        for company_id, name, count, amount in rows
    ]


# --- The whole dashboard ---------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueDashboard:
    period: Period
    slice: Slice
    months: list[Month]
    figures: KeyFigures
    stages: Stages
    sources: list[SourceRow]
    lost_reasons: list[NamedTotals]
    companies: list[NamedTotals]


def revenue_dashboard(
    slice_: Slice, period: Period, *, stages: list[Stage] | None = None
) -> RevenueDashboard:
    """Every figure of the revenue dashboard for `slice_` (which covers `period`)."""
    if stages is None:
        stages = pipeline_stages()
    goals = goals_for(slice_, [*window_months(period), period])
    return RevenueDashboard(
        period=period,
        slice=slice_,
        months=months(slice_, period, goals=goals),
        figures=key_figures(slice_, period, goals=goals),
        stages=stage_figures(slice_, stages),
        sources=lead_sources(slice_),
        lost_reasons=lost_reasons(slice_),
        companies=top_companies(slice_, period=period),
    )


def filter_choices() -> tuple[list[User], list[Team]]:
    """Everyone a dashboard can be filtered by (deactivated reps too: their deals still count)
    and every team. Names only; the figures apply visibility."""
    users = list(
        User.objects.order_by("full_name", "email").only("id", "full_name", "email", "is_active")
    )
    teams = list(Team.objects.order_by("name").only("id", "name"))
    return users, teams
