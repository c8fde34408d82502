"""The team dashboard page: table, leaderboard, chart data, sorting, filters, CSV, queries."""

import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings, Team
from salesdesk.activities.models import Activity
from salesdesk.goals.periods import PeriodKind, current_period
from salesdesk.pipeline.models import Deal
from tests.factories import (
    ActivityFactory,
    DealFactory,
    GoalFactory,
    LostReasonFactory,
    TeamFactory,
    UserFactory,
)

URL = "/dashboards/team/"
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def quarter(org):
    return current_period(PeriodKind.QUARTER, now=timezone.now(), tz="UTC")


def won(stage, owner, amount, closed):
    return DealFactory(
        stage=stage,
        owner=owner,
        amount=Decimal(amount),
        status=Deal.Status.WON,
        created_at=closed - 10 * 24 * HOUR,
        closed_at=closed,
    )


@pytest.fixture
def world(cast, pipeline, quarter):
    """This quarter: Alice won 3,000 (2 deals) and lost 1, logged 2 calls and an e-mail; Bob
    won 5,000 and has a stale deal and an overdue task. Carol (West) won 9,999."""
    start, _ = quarter.bounds("UTC")
    lead = pipeline.stages.get(name="Lead")
    won(lead, cast.alice, "1000", start + HOUR)
    won(lead, cast.alice, "2000", start + 2 * HOUR)
    DealFactory(
        stage=lead,
        owner=cast.alice,
        status=Deal.Status.LOST,
        lost_reason=LostReasonFactory(name="Price"),
        created_at=start - 30 * 24 * HOUR,
        closed_at=start + 3 * HOUR,
    )
    won(lead, cast.bob, "5000", start + HOUR)
    won(lead, cast.carol, "9999", start + HOUR)
    DealFactory(
        stage=lead,
        owner=cast.bob,
        amount=Decimal("700"),
        created_at=start - 100 * 24 * HOUR,
        stage_entered_at=timezone.now() - 40 * 24 * HOUR,
    )
    for kind in (Activity.Kind.CALL, Activity.Kind.CALL, Activity.Kind.EMAIL):
        ActivityFactory(owner=cast.alice, kind=kind, occurred_at=start + HOUR)
    ActivityFactory(
        owner=cast.bob,
        kind=Activity.Kind.TASK,
        occurred_at=start - 24 * HOUR,
        due_at=timezone.now() - HOUR,
    )
    GoalFactory(
        user=cast.alice,
        period_kind=PeriodKind.QUARTER,
        period_start=quarter.start,
        target=Decimal("6000"),
    )


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_manager_sees_table_leaderboard_chart_and_drill_down_links(client, cast, world, quarter):
    # Given the manager of East, when they open the dashboard without filters
    response = signed_in(client, cast.manager).get(URL)
    # Then this quarter's table lists East's reps, not Carol (West)
    assert response.status_code == 200
    page = response.content.decode()
    assert quarter.label in page
    dashboard = response.context["dashboard"]
    assert [row.user.full_name for row in response.context["rows"]] == [
        "Bob East",
        "Alice East",
    ]
    assert "Carol West" not in page
    assert dashboard.total.current.won_revenue == Decimal("8000.00")
    # And the won figures lead to the deals behind them
    east = cast.alice.team_id
    assert (
        f'href="/dashboards/deals/?set=won&amp;period={quarter.key}&amp;owner={cast.bob.pk}"'
        in page
    )
    assert f"/dashboards/deals/?set=lost&amp;period={quarter.key}&amp;owner={cast.alice.pk}" in page
    assert f"/activities/?owner={cast.alice.pk}&amp;kind=call&amp;occurred_after=" in page
    assert f"/activities/?owner={cast.bob.pk}&amp;kind=task&amp;status=open" in page
    # And the leaderboard ranks by won revenue
    assert [(e.leader.rank, e.leader.name) for e in response.context["leaderboard"]] == [
        (1, "Bob East"),
        (2, "Alice East"),
    ]
    # And the stale deal and overdue task are highlighted
    assert page.count("table-warning fw-semibold") == 4  # Bob's two, and the total's two
    # And the chart gets activities per rep by channel
    chart = json.loads(page.split('id="team-chart-data" type="application/json">')[1].split("<")[0])
    assert chart["labels"] == ["Bob East", "Alice East"]
    assert chart["datasets"][0] == {"label": "Emails", "data": [0, 1]}
    assert chart["datasets"][1] == {"label": "Calls", "data": [0, 2]}
    assert "vendor/chart.js/chart.umd.js" in page
    assert "salesdesk/team.js" in page
    assert f"?team={east}" not in page  # no team chosen: the links do not pin one


