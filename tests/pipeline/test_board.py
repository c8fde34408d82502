"""The pipeline board: columns, totals, paging of cards, moves answered with out-of-band headers."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.template import Context, Template
from django.utils import timezone, translation

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import (
    CompanyFactory,
    DealFactory,
    LostReasonFactory,
    PipelineFactory,
    StageFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def stages(pipeline):
    return {stage.name: stage for stage in pipeline.stages.all()}


def _signed_in(client, user):
    client.force_login(user)
    return client


def _head(content: str, stage) -> str:
    """The text of one column header (count and total) in a page or an htmx answer."""
    match = re.search(rf'<header[^>]*id="stage-head-{stage.pk}".*?</header>', content, re.S)
    assert match, f"no header for {stage}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


def _card_ids(content: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="deal-card-(\d+)"', content)]


# --- Template filters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en-gb", "EUR 12,500.00"), ("de", "EUR 12.500,00"), ("fr", "EUR 12\xa0500,00")],
)
def test_money_uses_the_locale(locale, expected):
    template = Template("{% load salesdesk %}{{ amount|money:'EUR' }}")
    with translation.override(locale):
        assert template.render(Context({"amount": Decimal("12500")})) == expected


def test_money_of_nothing_is_empty():
    assert Template("{% load salesdesk %}[{{ x|money:'EUR' }}]").render(Context({})) == "[]"


# --- The board page -------------------------------------------------------------------------


@pytest.fixture
def board_deals(cast, stages):
    return {
        "a": DealFactory(title="A", owner=cast.alice, stage=stages["Lead"], amount=Decimal("100")),
        "b": DealFactory(title="B", owner=cast.alice, stage=stages["Lead"], amount=Decimal("250")),
        "usd": DealFactory(
            title="USD deal",
            owner=cast.bob,
            stage=stages["Lead"],
            currency="USD",
            amount=Decimal("1000"),
            amount_base=Decimal("900"),
        ),
        "p": DealFactory(title="P", owner=cast.bob, stage=stages["Proposal"], amount=Decimal("50")),
        "west": DealFactory(title="West", owner=cast.carol, stage=stages["Proposal"]),
        "won": DealFactory(
            title="Won one",
            owner=cast.alice,
            stage=stages["Lead"],
            status="won",
            closed_at=timezone.now(),
        ),
    }


def test_board_columns_count_and_sum_visible_open_deals_in_base_currency(
    client, cast, stages, board_deals
):
    content = _signed_in(client, cast.manager).get("/board/").content.decode()
    assert _head(content, stages["Lead"]) == "Lead 3 deals · EUR 1,250.00"
    assert _head(content, stages["Qualified"]) == "Qualified 0 deals · EUR 0.00"
    assert _head(content, stages["Proposal"]) == "Proposal 1 deal · EUR 50.00"
    cards = _card_ids(content)
    assert board_deals["won"].pk not in cards
    assert board_deals["west"].pk not in cards  # another team's deal
    assert "USD 1,000.00" in content  # a card shows the deal's own currency


def test_board_filters_by_owner_and_team(client, cast, stages, board_deals):
    client = _signed_in(client, cast.admin)
    by_owner = client.get(f"/board/?owner={cast.alice.pk}").content.decode()
    assert _head(by_owner, stages["Lead"]) == "Lead 2 deals · EUR 350.00"
    assert _head(by_owner, stages["Proposal"]) == "Proposal 0 deals · EUR 0.00"
    by_team = client.get(f"/board/?team={cast.carol.team_id}").content.decode()
    assert _card_ids(by_team) == [board_deals["west"].pk]


def test_board_orders_cards_biggest_first(client, cast, stages, board_deals):
    content = _signed_in(client, cast.manager).get("/board/").content.decode()
    ids = _card_ids(content)
    lead = [board_deals[key].pk for key in ("usd", "b", "a")]
    assert [pk for pk in ids if pk in lead] == lead


def test_card_shows_days_in_stage_and_stale_badge(client, cast, stages):
    deal = DealFactory(
        title="Old",
        owner=cast.alice,
        stage=stages["Lead"],
        company=CompanyFactory(name="Initech"),
        stage_entered_at=timezone.now() - datetime.timedelta(days=15),
    )
    DealFactory(title="Fresh", owner=cast.alice, stage=stages["Lead"])
    content = _signed_in(client, cast.alice).get("/board/").content.decode()
    card = re.search(rf'id="deal-card-{deal.pk}".*?</li>\s*</ul>', content, re.S).group(0)
    assert "15 days" in card
    assert ">Stale</span>" in card
    assert "Initech" in card
    assert ">AE</span>" in card
    assert content.count(">Stale</span>") == 1


def test_pipeline_switch_and_unknown_pipeline(client, cast, pipeline, stages):
    other = PipelineFactory(name="Renewals")
    upcoming = StageFactory(pipeline=other, name="Upcoming", position=0)
    DealFactory(title="Renewal", owner=cast.alice, stage=upcoming)
    client = _signed_in(client, cast.alice)
    switched = client.get(f"/board/?pipeline={other.pk}&owner={cast.alice.pk}")
    assert switched.status_code == 302
    assert switched["Location"] == f"/board/{other.pk}/?owner={cast.alice.pk}"
    content = client.get(f"/board/{other.pk}/").content.decode()
    assert _head(content, upcoming) == "Upcoming 1 deal · EUR 1,000.00"
    assert 'id="stage-head-' + str(stages["Lead"].pk) not in content
    assert client.get("/board/999999/").status_code == 404


def test_board_without_pipelines_says_what_to_do(client, cast):
    content = _signed_in(client, cast.alice).get("/board/").content.decode()
    assert "There is no pipeline yet." in content


@pytest.mark.parametrize("count", [5, 60])
def test_board_query_count_does_not_grow_with_deals(
    client, cast, stages, count, django_assert_num_queries
):
    for index in range(count):
        DealFactory(
            owner=[cast.alice, cast.bob][index % 2],
            company=CompanyFactory(),
            stage=list(stages.values())[index % 4],
        )
    client = _signed_in(client, cast.manager)
    # session, user, pipelines, settings, managed teams, stages, totals, cards,
    # base currency, owner and team selects, lost reasons
    with django_assert_num_queries(12):
        response = client.get("/board/")
    cards = _card_ids(response.content.decode())
    assert len(cards) == min(count, 4 * 20)


# --- Loading more cards -----------------------------------------------------------------------


def test_column_shows_twenty_cards_then_loads_more(client, cast, pipeline, stages):
    lead = stages["Lead"]
    deals = [
        DealFactory(owner=cast.alice, stage=lead, amount=Decimal(1000 - index))
        for index in range(45)
    ]
    DealFactory(owner=cast.carol, stage=lead)  # not visible to alice
    client = _signed_in(client, cast.alice)
    content = client.get(f"/board/?owner={cast.alice.pk}").content.decode()
    assert _card_ids(content) == [deal.pk for deal in deals[:20]]
    more = f"/board/{pipeline.pk}/stage/{lead.pk}/cards/?page=2&amp;owner={cast.alice.pk}"
    assert f'hx-get="{more}"' in content
    assert 'hx-trigger="intersect once"' in content

    second = client.get(more.replace("&amp;", "&")).content.decode()
    assert _card_ids(second) == [deal.pk for deal in deals[20:40]]
    assert "page=3" in second
    third = client.get(f"/board/{pipeline.pk}/stage/{lead.pk}/cards/?page=3").content.decode()
    assert _card_ids(third) == [deal.pk for deal in deals[40:]]
    assert "board-more" not in third


def test_more_cards_of_a_stage_of_another_pipeline_is_404(client, cast, pipeline):
    elsewhere = StageFactory(name="Elsewhere")
    response = _signed_in(client, cast.alice).get(
        f"/board/{pipeline.pk}/stage/{elsewhere.pk}/cards/?page=2"
    )
    assert response.status_code == 404


def test_more_cards_query_count(client, cast, pipeline, stages, django_assert_num_queries):
    for _ in range(30):
        DealFactory(owner=cast.bob, stage=stages["Lead"], company=CompanyFactory())
    client = _signed_in(client, cast.manager)
    url = f"/board/{pipeline.pk}/stage/{stages['Lead'].pk}/cards/?page=2"
    # session, user, stage, settings, managed teams, cards, stages for "Move to…"
    with django_assert_num_queries(7):
        response = client.get(url)
    assert len(_card_ids(response.content.decode())) == 10


# --- Moving from the board -------------------------------------------------------------------


def test_move_on_the_board_answers_the_card_and_both_headers(client, cast, stages, board_deals):
    deal = board_deals["a"]
    response = _signed_in(client, cast.manager).post(
        f"/deals/{deal.pk}/move/", {"stage": stages["Proposal"].pk, "board": "1"}, **HTMX
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert _card_ids(content) == [deal.pk]
    assert f'data-stage="{stages["Proposal"].pk}"' in content
    assert f'id="stage-head-{stages["Lead"].pk}" hx-swap-oob="true"' in content
    assert _head(content, stages["Lead"]) == "Lead 2 deals · EUR 1,150.00"
    assert _head(content, stages["Proposal"]) == "Proposal 2 deals · EUR 150.00"
    assert "“A” moved to Proposal." in content
    assert 'id="messages"' in content
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal"]
    change = StageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage, change.by) == (
        stages["Lead"],
        stages["Proposal"],
        cast.manager,
    )


def test_headers_after_a_move_keep_the_boards_filter(client, cast, stages, board_deals):
    response = _signed_in(client, cast.manager).post(
        f"/deals/{board_deals['a'].pk}/move/",
        {"stage": stages["Qualified"].pk, "board": "1", "owner": cast.alice.pk, "team": ""},
        **HTMX,
    )
    content = response.content.decode()
    assert _head(content, stages["Lead"]) == "Lead 1 deal · EUR 250.00"
    assert _head(content, stages["Qualified"]) == "Qualified 1 deal · EUR 100.00"


def test_moving_a_closed_deal_is_refused_and_nothing_changes(client, cast, stages, board_deals):
    deal = board_deals["won"]
    response = _signed_in(client, cast.alice).post(
        f"/deals/{deal.pk}/move/", {"stage": stages["Proposal"].pk, "board": "1"}, **HTMX
    )
    assert response.status_code == 409
    assert "reopen it before moving it" in response.content.decode()
    assert 'class="alert alert-danger' in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == stages["Lead"]
    assert not StageChange.objects.filter(deal=deal).exists()


def test_board_move_to_a_bad_stage_is_refused(client, cast, stages, board_deals):
    response = _signed_in(client, cast.alice).post(
        f"/deals/{board_deals['a'].pk}/move/", {"stage": "nope", "board": "1"}, **HTMX
    )
    assert response.status_code == 400
    assert "Pick a stage of this deal&#x27;s pipeline." in response.content.decode()


def test_win_on_the_board_removes_the_card_and_updates_the_header(
    client, cast, stages, board_deals
):
    deal = board_deals["b"]
    response = _signed_in(client, cast.alice).post(f"/deals/{deal.pk}/win/", {"board": "1"}, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert _card_ids(content) == []
    assert _head(content, stages["Lead"]) == "Lead 1 deal · EUR 100.00"
    assert "“B” won. Congratulations!" in content
    deal.refresh_from_db()
    assert deal.status == "won"


def test_lose_on_the_board_needs_a_reason(client, cast, stages, board_deals):
    deal = board_deals["b"]
    client = _signed_in(client, cast.alice)
    refused = client.post(f"/deals/{deal.pk}/lose/", {"board": "1", "note": "meh"}, **HTMX)
    assert refused.status_code == 422
    assert "Say why the deal was lost." in refused.content.decode()
    assert 'aria-invalid="true"' in refused.content.decode()
    deal.refresh_from_db()
    assert deal.status == "open"

    reason = LostReasonFactory(name="Budget")
    done = client.post(f"/deals/{deal.pk}/lose/", {"board": "1", "lost_reason": reason.pk}, **HTMX)
    assert done.status_code == 200
    assert _head(done.content.decode(), stages["Lead"]) == "Lead 1 deal · EUR 100.00"
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", reason)


def test_rep_cannot_lose_another_reps_deal_when_reps_see_all(client, cast, board_deals):
    OrganizationSettings.objects.filter(pk=1).update(reps_see_all=True)
    deal = board_deals["p"]
    response = _signed_in(client, cast.alice).post(
        f"/deals/{deal.pk}/lose/",
        {"board": "1", "lost_reason": LostReasonFactory().pk},
        **HTMX,
    )
    assert response.status_code == 403
    assert "You cannot change this deal." in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).status == "open"


def test_move_answer_query_count(client, cast, stages, board_deals, django_assert_num_queries):
    client = _signed_in(client, cast.alice)
    deal = board_deals["a"]
    # session, user, settings, deal, stage, can-change, lock, pipeline, stage, history,
    # update, audit, card, totals, stages, base currency; and 20 to add the move to the
    # dashboards' rollups (analytics/rollups.py: the deal's stage history, then per bucket
    # it leaves or enters an UPDATE and a DELETE or INSERT, as these buckets held only this
    # deal or none; on PostgreSQL one more takes the owner's advisory lock)
    with django_assert_num_queries(38 + (connection.vendor == "postgresql")):
        client.post(
            f"/deals/{deal.pk}/move/", {"stage": stages["Proposal"].pk, "board": "1"}, **HTMX
        )
