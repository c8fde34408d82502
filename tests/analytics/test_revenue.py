"""The revenue dashboard's figures against a hand-computed fixture.

The organization reports in New York time (UTC-4 in summer) with a fiscal year starting in
April, so the period Q1 FY2026/27 is 1 April to 30 June 2026, i.e. the UTC instants
[2026-04-01 04:00, 2026-07-01 04:00). The base currency is EUR.

Deals (amounts in EUR; times UTC in 2026 unless said; stages Lead, Qualified, Proposal,
Negotiation of the default pipeline, at positions 0 to 3):

| deal | owner | status | amount | created     | closed                    | source   | company |
|------|-------|--------|--------|-------------|---------------------------|----------|---------|
| d1   | alice | won    | 900 *  | 03-15 04:30 | 04-01 04:30 (NY Apr 1)    | Web      | Acme    |
| d2   | bob   | won    | 2000   | 05-01 03:30 | 07-01 03:30 (NY Jun 30)   | Web      | Acme    |
| d3   | alice | won    | 4000   | 01-10 12:00 | 04-01 03:30 (NY Mar 31)   | Referral | Beta    |
| d4   | alice | lost   | 300    | 04-05 12:00 | 05-10 12:00 (Price)       | Web      |         |
| c1   | carol | won    | 8000   | 04-05 12:00 | 05-05 12:00               |          | Gamma   |
| d6   | alice | open (reopened after a loss) | 700 | 04-20 12:00 |       |          |         |
| d7   | bob (was alice's) | won | 1500 | 04-02 12:00 | 05-20 12:00       |          |         |
| d8   | dave (East, deactivated) | won | 600 | 05-25 12:00 | 06-01 12:00 | Referral |         |
| d9   | bob   | open   | 5000   | 2025-12-01  |                           |          |         |
| d10  | alice | open   | 100    | 06-10 12:00 |                           |          |         |

* d1 is 1000 USD; its amount in the base currency is 900 EUR.
"""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesdesk.analytics import metrics, revenue
from salesdesk.goals.periods import Period, period_parse
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import (
    CompanyFactory,
    DealFactory,
    GoalFactory,
    LeadSourceFactory,
    LostReasonFactory,
    UserFactory,
)

NEW_YORK = "America/New_York"
FSM = 4  # the fiscal year starts in April
D = Decimal


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


def totals(count: int, amount: str) -> metrics.Totals:
    return metrics.Totals(count, D(amount), D("0.00"))


