"""Goals and how far each has come.

Who sees which goals: goals that the whole team can see keep everyone pointed the same way, so
the list of goals is not limited by record visibility but by team (`visibility.goal_scope`):
everyone sees their own goals, their team's and its members'; managers also the teams they
manage; admins all goals.

The figures of a goal ("achieved", "expected", "best case") are the goal owner's, whoever
looks: a rep sees how far a teammate is even though that teammate's deals are not theirs to
see. They are counted by `salesdesk.analytics.metrics` (the same sets as every dashboard)
with a system actor that sees every record, and only ever shown as totals.

Counting: a deal counts for its current owner and that owner's current team. A team goal
without a target takes the sum of the goals its *active* members have for the same period,
metric and activity kind; the deals of deactivated members still count as achieved.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from salesdesk.accounts import visibility
from salesdesk.accounts.models import OrganizationSettings, Role, Team, User
from salesdesk.analytics import metrics, rollups
from salesdesk.analytics.models import DealRollup
from salesdesk.goals.models import Goal, ramp_share
from salesdesk.goals.periods import (
    MONTHS_IN,
    Period,
    PeriodKind,
    current_period,
    months_between,
    period_parse,
)

CENT = Decimal("0.01")
WEEK = datetime.timedelta(weeks=1)
PIPELINE_METRICS = (Goal.Metric.WON_REVENUE, Goal.Metric.DEALS_WON)


class _SystemActor:
    """Sees every record: goal figures are the goal owner's whoever looks (see above)."""

    pk = None
    is_authenticated = True
    is_active = True
    is_admin = True
    role = Role.ADMIN


SYSTEM = _SystemActor()


def period_from_key(key: str | None, org: OrganizationSettings) -> Period:
    """The period a `?period=` key names, or the current quarter when none is given.

    ValueError with a message for the user when the key is not a period or out of range.
    """
    if not key:
        return current_period(
            PeriodKind.QUARTER,
            now=timezone.now(),
            tz=org.timezone,
            fiscal_start_month=org.fiscal_year_start_month,
        )
    return period_parse(key, org.fiscal_year_start_month)


# --- Who sees and who sets goals (the rules live in accounts/visibility.py) -----------------


def visible_goals(actor) -> QuerySet[Goal]:
    return Goal.objects.filter(visibility.goal_scope(actor))


can_set_goals = visibility.can_set_goals


def can_set_goal_for(actor, *, user: User | None = None, team: Team | None = None) -> bool:
    return visibility.can_set_goal_for(actor, owner=user, team=team)


def goal_owner_choices(actor) -> tuple[QuerySet[Team], QuerySet[User]]:
    """The teams and active users `actor` may set goals for."""
    if not can_set_goals(actor):
        return Team.objects.none(), User.objects.none()
    teams, users = Team.objects.order_by("name"), User.objects.filter(is_active=True)
    if not actor.is_admin:
        team_ids = visibility.team_ids(actor)
        teams, users = teams.filter(pk__in=team_ids), users.filter(team_id__in=team_ids)
    return teams, users.order_by("full_name", "email")


# --- Progress ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalProgress:
    goal: Goal
    period: Period
    # Effective target: ramp applied; a team goal without target = sum of its ACTIVE members'
    # goals (same period, metric and activity kind).
    target: Decimal
    achieved: Decimal
    # Weighted open pipeline expected to close in the period (won_revenue: money; deals_won:
    # sum of probabilities / 100); None for other metrics; 0 once the period is over.
    expected: Decimal | None
    # Unweighted open pipeline expected in the period (money, or count); None for other metrics.
    best_case: Decimal | None
    gap: Decimal  # max(target - achieved, 0)
    pace_per_week: Decimal  # gap / weeks left (a last partial week counts as one)
    elapsed_share: float
    on_track: bool  # achieved >= target * elapsed_share
    attainment: float | None  # achieved / target (None when target is 0)
    coverage: Decimal | None  # best_case / gap (None when gap is 0 or no pipeline metric)
    coverage_ok: bool  # coverage is None or coverage >= org.pipeline_coverage_target
    # A team goal: its members' goals (same period, metric, kind), active ones first.
    members: tuple["GoalProgress", ...] = ()
    is_sum: bool = False  # the target is the sum of the members' goals
    is_over: bool = False  # the period has ended

    @property
    def is_money(self) -> bool:
        return self.goal.metric == Goal.Metric.WON_REVENUE

    @property
    def has_pipeline(self) -> bool:
        return self.goal.metric in PIPELINE_METRICS

    @property
    def attainment_percent(self) -> int:
        return round((self.attainment or 0) * 100)

    @property
    def status(self) -> str:
        """reached | not_started | on_track | behind | missed | no_target, for the badge."""
        if self.target == 0:
            return "no_target"
        if self.achieved >= self.target:
            return "reached"
        if self.is_over:
            return "missed"
        if self.elapsed_share == 0:
            return "not_started"
        return "on_track" if self.on_track else "behind"


