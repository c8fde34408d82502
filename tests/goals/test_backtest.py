"""Backtests replay each past month from the history known at its start, and nothing later."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from salesdesk.goals import backtest
from salesdesk.goals.backtest import BacktestMonth, error_summary
from salesdesk.goals.forecast import win_curves
from salesdesk.goals.periods import Period
from salesdesk.pipeline.models import CloseDateChange, Deal, StageChange
from tests.factories import DealFactory, LostReasonFactory, PipelineFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
D = datetime.date
DAY = datetime.timedelta(days=1)
MARCH_START = datetime.datetime(2026, 3, 1, tzinfo=UTC)
MARCH = Period("month", D(2026, 3, 1))
TODAY = D(2026, 5, 15)


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def make(stage, owner, amount, *, created_at, **fields) -> Deal:
    if fields.get("status") == Deal.Status.LOST:
        fields["lost_reason"] = LostReasonFactory(name="Price")
    fields.setdefault("expected_close", None)
    return DealFactory(
        stage=stage,
        owner=owner,
        amount=Decimal(amount),
        amount_base=Decimal(amount),
        created_at=created_at,
        **fields,
    )


def enter(deal, stage, when) -> None:
    StageChange.objects.create(deal=deal, to_stage=stage, at=when)


@pytest.fixture
def history(cast, pipeline):
    """As of 1 March 2026 (UTC):

    - ten deals entered Proposal on 21 Nov 2025: five lost 5 days later, five won after 10;
    - X (1,000) entered Proposal on 10 Feb, expected 15 March; after 1 March it moved on,
      its date was set to 12 March and it was won that day;
    - V (400) sits in Negotiation, expected 25 March until a slip on 20 March to 10 May;
    - Z was lost in February; Y (700) was created on 3 March and won on 20 March.
    """
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    proposal, negotiation = stages["Proposal"], stages["Negotiation"]
    entered = at(2025, 11, 21)
    for n in range(10):
        is_won = n % 2 == 0
        deal = make(
            proposal,
            cast.alice,
            "100",
            created_at=entered,
            status=Deal.Status.WON if is_won else Deal.Status.LOST,
            closed_at=entered + (10 if is_won else 5) * DAY,
        )
        enter(deal, proposal, entered)
    x = make(
        negotiation,
        cast.alice,
        "1000",
        created_at=at(2025, 11, 25),
        status=Deal.Status.WON,
        closed_at=at(2026, 3, 12, 15),
        expected_close=D(2026, 3, 12),
    )
    enter(x, proposal, at(2026, 2, 10))
    enter(x, negotiation, at(2026, 3, 5))
    CloseDateChange.objects.create(
        deal=x, from_date=D(2026, 2, 20), to_date=D(2026, 3, 15), at=at(2026, 2, 25)
    )
    CloseDateChange.objects.create(
        deal=x, from_date=D(2026, 3, 15), to_date=D(2026, 3, 12), at=at(2026, 3, 12, 14)
    )
    v = make(
        negotiation, cast.bob, "400", created_at=at(2025, 11, 25), expected_close=D(2026, 5, 10)
    )
    enter(v, negotiation, at(2026, 1, 10))
    CloseDateChange.objects.create(
        deal=v, from_date=D(2026, 2, 28), to_date=D(2026, 3, 25), at=at(2026, 2, 1)
    )
    CloseDateChange.objects.create(
        deal=v, from_date=D(2026, 3, 25), to_date=D(2026, 5, 10), at=at(2026, 3, 20)
    )
    z = make(
        proposal,
        cast.bob,
        "5000",
        created_at=at(2025, 11, 25),
        status=Deal.Status.LOST,
        closed_at=at(2026, 2, 15),
        expected_close=D(2026, 3, 10),
    )
    enter(z, proposal, at(2025, 11, 25))
    y = make(
        proposal,
        cast.carol,
        "700",
        created_at=at(2026, 3, 3),
        status=Deal.Status.WON,
        closed_at=at(2026, 3, 20),
        expected_close=D(2026, 3, 20),
    )
    enter(y, proposal, at(2026, 3, 3))
    return {"x": x, "v": v, "y": y, "z": z, "stages": stages}


def test_curves_use_only_the_history_before_the_instant(history):
    proposal = history["stages"]["Proposal"]

    before = win_curves(instant=MARCH_START).stages[proposal.pk]
    later = win_curves(instant=at(2026, 4, 1)).stages[proposal.pk]

    # On 1 March X is still open (censored at day 19), Y and its win do not exist yet. Z was
    # lost on day 82 after entering.
    assert (before.entries, before.closed, before.won) == (12, 11, 5)
    # Day 5: 5 of 12 lost (7/12 go on); day 10: 5 of those 7 won.
    assert before.win_share(0, 31) == pytest.approx(5 / 12)
    # By April X has been won (day 30) and Y too (day 17).
    assert (later.entries, later.closed, later.won) == (13, 13, 7)


def test_backtest_rebuilds_stage_and_close_date_and_ignores_later_deals(history, monkeypatch):
    monkeypatch.setattr(backtest, "MIN_WON_BEFORE", 1)

    result = backtest.backtest(months=2, today=TODAY)

    march, april = result.months
    assert march.period == MARCH
    # Won in March: X and Y (created after 1 March, so no forecast has it).
    assert march.actual == Decimal("1700.00")
    # On 1 March X was in Proposal (50%) expected 15 March, V in Negotiation (75%) expected
    # 25 March: weighted 500 + 300, best case 1,000 + 400.
    assert march.forecasts["weighted"] == Decimal("800.00")
    assert march.forecasts["best_case"] == Decimal("1400.00")
    # Historical: X in Proposal with 5/12 won within the month's 31 days (1,000 x 5/12 =
    # 416.67); Negotiation has no history, so V counts at 75% of its date of then: 300.
    # Nothing was created in the 91 days before: no new deals expected.
    assert march.forecasts["historical"] == Decimal("716.67")
    # On 1 April only V is open, expected (by then) on 10 May: nothing typed for April. The
    # historical method expects new deals: 700 created in the 91 days before (Y), 700/91 a
    # day. Creation curve of the 14 deals then: day 5 five lost (9/14 go on), day 10 five of
    # 9 won (5/14), day 17 Y won (1/14), later ones past April. A deal created on day d of
    # April's 30 is won in April if d + 10 < 30 (20 days) or d + 17 < 30 (13 days):
    # 700/91 x (20 x 5/14 + 13 x 1/14) = 79,100/1,274 = 62.09.
    assert april.actual == Decimal("0.00")
    assert april.forecasts == {
        "weighted": Decimal("0.00"),
        "best_case": Decimal("0.00"),
        "historical": Decimal("62.09"),
    }
    assert april.error("weighted") is None
    assert result.errors["weighted"].months == 1
    assert result.errors["weighted"].mape == pytest.approx(900 / 1700)
    assert result.errors["weighted"].bias == pytest.approx(-900 / 1700)
    assert result.errors["historical"].bias == pytest.approx((716.67 - 1700) / 1700)


def test_months_without_enough_history_are_skipped(history):
    result = backtest.backtest(months=2, today=TODAY)  # 5 deals won before: fewer than 30

    assert result.months == []
    assert [period.key for period in result.skipped] == ["2026-03", "2026-04"]
    assert result.errors["historical"].mape is None


def test_error_summary_leaves_out_periods_with_nothing_won():
    summary = error_summary(
        "weighted",
        [(Decimal(110), Decimal(100)), (Decimal(80), Decimal(100)), (Decimal(50), Decimal(0))],
    )

    assert summary.months == 2
    assert summary.mape == pytest.approx(0.15)  # (10% + 20%) / 2
    assert summary.bias == pytest.approx(-0.05)  # (+10% - 20%) / 2
    month = BacktestMonth(MARCH, Decimal(200), {"weighted": Decimal(150)})
    assert month.error("weighted") == -0.25


def run(*args) -> str:
    out = io.StringIO()
    call_command("forecast-backtest", *args, stdout=out)
    return out.getvalue()


def words(text: str) -> list[str]:
    return text.split()


def lines(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()]


def test_command_prints_each_month_and_the_error_of_each_method(history, monkeypatch):
    monkeypatch.setattr(backtest, "MIN_WON_BEFORE", 1)

    output = run("--today", "2026-05-15", "--months", "2")

    rows = lines(output)
    assert "Forecast backtest, all pipelines, amounts in EUR" in output
    assert words("Month Won Weighted error Best case error Historical error") in rows
    assert words("Mar 2026 1,700.00 800.00 -52.9% 1,400.00 -17.6% 716.67 -57.8%") in rows
    assert words("Apr 2026 0.00 0.00 — 0.00 — 62.09 —") in rows
    assert words("Weighted 1 52.9% -52.9%") in rows
    assert words("Best case 1 17.6% -17.6%") in rows
    assert words("Historical 1 57.8% -57.8%") in rows
    assert "points higher than the typed-probability" in output


def test_command_filters_by_pipeline_id_or_name(history, monkeypatch):
    monkeypatch.setattr(backtest, "MIN_WON_BEFORE", 1)
    pipeline_id = history["x"].pipeline_id
    PipelineFactory(name="Renewals")

    by_id = run("--today", "2026-05-15", "--months", "1", "--pipeline", str(pipeline_id))
    by_name = run("--today", "2026-05-15", "--months", "1", "--pipeline", "renewals")

    assert "pipeline Sales" in by_id
    assert "pipeline Renewals" in by_name
    assert "No month has enough history to replay." in by_name


def test_command_says_when_no_month_can_be_replayed(history):
    output = run("--today", "2026-05-15", "--months", "2")

    assert "Skipped, fewer than 30 deals won before them: Mar 2026, Apr 2026." in output
    assert "No month has enough history to replay." in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--months", "0"], "--months must be between 1 and 120, not 0."),
        (["--months", "121"], "--months must be between 1 and 120, not 121."),
        (["--pipeline", "Nope"], "--pipeline: no pipeline 'Nope'."),
        (["--today", "2026-13-01"], "--today: '2026-13-01' is not a date (YYYY-MM-DD)."),
    ],
)
def test_command_refuses_bad_options(db, pipeline, args, message):
    with pytest.raises(CommandError) as refused:
        run(*args)

    assert message in str(refused.value)


def test_command_refuses_a_months_value_that_is_not_a_number(db):
    with pytest.raises(CommandError, match="--months"):
        run("--months", "many")


def test_on_the_demo_data_the_historical_method_beats_typed_probabilities(db):
    from salesdesk.core.demo import DemoOptions, demo_load

    demo_load(options=DemoOptions(deals=1000, anchor=D(2025, 6, 30)), password="a demo password")

    result = backtest.backtest(months=12, today=D(2025, 6, 30))

    historical, weighted = result.errors["historical"], result.errors["weighted"]
    assert historical.months == weighted.months == 7
    assert historical.mape < weighted.mape  # about 17% against 29% on this small demo
