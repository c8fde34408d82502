"""Forecasts: what will be won in a period, five ways, and how accurate they have been.

For a period (a month or a quarter, the current one or one ahead) and the deals a user may
see (filtered like `metrics.Slice`: pipeline, team, rep):

- **committed**: won in the period (`metrics.won`);
- **weighted**: committed + the open deals expected to close in the period (`metrics.expected`)
  times the stage probability an admin typed;
- **best case**: committed + every open deal expected in the period;
- **commit**: committed + the open deals expected in the period that their rep calls commit;
- **historical**: committed + every open deal times the chance, measured on this
  organization's own history, that a deal in its stage is won inside the period + the deals
  not created yet, at the usual pace and win rate.

The historical model
--------------------
Typed probabilities are guesses, and expected close dates are a rep's hope: they slip. The
historical method uses neither. For every stage S it replays what happened to the deals that
entered S before the instant of the forecast (each deal from its last entry into S): day by
day after the entry, how many were won, lost, or are still open. From that it builds the
stage's *win curve*: the chance that a deal entering S is won on day L after entering.
"Share of the deals that entered S, and were closed, that ended won" is the stage-to-won
conversion rate (`WinCurve.conversion`); counted among closed deals only it is biased low
while history is young, because losses come quickly and wins take months, and the cycle
lengths of the won ones are biased short. The curve therefore counts the deals still open as
"at risk" up to their current age (the Aalen-Johansen estimator of survival analysis, lost
being the competing outcome), so rate and timing both come out right without waiting for
every deal to close.

An open deal in stage S is forecast as a deal entering S now: its chance of being won inside
[period start, period end) is the curve's mass over the days from now to the period's start
and end. Treating it "as entering now" (rather than "open for as long as it has been") keeps
a deal stuck in an early stage from being counted as if it had moved on. It needs no expected
close date, so slipping dates do not move it: the measured cycle lengths replace the typed
expected close wherever the history is rich enough. A stage with fewer than MIN_CLOSED
closed deals behind it falls back to its typed probability and the deals' expected close
dates (the weighted method). Deals not created yet are expected at the value created per day
over the last NEW_DEALS_WINDOW (per rep when grouped), won on the curve measured from
creation: a deal created on day d of the window counts with that curve's mass over the days
left in the period after d.

On the demo data (reps optimistic about close dates, typed probabilities below the real
rates) `salesdesk forecast-backtest` gives, over the nine months with history, a MAPE of 6.8%
(bias -0.1%) for the historical method against 22.7% (bias +22.7%) for the weighted one.

Rates are the organization's, measured over all its deals (a rep's own few deals would give
noisy curves); the deals they are applied to are those the user may see. Everything that
reads many rows is a grouped SQL query: the curves (by stage, outcome and day; and by outcome
and day from creation), the open deals (by stage, with a conditional sum per period), what
was won and created (conditional sums). Python only combines those aggregated rows, a few
per stage and day of history at most.
"""

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Cast, Coalesce
from django.utils import timezone

from salesdesk.accounts import visibility
from salesdesk.accounts.models import OrganizationSettings, Role, Team, User
from salesdesk.analytics import metrics, rollups
from salesdesk.analytics.models import DealRollup
from salesdesk.goals.models import ForecastCurves, ForecastSnapshot
from salesdesk.goals.periods import Period, PeriodKind, current_period
from salesdesk.pipeline.models import CloseDateChange, Deal, Stage, StageChange

CENT = Decimal("0.01")
DAY = datetime.timedelta(days=1)
METHODS = ("committed", "weighted", "best_case", "commit", "historical")
METHOD_LABELS = {
    "committed": "Committed",
    "weighted": "Weighted",
    "best_case": "Best case",
    "commit": "Commit",
    "historical": "Historical",
}
# A stage's win curve is trusted once this many deals that entered it have closed.
MIN_CLOSED = 10
# Deals not created yet are expected at the pace of value created over this window.
NEW_DEALS_WINDOW = datetime.timedelta(days=91)


@dataclass(frozen=True)
class ForecastRow:
    period: Period
    committed: Decimal
    weighted: Decimal
    best_case: Decimal
    commit: Decimal
    historical: Decimal
    goal: Decimal | None

    def value(self, method: str) -> Decimal:
        return getattr(self, method)

    @property
    def gap(self) -> Decimal | None:
        """Goal minus the historical forecast: what the team is expected to fall short by."""
        return None if self.goal is None else self.goal - self.historical


