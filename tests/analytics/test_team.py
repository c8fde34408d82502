"""The team dashboard's figures, against a small hand-computed world.

Q1 FY2026 (January to March 2026) is the period shown; Q4 FY2025 the one it is compared with.
"Now" is 20 March 2026, 12:00 UTC. The organization reports in UTC unless a test says so.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesdesk.accounts.models import OrganizationSettings, Team
from salesdesk.activities.models import Activity
from salesdesk.activities.my_day import stale_condition
from salesdesk.analytics import metrics, team
from salesdesk.goals.periods import Period
from salesdesk.pipeline.models import Deal
from tests.factories import (
    ActivityFactory,
    DealFactory,
    GoalFactory,
    LostReasonFactory,
    PipelineFactory,
    StageFactory,
    TeamFactory,
    UserFactory,
)

UTC = datetime.UTC
D = datetime.date
NOW = datetime.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
Q1 = Period("quarter", D(2026, 1, 1))
DAY = datetime.timedelta(days=1)


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def won(stage, owner, amount, *, created, closed, **kwargs):
    return DealFactory(
        stage=stage,
        owner=owner,
        amount=Decimal(amount),
        status=Deal.Status.WON,
        created_at=created,
        closed_at=closed,
        **kwargs,
    )


def lost(stage, owner, *, created, closed):
    return DealFactory(
        stage=stage,
        owner=owner,
        status=Deal.Status.LOST,
        lost_reason=LostReasonFactory(name="Price"),
        created_at=created,
        closed_at=closed,
    )


def activity(owner, kind, occurred, **kwargs):
    return ActivityFactory(owner=owner, kind=kind, occurred_at=occurred, **kwargs)


@pytest.fixture
def world(cast, pipeline):
    """Alice, Bob and deactivated Dave in East; Carol in West; see each figure's comment."""
    lead, qualified, _, negotiation = pipeline.stages.order_by("position")
    east = cast.alice.team
    dave = UserFactory(full_name="Dave Gone", team=east, is_active=False)
    UserFactory(full_name="Eve Gone", team=east, is_active=False)  # nothing in Q1: not shown

    # Alice, Q1: won 1,000 after 10 days and 3,000 after 71 days; lost one; 3 new deals.
    won(lead, cast.alice, "1000", created=at(2026, 1, 1), closed=at(2026, 1, 11))
    won(lead, cast.alice, "3000", created=at(2025, 12, 1), closed=at(2026, 2, 10))
    lost(lead, cast.alice, created=at(2026, 2, 1), closed=at(2026, 3, 1))
    # Open now: 1,500 in Lead for 15 days (limit 14: stale), 500 in Qualified for 21 (limit 21).
    DealFactory(
        stage=lead,
        owner=cast.alice,
        amount=Decimal("1500"),
        created_at=at(2026, 2, 15),
        stage_entered_at=NOW - 15 * DAY,
    )
    DealFactory(
        stage=qualified,
        owner=cast.alice,
        amount=Decimal("500"),
        created_at=at(2025, 11, 1),
        stage_entered_at=NOW - 21 * DAY,
    )
    # Alice, Q4: won 2,000 after 31 days (and the deals created 1 Nov and 1 Dec above).
    won(lead, cast.alice, "2000", created=at(2025, 10, 1), closed=at(2025, 11, 1))

    # Alice's activities in Q1: 2 e-mails, a call, a meeting, a note, a task done in January
    # (logged in December); an open task overdue, one not yet due. In Q4: one call.
    activity(cast.alice, Activity.Kind.EMAIL, at(2026, 1, 2))
    activity(cast.alice, Activity.Kind.EMAIL, at(2026, 3, 31, 23, 59))
    activity(cast.alice, Activity.Kind.CALL, at(2026, 2, 2))
    activity(cast.alice, Activity.Kind.MEETING, at(2026, 2, 3))
    activity(cast.alice, Activity.Kind.NOTE, at(2026, 2, 4))
    activity(cast.alice, Activity.Kind.TASK, at(2025, 12, 20), done_at=at(2026, 1, 5))
    activity(cast.alice, Activity.Kind.TASK, at(2026, 3, 1), due_at=at(2026, 3, 10))
    activity(cast.alice, Activity.Kind.TASK, at(2026, 3, 1), due_at=at(2026, 3, 25))
    activity(cast.alice, Activity.Kind.CALL, at(2025, 11, 10))

    # Bob, Q1: won 5,000 after 15 days, and 700 after 17 days on a deal Alice won and then
    # handed over (a deal counts for its current owner); 30 days in Negotiation (stale).
    won(negotiation, cast.bob, "5000", created=at(2026, 3, 1), closed=at(2026, 3, 16))
    handed_over = won(lead, cast.alice, "700", created=at(2026, 1, 15), closed=at(2026, 2, 1))
    handed_over.owner = cast.bob
    handed_over.save()
    DealFactory(
        stage=negotiation,
        owner=cast.bob,
        amount=Decimal("1000"),
        created_at=at(2025, 6, 1),
        stage_entered_at=NOW - 30 * DAY,
    )

    # Dave, deactivated, Q1: won 800 after 20 days.
    won(lead, dave, "800", created=at(2026, 1, 1), closed=at(2026, 1, 21))
    # Carol, West, Q1: won 9,999.
    won(lead, cast.carol, "9999", created=at(2026, 1, 1), closed=at(2026, 1, 2))

    GoalFactory(user=cast.alice, period_start=D(2026, 1, 1), target=Decimal("8000"))
    GoalFactory(user=cast.bob, period_start=D(2026, 1, 1), target=Decimal("5000"))
    return dave


