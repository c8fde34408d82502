"""The deal and activity sets every figure counts from, against hand-computed fixtures."""

import datetime
from decimal import Decimal

import pytest

from salesdesk.activities.models import Activity
from salesdesk.analytics import metrics
from salesdesk.goals.periods import Period
from salesdesk.pipeline.models import Deal
from tests.factories import ActivityFactory, DealFactory, LostReasonFactory

UTC = datetime.UTC
D = datetime.date


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def won(stage, owner, amount, closed_at, **kwargs):
    return DealFactory(
        stage=stage,
        owner=owner,
        amount=Decimal(amount),
        status=Deal.Status.WON,
        closed_at=closed_at,
        **kwargs,
    )


@pytest.fixture
def march(cast):
    return metrics.Slice.for_period(cast.admin, Period("month", D(2026, 3, 1)), tz="Europe/Berlin")


@pytest.mark.django_db
def test_won_counts_closings_inside_the_period_in_the_reporting_time_zone(cast, pipeline, march):
    stage = pipeline.stages.first()
    won(stage, cast.alice, "100", at(2026, 2, 28, 23, 30))  # 1 March 00:30 in Berlin: in
    won(stage, cast.alice, "200", at(2026, 3, 31, 21, 59))  # 23:59 in Berlin: in
    won(stage, cast.alice, "400", at(2026, 3, 31, 22, 0))  # 1 April in Berlin: out
    won(stage, cast.bob, "800", at(2026, 2, 28, 22, 59))  # 28 Feb in Berlin: out
    assert metrics.totals(metrics.won(march)) == metrics.Totals(
        2, Decimal("300.00"), Decimal("30.00")
    )


@pytest.mark.django_db
def test_reopened_deal_counts_as_open_and_reassigned_deal_counts_for_its_new_owner(
    cast, pipeline, march
):
    stage = pipeline.stages.get(name="Proposal")
    reopened = won(stage, cast.alice, "500", at(2026, 3, 10))
    reopened.status, reopened.closed_at = Deal.Status.OPEN, None
    reopened.expected_close = D(2026, 3, 20)
    reopened.save()
    moved = won(stage, cast.alice, "700", at(2026, 3, 11))
    moved.owner = cast.bob
    moved.save()
    assert list(metrics.won(march)) == [moved]
    assert metrics.totals_by(metrics.won(march), "owner_id") == {
        cast.bob.id: metrics.Totals(1, Decimal("700.00"), Decimal("350.00"))
    }
    assert list(metrics.expected(march)) == [reopened]


@pytest.mark.django_db
def test_deactivated_reps_deals_still_count_for_their_team(cast, pipeline, march):
    stage = pipeline.stages.first()
    won(stage, cast.bob, "250", at(2026, 3, 5))
    won(stage, cast.carol, "999", at(2026, 3, 5))
    cast.bob.is_active = False
    cast.bob.save()
    east = metrics.Slice.for_period(
        cast.manager, Period("month", D(2026, 3, 1)), tz="UTC", team_id=cast.bob.team_id
    )
    assert metrics.totals(metrics.won(east)).amount == Decimal("250.00")


@pytest.mark.django_db
def test_lost_and_created_and_visibility(cast, pipeline, march):
    stage = pipeline.stages.first()
    reason = LostReasonFactory(name="Price")
    DealFactory(
        stage=stage,
        owner=cast.alice,
        status=Deal.Status.LOST,
        lost_reason=reason,
        closed_at=at(2026, 3, 3),
        created_at=at(2026, 1, 1),
    )
    DealFactory(stage=stage, owner=cast.carol, created_at=at(2026, 3, 3))
    assert metrics.lost(march).count() == 1
    assert metrics.created(march).count() == 1
    alice_view = metrics.Slice.for_period(cast.alice, Period("month", D(2026, 3, 1)), tz="UTC")
    assert metrics.created(alice_view).count() == 0  # carol's deal is not hers to see


@pytest.mark.django_db
def test_activities_count_tasks_when_done(cast, march):
    ActivityFactory(owner=cast.alice, kind=Activity.Kind.CALL, occurred_at=at(2026, 3, 2))
    ActivityFactory(owner=cast.alice, kind=Activity.Kind.TASK, occurred_at=at(2026, 3, 2))
    ActivityFactory(
        owner=cast.alice,
        kind=Activity.Kind.TASK,
        occurred_at=at(2026, 1, 2),
        done_at=at(2026, 3, 9),
    )
    ActivityFactory(owner=cast.alice, kind=Activity.Kind.EMAIL, occurred_at=at(2026, 4, 2))
    assert metrics.activities(march).count() == 2
    assert metrics.activities(march, kind=Activity.Kind.TASK).count() == 1


@pytest.mark.django_db
def test_expected_uses_dates_of_the_reporting_time_zone_and_skips_closed_deals(
    cast, pipeline, march
):
    stage = pipeline.stages.get(name="Negotiation")
    DealFactory(stage=stage, owner=cast.alice, amount=Decimal("1000"), expected_close=D(2026, 3, 1))
    DealFactory(
        stage=stage, owner=cast.alice, amount=Decimal("2000"), expected_close=D(2026, 3, 31)
    )
    DealFactory(stage=stage, owner=cast.alice, amount=Decimal("4000"), expected_close=D(2026, 4, 1))
    won(stage, cast.alice, "8000", at(2026, 3, 2), expected_close=D(2026, 3, 15))
    assert metrics.totals(metrics.expected(march)) == metrics.Totals(
        2, Decimal("3000.00"), Decimal("2250.00")
    )
