"""The team dashboard page: a table per rep (or per team), the leaderboard, a chart and a CSV
export of every rep."""

import csv
import io
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
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
from salesdesk.core.templatetags.salesdesk import money
from salesdesk.core.web import csv_download, query_without
from salesdesk.crm.forms import StyledForm
from salesdesk.goals.fields import PeriodField
from salesdesk.goals.periods import Period, PeriodKind, period_containing
from salesdesk.pipeline.models import Pipeline

DEFAULT_SORT = "-won_revenue"
DEFAULT_BOARD = "won_revenue"
LEADERBOARD_SIZE = 10  # reps on the leaderboard of several teams
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


class TeamDashboardForm(StyledForm):
    """The dashboard's filters; anything invalid is shown next to its field and left out."""

    period = PeriodField(required=False)
    team = forms.ChoiceField(required=False)
    pipeline = forms.ChoiceField(required=False)

    def __init__(self, *args, teams, pipelines, organization, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        fiscal_start_month = organization.fiscal_year_start_month
        today = now.astimezone(zoneinfo.ZoneInfo(organization.timezone)).date()
        self.default_period = period_containing(today, PeriodKind.QUARTER, fiscal_start_month)
        self.fields["period"].around(self.default_period)
        self.fields["team"].choices = [("", "All my teams" if len(teams) > 1 else "My team")] + [
            (str(team.pk), team.name) for team in teams
        ]
        self.fields["pipeline"].choices = [("", "All pipelines")] + [
            (str(pipeline.pk), pipeline.name) for pipeline in pipelines
        ]
        self.is_valid()
        selected = self.cleaned_data.get("period")
        if selected is not None:
            self.fields["period"].around(self.default_period, selected=selected)

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


def figure_links(
    *,
    period: Period,
    pipeline: int | None,
    team: int | None,
    owner: int | None = None,
    owner_is_active: bool = True,
    with_activities: bool = True,
) -> dict[str, str]:
    """Where each figure of a row leads: the deals behind it, or the activities list (which
    filters by owner, not by team: a team's row links its deal figures only)."""

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
    if not owner_is_active:
        return links  # the activity and deal lists filter by active owners only
    links["stale"] = f"/deals/?{_query(owner=owner, team=team, status='open', pipeline=pipeline)}"
    if not with_activities:
        return links
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
        "overdue_tasks": activities(Activity.Kind.TASK, status="open"),
    }
    return links


def row_links(row: selectors.RepRow, dashboard: selectors.TeamDashboard) -> dict[str, str]:
    """The links of a rep's row (or of the total, which has no user)."""
    return figure_links(
        period=dashboard.period,
        pipeline=dashboard.pipeline_id,
        team=dashboard.team.pk if dashboard.team else None,
        owner=row.user.pk if row.user else None,
        owner_is_active=row.user.is_active if row.user else True,
    )


@dataclass(frozen=True)
class TrendMark:
    css: str
    arrow: str
    text: str


@dataclass(frozen=True)
class Cell:
    """One figure of a table row, ready to print: the template only loops over cells."""

    text: str
    href: str = ""
    css: str = "text-end"
    wrap: str = ""  # the class of a span around the text (a badge)
    figure: str = ""  # data-figure, for the browser tests
    trend: TrendMark | None = None
    note: str = ""  # a second, smaller line


def _trend_mark(trend: selectors.Trend, *, is_money: bool = False) -> TrendMark | None:
    if trend.delta is None:
        return None
    css = {True: "text-success", False: "text-danger", None: "text-body-secondary"}[trend.is_good]
    arrow = {"up": "▲", "down": "▼", "flat": "="}[trend.direction]
    text = money(trend.delta) if is_money else str(trend.delta)
    return TrendMark(css, arrow, f"+{text}" if trend.direction == "up" else text)


def figure_cells(row, links: dict[str, str]) -> list[Cell]:
    """The cells of a rep's, a team's or the total row, in the order of COLUMNS."""
    current, standing, trend = row.current, row.standing, row.trend

    def figure(name: str, value, *, is_money=False, data="") -> Cell:
        mark = _trend_mark(trend[name], is_money=is_money) if name in trend else None
        text = money(value) if is_money else str(value)
        return Cell(text, links.get(name, ""), figure=data, trend=mark)

    def missed(name: str) -> Cell:
        value = getattr(standing, name)
        css = "text-end team-missed table-warning fw-semibold" if value else "text-end team-missed"
        return Cell(str(value), links.get(name, ""), css=css)

    def rate(name: str, unit: str) -> Cell:
        value = getattr(current, name)
        text = "—" if value is None else f"{value} {unit}"
        return Cell(text, trend=_trend_mark(trend[name]) if name in trend else None)

    goal = row.goal
    if goal is not None and goal.percent is not None:
        badge = "badge text-bg-success" if goal.on_track else "badge text-bg-danger"
        behind = "" if goal.on_track else " · behind"
        goal_cell = Cell(f"{goal.percent} %", wrap=badge, note=f"of {money(goal.target)}{behind}")
    else:
        goal_cell = Cell("No goal", wrap="text-body-secondary")
    return [
        *(figure(name, getattr(current, name)) for name in selectors.CHANNELS),
        figure("activities", current.activities),
        figure("new_deals", current.new_deals),
        figure("won", current.won, data="won"),
        figure("won_revenue", current.won_revenue, is_money=True, data="won_revenue"),
        figure("lost", current.lost),
        rate("win_rate", "%"),
        rate("average_cycle", "d"),
        Cell(str(standing.open_deals), links.get("open_deals", "")),
        Cell(money(standing.open_amount), links.get("open_amount", "")),
        missed("stale"),
        missed("overdue_tasks"),
        goal_cell,
    ]