def rows_by_name(dashboard) -> dict[str, team.RepRow]:
    return {row.user.full_name: row for row in dashboard.rows}


@pytest.mark.django_db
def test_each_figure_of_two_reps_for_the_period_and_the_previous_one(cast, world):
    # Given the world above, when the manager of East opens Q1
    dashboard = team.team_dashboard(actor=cast.manager, period=Q1, now=NOW)
    rows = rows_by_name(dashboard)
    alice, bob = rows["Alice East"], rows["Bob East"]

    # Then Alice's figures are
    assert alice.current == team.PeriodFigures(
        emails=2,
        calls=1,
        meetings=1,
        notes=1,
        tasks_done=1,
        new_deals=3,
        won=2,
        won_revenue=Decimal("4000.00"),
        lost=1,
        cycle=81 * DAY,
    )
    assert alice.current.activities == 6
    assert alice.current.win_rate == Decimal("66.7")
    assert alice.current.average_cycle == Decimal("40.5")
    assert alice.standing == team.Standing(
        open_deals=2, open_amount=Decimal("2000.00"), stale=1, overdue_tasks=1
    )
    assert alice.previous == team.PeriodFigures(
        calls=1, new_deals=3, won=1, won_revenue=Decimal("2000.00"), cycle=31 * DAY
    )
    assert alice.previous.win_rate == Decimal("100.0")
    # And Bob's (the handed-over deal counts for him, not for Alice)
    assert bob.current == team.PeriodFigures(
        new_deals=2, won=2, won_revenue=Decimal("5700.00"), cycle=32 * DAY
    )
    assert bob.current.win_rate == Decimal("100.0")
    assert bob.current.average_cycle == Decimal("16.0")
    assert bob.standing == team.Standing(
        open_deals=1, open_amount=Decimal("1000.00"), stale=1, overdue_tasks=0
    )
    assert bob.previous == team.PeriodFigures()
    assert bob.previous.win_rate is None
    assert bob.previous.average_cycle is None


@pytest.mark.django_db
def test_the_previous_period_shown_on_its_own_has_the_same_figures(cast, world):
    q4 = team.team_dashboard(actor=cast.manager, period=Q1.previous(), now=NOW)
    rows = rows_by_name(q4)
    assert q4.period.key == "fy2025-q4"
    assert rows["Alice East"].current == team.PeriodFigures(
        calls=1, new_deals=3, won=1, won_revenue=Decimal("2000.00"), cycle=31 * DAY
    )
    assert rows["Bob East"].current == team.PeriodFigures()
    # Dave had nothing in Q4, and he is deactivated: not on the dashboard.
    assert "Dave Gone" not in rows


@pytest.mark.django_db
def test_trend_against_the_previous_period(cast, world):
    dashboard = team.team_dashboard(actor=cast.manager, period=Q1, now=NOW)
    alice = rows_by_name(dashboard)["Alice East"]
    assert {name: trend.delta for name, trend in alice.trend.items()} == {
        "activities": 5,
        "new_deals": 0,
        "won": 1,
        "won_revenue": Decimal("2000.00"),
        "lost": 1,
        "win_rate": Decimal("-33.3"),
        "average_cycle": Decimal("9.5"),
    }
    assert (alice.trend["won"].direction, alice.trend["won"].is_good) == ("up", True)
    assert (alice.trend["lost"].direction, alice.trend["lost"].is_good) == ("up", False)
    assert alice.trend["average_cycle"].is_good is False  # longer cycles are bad news
    assert (alice.trend["new_deals"].direction, alice.trend["new_deals"].is_good) == ("flat", None)
    bob = rows_by_name(dashboard)["Bob East"]
    assert bob.trend["win_rate"].delta is None  # nothing closed in Q4: no rate to compare


