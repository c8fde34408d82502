"""The revenue dashboard page, its CSV exports and the drill-down to the deals behind a figure."""

import csv
import datetime
import html
import io
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from salesdesk.analytics import revenue
from tests.analytics.test_revenue import NEW_YORK, at, world_fixture  # noqa: F401
from tests.factories import DealFactory

PERIOD = "fy2026-q1"
FIGURE_LINK = re.compile(
    r'<a class="figure-link" href="(?P<href>[^"]+)"(?: data-figure="(?P<kind>count|amount)")?>'
    r"(?P<text>[^<]+)</a>"
)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def number(text: str) -> Decimal:
    """ "EUR 13,000.00" → Decimal("13000.00")."""
    return Decimal(re.sub(r"[^\d.]", "", text))


def figure_links(body: str) -> list[dict]:
    return [
        {**match.groupdict(), "href": html.unescape(match["href"])}
        for match in FIGURE_LINK.finditer(body)
    ]


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


# --- The dashboard ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/dashboards/revenue/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_manager_sees_the_figures_of_their_team(world):
    # Given the manager of East; when they open the dashboard for Q1 FY2026/27
    response = client_for(world.cast.manager).get("/dashboards/revenue/", {"period": PERIOD})

    # Then they see East's figures (not carol's) with the goal, charts and tables
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures.won.amount == Decimal("5000.00")
    assert figures.goal == Decimal("100000.00")
    body = response.content.decode()
    assert "Q1 FY2026/27" in body
    assert 'id="revenue-chart-data"' in body
    assert "vendor/chart.js/chart.umd.js" in body
    assert "salesdesk/revenue.js" in body
    assert "Gamma" not in body
    assert 'hx-get="/forecast/vs-goal/?period=fy2026-q1"' in body
    assert 'style="' not in body
    chart = response.context["chart"]
    assert [m["label"] for m in chart["months"]][-3:] == ["Apr 2026", "May 2026", "Jun 2026"]
    assert chart["months"][-1]["won"] == "2600.00"
    assert chart["months"][-1]["urls"]["won"] == ("/dashboards/deals/?set=won&period=2026-06")
    assert [step["label"] for step in chart["funnel"]][-1] == "Won"


@pytest.mark.django_db
def test_every_figure_link_lists_deals_whose_count_and_total_equal_the_figure(world):
    client = client_for(world.cast.admin)
    body = client.get(
        "/dashboards/revenue/", {"period": PERIOD, "team": world.east.pk}
    ).content.decode()
    links = figure_links(body)
    checked = 0
    for link in links:
        query = parse_qs(urlsplit(link["href"]).query)
        assert urlsplit(link["href"]).path == "/dashboards/deals/"
        assert query["team"] == [str(world.east.pk)]
        response = client.get(link["href"])
        assert response.status_code == 200, link
        found = response.context["totals"]
        if link["kind"] == "count":
            assert found.count == int(link["text"]), link
            checked += 1
        elif link["kind"] == "amount":
            assert found.amount == number(link["text"]), link
            checked += 1
    # KPIs, months, stages, sources, lost reasons and companies all link their figures
    assert checked >= 90
    assert {parse_qs(urlsplit(link["href"]).query)["set"][0] for link in links} == {
        "won",
        "lost",
        "created",
        "open",
        "closed",
        "entered",
        "reached",
        "converted",
    }


@pytest.mark.django_db
def test_filters_by_team_rep_and_pipeline(world):
    client = client_for(world.cast.admin)
    dave = client.get("/dashboards/revenue/", {"period": PERIOD, "owner": world.dave.pk})
    assert dave.status_code == 200
    assert dave.context["figures"].won.amount == Decimal("600.00")
    assert "Dave Gone (inactive)" in dave.content.decode()
    west = client.get("/dashboards/revenue/", {"period": PERIOD, "team": world.cast.carol.team_id})
    assert west.context["figures"].won.amount == Decimal("8000.00")
    sales = client.get("/dashboards/revenue/", {"period": PERIOD, "pipeline": world.pipeline.pk})
    assert sales.context["figures"].won.amount == Decimal("13000.00")
    assert "Goals cover every pipeline" in sales.content.decode()


