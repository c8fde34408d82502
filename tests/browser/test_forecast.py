"""The forecast page in a real browser: the figures, the chart, the inline category, a phone."""

from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesdesk.goals.periods import PeriodKind, current_period
from salesdesk.pipeline.models import Deal
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, DealFactory, record_close_date_change

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deals(cast, pipeline):
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    month = current_period(PeriodKind.MONTH, now=timezone.now(), tz="UTC")
    alice = DealFactory(
        title="Alice's big one",
        owner=cast.alice,
        stage=stages["Negotiation"],
        amount=Decimal("1000"),
        amount_base=Decimal("1000"),
        expected_close=month.start,
    )
    record_close_date_change(alice, month.start, month.start.replace(day=2))
    record_close_date_change(alice, month.start.replace(day=2), month.start)
    DealFactory(
        title="Carol's",
        owner=cast.carol,
        stage=stages["Proposal"],
        amount=Decimal("800"),
        amount_base=Decimal("800"),
        expected_close=month.start,
    )
    return {"alice": alice, "month": month}


def test_manager_reads_the_forecast_and_sets_a_category_inline(page, cast, deals):
    sign_in(page, cast.manager, PASSWORD)
    page.goto(f"{page.base_url}/forecast/?period={deals['month'].key}")

    table = page.locator("#forecast-table")
    expect(table.get_by_role("row")).to_have_count(6)
    first = table.get_by_role("row").nth(1)
    expect(first).to_contain_text(deals["month"].label)
    # Weighted 1,000 at 75% (Carol's deal is West's, not the manager's); nothing is commit.
    expect(first.locator("td").nth(1)).to_have_text("750.00")
    expect(first.locator("td").nth(3)).to_have_text("0.00")
    assert page.evaluate("Chart.getChart('forecast-chart').data.datasets.length") == 5
    row = page.locator(f"#forecast-deal-{deals['alice'].pk}")
    expect(row).to_contain_text("1 time")  # one slip, one pull-in

    with page.expect_response(lambda response: response.request.method == "POST"):
        row.get_by_label("Forecast category of Alice's big one").select_option("commit")

    expect(page.locator(f"#forecast-deal-{deals['alice'].pk}")).to_contain_text("Saved")
    deal = Deal.objects.get(pk=deals["alice"].pk)
    assert deal.forecast_category == Deal.ForecastCategory.COMMIT
    page.reload()
    expect(table.get_by_role("row").nth(1).locator("td").nth(3)).to_have_text("1,000.00")


def test_forecast_page_fits_a_phone(phone_page, cast, deals):
    sign_in(phone_page, cast.admin, PASSWORD)
    phone_page.goto(f"{phone_page.base_url}/forecast/")

    expect(phone_page.get_by_role("heading", name="Forecast", exact=True)).to_be_visible()
    expect(phone_page.locator("#forecast-chart")).to_be_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