@pytest.mark.django_db
def test_deactivated_rep_shows_while_they_have_figures(cast, world):
    dashboard = team.team_dashboard(actor=cast.manager, period=Q1, now=NOW)
    # Dave (deactivated, won 800 in Q1) shows; Eve (deactivated, nothing) and Max (a manager
    # with no deals of his own) do not.
    assert [row.user.full_name for row in dashboard.rows] == ["Alice East", "Bob East", "Dave Gone"]
    dave = rows_by_name(dashboard)["Dave Gone"]
    assert dave.user.is_active is False
    assert dave.current.won_revenue == Decimal("800.00")


@pytest.mark.django_db
def test_team_total_and_goal_attainment(cast, world):
    dashboard = team.team_dashboard(actor=cast.manager, period=Q1, now=NOW)
    total = dashboard.total
    assert total.user is None
    assert total.current == team.PeriodFigures(
        emails=2,
        calls=1,
        meetings=1,
        notes=1,
        tasks_done=1,
        new_deals=6,  # Alice 3, Bob 2, Dave 1
        won=5,
        won_revenue=Decimal("10500.00"),
        lost=1,
        cycle=(81 + 32 + 20) * DAY,
    )
    assert total.current.win_rate == Decimal("83.3")  # 5 of 6
    assert total.current.average_cycle == Decimal("26.6")  # 133 / 5
    assert total.standing == team.Standing(
        open_deals=3, open_amount=Decimal("3000.00"), stale=2, overdue_tasks=1
    )
    rows = rows_by_name(dashboard)
    # Alice has won 4,000 of 8,000 with 87 % of the quarter gone: behind.
    assert rows["Alice East"].goal == team.Attainment(
        target=Decimal("8000.00"), achieved=Decimal("4000.00"), on_track=False
    )
    assert rows["Alice East"].goal.percent == Decimal("50.0")
    assert rows["Bob East"].goal.percent == Decimal("114.0")
    assert rows["Dave Gone"].goal is None
    # No team goal: the reps' goals added up, 9,700 of 13,000.
    assert total.goal == team.Attainment(
        target=Decimal("13000.00"), achieved=Decimal("9700.00"), on_track=False
    )
    assert total.goal.percent == Decimal("74.6")


@pytest.mark.django_db
def test_a_team_goal_gives_the_total_attainment(cast, world):
    # Given East's goal, the sum of its active members' goals (13,000), of which the team has
    # won 10,500 (Dave's deals count though he left)
    east = cast.alice.team
    GoalFactory(team=east, period_start=D(2026, 1, 1), target=None)
    dashboard = team.team_dashboard(actor=cast.manager, period=Q1, team_id=east.pk, now=NOW)
    assert dashboard.total.goal == team.Attainment(
        target=Decimal("13000.00"), achieved=Decimal("10500.00"), on_track=False
    )
    assert dashboard.total.goal.percent == Decimal("80.8")


@pytest.mark.django_db
def test_leaderboard_ranks_by_won_revenue_or_another_metric(cast, world):
    dashboard = team.team_dashboard(actor=cast.manager, period=Q1, now=NOW)
    board = [(p.rank, p.row.user.full_name, p.value) for p in dashboard.leaderboard()]
    assert board == [
        (1, "Bob East", Decimal("5700.00")),
        (2, "Alice East", Decimal("4000.00")),
        (3, "Dave Gone", Decimal("800.00")),
    ]
    by_won = [(p.rank, p.row.user.full_name) for p in dashboard.leaderboard("won")]
    assert by_won == [(1, "Alice East"), (1, "Bob East"), (3, "Dave Gone")]  # a tie shares
    by_goal = [(p.rank, p.row.user.full_name, p.value) for p in dashboard.leaderboard("attainment")]
    assert by_goal == [
        (1, "Bob East", Decimal("114.0")),
        (2, "Alice East", Decimal("50.0")),
        (3, "Dave Gone", None),  # no goal: last
    ]


