"""The board in a real browser: dragging between stages, the Lost modal, the phone layout."""

import pytest
from playwright.sync_api import expect

from salesdesk.pipeline.models import Deal, StageChange
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, DealFactory, LostReasonFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stages(pipeline):
    return {stage.name: stage for stage in pipeline.stages.all()}


def _drag(page, card, target, *, posts: bool = True) -> None:
    """Press, move in steps (SortableJS follows the pointer) and release over `target`."""
    start, end = card.bounding_box(), target.bounding_box()
    page.mouse.move(start["x"] + 40, start["y"] + 12)
    page.mouse.down()
    page.mouse.move(start["x"] + 50, start["y"] + 20, steps=3)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + min(40, end["height"] / 2), steps=12)
    if posts:
        with page.expect_response(lambda response: response.request.method == "POST"):
            page.mouse.up()
    else:
        page.mouse.up()


def test_drag_a_deal_across_two_stages(page, cast, stages):
    deal = DealFactory(title="Dragged deal", owner=cast.alice, stage=stages["Lead"])
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/board/")
    card = page.locator(f"#deal-card-{deal.pk}")

    _drag(page, card, page.locator(f"#stage-cards-{stages['Qualified'].pk}"))
    page.get_by_text("“Dragged deal” moved to Qualified.").wait_for()
    assert page.locator(f"#stage-head-{stages['Qualified'].pk}").inner_text().count("1 deal") == 1

    _drag(page, card, page.locator(f"#stage-cards-{stages['Proposal'].pk}"))
    page.get_by_text("“Dragged deal” moved to Proposal.").wait_for()

    page.reload()
    assert page.locator(f"#stage-cards-{stages['Proposal'].pk} #deal-card-{deal.pk}").is_visible()
    assert "0 deals" in page.locator(f"#stage-head-{stages['Lead'].pk}").inner_text()
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal"]
    moves = list(StageChange.objects.filter(deal=deal).values_list("from_stage", "to_stage"))
    assert moves == [
        (stages["Lead"].pk, stages["Qualified"].pk),
        (stages["Qualified"].pk, stages["Proposal"].pk),
    ]


def test_lose_a_deal_on_the_lost_zone_with_a_reason(page, cast, stages):
    LostReasonFactory(name="Price")
    deal = DealFactory(title="Lost cause", owner=cast.alice, stage=stages["Lead"])
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/board/")
    card = page.locator(f"#deal-card-{deal.pk}")
    lost_zone = page.locator("[data-drop=lost]")

    # Cancelling puts the card back.
    _drag(page, card, lost_zone, posts=False)
    dialog = page.get_by_role("dialog", name="Why was “Lost cause” lost?")
    dialog.wait_for()
    dialog.get_by_role("button", name="Cancel").last.click()
    dialog.wait_for(state="hidden")
    page.locator(".modal-backdrop").wait_for(state="detached")
    expect(page.locator(f"#stage-cards-{stages['Lead'].pk} #deal-card-{deal.pk}")).to_be_visible()

    # Without a reason the modal says so; with one the deal is lost.
    _drag(page, card, lost_zone, posts=False)
    dialog.wait_for()
    dialog.get_by_role("button", name="Mark as lost").click()
    dialog.get_by_text("Say why the deal was lost.").wait_for()
    assert Deal.objects.get(pk=deal.pk).status == "open"
    dialog.get_by_label("Reason").select_option(label="Price")
    dialog.get_by_label("Note").fill("Competitor was cheaper")
    dialog.get_by_role("button", name="Mark as lost").click()
    page.get_by_text("“Lost cause” lost (Price).").wait_for()
    assert card.count() == 0

    page.reload()
    assert page.locator(f"#deal-card-{deal.pk}").count() == 0
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason.name, deal.lost_note) == (
        "lost",
        "Price",
        "Competitor was cheaper",
    )


def test_phone_board_scrolls_by_column_and_moves_with_move_to(phone_page, cast, stages):
    page = phone_page
    deal = DealFactory(title="Phone deal", owner=cast.alice, stage=stages["Lead"])
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/board/")
    columns = page.locator(".board-columns")
    first = page.locator(".board-column").first.bounding_box()
    assert 0.8 * 390 <= first["width"] <= 0.9 * 390
    assert columns.evaluate("el => el.scrollWidth > el.clientWidth")
    columns.evaluate("el => el.scrollBy({left: 200})")
    page.wait_for_function(
        "document.querySelector('.board-columns').scrollLeft > 250"
    )  # snapped to the next column

    page.locator(f"#deal-card-{deal.pk}").get_by_role("button", name="Move to…").tap()
    page.locator(f"#deal-card-{deal.pk}").get_by_role("button", name="Negotiation").tap()
    page.get_by_text("“Phone deal” moved to Negotiation.").wait_for()
    assert (
        page.locator(f"#stage-cards-{stages['Negotiation'].pk} #deal-card-{deal.pk}").count() == 1
    )

    page.reload()
    assert (
        page.locator(f"#stage-cards-{stages['Negotiation'].pk} #deal-card-{deal.pk}").count() == 1
    )
    deal.refresh_from_db()
    assert deal.stage == stages["Negotiation"]
    assert StageChange.objects.filter(deal=deal, to_stage=stages["Negotiation"]).count() == 1
