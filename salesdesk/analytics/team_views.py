"""The team dashboard page: the per-rep table, the leaderboard, a chart and a CSV export."""

import csv
import datetime
import io
import zoneinfo
from collections.abc import Iterator
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities.models import Activity
from salesdesk.analytics import team as selectors
from salesdesk.core.web import csv_download, query_without
from salesdesk.crm.forms import StyledForm
from salesdesk.goals.periods import Period, PeriodKind, period_containing, period_parse
from salesdesk.pipeline.models import Pipeline

DEFAULT_SORT = "-won_revenue"
DEFAULT_BOARD = "won_revenue"
# Column headers of the table and of the CSV file, in order (the rep's name comes first).
COLUMNS = [
    ("emails", "Emails"),
    ("calls", "Calls"),
    ("meetings", "Meetings"),
    ("notes", "Notes"),
    ("tasks_done", "Tasks done"),
    ("activities", "Activities"),
    ("new_deals", "New deals"),
    ("won", "Won"),
    ("won_revenue", "Won revenue"),
    ("lost", "Lost"),
    ("win_rate", "Win rate %"),
    ("average_cycle", "Avg. cycle (days)"),
    ("open_deals", "Open deals"),
    ("open_amount", "Open pipeline"),
    ("stale", "Stale deals"),
    ("overdue_tasks", "Overdue tasks"),
    ("attainment", "Goal attainment %"),
]
CHART_CHANNELS = [
    ("emails", "Emails"),
    ("calls", "Calls"),
    ("meetings", "Meetings"),
    ("notes", "Notes"),
    ("tasks_done", "Tasks done"),
]


def period_choices(today: datetime.date, fiscal_start_month: int, selected: Period | None):
    """Periods near today to pick from: recent quarters, months and fiscal years."""
    quarter, month, year = (
        period_containing(today, kind, fiscal_start_month)
        for kind in (PeriodKind.QUARTER, PeriodKind.MONTH, PeriodKind.YEAR)
    )
    periods = [quarter.next(), *(quarter.shifted(-n) for n in range(4))]
    periods += [month.shifted(-n) for n in range(6)]
    periods += [year, year.previous()]
    if selected is not None and selected not in periods:
        periods.insert(0, selected)
    return [(period.key, period.label) for period in periods]