@pytest.mark.django_db
def test_a_rep_sees_only_their_own_deals(world):
    response = client_for(world.cast.alice).get("/dashboards/revenue/", {"period": PERIOD})
    assert response.context["figures"].won.amount == Decimal("900.00")
    assert [row.name for row in response.context["dashboard"].companies] == ["Acme"]


@pytest.mark.django_db
def test_the_current_quarter_is_the_default(world, settings):
    response = client_for(world.cast.admin).get("/dashboards/revenue/")
    assert response.status_code == 200
    period = response.context["dashboard"].period
    assert period.kind == "quarter"
    assert period.fiscal_start_month == 4
    today = datetime.datetime.now(datetime.UTC)
    assert period.bounds(NEW_YORK)[0] <= today < period.bounds(NEW_YORK)[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "last-year"}, "period"),
        ({"period": "fy2026-q5"}, "period"),
        ({"period": "2026-13"}, "period"),
        ({"team": "abc"}, "team"),
        ({"owner": "99999999"}, "owner"),
        ({"pipeline": "-1"}, "pipeline"),
        ({"owner": "1e400"}, "owner"),
        ({"export": "everything"}, "export"),
    ],
)
def test_bad_filters_are_form_errors(world, params, field):
    response = client_for(world.cast.manager).get("/dashboards/revenue/", params)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert "dashboard" not in response.context
    assert "Some filters are not valid" in response.content.decode()


@pytest.mark.django_db
def test_tables_export_to_csv(world):
    client = client_for(world.cast.admin)
    sources = client.get("/dashboards/revenue/", {"period": PERIOD, "export": "sources"})
    assert sources.status_code == 200
    assert sources["Content-Type"].startswith("text/csv")
    assert 'filename="revenue-sources-fy2026-q1.csv"' in sources["Content-Disposition"]
    assert csv_rows(sources) == [
        [
            "lead_source",
            "created_count",
            "won_count",
            "won_amount",
            "lost_count",
            "win_rate_percent",
        ],
        ["No source", "4", "2", "9500.00", "0", "100.0"],
        ["Web", "2", "2", "2900.00", "1", "66.7"],
        ["Referral", "1", "1", "600.00", "0", "100.0"],
    ]
    reasons = client.get("/dashboards/revenue/", {"period": PERIOD, "export": "lost_reasons"})
    assert csv_rows(reasons) == [["lost_reason", "count", "amount"], ["Price", "1", "300.00"]]
    companies = client.get("/dashboards/revenue/", {"period": PERIOD, "export": "companies"})
    assert csv_rows(companies)[1:] == [["Gamma", "1", "8000.00"], ["Acme", "2", "2900.00"]]
    stages = csv_rows(client.get("/dashboards/revenue/", {"period": PERIOD, "export": "stages"}))
    assert stages[1] == ["Sales", "Lead", "4", "3100.00", "7", "13200.00", "85.7"]
    assert stages[-1] == ["Sales", "Won", "", "", "4", "12100.00", ""]
    months = csv_rows(
        client.get(
            "/dashboards/revenue/", {"period": PERIOD, "export": "months", "team": world.east.pk}
        )
    )
    assert len(months) == 16
    assert months[-1] == ["2026-06", "yes", "2", "2600.00", "33333.33", "0", "0.00", "1", "100.00"]


@pytest.mark.django_db
def test_csv_cells_that_look_like_formulas_are_quoted(world):
    world.web.name = "=HYPERLINK()"
    world.web.save()
    client = client_for(world.cast.admin)
    rows = csv_rows(client.get("/dashboards/revenue/", {"period": PERIOD, "export": "sources"}))
    assert rows[2][0] == "'=HYPERLINK()"


