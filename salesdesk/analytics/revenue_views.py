"""The revenue dashboard page and the CSV export of each of its tables."""

import csv
import io
from collections.abc import Iterable, Iterator
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.analytics import revenue
from salesdesk.analytics.metrics import Slice
from salesdesk.core.web import csv_download
from salesdesk.crm.transfer.exporting import cell
from salesdesk.goals.fields import PeriodField
from salesdesk.goals.periods import Period, PeriodKind, current_period

EXPORTS = {
    "months": "Won, lost and new deals by month",
    "stages": "Stage flow and funnel",
    "sources": "Lead sources",
    "lost_reasons": "Lost reasons",
    "companies": "Top companies",
}


class DashboardFilterForm(forms.Form):
    """Period, pipeline, team and rep of a dashboard; every field may stay empty."""

    period = PeriodField(required=False)
    pipeline = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    owner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Rep")
    export = forms.ChoiceField(choices=[("", ""), *EXPORTS.items()], required=False)

    def __init__(self, data, *, stages, users, teams, current_quarter: Period, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["period"].around(current_quarter)
        pipelines = {stage.pipeline_id: stage.pipeline.name for stage in stages}
        self.fields["pipeline"].choices = [("", "All pipelines"), *pipelines.items()]
        self.fields["team"].choices = [("", "All teams"), *((t.pk, t.name) for t in teams)]
        self.fields["owner"].choices = [
            ("", "All reps"),
            *(
                (u.pk, u.get_full_name() if u.is_active else f"{u.get_full_name()} (inactive)")
                for u in users
            ),
        ]
        for name in ("period", "pipeline", "team", "owner"):
            self.fields[name].widget.attrs["class"] = "form-select"

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "pipeline_id": data.get("pipeline"),
            "team_id": data.get("team"),
            "owner_id": data.get("owner"),
        }

    def query(self, **changes) -> dict:
        """The filters as query parameters (the period by key), with `changes` applied."""
        data = self.cleaned_data
        params = {
            "period": data["period"].key,
            "owner": data.get("owner"),
            "team": data.get("team"),
            "pipeline": data.get("pipeline"),
        }
        params.update(changes)
        return {key: value for key, value in params.items() if value is not None}


def drill_url(params: dict, **extra) -> str:
    return f"{reverse('dashboard_deals')}?{urlencode({**extra, **params})}"


def _csv(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    yield buffer.getvalue()


def _export(name: str, slice_: Slice, period: Period, stages) -> HttpResponse:
    """One table of the dashboard as CSV: only that table's figures are computed."""
    if name == "months":
        header = ["month", "in_period", "won_count", "won_amount", "goal", "lost_count"]
        header += ["lost_amount", "created_count", "created_amount"]
        rows = [
            [
                m.period.key,
                "yes" if m.is_in_period else "no",
                m.won.count,
                m.won.amount,
                m.goal,
                m.lost.count,
                m.lost.amount,
                m.created.count,
                m.created.amount,
            ]
            for m in revenue.months(slice_, period)
        ]
    elif name == "stages":
        figures = revenue.stage_figures(slice_, stages)
        header = ["pipeline", "stage", "entered_count", "entered_amount", "reached_count"]
        header += ["reached_amount", "conversion_to_next_percent"]
        rows = [
            [
                figures.pipeline_name,
                row.name,
                row.entered.count,
                row.entered.amount,
                row.reached.count,
                row.reached.amount,
                row.conversion,
            ]
            for row in figures.stages
        ]
        converted = figures.converted
        rows.append([figures.pipeline_name, "Won", "", "", converted.count, converted.amount, ""])
    elif name == "sources":
        header = ["lead_source", "created_count", "won_count", "won_amount", "lost_count"]
        header.append("win_rate_percent")
        rows = [
            [r.name, r.created.count, r.won.count, r.won.amount, r.lost_count, r.win_rate]
            for r in revenue.lead_sources(slice_)
        ]
    else:
        if name == "lost_reasons":
            table = revenue.lost_reasons(slice_)
        else:
            table = revenue.top_companies(slice_, period=period)
        header = ["lost_reason" if name == "lost_reasons" else "company", "count", "amount"]
        rows = [[r.name, r.totals.count, r.totals.amount] for r in table]
    return csv_download(_csv(header, rows), f"revenue-{name}-{period.key}.csv")


def _chart_data(dashboard: revenue.RevenueDashboard, form: DashboardFilterForm) -> dict:
    """What revenue.js draws, with the drill-down address of every bar."""
    month_rows = []
    for month in dashboard.months:
        params = form.query(period=month.period.key)
        month_rows.append(
            {
                "label": month.period.label,
                "in_period": month.is_in_period,
                "won": str(month.won.amount),
                "goal": None if month.goal is None else str(month.goal),
                "won_count": month.won.count,
                "lost_count": month.lost.count,
                "created_count": month.created.count,
                "urls": {
                    "won": drill_url(params, set="won"),
                    "lost": drill_url(params, set="lost"),
                    "created": drill_url(params, set="created"),
                },
            }
        )
    stages = dashboard.stages
    funnel_params = form.query(pipeline=stages.pipeline_id)
    funnel = [
        {
            "label": row.name,
            "count": row.reached.count,
            "url": drill_url(funnel_params, set="reached", stage=row.stage_id),
        }
        for row in stages.stages
    ]
    if stages.pipeline_id is not None:
        funnel.append(
            {
                "label": "Won",
                "count": stages.converted.count,
                "url": drill_url(funnel_params, set="converted"),
            }
        )
    return {"months": month_rows, "funnel": funnel}


@login_required
@require_GET
def revenue_dashboard(request: HttpRequest) -> HttpResponse:
    org = OrganizationSettings.get()
    now = timezone.now()
    current_quarter = current_period(
        PeriodKind.QUARTER, now=now, tz=org.timezone, fiscal_start_month=org.fiscal_year_start_month
    )
    stages = revenue.pipeline_stages()
    users, teams = revenue.filter_choices()
    form = DashboardFilterForm(
        request.GET, stages=stages, users=users, teams=teams, current_quarter=current_quarter
    )
    if not form.is_valid():
        context = {"form": form, "currency": org.base_currency}
        return render(request, "analytics/revenue.html", context, status=400)
    period = form.cleaned_data["period"]
    slice_ = Slice.for_period(request.user, period, tz=org.timezone, **form.filters())
    if form.cleaned_data["export"]:
        return _export(form.cleaned_data["export"], slice_, period, stages)

    dashboard = revenue.revenue_dashboard(slice_, period, stages=stages)
    params = form.query()
    filter_params = {key: value for key, value in params.items() if key != "period"}
    return render(
        request,
        "analytics/revenue.html",
        {
            "form": form,
            "dashboard": dashboard,
            "figures": dashboard.figures,
            "currency": org.base_currency,
            "query": urlencode(params),
            # The drill-down address without its set: the template adds "&set=…" and a row's
            # own parameter (lead source, reason, company, stage).
            "drill": drill_url(params),
            "funnel_drill": drill_url(form.query(pipeline=dashboard.stages.pipeline_id)),
            "filter_query": urlencode(filter_params),
            "months_newest_first": list(reversed(dashboard.months)),
            "chart": _chart_data(dashboard, form),
            "exports": EXPORTS,
        },
    )
