"""The team dashboard: each rep's (or each team's) figures for a period, next to the previous
period's up to the same point.

Every figure comes from the sets of `analytics.metrics`, so it is computed over what the viewer
may see. The rows follow the same rule: a manager sees the members of the teams they manage or
belong to, an admin (or anyone when `reps_see_all` is on) every team, and a rep or SDR only
their own row on their own team's dashboard.

The cost does not grow with the number of reps: each deal or activity set is read once, grouped
by owner (or by the owner's team for the per-team summary), with conditional aggregates
splitting it into columns.

Trend. A period still under way is compared with the previous period up to the same point
(Q4 to 25 November against Q3 to 25 August, at the same wall-clock time in the reporting time
zone); a period that is over with the whole previous one. The previous period's whole months
come from the monthly rollups, the month it stops in from the source rows.
"""

import calendar
import datetime
import zoneinfo
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from salesdesk.accounts import visibility
from salesdesk.accounts.models import OrganizationSettings, Role, Team, User
from salesdesk.activities.models import Activity
from salesdesk.analytics import metrics, rollups
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import MONTHS_IN, Period
from salesdesk.goals.selectors import GoalProgress, goal_progress
from salesdesk.pipeline.models import Deal

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
DAY = datetime.timedelta(days=1)
CHANNELS = {
    "emails": Activity.Kind.EMAIL,
    "calls": Activity.Kind.CALL,
    "meetings": Activity.Kind.MEETING,
    "notes": Activity.Kind.NOTE,
    "tasks_done": Activity.Kind.TASK,
}
CYCLE = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())


