"""Weekly forecast snapshots: what each method said, per scope, and later what was won."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from salesdesk.goals import backtest, forecast, snapshots, tasks
from salesdesk.goals.models import ForecastSnapshot
from salesdesk.goals.periods import Period
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
D = datetime.date
DAY = datetime.timedelta(days=1)
NOW = datetime.datetime(2026, 3, 9, 5, tzinfo=UTC)  # a Monday, 05:00
MARCH = Period("month", D(2026, 3, 1))
Q1 = Period("quarter", D(2026, 1, 1))
Scope, Method = ForecastSnapshot.Scope, ForecastSnapshot.Method


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def make(stage, owner, amount, **fields) -> Deal:
    fields.setdefault("created_at", at(2026, 1, 5))
    deal = DealFactory(
        stage=stage, owner=owner, amount=Decimal(amount), amount_base=Decimal(amount), **fields
    )
    StageChange.objects.create(deal=deal, to_stage=stage, at=fields["created_at"])
    return deal


THIS_WEEK = D(2026, 3, 9)


def value(period: Period, method: str, scope: str, scope_id: int = 0, week=THIS_WEEK):
    return ForecastSnapshot.objects.get(
        week=week,
        period_kind=period.kind,
        period_start=period.start,
        method=method,
        scope=scope,
        scope_id=scope_id,
    )


@pytest.fixture
def deals(cast, pipeline):
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    return {
        "alice": make(
            stages["Negotiation"],
            cast.alice,
            "1000",
            expected_close=D(2026, 3, 20),
            forecast_category=Deal.ForecastCategory.COMMIT,
        ),
        "bob": make(stages["Lead"], cast.bob, "2000", expected_close=D(2026, 4, 10)),
        "carol": make(stages["Proposal"], cast.carol, "800", expected_close=D(2026, 3, 25)),
        "shared": make(stages["Proposal"], None, "500", expected_close=D(2026, 3, 30)),
        "won": make(
            stages["Proposal"],
            cast.alice,
            "300",
            status=Deal.Status.WON,
            closed_at=at(2026, 3, 2),
            expected_close=D(2026, 3, 2),
        ),
    }


def test_a_snapshot_stores_every_period_method_and_scope(cast, deals):
    added = snapshots.snapshot_take(now=NOW)

    # The organization, teams East and West, reps Alice, Bob and Carol; five periods (March,
    # April, May, Q1, Q2) and five methods each.
    assert added == 6 * 5 * 5 == ForecastSnapshot.objects.count()
    assert value(MARCH, Method.WEIGHTED, Scope.ORGANIZATION).value == Decimal("1700.00")
    assert value(MARCH, Method.COMMIT, Scope.ORGANIZATION).value == Decimal("1300.00")
    assert value(MARCH, Method.BEST_CASE, Scope.TEAM, cast.alice.team_id).value == Decimal(
        "1300.00"
    )
    assert value(MARCH, Method.BEST_CASE, Scope.REP, cast.carol.pk).value == Decimal("800.00")
    assert value(MARCH, Method.BEST_CASE, Scope.REP, cast.bob.pk).value == Decimal("0.00")
    rows = forecast.forecast(actor=cast.admin, periods=[MARCH, Q1], now=NOW)
    for row in rows:
        for method in forecast.METHODS:
            stored = value(row.period, method, Scope.ORGANIZATION)
            assert stored.value == row.value(method)
            assert stored.actual is None
            assert not stored.is_backfilled


def test_a_second_run_in_the_same_week_changes_nothing(cast, deals):
    snapshots.snapshot_take(now=NOW)
    first = {
        (row.period_start, row.method, row.scope, row.scope_id): (row.value, row.taken_at)
        for row in ForecastSnapshot.objects.all()
    }
    deals["carol"].amount_base = Decimal("9999")
    deals["carol"].save()

    added = snapshots.snapshot_take(now=NOW + 2 * DAY)

    assert added == 0
    assert {
        (row.period_start, row.method, row.scope, row.scope_id): (row.value, row.taken_at)
        for row in ForecastSnapshot.objects.all()
    } == first
    assert snapshots.snapshot_take(now=NOW + 7 * DAY) == 150  # next week: new rows


def test_actuals_are_written_once_a_period_is_over(cast, deals):
    snapshots.snapshot_take(now=NOW)
    carol = deals["carol"]
    carol.status, carol.closed_at = Deal.Status.WON, at(2026, 3, 20)
    carol.save()

    assert snapshots.snapshot_actuals_fill(now=at(2026, 3, 31, 23)) == 0  # not over yet
    assert snapshots.snapshot_actuals_fill(now=at(2026, 4, 2)) == 2  # March and Q1

    assert value(MARCH, Method.HISTORICAL, Scope.ORGANIZATION).actual == Decimal("1100.00")
    assert value(MARCH, Method.WEIGHTED, Scope.TEAM, cast.alice.team_id).actual == Decimal("300.00")
    assert value(Q1, Method.COMMIT, Scope.TEAM, cast.carol.team_id).actual == Decimal("800.00")
    assert value(MARCH, Method.COMMIT, Scope.REP, cast.bob.pk).actual == Decimal("0.00")
    assert value(MARCH, Method.COMMIT, Scope.REP, cast.alice.pk).actual == Decimal("300.00")
    april = ForecastSnapshot.objects.filter(period_start=D(2026, 4, 1))
    assert not april.filter(actual__isnull=False).exists()


def test_backfill_replays_past_weeks_from_history(cast, pipeline, deals, monkeypatch):
    monkeypatch.setattr(backtest, "MIN_WON_BEFORE", 1)
    monkeypatch.setattr(snapshots, "MIN_WON_BEFORE", 1)
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    # Won on 3 February: the first week with history to measure is the next one.
    make(
        stages["Proposal"],
        cast.bob,
        "50",
        status=Deal.Status.WON,
        closed_at=at(2026, 2, 3),
        expected_close=D(2026, 2, 3),
    )
    make(
        stages["Proposal"],
        cast.carol,
        "70",
        created_at=at(2026, 2, 20),
        expected_close=D(2026, 3, 15),
    )

    stored = snapshots.snapshot_backfill(since=D(2026, 2, 1), now=NOW)

    # Weeks of 9, 16 and 23 February and 2 March (this week is the live job's).
    assert (stored.weeks, stored.rows) == (4, 4 * 150)
    assert set(ForecastSnapshot.objects.values_list("week", flat=True)) == {
        D(2026, 2, 9),
        D(2026, 2, 16),
        D(2026, 2, 23),
        D(2026, 3, 2),
    }
    assert not ForecastSnapshot.objects.filter(is_backfilled=False).exists()
    carol_march = {
        week: value(MARCH, Method.BEST_CASE, Scope.REP, cast.carol.pk, week=week).value
        for week in (D(2026, 2, 16), D(2026, 2, 23))
    }
    # Carol's deal created on 20 February is not in the week before.
    assert carol_march == {D(2026, 2, 16): Decimal("800.00"), D(2026, 2, 23): Decimal("870.00")}
    # The 300 won on 2 March was open on 23 February, expected on 2 March.
    feb_23 = value(MARCH, Method.BEST_CASE, Scope.REP, cast.alice.pk, week=D(2026, 2, 23))
    assert feb_23.value == Decimal("1300.00")
    # Negotiation's open deals are mostly commit today: replayed weeks count them as commit.
    assert value(MARCH, Method.COMMIT, Scope.ORGANIZATION, week=D(2026, 2, 23)).value == Decimal(
        "1000.00"
    )
    # February is over: its actuals are in.
    february = value(
        Period("month", D(2026, 2, 1)), Method.WEIGHTED, Scope.ORGANIZATION, week=D(2026, 2, 9)
    )
    assert february.actual == Decimal("50.00")
    assert snapshots.snapshot_backfill(since=D(2026, 2, 1), now=NOW).rows == 0


def test_the_weekly_task_takes_this_weeks_snapshot_once(cast, deals):
    week = snapshots.week_of(timezone.now(), "UTC")

    tasks.forecast_snapshot_weekly.call_local()
    tasks.forecast_snapshot_weekly.call_local()

    assert ForecastSnapshot.objects.filter(week=week).count() == 150
    assert ForecastSnapshot.objects.count() == 150