@pytest.mark.django_db
def test_sorted_rows_put_empty_values_last_both_ways(cast, world):
    dashboard = team.team_dashboard(actor=cast.manager, period=Q1, now=NOW)
    names = lambda sort: [row.user.full_name for row in dashboard.sorted_rows(sort)]  # noqa: E731
    assert names("name") == ["Alice East", "Bob East", "Dave Gone"]
    assert names("-name") == ["Dave Gone", "Bob East", "Alice East"]
    assert names("stale") == ["Dave Gone", "Alice East", "Bob East"]
    assert names("average_cycle") == ["Bob East", "Dave Gone", "Alice East"]
    assert names("-win_rate") == ["Bob East", "Dave Gone", "Alice East"]
    assert names("lost") == ["Bob East", "Dave Gone", "Alice East"]


@pytest.mark.django_db
def test_period_bounds_follow_the_reporting_time_zone(cast, pipeline):
    # Given an organization reporting in New York (UTC-5 in winter, UTC-4 from 8 March)
    OrganizationSettings.objects.filter(pk=1).update(timezone="America/New_York")
    stage = pipeline.stages.first()
    won(stage, cast.alice, "100", created=at(2025, 12, 1), closed=at(2026, 1, 1, 3))  # 31 Dec
    won(stage, cast.alice, "200", created=at(2026, 1, 1), closed=at(2026, 1, 1, 5))  # 1 Jan
    won(stage, cast.alice, "400", created=at(2026, 3, 1), closed=at(2026, 4, 1, 3))  # 31 Mar
    won(stage, cast.alice, "800", created=at(2026, 3, 1), closed=at(2026, 4, 1, 4))  # 1 Apr
    activity(cast.alice, Activity.Kind.CALL, at(2026, 1, 1, 4, 59))  # 31 Dec, 23:59
    activity(cast.alice, Activity.Kind.CALL, at(2026, 1, 1, 5))  # 1 Jan, 00:00
    # When the manager opens Q1 once it is over (so it compares with the whole of Q4)
    dashboard = team.team_dashboard(actor=cast.manager, period=Q1, now=at(2026, 4, 10))
    alice = rows_by_name(dashboard)["Alice East"]
    # Then only the closings and calls between 1 January and 31 March in New York count
    assert (alice.current.won, alice.current.won_revenue) == (2, Decimal("600.00"))
    assert alice.current.calls == 1
    assert (alice.previous.won, alice.previous.won_revenue, alice.previous.calls) == (
        1,
        Decimal("100.00"),
        1,
    )


@pytest.mark.django_db
def test_stale_means_more_whole_days_in_the_stage_than_it_allows(cast, pipeline):
    lead = pipeline.stages.get(name="Lead")  # stale after 14 days
    unlimited = StageFactory(pipeline=pipeline, name="Parked", stale_after_days=None)
    for entered in (NOW - 15 * DAY, NOW - 15 * DAY + datetime.timedelta(seconds=1)):
        DealFactory(stage=lead, owner=cast.alice, stage_entered_at=entered)
    DealFactory(stage=unlimited, owner=cast.alice, stage_entered_at=NOW - 400 * DAY)
    won(lead, cast.alice, "1", created=at(2025, 1, 1), closed=at(2026, 3, 1))  # closed: never
    assert Deal.objects.filter(stale_condition(NOW), status=Deal.Status.OPEN).count() == 1
    standing = rows_by_name(team.team_dashboard(actor=cast.manager, period=Q1, now=NOW))
    assert standing["Alice East"].standing.stale == 1
    assert standing["Alice East"].standing.open_deals == 3


@pytest.mark.django_db
def test_overdue_tasks_are_open_tasks_past_due_now(cast):
    activity(cast.alice, Activity.Kind.TASK, at(2026, 1, 1), due_at=NOW - datetime.timedelta(1))
    activity(cast.alice, Activity.Kind.TASK, at(2026, 1, 1), due_at=NOW + datetime.timedelta(1))
    activity(
        cast.alice,
        Activity.Kind.TASK,
        at(2026, 1, 1),
        due_at=at(2026, 1, 2),
        done_at=at(2026, 1, 3),
    )
    activity(cast.alice, Activity.Kind.CALL, at(2026, 1, 1), due_at=at(2026, 1, 2))  # not a task
    assert metrics.overdue_tasks(cast.manager, NOW).count() == 1