@dataclass(frozen=True)
class PeriodFigures:
    """What a rep did in one period (a team total is the sum of its reps)."""

    emails: int = 0
    calls: int = 0
    meetings: int = 0
    notes: int = 0
    tasks_done: int = 0
    new_deals: int = 0
    won: int = 0
    won_revenue: Decimal = Decimal("0.00")
    lost: int = 0
    cycle: datetime.timedelta = datetime.timedelta(0)  # summed over the deals won

    @property
    def activities(self) -> int:
        return self.emails + self.calls + self.meetings + self.notes + self.tasks_done

    @property
    def win_rate(self) -> Decimal | None:
        """Percent of the deals closed in the period that were won; None when none closed."""
        closed = self.won + self.lost
        if not closed:
            return None
        return (Decimal(100 * self.won) / closed).quantize(TENTH)

    @property
    def average_cycle(self) -> Decimal | None:
        """Days from creation to won, on average over the deals won in the period."""
        if not self.won:
            return None
        return (Decimal(self.cycle / DAY) / self.won).quantize(TENTH)

    @property
    def is_empty(self) -> bool:
        return not (self.activities or self.new_deals or self.won or self.lost)

    def __add__(self, other: "PeriodFigures") -> "PeriodFigures":
        return PeriodFigures(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def __sub__(self, other: "PeriodFigures") -> "PeriodFigures":
        return PeriodFigures(
            **{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True)
class Standing:
    """Where a rep stands now, whatever the period: open pipeline and missed opportunities."""

    open_deals: int = 0
    open_amount: Decimal = Decimal("0.00")
    stale: int = 0
    overdue_tasks: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.open_deals or self.stale or self.overdue_tasks)

    def __add__(self, other: "Standing") -> "Standing":
        return Standing(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


# The figures compared with the previous period, and whether a rise is good news.
TREND_FIGURES = {
    "activities": True,
    "new_deals": True,
    "won": True,
    "won_revenue": True,
    "lost": False,
    "win_rate": True,
    "average_cycle": False,
}


@dataclass(frozen=True)
class Trend:
    """One figure against the previous period."""

    delta: Decimal | int | None  # None when either period has no value (a rate of nothing)
    is_up_good: bool

    @property
    def direction(self) -> str:
        if not self.delta:
            return "flat"
        return "up" if self.delta > 0 else "down"

    @property
    def is_good(self) -> bool | None:
        if not self.delta:
            return None
        return (self.delta > 0) == self.is_up_good


def trends(current: PeriodFigures, previous: PeriodFigures) -> dict[str, Trend]:
    result = {}
    for name, is_up_good in TREND_FIGURES.items():
        now, before = getattr(current, name), getattr(previous, name)
        delta = None if now is None or before is None else now - before
        result[name] = Trend(delta, is_up_good)
    return result


@dataclass(frozen=True)
class Attainment:
    """Won revenue against the won-revenue goal (a team's: the sum of its reps' goals)."""

    target: Decimal
    achieved: Decimal
    on_track: bool

    @property
    def percent(self) -> Decimal | None:
        if not self.target:
            return None
        return (Decimal(100) * self.achieved / self.target).quantize(TENTH)

    @classmethod
    def of(cls, progress: GoalProgress) -> "Attainment":
        return cls(progress.target, progress.achieved, progress.on_track)


@dataclass(frozen=True)
class RepRow:
    """One line of the dashboard; the total line has no user."""

    user: User | None
    current: PeriodFigures
    previous: PeriodFigures
    standing: Standing
    goal: Attainment | None = None
    trend: dict[str, Trend] = field(default_factory=dict)

    def value(self, metric: str):
        """A figure by name, for sorting and ranking ("won_revenue", "stale", "attainment" …)."""
        if metric == "name":
            return self.user.get_full_name().lower() if self.user else ""
        if metric == "attainment":
            return self.goal.percent if self.goal else None
        if hasattr(self.standing, metric):
            return getattr(self.standing, metric)
        return getattr(self.current, metric)


@dataclass(frozen=True)
class Placing:
    rank: int
    row: RepRow
    value: object


# The columns the table sorts by and the leaderboard ranks by.
SORTS = (
    "name",
    "emails",
    "calls",
    "meetings",
    "notes",
    "tasks_done",
    "activities",
    "new_deals",
    "won",
    "won_revenue",
    "lost",
    "win_rate",
    "average_cycle",
    "open_deals",
    "open_amount",
    "stale",
    "overdue_tasks",
    "attainment",
)
LEADERBOARD_METRICS = {
    "won_revenue": "Won revenue",
    "won": "Deals won",
    "attainment": "Goal attainment",
    "new_deals": "New deals",
    "activities": "Activities",
    "win_rate": "Win rate",
}


@dataclass(frozen=True)
class Comparison:
    """What the trend compares with: the previous period, whole or up to `last_day`."""

    period: Period
    end: datetime.datetime | None = None  # None: the whole period
    last_day: datetime.date | None = None  # the last day counted, in the reporting time zone

    @classmethod
    def of(cls, period: Period, now: datetime.datetime, tz: str) -> "Comparison":
        end = comparison_end(period, now, tz)
        if end is None:
            return cls(period.previous())
        # An end at midnight counts nothing of its own day.
        last = (end - datetime.timedelta(microseconds=1)).astimezone(zoneinfo.ZoneInfo(tz))
        return cls(period.previous(), end, last.date())

    @property
    def label(self) -> str:
        """ "Q3 FY2026 to 25 Aug", or "Q3 FY2026" for the whole period."""
        if self.last_day is None:
            return self.period.label
        return f"{self.period.label} to {self.last_day.day} {self.last_day:%b}"

    def slice(self, actor, tz: str, pipeline_id: int | None) -> metrics.Slice:
        slice_ = metrics.Slice.for_period(actor, self.period, tz=tz, pipeline_id=pipeline_id)
        return slice_ if self.end is None else slice_.with_range(slice_.start, self.end)


@dataclass(frozen=True)
class TeamDashboard:
    period: Period
    previous_period: Period
    teams: list[Team]  # the teams the viewer may choose from
    team: Team | None  # the chosen one; None for all of `teams`
    pipeline_id: int | None
    rows: list[RepRow]
    total: RepRow
    comparison: Comparison | None = None

    def sorted_rows(self, sort: str) -> list[RepRow]:
        """Rows by a column of SORTS ("-won" descending); empty values last either way."""
        key = sort.lstrip("-")
        descending = sort.startswith("-")
        present = [row for row in self.rows if row.value(key) is not None]
        missing = [row for row in self.rows if row.value(key) is None]
        present.sort(key=lambda row: row.value("name"))
        present.sort(key=lambda row: row.value(key), reverse=descending)
        return present + missing

    def leaderboard(self, metric: str = "won_revenue") -> list[Placing]:
        """Reps by `metric`, best first; ties share a rank (1, 2, 2, 4)."""
        placings = []
        for position, row in enumerate(self.sorted_rows(f"-{metric}"), start=1):
            value = row.value(metric)
            tied = placings and placings[-1].value == value
            rank = placings[-1].rank if tied else position
            placings.append(Placing(rank, row, value))
        return placings


# --- Who is on the dashboard ----------------------------------------------------------------


def visible_teams(viewer) -> list[Team]:
    """The teams whose dashboard `viewer` may open (read once per request's user)."""
    cached = getattr(viewer, "_dashboard_teams", None)
    if cached is None:
        teams = Team.objects.filter(visibility.dashboard_team_scope(viewer)).order_by("name")
        cached = viewer._dashboard_teams = list(teams)
    return cached


def _members(viewer, team_ids: list[int]) -> QuerySet[User]:
    """Members of the teams whose figures `viewer` may read (a rep: only themself)."""
    return User.objects.filter(visibility.dashboard_member_scope(viewer), team_id__in=team_ids)


# --- Figures --------------------------------------------------------------------------------


def _period_figures(
    slice_: metrics.Slice, owners, group: str = "owner_id"
) -> dict[int, PeriodFigures]:
    """Activities by channel, new, won and lost deals of each owner (or of each owner's team,
    `group="owner__team_id"`): three grouped queries on the monthly rollups when the slice is
    made of whole months.

    A slice that stops inside a month (the previous period up to the same point) reads that
    month from the source rows too, on the shorter side of the point: the days before it, or
    the whole month from the rollups less the days after it. Either way exact."""
    if rollups.covers(slice_):
        return _rolled_up_figures(slice_, owners, group)
    zone = zoneinfo.ZoneInfo(slice_.tz)
    local_end = slice_.end.astimezone(zone)
    month_start = datetime.datetime(local_end.year, local_end.month, 1, tzinfo=zone)
    if not rollups.covers(slice_.with_range(slice_.start, month_start)):
        return _source_figures(slice_, owners, group)
    following = (month_start + 32 * DAY).replace(day=1)  # midnight of the next month, in zone
    if slice_.end - month_start <= following - slice_.end:
        # (an empty run of whole months keeps the count of queries)
        figures = _rolled_up_figures(slice_.with_range(slice_.start, month_start), owners, group)
        rest = _source_figures(slice_.with_range(month_start, slice_.end), owners, group)
        sign = 1
    else:
        figures = _rolled_up_figures(slice_.with_range(slice_.start, following), owners, group)
        rest = _source_figures(slice_.with_range(slice_.end, following), owners, group)
        sign = -1
    for key, values in rest.items():
        before = figures.get(key, PeriodFigures())
        figures[key] = before + values if sign > 0 else before - values
    return figures


def _source_figures(
    slice_: metrics.Slice, owners: QuerySet, group: str
) -> dict[int, PeriodFigures]:
    """`_period_figures` from the deals and activities themselves."""
    figures: dict[int, dict] = {}
    # Two reads the indexes serve (owner, kind, occurred_at; owner, done_at) rather than the
    # one `metrics.activities` condition, whose OR makes PostgreSQL scan the table.
    # (The team dashboard's slices carry no team or owner: `owners` chooses them.) Every
    # activity of `owners` is visible to the actor, as for the rollups (see
    # `analytics.rollups`): no visibility condition, which would join each activity's deal.
    visible = Activity.objects.all()
    kinds = {name: kind for name, kind in CHANNELS.items() if kind != Activity.Kind.TASK}
    logged = visible.filter(
        kind__in=kinds.values(), occurred_at__gte=slice_.start, occurred_at__lt=slice_.end
    )
    done = visible.filter(
        kind=Activity.Kind.TASK, done_at__gte=slice_.start, done_at__lt=slice_.end
    )
    for queryset, channels in ((logged, kinds), (done, {"tasks_done": Activity.Kind.TASK})):
        rows = (
            queryset.filter(owner__in=owners)
            .order_by()
            .values(group)
            .annotate(**{name: Count("id", filter=Q(kind=kind)) for name, kind in channels.items()})
        )
        for row in rows:
            figures.setdefault(row.pop(group), {}).update(row)
    closed_rows = (
        (metrics.won(slice_) | metrics.lost(slice_))
        .filter(owner__in=owners)
        .order_by()
        .values(group)
        .annotate(
            won=Count("id", filter=Q(status=Deal.Status.WON)),
            won_revenue=Coalesce(
                Sum("amount_base", filter=Q(status=Deal.Status.WON)), metrics.ZERO
            ),
            lost=Count("id", filter=Q(status=Deal.Status.LOST)),
            cycle=Sum(CYCLE, filter=Q(status=Deal.Status.WON)),
        )
    )
    for row in closed_rows:
        row["won_revenue"] = Decimal(row["won_revenue"]).quantize(CENT)
        row["cycle"] = row["cycle"] or datetime.timedelta(0)
        figures.setdefault(row.pop(group), {}).update(row)
    created_rows = (
        metrics.created(slice_)
        .filter(owner__in=owners)
        .order_by()
        .values(group)
        .annotate(new_deals=Count("id"))
    )
    for row in created_rows:
        figures.setdefault(row.pop(group), {}).update(row)
    return {key: PeriodFigures(**values) for key, values in figures.items()}


def _rolled_up_figures(
    slice_: metrics.Slice, owners: QuerySet, group: str
) -> dict[int, PeriodFigures]:
    """`_period_figures` from the monthly buckets.

    The activity buckets are exact here because `owners` are people the actor may see, all of
    whose activities are visible to the actor (see `analytics.rollups`)."""
    figures: dict[int, dict] = {}
    activity_rows = (
        rollups.activity_rows(slice_)
        .filter(owner__in=owners)
        .order_by()
        .values(group)
        .annotate(
            **{
                name: Coalesce(Sum("count", filter=Q(kind=kind)), 0)
                for name, kind in CHANNELS.items()
            }
        )
    )
    for row in activity_rows:
        figures.setdefault(row.pop(group), {}).update(row)
    won, lost = Q(event=Deal.Status.WON), Q(event=Deal.Status.LOST)
    closed_rows = (
        rollups.totals_rows(slice_, Deal.Status.WON, Deal.Status.LOST)
        .filter(owner__in=owners)
        .order_by()
        .values(group)
        .annotate(
            won=Coalesce(Sum("count", filter=won), 0),
            won_revenue=Coalesce(Sum("amount", filter=won), metrics.ZERO),
            lost=Coalesce(Sum("count", filter=lost), 0),
            cycle_sum=Sum("cycle", filter=won),
        )
    )
    for row in closed_rows:
        row["won_revenue"] = Decimal(row["won_revenue"]).quantize(CENT)
        row["cycle"] = row.pop("cycle_sum") or datetime.timedelta(0)
        figures.setdefault(row.pop(group), {}).update(row)
    created_rows = (
        rollups.totals_rows(slice_, "created")
        .filter(owner__in=owners)
        .order_by()
        .values(group)
        .annotate(new_deals=Coalesce(Sum("count"), 0))
    )
    for row in created_rows:
        figures.setdefault(row.pop(group), {}).update(row)
    return {key: PeriodFigures(**values) for key, values in figures.items()}


def comparison_end(period: Period, now: datetime.datetime, tz: str) -> datetime.datetime | None:
    """Where the previous period's figures stop: at the same point of it as `now` is of
    `period` (the same day of the month and wall-clock time in `tz`, shifted back by the
    period's length; the month's last day when it is shorter). None for the whole previous
    period: when `period` is over or has not begun."""
    start, end = period.bounds(tz)
    if not start < now < end:
        return None
    zone = zoneinfo.ZoneInfo(tz)
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1 - MONTHS_IN[period.kind]
    year, month = divmod(index, 12)
    month += 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    shifted = datetime.datetime.combine(datetime.date(year, month, day), local.time(), zone)
    return shifted.astimezone(datetime.UTC)


def _standings(
    slice_: metrics.Slice, owners: QuerySet, now: datetime.datetime, group: str = "owner_id"
) -> dict[int, Standing]:
    """Open pipeline, stale deals and overdue tasks by owner (or by the owner's team), from
    the rollups: the open-deal buckets (one query), and the buckets by day of the moment's
    figures plus the source rows of their boundary day (one query)."""
    standings: dict[int, dict] = {}
    open_rows = (
        rollups.open_rows(slice_)
        .filter(owner__in=owners)
        .order_by()
        .values(group)
        .annotate(open_deals=Sum("count"), open_amount=Coalesce(Sum("amount"), metrics.ZERO))
    )
    for row in open_rows:
        row["open_amount"] = Decimal(row["open_amount"]).quantize(CENT)
        standings.setdefault(row.pop(group), {}).update(row)
    narrow = Q(owner__in=owners)
    moment = rollups.counted(
        group,
        stale=rollups.stale_parts(slice_, narrow, now),
        overdue_tasks=rollups.overdue_parts(slice_, narrow, now),
    )
    for name, counts in moment.items():
        for key, count in counts.items():
            standings.setdefault(key, {})[name] = count
    return {key: Standing(**values) for key, values in standings.items()}


def _attainments(
    actor, period: Period, members: list[User], team: Team | None, now: datetime.datetime
) -> tuple[dict[int, Attainment], Attainment | None]:
    """The reps' won-revenue goals of exactly this period, and the chosen team's goal."""
    if not members:
        return {}, None
    progress = goal_progress(
        actor=actor,
        period=period,
        now=now,
        user_ids=[user.pk for user in members],
        team_ids=[team.pk] if team else [],
        metric=Goal.Metric.WON_REVENUE,
    )
    reps = {item.goal.user_id: Attainment.of(item) for item in progress if item.goal.user_id}
    team_goal = next((Attainment.of(item) for item in progress if item.goal.team_id), None)
    return reps, team_goal


def _total_attainment(goals: list[Attainment]) -> Attainment | None:
    """Without a team goal: the reps' goals added up."""
    if not goals:
        return None
    return Attainment(
        target=sum((goal.target for goal in goals), Decimal(0)),
        achieved=sum((goal.achieved for goal in goals), Decimal(0)),
        on_track=all(goal.on_track for goal in goals),
    )


def _belongs(user: User, current: PeriodFigures, standing: Standing) -> bool:
    """Active reps and SDRs always show; others (a deactivated rep, a selling manager) when
    they have figures."""
    if user.is_active and user.role in (Role.REP, Role.SDR):
        return True
    return not (current.is_empty and standing.is_empty)


def team_dashboard(
    *,
    actor,
    period: Period,
    team_id: int | None = None,
    pipeline_id: int | None = None,
    tz: str | None = None,
    now: datetime.datetime | None = None,
) -> TeamDashboard:
    """The per-rep figures of `period` for one visible team (or all the viewer may see),
    with the previous period's up to the same point (`Comparison`).

    `pipeline_id` narrows the deal figures; activities, overdue tasks and goals have no
    pipeline. Goal attainment is against the reps' won-revenue goals of exactly this period
    (kind and start), the total against the chosen team's goal, or else the reps' goals added
    up. `tz` is the reporting time zone (the organization's when not given). Raises
    Team.DoesNotExist when `team_id` names a team the viewer may not see.
    """
    now = now or timezone.now()
    tz = tz or OrganizationSettings.get().timezone
    teams = visible_teams(actor)
    team = None
    if team_id is not None:
        team = next((candidate for candidate in teams if candidate.pk == team_id), None)
        if team is None:
            raise Team.DoesNotExist(f"Team {team_id} does not exist.")
    team_ids = [team.pk] if team else [candidate.pk for candidate in teams]
    owners = _members(actor, team_ids)
    members = list(owners.order_by("full_name", "email"))

    # The team is chosen through `owners`, the members shown.
    current_slice = metrics.Slice.for_period(actor, period, tz=tz, pipeline_id=pipeline_id)
    comparison = Comparison.of(period, now, tz)
    previous_period = comparison.period
    previous_slice = comparison.slice(actor, tz, pipeline_id)
    owner_ids = owners.values("pk")
    current = _period_figures(current_slice, owner_ids)
    previous = _period_figures(previous_slice, owner_ids)
    standings = _standings(current_slice, owner_ids, now)
    goals, team_goal = _attainments(actor, period, members, team, now)

    rows = []
    for user in members:
        figures = current.get(user.pk, PeriodFigures())
        standing = standings.get(user.pk, Standing())
        if not _belongs(user, figures, standing):
            continue
        before = previous.get(user.pk, PeriodFigures())
        rows.append(
            RepRow(user, figures, before, standing, goals.get(user.pk), trends(figures, before))
        )
    total_current = sum((row.current for row in rows), PeriodFigures())
    total_previous = sum((row.previous for row in rows), PeriodFigures())
    total = RepRow(
        user=None,
        current=total_current,
        previous=total_previous,
        standing=sum((row.standing for row in rows), Standing()),
        goal=team_goal or _total_attainment([row.goal for row in rows if row.goal is not None]),
        trend=trends(total_current, total_previous),
    )
    return TeamDashboard(
        period=period,
        previous_period=previous_period,
        teams=teams,
        team=team,
        pipeline_id=pipeline_id,
        rows=rows,
        total=total,
        comparison=comparison,
    )


# --- Every team at once ---------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    """One team's line of the summary: its members' figures added up in SQL."""

    team: Team | None  # None on the total
    current: PeriodFigures
    previous: PeriodFigures | None  # None while the period is under way (see teams_summary)
    standing: Standing
    goal: Attainment | None = None  # the team's won-revenue goal of the period, if it has one
    trend: dict[str, Trend] = field(default_factory=dict)


@dataclass(frozen=True)
class TeamsSummary:
    period: Period
    comparison: Comparison
    teams: list[Team]
    pipeline_id: int | None
    rows: list[TeamRow]  # one per visible team, by name
    total: "TeamRow"  # every team's figures (team None)

    @property
    def has_trend(self) -> bool:
        return self.comparison.end is None


def teams_summary(
    *,
    actor,
    period: Period,
    pipeline_id: int | None = None,
    tz: str | None = None,
    now: datetime.datetime | None = None,
) -> TeamsSummary:
    """One row per team the viewer may see, every figure grouped by the owner's team in SQL:
    what an admin or a manager of several teams reads before choosing one. The total is the
    sum of the rows; its goal the teams' goals added up.

    The trend is left out while the period is under way: the previous period up to the same
    point reads the days of its last month from the deals and activities, which for every rep
    at once (200 reps, 10M activities) takes a second; each team's own page shows it (a few
    reps: an index range each). A period that is over compares with the whole previous one,
    from the rollups."""
    now = now or timezone.now()
    tz = tz or OrganizationSettings.get().timezone
    teams = visible_teams(actor)
    owners = _members(actor, [team.pk for team in teams]).values("pk")
    current_slice = metrics.Slice.for_period(actor, period, tz=tz, pipeline_id=pipeline_id)
    comparison = Comparison.of(period, now, tz)
    group = "owner__team_id"
    current = _period_figures(current_slice, owners, group)
    previous = None
    if comparison.end is None:
        previous = _period_figures(comparison.slice(actor, tz, pipeline_id), owners, group)
    standings = _standings(current_slice, owners, now, group)
    goals = {}
    if teams:
        progress = goal_progress(
            actor=actor,
            period=period,
            now=now,
            team_ids=[team.pk for team in teams],
            metric=Goal.Metric.WON_REVENUE,
        )
        goals = {item.goal.team_id: Attainment.of(item) for item in progress if item.goal.team_id}
    rows = []
    for team in teams:
        figures = current.get(team.pk, PeriodFigures())
        before = None if previous is None else previous.get(team.pk, PeriodFigures())
        rows.append(
            TeamRow(
                team,
                figures,
                before,
                standings.get(team.pk, Standing()),
                goals.get(team.pk),
                {} if before is None else trends(figures, before),
            )
        )
    total_current = sum((row.current for row in rows), PeriodFigures())
    total_previous = None
    if previous is not None:
        total_previous = sum((row.previous for row in rows), PeriodFigures())
    total = TeamRow(
        team=None,
        current=total_current,
        previous=total_previous,
        standing=sum((row.standing for row in rows), Standing()),
        goal=_total_attainment([row.goal for row in rows if row.goal is not None]),
        trend={} if total_previous is None else trends(total_current, total_previous),
    )
    return TeamsSummary(period, comparison, teams, pipeline_id, rows, total)


@dataclass(frozen=True)
class Leader:
    """A rep on the leaderboard, read with their figure."""

    rank: int
    user_id: int
    name: str
    is_active: bool
    value: object  # a count, money or a percent; None for no rate or no goal
    won: int | None  # deals won, shown beside the closing figures
    attainment: Decimal | None = None  # percent of the rep's goal, when known


def _percent(part, whole) -> Decimal | None:
    return (Decimal(100) * part / whole).quantize(TENTH) if whole else None


def _ranked(placed: list[tuple]) -> list[Leader]:
    """(user id, name, active, value, won) best first, ties sharing a rank (1, 2, 2, 4)."""
    leaders: list[Leader] = []
    for position, (user_id, name, is_active, value, won) in enumerate(placed, start=1):
        tied = leaders and leaders[-1].value == value
        rank = leaders[-1].rank if tied else position
        leaders.append(Leader(rank, user_id, name, is_active, value, won))
    return leaders


REP = ("owner_id", "owner__full_name", "owner__is_active")


def leaders(
    *,
    actor,
    period: Period,
    metric: str = "won_revenue",
    limit: int = 10,
    pipeline_id: int | None = None,
    tz: str | None = None,
    now: datetime.datetime | None = None,
) -> list[Leader]:
    """The best `limit` reps of every team the viewer may see by a metric of
    LEADERBOARD_METRICS, ranked in SQL (ORDER BY … LIMIT) on the monthly rollups; reps with
    nothing to rank by are left out. Goal attainment ranks the period's won-revenue goals."""
    tz = tz or OrganizationSettings.get().timezone
    slice_ = metrics.Slice.for_period(actor, period, tz=tz, pipeline_id=pipeline_id)
    owners = _members(actor, [team.pk for team in visible_teams(actor)])
    if metric == "attainment":
        return _attainment_leaders(actor, period, owners, limit, now)
    rolled = rollups.covers(slice_)
    won_condition = Q(event=Deal.Status.WON) if rolled else Q(status=Deal.Status.WON)
    lost_condition = Q(event=Deal.Status.LOST) if rolled else Q(status=Deal.Status.LOST)

    def count(condition=None):
        if rolled:
            return Coalesce(Sum("count", filter=condition), 0)
        return Count("id", filter=condition)

    if metric == "activities":
        rows = rollups.activity_rows(slice_) if rolled else metrics.activities(slice_)
        annotations = {"value": count()}
    elif metric == "new_deals":
        rows = rollups.totals_rows(slice_, "created") if rolled else metrics.created(slice_)
        annotations = {"value": count()}
    else:
        if rolled:
            rows = rollups.totals_rows(slice_, Deal.Status.WON, Deal.Status.LOST)
        else:
            rows = metrics.won(slice_) | metrics.lost(slice_)
        amount = "amount" if rolled else "amount_base"
        won, lost = count(won_condition), count(lost_condition)
        annotations = {
            "won": won,
            "closed": won + lost,
            "revenue": Coalesce(Sum(amount, filter=won_condition), metrics.ZERO),
        }
        annotations["value"] = {
            "won": F("won"),
            "won_revenue": F("revenue"),
            "win_rate": Cast(F("won"), DecimalField(max_digits=12, decimal_places=4))
            / NullIf(F("closed"), 0),
        }[metric]
    ranked = (
        rows.filter(owner__in=owners.values("pk"))
        .order_by()
        .values(*REP)
        .annotate(**annotations)
        .order_by(F("value").desc(nulls_last=True), "owner__full_name", "owner_id")[:limit]
    )
    placed = []
    for row in ranked:
        value = row["value"]
        if metric == "won_revenue":
            value = Decimal(value).quantize(CENT)
        elif metric == "win_rate":
            value = _percent(row["won"], row["closed"])
        placed.append((*(row[name] for name in REP), value, row.get("won")))
    return _ranked(placed)


def _attainment_leaders(actor, period, owners, limit, now) -> list[Leader]:
    """The reps' won-revenue goals of the period, by percent of the target reached."""
    progress = goal_progress(
        actor=actor,
        period=period,
        now=now,
        user_ids=owners.values_list("pk", flat=True),
        metric=Goal.Metric.WON_REVENUE,
    )
    goals = [item for item in progress if item.goal.user_id]
    placed = [
        (item.goal.user_id, item.goal.user.get_full_name(), item.goal.user.is_active, percent, None)
        for item in goals
        if (percent := Attainment.of(item).percent) is not None
    ]
    placed.sort(key=lambda entry: (-entry[3], entry[1].lower(), entry[0]))
    return _ranked(placed[:limit])