@pytest.fixture(name="world")
def world_fixture(cast, pipeline, org):
    org.timezone = NEW_YORK
    org.fiscal_year_start_month = FSM
    org.base_currency = "EUR"
    org.save()
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    web = LeadSourceFactory(name="Web")
    referral = LeadSourceFactory(name="Referral")
    price = LostReasonFactory(name="Price")
    acme, beta, gamma = (CompanyFactory(name=name) for name in ("Acme", "Beta", "Gamma"))
    dave = UserFactory(full_name="Dave Gone", team=cast.alice.team)

    def deal(owner, amount, created, *, stage="Lead", status="open", closed=None, **kwargs):
        return DealFactory(
            owner=owner,
            amount=D(amount),
            stage=stages[stage],
            status=status,
            closed_at=closed,
            created_at=created,
            **kwargs,
        )

    def move(deal_, stage, moment):
        StageChange.objects.create(deal=deal_, to_stage=stages[stage], at=moment)

    d1 = deal(
        cast.alice,
        "1000",
        at(2026, 3, 15, 4, 30),
        stage="Negotiation",
        status="won",
        closed=at(2026, 4, 1, 4, 30),
        currency="USD",
        amount_base=D("900"),
        lead_source=web,
        company=acme,
    )
    move(d1, "Proposal", at(2026, 4, 1, 3, 0))  # 31 March 23:00 in New York: before
    move(d1, "Negotiation", at(2026, 4, 1, 4, 10))  # 1 April 00:10 in New York: in
    d2 = deal(
        cast.bob,
        "2000",
        at(2026, 5, 1, 3, 30),
        stage="Negotiation",
        status="won",
        closed=at(2026, 7, 1, 3, 30),
        lead_source=web,
        company=acme,
    )
    move(d2, "Lead", at(2026, 5, 1, 3, 30))
    move(d2, "Proposal", at(2026, 5, 10))
    move(d2, "Negotiation", at(2026, 6, 1))
    d3 = deal(
        cast.alice,
        "4000",
        at(2026, 1, 10, 12),
        status="won",
        closed=at(2026, 4, 1, 3, 30),
        lead_source=referral,
        company=beta,
    )
    d4 = deal(
        cast.alice,
        "300",
        at(2026, 4, 5, 12),
        status="lost",
        closed=at(2026, 5, 10, 12),
        lost_reason=price,
        lead_source=web,
    )
    move(d4, "Lead", at(2026, 4, 5, 12))
    c1 = deal(
        cast.carol,
        "8000",
        at(2026, 4, 5, 12),
        stage="Proposal",
        status="won",
        closed=at(2026, 5, 5, 12),
        company=gamma,
    )
    # Lost in May, then reopened: open again and counted nowhere as lost.
    d6 = deal(cast.alice, "700", at(2026, 4, 20, 12), stage="Proposal")
    for stage, moment in [
        ("Lead", at(2026, 4, 20, 12)),
        ("Qualified", at(2026, 4, 25)),
        ("Proposal", at(2026, 5, 1)),
        ("Qualified", at(2026, 5, 3)),
        ("Proposal", at(2026, 5, 6)),
    ]:
        move(d6, stage, moment)
    # Created by alice, handed to bob: it counts for bob.
    d7 = deal(cast.alice, "1500", at(2026, 4, 2, 12), status="won", closed=at(2026, 5, 20, 12))
    d7.owner = cast.bob
    d7.save()
    d8 = deal(
        dave,
        "600",
        at(2026, 5, 25, 12),
        stage="Qualified",
        status="won",
        closed=at(2026, 6, 1, 12),
        lead_source=referral,
    )
    dave.is_active = False
    dave.save()
    d9 = deal(cast.bob, "5000", at(2025, 12, 1, 12), stage="Negotiation")
    move(d9, "Negotiation", at(2026, 3, 31, 12))
    d10 = deal(cast.alice, "100", at(2026, 6, 10, 12))
    move(d10, "Lead", at(2026, 6, 10, 12))
    move(d10, "Qualified", at(2026, 6, 12))
    move(d10, "Lead", at(2026, 6, 14))
    GoalFactory(
        team=cast.alice.team, period_kind="quarter", period_start=datetime.date(2026, 4, 1)
    )  # target 100000
    GoalFactory(
        team=cast.alice.team,
        period_kind="month",
        period_start=datetime.date(2026, 3, 1),
        target=D("3000"),
    )
    return SimpleNamespace(
        cast=cast,
        dave=dave,
        east=cast.alice.team,
        pipeline=pipeline,
        stages=stages,
        web=web,
        referral=referral,
        price=price,
        acme=acme,
        gamma=gamma,
        deals=SimpleNamespace(d1=d1, d2=d2, d3=d3, d4=d4, c1=c1, d6=d6, d7=d7, d8=d8, d9=d9),
        d10=d10,
        period=period_parse("fy2026-q1", FSM),
    )


def slice_for(world, actor=None, period=None, **filters) -> metrics.Slice:
    return metrics.Slice.for_period(
        actor or world.cast.admin, period or world.period, tz=NEW_YORK, **filters
    )


@pytest.mark.django_db
def test_period_is_april_to_june_in_new_york(world):
    assert world.period.label == "Q1 FY2026/27"
    assert world.period.bounds(NEW_YORK) == (at(2026, 4, 1, 4), at(2026, 7, 1, 4))


