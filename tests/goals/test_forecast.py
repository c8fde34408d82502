"""The five forecasts against hand-computed fixtures."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest

from salesdesk.analytics import metrics
from salesdesk.goals import forecast
from salesdesk.goals.forecast import WinCurve, _curve, win_curves
from salesdesk.goals.periods import Period
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import DealFactory, GoalFactory, LostReasonFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
D = datetime.date
DAY = datetime.timedelta(days=1)
NOW = datetime.datetime(2026, 3, 10, tzinfo=UTC)  # a Tuesday, midnight UTC
MARCH = Period("month", D(2026, 3, 1))
APRIL = Period("month", D(2026, 4, 1))
Q1 = Period("quarter", D(2026, 1, 1))
Q2 = Period("quarter", D(2026, 4, 1))


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def make(stage, owner, amount, **fields) -> Deal:
    fields.setdefault("created_at", NOW - 100 * DAY)
    fields.setdefault("expected_close", None)
    fields.setdefault("amount_base", Decimal(amount))
    return DealFactory(stage=stage, owner=owner, amount=Decimal(amount), **fields)


def closed(stage, owner, amount, status, closed_at, **fields) -> Deal:
    if status == Deal.Status.LOST:
        fields["lost_reason"] = LostReasonFactory(name="Price")
    return make(stage, owner, amount, status=status, closed_at=closed_at, **fields)


def row_figures(row) -> tuple:
    return (row.committed, row.weighted, row.best_case, row.commit, row.historical)


@pytest.fixture
def stages(pipeline):
    return {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def berlin(org):
    org.timezone = "Europe/Berlin"
    org.save()
    return org


@pytest.fixture
def book(cast, stages, berlin):
    """Won deals around the month's edges in Berlin time, one in dollars, a reopened deal and
    open deals in and out of March; no stage history, so the historical method falls back to
    the typed probabilities."""
    S = stages
    # 1 March 00:30 in Berlin: March. Booked in dollars: 1,100 USD are 1,000 EUR.
    closed(
        S["Proposal"],
        cast.alice,
        "1100",
        Deal.Status.WON,
        at(2026, 2, 28, 23, 30),
        currency="USD",
        amount_base=Decimal("1000"),
    )
    # 28 February 23:30 in Berlin: February, still the first quarter.
    closed(S["Proposal"], cast.bob, "2000", Deal.Status.WON, at(2026, 2, 28, 22, 30))
    closed(S["Lead"], cast.alice, "9000", Deal.Status.LOST, at(2026, 3, 2))  # lost: nowhere
    reopened = closed(
        S["Proposal"], cast.alice, "400", Deal.Status.WON, at(2026, 3, 5), expected_close=None
    )
    reopened.status, reopened.closed_at, reopened.expected_close = "open", None, D(2026, 3, 20)
    reopened.save()
    make(
        S["Negotiation"],
        cast.alice,
        "1000",
        expected_close=D(2026, 3, 31),
        forecast_category=Deal.ForecastCategory.COMMIT,
    )
    make(S["Lead"], cast.bob, "2000", expected_close=D(2026, 4, 1))
    make(S["Qualified"], cast.bob, "600", expected_close=D(2026, 2, 25))  # overdue, still Q1
    make(
        S["Proposal"],
        cast.carol,
        "800",
        expected_close=D(2026, 3, 15),
        forecast_category=Deal.ForecastCategory.COMMIT,
    )


def test_committed_weighted_best_case_and_commit_by_period(cast, book):
    rows = forecast.forecast(actor=cast.admin, periods=[MARCH, APRIL, Q1, Q2], now=NOW)

    assert [row.period for row in rows] == [MARCH, APRIL, Q1, Q2]
    # March: won 1,000 (the dollar deal); open in March: reopened 400 at 50%, 1,000 at 75%
    # (commit), carol's 800 at 50% (commit).
    assert row_figures(rows[0]) == (
        Decimal("1000.00"),
        Decimal("2350.00"),  # 1000 + 200 + 750 + 400
        Decimal("3200.00"),  # 1000 + 400 + 1000 + 800
        Decimal("2800.00"),  # 1000 + 1000 + 800
        Decimal("2350.00"),  # no history: the typed probabilities
    )
    assert row_figures(rows[1]) == (
        Decimal("0.00"),
        Decimal("200.00"),
        Decimal("2000.00"),
        Decimal("0.00"),
        Decimal("200.00"),
    )
    # Q1 adds February's 2,000 won and the overdue 600 at 25%.
    assert row_figures(rows[2]) == (
        Decimal("3000.00"),
        Decimal("4500.00"),
        Decimal("5800.00"),
        Decimal("4800.00"),
        Decimal("4500.00"),
    )
    assert rows[3].committed == Decimal("0.00")
    assert rows[3].weighted == Decimal("200.00")


def test_figures_are_those_of_the_shared_metric_sets(cast, book):
    (row,) = forecast.forecast(actor=cast.admin, periods=[Q1], now=NOW)
    slice_ = metrics.Slice.for_period(cast.admin, Q1)

    assert row.committed == metrics.totals(metrics.won(slice_)).amount
    expected = metrics.totals(metrics.expected(slice_))
    assert row.weighted == row.committed + expected.weighted
    assert row.best_case == row.committed + expected.amount


def test_filters_and_visibility(cast, book):
    mine = forecast.forecast(actor=cast.alice, periods=[MARCH, Q1], now=NOW)
    east = forecast.forecast(actor=cast.admin, periods=[Q1], now=NOW, team_id=cast.alice.team_id)
    carols = forecast.forecast(actor=cast.admin, periods=[Q1], now=NOW, owner_id=cast.carol.pk)
    hidden = forecast.forecast(actor=cast.alice, periods=[Q1], now=NOW, owner_id=cast.carol.pk)

    # Alice sees her own: 1,000 won, reopened 400 and the 1,000 commit.
    assert row_figures(mine[0])[:4] == (
        Decimal("1000.00"),
        Decimal("1950.00"),
        Decimal("2400.00"),
        Decimal("2000.00"),
    )
    assert east[0].best_case == Decimal("5000.00")  # 3000 + 400 + 1000 + 600
    assert carols[0].best_case == Decimal("800.00")
    assert hidden[0].best_case == Decimal("0.00")


def test_goal_and_gap_come_from_the_goals(cast, book):
    GoalFactory(user=cast.alice, period_kind="quarter", period_start=Q1.start, target=5000)

    (row,) = forecast.forecast(actor=cast.admin, periods=[Q1], now=NOW, owner_id=cast.alice.pk)
    (nobody,) = forecast.forecast(actor=cast.admin, periods=[Q2], now=NOW, owner_id=cast.bob.pk)

    assert row.goal == Decimal("5000.00")
    assert row.gap == Decimal("5000.00") - row.historical
    assert nobody.goal is None
    assert nobody.gap is None


# --- The historical method ---------------------------------------------------------------


def test_win_curve_counts_open_deals_at_risk_until_their_age():
    # 12 deals entered a stage: 5 lost on day 5, 5 won on day 10, 2 still open at day 20.
    curve = _curve([("lost", 5, 5), ("won", 10, 5), ("open", 20, 2)])

    assert (curve.entries, curve.closed, curve.won) == (12, 10, 5)
    assert curve.conversion == 0.5  # among closed deals only
    # Day 5: 5 of 12 leave lost, 7/12 go on; day 10: 5 of those 7 are won: 5/12.
    assert curve.daily[10] == pytest.approx(5 / 12)
    assert curve.win_share(0, 10) == 0
    assert curve.win_share(0, 11) == pytest.approx(5 / 12)
    assert curve.win_share(11, 400) == 0
    assert curve.eventual == pytest.approx(5 / 12)
    assert curve.median_days_to_win == 10
    assert curve.is_trusted


def test_a_curve_with_few_closed_deals_is_not_trusted():
    assert not _curve([("won", 3, 9), ("open", 4, 30)]).is_trusted
    assert WinCurve().win_share(0, 10) == 0


@pytest.fixture
def proposal_history(cast, stages):
    """Ten deals entered Proposal 100 days ago: five were lost 5 days later, five won 10 days
    later. Two open deals entered it 20 days ago. Nobody created a deal in the last 91 days."""
    proposal = stages["Proposal"]
    entered = NOW - 100 * DAY
    for n in range(10):
        is_won = n % 2 == 0
        deal = closed(
            proposal,
            cast.alice,
            "100",
            Deal.Status.WON if is_won else Deal.Status.LOST,
            entered + (10 if is_won else 5) * DAY,
            created_at=entered,
        )
        StageChange.objects.create(deal=deal, to_stage=proposal, at=entered)
    deals = []
    for owner in (cast.alice, cast.carol):
        deal = make(
            proposal,
            owner,
            "1200",
            created_at=entered,
            stage_entered_at=NOW - 20 * DAY,
            expected_close=D(2026, 6, 15),  # far off: the historical method ignores it
        )
        StageChange.objects.create(deal=deal, to_stage=proposal, at=NOW - 20 * DAY)
        deals.append(deal)
    return deals


def test_historical_method_uses_measured_rates_and_cycle_lengths(cast, org, proposal_history):
    rows = forecast.forecast(actor=cast.admin, periods=[MARCH, APRIL, Q2], now=NOW)

    # A deal in Proposal is won with 5/12 chance on day 10 after entering it: inside March
    # (22 days left), not in April. 2,400 open x 5/12 = 1,000. Typed: 50% of nothing expected
    # in March; 2,400 x 50% in Q2 (expected 15 June).
    assert rows[0].historical == Decimal("1000.00")
    assert rows[0].weighted == Decimal("0.00")
    assert rows[1].historical == Decimal("0.00")
    assert rows[2].historical == Decimal("0.00")
    assert rows[2].weighted == Decimal("1200.00")
    curves = win_curves(instant=NOW)
    assert curves.stages[cast.alice.deals.first().stage_id].won == 5


def test_historical_method_counts_deals_created_at_the_usual_pace(
    cast, org, stages, proposal_history
):
    # 910 created 10 days ago: 10 a day over the last 91 days. It sits in Lead (no history,
    # no expected close: no other figure moves).
    make(stages["Lead"], cast.bob, "910", created_at=NOW - 10 * DAY)

    march, april = forecast.forecast(actor=cast.admin, periods=[MARCH, APRIL], now=NOW)

    # Creation curve: 13 deals; day 5: 5 lost (8/13 go on); day 10: the new deal is still at
    # risk, 5 of 8 won: 5/13 on day 10. A deal created on day d (0..21) of March's 22 days is
    # won inside March when d + 10 < 22: 12 days x 5/13 x 10 a day = 600/13 = 46.15.
    assert march.historical == Decimal("1046.15")
    # April (days 22 to 51): created on days 12 to 41, 30 days x 5/13 x 10 = 1500/13.
    assert april.historical == Decimal("115.38")


def test_curves_and_rates_are_the_organizations_whoever_looks(cast, org, proposal_history):
    # Alice sees only her own open deal, but measured on everybody's history.
    (march,) = forecast.forecast(actor=cast.alice, periods=[MARCH], now=NOW)
    assert march.historical == Decimal("500.00")  # 1,200 x 5/12


def test_a_stage_without_enough_history_falls_back_to_typed_probability(
    cast, org, stages, proposal_history
):
    make(stages["Negotiation"], cast.alice, "2000", expected_close=D(2026, 3, 20))

    (march,) = forecast.forecast(actor=cast.admin, periods=[MARCH], now=NOW)

    assert march.historical == Decimal("2500.00")  # 1,000 + 2,000 x 75%


def test_pipeline_filter_limits_deals_and_curves(cast, org, proposal_history):
    from tests.factories import PipelineFactory, StageFactory

    other = PipelineFactory(name="Renewals")
    StageFactory(pipeline=other, name="Upcoming", probability=60)

    (mine,) = forecast.forecast(
        actor=cast.admin, periods=[MARCH], now=NOW, pipeline_id=proposal_history[0].pipeline_id
    )
    (others,) = forecast.forecast(actor=cast.admin, periods=[MARCH], now=NOW, pipeline_id=other.pk)

    assert mine.historical == Decimal("1000.00")
    assert others.historical == Decimal("0.00")


def test_pages_use_the_curves_the_nightly_job_measured(cast, org, stages, proposal_history):
    from salesdesk.goals import snapshots, tasks
    from salesdesk.goals.models import ForecastCurves

    snapshots.curves_store(now=NOW - DAY)
    # Later history: twelve deals won one day after entering Proposal.
    for _ in range(12):
        deal = closed(
            stages["Proposal"],
            cast.bob,
            "100",
            Deal.Status.WON,
            NOW - 49 * DAY,
            created_at=NOW - 100 * DAY,
        )
        StageChange.objects.create(deal=deal, to_stage=stages["Proposal"], at=NOW - 50 * DAY)

    (stored,) = forecast.forecast(actor=cast.admin, periods=[MARCH], now=NOW)
    ForecastCurves.objects.update(measured_at=NOW - 3 * DAY)  # the job stopped: too old
    (measured,) = forecast.forecast(actor=cast.admin, periods=[MARCH], now=NOW)

    assert stored.historical == Decimal("1000.00")
    # 24 entries: day 1, 12 won (1/2); day 5, 5 of 12 lost (7/24 go on); day 10, 5 of 7 won
    # (5/24): 2,400 x 17/24.
    assert measured.historical == Decimal("1700.00")
    tasks.forecast_curves_nightly.call_local()
    assert sorted(ForecastCurves.objects.values_list("pipeline_key", flat=True)) == [
        0,
        stages["Proposal"].pipeline_id,
    ]


@pytest.mark.parametrize("older", [True, False])
def test_live_totals_from_the_rollups_equal_the_deals(cast, stages, berlin, older):
    """The live forecast reads the open amounts and the recent pace from the rollups; the same
    figures from the deals alone (as snapshots read them) must be identical, to the cent."""
    # The window is the 91 days before NOW (10 March, 01:00 in Berlin): 9 December 01:00
    # Berlin onwards. Deals sit on both sides of its start and of the month edges (Berlin).
    created = [
        datetime.datetime(2025, 12, 9, 0, 59, tzinfo=BERLIN),  # just before the window
        datetime.datetime(2025, 12, 9, 1, 1, tzinfo=BERLIN),  # just inside
        datetime.datetime(2025, 12, 31, 23, 30, tzinfo=BERLIN),  # December, Berlin
        datetime.datetime(2026, 1, 1, 0, 30, tzinfo=BERLIN),  # a whole month
        datetime.datetime(2026, 2, 28, 23, 59, tzinfo=BERLIN),  # a whole month
        datetime.datetime(2026, 3, 1, 0, 1, tzinfo=BERLIN),  # this month
        NOW - DAY,
    ]
    if older:
        make(stages["Lead"], cast.carol, "7", created_at=NOW - 400 * DAY)
    for n, moment in enumerate(created):
        make(stages["Proposal"], cast.alice, f"{100 + n}.25", created_at=moment,
             expected_close=D(2026, 3 + n % 3, 5 + n))  # fmt: skip
    closed(stages["Proposal"], cast.bob, "999", Deal.Status.WON, NOW - 2 * DAY,
           created_at=NOW - 50 * DAY)  # fmt: skip
    slice_ = metrics.Slice(actor=cast.admin, start=NOW, end=NOW, tz="Europe/Berlin")
    deals = metrics.deals(slice_)

    live = forecast.live_totals(slice_, deals, instant=NOW)

    window = deals.filter(created_at__gte=NOW - forecast.NEW_DEALS_WINDOW, created_at__lt=NOW)
    assert live.recent == sum(deal.amount_base for deal in window)
    assert live.recent == Decimal("100.25") * 6 + sum(Decimal(n) for n in range(1, 7)) + 999
    open_proposal = sum(
        d.amount_base for d in deals.filter(status="open", stage=stages["Proposal"])
    )
    proposal = stages["Proposal"].pk
    assert sum(a for (s, _, _), a in live.open_amounts.items() if s == proposal) == open_proposal
    assert live.probability[stages["Proposal"].pk] == stages["Proposal"].probability
    curves = win_curves(instant=NOW)
    periods = [MARCH, APRIL, Q2]
    common = {"periods": periods, "instant": NOW, "tz": "Europe/Berlin", "curves": curves}
    from_deals = forecast.forecast_figures(deals, **common)[None]
    from_rollups = forecast.forecast_figures(deals, live=live, **common)[None]
    assert [vars(f) for f in from_rollups] == [vars(f) for f in from_deals]
    assert from_deals[0].committed == Decimal("999")