@dataclass
class _Figures:
    achieved: Decimal = Decimal(0)
    expected: Decimal = Decimal(0)
    best_case: Decimal = Decimal(0)


def _goal_key(goal: Goal) -> tuple[str, str]:
    return goal.metric, goal.activity_kind


# Past this many goal owners, the rollups are read for every owner: a row per owner is what
# the grouped sums return anyway, and a long IN list costs more to build and plan than the
# rows it would leave out (the admin's 200 reps: 2 ms a query).
OWNER_FILTER_LIMIT = 50


def _owner_condition(user_ids: set[int], team_ids: set[int]) -> Q:
    if len(user_ids) + len(team_ids) > OWNER_FILTER_LIMIT:
        return Q()
    return Q(owner_id__in=sorted(user_ids)) | Q(owner__team_id__in=sorted(team_ids))


def _figures(goals: list[Goal], period: Period, tz: str, *, is_over: bool) -> dict[tuple, _Figures]:
    """Figures by (("user", id) or ("team", id), metric, activity kind): one query per deal
    or activity set, grouped by owner and owner's team, whatever the number of goals. Goal
    periods are whole months: every figure comes from the monthly rollups."""
    slice_ = metrics.Slice.for_period(SYSTEM, period, tz=tz)
    if not rollups.covers(slice_):
        raise ValueError(f"{period} is not whole months of {tz}")
    by_metric = defaultdict(lambda: (set(), set()))
    for goal in goals:
        user_ids, team_ids = by_metric[goal.metric]
        (team_ids if goal.team_id else user_ids).add(goal.team_id or goal.user_id)
    rows = defaultdict(list)  # metric -> [(owner_id, team_id, kind, figures)]

    def owners(*names: str) -> tuple[set[int], set[int]]:
        users, teams = set(), set()
        for name in names:
            users |= by_metric[name][0] if name in by_metric else set()
            teams |= by_metric[name][1] if name in by_metric else set()
        return users, teams

    won_users, won_teams = owners(*PIPELINE_METRICS)
    if won_users or won_teams:
        for row in (
            rollups.totals_rows(slice_, DealRollup.Event.WON)
            .filter(_owner_condition(won_users, won_teams))
            .order_by()
            .values("owner_id", "owner__team_id")
            .annotate(deals=Sum("count"), won=Coalesce(Sum("amount"), metrics.ZERO))
        ):
            key = (row["owner_id"], row["owner__team_id"], "")
            rows[Goal.Metric.WON_REVENUE].append((*key, _Figures(achieved=row["won"])))
            rows[Goal.Metric.DEALS_WON].append((*key, _Figures(achieved=Decimal(row["deals"]))))
        if not is_over:
            # The open deals expected in the period, from the open-deal rollup (goal periods
            # are whole months); the stage's probability now weighs each bucket.
            for row in (
                rollups.expected_rows(slice_)
                .filter(_owner_condition(won_users, won_teams))
                .order_by()
                .values("owner_id", "owner__team_id")
                .annotate(
                    # not "count"/"amount": those name the bucket's own columns below
                    deals=Coalesce(Sum("count"), 0),
                    open_amount=Coalesce(Sum("amount"), metrics.ZERO),
                    weighted=Coalesce(Sum(rollups.WEIGHTED), metrics.ZERO),
                    probability=Coalesce(Sum(F("count") * F("stage__probability")), 0),
                )
            ):
                key = (row["owner_id"], row["owner__team_id"], "")
                rows[Goal.Metric.WON_REVENUE].append(
                    (*key, _Figures(expected=row["weighted"], best_case=row["open_amount"]))
                )
                rows[Goal.Metric.DEALS_WON].append(
                    (
                        *key,
                        _Figures(
                            expected=Decimal(row["probability"]) / 100,
                            best_case=Decimal(row["deals"]),
                        ),
                    )
                )
    new_users, new_teams = owners(Goal.Metric.NEW_DEALS)
    if new_users or new_teams:
        for row in (
            rollups.totals_rows(slice_, DealRollup.Event.CREATED)
            .filter(_owner_condition(new_users, new_teams))
            .order_by()
            .values("owner_id", "owner__team_id")
            .annotate(deals=Sum("count"))
        ):
            rows[Goal.Metric.NEW_DEALS].append(
                (row["owner_id"], row["owner__team_id"], "", _Figures(Decimal(row["deals"])))
            )
    activity_users, activity_teams = owners(Goal.Metric.ACTIVITIES)
    if activity_users or activity_teams:
        for row in (
            rollups.activity_rows(slice_)
            .filter(_owner_condition(activity_users, activity_teams))
            .order_by()
            .values("owner_id", "owner__team_id", "kind")
            .annotate(logged=Sum("count"))
        ):
            rows[Goal.Metric.ACTIVITIES].append(
                (row["owner_id"], row["owner__team_id"], row["kind"], _Figures(row["logged"]))
            )

    # Each row once under its owner and once under the owner's team: a goal then adds up its
    # own rows only (a page of 500 goals over as many rows stays linear).
    owned: dict[tuple, list] = defaultdict(list)
    for metric, metric_rows in rows.items():
        for owner_id, team_id, kind, figures in metric_rows:
            owned[(metric, "user", owner_id)].append((kind, figures))
            owned[(metric, "team", team_id)].append((kind, figures))
    result: dict[tuple, _Figures] = defaultdict(_Figures)
    for goal in goals:
        owner = ("team", goal.team_id) if goal.team_id else ("user", goal.user_id)
        key = (owner, goal.metric, goal.activity_kind)
        if key in result:
            continue
        total = _Figures()
        for kind, figures in owned[(goal.metric, *owner)]:
            if goal.activity_kind and kind != goal.activity_kind:
                continue
            total.achieved += Decimal(figures.achieved)
            total.expected += Decimal(figures.expected)
            total.best_case += Decimal(figures.best_case)
        result[key] = total
    return result