# --- Months -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_months_cover_the_period_and_the_twelve_months_before_in_new_york_time(world):
    # Given the fixture; when the admin reads the months of Q1 FY2026/27
    months = revenue.months(slice_for(world), world.period)

    # Then there are 15 months, April 2025 to June 2026, the last three in the period
    assert [m.period.key for m in months][:2] == ["2025-04", "2025-05"]
    assert [m.period.key for m in months][-4:] == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert [m.is_in_period for m in months] == [False] * 12 + [True] * 3
    by_key = {m.period.key: m for m in months}
    # d3 closed at 03:30 UTC on 1 April: 31 March in New York
    assert by_key["2026-03"].won == totals(1, "4000.00")
    # d1 closed at 04:30 UTC on 1 April; its base amount (900 EUR), not its 1000 USD
    assert by_key["2026-04"].won == totals(1, "900.00")
    assert by_key["2026-05"].won == totals(2, "9500.00")  # c1 and d7
    # d2 closed at 03:30 UTC on 1 July: 30 June in New York
    assert by_key["2026-06"].won == totals(2, "2600.00")  # d2 and d8
    assert by_key["2026-05"].lost == totals(1, "300.00")
    # d2 was created at 03:30 UTC on 1 May: 30 April in New York
    assert by_key["2026-04"].created == totals(5, "12500.00")
    assert by_key["2026-05"].created == totals(1, "600.00")
    assert by_key["2026-06"].created == totals(1, "100.00")
    assert by_key["2025-12"].created == totals(1, "5000.00")
    assert by_key["2025-04"].won == totals(0, "0.00")
    # The months of the period add up to the period's figures
    figures = revenue.key_figures(slice_for(world), world.period)
    in_period = [m for m in months if m.is_in_period]
    assert sum(m.won.amount for m in in_period) == figures.won.amount
    assert sum(m.created.count for m in in_period) == figures.created.count


@pytest.mark.django_db
def test_month_goals_come_from_the_teams_goals(world):
    # Given East's quarter goal of 100000 and its March goal of 3000
    months = revenue.months(slice_for(world, team_id=world.east.pk), world.period)
    by_key = {m.period.key: m for m in months}

    # Then each month of the quarter has a third of it, March its own, older months none
    assert [by_key[k].goal for k in ("2026-04", "2026-05", "2026-06")] == [D("33333.33")] * 3
    assert by_key["2026-03"].goal == D("3000.00")
    assert by_key["2026-02"].goal is None
    # East won 900 in April (d1): 2.7% of its April goal
    assert by_key["2026-04"].attainment == D("2.7")
    assert by_key["2026-03"].attainment == D("133.3")  # d3: 4000 of 3000


@pytest.mark.django_db
def test_a_year_reads_twenty_four_months_of_the_fiscal_year_starting_in_april(world):
    year = period_parse("fy2026", FSM)
    months = revenue.months(slice_for(world, period=year), year)
    assert len(months) == 24
    assert (months[0].period.key, months[12].period.key, months[-1].period.key) == (
        "2025-04",
        "2026-04",
        "2027-03",
    )
    figures = revenue.key_figures(slice_for(world, period=year), year)
    # FY2026/27 starts on 1 April 2026: d3 (31 March in New York) belongs to the year before
    assert figures.won == totals(5, "13000.00")


# --- Key figures ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_key_figures_of_the_whole_organization(world):
    figures = revenue.key_figures(slice_for(world), world.period)

    assert figures.won == totals(5, "13000.00")  # d1 900, d2 2000, c1 8000, d7 1500, d8 600
    assert figures.lost == totals(1, "300.00")  # d4; d6 was reopened
    assert figures.created == metrics.Totals(7, D("13200.00"), D("6190.00"))
    assert figures.open == metrics.Totals(3, D("5800.00"), D("4110.00"))  # d6, d9, d10
    assert figures.win_rate == D("83.3")  # 5 of 6
    assert figures.average_deal_size == D("2600.00")
    # Days from creation to win: 17 + 61 + 30 + 48 + 7 = 163, over 5
    assert figures.cycle_days == D("32.6")
    # 3 open x 5/6 x 2600 / 32.6 days
    assert figures.velocity_per_day == D("199.39")
    assert figures.velocity_per_month == D("5981.70")
    assert figures.goal == D("100000.00")  # East's quarter goal is everyone's
    assert figures.attainment == D("13.0")


