"""Goal progress and derived targets against hand-computed fixtures.

Unless a test says otherwise: reporting time zone UTC, fiscal year from January, period Q1 2026
(1 January to 1 April: 90 days) seen on 15 February 00:00 UTC, half way (45 days, 45/7 weeks
left).
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesdesk.accounts.models import OrganizationSettings, User
from salesdesk.activities.models import Activity
from salesdesk.goals import selectors
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import Period
from salesdesk.goals.selectors import goal_progress, target_total, target_totals
from salesdesk.pipeline.models import Deal
from tests.factories import (
    ActivityFactory,
    DealFactory,
    GoalFactory,
    LostReasonFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
D = datetime.date
Q1 = Period("quarter", D(2026, 1, 1))
HALF_WAY = datetime.datetime(2026, 2, 15, tzinfo=UTC)


def at(*args, tz=UTC) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=tz)


def won(stage, owner, amount, closed_at, **kwargs) -> Deal:
    return DealFactory(
        stage=stage,
        owner=owner,
        amount=Decimal(amount),
        status=Deal.Status.WON,
        closed_at=closed_at,
        **kwargs,
    )


def open_deal(stage, owner, amount, expected_close, **kwargs) -> Deal:
    return DealFactory(
        stage=stage, owner=owner, amount=Decimal(amount), expected_close=expected_close, **kwargs
    )


def by_goal(progress) -> dict:
    return {item.goal.pk: item for item in progress}


@pytest.fixture(params=["owners filtered", "every owner read"])
def owner_filter(request, monkeypatch):
    """Goal figures read the rollups of the goals' owners, or of every owner past
    OWNER_FILTER_LIMIT of them: both give the same figures."""
    if request.param == "every owner read":
        monkeypatch.setattr(selectors, "OWNER_FILTER_LIMIT", 0)
    return request.param


@pytest.fixture
def stages(pipeline) -> dict:
    return {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def alices_quarter(cast, stages):
    """Alice: won 3000 + 1000 in Q1; open 4000 at 50% and 2000 at 75% expected in Q1."""
    won(stages["Lead"], cast.alice, "3000", at(2026, 1, 10))
    won(stages["Lead"], cast.alice, "1000", at(2026, 2, 1))
    won(stages["Lead"], cast.alice, "500", at(2025, 12, 31, 23, 59))  # Q4 2025: out
    DealFactory(
        stage=stages["Lead"],
        owner=cast.alice,
        amount=Decimal("2000"),
        status=Deal.Status.LOST,
        closed_at=at(2026, 1, 20),
        lost_reason=LostReasonFactory(name="Price"),
    )
    open_deal(stages["Proposal"], cast.alice, "4000", D(2026, 3, 15))
    open_deal(stages["Negotiation"], cast.alice, "2000", D(2026, 3, 31))
    open_deal(stages["Lead"], cast.alice, "8000", D(2026, 4, 1))  # expected in Q2: out


def test_a_reps_revenue_goal_shows_achieved_expected_gap_pace_and_coverage(
    cast, alices_quarter, owner_filter
):
    goal = GoalFactory(user=cast.alice, target=Decimal("10000"))

    [progress] = goal_progress(actor=cast.alice, period=Q1, now=HALF_WAY)

    assert progress.goal == goal
    assert progress.target == Decimal("10000.00")
    assert progress.achieved == Decimal("4000.00")
    assert progress.expected == Decimal("3500.00")  # 4000 x 50% + 2000 x 75%
    assert progress.best_case == Decimal("6000.00")
    assert progress.gap == Decimal("6000.00")
    assert progress.pace_per_week == Decimal("933.33")  # 6000 / (45 / 7)
    assert progress.elapsed_share == 0.5
    assert progress.on_track is False  # 4000 < 10000 x 0.5
    assert progress.status == "behind"
    assert progress.attainment == 0.4
    assert progress.coverage == Decimal("1.00")  # 6000 open / 6000 to go
    assert progress.coverage_ok is False  # under the default 3x


def test_a_deals_won_goal_counts_deals_and_weighs_them_by_probability(
    cast, alices_quarter, owner_filter
):
    GoalFactory(user=cast.alice, metric=Goal.Metric.DEALS_WON, target=Decimal("5"))

    [progress] = goal_progress(actor=cast.admin, period=Q1, now=HALF_WAY)

    assert progress.achieved == Decimal("2.00")
    assert progress.expected == Decimal("1.25")  # 50% + 75%
    assert progress.best_case == Decimal("2.00")
    assert progress.gap == Decimal("3.00")
    assert progress.pace_per_week == Decimal("0.47")  # 3 / (45 / 7)
    assert progress.coverage == Decimal("0.67")
    assert progress.on_track is False


def test_on_track_when_achieved_equals_the_elapsed_share_of_the_target(cast, alices_quarter):
    GoalFactory(user=cast.alice, target=Decimal("8000"))

    [progress] = goal_progress(actor=cast.alice, period=Q1, now=HALF_WAY)

    assert progress.on_track is True  # 4000 >= 8000 x 0.5
    assert progress.status == "on_track"


def test_coverage_warns_under_the_ratio_the_organization_sets(cast, alices_quarter):
    GoalFactory(user=cast.alice, target=Decimal("10000"))
    OrganizationSettings.objects.filter(pk=1).update(pipeline_coverage_target=Decimal("1.0"))

    [progress] = goal_progress(actor=cast.alice, period=Q1, now=HALF_WAY)

    assert progress.coverage == Decimal("1.00")
    assert progress.coverage_ok is True


def test_a_reached_goal_has_no_gap_no_pace_and_no_coverage(cast, alices_quarter):
    GoalFactory(user=cast.alice, target=Decimal("3000"))

    [progress] = goal_progress(actor=cast.alice, period=Q1, now=HALF_WAY)

    assert progress.gap == Decimal("0")
    assert progress.pace_per_week == Decimal("0.00")
    assert progress.coverage is None
    assert progress.coverage_ok is True
    assert progress.attainment == pytest.approx(4000 / 3000)
    assert progress.status == "reached"


def test_in_the_last_days_the_pace_is_the_whole_gap_and_after_the_end_nothing_is_expected(
    cast, alices_quarter
):
    GoalFactory(user=cast.alice, target=Decimal("10000"))

    [last_days] = goal_progress(actor=cast.alice, period=Q1, now=at(2026, 3, 29))
    [after] = goal_progress(actor=cast.alice, period=Q1, now=at(2026, 4, 2))

    assert last_days.pace_per_week == Decimal("6000.00")  # 3 days left count as a week
    assert last_days.expected == Decimal("3500.00")
    assert after.pace_per_week == Decimal("6000.00")
    assert after.expected == Decimal("0")
    assert after.best_case == Decimal("0")
    assert after.elapsed_share == 1.0
    assert after.status == "missed"


def test_before_the_period_starts_the_pace_spreads_the_target_over_all_its_weeks(cast):
    GoalFactory(user=cast.alice, target=Decimal("9000"))

    [progress] = goal_progress(actor=cast.alice, period=Q1, now=at(2025, 12, 1))

    assert progress.elapsed_share == 0.0
    assert progress.on_track is True
    assert progress.status == "not_started"
    assert progress.pace_per_week == Decimal("700.00")  # 9000 / (90 / 7)


def test_a_ramp_lowers_the_target_by_the_months_of_the_period(cast):
    # Jan: not yet hired (0), Feb 25%, Mar 50%: 75 / 300 of the full 30 000.
    GoalFactory(user=cast.bob, target=Decimal("30000"), ramp=[25, 50, 75], ramp_start=D(2026, 2, 1))

    [progress] = goal_progress(actor=cast.bob, period=Q1, now=HALF_WAY)

    assert progress.target == Decimal("7500.00")
    assert progress.gap == Decimal("7500.00")


def test_a_team_goal_without_target_adds_up_its_active_members_goals(cast, stages, owner_filter):
    east = cast.alice.team
    team_goal = GoalFactory(team=east, target=None)
    alice_goal = GoalFactory(user=cast.alice, target=Decimal("10000"))
    bob_goal = GoalFactory(
        user=cast.bob, target=Decimal("30000"), ramp=[25, 50, 75], ramp_start=D(2026, 2, 1)
    )
    GoalFactory(user=cast.carol, target=Decimal("99999"))  # West
    GoalFactory(user=cast.alice, metric=Goal.Metric.DEALS_WON, target=Decimal("7"))
    won(stages["Lead"], cast.alice, "4000", at(2026, 1, 10))
    won(stages["Lead"], cast.bob, "1500", at(2026, 2, 3))
    won(stages["Lead"], cast.carol, "999", at(2026, 2, 3))
    cast.bob.is_active = False
    cast.bob.save()

    progress = by_goal(goal_progress(actor=cast.manager, period=Q1, now=HALF_WAY))
    team = progress[team_goal.pk]

    assert team.is_sum is True
    assert team.target == Decimal("10000.00")  # Bob is deactivated: his 7500 does not count
    assert team.achieved == Decimal("5500.00")  # his won deals still do
    assert [m.goal for m in team.members] == [alice_goal, bob_goal]  # active members first
    assert [m.target for m in team.members] == [Decimal("10000.00"), Decimal("7500.00")]
    assert [m.achieved for m in team.members] == [Decimal("4000.00"), Decimal("1500.00")]


def test_a_team_goal_with_a_target_keeps_it(cast):
    team_goal = GoalFactory(team=cast.alice.team, target=Decimal("50000"))
    GoalFactory(user=cast.alice, target=Decimal("10000"))

    progress = by_goal(goal_progress(actor=cast.alice, period=Q1, now=HALF_WAY))

    assert progress[team_goal.pk].target == Decimal("50000.00")
    assert progress[team_goal.pk].is_sum is False


def test_a_reopened_deal_is_not_achieved_but_expected(cast, stages):
    GoalFactory(user=cast.alice, target=Decimal("10000"))
    deal = won(stages["Proposal"], cast.alice, "4000", at(2026, 2, 1))
    deal.status, deal.closed_at, deal.expected_close = Deal.Status.OPEN, None, D(2026, 3, 20)
    deal.save()

    [progress] = goal_progress(actor=cast.alice, period=Q1, now=HALF_WAY)

    assert progress.achieved == Decimal("0.00")
    assert progress.expected == Decimal("2000.00")
    assert progress.best_case == Decimal("4000.00")


def test_a_reassigned_deal_counts_for_its_new_owner_and_team(cast, stages, owner_filter):
    alice_goal = GoalFactory(user=cast.alice, target=Decimal("10000"))
    carol_goal = GoalFactory(user=cast.carol, target=Decimal("10000"))
    west_goal = GoalFactory(team=cast.carol.team, target=None)
    east_goal = GoalFactory(team=cast.alice.team, target=None)
    deal = won(stages["Lead"], cast.alice, "2500", at(2026, 1, 5))
    deal.owner = cast.carol
    deal.save()

    progress = by_goal(goal_progress(actor=cast.admin, period=Q1, now=HALF_WAY))

    assert progress[alice_goal.pk].achieved == Decimal("0.00")
    assert progress[east_goal.pk].achieved == Decimal("0.00")
    assert progress[carol_goal.pk].achieved == Decimal("2500.00")
    assert progress[west_goal.pk].achieved == Decimal("2500.00")


def test_everyone_sees_a_teammates_achievement_whatever_their_record_visibility(cast, stages):
    bob_goal = GoalFactory(user=cast.bob, target=Decimal("10000"))
    won(stages["Lead"], cast.bob, "2000", at(2026, 1, 5))

    progress = by_goal(goal_progress(actor=cast.alice, period=Q1, now=HALF_WAY))

    assert progress[bob_goal.pk].achieved == Decimal("2000.00")  # Alice cannot open the deal


def test_who_sees_which_goals(cast):
    goals = {
        "alice": GoalFactory(user=cast.alice),
        "bob": GoalFactory(user=cast.bob),
        "carol": GoalFactory(user=cast.carol),
        "outsider": GoalFactory(user=cast.outsider),
        "east": GoalFactory(team=cast.alice.team, target=None),
        "west": GoalFactory(team=cast.carol.team, target=None),
    }
    other_quarter = GoalFactory(user=cast.alice, period_start=D(2026, 4, 1))

    def seen(user) -> set[str]:
        ids = {p.goal.pk for p in goal_progress(actor=user, period=Q1, now=HALF_WAY)}
        return {name for name, goal in goals.items() if goal.pk in ids}

    assert seen(cast.admin) == set(goals)
    assert seen(cast.manager) == {"alice", "bob", "east"}
    assert seen(cast.alice) == {"alice", "bob", "east"}
    assert seen(cast.carol) == {"carol", "west"}
    assert seen(cast.outsider) == {"outsider"}
    assert other_quarter.pk not in {p.goal.pk for p in goal_progress(actor=cast.admin, period=Q1)}


def test_a_manager_sees_the_goals_of_every_team_they_manage(cast):
    north = TeamFactory(name="North", manager=cast.manager)
    nora = UserFactory(team=north)
    goal = GoalFactory(user=nora)

    assert [p.goal for p in goal_progress(actor=cast.manager, period=Q1, user_ids=[nora.pk])] == [
        goal
    ]
    assert goal_progress(actor=cast.alice, period=Q1, user_ids=[nora.pk]) == []


def test_filters_by_user_team_and_metric(cast):
    alice = GoalFactory(user=cast.alice)
    alice_deals = GoalFactory(user=cast.alice, metric=Goal.Metric.DEALS_WON, target=Decimal(3))
    east = GoalFactory(team=cast.alice.team, target=None)
    GoalFactory(user=cast.bob)

    def goals(**filters):
        return [p.goal for p in goal_progress(actor=cast.admin, period=Q1, **filters)]

    assert goals(user_ids=[cast.alice.pk]) == [alice_deals, alice]  # by metric
    assert set(goals(user_ids=[cast.alice.pk], metric="deals_won")) == {alice_deals}
    assert goals(team_ids=[cast.alice.team_id]) == [east]


def test_activities_and_new_deals_goals(cast, stages, owner_filter):
    calls = GoalFactory(
        user=cast.alice, metric=Goal.Metric.ACTIVITIES, activity_kind="call", target=Decimal(10)
    )
    everything = GoalFactory(user=cast.alice, metric=Goal.Metric.ACTIVITIES, target=Decimal(10))
    east = GoalFactory(team=cast.alice.team, metric=Goal.Metric.ACTIVITIES, target=Decimal(20))
    new_deals = GoalFactory(user=cast.alice, metric=Goal.Metric.NEW_DEALS, target=Decimal(4))
    ActivityFactory(owner=cast.alice, kind=Activity.Kind.CALL, occurred_at=at(2026, 1, 2))
    ActivityFactory(owner=cast.alice, kind=Activity.Kind.CALL, occurred_at=at(2026, 3, 2))
    ActivityFactory(owner=cast.alice, kind=Activity.Kind.EMAIL, occurred_at=at(2026, 3, 2))
    ActivityFactory(owner=cast.alice, kind=Activity.Kind.TASK, occurred_at=at(2026, 1, 3))
    ActivityFactory(
        owner=cast.alice,
        kind=Activity.Kind.TASK,
        occurred_at=at(2025, 12, 1),
        done_at=at(2026, 1, 9),
    )
    ActivityFactory(owner=cast.bob, kind=Activity.Kind.CALL, occurred_at=at(2026, 1, 2))
    ActivityFactory(owner=cast.carol, kind=Activity.Kind.CALL, occurred_at=at(2026, 1, 2))  # West
    ActivityFactory(owner=cast.alice, kind=Activity.Kind.CALL, occurred_at=at(2026, 4, 2))
    DealFactory(stage=stages["Lead"], owner=cast.alice, created_at=at(2026, 1, 15))
    DealFactory(stage=stages["Lead"], owner=cast.alice, created_at=at(2025, 12, 15))

    progress = by_goal(goal_progress(actor=cast.alice, period=Q1, now=HALF_WAY))

    assert progress[calls.pk].achieved == Decimal("2.00")
    assert progress[everything.pk].achieved == Decimal("4.00")  # 2 calls, 1 email, 1 done task
    assert progress[east.pk].achieved == Decimal("5.00")  # and Bob's call
    assert progress[calls.pk].expected is None
    assert progress[calls.pk].coverage is None
    assert progress[new_deals.pk].achieved == Decimal("1.00")
    assert progress[new_deals.pk].best_case is None


def test_a_fiscal_year_starting_in_april(cast, stages):
    OrganizationSettings.objects.filter(pk=1).update(fiscal_year_start_month=4)
    year = Period("year", D(2026, 4, 1), 4)
    goal = GoalFactory(user=cast.alice, period_kind="year", period_start=D(2026, 4, 1))
    won(stages["Lead"], cast.alice, "100", at(2026, 3, 31, 23, 59))  # FY2025/26
    won(stages["Lead"], cast.alice, "200", at(2026, 4, 1))
    won(stages["Lead"], cast.alice, "400", at(2027, 3, 31, 23, 59))
    won(stages["Lead"], cast.alice, "800", at(2027, 4, 1))  # FY2027/28

    [progress] = goal_progress(actor=cast.alice, period=year, now=at(2026, 10, 1))

    assert progress.goal == goal
    assert progress.period.label == "FY2026/27"
    assert progress.achieved == Decimal("600.00")
    assert progress.elapsed_share == 183 / 365  # 1 April to 1 October


def test_periods_start_at_midnight_in_the_reporting_time_zone(cast, stages):
    OrganizationSettings.objects.filter(pk=1).update(timezone="America/New_York")
    GoalFactory(user=cast.alice, target=Decimal("1000"))
    won(stages["Lead"], cast.alice, "1", at(2026, 1, 1, 4, 59))  # 31 Dec 23:59 in New York
    won(stages["Lead"], cast.alice, "2", at(2026, 1, 1, 5, 0))  # 1 Jan 00:00
    won(stages["Lead"], cast.alice, "4", at(2026, 4, 1, 3, 59))  # 31 Mar 23:59 (EDT)
    won(stages["Lead"], cast.alice, "8", at(2026, 4, 1, 4, 0))  # 1 Apr 00:00
    open_deal(stages["Proposal"], cast.alice, "100", D(2026, 3, 31))
    open_deal(stages["Proposal"], cast.alice, "200", D(2026, 4, 1))

    [progress] = goal_progress(actor=cast.alice, period=Q1, now=at(2026, 4, 1, 3, 0))

    assert progress.achieved == Decimal("6.00")
    assert progress.expected == Decimal("50.00")
    assert progress.is_over is False  # still 31 March in New York
    assert progress.pace_per_week == Decimal("994.00")  # under a week left: the whole gap


def test_the_number_of_queries_does_not_grow_with_the_goals(cast, stages):
    def count_queries() -> int:
        manager = User.objects.get(pk=cast.manager.pk)  # nothing cached on it
        with CaptureQueriesContext(connection) as captured:
            goal_progress(actor=manager, period=Q1, now=HALF_WAY)
        return len(captured)

    GoalFactory(team=cast.alice.team, target=None)
    GoalFactory(user=cast.alice)
    GoalFactory(user=cast.alice, metric=Goal.Metric.ACTIVITIES, target=Decimal(5))
    GoalFactory(user=cast.alice, metric=Goal.Metric.NEW_DEALS, target=Decimal(5))
    few = count_queries()
    for n in range(8):
        rep = UserFactory(team=cast.alice.team)
        GoalFactory(user=rep, target=Decimal(1000 + n))
        GoalFactory(user=rep, metric=Goal.Metric.DEALS_WON, target=Decimal(3))
        GoalFactory(user=rep, metric=Goal.Metric.ACTIVITIES, activity_kind="call", target=5)
        won(stages["Lead"], rep, "100", at(2026, 1, 5))
    GoalFactory(team=cast.alice.team, metric=Goal.Metric.ACTIVITIES, target=None)

    many = count_queries()

    # Settings, managed teams, goals, members' goals, won, expected, created, activities.
    assert few == many == 8


def test_target_total_takes_the_goal_of_the_period_then_shares_of_longer_ones(cast):
    GoalFactory(user=cast.alice, period_kind="year", target=Decimal("120000"))
    GoalFactory(user=cast.alice, period_kind="quarter", target=Decimal("36000"))

    def total(period):
        return target_total(actor=cast.alice, period=period, user_id=cast.alice.pk)

    assert total(Period("year", D(2026, 1, 1))) == Decimal("120000.00")
    assert total(Q1) == Decimal("36000.00")
    assert total(Period("month", D(2026, 2, 1))) == Decimal("12000.00")  # the quarter / 3
    assert total(Period("month", D(2026, 5, 1))) == Decimal("10000.00")  # the year / 12
    assert total(Period("quarter", D(2026, 7, 1))) == Decimal("30000.00")  # the year / 4
    assert total(Period("quarter", D(2027, 1, 1))) is None


def test_target_total_adds_up_shorter_goals(cast):
    for month, amount in ((1, "1000"), (2, "2000"), (3, "3000"), (5, "500")):
        GoalFactory(
            user=cast.bob, period_kind="month", period_start=D(2026, month, 1), target=amount
        )

    def total(period):
        return target_total(actor=cast.manager, period=period, user_id=cast.bob.pk)

    assert total(Q1) == Decimal("6000.00")
    assert total(Period("year", D(2026, 1, 1))) == Decimal("6500.00")  # the months set
    assert total(Period("quarter", D(2026, 7, 1))) is None


def test_target_total_applies_the_ramp_month_by_month(cast):
    GoalFactory(
        user=cast.carol,
        period_kind="year",
        target=Decimal("120000"),
        ramp=[50],
        ramp_start=D(2026, 1, 1),
    )

    def total(period):
        return target_total(actor=cast.admin, period=period, user_id=cast.carol.pk)

    assert total(Period("month", D(2026, 1, 1))) == Decimal("5000.00")
    assert total(Q1) == Decimal("25000.00")  # (50 + 100 + 100) / 300 of a quarter's 30 000
    assert total(Period("year", D(2026, 1, 1))) == Decimal("115000.00")


def test_target_total_of_a_team_and_of_the_organization(cast):
    GoalFactory(user=cast.alice, period_kind="year", target=Decimal("120000"))
    GoalFactory(user=cast.bob, target=Decimal("6000"))  # Q1
    GoalFactory(team=cast.alice.team, target=None)  # Q1: the members' sum
    GoalFactory(team=cast.carol.team, period_kind="year", target=Decimal("400000"))
    GoalFactory(user=cast.carol, target=Decimal("1"))  # the West team's own target wins
    GoalFactory(user=cast.outsider, target=Decimal("500"))  # no team

    def total(period, **owner):
        return target_total(actor=cast.admin, period=period, **owner)

    east, west = cast.alice.team_id, cast.carol.team_id
    assert total(Q1, team_id=east) == Decimal("36000.00")  # 120 000 / 4 + 6000
    assert total(Period("month", D(2026, 1, 1)), team_id=east) == Decimal("12000.00")
    assert total(Q1, team_id=west) == Decimal("100000.00")
    assert total(Q1) == Decimal("136500.00")  # East, West and the outsider
    cast.bob.is_active = False
    cast.bob.save()
    assert total(Q1, team_id=east) == Decimal("30000.00")
    assert total(Q1, user_id=cast.bob.pk) == Decimal("6000.00")


def test_target_total_only_counts_goals_the_actor_sees(cast):
    GoalFactory(user=cast.alice, target=Decimal("1000"))
    GoalFactory(user=cast.carol, target=Decimal("2000"))

    assert target_total(actor=cast.carol, period=Q1) == Decimal("2000.00")
    assert target_total(actor=cast.alice, period=Q1) == Decimal("1000.00")
    assert target_total(actor=cast.alice, period=Q1, user_id=cast.carol.pk) is None
    assert target_total(actor=cast.admin, period=Q1) == Decimal("3000.00")


def test_target_totals_of_a_year_of_months_take_one_query(cast, django_assert_num_queries):
    GoalFactory(user=cast.alice, period_kind="year", target=Decimal("120000"))
    GoalFactory(team=cast.alice.team, period_kind="quarter", target=Decimal("60000"))
    months = [Period("month", D(2026, 1, 1)).shifted(n) for n in range(12)]

    with django_assert_num_queries(2):  # the manager's teams, the goals
        totals = target_totals(actor=cast.manager, periods=months)

    assert totals[months[0]] == Decimal("20000.00")  # the team's Q1 / 3
    assert totals[months[4]] == Decimal("10000.00")  # Alice's year / 12