def periods_ahead(*, now: datetime.datetime, tz: str, fiscal_start_month: int) -> list[Period]:
    """The forecast page's rows: this month and the next two, this quarter and the next."""
    month = current_period(PeriodKind.MONTH, now=now, tz=tz, fiscal_start_month=fiscal_start_month)
    quarter = current_period(
        PeriodKind.QUARTER, now=now, tz=tz, fiscal_start_month=fiscal_start_month
    )
    return [month, month.shifted(1), month.shifted(2), quarter, quarter.shifted(1)]


# --- SQL helpers ---------------------------------------------------------------------------


class WholeDays(Func):
    """Whole days from the second timestamp to the first (rounded down), on any database."""

    arity = 2
    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(FLOOR(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400) AS integer)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # Rounded to whole seconds first: julianday() is a float with sub-second error.
        return super().as_sql(
            compiler,
            connection,
            template="(CAST(ROUND((julianday(%(expressions)s)) * 86400) AS integer) / 86400)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _instant(value: datetime.datetime) -> Value:
    return Value(value, output_field=DateTimeField())


def _days_until(start: datetime.datetime, moment: datetime.datetime) -> int:
    """Days from `start` to `moment`, rounded up (0 when `moment` is not later)."""
    return max(0, -((start - moment) // DAY))


# --- Win curves ----------------------------------------------------------------------------


@dataclass
class WinCurve:
    """What happened after deals entered a stage (or were created): the chance of a win on
    each later day."""

    entries: int = 0
    closed: int = 0
    won: int = 0
    daily: list[float] = field(default_factory=list)  # daily[L]: P(won on day L after entry)
    _cumulative: list[float] = field(default_factory=list, repr=False)

    @property
    def is_trusted(self) -> bool:
        return self.closed >= MIN_CLOSED

    @property
    def conversion(self) -> float | None:
        """Share of the deals that entered the stage, and have closed, that were won."""
        return self.won / self.closed if self.closed else None

    @property
    def eventual(self) -> float:
        """The chance that a deal entering the stage is won at all, open deals accounted for."""
        return self.upto(len(self.daily))

    def upto(self, day: int) -> float:
        """The chance of a win before day `day` after entering."""
        if len(self._cumulative) != len(self.daily) + 1:
            self._cumulative = [0.0]
            for share in self.daily:
                self._cumulative.append(self._cumulative[-1] + share)
        return self._cumulative[min(max(day, 0), len(self.daily))]

    def win_share(self, first_day: int, end_day: int) -> float:
        """The chance that a deal entering the stage now is won on day first_day..end_day-1."""
        return max(self.upto(end_day) - self.upto(first_day), 0.0)

    @property
    def median_days_to_win(self) -> int | None:
        total = self.eventual
        if total <= 0:
            return None
        return next(day for day in range(len(self.daily) + 1) if self.upto(day + 1) >= total / 2)


def _curve(rows: Iterable[tuple[str, int, int]]) -> WinCurve:
    """Aalen-Johansen: the cumulative incidence of a win, with lost as the competing outcome
    and deals still open counted at risk until their current age."""
    won, ended, leaving = defaultdict(int), defaultdict(int), defaultdict(int)
    curve = WinCurve()
    for outcome, day, count in rows:
        day = max(day or 0, 0)
        leaving[day] += count
        curve.entries += count
        if outcome != "open":
            ended[day] += count
            curve.closed += count
        if outcome == "won":
            won[day] += count
            curve.won += count
    at_risk, surviving = curve.entries, 1.0
    for day in range(max(leaving, default=-1) + 1):
        if at_risk > 0:
            curve.daily.append(surviving * won[day] / at_risk)
            surviving *= 1 - ended[day] / at_risk
        else:
            curve.daily.append(0.0)
        at_risk -= leaving[day]
    return curve


@dataclass
class WinCurves:
    stages: dict[int, WinCurve]  # from entering each stage
    creation: WinCurve  # from a deal's creation

    def as_dict(self) -> dict:
        def one(curve: WinCurve) -> dict:
            return {
                "entries": curve.entries,
                "closed": curve.closed,
                "won": curve.won,
                "daily": curve.daily,
            }

        return {
            "stages": {str(stage_id): one(curve) for stage_id, curve in self.stages.items()},
            "creation": one(self.creation),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "WinCurves":
        def one(values: dict) -> WinCurve:
            return WinCurve(values["entries"], values["closed"], values["won"], values["daily"])

        return cls(
            stages={int(key): one(values) for key, values in data["stages"].items()},
            creation=one(data["creation"]),
        )


def _outcomes(instant: datetime.datetime, closed_at: str, started: str, prefix: str = ""):
    """Outcome ("won", "lost", "open") and day of each row as of `instant`."""
    closed = Q(
        **{
            f"{prefix}closed_at__lt": instant,
            f"{prefix}status__in": [Deal.Status.WON, Deal.Status.LOST],
        }
    )
    return {
        "outcome": Case(
            When(closed & Q(**{f"{prefix}status": Deal.Status.WON}), then=Value("won")),
            When(closed, then=Value("lost")),
            default=Value("open"),
            output_field=CharField(),
        ),
        "day": Case(
            When(closed, then=WholeDays(F(closed_at), F(started))),
            default=WholeDays(_instant(instant), F(started)),
        ),
    }


def win_curves(*, instant: datetime.datetime, pipeline_id: int | None = None) -> WinCurves:
    """The win curves from the history before `instant`, in two grouped queries.

    For a stage, each deal counts from its last entry into it (before the instant): if it
    closed before the instant, with its outcome at the days from that entry to its close;
    otherwise as open at the days from the entry to the instant. The creation curve counts
    every deal the same way from its creation. Deals reopened later count as they are now.
    """
    later_entry = StageChange.objects.filter(
        deal=OuterRef("deal"), to_stage=OuterRef("to_stage"), at__lt=instant
    ).filter(Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk")))
    entries = StageChange.objects.filter(at__lt=instant).exclude(Exists(later_entry))
    created = Deal.objects.filter(created_at__lt=instant)
    if pipeline_id is not None:
        entries = entries.filter(to_stage__pipeline_id=pipeline_id)
        created = created.filter(pipeline_id=pipeline_id)
    rows = (
        entries.order_by()
        .annotate(**_outcomes(instant, "deal__closed_at", "at", prefix="deal__"))
        .values("to_stage_id", "outcome", "day")
        .annotate(count=Count("id"))
    )
    by_stage = defaultdict(list)
    for row in rows:
        by_stage[row["to_stage_id"]].append((row["outcome"], row["day"], row["count"]))
    creations = (
        created.order_by()
        .annotate(**_outcomes(instant, "closed_at", "created_at"))
        .values("outcome", "day")
        .annotate(count=Count("id"))
    )
    return WinCurves(
        stages={stage_id: _curve(stage_rows) for stage_id, stage_rows in by_stage.items()},
        creation=_curve((row["outcome"], row["day"], row["count"]) for row in creations),
    )


# Stored curves older than this are not used: the nightly job has stopped.
CURVES_MAX_AGE = datetime.timedelta(days=2)


def current_curves(*, now: datetime.datetime, pipeline_id: int | None = None) -> WinCurves:
    """The curves to forecast with now: those the nightly job measured (at most
    CURVES_MAX_AGE old; a day's new history barely moves them), else measured on the spot.
    Measuring reads every stage change: seconds on a million deals."""
    stored = (
        ForecastCurves.objects.filter(
            pipeline_key=pipeline_id or 0,
            measured_at__gt=now - CURVES_MAX_AGE,
            measured_at__lte=now,
        )
        .values_list("curves", flat=True)
        .first()
    )
    if stored is not None:
        return WinCurves.from_dict(stored)
    return win_curves(instant=now, pipeline_id=pipeline_id)


def _new_business_days(curve: WinCurve, first_day: int, end_day: int) -> float:
    """Days' worth of new deal value won in [first_day, end_day): a deal created on day d
    (0 = today) is won inside the window with the creation curve's share over
    [first_day - d, end_day - d). Multiplied by the value created per day."""
    return sum(curve.win_share(first_day - day, end_day - day) for day in range(max(end_day, 0)))


# --- The forecast engine -------------------------------------------------------------------


def open_states(queryset: QuerySet[Deal], *, instant=None, commit_stages=None) -> QuerySet[Deal]:
    """The deals open at `instant`, annotated with their stage (`at_stage`), expected close
    (`at_close`) and whether they were commit (`at_commit`) at that instant.

    Without `instant`: as they stand now. With one: replayed from history. The stage comes
    from the last StageChange before the instant; the expected close from the first
    CloseDateChange after it (its `from_date`), else today's date. Forecast categories have no
    history: `commit_stages` says which stages count as commit (none when not given).
    """
    if instant is None:
        return queryset.filter(status=Deal.Status.OPEN).annotate(
            at_stage=F("stage_id"),
            at_close=F("expected_close"),
            at_commit=ExpressionWrapper(
                Q(forecast_category=Deal.ForecastCategory.COMMIT), output_field=BooleanField()
            ),
        )
    last_change = StageChange.objects.filter(deal=OuterRef("pk"), at__lt=instant).order_by(
        "-at", "-id"
    )
    next_date_change = CloseDateChange.objects.filter(
        deal=OuterRef("pk"), at__gte=instant
    ).order_by("at", "id")
    states = (
        queryset.filter(created_at__lt=instant)
        .exclude(closed_at__lt=instant)
        .annotate(
            at_stage=Coalesce(
                Subquery(last_change.values("to_stage_id")[:1]),
                F("stage_id"),
                output_field=IntegerField(),
            ),
            at_close=Coalesce(
                Subquery(next_date_change.values("from_date")[:1]), F("expected_close")
            ),
        )
    )
    if commit_stages:
        return states.annotate(
            at_commit=Case(
                When(at_stage__in=sorted(commit_stages), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    return states.annotate(at_commit=Value(False, output_field=BooleanField()))


@dataclass
class Figures:
    committed: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    best_case: Decimal = Decimal(0)
    commit: Decimal = Decimal(0)
    historical: Decimal = Decimal(0)

    def value(self, method: str) -> Decimal:
        return getattr(self, method)

    def add(self, other: "Figures") -> None:
        for method in METHODS:
            setattr(self, method, self.value(method) + other.value(method))

    def rounded(self) -> "Figures":
        return Figures(*(self.value(method).quantize(CENT) for method in METHODS))


def forecast_figures(
    deals: QuerySet[Deal],
    *,
    periods: list[Period],
    instant: datetime.datetime,
    tz: str,
    replay: bool = False,
    group: str | None = None,
    curves: WinCurves,
    commit_stages: set[int] | None = None,
    live: "LiveTotals | None" = None,
) -> dict:
    """The five figures of each period for `deals` as they stood at `instant`.

    Returns {group value: [Figures per period]} ({None: [...]} without `group`), unrounded so
    that groups add up exactly. `replay` rebuilds each deal's state at `instant` from history
    (backtests and backfilled snapshots); otherwise deals are read as they stand now and
    `instant` is now. `curves` come from `win_curves` at the same instant. Four queries.

    The live forecast of one group passes `live`, what the rollups already hold
    (`live_totals`): then no open deal is read, and only the created deals at the edges of the
    new-business window (one query, two when the organization is young).
    """
    if live is not None and (group or replay):
        raise ValueError("live totals are the figures now, of one group")
    bounds = [period.bounds(tz) for period in periods]
    group_fields = [group] if group else []

    def empty() -> list[Figures]:
        return [Figures() for _ in periods]

    result = defaultdict(empty)
    money = metrics.MONEY

    # What was won in each period (up to the instant when replaying), and the value of the
    # deals created lately (for the deals not created yet). Each reads one index range (on
    # PostgreSQL from the index alone); the older deals matter only as "there are some".
    everything = deals.order_by()
    since = instant - NEW_DEALS_WINDOW
    recent_deals = everything.filter(created_at__gte=since, created_at__lt=instant)
    won_sums, won_ranges = {}, []
    for i, (start, end) in enumerate(bounds):
        end = min(end, instant) if replay else end
        if start < end:
            won_ranges.append((start, end))
            won_sums[f"won{i}"] = Sum(
                Case(
                    When(closed_at__gte=start, closed_at__lt=end, then=F("amount_base")),
                    output_field=money,
                )
            )
    queries = []
    if live is None:
        queries.append((recent_deals, {"recent": Sum("amount_base"), "first": Min("created_at")}))
    if won_ranges:
        won = everything.filter(
            status=Deal.Status.WON,
            closed_at__gte=min(start for start, _ in won_ranges),
            closed_at__lt=max(end for _, end in won_ranges),
        )
        queries.append((won, won_sums))
    totals_by_key: dict = defaultdict(dict)
    for queryset, sums in queries:
        if group:
            for row in queryset.values(group).annotate(**sums):
                totals_by_key[row.pop(group)].update(row)
        else:
            totals_by_key[None].update(queryset.aggregate(**sums))
    older = everything.filter(created_at__lt=since)
    if group:
        older_keys = set(older.values_list(group, flat=True).distinct())
    elif live is None:
        older_keys = {None} if older.exists() else set()
    else:
        totals_by_key[None]["recent"] = live.recent
        first = None if live.older else everything.aggregate(first=Min("created_at"))["first"]
        older_keys = {None} if live.older or (first and first < since) else set()
        if live.recent and not older_keys:  # a young organization: since its first deal
            totals_by_key[None]["first"] = first
    created_rows = list(totals_by_key.items())
    for key, row in created_rows:
        if key in older_keys:
            row["first"] = since  # deals older than the window: the whole window counts
    for key, row in created_rows:
        figures = result[key]
        for i in range(len(periods)):
            figures[i].committed = row.get(f"won{i}") or Decimal(0)

    # The open deals by stage: in total, and expected in each period (all and commit only).
    if live is not None:
        rows, probability = live.rows(periods), live.probability
    else:
        states = open_states(
            deals, instant=instant if replay else None, commit_stages=commit_stages
        ).order_by()
        sums = {"open_amount": Sum("amount_base")}
        for i, period in enumerate(periods):
            in_period = Q(at_close__gte=period.start, at_close__lt=period.end)
            sums[f"expected{i}"] = Sum(
                Case(When(in_period, then=F("amount_base")), output_field=money)
            )
            sums[f"commit{i}"] = Sum(
                Case(When(in_period & Q(at_commit=True), then=F("amount_base")), output_field=money)
            )
        rows = list(states.values(*group_fields, "at_stage").annotate(**sums))
        probability = dict(Stage.objects.order_by().values_list("id", "probability"))
    windows = [(_days_until(instant, start), _days_until(instant, end)) for start, end in bounds]
    for row in rows:
        figures = result[row[group] if group else None]
        stage_id = row["at_stage"]
        typed = Decimal(probability.get(stage_id, 0)) / 100
        curve = curves.stages.get(stage_id)
        for i, (first_day, end_day) in enumerate(windows):
            expected = row.get(f"expected{i}") or Decimal(0)
            figures[i].weighted += expected * typed
            figures[i].best_case += expected
            figures[i].commit += row.get(f"commit{i}") or Decimal(0)
            if curve is not None and curve.is_trusted:
                share = Decimal(repr(curve.win_share(first_day, end_day)))
                figures[i].historical += (row["open_amount"] or Decimal(0)) * share
            else:
                figures[i].historical += expected * typed
    # Deals not created yet: the value created per day lately, won on the creation curve.
    if curves.creation.is_trusted:
        days = [
            Decimal(repr(_new_business_days(curves.creation, first_day, end_day)))
            for first_day, end_day in windows
        ]
        for key, row in created_rows:
            if not row.get("recent"):
                continue
            span = min(instant - row["first"], NEW_DEALS_WINDOW) / DAY
            per_day = row["recent"] / Decimal(repr(max(span, 1.0)))
            figures = result[key]
            for i, share in enumerate(days):
                figures[i].historical += per_day * share
    for figures in result.values():
        for figure in figures:
            figure.weighted += figure.committed
            figure.best_case += figure.committed
            figure.commit += figure.committed
            figure.historical += figure.committed
    return dict(result)


# --- The forecast of a user's deals ----------------------------------------------------------


def organization(actor) -> OrganizationSettings:
    """The organization's settings, read once per request (kept on the acting user)."""
    cached = getattr(actor, "_forecast_organization", None)
    if cached is None:
        cached = OrganizationSettings.get()
        if actor is not None and hasattr(actor, "pk"):
            actor._forecast_organization = cached
    return cached


def _goals(actor, periods: list[Period], *, team_id, owner_id) -> dict[Period, Decimal | None]:
    """Won-revenue targets from the goals module (None where no goal covers a period)."""
    try:
        from salesdesk.goals import selectors as goal_selectors
    except ImportError:  # the goals module is not there yet
        return {}
    target_totals = getattr(goal_selectors, "target_totals", None)
    if target_totals is None:
        return {}
    return target_totals(actor=actor, periods=periods, user_id=owner_id, team_id=team_id)


def forecast(
    *,
    actor,
    periods: list[Period],
    now: datetime.datetime | None = None,
    pipeline_id: int | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
) -> list[ForecastRow]:
    """The five figures and the goal for each period, over the deals `actor` may see."""
    now = now or timezone.now()
    if not periods:
        return []
    tz = organization(actor).timezone
    start, end = periods[0].bounds(tz)
    slice_ = metrics.Slice(
        actor=actor,
        start=start,
        end=end,
        tz=tz,
        pipeline_id=pipeline_id,
        team_id=team_id,
        owner_id=owner_id,
    )
    deals = metrics.deals(slice_)
    figures = forecast_figures(
        deals,
        periods=periods,
        instant=now,
        tz=tz,
        curves=current_curves(now=now, pipeline_id=pipeline_id),
        live=live_totals(slice_, deals, instant=now),
    ).get(None) or [Figures() for _ in periods]
    goals = _goals(actor, periods, team_id=team_id, owner_id=owner_id)
    rows = []
    for period, figure in zip(periods, figures, strict=True):
        figure = figure.rounded()
        rows.append(
            ForecastRow(
                period=period,
                committed=figure.committed,
                weighted=figure.weighted,
                best_case=figure.best_case,
                commit=figure.commit,
                historical=figure.historical,
                goal=goals.get(period),
            )
        )
    return rows


@dataclass(frozen=True)
class LiveTotals:
    """What the rollups hold for the live forecast of one slice (`live_totals`)."""

    # (stage, first day of the expected close month or None, committed) → open amount
    open_amounts: dict[tuple[int, datetime.date | None, bool], Decimal]
    probability: dict[int, int]  # the typed probability of each stage with open deals
    recent: Decimal  # the amount created in the NEW_DEALS_WINDOW before the instant
    older: bool  # deals created before a whole month before the window exist (else: ask)

    def rows(self, periods: list[Period]) -> list[dict]:
        """Per stage: the open amount, and what is expected (all, commit) in each period, as
        `forecast_figures` sums them from the deals. Periods are whole months."""
        rows: dict[int, dict] = {}
        for (stage_id, month, is_commit), amount in self.open_amounts.items():
            row = rows.setdefault(stage_id, {"at_stage": stage_id, "open_amount": Decimal(0)})
            row["open_amount"] += amount
            for i, period in enumerate(periods):
                if month is not None and period.start <= month < period.end:
                    row[f"expected{i}"] = row.get(f"expected{i}", Decimal(0)) + amount
                    if is_commit:
                        row[f"commit{i}"] = row.get(f"commit{i}", Decimal(0)) + amount
        return list(rows.values())


def live_totals(slice_: metrics.Slice, deals: QuerySet[Deal], *, instant) -> LiveTotals:
    """The open amounts by stage, expected month and commit from the open-deal rollup, and the
    amount created in the `NEW_DEALS_WINDOW` before `instant`: its whole months of the
    reporting time zone from the monthly rollups, the days at either end from `deals` (two
    short index ranges). `slice_` gives the same deals as `deals`. Three queries."""
    open_rows = (
        rollups.open_rows(slice_)
        .order_by()
        .values_list("stage_id", "stage__probability", "expected_month", "is_commit")
        .annotate(Sum("amount"))
    )
    open_amounts, probability = {}, {}
    for stage_id, typed, month, is_commit, amount in open_rows:
        open_amounts[stage_id, month, is_commit] = amount
        probability[stage_id] = typed
    zone = zoneinfo.ZoneInfo(slice_.tz)
    since = instant - NEW_DEALS_WINDOW
    since_month = rollups.month_bounds(rollups.month_of(since, zone), zone)[0]
    first_whole = since if since == since_month else rollups.month_bounds(since_month, zone)[1]
    last_whole = rollups.month_bounds(rollups.month_of(instant, zone), zone)[0]
    created = rollups.totals_rows(
        slice_.with_range(since_month - NEW_DEALS_WINDOW * 4, max(first_whole, last_whole)),
        DealRollup.Event.CREATED,
    ).aggregate(
        whole=Coalesce(
            Sum("amount", filter=Q(month__gte=first_whole.astimezone(zone).date())), Decimal(0)
        ),
        older=Count("id", filter=Q(month__lt=since_month.astimezone(zone).date())),
    )
    if first_whole >= last_whole:  # no whole month inside the window
        edges = Q(created_at__gte=since, created_at__lt=instant)
        whole = Decimal(0)
    else:
        edges = Q(created_at__gte=since, created_at__lt=first_whole) | Q(
            created_at__gte=last_whole, created_at__lt=instant
        )
        whole = created["whole"]
    edge = deals.filter(edges).aggregate(total=Coalesce(Sum("amount_base"), Decimal(0)))
    return LiveTotals(
        open_amounts=open_amounts,
        probability=probability,
        recent=whole + edge["total"],
        older=bool(created["older"]),
    )


# --- The deals behind the forecast -----------------------------------------------------------


def slip_count() -> F:
    """How many times a deal's expected close date was pushed later (or cleared): counted on
    the deal as each slip is recorded (`Deal.close_date_slips`)."""
    return F("close_date_slips")


def can_change_annotation(actor):
    condition = visibility.owner_scope(actor, for_change=True)
    if not condition:  # everything
        return Value(True, output_field=BooleanField())
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def forecast_deals(
    *,
    actor,
    period: Period,
    tz: str,
    pipeline_id: int | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
) -> QuerySet[Deal]:
    """The open deals expected to close in `period`, with `slips` and `can_change`."""
    slice_ = metrics.Slice.for_period(
        actor, period, tz=tz, pipeline_id=pipeline_id, team_id=team_id, owner_id=owner_id
    )
    return (
        metrics.expected(slice_)
        .select_related("owner", "stage", "company")
        .annotate(slips=slip_count(), can_change=can_change_annotation(actor))
        .order_by("expected_close", "-amount_base", "-pk")
    )


def most_slipped_deals(
    *,
    actor,
    pipeline_id: int | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
    limit: int = 10,
) -> list[Deal]:
    """The open deals whose close date slipped most often, biggest first among equals."""
    slice_ = metrics.Slice(
        actor=actor,
        start=timezone.now(),
        end=timezone.now(),
        pipeline_id=pipeline_id,
        team_id=team_id,
        owner_id=owner_id,
    )
    return list(
        metrics.open_deals(slice_)
        .select_related("owner", "stage")
        .filter(close_date_slips__gt=0)
        .annotate(slips=slip_count())
        .order_by("-close_date_slips", "-amount_base", "-pk")[:limit]
    )


# --- Accuracy of past forecasts --------------------------------------------------------------

Snapshot = ForecastSnapshot


def percent_text(value: float | None, *, signed: bool = False) -> str:
    """0.123 → "12.3%" ("+12.3%" when signed); None → "—"."""
    if value is None:
        return "—"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


class _Errors:
    mape: float | None
    bias: float | None

    @property
    def mape_text(self) -> str:
        return percent_text(self.mape)

    @property
    def bias_text(self) -> str:
        return percent_text(self.bias, signed=True)


@dataclass(frozen=True)
class MethodAccuracy(_Errors):
    method: str
    periods: int
    mape: float | None
    bias: float | None

    @property
    def label(self) -> str:
        return METHOD_LABELS[self.method]


@dataclass(frozen=True)
class PastPeriod:
    period: Period
    actual: Decimal
    forecasts: dict[str, Decimal]


@dataclass(frozen=True)
class RepCommit(_Errors):
    user: object
    periods: int
    commit: Decimal
    actual: Decimal
    mape: float | None
    bias: float | None


@dataclass(frozen=True)
class Accuracy:
    scope: str
    scope_id: int
    scope_name: str
    methods: dict[str, list[MethodAccuracy]]  # by period kind
    history: list[PastPeriod]  # months, oldest first
    reps: list[RepCommit]
    is_backfilled: bool

    @property
    def has_data(self) -> bool:
        return bool(self.history) or any(self.methods.values())


def sees_everyone(actor) -> bool:
    return actor.is_admin or organization(actor).reps_see_all


def managed_team_ids(actor) -> set[int]:
    """A manager's teams (managed or belonged to)."""
    if actor.role != Role.MANAGER:
        return set()
    return set(visibility._team_ids(actor))  # the teams whose records they see


def accuracy_scope(actor, *, team_id=None, owner_id=None) -> tuple[str, int] | None:
    """Whose forecast accuracy `actor` asks for and may see: (scope, scope id) or None.

    The organization's and every team's are open to admins (and to all when reps see all);
    a manager sees their teams' and their reps'; a rep their own.
    """
    if not (actor.is_authenticated and actor.is_active):
        return None
    everyone = sees_everyone(actor)
    if owner_id is not None:
        user = User.objects.filter(pk=owner_id).first()
        if user is None or not (everyone or visibility.can_assign_to(actor, user)):
            return None
        return Snapshot.Scope.REP, owner_id
    teams = None if everyone else managed_team_ids(actor)
    if team_id is not None:
        return (Snapshot.Scope.TEAM, team_id) if teams is None or team_id in teams else None
    if teams is None:
        return Snapshot.Scope.ORGANIZATION, 0
    if teams:
        return Snapshot.Scope.TEAM, min(teams)
    return Snapshot.Scope.REP, actor.pk


def _of_record(rows: QuerySet[Snapshot]) -> QuerySet[Snapshot]:
    """For each period, method and scope: the last snapshot taken before the period began
    (the forecast of "next month" or "next quarter"), once the period's actual is known."""
    later = Snapshot.objects.filter(
        period_kind=OuterRef("period_kind"),
        period_start=OuterRef("period_start"),
        method=OuterRef("method"),
        scope=OuterRef("scope"),
        scope_id=OuterRef("scope_id"),
        week__gt=OuterRef("week"),
        week__lt=OuterRef("period_start"),
    )
    return rows.filter(actual__isnull=False, week__lt=F("period_start")).exclude(Exists(later))


def _error_sums():
    value, actual = Cast("value", FloatField()), Cast("actual", FloatField())
    has_actual = Q(actual__gt=0)
    return {
        "periods": Count("id", filter=has_actual),
        "mape": Avg(Abs(value - actual) / actual, filter=has_actual),
        "bias": Avg((value - actual) / actual, filter=has_actual),
    }


def forecast_accuracy(
    *, actor, team_id: int | None = None, owner_id: int | None = None, months: int = 12
) -> Accuracy | None:
    """How far each method's forecasts were from what was won, over the snapshotted periods
    that are over; and each visible rep's commit against what they won. Four queries."""
    scope = accuracy_scope(actor, team_id=team_id, owner_id=owner_id)
    if scope is None:
        return None
    scope_name, scope_id = scope
    settings = organization(actor)
    rows = _of_record(
        Snapshot.objects.filter(scope=scope_name, scope_id=scope_id).exclude(
            method=Snapshot.Method.COMMITTED  # won so far: not a forecast
        )
    ).order_by()
    methods = defaultdict(list)
    for row in rows.values("period_kind", "method").annotate(**_error_sums()):
        methods[row["period_kind"]].append(
            MethodAccuracy(row["method"], row["periods"], row["mape"], row["bias"])
        )
    for kind in methods:
        methods[kind].sort(key=lambda m: METHODS.index(m.method))

    history, backfilled = defaultdict(dict), False
    recent = rows.filter(period_kind=PeriodKind.MONTH).values(
        "period_start", "method", "value", "actual", "is_backfilled"
    )
    actuals = {}
    for row in recent:
        history[row["period_start"]][row["method"]] = row["value"]
        actuals[row["period_start"]] = row["actual"]
        backfilled = backfilled or row["is_backfilled"]
    past = [
        PastPeriod(
            Period(PeriodKind.MONTH, start, settings.fiscal_year_start_month),
            actuals[start],
            history[start],
        )
        for start in sorted(history)[-months:]
    ]

    reps = []
    if scope_name != Snapshot.Scope.REP:
        rep_rows = _of_record(
            Snapshot.objects.filter(
                scope=Snapshot.Scope.REP,
                method=Snapshot.Method.COMMIT,
                period_kind=PeriodKind.MONTH,
            )
        ).order_by()
        if scope_name == Snapshot.Scope.TEAM:
            rep_rows = rep_rows.filter(
                scope_id__in=User.objects.filter(team_id=scope_id).values("id")
            )
        sums = list(
            rep_rows.values("scope_id").annotate(
                commit=Sum("value"), won=Sum("actual"), **_error_sums()
            )
        )
        users = User.objects.in_bulk([row["scope_id"] for row in sums])
        reps = sorted(
            (
                RepCommit(
                    users[row["scope_id"]],
                    row["periods"],
                    row["commit"].quantize(CENT),
                    row["won"].quantize(CENT),
                    row["mape"],
                    row["bias"],
                )
                for row in sums
                if row["scope_id"] in users
            ),
            key=lambda rep: rep.user.get_full_name().lower(),
        )
    return Accuracy(
        scope=scope_name,
        scope_id=scope_id,
        scope_name=_scope_name(scope_name, scope_id, settings),
        methods=dict(methods),
        history=past,
        reps=reps,
        is_backfilled=backfilled,
    )


def _scope_name(scope: str, scope_id: int, settings) -> str:
    if scope == Snapshot.Scope.TEAM:
        team = Team.objects.filter(pk=scope_id).first()
        return f"team {team.name}" if team else "team"
    if scope == Snapshot.Scope.REP:
        user = User.objects.filter(pk=scope_id).first()
        return user.get_full_name() if user else "rep"
    return settings.name or "the organization"