class TeamDashboardForm(StyledForm):
    """The dashboard's filters; anything invalid is shown next to its field and left out."""

    period = forms.CharField(required=False, widget=forms.Select)
    team = forms.ChoiceField(required=False)
    pipeline = forms.ChoiceField(required=False)

    def __init__(self, *args, teams, pipelines, organization, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        fiscal_start_month = organization.fiscal_year_start_month
        today = now.astimezone(zoneinfo.ZoneInfo(organization.timezone)).date()
        self.default_period = period_containing(today, PeriodKind.QUARTER, fiscal_start_month)
        self.fields["team"].choices = [("", "All my teams" if len(teams) > 1 else "My team")] + [
            (str(team.pk), team.name) for team in teams
        ]
        self.fields["pipeline"].choices = [("", "All pipelines")] + [
            (str(pipeline.pk), pipeline.name) for pipeline in pipelines
        ]
        if not self.data.get("period"):
            self.data = self.data.copy()
            self.data["period"] = self.default_period.key
        self.is_valid()
        self.fields["period"].widget.choices = period_choices(
            today, fiscal_start_month, self.cleaned_data.get("period")
        )

    def clean_period(self) -> Period | None:
        key = self.cleaned_data["period"]
        if not key:
            return None
        try:
            return period_parse(key, self.organization.fiscal_year_start_month)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def filters(self) -> dict:
        """The valid filters: the period (today's quarter by default), team and pipeline ids."""
        data = self.cleaned_data
        return {
            "period": data.get("period") or self.default_period,
            "team_id": int(data["team"]) if data.get("team") else None,
            "pipeline_id": int(data["pipeline"]) if data.get("pipeline") else None,
        }


def _query(**params) -> str:
    return urlencode({key: value for key, value in params.items() if value not in (None, "")})


def row_links(row: selectors.RepRow, dashboard: selectors.TeamDashboard) -> dict[str, str]:
    """Where each figure of a row leads: the deals behind it, or the activities list."""
    owner = row.user.pk if row.user else None
    team = dashboard.team.pk if dashboard.team else None
    period = dashboard.period
    pipeline = dashboard.pipeline_id

    def deals(set_name: str) -> str:
        query = _query(set=set_name, period=period.key, owner=owner, team=team, pipeline=pipeline)
        return f"/dashboards/deals/?{query}"

    def activities(kind: str, **extra) -> str:
        return f"/activities/?{_query(owner=owner, kind=kind, **extra)}"

    links = {
        "new_deals": deals("created"),
        "won": deals("won"),
        "won_revenue": deals("won"),
        "lost": deals("lost"),
        "open_deals": deals("open"),
        "open_amount": deals("open"),
    }
    if row.user is not None and not row.user.is_active:
        return links  # the activity and deal lists filter by active owners only
    # The activities list filters by the day an activity happened (in the viewer's time zone).
    dates = {"occurred_after": period.start.isoformat(), "occurred_before": period.last_day}
    links |= {
        name: activities(kind, **dates)
        for name, kind in selectors.CHANNELS.items()
        if kind != Activity.Kind.TASK
    }
    links |= {
        "tasks_done": activities(Activity.Kind.TASK, status="done"),
        "activities": f"/activities/?{_query(owner=owner, **dates)}",
        "stale": f"/deals/?{_query(owner=owner, team=team, status='open', pipeline=pipeline)}",
        "overdue_tasks": activities(Activity.Kind.TASK, status="open"),
    }
    return links


def chart_data(rows: list[selectors.RepRow]) -> dict:
    """Activities per rep by channel, for the stacked bar chart (team.js)."""
    return {
        "labels": [row.user.get_full_name() for row in rows],
        "datasets": [
            {"label": label, "data": [getattr(row.current, name) for row in rows]}
            for name, label in CHART_CHANNELS
        ],
    }


def _csv_value(row: selectors.RepRow, name: str):
    value = row.value(name)
    return "" if value is None else value


def csv_rows(rows: list[selectors.RepRow], total: selectors.RepRow) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(["Rep", "Active", *(label for _, label in COLUMNS)])
    for row in rows:
        user = row.user
        yield line(
            [
                user.get_full_name(),
                "yes" if user.is_active else "no",
                *(_csv_value(row, name) for name, _ in COLUMNS),
            ]
        )
    yield line(["Team total", "", *(_csv_value(total, name) for name, _ in COLUMNS)])


@login_required
@require_GET
def team_dashboard(request: HttpRequest) -> HttpResponse:
    organization = OrganizationSettings.get()
    teams = selectors.visible_teams(request.user)
    form = TeamDashboardForm(
        request.GET,
        teams=teams,
        pipelines=list(Pipeline.objects.order_by("name")),
        organization=organization,
        now=timezone.now(),
    )
    filters = form.filters()
    # The form offers only the visible teams, so the selector finds the chosen one.
    dashboard = selectors.team_dashboard(actor=request.user, tz=organization.timezone, **filters)
    sort = request.GET.get("sort") or DEFAULT_SORT
    if sort.lstrip("-") not in selectors.SORTS:
        sort = DEFAULT_SORT
    board = request.GET.get("board") or DEFAULT_BOARD
    if board not in selectors.LEADERBOARD_METRICS:
        board = DEFAULT_BOARD
    rows = dashboard.sorted_rows(sort)
    if request.GET.get("export") == "csv" and not form.errors:
        name = f"team-{dashboard.period.key}.csv"
        return csv_download(csv_rows(rows, dashboard.total), name)
    links = {row.user.pk: row_links(row, dashboard) for row in rows}
    return render(
        request,
        "analytics/team.html",
        {
            "form": form,
            "dashboard": dashboard,
            "rows": [(row, links[row.user.pk]) for row in rows],
            "total_links": row_links(dashboard.total, dashboard),
            "leaderboard": [
                (placing, links[placing.row.user.pk]) for placing in dashboard.leaderboard(board)
            ],
            "board": board,
            "boards": selectors.LEADERBOARD_METRICS,
            "sort": sort,
            "sort_query": query_without(request, "sort", "export"),
            "board_query": query_without(request, "board", "export"),
            "export_query": query_without(request, "export"),
            "currency": organization.base_currency,
            "chart": chart_data(rows),
        },
    )