@pytest.mark.django_db
def test_a_manager_sees_their_team_and_a_rep_their_own_deals(world):
    manager = revenue.key_figures(slice_for(world, world.cast.manager), world.period)
    # East without carol's 8000: d1, d2, d7 (bob's now), d8 (dave is deactivated)
    assert manager.won == totals(4, "5000.00")
    assert manager.open.count == 3

    alice = revenue.key_figures(slice_for(world, world.cast.alice), world.period)
    # d7 was handed to bob: only d1 is alice's
    assert alice.won == totals(1, "900.00")
    assert alice.lost == totals(1, "300.00")
    assert alice.created.count == 3  # d4, d6, d10
    assert alice.win_rate == D("50.0")

    outsider = revenue.key_figures(slice_for(world, world.cast.outsider), world.period)
    assert outsider.won == totals(0, "0.00")
    assert outsider.win_rate is None
    assert outsider.velocity_per_day is None
    assert outsider.cycle_days is None


@pytest.mark.django_db
def test_filters_count_deals_for_their_current_owner_and_team(world):
    # A deactivated rep's deals still count for the team, and can be looked at alone
    east = revenue.key_figures(slice_for(world, team_id=world.east.pk), world.period)
    assert east.won == totals(4, "5000.00")
    assert east.goal == D("100000.00")
    dave = revenue.key_figures(slice_for(world, owner_id=world.dave.pk), world.period)
    assert dave.won == totals(1, "600.00")
    assert dave.goal is None
    bob = revenue.key_figures(slice_for(world, owner_id=world.cast.bob.pk), world.period)
    assert bob.won == totals(2, "3500.00")  # d2 and d7, reassigned from alice
    west = revenue.key_figures(slice_for(world, team_id=world.cast.carol.team_id), world.period)
    assert west.won == totals(1, "8000.00")


@pytest.mark.django_db
def test_a_pipeline_filter_keeps_only_its_deals(world):
    other = DealFactory(
        owner=world.cast.alice,
        amount=D("50"),
        status="won",
        closed_at=at(2026, 5, 1),
        created_at=at(2026, 4, 1, 12),
    )
    sales = revenue.key_figures(slice_for(world, pipeline_id=world.pipeline.pk), world.period)
    assert sales.won == totals(5, "13000.00")
    elsewhere = revenue.key_figures(slice_for(world, pipeline_id=other.pipeline_id), world.period)
    assert elsewhere.won == totals(1, "50.00")


# --- Stages -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_stage_flow_counts_each_deal_once_per_stage_it_entered_in_the_period(world):
    figures = revenue.stage_figures(slice_for(world), revenue.pipeline_stages())
    assert figures.pipeline_name == "Sales"
    flow = {row.name: row.entered for row in figures.stages}
    assert flow == {
        "Lead": totals(4, "3100.00"),  # d2, d4, d6, d10 (twice, once counted)
        "Qualified": totals(2, "800.00"),  # d6 (twice), d10
        "Proposal": totals(2, "2700.00"),  # d2, d6 (twice)
        # d2, and d1 at 00:10 on 1 April in New York (its move to Proposal was the day before)
        "Negotiation": totals(2, "2900.00"),
    }


@pytest.mark.django_db
def test_funnel_counts_deals_created_in_the_period_by_the_furthest_stage_reached(world):
    figures = revenue.stage_figures(slice_for(world), revenue.pipeline_stages())
    reached = {row.name: (row.reached, row.conversion) for row in figures.stages}
    assert reached == {
        "Lead": (totals(7, "13200.00"), D("85.7")),
        # d4 was lost in Lead; d10 got to Qualified, then went back to Lead
        "Qualified": (totals(6, "12900.00"), D("83.3")),
        # d7 was won from Lead and c1 from Proposal: won deals reach every stage
        "Proposal": (totals(5, "12800.00"), D("80.0")),
        "Negotiation": (totals(4, "12100.00"), D("100.0")),
    }
    assert figures.converted == totals(4, "12100.00")  # d2, c1, d7, d8


