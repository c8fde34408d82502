"""The forecast and its accuracy as JSON: the same selectors as the forecast page."""

from decimal import Decimal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from salesdesk.accounts.models import OrganizationSettings, Team, User
from salesdesk.core.api_support import Id, InSchema, Text, reference
from salesdesk.core.errors import NotFound, ValidationFailed
from salesdesk.goals import forecast as selectors
from salesdesk.goals.periods import Period, period_parse
from salesdesk.goals.schemas import PeriodOut
from salesdesk.pipeline.models import Pipeline

router = Router(tags=["forecast"])
MAX_PERIODS = 12


class ForecastFilters(InSchema):
    period: list[Text] = Field(
        default_factory=list,
        description="Period keys (2026-04, fy2026-q2, fy2026), up to 12; by default this "
        "month and the next two, this quarter and the next.",
    )
    pipeline: Id | None = None
    team: Id | None = None
    owner: Id | None = None


class ForecastRowOut(Schema):
    period: PeriodOut
    committed: Decimal
    weighted: Decimal
    best_case: Decimal
    commit: Decimal
    historical: Decimal
    goal: Decimal | None
    gap: Decimal | None


class ForecastOut(Schema):
    currency: str
    rows: list[ForecastRowOut]


class AccuracyFilters(InSchema):
    team: Id | None = None
    owner: Id | None = None


class MethodAccuracyOut(Schema):
    period_kind: str
    method: str
    periods: int
    mape: float | None
    bias: float | None


class PastPeriodOut(Schema):
    period: PeriodOut
    actual: Decimal
    forecasts: dict[str, Decimal]


class RepCommitOut(Schema):
    user_id: int
    name: str
    months: int
    commit: Decimal
    actual: Decimal
    mape: float | None
    bias: float | None


class AccuracyOut(Schema):
    scope: str
    scope_id: int
    scope_name: str
    methods: list[MethodAccuracyOut]
    history: list[PastPeriodOut]
    reps: list[RepCommitOut]


def _period(period: Period) -> dict:
    return {
        "key": period.key,
        "label": period.label,
        "kind": period.kind,
        "start": period.start,
        "end": period.end,
    }


def _check_references(request: HttpRequest, filters) -> None:
    checks = [
        (filters.team, Team.objects.all(), "team", "Team"),
        (filters.owner, User.objects.all(), "owner", "User"),
    ]
    if hasattr(filters, "pipeline"):
        checks.append((filters.pipeline, Pipeline.objects.all(), "pipeline", "Pipeline"))
    for pk, queryset, field, label in checks:
        reference(request.auth, queryset, pk, field=field, label=label, owned=False)


@router.get("/forecast", response=ForecastOut)
def forecast_get(request: HttpRequest, filters: Query[ForecastFilters]):
    """Committed, weighted, best case, commit and historical forecasts with the goal, for
    each period, over the deals you may see. Amounts in the base currency."""
    org = OrganizationSettings.get()
    fsm = org.fiscal_year_start_month
    now = timezone.now()
    if len(filters.period) > MAX_PERIODS:
        raise ValidationFailed(
            f"Ask for at most {MAX_PERIODS} periods.", fields={"period": "Too many."}
        )
    periods = []
    for key in filters.period:
        try:
            periods.append(period_parse(key, fsm))
        except ValueError as error:
            raise ValidationFailed(str(error), fields={"period": str(error)}) from None
    periods = periods or selectors.periods_ahead(now=now, tz=org.timezone, fiscal_start_month=fsm)
    _check_references(request, filters)
    rows = selectors.forecast(
        actor=request.auth,
        periods=periods,
        now=now,
        pipeline_id=filters.pipeline,
        team_id=filters.team,
        owner_id=filters.owner,
    )
    return {
        "currency": org.base_currency,
        "rows": [
            {
                "period": _period(row.period),
                **{method: row.value(method) for method in selectors.METHODS},
                "goal": row.goal,
                "gap": row.gap,
            }
            for row in rows
        ],
    }


@router.get("/forecast/accuracy", response=AccuracyOut)
def forecast_accuracy_get(request: HttpRequest, filters: Query[AccuracyFilters]):
    """How far each method's weekly forecasts were from what was won, over the periods that
    are over (the organization's, a team's or a rep's), and each rep's commit against what
    they won. A team or rep you may not see answers 404."""
    _check_references(request, filters)
    accuracy = selectors.forecast_accuracy(
        actor=request.auth, team_id=filters.team, owner_id=filters.owner
    )
    if accuracy is None:
        raise NotFound("You cannot see the forecast record of this team or rep.")
    return {
        "scope": accuracy.scope,
        "scope_id": accuracy.scope_id,
        "scope_name": accuracy.scope_name,
        "methods": [
            {
                "period_kind": kind,
                "method": method.method,
                "periods": method.periods,
                "mape": method.mape,
                "bias": method.bias,
            }
            for kind, methods in accuracy.methods.items()
            for method in methods
        ],
        "history": [
            {"period": _period(past.period), "actual": past.actual, "forecasts": past.forecasts}
            for past in accuracy.history
        ],
        "reps": [
            {
                "user_id": rep.user.pk,
                "name": rep.user.get_full_name(),
                "months": rep.periods,
                "commit": rep.commit,
                "actual": rep.actual,
                "mape": rep.mape,
                "bias": rep.bias,
            }
            for rep in accuracy.reps
        ],
    }
