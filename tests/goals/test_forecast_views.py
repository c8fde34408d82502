"""The forecast page, its export, the forecast-vs-goal card and the inline category edit."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesdesk.goals.models import ForecastSnapshot
from salesdesk.goals.periods import Period, PeriodKind, current_period
from salesdesk.pipeline.models import Deal
from salesdesk.pipeline.services import deal_update
from tests.factories import DealFactory, GoalFactory, record_close_date_change

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def this_month() -> Period:
    return current_period(PeriodKind.MONTH, now=timezone.now(), tz="UTC")


def make(stage, owner, amount, **fields) -> Deal:
    return DealFactory(
        stage=stage, owner=owner, amount=Decimal(amount), amount_base=Decimal(amount), **fields
    )


@pytest.fixture
def stages(pipeline):
    return {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def book(cast, stages):
    month = this_month()
    return {
        "alice": make(
            stages["Negotiation"],
            cast.alice,
            "1000",
            title="Alice commit",
            expected_close=month.start,
            forecast_category=Deal.ForecastCategory.COMMIT,
        ),
        "carol": make(
            stages["Proposal"], cast.carol, "800", title="Carol deal", expected_close=month.start
        ),
        "bob": make(
            stages["Lead"], cast.bob, "2000", title="Bob next", expected_close=month.next().start
        ),
        "won": make(
            stages["Proposal"],
            cast.alice,
            "300",
            title="Alice won",
            status=Deal.Status.WON,
            closed_at=timezone.now(),
            expected_close=month.start,
        ),
    }


def signed_in(client, user):
    client.force_login(user)
    return client


def test_page_shows_the_forecast_of_each_period_ahead(client, cast, book):
    response = signed_in(client, cast.admin).get("/forecast/")

    assert response.status_code == 200
    rows = response.context["rows"]
    month = this_month()
    assert [row.period for row in rows] == [
        month,
        month.next(),
        month.shifted(2),
        current_period(PeriodKind.QUARTER, now=timezone.now(), tz="UTC"),
        current_period(PeriodKind.QUARTER, now=timezone.now(), tz="UTC").next(),
    ]
    assert (rows[0].committed, rows[0].weighted, rows[0].best_case, rows[0].commit) == (
        Decimal("300.00"),
        Decimal("1450.00"),  # 300 + 750 + 400
        Decimal("2100.00"),
        Decimal("1300.00"),
    )
    assert rows[1].weighted == Decimal("200.00")
    html = response.content.decode()
    assert "What we will win" in html
    assert 'id="forecast-chart"' in html
    assert "vendor/chart.js/chart.umd.js" in html
    assert "salesdesk/forecast.js" in html


def test_deal_list_shows_the_selected_periods_deals_with_slips(client, cast, book):
    month = this_month()
    alice = book["alice"]
    for day in (3, 9, 0):  # two slips, one pull-in, through the service that records them
        deal_update(actor=cast.alice, deal=alice, expected_close=month.start + day * DAY)

    response = signed_in(client, cast.admin).get("/forecast/", {"period": month.key})

    deals = list(response.context["page"].object_list)
    assert [deal.title for deal in deals] == ["Alice commit", "Carol deal"]
    assert deals[0].slips == 2
    assert [deal.title for deal in response.context["slipped"]] == ["Alice commit"]
    html = response.content.decode()
    assert "2 times" in html
    assert f'id="category-{alice.pk}"' in html


def test_rep_sees_own_deals_and_can_edit_only_those(client, cast, book, org):
    org.reps_see_all = True
    org.save()

    response = signed_in(client, cast.bob).get("/forecast/", {"period": this_month().key})

    deals = {deal.title: deal for deal in response.context["page"].object_list}
    assert set(deals) == {"Alice commit", "Carol deal"}  # reps see all: read-only
    assert not deals["Alice commit"].can_change
    html = response.content.decode()
    assert f'id="category-{book["alice"].pk}"' not in html


def post_category(client, deal, category, *, htmx=True):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(
        f"/deals/{deal.pk}/forecast-category/",
        {"forecast_category": category, "next": "/forecast/?period=x"},
        **headers,
    )


@pytest.mark.parametrize("who", ["alice", "manager", "admin"])
def test_owner_manager_and_admin_set_the_category_inline(client, cast, book, who):
    deal = book["alice"]

    response = post_category(signed_in(client, getattr(cast, who)), deal, "best_case")

    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.forecast_category == Deal.ForecastCategory.BEST_CASE
    html = response.content.decode()
    assert f'<tr id="forecast-deal-{deal.pk}">' in html
    assert '<option value="best_case" selected>' in html
    assert "Saved" in html


@pytest.mark.parametrize("who", ["bob", "carol", "outsider"])
def test_others_cannot_see_the_deal(client, cast, book, who):
    deal = book["alice"]

    response = post_category(signed_in(client, getattr(cast, who)), deal, "pipeline")

    assert response.status_code == 404
    deal.refresh_from_db()
    assert deal.forecast_category == Deal.ForecastCategory.COMMIT


def test_a_rep_who_sees_everything_still_cannot_change_anothers_deal(client, cast, book, org):
    org.reps_see_all = True
    org.save()
    deal = book["alice"]

    response = post_category(signed_in(client, cast.bob), deal, "pipeline")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    deal.refresh_from_db()
    assert deal.forecast_category == Deal.ForecastCategory.COMMIT


def test_bad_category_and_closed_deal_are_refused(client, cast, book):
    signed_in(client, cast.alice)

    bad = post_category(client, book["alice"], "closed")
    closed = post_category(client, book["won"], "commit")

    assert bad.status_code == 422
    assert closed.status_code == 409
    book["alice"].refresh_from_db()
    book["won"].refresh_from_db()
    assert book["alice"].forecast_category == Deal.ForecastCategory.COMMIT
    assert book["won"].forecast_category == Deal.ForecastCategory.PIPELINE
    assert client.get(f"/deals/{book['alice'].pk}/forecast-category/").status_code == 405


def test_a_plain_form_post_redirects_back_with_a_message(client, cast, book):
    response = post_category(signed_in(client, cast.alice), book["alice"], "pipeline", htmx=False)

    assert response.status_code == 302
    assert response["Location"] == "/forecast/?period=x"
    book["alice"].refresh_from_db()
    assert book["alice"].forecast_category == Deal.ForecastCategory.PIPELINE


def test_bad_filters_show_an_error_not_a_crash(client, cast, book):
    response = signed_in(client, cast.admin).get(
        "/forecast/", {"period": "someday", "team": "x", "owner": "999999", "pipeline": "-1"}
    )

    assert response.status_code == 200
    assert "Some filters are not valid" in response.content.decode()
    assert response.context["rows"][0].best_case == Decimal("2100.00")  # filters ignored


def test_manager_cannot_filter_on_another_team(client, cast, book):
    west = cast.carol.team_id

    response = signed_in(client, cast.manager).get("/forecast/", {"team": west})

    assert "team" in response.context["form"].errors


def test_page_query_count_is_small_and_does_not_grow_with_deals(client, cast, book, stages):
    signed_in(client, cast.manager)
    query = {"period": this_month().key}
    client.get("/forecast/", query)
    with CaptureQueriesContext(connection) as few:
        client.get("/forecast/", query)
    for _ in range(12):
        deal = make(
            stages["Proposal"], cast.alice, "10", expected_close=book["alice"].expected_close
        )
        record_close_date_change(deal, deal.expected_close, deal.expected_close + DAY)
    ForecastSnapshot.objects.create(
        week=datetime.date(2026, 1, 5),
        period_kind="month",
        period_start=datetime.date(2026, 2, 1),
        method="weighted",
        scope="team",
        scope_id=cast.alice.team_id,
        value=Decimal(10),
        actual=Decimal(20),
    )
    with CaptureQueriesContext(connection) as many:
        response = client.get("/forecast/", query)

    assert len(many) == len(few) <= 25
    assert response.context["page"].paginator.count == 13  # Alice's 1 + 12; Carol's is West's


def test_export_is_the_forecast_table_as_csv(client, cast, book):
    response = signed_in(client, cast.admin).get("/forecast/export/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="forecast.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    month = this_month()
    assert rows[0] == [
        "period", "label", "kind", "start", "end", "committed", "weighted", "best_case",
        "commit", "historical", "goal", "gap_to_goal",
    ]  # fmt: skip
    assert rows[1] == [
        month.key, month.label, "month", month.start.isoformat(), month.last_day.isoformat(),
        "300.00", "1450.00", "2100.00", "1300.00", "1450.00", "", "",
    ]  # fmt: skip
    assert len(rows) == 6


def test_export_of_a_rep_uses_the_filters(client, cast, book):
    response = signed_in(client, cast.admin).get("/forecast/export/", {"owner": cast.carol.pk})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][5:9] == ["0.00", "400.00", "800.00", "0.00"]


def test_vs_goal_card_for_another_page(client, cast, book):
    month = this_month()
    GoalFactory(user=cast.alice, period_kind="month", period_start=month.start, target=5000)

    response = signed_in(client, cast.manager).get(
        "/forecast/vs-goal/", {"period": month.key, "owner": cast.alice.pk}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    figures = [  # whole units, to fit a small card
        ("Goal", "5,000"),
        ("Committed", "300"),
        ("Weighted", "1,050"),  # 300 + 1,000 x 75%
        ("Best case", "1,300"),
        ("Historical", "1,050"),  # no history: typed probabilities
        ("Gap", "3,950"),
    ]
    for label, figure in figures:
        assert f'text-body-secondary">{label}</dt>' in html
        assert f">{figure}<" in html
    assert f"/forecast/?period={month.key}&amp;owner={cast.alice.pk}" in html


def test_vs_goal_card_refuses_a_bad_period(client, cast):
    response = signed_in(client, cast.admin).get("/forecast/vs-goal/", {"period": "soon"})

    assert response.status_code == 422
    assert "Not a period" in response.content.decode()


def test_accuracy_section_shows_the_record_of_past_periods(client, cast, book):
    ForecastSnapshot.objects.bulk_create(
        [
            ForecastSnapshot(
                week=datetime.date(2025, 12, 29),
                period_kind="month",
                period_start=datetime.date(2026, 1, 1),
                method=method,
                scope="organization",
                value=Decimal(value),
                actual=Decimal(100),
            )
            for method, value in (("weighted", 110), ("historical", 95))
        ]
    )

    response = signed_in(client, cast.admin).get("/forecast/")

    accuracy = response.context["accuracy"]
    assert [(m.method, m.mape_text, m.bias_text) for m in accuracy.methods["month"]] == [
        ("weighted", "10.0%", "+10.0%"),
        ("historical", "5.0%", "-5.0%"),
    ]
    assert "How accurate the forecasts have been" in response.content.decode()


def test_rep_cannot_see_a_teams_accuracy(client, cast, book):
    response = signed_in(client, cast.alice).get("/forecast/", {"team": cast.alice.team_id})

    assert response.context["accuracy"] is None or response.context["form"].errors
