"""Weekly forecast snapshots, and the nightly measure of the win curves.

What every method said is kept to measure its accuracy later.

Once a week (tasks.forecast_snapshot_weekly) the forecast of every period ahead is stored
for the organization, each team and each rep, per method; when a period is over, what was
won in it is written next to its snapshots (`actual`). A second run in the same week changes
nothing: the rows of a week are unique and a rerun inserts only the missing ones.

`snapshot_backfill` rebuilds past weeks from history (see goals.backtest for how a past
instant is replayed), so that a new installation or the demo has an accuracy record at once.
Forecast categories have no history: a backfilled deal counts as commit when its stage is one
whose open deals are mostly commit today.
"""

import datetime
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Count, DecimalField, Sum, Value, When
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings, Role, Team, User
from salesdesk.goals.backtest import MIN_WON_BEFORE
from salesdesk.goals.forecast import (
    CENT,
    METHODS,
    Figures,
    forecast_figures,
    periods_ahead,
    win_curves,
)
from salesdesk.goals.models import ForecastCurves, ForecastSnapshot
from salesdesk.goals.periods import Period
from salesdesk.pipeline.models import Deal, Pipeline

Scope = ForecastSnapshot.Scope
SNAPSHOT_HOUR = 5  # the weekly job's hour on Mondays; backfilled weeks use the same instant


@transaction.atomic
def curves_store(*, now: datetime.datetime | None = None) -> int:
    """Measure the win curves of all pipelines together and of each one, and keep them for
    the pages (goals.forecast.current_curves); returns how many sets were stored."""
    now = now or timezone.now()
    keys = [None, *Pipeline.objects.order_by("pk").values_list("pk", flat=True)]
    for pipeline_id in keys:
        ForecastCurves.objects.update_or_create(
            pipeline_key=pipeline_id or 0,
            defaults={
                "measured_at": now,
                "curves": win_curves(instant=now, pipeline_id=pipeline_id).as_dict(),
            },
        )
    return len(keys)


@dataclass(frozen=True)
class Stored:
    rows: int
    weeks: int


def week_of(moment: datetime.datetime, tz: str) -> datetime.date:
    """The Monday of the week `moment` falls in, in the reporting time zone."""
    day = moment.astimezone(zoneinfo.ZoneInfo(tz)).date()
    return day - datetime.timedelta(days=day.weekday())


def week_instant(week: datetime.date, tz: str) -> datetime.datetime:
    return datetime.datetime.combine(
        week, datetime.time(SNAPSHOT_HOUR), tzinfo=zoneinfo.ZoneInfo(tz)
    ).astimezone(datetime.UTC)


def typical_commit_stages() -> set[int]:
    """Stages whose open deals are more often commit than anything else, today."""
    counts = defaultdict(dict)
    rows = (
        Deal.objects.filter(status=Deal.Status.OPEN)
        .order_by()
        .values("stage_id", "forecast_category")
        .annotate(count=Count("id"))
    )
    for row in rows:
        counts[row["stage_id"]][row["forecast_category"]] = row["count"]
    return {
        stage_id
        for stage_id, by_category in counts.items()
        if max(by_category, key=lambda category: (by_category[category], category))
        == Deal.ForecastCategory.COMMIT
    }


@transaction.atomic
def snapshot_take(
    *,
    now: datetime.datetime | None = None,
    replay: bool = False,
    commit_stages: set[int] | None = None,
) -> int:
    """Store this week's forecasts of every period ahead, every method and every scope.

    Returns how many rows were added (0 when the week had been taken already). `replay`
    rebuilds the deals' state at `now` from history (backfill) instead of reading them now.
    """
    now = now or timezone.now()
    settings = OrganizationSettings.get()
    tz = settings.timezone
    week = week_of(now, tz)
    periods = periods_ahead(now=now, tz=tz, fiscal_start_month=settings.fiscal_year_start_month)
    by_owner = forecast_figures(
        Deal.objects.all(),
        periods=periods,
        instant=now,
        tz=tz,
        replay=replay,
        group="owner_id",
        curves=win_curves(instant=now),
        commit_stages=commit_stages,
    )
    team_of = dict(User.objects.values_list("id", "team_id"))
    reps = set(User.objects.filter(is_active=True, role=Role.REP).values_list("id", flat=True))

    def blank() -> list[Figures]:
        return [Figures() for _ in periods]

    scopes: dict[tuple[str, int], list[Figures]] = defaultdict(blank)
    scopes[Scope.ORGANIZATION, 0] = blank()
    for team_id in Team.objects.values_list("id", flat=True):
        scopes[Scope.TEAM, team_id] = blank()
    for rep in reps:
        scopes[Scope.REP, rep] = blank()
    for owner_id, figures in by_owner.items():
        keys = [(Scope.ORGANIZATION, 0)]
        if owner_id is not None:
            keys.append((Scope.REP, owner_id))
            if team_of.get(owner_id):
                keys.append((Scope.TEAM, team_of[owner_id]))
        for key in keys:
            for total, figure in zip(scopes[key], figures, strict=True):
                total.add(figure)

    rows = [
        ForecastSnapshot(
            week=week,
            period_kind=period.kind,
            period_start=period.start,
            method=method,
            scope=scope,
            scope_id=scope_id,
            value=figure.value(method).quantize(CENT),
            taken_at=now,
            is_backfilled=replay,
        )
        for (scope, scope_id), figures in scopes.items()
        for period, figure in zip(periods, figures, strict=True)
        for method in METHODS
    ]
    before = ForecastSnapshot.objects.filter(week=week).count()
    ForecastSnapshot.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return ForecastSnapshot.objects.filter(week=week).count() - before