@pytest.mark.django_db
def test_team_and_pipeline_filters_reach_the_links(client, cast, world, pipeline, quarter):
    east = cast.alice.team_id
    response = signed_in(client, cast.manager).get(
        URL, {"period": quarter.key, "team": east, "pipeline": pipeline.pk}
    )
    assert response.status_code == 200
    assert response.context["dashboard"].team.pk == east
    assert (
        f"/dashboards/deals/?set=won&amp;period={quarter.key}&amp;owner={cast.bob.pk}"
        f"&amp;team={east}&amp;pipeline={pipeline.pk}" in response.content.decode()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "names"),
    [
        ("name", ["Alice East", "Bob East"]),
        ("-name", ["Bob East", "Alice East"]),
        ("-activities", ["Alice East", "Bob East"]),
        ("stale", ["Alice East", "Bob East"]),
        ("-lost", ["Alice East", "Bob East"]),
        ("nonsense", ["Bob East", "Alice East"]),  # unknown: the default, won revenue
    ],
)
def test_table_sorts_by_a_column(client, cast, world, sort, names):
    response = signed_in(client, cast.manager).get(URL, {"sort": sort})
    assert response.status_code == 200
    assert [row.user.full_name for row in response.context["rows"]] == names


@pytest.mark.django_db
def test_leaderboard_switches_metric(client, cast, world):
    response = signed_in(client, cast.manager).get(URL, {"board": "attainment"})
    board = [
        (e.leader.rank, e.leader.name, e.leader.value) for e in response.context["leaderboard"]
    ]
    assert board == [(1, "Alice East", Decimal("50.0")), (2, "Bob East", None)]
    assert response.context["board"] == "attainment"
    unknown = signed_in(client, cast.manager).get(URL, {"board": "height"})
    assert unknown.context["board"] == "won_revenue"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"period": "last-tuesday"}, "period", "Not a period"),
        ({"period": "fy2026-q5"}, "period", "Not a period"),
        ({"team": "abc"}, "team", "Select a valid choice"),
        ({"team": "99999999999999999999"}, "team", "Select a valid choice"),
        ({"pipeline": "0"}, "pipeline", "Select a valid choice"),
        ({"period": "\x00"}, "period", "Not a period"),
    ],
)
def test_bad_filters_show_an_error_and_the_default(
    client, cast, world, quarter, params, field, message
):
    response = signed_in(client, cast.manager).get(URL, params)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert response.context["dashboard"].period == quarter
    assert response.context["dashboard"].team is None


@pytest.mark.django_db
def test_manager_cannot_pick_a_team_they_do_not_see(client, cast, world):
    west = Team.objects.get(name="West")
    response = signed_in(client, cast.manager).get(URL, {"team": west.pk})
    assert response.status_code == 200
    assert "team" in response.context["form"].errors
    assert "Carol West" not in response.content.decode()


@pytest.mark.django_db
def test_rep_sees_only_their_own_row_and_signed_out_visitor_is_sent_to_sign_in(client, cast, world):
    response = signed_in(client, cast.alice).get(URL)
    assert [row.user.full_name for row in response.context["rows"]] == ["Alice East"]
    assert "Bob East" not in response.content.decode()
    client.logout()
    assert client.get(URL)["Location"].startswith("/login/")


@pytest.mark.django_db
def test_rep_sees_every_team_when_reps_see_all(client, cast, world):
    OrganizationSettings.objects.filter(pk=1).update(reps_see_all=True)
    response = signed_in(client, cast.alice).get(URL)
    assert [line.name for line in response.context["lines"]] == ["East", "West"]
    west = Team.objects.get(name="West")
    response = signed_in(client, cast.alice).get(URL, {"team": west.pk})
    assert [row.user.full_name for row in response.context["rows"]] == ["Carol West"]


@pytest.mark.django_db
def test_user_without_a_team_is_told_so(client, cast, world):
    response = signed_in(client, cast.outsider).get(URL)
    assert response.status_code == 200
    assert "You are not in a team yet" in response.content.decode()


