"""A manager reads the revenue dashboard and opens the deals behind its figures."""

import re

import pytest
from playwright.sync_api import expect

from tests.analytics.test_revenue import world_fixture  # noqa: F401
from tests.browser.conftest import sign_in
from tests.browser.test_phone_pages import OVERFLOWING, TOO_WIDE
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD = "/dashboards/revenue/?period=fy2026-q1"
# Where a chart's first bar of a dataset sits on the page, from Chart.js itself.
BAR_POSITION = """([id, dataset, index]) => {
    const chart = Chart.getChart(id);
    const bar = chart.getDatasetMeta(dataset).data[index];
    const box = chart.canvas.getBoundingClientRect();
    const x = chart.options.indexAxis === "y" ? (bar.x + bar.base) / 2 : bar.x;
    const y = chart.options.indexAxis === "y" ? bar.y : (bar.y + bar.base) / 2;
    return {x: box.left + x, y: box.top + y};
}"""


def stub_forecast(page) -> None:
    """The forecast engineer's fragment, until it exists: the card loads it over htmx."""
    page.route(
        re.compile(r".*/forecast/vs-goal/.*"),
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<p>Forecast: on track</p>"
        ),
    )


def test_manager_clicks_a_figure_and_lands_on_the_deals_behind_it(page, world):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    stub_forecast(page)
    sign_in(page, world.cast.manager, PASSWORD)

    page.goto(page.base_url + DASHBOARD)

    expect(page.get_by_role("heading", name="Revenue dashboard")).to_contain_text("Q1 FY2026/27")
    expect(page.get_by_text("Forecast: on track")).to_be_visible()
    for chart in ("revenue-won-chart", "revenue-flow-chart", "revenue-funnel-chart"):
        assert page.evaluate(f"Chart.getChart('{chart}') !== undefined"), chart
    won = page.locator(".kpi-card", has_text="Won revenue").get_by_role("link")
    expect(won).to_have_text("EUR 5,000.00")

    won.click()

    page.wait_for_url(re.compile(r"/dashboards/deals/\?.*set=won"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Won")
    expect(page.locator("#drilldown-total")).to_contain_text("4 deals")
    expect(page.locator("#drilldown-total")).to_contain_text("EUR 5,000.00")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)
    for deal in (world.deals.d1, world.deals.d2, world.deals.d7, world.deals.d8):
        expect(page.get_by_role("link", name=deal.title, exact=True)).to_be_visible()
    assert errors == []


def test_a_funnel_bar_opens_the_deals_that_reached_the_stage(page, world):
    stub_forecast(page)
    sign_in(page, world.cast.admin, PASSWORD)
    page.goto(page.base_url + DASHBOARD)
    page.wait_for_function("Chart.getChart('revenue-funnel-chart') !== undefined")

    point = page.evaluate(BAR_POSITION, ["revenue-funnel-chart", 0, 2])  # Proposal
    page.mouse.click(point["x"], point["y"])

    page.wait_for_url(re.compile(r"set=reached"))
    expect(page.locator("#drilldown-total")).to_contain_text("5 deals")
    expect(page.locator("#drilldown-total")).to_contain_text("EUR 12,800.00")
    expect(page.get_by_text("Stage: Proposal")).to_be_visible()


def test_the_dashboard_fits_a_phone(phone_page, world):
    errors = []
    phone_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    stub_forecast(phone_page)
    sign_in(phone_page, world.cast.manager, PASSWORD)

    phone_page.goto(phone_page.base_url + DASHBOARD)
    phone_page.wait_for_function("Chart.getChart('revenue-won-chart') !== undefined")

    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone_page.evaluate(OVERFLOWING, 390) == []
    assert phone_page.evaluate(TOO_WIDE, 390) == []
    chart = phone_page.locator("#revenue-won-chart").bounding_box()
    assert 300 <= chart["width"] <= 390
    assert chart["height"] > 150
    link = phone_page.locator(".kpi-card", has_text="Lost deals").get_by_role("link")
    expect(link).to_be_visible()
    box = link.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    link.click()
    phone_page.wait_for_url(re.compile(r"set=lost"))
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone_page.evaluate(TOO_WIDE, 390) == []
    expect(phone_page.locator("#drilldown-total")).to_contain_text("1 deal")
    assert errors == []