@transaction.atomic
def snapshot_actuals_fill(*, now: datetime.datetime | None = None) -> int:
    """Write what was won into the snapshots of every period that is over; returns how many
    periods were filled. One grouped query and three updates per period."""
    now = now or timezone.now()
    settings = OrganizationSettings.get()
    tz = settings.timezone
    pending = (
        ForecastSnapshot.objects.filter(actual__isnull=True)
        .order_by()
        .values_list("period_kind", "period_start")
        .distinct()
    )
    filled = 0
    money = DecimalField(max_digits=16, decimal_places=2)
    for kind, start in sorted(pending):
        period = Period(kind, start, settings.fiscal_year_start_month)
        begin, end = period.bounds(tz)
        if end > now:
            continue
        won = (
            Deal.objects.filter(status=Deal.Status.WON, closed_at__gte=begin, closed_at__lt=end)
            .order_by()
            .values("owner_id", "owner__team_id")
            .annotate(amount=Sum("amount_base"))
        )
        by_rep, by_team, total = defaultdict(Decimal), defaultdict(Decimal), Decimal(0)
        for row in won:
            total += row["amount"]
            if row["owner_id"]:
                by_rep[row["owner_id"]] += row["amount"]
            if row["owner__team_id"]:
                by_team[row["owner__team_id"]] += row["amount"]
        rows = ForecastSnapshot.objects.filter(
            period_kind=kind, period_start=start, actual__isnull=True
        )
        rows.filter(scope=Scope.ORGANIZATION).update(actual=total.quantize(CENT))
        for scope, amounts in ((Scope.TEAM, by_team), (Scope.REP, by_rep)):
            rows.filter(scope=scope).update(
                actual=Case(
                    *(
                        When(scope_id=scope_id, then=Value(amount.quantize(CENT)))
                        for scope_id, amount in amounts.items()
                    ),
                    default=Value(Decimal("0.00")),
                    output_field=money,
                )
            )
        filled += 1
    return filled


def _is_last_week_of_month(week: datetime.date) -> bool:
    """The last Monday before a month begins: its snapshot is the forecast of record."""
    return (week + datetime.timedelta(weeks=1)).month != week.month


def snapshot_backfill(
    *, since: datetime.date, now: datetime.datetime | None = None, every_week: bool = True
) -> Stored:
    """Rebuild the weekly snapshots from the week of `since` to last week from history.

    Weeks before MIN_WON_BEFORE deals had been won are left out (too little history to
    measure anything); weeks already stored are kept as they are. Without `every_week` only
    the last week before each month is rebuilt: the snapshots accuracy is measured on.
    """
    now = now or timezone.now()
    tz = OrganizationSettings.get().timezone
    enough = (
        Deal.objects.filter(status=Deal.Status.WON)
        .order_by("closed_at", "id")
        .values_list("closed_at", flat=True)[MIN_WON_BEFORE - 1 : MIN_WON_BEFORE]
    )
    enough = list(enough)
    if not enough:
        return Stored(0, 0)
    week = max(week_of(week_instant(since, tz), tz), week_of(enough[0], tz))
    if week_instant(week, tz) <= enough[0]:
        week += datetime.timedelta(weeks=1)
    this_week = week_of(now, tz)
    commit_stages = typical_commit_stages()
    rows = weeks = 0
    while week < this_week:
        if every_week or _is_last_week_of_month(week):
            rows += snapshot_take(
                now=week_instant(week, tz), replay=True, commit_stages=commit_stages
            )
            weeks += 1
        week += datetime.timedelta(weeks=1)
    snapshot_actuals_fill(now=now)
    return Stored(rows, weeks)
