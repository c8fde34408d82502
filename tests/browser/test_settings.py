"""Admin settings in a real browser: reordering stages by drag and by keyboard."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def stage_names(pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position", "id").values_list("name", flat=True))


def names_on_page(page) -> list[str]:
    return page.locator(".stage-list .stage-name .fw-semibold").all_inner_texts()


def test_admin_reorders_stages_by_drag_and_keyboard(page, cast, pipeline):
    sign_in(page, cast.admin, PASSWORD)
    page.goto(f"{page.base_url}/settings/pipelines/{pipeline.pk}/")
    items = page.locator(".stage-list > li")

    items.nth(3).locator(".drag-handle").drag_to(items.nth(0).locator(".drag-handle"))
    page.get_by_role("status").filter(has_text="Stage order saved.").wait_for()

    expected = ["Negotiation", "Lead", "Qualified", "Proposal"]
    assert stage_names(pipeline) == expected
    page.reload()
    assert names_on_page(page) == expected

    page.get_by_role("button", name="Move Lead up").focus()
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="Stage order saved.").wait_for()
    expected = ["Lead", "Negotiation", "Qualified", "Proposal"]
    assert stage_names(pipeline) == expected
    assert names_on_page(page) == expected
    # Focus stays on the list (Lead is first now, so its "down" button holds it).
    expect(page.locator(":focus")).to_have_attribute("aria-label", "Move Lead down")