def _progress(
    goal: Goal,
    period: Period,
    *,
    target: Decimal,
    figures: _Figures,
    now: datetime.datetime,
    tz: str,
    coverage_target: Decimal,
    members: tuple = (),
    is_sum: bool = False,
) -> GoalProgress:
    start, end = period.bounds(tz)
    is_over = now >= end
    achieved = figures.achieved.quantize(CENT)
    has_pipeline = goal.metric in PIPELINE_METRICS
    expected = best_case = None
    if has_pipeline:
        expected = Decimal(0) if is_over else figures.expected.quantize(CENT)
        best_case = Decimal(0) if is_over else figures.best_case.quantize(CENT)
    gap = max(target - achieved, Decimal(0))
    # A last partial week counts as a whole one: the pace never exceeds the gap itself.
    left = max(end - max(now, start), datetime.timedelta(0))
    weeks_left = Decimal(left // datetime.timedelta(microseconds=1)) / Decimal(
        WEEK // datetime.timedelta(microseconds=1)
    )
    pace = (gap / max(weeks_left, Decimal(1))).quantize(CENT)
    elapsed = period.elapsed_share(now, tz)
    coverage = None
    if has_pipeline and gap > 0:
        coverage = (best_case / gap).quantize(CENT)
    return GoalProgress(
        goal=goal,
        period=period,
        target=target,
        achieved=achieved,
        expected=expected,
        best_case=best_case,
        gap=gap,
        pace_per_week=pace,
        elapsed_share=elapsed,
        on_track=achieved >= target * Decimal(elapsed),
        attainment=float(achieved / target) if target else None,
        coverage=coverage,
        coverage_ok=coverage is None or coverage >= coverage_target,
        members=members,
        is_sum=is_sum,
        is_over=is_over,
    )


# Fields no goal figure or page shows: not read for the hundreds of goals a page can hold
# (their timestamps alone are a third of the cost of building the instances).
_UNSHOWN = ("created_by", "created_at", "updated_at")
_UNSHOWN_USER = ("password", "last_login", "date_joined", "email_text_shared")