@pytest.mark.django_db
def test_pipeline_filter_applies_to_deal_figures_only(cast, world, pipeline):
    other = StageFactory(pipeline=PipelineFactory(name="Renewals"), stale_after_days=1)
    won(other, cast.alice, "50000", created=at(2026, 1, 1), closed=at(2026, 1, 3))
    DealFactory(stage=other, owner=cast.alice, stage_entered_at=NOW - 5 * DAY)
    everything = rows_by_name(team.team_dashboard(actor=cast.manager, period=Q1, now=NOW))
    sales = rows_by_name(
        team.team_dashboard(actor=cast.manager, period=Q1, pipeline_id=pipeline.pk, now=NOW)
    )
    assert everything["Alice East"].current.won_revenue == Decimal("54000.00")
    assert everything["Alice East"].standing.stale == 2
    assert sales["Alice East"].current.won_revenue == Decimal("4000.00")
    assert sales["Alice East"].standing == team.Standing(
        open_deals=2, open_amount=Decimal("2000.00"), stale=1, overdue_tasks=1
    )
    assert sales["Alice East"].current.activities == 6  # activities have no pipeline


@pytest.mark.django_db
def test_manager_sees_the_teams_they_manage(cast, world):
    dashboard = team.team_dashboard(actor=cast.manager, period=Q1, now=NOW)
    assert [t.name for t in dashboard.teams] == ["East"]
    assert "Carol West" not in rows_by_name(dashboard)
    west = Team.objects.get(name="West")
    with pytest.raises(Team.DoesNotExist):
        team.team_dashboard(actor=cast.manager, period=Q1, team_id=west.pk, now=NOW)


@pytest.mark.django_db
def test_rep_sees_only_their_own_row(cast, world):
    dashboard = team.team_dashboard(actor=cast.alice, period=Q1, now=NOW)
    assert [t.name for t in dashboard.teams] == ["East"]
    assert [row.user.full_name for row in dashboard.rows] == ["Alice East"]
    assert dashboard.total.current.won_revenue == Decimal("4000.00")


@pytest.mark.django_db
def test_with_reps_see_all_a_rep_sees_every_team(cast, world):
    OrganizationSettings.objects.filter(pk=1).update(reps_see_all=True)
    dashboard = team.team_dashboard(actor=cast.alice, period=Q1, now=NOW)
    assert [t.name for t in dashboard.teams] == ["East", "West"]
    assert list(rows_by_name(dashboard)) == ["Alice East", "Bob East", "Carol West", "Dave Gone"]
    assert dashboard.total.current.won_revenue == Decimal("20499.00")


@pytest.mark.django_db
def test_admin_sees_every_team_and_can_pick_one(cast, world):
    dashboard = team.team_dashboard(actor=cast.admin, period=Q1, now=NOW)
    assert list(rows_by_name(dashboard)) == ["Alice East", "Bob East", "Carol West", "Dave Gone"]
    west = Team.objects.get(name="West")
    only_west = team.team_dashboard(actor=cast.admin, period=Q1, team_id=west.pk, now=NOW)
    assert only_west.team == west
    assert [row.user.full_name for row in only_west.rows] == ["Carol West"]
    assert only_west.total.current.won_revenue == Decimal("9999.00")


@pytest.mark.django_db
def test_user_without_a_team_or_signed_out_sees_no_rows(cast, world):
    from django.contrib.auth.models import AnonymousUser

    for viewer in (cast.outsider, AnonymousUser()):
        dashboard = team.team_dashboard(actor=viewer, period=Q1, now=NOW)
        assert (dashboard.teams, dashboard.rows) == ([], [])


def _team_of(size: int, pipeline) -> Team:
    crew = TeamFactory()
    stage = pipeline.stages.first()
    for _ in range(size):
        rep = UserFactory(team=crew)
        won(stage, rep, "100", created=at(2026, 1, 1), closed=at(2026, 2, 1))
        DealFactory(stage=stage, owner=rep, stage_entered_at=NOW - 30 * DAY)
        activity(rep, Activity.Kind.CALL, at(2026, 2, 1))
        activity(rep, Activity.Kind.TASK, at(2026, 2, 1), due_at=at(2026, 2, 2))
        GoalFactory(user=rep, period_start=D(2026, 1, 1))
    return crew