@dataclass(frozen=True)
class Line:
    """A table row: its heading cell and its figures."""

    key: str  # data-rep / data-team
    name: str
    href: str
    is_active: bool
    cells: list[Cell]


@dataclass(frozen=True)
class LeaderEntry:
    leader: selectors.Leader
    text: str
    href: str
    note: str


def leader_entries(
    leaders: list[selectors.Leader], board: str, *, period: Period, pipeline: int | None
) -> list[LeaderEntry]:
    entries = []
    for leader in leaders:
        links = figure_links(
            period=period,
            pipeline=pipeline,
            team=None,
            owner=leader.user_id,
            owner_is_active=leader.is_active,
        )
        value = leader.value
        if value is None:
            text = "—"
        elif board == "won_revenue":
            text = money(value)
        elif board in ("win_rate", "attainment"):
            text = f"{value} %"
        else:
            text = str(value)
        href = links.get({"won_revenue": "won"}.get(board, board), "")
        if board in ("win_rate", "attainment"):
            href = ""
        notes = [] if leader.won is None else [f"{leader.won} won"]
        if leader.attainment is not None:
            notes.append(f"{leader.attainment} % of goal")
        entries.append(LeaderEntry(leader, text, href, " · ".join(notes)))
    return entries


def chart_data(labels: list[str], rows) -> dict:
    """Activities per rep (or per team) by channel, for the stacked bar chart (team.js)."""
    return {
        "labels": labels,
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
    """One team's reps; with no team chosen and several to see, one row per team (the reps
    are a click away, and all of them in the CSV export)."""
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
    sort = request.GET.get("sort") or DEFAULT_SORT
    if sort.lstrip("-") not in selectors.SORTS:
        sort = DEFAULT_SORT
    board = request.GET.get("board") or DEFAULT_BOARD
    if board not in selectors.LEADERBOARD_METRICS:
        board = DEFAULT_BOARD
    tz = organization.timezone
    is_summary = filters["team_id"] is None and len(teams) > 1
    context = {
        "form": form,
        "board": board,
        "boards": selectors.LEADERBOARD_METRICS,
        "sort": sort,
        "sort_query": query_without(request, "sort", "export"),
        "board_query": query_without(request, "board", "export"),
        "export_query": query_without(request, "export"),
        "currency": organization.base_currency,
        "columns": COLUMNS,
        "is_summary": is_summary,
    }
    if request.GET.get("export") == "csv" and not form.errors:
        # Every rep, whatever the shape of the page.
        dashboard = selectors.team_dashboard(actor=request.user, tz=tz, **filters)
        name = f"team-{dashboard.period.key}.csv"
        return csv_download(csv_rows(dashboard.sorted_rows(sort), dashboard.total), name)
    if is_summary:
        context |= _summary_context(request, filters, board, tz)
    else:
        context |= _team_context(filters, sort, board, tz, request.user)
    return render(request, "analytics/team.html", context)


def _summary_context(request, filters: dict, board: str, tz: str) -> dict:
    period, pipeline = filters["period"], filters["pipeline_id"]
    summary = selectors.teams_summary(
        actor=request.user, period=period, pipeline_id=pipeline, tz=tz
    )
    leaders = selectors.leaders(
        actor=request.user,
        period=period,
        metric=board,
        limit=LEADERBOARD_SIZE,
        pipeline_id=pipeline,
        tz=tz,
    )
    team_query = query_without(request, "team", "export", "sort")
    lines = [
        Line(
            key=str(row.team.pk),
            name=row.team.name,
            href=f"?{team_query}&team={row.team.pk}" if team_query else f"?team={row.team.pk}",
            is_active=True,
            cells=figure_cells(
                row,
                figure_links(
                    period=period, pipeline=pipeline, team=row.team.pk, with_activities=False
                ),
            ),
        )
        for row in summary.rows
    ]
    total_links = figure_links(period=period, pipeline=pipeline, team=None)
    return {
        "dashboard": summary,
        "comparison_label": summary.comparison.label,
        "lines": lines,
        "total_cells": figure_cells(summary.total, total_links),
        "leaderboard": leader_entries(leaders, board, period=period, pipeline=pipeline),
        "chart": chart_data([row.team.name for row in summary.rows], summary.rows),
    }


def _team_context(filters: dict, sort: str, board: str, tz: str, user) -> dict:
    dashboard = selectors.team_dashboard(actor=user, tz=tz, **filters)
    rows = dashboard.sorted_rows(sort)
    links = {row.user.pk: row_links(row, dashboard) for row in rows}
    lines = [
        Line(
            key=str(row.user.pk),
            name=row.user.get_full_name(),
            href="",
            is_active=row.user.is_active,
            cells=figure_cells(row, links[row.user.pk]),
        )
        for row in rows
    ]
    leaders = [
        selectors.Leader(
            placing.rank,
            placing.row.user.pk,
            placing.row.user.get_full_name(),
            placing.row.user.is_active,
            placing.value,
            placing.row.current.won,
            placing.row.goal.percent if placing.row.goal else None,
        )
        for placing in dashboard.leaderboard(board)
    ]
    return {
        "dashboard": dashboard,
        "comparison_label": dashboard.comparison.label,
        "rows": rows,
        "lines": lines,
        "total_cells": figure_cells(dashboard.total, row_links(dashboard.total, dashboard)),
        "leaderboard": leader_entries(
            leaders, board, period=dashboard.period, pipeline=dashboard.pipeline_id
        ),
        "chart": chart_data([row.user.get_full_name() for row in rows], rows),
    }
