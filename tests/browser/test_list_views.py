"""Saved views of the deal list and the activity list's CSV export, in a real browser."""

import csv

import pytest
from playwright.sync_api import expect

from salesdesk.crm.models import SavedView
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, ActivityFactory, DealFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_save_open_and_delete_a_view_of_the_deal_list(page, cast, pipeline):
    stage = pipeline.stages.first()
    DealFactory(title="Acme renewal", owner=cast.alice, stage=stage)
    DealFactory(title="Beta pilot", owner=cast.alice, stage=stage)
    sign_in(page, cast.alice, PASSWORD)

    page.goto(f"{page.base_url}/deals/")
    page.locator("#id_q").fill("acme")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_label("Name of this view").fill("Acme deals")
    page.get_by_role("button", name="Save view").click()

    expect(page.get_by_role("status")).to_contain_text("View “Acme deals” saved.")
    view = SavedView.objects.get()
    assert (view.user, view.entity, view.name, view.query) == (
        cast.alice,
        "deals",
        "Acme deals",
        "q=acme",
    )

    page.goto(f"{page.base_url}/deals/")
    expect(page.get_by_role("link", name="Beta pilot")).to_be_visible()
    page.get_by_role("link", name="Acme deals").click()
    expect(page.get_by_role("link", name="Acme deals")).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("link", name="Acme renewal")).to_be_visible()
    expect(page.get_by_role("link", name="Beta pilot")).to_have_count(0)

    page.get_by_role("button", name="Delete saved view Acme deals").click()
    expect(page.get_by_role("status")).to_contain_text("View “Acme deals” deleted.")
    page.reload()
    expect(page.get_by_role("link", name="Acme deals")).to_have_count(0)
    assert not SavedView.objects.exists()


def test_export_the_filtered_activities(page, cast):
    ActivityFactory(subject="Pricing call", kind="call", owner=cast.alice)
    ActivityFactory(subject="Send offer", kind="task", owner=cast.alice)
    ActivityFactory(subject="Carols call", kind="call", owner=cast.carol)
    sign_in(page, cast.alice, PASSWORD)

    page.goto(f"{page.base_url}/activities/")
    page.get_by_label("Kind").select_option("call")
    page.get_by_role("button", name="Filter").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()

    assert download.value.suggested_filename == "activities.csv"
    with open(download.value.path(), encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["subject"], row["kind"], row["owner"]) for row in rows] == [
        ("Pricing call", "call", "alice@salesdesk.test")
    ]