@pytest.mark.django_db
def test_the_funnel_shows_the_filtered_pipeline_or_the_default_one(world):
    other = DealFactory(owner=world.cast.alice, created_at=at(2026, 4, 3))
    stages = revenue.pipeline_stages()
    figures = revenue.stage_figures(slice_for(world, pipeline_id=other.pipeline_id), stages)
    assert figures.pipeline_id == other.pipeline_id
    assert [(row.name, row.reached.count) for row in figures.stages] == [(other.stage.name, 1)]
    assert revenue.stage_figures(slice_for(world), stages).pipeline_id == world.pipeline.pk


# --- Tables -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lead_sources_with_won_revenue_and_win_rate(world):
    rows = revenue.lead_sources(slice_for(world))
    assert [
        (row.name, row.created.count, row.won.count, row.won.amount, row.lost_count, row.win_rate)
        for row in rows
    ] == [
        ("No source", 4, 2, D("9500.00"), 0, D("100.0")),  # created c1, d6, d7, d10; won c1, d7
        ("Web", 2, 2, D("2900.00"), 1, D("66.7")),  # created d2, d4; won d1, d2; lost d4
        ("Referral", 1, 1, D("600.00"), 0, D("100.0")),  # d8; d3 closed before the period
    ]
    assert [row.filter_value for row in rows] == ["none", str(world.web.pk), str(world.referral.pk)]


@pytest.mark.django_db
def test_lost_reasons_and_top_companies(world):
    assert revenue.lost_reasons(slice_for(world)) == [
        revenue.NamedTotals(world.price.pk, "Price", totals(1, "300.00"))
    ]
    assert revenue.top_companies(slice_for(world)) == [
        revenue.NamedTotals(world.gamma.pk, "Gamma", totals(1, "8000.00")),
        revenue.NamedTotals(world.acme.pk, "Acme", totals(2, "2900.00")),
    ]
    # The manager does not see carol's deal for Gamma
    manager = revenue.top_companies(slice_for(world, world.cast.manager))
    assert [row.name for row in manager] == ["Acme"]


def _top_companies_sql(slice_, period) -> tuple[list, str]:
    with CaptureQueriesContext(connection) as captured:
        rows = revenue.top_companies(slice_, period=period)
    return rows, " ".join(query["sql"] for query in captured.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["fy2026-q1", "2026-05", "fy2026"])
def test_top_companies_of_a_whole_period_are_read_from_the_company_buckets(world, key):
    period = period_parse(key, FSM)
    slice_ = slice_for(world, period=period)
    rows, sql = _top_companies_sql(slice_, period)
    assert "analytics_companywonrollup" in sql
    assert "pipeline_deal" not in sql
    # the same ranking as from the won deals themselves
    assert rows == revenue.top_companies(slice_)
    assert rows  # every period here has wins


@pytest.mark.django_db
def test_top_companies_of_the_quarter_from_the_buckets_equal_the_hand_count(world):
    rows, _ = _top_companies_sql(slice_for(world), world.period)
    assert rows == [
        revenue.NamedTotals(world.gamma.pk, "Gamma", totals(1, "8000.00")),
        revenue.NamedTotals(world.acme.pk, "Acme", totals(2, "2900.00")),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor", "filters"),
    [("manager", {}), ("admin", {"team_id": "alice_team"}), ("admin", {"owner_id": "alice"})],
)
def test_top_companies_of_a_filtered_or_partial_view_are_ranked_from_the_deals(
    world, actor, filters
):
    cast = world.cast
    values = {"alice_team": cast.alice.team_id, "alice": cast.alice.pk}
    slice_ = slice_for(
        world, getattr(cast, actor), **{name: values[value] for name, value in filters.items()}
    )
    rows, sql = _top_companies_sql(slice_, world.period)
    assert "analytics_companywonrollup" not in sql
    assert rows == revenue.top_companies(slice_)
    # A slice that is not the period asked for (here: one day short) is not read from them
    short = slice_.with_range(slice_.start, slice_.end - datetime.timedelta(days=1))
    assert "analytics_companywonrollup" not in _top_companies_sql(short, world.period)[1]


# --- Drill-down sets equal the figures ----------------------------------------------------------


