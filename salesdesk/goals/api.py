"""Goals over the API: list a period's goals with their progress, set, change and delete them."""

import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from salesdesk.accounts.models import OrganizationSettings, Team, User
from salesdesk.core.api_support import Id, InSchema, Text, reference
from salesdesk.core.errors import NotFound
from salesdesk.core.schemas import TeamRef, UserRef
from salesdesk.goals import selectors, services
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import Period, PeriodKind
from salesdesk.goals.schemas import PeriodOut, period_param
from salesdesk.goals.selectors import GoalProgress

router = Router(tags=["goals"])

Target = Field(None, ge=0, max_digits=14, decimal_places=2)


class MemberOut(Schema):
    goal_id: int
    user: UserRef
    is_active: bool
    target: Decimal
    achieved: Decimal
    attainment: float | None
    on_track: bool


class ProgressOut(Schema):
    target: Decimal
    achieved: Decimal
    expected: Decimal | None
    best_case: Decimal | None
    gap: Decimal
    pace_per_week: Decimal
    elapsed_share: float
    on_track: bool
    attainment: float | None
    coverage: Decimal | None
    coverage_ok: bool
    status: str


class GoalOut(Schema):
    id: int
    user: UserRef | None
    team: TeamRef | None
    period: PeriodOut
    period_kind: str
    period_start: datetime.date
    metric: str
    activity_kind: str
    target: Decimal | None  # as set: None on a team goal that adds up its members' goals
    ramp: list[int]
    ramp_start: datetime.date | None
    progress: ProgressOut
    members: list[MemberOut]


class GoalList(Schema):
    period: PeriodOut
    items: list[GoalOut]


class GoalFilters(InSchema):
    period: Text | None = Field(None, description="fy2026, fy2026-q2 or 2026-04; default: now")
    user: Id | None = None
    team: Id | None = None
    metric: Goal.Metric | None = None


class GoalIn(InSchema):
    user_id: Id | None = None
    team_id: Id | None = None
    period_kind: PeriodKind
    period_start: datetime.date
    metric: Goal.Metric
    activity_kind: Text = ""
    target: Decimal | None = Target
    ramp: list[int] = []
    ramp_start: datetime.date | None = None


class GoalPatch(InSchema):
    period_kind: PeriodKind | None = None
    period_start: datetime.date | None = None
    metric: Goal.Metric | None = None
    activity_kind: Text | None = None
    target: Decimal | None = Target
    ramp: list[int] | None = None
    ramp_start: datetime.date | None = None


class RollOverIn(InSchema):
    period: Text


class RollOverOut(Schema):
    period: PeriodOut
    created: int
    skipped: int


def _period_out(period: Period) -> dict:
    return {
        "key": period.key,
        "label": period.label,
        "kind": period.kind,
        "start": period.start,
        "end": period.end,
    }


def _goal_out(progress: GoalProgress) -> dict:
    goal = progress.goal
    return {
        "id": goal.pk,
        "user": goal.user,
        "team": goal.team,
        "period": _period_out(progress.period),
        "period_kind": goal.period_kind,
        "period_start": goal.period_start,
        "metric": goal.metric,
        "activity_kind": goal.activity_kind,
        "target": goal.target,
        "ramp": goal.ramp,
        "ramp_start": goal.ramp_start,
        "progress": {
            "target": progress.target,
            "achieved": progress.achieved,
            "expected": progress.expected,
            "best_case": progress.best_case,
            "gap": progress.gap,
            "pace_per_week": progress.pace_per_week,
            "elapsed_share": progress.elapsed_share,
            "on_track": progress.on_track,
            "attainment": progress.attainment,
            "coverage": progress.coverage,
            "coverage_ok": progress.coverage_ok,
            "status": progress.status,
        },
        "members": [
            {
                "goal_id": member.goal.pk,
                "user": member.goal.user,
                "is_active": member.goal.user.is_active,
                "target": member.target,
                "achieved": member.achieved,
                "attainment": member.attainment,
                "on_track": member.on_track,
            }
            for member in progress.members
        ],
    }


def _with_progress(request: HttpRequest, goal: Goal) -> dict:
    org = OrganizationSettings.get()
    period = Period(goal.period_kind, goal.period_start, org.fiscal_year_start_month)
    found = selectors.goal_progress(actor=request.auth, period=period, goal_ids=[goal.pk])
    if not found:
        raise NotFound(f"Goal {goal.pk} does not exist.")
    return _goal_out(found[0])


def _goal(request: HttpRequest, goal_id: int) -> Goal:
    goal = selectors.goal_for_user(request.auth, goal_id)
    if goal is None:
        raise NotFound(f"Goal {goal_id} does not exist.")
    return goal


@router.get("/goals", response=GoalList)
def list_goals(request: HttpRequest, filters: Query[GoalFilters]):
    """The goals of one period that you may see, with their progress (team goals list their
    members' goals too)."""
    period = period_param(filters.period, OrganizationSettings.get())
    progress = selectors.goal_progress(
        actor=request.auth,
        period=period,
        user_ids=[filters.user] if filters.user else None,
        team_ids=[filters.team] if filters.team else None,
        metric=filters.metric,
    )
    return {"period": _period_out(period), "items": [_goal_out(item) for item in progress]}


@router.post("/goals/roll-over", response=RollOverOut)
def roll_over_goals(request: HttpRequest, payload: RollOverIn):
    """Copy the goals of `period` that you set to the next period of the same kind; goals
    there already are kept."""
    period = period_param(payload.period or "-", OrganizationSettings.get())
    created, skipped = services.goal_roll_over(actor=request.auth, period=period)
    return {"period": _period_out(period.next()), "created": len(created), "skipped": skipped}


@router.get("/goals/{goal_id}", response=GoalOut)
def get_goal(request: HttpRequest, goal_id: Id):
    return _with_progress(request, _goal(request, goal_id))


@router.post("/goals", response={201: GoalOut})
def create_goal(request: HttpRequest, payload: GoalIn):
    """Set a goal for a rep (`user_id`) or a team (`team_id`). Managers and admins only; a
    period starts on the first day of a fiscal year, quarter or month."""
    data = payload.dict()
    data["user"] = reference(
        request.auth,
        User.objects.all(),
        data.pop("user_id"),
        field="user_id",
        label="User",
        owned=False,
    )
    data["team"] = reference(
        request.auth,
        Team.objects.all(),
        data.pop("team_id"),
        field="team_id",
        label="Team",
        owned=False,
    )
    goal = services.goal_create(actor=request.auth, **data)
    return Status(201, _with_progress(request, goal))


@router.patch("/goals/{goal_id}", response=GoalOut)
def update_goal(request: HttpRequest, goal_id: Id, payload: GoalPatch):
    goal = _goal(request, goal_id)
    changes = payload.dict(exclude_unset=True)
    for name in ("period_kind", "period_start", "metric"):
        if name in changes and changes[name] is None:
            changes.pop(name)
    goal = services.goal_update(actor=request.auth, goal=goal, **changes)
    return _with_progress(request, goal)


@router.delete("/goals/{goal_id}", response={204: None})
def delete_goal(request: HttpRequest, goal_id: Id):
    services.goal_delete(actor=request.auth, goal=_goal(request, goal_id))
    return Status(204, None)