def _queries(actor, crew) -> int:
    actor = type(actor).objects.get(pk=actor.pk)  # as a request would: nothing read yet
    with CaptureQueriesContext(connection) as captured:
        dashboard = team.team_dashboard(actor=actor, period=Q1, team_id=crew.pk, now=NOW)
    assert dashboard.rows
    return len(captured)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_number_of_reps(cast, pipeline):
    small, large = _team_of(3, pipeline), _team_of(10, pipeline)
    assert _queries(cast.admin, small) == _queries(cast.admin, large) == QUERIES


# Settings, visible teams, members; 3 per period (activities, won and lost, created) twice,
# and 4 more for the part of the previous period's last month up to the same point (20 Dec:
# activities logged, tasks done, won and lost, created); stage limits, open deals from their
# buckets, stale deals and overdue tasks (one query: their buckets and their boundary day's
# rows); 4 for the goals (settings, goals, won, expected).
QUERIES = 20


@pytest.mark.django_db
def test_query_count_for_a_manager_does_not_grow_either(cast, pipeline):
    small = _team_of(3, pipeline)
    small.manager = cast.manager
    small.save()
    large = _team_of(10, pipeline)
    large.manager = cast.manager
    large.save()
    # A manager adds visibility's reads: reps_see_all, and the managed teams (twice: for
    # records and for goals).
    assert _queries(cast.manager, small) == _queries(cast.manager, large) == QUERIES + 2


# --- Every team at once, and the leaderboard ranked in SQL -----------------------------------


@pytest.mark.django_db
def test_summary_has_one_row_per_team_summed_over_its_members(cast, world):
    # Given West's won-revenue goal of 30,000 for Q1 (East has none)
    west = Team.objects.get(name="West")
    GoalFactory(team=west, period_start=D(2026, 1, 1), target=Decimal("30000"))
    # When the admin reads every team at once, Q1 being over (5 April)
    summary = team.teams_summary(actor=cast.admin, period=Q1, now=at(2026, 4, 5))
    assert summary.has_trend
    east_row, west_row = summary.rows
    # Then East's row is Alice's, Bob's and Dave's figures added up (see `world`)
    assert east_row.team.name == "East"
    assert east_row.current == team.PeriodFigures(
        emails=2,
        calls=1,
        meetings=1,
        notes=1,
        tasks_done=1,
        new_deals=6,
        won=5,
        won_revenue=Decimal("10500.00"),
        lost=1,
        cycle=(81 + 32 + 20) * DAY,
    )
    # On 5 April Alice's deal in Qualified (37 days) is stale too, her task due 25 March late.
    assert east_row.standing == team.Standing(
        open_deals=3, open_amount=Decimal("3000.00"), stale=3, overdue_tasks=2
    )
    # The whole of Q4: Alice's call of 10 Nov, her 3 deals created 1 Oct, 1 Nov and 1 Dec,
    # her 2,000 won on 1 Nov after 31 days.
    assert east_row.previous == team.PeriodFigures(
        calls=1, new_deals=3, won=1, won_revenue=Decimal("2000.00"), cycle=31 * DAY
    )
    assert east_row.trend["won"].delta == 4
    assert east_row.trend["win_rate"].delta == Decimal("-16.7")  # 83.3 against 100.0
    assert east_row.goal is None
    # And West's is Carol's, against the team goal
    assert west_row.current == team.PeriodFigures(
        new_deals=1, won=1, won_revenue=Decimal("9999.00"), cycle=DAY
    )
    assert west_row.standing == team.Standing()
    assert west_row.goal == team.Attainment(
        target=Decimal("30000.00"), achieved=Decimal("9999.00"), on_track=False
    )
    assert west_row.goal.percent == Decimal("33.3")
    # And the total is both, its goal the teams' goals added up
    assert summary.total.current.won_revenue == Decimal("20499.00")
    assert summary.total.standing.open_deals == 3
    assert summary.total.goal == west_row.goal
    assert summary.total.trend["won"].delta == 5  # 6 against 1
    # And a team's row is the total of that team's own dashboard
    east = team.team_dashboard(
        actor=cast.admin, period=Q1, team_id=east_row.team.pk, now=at(2026, 4, 5)
    )
    assert (east.total.current, east.total.previous, east.total.standing) == (
        east_row.current,
        east_row.previous,
        east_row.standing,
    )


@pytest.mark.django_db
def test_summary_of_a_period_under_way_has_no_trend(cast, world):
    # 20 March: the same point of Q4 would need every rep's December activities and deals
    summary = team.teams_summary(actor=cast.admin, period=Q1, now=NOW)
    assert not summary.has_trend
    assert summary.comparison.label == "Q4 FY2025 to 20 Dec"
    assert [(row.team.name, row.previous, row.trend) for row in summary.rows] == [
        ("East", None, {}),
        ("West", None, {}),
    ]
    assert summary.rows[0].current.won_revenue == Decimal("10500.00")