@pytest.mark.django_db
def test_csv_export_has_each_rep_and_the_total(client, cast, world, quarter):
    response = signed_in(client, cast.manager).get(URL, {"export": "csv", "sort": "name"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="team-{quarter.key}.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Rep",
        "Active",
        "Emails",
        "Calls",
        "Meetings",
        "Notes",
        "Tasks done",
        "Activities",
        "New deals",
        "Won",
        "Won revenue",
        "Lost",
        "Win rate %",
        "Avg. cycle (days)",
        "Open deals",
        "Open pipeline",
        "Stale deals",
        "Overdue tasks",
        "Goal attainment %",
    ]
    # fmt: off
    assert rows[1:] == [
        ["Alice East", "yes", "1", "2", "0", "0", "0", "3", "0", "2", "3000.00", "1", "66.7",
         "10.0", "0", "0.00", "0", "0", "50.0"],
        ["Bob East", "yes", "0", "0", "0", "0", "0", "0", "0", "1", "5000.00", "0", "100.0",
         "10.0", "1", "700.00", "1", "1", ""],
        ["Team total", "", "1", "2", "0", "0", "0", "3", "0", "3", "8000.00", "1", "75.0",
         "10.0", "1", "700.00", "1", "1", "50.0"],
    ]
    # fmt: on


@pytest.mark.django_db
def test_csv_export_with_a_bad_filter_shows_the_page_with_the_error(client, cast, world):
    response = signed_in(client, cast.manager).get(URL, {"export": "csv", "period": "soon"})
    assert response["Content-Type"].startswith("text/html")
    assert "period" in response.context["form"].errors


def _more_reps(count: int, pipeline, quarter) -> None:
    start, _ = quarter.bounds("UTC")
    east = Team.objects.get(name="East")
    lead = pipeline.stages.get(name="Lead")
    for _ in range(count):
        rep = UserFactory(team=east)
        won(lead, rep, "100", start + HOUR)
        ActivityFactory(owner=rep, kind=Activity.Kind.MEETING, occurred_at=start + HOUR)
        GoalFactory(user=rep, period_kind=PeriodKind.QUARTER, period_start=quarter.start)


# Session, user, settings, visibility's reps_see_all and managed teams, the visible teams,
# pipelines; members, 3 for this quarter, 7 for the previous one to the same day (3 for its
# whole months from the rollups, 4 for the last from the source rows), stage limits, open
# deals, stale deals and overdue tasks (one query: buckets and boundary day); the goals' 5
# (settings, managed teams, goals, won, expected).
PAGE_QUERIES = 25


@pytest.mark.django_db
@pytest.mark.parametrize("extra_reps", [0, 8])
def test_page_queries_are_pinned_whatever_the_number_of_reps(
    client, cast, world, pipeline, quarter, django_assert_num_queries, extra_reps
):
    _more_reps(extra_reps, pipeline, quarter)
    TeamFactory()
    signed_in(client, cast.manager)
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(URL, {"sort": "-won", "board": "won"})
    assert len(response.context["rows"]) == 2 + extra_reps
    with django_assert_num_queries(PAGE_QUERIES):
        client.get(URL, {"export": "csv"})


@pytest.mark.django_db
def test_deactivated_reps_figures_link_only_to_the_deals(client, cast, world, pipeline, quarter):
    # Given Bob deactivated (the activity and deal lists offer active owners only)
    cast.bob.is_active = False
    cast.bob.save()
    response = signed_in(client, cast.manager).get(URL)
    page = response.content.decode()
    assert "Deactivated" in page
    assert f"/dashboards/deals/?set=won&amp;period={quarter.key}&amp;owner={cast.bob.pk}" in page
    assert f"/activities/?owner={cast.bob.pk}" not in page
    assert f"/deals/?owner={cast.bob.pk}" not in page
    assert f"/activities/?owner={cast.alice.pk}" in page


def _line(response, name: str):
    return next(line for line in response.context["lines"] if line.name == name)


def _texts(line) -> list[str]:
    return [cell.text for cell in line.cells]


@pytest.mark.django_db
def test_admin_sees_one_row_per_team_linking_to_its_dashboard(client, cast, world, quarter):
    # Given an admin, who sees East and West, when they open the dashboard with no team chosen
    response = signed_in(client, cast.admin).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    # Then there is a row per team, its figures summed over its reps (see `world`)
    assert response.context["is_summary"] is True
    assert "rows" not in response.context  # no per-rep table: one click away, or in the CSV
    east, west = _line(response, "East"), _line(response, "West")
    # fmt: off
    assert _texts(east) == [
        "1", "2", "0", "0", "0", "3", "0", "3", "8,000.00", "1", "75.0 %", "10.0 d",
        "1", "700.00", "1", "1", "No goal",
    ]
    assert _texts(west) == [
        "0", "0", "0", "0", "0", "0", "0", "1", "9,999.00", "0", "100.0 %", "10.0 d",
        "0", "0.00", "0", "0", "No goal",
    ]
    assert [cell.text for cell in response.context["total_cells"]][:10] == [
        "1", "2", "0", "0", "0", "3", "0", "4", "17,999.00", "1",
    ]
    # fmt: on
    # And each team leads to its own dashboard, its deal figures to the deals behind them
    east_pk = cast.alice.team_id
    assert f'href="?team={east_pk}">East</a>' in page
    won_cell = east.cells[7]
    assert won_cell.href == f"/dashboards/deals/?set=won&period={quarter.key}&team={east_pk}"
    assert east.cells[14].href == f"/deals/?team={east_pk}&status=open"
    assert east.cells[0].href == ""  # the activities list has no team filter
    assert page.count("table-warning fw-semibold") == 4  # East's two and the total's two
    # And the leaderboard is the best reps of every team
    assert [(e.leader.rank, e.leader.name, e.text) for e in response.context["leaderboard"]] == [
        (1, "Carol West", "9,999.00"),
        (2, "Bob East", "5,000.00"),
        (3, "Alice East", "3,000.00"),
    ]
    assert response.context["leaderboard"][0].href == (
        f"/dashboards/deals/?set=won&period={quarter.key}&owner={cast.carol.pk}"
    )
    # And the chart is per team
    chart = json.loads(page.split('id="team-chart-data" type="application/json">')[1].split("<")[0])
    assert chart["labels"] == ["East", "West"]
    assert chart["datasets"][1] == {"label": "Calls", "data": [2, 0]}


@pytest.mark.django_db
def test_team_row_shows_the_team_goal(client, cast, world, quarter):
    west = Team.objects.get(name="West")
    GoalFactory(
        team=west,
        period_kind=PeriodKind.QUARTER,
        period_start=quarter.start,
        target=Decimal("30000"),
    )
    response = signed_in(client, cast.admin).get(URL)
    goal = _line(response, "West").cells[-1]
    assert (goal.text, goal.note) == ("33.3 %", "of 30,000.00 · behind")
    assert _line(response, "East").cells[-1].text == "No goal"


@pytest.mark.django_db
def test_trend_is_labelled_with_the_point_of_the_previous_period(client, cast, world, quarter):
    east = cast.alice.team_id
    response = signed_in(client, cast.admin).get(URL, {"team": east})
    comparison = response.context["dashboard"].comparison
    assert comparison.period == quarter.previous()
    assert comparison.label.startswith(f"{quarter.previous().label} to ")
    page = response.content.decode()
    assert f"Arrows compare with {comparison.label}, the same point" in page
    assert f'<span class="visually-hidden"> on {comparison.label}</span>' in page
    # With every team at once, under way: the trend is on each team's page
    summary = signed_in(client, cast.admin).get(URL).content.decode()
    assert f"Choose a team to compare its reps with {comparison.label}" in summary
    assert "team-trend" not in summary
    # A quarter that is over compares with the whole of the one before, on every row
    past = signed_in(client, cast.admin).get(URL, {"period": quarter.previous().key})
    assert past.context["dashboard"].has_trend
    assert f"Arrows compare with {quarter.shifted(-2).label}." in past.content.decode()


@pytest.mark.django_db
def test_admin_csv_export_lists_every_rep_of_every_team(client, cast, world):
    response = signed_in(client, cast.admin).get(URL, {"export": "csv", "sort": "name"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[0] for row in rows[1:]] == ["Alice East", "Bob East", "Carol West", "Team total"]
    assert rows[-1][10] == "17999.00"


# Session, user, settings, the visible teams, pipelines; 3 for this quarter grouped by team
# (no trend while it is under way); stage limits, open deals, stale deals and overdue tasks
# (one query: buckets and boundary day); the team goals' 2 (settings, goals: none); the
# leaderboard's one ranked query (LIMIT 10).
SUMMARY_QUERIES = 14


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [0, 3])
def test_summary_queries_are_pinned_whatever_the_number_of_teams_and_reps(
    client, cast, world, pipeline, quarter, django_assert_num_queries, extra
):
    _more_reps(extra, pipeline, quarter)
    for _ in range(extra):
        TeamFactory()
    signed_in(client, cast.admin)
    with django_assert_num_queries(SUMMARY_QUERIES):
        response = client.get(URL, {"board": "won"})
    assert len(response.context["lines"]) == 2 + extra
    assert len(response.context["leaderboard"]) == 3 + extra