def _set_totals(slice_, name, **filters) -> metrics.Totals:
    found = metrics.totals(revenue.deal_set(slice_, name, **filters))
    return totals(found.count, str(found.amount))


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ["admin", "manager", "alice"])
def test_every_figure_equals_the_totals_of_its_drill_down_set(world, actor):
    slice_ = slice_for(world, getattr(world.cast, actor))
    figures = revenue.key_figures(slice_, world.period)
    assert _set_totals(slice_, "won") == figures.won
    assert _set_totals(slice_, "lost") == figures.lost
    assert metrics.totals(revenue.deal_set(slice_, "created")) == figures.created
    assert metrics.totals(revenue.deal_set(slice_, "open")) == figures.open
    closed = _set_totals(slice_, "closed")
    assert closed.count == figures.won.count + figures.lost.count

    for month in revenue.months(slice_, world.period):
        month_slice = slice_for(world, slice_.actor, period=month.period)
        assert _set_totals(month_slice, "won") == month.won
        assert _set_totals(month_slice, "lost") == month.lost
        assert _set_totals(month_slice, "created") == month.created

    stages = revenue.stage_figures(slice_, revenue.pipeline_stages())
    funnel_slice = slice_for(world, slice_.actor, pipeline_id=stages.pipeline_id)
    for row in stages.stages:
        stage = world.stages[row.name]
        assert _set_totals(funnel_slice, "entered", stage=stage) == row.entered
        assert _set_totals(funnel_slice, "reached", stage=stage) == row.reached
    assert _set_totals(funnel_slice, "converted") == stages.converted

    for row in revenue.lead_sources(slice_):
        source = row.filter_value if row.source_id is None else row.source_id
        assert _set_totals(slice_, "created", lead_source=source) == row.created
        assert _set_totals(slice_, "won", lead_source=source) == row.won
        assert _set_totals(slice_, "lost", lead_source=source).count == row.lost_count
    for row in revenue.lost_reasons(slice_):
        assert _set_totals(slice_, "lost", lost_reason_id=row.id) == row.totals
    for row in revenue.top_companies(slice_):
        assert _set_totals(slice_, "won", company_id=row.id) == row.totals


@pytest.mark.django_db
def test_drill_down_sets_list_the_expected_deals(world):
    slice_ = slice_for(world)
    deals = world.deals
    assert set(revenue.deal_set(slice_, "won")) == {
        deals.d1,
        deals.d2,
        deals.c1,
        deals.d7,
        deals.d8,
    }
    assert set(revenue.deal_set(slice_, "closed")) == {
        deals.d1,
        deals.d2,
        deals.c1,
        deals.d7,
        deals.d8,
        deals.d4,
    }
    lead = world.stages["Lead"]
    assert set(revenue.deal_set(slice_, "entered", stage=lead)) == {
        deals.d2,
        deals.d4,
        deals.d6,
        world.d10,
    }
    # A stage narrows the other sets to the deals now in it
    assert set(revenue.deal_set(slice_, "won", stage=world.stages["Negotiation"])) == {
        deals.d1,
        deals.d2,
    }
    assert list(revenue.deal_set(slice_, "won", lead_source="none")) in (
        [deals.d7, deals.c1],
        [deals.c1, deals.d7],
    )
    with pytest.raises(ValueError, match="needs a stage"):
        revenue.deal_set(slice_, "reached")


@pytest.mark.django_db
def test_the_whole_dashboard_in_one_call(world):
    dashboard = revenue.revenue_dashboard(slice_for(world), world.period)
    assert dashboard.figures.won.amount == D("13000.00")
    assert len(dashboard.months) == 15
    assert [row.name for row in dashboard.stages.stages] == [
        "Lead",
        "Qualified",
        "Proposal",
        "Negotiation",
    ]
    assert dashboard.lost_reasons[0].name == "Price"


@pytest.mark.django_db
def test_a_quarter_before_any_deal_has_empty_figures(world):
    period = Period("quarter", datetime.date(2024, 4, 1), FSM)
    figures = revenue.key_figures(slice_for(world, period=period), period)
    assert figures.won == totals(0, "0.00")
    assert figures.average_deal_size is None
    assert figures.attainment is None
    assert revenue.lead_sources(slice_for(world, period=period)) == []
    assert Deal.objects.count() == 10