def goal_progress(
    *,
    actor,
    period: Period,
    now: datetime.datetime | None = None,
    user_ids: Iterable[int] | None = None,
    team_ids: Iterable[int] | None = None,
    metric: str | None = None,
    goal_ids: Iterable[int] | None = None,
) -> list[GoalProgress]:
    """Goals of exactly this period (kind + start) visible to `actor`, with their progress.

    A bounded number of queries whatever the number of goals: the goals, the members' goals
    of team goals, and one grouped aggregate per deal or activity set. With `user_ids` and
    `team_ids` both given, goals of either are returned.
    """
    now = now or timezone.now()
    org = OrganizationSettings.get()
    tz = org.timezone
    goals = visible_goals(actor).filter(period_kind=period.kind, period_start=period.start)
    owners = Q()
    if user_ids is not None:
        owners |= Q(user_id__in=list(user_ids))
    if team_ids is not None:
        owners |= Q(team_id__in=list(team_ids))
    if owners:
        goals = goals.filter(owners)
    if metric:
        goals = goals.filter(metric=metric)
    if goal_ids is not None:
        goals = goals.filter(pk__in=list(goal_ids))
    goals = list(
        goals.select_related("user", "team")
        .defer(*_UNSHOWN, *(f"user__{name}" for name in _UNSHOWN_USER), "team__created_at")
        .order_by("metric", "activity_kind", "pk")
    )
    if not goals:
        return []

    # The members' goals of team goals (same period, metric, kind), visible or not: a team's
    # goal is built from them.
    team_goals = [goal for goal in goals if goal.team_id]
    member_goals: dict[tuple, list[Goal]] = defaultdict(list)
    if team_goals:
        for goal in (
            Goal.objects.filter(
                period_kind=period.kind,
                period_start=period.start,
                user__team_id__in={goal.team_id for goal in team_goals},
                metric__in={goal.metric for goal in team_goals},
            )
            .select_related("user", "user__team")
            .defer(
                *_UNSHOWN,
                *(f"user__{name}" for name in _UNSHOWN_USER),
                "user__team__created_at",
            )
            .order_by("-user__is_active", "user__full_name", "user__email", "pk")
        ):
            member_goals[(goal.user.team_id, *_goal_key(goal))].append(goal)
    members_of = {
        goal.pk: member_goals.get((goal.team_id, *_goal_key(goal)), []) for goal in team_goals
    }
    every_goal = goals + [member for group in members_of.values() for member in group]
    figures = _figures(every_goal, period, tz, is_over=now >= period.bounds(tz)[1])

    def figures_of(goal: Goal) -> _Figures:
        owner = ("team", goal.team_id) if goal.team_id else ("user", goal.user_id)
        return figures.get((owner, goal.metric, goal.activity_kind), _Figures())

    settings = {"now": now, "tz": tz, "coverage_target": org.pipeline_coverage_target}
    result = []
    for goal in goals:
        if not goal.team_id:
            target = goal.effective_target(period)
            result.append(
                _progress(goal, period, target=target, figures=figures_of(goal), **settings)
            )
            continue
        members = tuple(
            _progress(
                member,
                period,
                target=member.effective_target(period),
                figures=figures_of(member),
                **settings,
            )
            for member in members_of[goal.pk]
        )
        is_sum = goal.target is None
        if is_sum:
            target = sum((m.target for m in members if m.goal.user.is_active), Decimal(0)).quantize(
                CENT
            )
        else:
            target = goal.effective_target(period)
        result.append(
            _progress(
                goal,
                period,
                target=target,
                figures=figures_of(goal),
                members=members,
                is_sum=is_sum,
                **settings,
            )
        )
    return result


def goal_for_user(actor, pk: int) -> Goal | None:
    return visible_goals(actor).select_related("user", "team").filter(pk=pk).first()


# --- Targets over any period ---------------------------------------------------------------

_LONGER = {
    PeriodKind.MONTH: (PeriodKind.QUARTER, PeriodKind.YEAR),
    PeriodKind.QUARTER: (PeriodKind.YEAR,),
    PeriodKind.YEAR: (),
}
_SHORTER = {PeriodKind.YEAR: PeriodKind.QUARTER, PeriodKind.QUARTER: PeriodKind.MONTH}


def _parts(period: Period) -> list[Period]:
    kind = _SHORTER[period.kind]
    count = MONTHS_IN[period.kind] // MONTHS_IN[kind]
    first = Period(kind, period.start, period.fiscal_start_month)
    return [first.shifted(i) for i in range(count)]


_TARGET_FIELDS = ("period_kind", "period_start", "target", "ramp", "ramp_start")


@dataclass(frozen=True, slots=True)
class _Target:
    """What `_derive` reads of a goal: read as plain values, since a page sums hundreds."""

    period_kind: str
    period_start: datetime.date
    target: Decimal | None
    ramp: list[int] | None
    ramp_start: datetime.date | None

    def ramp_share(self, period: Period) -> Decimal:
        return ramp_share(self.ramp, self.ramp_start, period)


