"""The demo goals: every rep and team has goals, sized so that some are ahead, some behind."""

import datetime

import pytest

from salesdesk.accounts.models import Role, User
from salesdesk.core.demo import DemoOptions, demo_load
from salesdesk.goals.demo import demo_goals
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import Period
from salesdesk.goals.selectors import goal_progress

pytestmark = pytest.mark.django_db

ANCHOR = datetime.date(2025, 5, 20)  # half way through Q2
NOW = datetime.datetime(2025, 5, 20, 17, tzinfo=datetime.UTC)
QUARTER = Period("quarter", datetime.date(2025, 4, 1))


@pytest.fixture
def demo(db):
    summary, _ = demo_load(
        options=DemoOptions(users=8, deals=300, anchor=ANCHOR), password="a demo password"
    )
    return summary.goals


def test_every_rep_and_team_gets_goals_and_a_second_run_adds_none(demo):
    reps = list(User.objects.filter(role=Role.REP))
    teams = {rep.team_id for rep in reps}

    assert demo == Goal.objects.count() == 3 * len(reps) + 3 * len(teams) == 18
    for rep in reps:
        assert sorted(rep.goals.values_list("period_kind", "metric")) == [
            ("quarter", "activities"),
            ("quarter", "won_revenue"),
            ("year", "won_revenue"),
        ]
    assert not Goal.objects.filter(team__isnull=False, target__isnull=False).exists()
    assert demo_goals(anchor=ANCHOR) == 0


def test_one_recent_hire_ramps(demo):
    ramped = Goal.objects.exclude(ramp=[])
    newest = User.objects.filter(role=Role.REP).order_by("-date_joined", "-pk").first()

    assert {goal.user for goal in ramped} == {newest}
    assert {(tuple(goal.ramp), goal.ramp_start) for goal in ramped} == {
        ((25, 50, 75), datetime.date(2025, 3, 1))
    }


def test_some_reps_are_ahead_and_some_behind(demo):
    admin = User.objects.get(role=Role.ADMIN)
    progress = goal_progress(actor=admin, period=QUARTER, now=NOW, metric="won_revenue")
    reps = [item for item in progress if item.goal.user_id]
    teams = [item for item in progress if item.goal.team_id]

    assert {item.on_track for item in reps} == {True, False}
    assert all(item.target > 0 and item.achieved > 0 for item in reps)
    assert sum(item.target for item in teams) == sum(item.target for item in reps)