@pytest.mark.django_db
def test_the_dashboard_takes_a_fixed_number_of_queries(world, django_assert_num_queries):
    client = client_for(world.cast.manager)
    with django_assert_num_queries(20):
        assert client.get("/dashboards/revenue/", {"period": PERIOD}).status_code == 200
    # Many more deals, sources, reasons and companies: the same number of queries
    for index in range(30):
        DealFactory(
            owner=world.cast.bob,
            stage=world.stages["Proposal"],
            status="won",
            closed_at=at(2026, 5, 1 + index % 28),
            created_at=at(2026, 4, 2),
            company=world.acme if index % 2 else None,
            lead_source=world.referral,
        )
    with django_assert_num_queries(20):
        assert client.get("/dashboards/revenue/", {"period": PERIOD}).status_code == 200
    with django_assert_num_queries(20):
        response = client.get(
            "/dashboards/revenue/",
            {"period": "fy2026", "team": world.east.pk, "pipeline": world.pipeline.pk},
        )
        assert response.status_code == 200


# --- The drill-down ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_drill_down_lists_the_deals_behind_a_figure_with_their_total(world):
    response = client_for(world.cast.admin).get(
        "/dashboards/deals/", {"set": "won", "period": PERIOD, "lead_source": world.web.pk}
    )
    assert response.status_code == 200
    assert response.context["totals"].count == 2
    assert response.context["totals"].amount == Decimal("2900.00")
    assert list(response.context["page"].object_list) == [world.deals.d2, world.deals.d1]
    body = response.content.decode()
    assert "Lead source: Web" in body
    assert world.deals.d1.title in body
    assert "USD 1,000.00" in body  # the deal's own currency next to its base amount
    # d2 closed at 03:30 UTC on 1 July: shown as 30 June, the day it counts for in New York
    assert "30/06/2026" in body
    assert "01/07/2026" not in body


@pytest.mark.django_db
def test_drill_down_of_deals_without_a_source_and_of_a_funnel_stage(world):
    client = client_for(world.cast.admin)
    none = client.get("/dashboards/deals/", {"set": "won", "period": PERIOD, "lead_source": "none"})
    assert set(none.context["page"].object_list) == {world.deals.c1, world.deals.d7}
    reached = client.get(
        "/dashboards/deals/",
        {
            "set": "reached",
            "period": PERIOD,
            "stage": world.stages["Proposal"].pk,
            "pipeline": world.pipeline.pk,
        },
    )
    assert reached.context["totals"].count == 5
    assert reached.context["totals"].amount == Decimal("12800.00")
    entered = client.get(
        "/dashboards/deals/",
        {"set": "entered", "period": PERIOD, "stage": world.stages["Lead"].pk},
    )
    assert entered.context["totals"].count == 4


@pytest.mark.django_db
def test_drill_down_applies_visibility(world):
    response = client_for(world.cast.alice).get(
        "/dashboards/deals/", {"set": "won", "period": PERIOD, "team": world.east.pk}
    )
    assert list(response.context["page"].object_list) == [world.deals.d1]
    carol = client_for(world.cast.carol).get(
        "/dashboards/deals/", {"set": "won", "period": PERIOD, "company": world.acme.pk}
    )
    assert carol.context["totals"].count == 0


