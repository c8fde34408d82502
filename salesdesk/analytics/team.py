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
from functools import reduce
from operator import or_

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
from salesdesk.pipeline.models import Deal, Stage

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
class TeamDashboard:
    period: Period
    previous_period: Period
    teams: list[Team]  # the teams the viewer may choose from
    team: Team | None  # the chosen one; None for all of `teams`
    pipeline_id: int | None
    rows: list[RepRow]
    total: RepRow

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


def _period_figures(slice_: metrics.Slice, owners: QuerySet) -> dict[int, PeriodFigures]:
    """Activities by channel, new, won and lost deals of each owner: three grouped queries,
    on the monthly rollups when the slice is made of whole months."""
    if rollups.covers(slice_):
        return _rolled_up_figures(slice_, owners)
    figures: dict[int, dict] = {}
    activity_rows = (
        metrics.activities(slice_)
        .filter(owner__in=owners)
        .order_by()
        .values("owner_id")
        .annotate(**{name: Count("id", filter=Q(kind=kind)) for name, kind in CHANNELS.items()})
    )
    for row in activity_rows:
        figures.setdefault(row.pop("owner_id"), {}).update(row)
    closed_rows = (
        (metrics.won(slice_) | metrics.lost(slice_))
        .filter(owner__in=owners)
        .order_by()
        .values("owner_id")
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
        figures.setdefault(row.pop("owner_id"), {}).update(row)
    created_rows = (
        metrics.created(slice_)
        .filter(owner__in=owners)
        .order_by()
        .values("owner_id")
        .annotate(new_deals=Count("id"))
    )
    for row in created_rows:
        figures.setdefault(row.pop("owner_id"), {}).update(row)
    return {owner_id: PeriodFigures(**values) for owner_id, values in figures.items()}


def _rolled_up_figures(slice_: metrics.Slice, owners: QuerySet) -> dict[int, PeriodFigures]:
    """`_period_figures` from the monthly buckets.

    The activity buckets are exact here because `owners` are people the actor may see, all of
    whose activities are visible to the actor (see `analytics.rollups`)."""
    figures: dict[int, dict] = {}
    activity_rows = (
        rollups.activity_rows(slice_)
        .filter(owner__in=owners)
        .order_by()
        .values("owner_id")
        .annotate(
            **{
                name: Coalesce(Sum("count", filter=Q(kind=kind)), 0)
                for name, kind in CHANNELS.items()
            }
        )
    )
    for row in activity_rows:
        figures.setdefault(row.pop("owner_id"), {}).update(row)
    won, lost = Q(event=Deal.Status.WON), Q(event=Deal.Status.LOST)
    closed_rows = (
        rollups.totals_rows(slice_, Deal.Status.WON, Deal.Status.LOST)
        .filter(owner__in=owners)
        .order_by()
        .values("owner_id")
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
        figures.setdefault(row.pop("owner_id"), {}).update(row)
    created_rows = (
        rollups.totals_rows(slice_, "created")
        .filter(owner__in=owners)
        .order_by()
        .values("owner_id")
        .annotate(new_deals=Coalesce(Sum("count"), 0))
    )
    for row in created_rows:
        figures.setdefault(row.pop("owner_id"), {}).update(row)
    return {owner_id: PeriodFigures(**values) for owner_id, values in figures.items()}


def stale_condition(now: datetime.datetime, pipeline_id: int | None = None) -> Q:
    """Open deals longer in their stage than the stage allows, as `Deal.is_stale` decides:
    more whole days than `stale_after_days`. One condition per distinct limit (a handful)."""
    stages = Stage.objects.filter(stale_after_days__isnull=False)
    if pipeline_id is not None:
        stages = stages.filter(pipeline_id=pipeline_id)
    limits = stages.order_by().values_list("stale_after_days", flat=True).distinct()
    conditions = [
        Q(stage__stale_after_days=limit, stage_entered_at__lte=now - (limit + 1) * DAY)
        for limit in limits
    ]
    if not conditions:
        return visibility.NOTHING
    return Q(status=Deal.Status.OPEN) & reduce(or_, conditions)


def _standings(
    slice_: metrics.Slice, owners: QuerySet, now: datetime.datetime
) -> dict[int, Standing]:
    """Open pipeline and stale deals (one query), overdue tasks (another), by owner."""
    standings: dict[int, dict] = {}
    open_rows = (
        metrics.open_deals(slice_)
        .filter(owner__in=owners)
        .order_by()
        .values("owner_id")
        .annotate(
            open_deals=Count("id"),
            open_amount=Coalesce(Sum("amount_base"), metrics.ZERO),
            stale=Count("id", filter=stale_condition(now, slice_.pipeline_id)),
        )
    )
    for row in open_rows:
        row["open_amount"] = Decimal(row["open_amount"]).quantize(CENT)
        standings.setdefault(row.pop("owner_id"), {}).update(row)
    overdue_rows = (
        overdue_tasks(slice_.actor, now)
        .filter(owner__in=owners)
        .order_by()
        .values("owner_id")
        .annotate(overdue_tasks=Count("id"))
    )
    for row in overdue_rows:
        standings.setdefault(row.pop("owner_id"), {}).update(row)
    return {owner_id: Standing(**values) for owner_id, values in standings.items()}


def overdue_tasks(actor, now: datetime.datetime) -> QuerySet[Activity]:
    """Open tasks past their due time, visible to `actor`."""
    return visibility.scope(actor, Activity.objects.all()).filter(
        kind=Activity.Kind.TASK, done_at__isnull=True, due_at__lt=now
    )


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
    """The per-rep figures of `period` for one visible team (or all the viewer may see).

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
    previous_period = period.previous()
    previous_slice = metrics.Slice.for_period(
        actor, previous_period, tz=tz, pipeline_id=pipeline_id
    )
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
    )
