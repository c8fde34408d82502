"""The revenue dashboard's figures as JSON: the same selectors, filters and drill-down sets."""

from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from salesdesk.accounts.models import OrganizationSettings, Team, User
from salesdesk.analytics import revenue
from salesdesk.analytics.metrics import Slice, Totals
from salesdesk.core.api_support import Id, InSchema, Text, reference
from salesdesk.goals.schemas import PeriodOut, period_param
from salesdesk.pipeline.models import Pipeline

router = Router(tags=["dashboards"])


class RevenueFilters(InSchema):
    period: Text | None = None
    pipeline: Id | None = None
    team: Id | None = None
    owner: Id | None = None


class TotalsOut(Schema):
    count: int
    amount: Decimal


class MonthOut(Schema):
    month: PeriodOut
    is_in_period: bool
    won: TotalsOut
    lost: TotalsOut
    created: TotalsOut
    goal: Decimal | None
    attainment: Decimal | None


class KeyFiguresOut(Schema):
    won: TotalsOut
    lost: TotalsOut
    created: TotalsOut
    open: TotalsOut
    goal: Decimal | None
    attainment: Decimal | None
    win_rate: Decimal | None
    average_deal_size: Decimal | None
    cycle_days: Decimal | None
    velocity_per_day: Decimal | None
    velocity_per_month: Decimal | None


class StageOut(Schema):
    stage_id: int
    name: str
    entered: TotalsOut
    reached: TotalsOut
    conversion: Decimal | None


class StagesOut(Schema):
    pipeline_id: int | None
    pipeline_name: str
    stages: list[StageOut]
    converted: TotalsOut


class SourceOut(Schema):
    source_id: int | None
    name: str
    created: TotalsOut
    won: TotalsOut
    lost_count: int
    win_rate: Decimal | None


class NamedTotalsOut(Schema):
    id: int
    name: str
    count: int
    amount: Decimal


class FiltersOut(Schema):
    pipeline: int | None
    team: int | None
    owner: int | None


class RevenueOut(Schema):
    period: PeriodOut
    currency: str
    filters: FiltersOut
    figures: KeyFiguresOut
    months: list[MonthOut]
    stages: StagesOut
    lead_sources: list[SourceOut]
    lost_reasons: list[NamedTotalsOut]
    top_companies: list[NamedTotalsOut]


def _period(period) -> dict:
    return {
        "key": period.key,
        "label": period.label,
        "kind": period.kind,
        "start": period.start,
        "end": period.end,
    }


def _totals(totals: Totals) -> dict:
    return {"count": totals.count, "amount": totals.amount}


def _named(row: revenue.NamedTotals) -> dict:
    return {"id": row.id, "name": row.name, **_totals(row.totals)}


@router.get("/dashboards/revenue", response=RevenueOut)
def revenue_dashboard(request: HttpRequest, filters: Query[RevenueFilters]):
    """Every figure of the revenue dashboard. `period` is a key (fy2026, fy2026-q2, 2026-04),
    the current quarter when absent; the deals behind a figure are listed by the web
    drill-down `/dashboards/deals/?set=…` with the same filters."""
    org = OrganizationSettings.get()
    period = period_param(filters.period, org)
    for pk, queryset, field, label in (
        (filters.pipeline, Pipeline.objects.all(), "pipeline", "Pipeline"),
        (filters.team, Team.objects.all(), "team", "Team"),
        (filters.owner, User.objects.all(), "owner", "User"),
    ):
        reference(request.auth, queryset, pk, field=field, label=label, owned=False)
    slice_ = Slice.for_period(
        request.auth,
        period,
        tz=org.timezone,
        pipeline_id=filters.pipeline,
        team_id=filters.team,
        owner_id=filters.owner,
    )
    dashboard = revenue.revenue_dashboard(slice_, period)
    figures = dashboard.figures
    stages = dashboard.stages
    return {
        "period": _period(period),
        "currency": org.base_currency,
        "filters": {"pipeline": filters.pipeline, "team": filters.team, "owner": filters.owner},
        "figures": {
            "won": _totals(figures.won),
            "lost": _totals(figures.lost),
            "created": _totals(figures.created),
            "open": _totals(figures.open),
            "goal": figures.goal,
            "attainment": figures.attainment,
            "win_rate": figures.win_rate,
            "average_deal_size": figures.average_deal_size,
            "cycle_days": figures.cycle_days,
            "velocity_per_day": figures.velocity_per_day,
            "velocity_per_month": figures.velocity_per_month,
        },
        "months": [
            {
                "month": _period(month.period),
                "is_in_period": month.is_in_period,
                "won": _totals(month.won),
                "lost": _totals(month.lost),
                "created": _totals(month.created),
                "goal": month.goal,
                "attainment": month.attainment,
            }
            for month in dashboard.months
        ],
        "stages": {
            "pipeline_id": stages.pipeline_id,
            "pipeline_name": stages.pipeline_name,
            "stages": [
                {
                    "stage_id": row.stage_id,
                    "name": row.name,
                    "entered": _totals(row.entered),
                    "reached": _totals(row.reached),
                    "conversion": row.conversion,
                }
                for row in stages.stages
            ],
            "converted": _totals(stages.converted),
        },
        "lead_sources": [
            {
                "source_id": row.source_id,
                "name": row.name,
                "created": _totals(row.created),
                "won": _totals(row.won),
                "lost_count": row.lost_count,
                "win_rate": row.win_rate,
            }
            for row in dashboard.sources
        ],
        "lost_reasons": [_named(row) for row in dashboard.lost_reasons],
        "top_companies": [_named(row) for row in dashboard.companies],
    }