@pytest.mark.django_db
def test_drill_down_pages_through_many_deals(world, django_assert_num_queries):
    for _ in range(60):
        DealFactory(
            owner=world.cast.bob,
            stage=world.stages["Lead"],
            created_at=at(2026, 4, 10),
        )
    client = client_for(world.cast.manager)
    params = {"set": "open", "period": PERIOD}
    with django_assert_num_queries(8):
        first = client.get("/dashboards/deals/", params)
    assert first.context["totals"].count == 63
    assert len(first.context["page"].object_list) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = client.get("/dashboards/deals/", {**params, "page": 2})
    assert len(second.context["page"].object_list) == 13
    with django_assert_num_queries(13):
        filtered = client.get(
            "/dashboards/deals/",
            {
                "set": "created",
                "period": PERIOD,
                "owner": world.cast.bob.pk,
                "team": world.east.pk,
                "pipeline": world.pipeline.pk,
                "stage": world.stages["Lead"].pk,
                "lead_source": "none",
                "company": world.acme.pk,
                "lost_reason": world.price.pk,
            },
        )
    assert filtered.status_code == 200


@pytest.mark.django_db
def test_drill_down_exports_csv(world):
    response = client_for(world.cast.admin).get(
        "/dashboards/deals/", {"set": "won", "period": PERIOD, "company": world.acme.pk}
    )
    export = client_for(world.cast.admin).get(
        "/dashboards/deals/",
        {"set": "won", "period": PERIOD, "company": world.acme.pk, "export": "csv"},
    )
    assert export.status_code == 200
    assert 'filename="deals-won-fy2026-q1.csv"' in export["Content-Disposition"]
    rows = csv_rows(export)
    assert rows[0][:3] == ["id", "title", "company"]
    assert [row[0] for row in rows[1:]] == [
        str(deal.pk) for deal in response.context["page"].object_list
    ]
    d1 = next(row for row in rows if row[0] == str(world.deals.d1.pk))
    assert d1[8:11] == ["1000.00", "USD", "900.00"]
    assert d1[13] == "2026-04-01T04:30:00+00:00"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"set": "everything"},
        {"set": "won", "period": "q9"},
        {"set": "won", "owner": "alice"},
        {"set": "won", "owner": "0"},
        {"set": "won", "team": str(2**63)},
        {"set": "won", "lead_source": "web"},
        {"set": "won", "lead_source": "-3"},
        {"set": "reached"},
        {"set": "entered", "stage": "999999"},
        {"set": "won", "export": "xlsx"},
        {"set": "won", "company": "1.5"},
    ],
)
def test_drill_down_refuses_bad_input(world, params):
    response = client_for(world.cast.manager).get("/dashboards/deals/", params)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert "This list cannot be shown" in response.content.decode()


@pytest.mark.django_db
def test_drill_down_refuses_a_stage_of_another_pipeline(world):
    other = DealFactory(owner=world.cast.alice)
    response = client_for(world.cast.admin).get(
        "/dashboards/deals/",
        {"set": "reached", "stage": other.stage_id, "pipeline": world.pipeline.pk},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["stage"] == ["This stage is not in that pipeline."]


@pytest.mark.django_db
def test_the_drill_down_sets_are_the_documented_ones():
    assert set(revenue.SETS) == {
        "won",
        "lost",
        "created",
        "expected",
        "open",
        "closed",
        "converted",
        "entered",
        "reached",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("soon", "Not a period: &#x27;soon&#x27;. Use fy2026, fy2026-q2 or 2026-04."),
        ("fy9999-q4", "Pick a period between 1900 and 2999."),
        ("9999-12", "Pick a period between 1900 and 2999."),
        ("fy0000", "Pick a period between 1900 and 2999."),
    ],
)
def test_a_garbled_period_is_a_400_that_says_what_to_write(world, key, message):
    response = client_for(world.cast.manager).get("/dashboards/revenue/", {"period": key})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'id="id_period_error"' in response.content.decode()
    assert "dashboard" not in response.context


@pytest.mark.django_db
def test_a_period_the_select_does_not_list_is_shown_selected_in_its_own_group(world):
    response = client_for(world.cast.manager).get("/dashboards/revenue/", {"period": "FY2019"})

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["dashboard"].period.key == "fy2019"
    assert re.search(
        r'<optgroup label="Selected">\s*<option value="fy2019" selected>FY2019/20</option>', html
    )
