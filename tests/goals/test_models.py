import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from salesdesk.goals.models import Goal
from salesdesk.goals.periods import Period
from tests.factories import GoalFactory

D = datetime.date


@pytest.mark.django_db
def test_ramp_averages_the_percent_of_each_month_of_the_period(cast):
    goal = GoalFactory(
        user=cast.alice,
        period_kind="year",
        target=Decimal("120000"),
        ramp=[25, 50, 75],
        ramp_start=D(2026, 2, 1),
    )
    goal.full_clean()
    year = Period("year", D(2026, 1, 1))
    # Jan 0 (not yet hired), Feb 25, Mar 50, Apr 75, then 8 months at 100: 950 / 1200.
    assert goal.ramp_share(year) == Decimal(950) / Decimal(1200)
    assert goal.effective_target(year) == Decimal("95000.00")
    assert goal.effective_target(Period("month", D(2026, 3, 1))) == Decimal("60000.00")
    assert goal.effective_target(Period("month", D(2026, 9, 1))) == Decimal("120000.00")


@pytest.mark.django_db
def test_a_goal_without_ramp_counts_in_full(cast):
    goal = GoalFactory(user=cast.alice, target=Decimal("1000"))
    assert goal.effective_target(Period("quarter", D(2026, 1, 1))) == Decimal("1000.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ramp": [25, 150], "ramp_start": D(2026, 1, 1)}, "ramp"),
        ({"ramp": ["25"], "ramp_start": D(2026, 1, 1)}, "ramp"),
        ({"ramp": [25, 50]}, "ramp_start"),
        ({"ramp_start": D(2026, 1, 15)}, "ramp_start"),
        ({"activity_kind": "call"}, "activity_kind"),
    ],
)
def test_bad_goals_are_refused_field_by_field(cast, changes, field):
    goal = Goal(
        user=cast.alice,
        period_kind="quarter",
        period_start=D(2026, 1, 1),
        metric="won_revenue",
        target=Decimal("10"),
        **changes,
    )
    with pytest.raises(ValidationError) as error:
        goal.full_clean()
    assert field in error.value.message_dict


@pytest.mark.django_db
def test_a_team_goal_cannot_ramp(cast):
    goal = Goal(
        team=cast.alice.team,
        period_kind="quarter",
        period_start=D(2026, 1, 1),
        metric="won_revenue",
        ramp=[50],
        ramp_start=D(2026, 1, 1),
    )
    with pytest.raises(ValidationError) as error:
        goal.full_clean()
    assert "ramp" in error.value.message_dict


@pytest.mark.django_db
def test_database_requires_exactly_one_owner_and_a_rep_target(cast):
    with pytest.raises(IntegrityError):
        GoalFactory(user=cast.alice, team=cast.alice.team)


@pytest.mark.django_db
def test_database_refuses_a_rep_goal_without_target(cast):
    with pytest.raises(IntegrityError):
        GoalFactory(user=cast.alice, target=None)


@pytest.mark.django_db
def test_one_goal_per_owner_period_and_metric(cast):
    GoalFactory(user=cast.alice)
    with pytest.raises(IntegrityError):
        GoalFactory(user=cast.alice)
