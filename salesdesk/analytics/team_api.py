"""GET /dashboards/team: the team dashboard's figures per rep as JSON (the page's table of one
team, or of every rep the caller may see; the page's per-team summary is their teams' sums)."""

import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from salesdesk.accounts.models import OrganizationSettings, Team
from salesdesk.analytics import team as selectors
from salesdesk.core.api_support import Id, InSchema, Text
from salesdesk.core.errors import ValidationFailed
from salesdesk.core.schemas import TeamRef
from salesdesk.goals.schemas import PeriodOut, period_param
from salesdesk.pipeline.models import Pipeline

router = Router(tags=["dashboards"])


class TeamDashboardQuery(InSchema):
    period: Text | None = None
    team: Id | None = None
    pipeline: Id | None = None
    leaderboard: Text | None = None


class FiguresOut(Schema):
    emails: int
    calls: int
    meetings: int
    notes: int
    tasks_done: int
    activities: int
    new_deals: int
    won: int
    won_revenue: Decimal
    lost: int
    win_rate: Decimal | None
    average_cycle: Decimal | None


class StandingOut(Schema):
    open_deals: int
    open_amount: Decimal
    stale: int
    overdue_tasks: int


class GoalOut(Schema):
    target: Decimal
    achieved: Decimal
    attainment: Decimal | None  # percent of the target
    on_track: bool


class TrendOut(Schema):
    """This period's figure minus the previous period's up to the same point (None where
    either has no rate)."""

    activities: int
    new_deals: int
    won: int
    won_revenue: Decimal
    lost: int
    win_rate: Decimal | None  # percentage points
    average_cycle: Decimal | None  # days


class RepOut(Schema):
    id: int
    full_name: str
    email: str
    is_active: bool


class RowOut(Schema):
    rep: RepOut | None  # None on the total row
    current: FiguresOut
    previous: FiguresOut
    standing: StandingOut
    goal: GoalOut | None
    trend: TrendOut


class PlacingOut(Schema):
    rank: int
    rep_id: int
    value: int | Decimal | None  # a count, money or a percent; None for no goal or no rate


class TeamDashboardOut(Schema):
    period: PeriodOut
    previous_period: PeriodOut
    # The last day of the previous period its figures count, in the reporting time zone, when
    # the period is under way (up to the same point: the same day and time); None for the
    # whole previous period.
    previous_until: datetime.date | None
    team: TeamRef | None
    pipeline_id: int | None
    currency: str
    rows: list[RowOut]
    total: RowOut
    leaderboard_metric: str
    leaderboard: list[PlacingOut]


def _period(period) -> dict:
    return {
        "key": period.key,
        "label": period.label,
        "kind": period.kind,
        "start": period.start,
        "end": period.end,
    }


def _figures(figures: selectors.PeriodFigures) -> dict:
    return {name: getattr(figures, name) for name in FiguresOut.model_fields}


def _row(row: selectors.RepRow) -> dict:
    user = row.user
    goal = row.goal
    return {
        "rep": (
            None
            if user is None
            else {
                "id": user.pk,
                "full_name": user.get_full_name(),
                "email": user.email,
                "is_active": user.is_active,
            }
        ),
        "current": _figures(row.current),
        "previous": _figures(row.previous),
        "standing": {name: getattr(row.standing, name) for name in StandingOut.model_fields},
        "goal": (
            None
            if goal is None
            else {
                "target": goal.target,
                "achieved": goal.achieved,
                "attainment": goal.percent,
                "on_track": goal.on_track,
            }
        ),
        "trend": {name: trend.delta for name, trend in row.trend.items()},
    }


@router.get("/dashboards/team", response=TeamDashboardOut)
def team_dashboard(request: HttpRequest, filters: Query[TeamDashboardQuery]):
    """Per rep: activities by channel, deals created, won and lost, won revenue, win rate,
    average cycle, open pipeline, stale deals, overdue tasks and goal attainment for the period
    (default: the current quarter), with the previous period's figures and the differences.
    While the period is under way the previous period counts up to the same point of it
    (`previous_until`): Q4 to 25 November against Q3 to 25 August."""
    organization = OrganizationSettings.get()
    period = period_param(filters.period, organization)
    metric = filters.leaderboard or "won_revenue"
    if metric not in selectors.LEADERBOARD_METRICS:
        choices = ", ".join(selectors.LEADERBOARD_METRICS)
        raise ValidationFailed(
            f"Rank the leaderboard by one of: {choices}.", fields={"leaderboard": "Unknown."}
        )
    if filters.pipeline is not None and not Pipeline.objects.filter(pk=filters.pipeline).exists():
        raise ValidationFailed(
            f"Pipeline {filters.pipeline} does not exist.", fields={"pipeline": "Does not exist."}
        )
    try:
        dashboard = selectors.team_dashboard(
            actor=request.auth,
            period=period,
            team_id=filters.team,
            pipeline_id=filters.pipeline,
            tz=organization.timezone,
        )
    except Team.DoesNotExist:
        raise ValidationFailed(
            f"Team {filters.team} does not exist.", fields={"team": "Does not exist."}
        ) from None
    rows = dashboard.sorted_rows("-won_revenue")
    return {
        "period": _period(dashboard.period),
        "previous_period": _period(dashboard.previous_period),
        "previous_until": dashboard.comparison.last_day,
        "team": dashboard.team,
        "pipeline_id": dashboard.pipeline_id,
        "currency": organization.base_currency,
        "rows": [_row(row) for row in rows],
        "total": _row(dashboard.total),
        "leaderboard_metric": metric,
        "leaderboard": [
            {"rank": placing.rank, "rep_id": placing.row.user.pk, "value": placing.value}
            for placing in dashboard.leaderboard(metric)
        ],
    }