@pytest.mark.django_db
def test_manager_summary_has_only_their_teams(cast, world):
    summary = team.teams_summary(actor=cast.manager, period=Q1, now=NOW)
    assert [row.team.name for row in summary.rows] == ["East"]


def leader_board(actor, metric, limit=10):
    leaders = team.leaders(actor=actor, period=Q1, metric=metric, limit=limit, now=NOW)
    return [(leader.rank, leader.name, leader.value) for leader in leaders]


@pytest.mark.django_db
def test_leaders_are_ranked_in_sql_across_teams(cast, world):
    assert leader_board(cast.admin, "won_revenue", limit=3) == [
        (1, "Carol West", Decimal("9999.00")),
        (2, "Bob East", Decimal("5700.00")),
        (3, "Alice East", Decimal("4000.00")),
    ]
    assert leader_board(cast.admin, "won") == [
        (1, "Alice East", 2),
        (1, "Bob East", 2),
        (3, "Carol West", 1),
        (3, "Dave Gone", 1),
    ]
    assert leader_board(cast.admin, "win_rate") == [
        (1, "Bob East", Decimal("100.0")),
        (1, "Carol West", Decimal("100.0")),
        (1, "Dave Gone", Decimal("100.0")),
        (4, "Alice East", Decimal("66.7")),
    ]
    assert leader_board(cast.admin, "new_deals") == [
        (1, "Alice East", 3),
        (2, "Bob East", 2),
        (3, "Carol West", 1),
        (3, "Dave Gone", 1),
    ]
    assert leader_board(cast.admin, "activities") == [(1, "Alice East", 6)]
    assert leader_board(cast.admin, "attainment") == [
        (1, "Bob East", Decimal("114.0")),
        (2, "Alice East", Decimal("50.0")),
    ]
    # A manager ranks only the reps of the teams they see.
    assert leader_board(cast.manager, "won_revenue") == [
        (1, "Bob East", Decimal("5700.00")),
        (2, "Alice East", Decimal("4000.00")),
        (3, "Dave Gone", Decimal("800.00")),
    ]


@pytest.mark.django_db
def test_leaders_from_the_source_rows_when_the_zone_is_not_the_rollups(cast, world):
    # Reported in Tokyo, Q1 is not made of the rollups' (UTC) months: read from the deals.
    leaders = team.leaders(actor=cast.admin, period=Q1, tz="Asia/Tokyo", limit=2, now=NOW)
    assert [(leader.name, leader.value, leader.won) for leader in leaders] == [
        ("Carol West", Decimal("9999.00"), 1),
        ("Bob East", Decimal("5700.00"), 2),
    ]


# --- The trend compares with the previous period up to the same point ------------------------

Q4_2026 = Period("quarter", D(2026, 10, 1))


@pytest.fixture
def summer(cast, pipeline):
    """Alice's Q3 2026 (July to September): what the previous period holds at each point."""
    stage = pipeline.stages.first()
    won(stage, cast.alice, "100", created=at(2026, 6, 1), closed=at(2026, 7, 10))  # whole July
    won(stage, cast.alice, "200", created=at(2026, 6, 1), closed=at(2026, 8, 25, 9, 59))
    won(stage, cast.alice, "400", created=at(2026, 6, 1), closed=at(2026, 8, 25, 10))
    won(stage, cast.alice, "800", created=at(2026, 6, 1), closed=at(2026, 9, 30))
    activity(cast.alice, Activity.Kind.CALL, at(2026, 7, 2))
    activity(cast.alice, Activity.Kind.CALL, at(2026, 8, 24))
    activity(cast.alice, Activity.Kind.CALL, at(2026, 8, 26))
    lost(stage, cast.alice, created=at(2026, 8, 1), closed=at(2026, 8, 3))
    # This quarter so far: won 500.
    won(stage, cast.alice, "500", created=at(2026, 10, 1), closed=at(2026, 10, 20))