def _derive(goals: list[Goal | _Target], period: Period, fallback=None) -> Decimal | None:
    """One owner's target over `period` from its goals (see `target_total`); `fallback`
    gives a team's members' sum where the team has no target of its own."""
    for goal in goals:
        if goal.period_kind == period.kind and goal.period_start == period.start:
            if goal.target is not None:
                return goal.target * goal.ramp_share(period)
            return fallback(period) if fallback else None
    for kind in _LONGER[period.kind]:
        for goal in goals:
            if goal.period_kind != kind or goal.target is None:
                continue
            offset = months_between(goal.period_start, period.start)
            if 0 <= offset < MONTHS_IN[kind]:
                share = Decimal(MONTHS_IN[period.kind]) / Decimal(MONTHS_IN[kind])
                return goal.target * goal.ramp_share(period) * share
    if period.kind in _SHORTER:
        parts = [_derive(goals, part, fallback) for part in _parts(period)]
        if any(part is not None for part in parts):
            return sum((part for part in parts if part is not None), Decimal(0))
    return fallback(period) if fallback else None


def _year_before(day: datetime.date) -> datetime.date:
    return day.replace(year=day.year - 1) if day.year > 1 else datetime.date.min


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    found = [value for value in values if value is not None]
    return sum(found, Decimal(0)) if found else None


def target_totals(
    *,
    actor,
    periods: list[Period],
    metric: str = Goal.Metric.WON_REVENUE,
    activity_kind: str = "",
    user_id: int | None = None,
    team_id: int | None = None,
) -> dict[Period, Decimal | None]:
    """`target_total` for several periods at once, in one query (a chart's months)."""
    if not periods:
        return {}
    earliest = min(period.start for period in periods)
    latest = max(period.end for period in periods)
    goals = visible_goals(actor).filter(
        metric=metric,
        activity_kind=activity_kind,
        period_start__lt=latest,
        period_start__gt=_year_before(earliest),
    )
    if user_id is not None:
        goals = goals.filter(user_id=user_id)
    elif team_id is not None:
        goals = goals.filter(Q(team_id=team_id) | Q(user__team_id=team_id, user__is_active=True))
    else:
        goals = goals.filter(Q(team__isnull=False) | Q(user__is_active=True))
    rows = goals.order_by("period_start", "pk").values_list(
        "user_id", "team_id", "user__team_id", *_TARGET_FIELDS
    )

    by_user, by_team, members = defaultdict(list), defaultdict(list), defaultdict(set)
    team_of = {}  # a goal's rep → the rep's team
    for goal_user_id, goal_team_id, user_team_id, *fields in rows:
        goal = _Target(*fields)
        if goal_team_id:
            by_team[goal_team_id].append(goal)
        else:
            by_user[goal_user_id].append(goal)
            team_of[goal_user_id] = user_team_id
            if user_team_id and user_id is None:
                members[user_team_id].add(goal_user_id)

    def team_target(team: int, period: Period) -> Decimal | None:
        def members_sum(part: Period) -> Decimal | None:
            return _sum(_derive(by_user[member], part) for member in sorted(members[team]))

        return _derive(by_team[team], period, members_sum)

    def total(period: Period) -> Decimal | None:
        if user_id is not None:
            value = _derive(by_user[user_id], period)
        elif team_id is not None:
            value = team_target(team_id, period)
        else:
            teams = set(by_team) | set(members)
            teamless = [user for user in by_user if not team_of[user]]
            value = _sum(
                [team_target(team, period) for team in sorted(teams)]
                + [_derive(by_user[user], period) for user in sorted(teamless)]
            )
        return value.quantize(CENT) if value is not None else None

    return {period: total(period) for period in periods}


def target_total(
    *,
    actor,
    period: Period,
    metric: str = Goal.Metric.WON_REVENUE,
    user_id: int | None = None,
    team_id: int | None = None,
    activity_kind: str = "",
) -> Decimal | None:
    """The target for this owner (or the whole visible organization when both None) over
    `period`, derived from whichever goals exist.

    Goals of exactly that period come first (a team goal without target: its active members'
    sum); otherwise the share of a longer goal containing it (a year goal / 12 per month, a
    quarter goal / 3 per month, ramp applied month by month); otherwise the sum of shorter
    ones (the periods inside it that some goal covers). A team without any goal of its own
    over the period counts its active members' targets; the organization adds up its teams
    and the reps without a team. None when no goal covers the period. For a chart of many
    periods, `target_totals` reads the goals once.
    """
    return target_totals(
        actor=actor,
        periods=[period],
        metric=metric,
        activity_kind=activity_kind,
        user_id=user_id,
        team_id=team_id,
    )[period]