@pytest.mark.django_db
def test_a_quarter_under_way_compares_with_the_previous_one_to_the_same_day(cast, summer):
    # Given now is 25 November 2026, 10:00 (UTC)
    now = at(2026, 11, 25, 10)
    dashboard = team.team_dashboard(actor=cast.manager, period=Q4_2026, now=now)
    # Then the comparison is Q3 up to 25 August, 10:00
    assert dashboard.comparison.end == at(2026, 8, 25, 10)
    assert dashboard.comparison.label == "Q3 FY2026 to 25 Aug"
    alice = rows_by_name(dashboard)["Alice East"]
    # July's 100 (the rollups) and 200 of 25 Aug 09:59 (the deals); not 10:00, not September.
    # Two calls (2 Jul, 24 Aug), the loss of 3 Aug, the deal created 1 Aug.
    assert alice.previous == team.PeriodFigures(
        calls=2,
        won=2,
        won_revenue=Decimal("300.00"),
        lost=1,
        new_deals=1,
        cycle=(39 + 85) * DAY + datetime.timedelta(hours=9, minutes=59),
    )
    assert alice.trend["won_revenue"].delta == Decimal("200.00")  # 500 against 300
    assert alice.trend["won"].delta == -1


@pytest.mark.django_db
def test_a_period_that_is_over_compares_with_the_whole_previous_one(cast, summer):
    dashboard = team.team_dashboard(actor=cast.manager, period=Q4_2026, now=at(2027, 1, 5))
    assert dashboard.comparison.end is None
    assert dashboard.comparison.label == "Q3 FY2026"
    alice = rows_by_name(dashboard)["Alice East"]
    assert (alice.previous.won, alice.previous.won_revenue, alice.previous.calls) == (
        4,
        Decimal("1500.00"),
        3,
    )


@pytest.mark.django_db
def test_the_same_point_is_the_same_wall_clock_time_across_a_change_of_offset(cast, pipeline):
    # Given an organization in New York: 24 November 22:00 there is 25 Nov 03:00 UTC (EST,
    # UTC-5); the same point of Q3, 24 August 22:00, is 25 Aug 02:00 UTC (EDT, UTC-4).
    OrganizationSettings.objects.filter(pk=1).update(timezone="America/New_York")
    stage = pipeline.stages.first()
    won(stage, cast.alice, "1", created=at(2026, 6, 1), closed=at(2026, 7, 1, 3, 59))  # 30 Jun
    won(stage, cast.alice, "10", created=at(2026, 6, 1), closed=at(2026, 7, 1, 4))  # 1 Jul 0:00
    won(stage, cast.alice, "100", created=at(2026, 6, 1), closed=at(2026, 8, 1, 3, 59))  # 31 Jul
    won(stage, cast.alice, "1000", created=at(2026, 6, 1), closed=at(2026, 8, 25, 1, 59))
    won(stage, cast.alice, "10000", created=at(2026, 6, 1), closed=at(2026, 8, 25, 2, 30))
    now = at(2026, 11, 25, 3)
    # When the manager opens this quarter
    dashboard = team.team_dashboard(actor=cast.manager, period=Q4_2026, now=now)
    # Then Q3 counts from 1 July 00:00 to 24 August 22:00 in New York
    assert dashboard.comparison.end == at(2026, 8, 25, 2)
    assert dashboard.comparison.label == "Q3 FY2026 to 24 Aug"
    previous = rows_by_name(dashboard)["Alice East"].previous
    assert (previous.won, previous.won_revenue) == (3, Decimal("1110.00"))


@pytest.mark.django_db
def test_the_same_point_of_a_shorter_month_is_its_last_day(cast):
    march = Period("month", D(2026, 3, 1))
    end = team.comparison_end(march, at(2026, 3, 31, 18), "UTC")
    assert end == at(2026, 2, 28, 18)
    assert team.comparison_end(march, at(2026, 4, 1), "UTC") is None  # over
    assert team.comparison_end(march, at(2026, 2, 28), "UTC") is None  # not begun


@pytest.mark.django_db
def test_early_in_the_month_the_days_before_the_point_are_read(cast, summer):
    # 5 November: Q3 up to 5 August 10:00, July from the rollups and 1 to 5 August from the
    # deals and activities (the shorter side of the point).
    dashboard = team.team_dashboard(actor=cast.manager, period=Q4_2026, now=at(2026, 11, 5, 10))
    assert dashboard.comparison.label == "Q3 FY2026 to 5 Aug"
    alice = rows_by_name(dashboard)["Alice East"]
    assert alice.previous == team.PeriodFigures(
        calls=1, won=1, won_revenue=Decimal("100.00"), lost=1, new_deals=1, cycle=39 * DAY
    )
