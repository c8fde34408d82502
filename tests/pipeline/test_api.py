import datetime
from decimal import Decimal

import pytest

from salesdesk.core.models import AuditEntry, CurrencyRate
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import CompanyFactory, ContactFactory, DealFactory, LostReasonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stages(pipeline):
    return list(pipeline.stages.order_by("position"))


def test_rep_creates_deal_in_first_stage_with_history(cast, pipeline, stages, api_client):
    company = CompanyFactory(owner=cast.alice)
    contact = ContactFactory(owner=cast.alice, company=company)
    client = api_client(cast.alice)

    response = client.post(
        "/api/v1/deals",
        {
            "title": "Big deal",
            "company_id": company.pk,
            "contact_ids": [contact.pk],
            "amount": "12500.50",
            "expected_close": "2027-03-31",
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    deal = Deal.objects.get(pk=body["id"])
    assert (deal.title, deal.owner, deal.stage, deal.status) == (
        "Big deal",
        cast.alice,
        stages[0],
        "open",
    )
    assert deal.amount == Decimal("12500.50")
    assert deal.currency == "EUR"
    assert deal.amount_base == Decimal("12500.50")
    assert body["amount"] == "12500.50"
    assert body["stage"] == {"id": stages[0].pk, "name": "Lead", "probability": 10}
    assert body["contacts"] == [{"id": contact.pk, "full_name": contact.full_name}]
    history = list(StageChange.objects.filter(deal=deal).values_list("from_stage", "to_stage"))
    assert history == [(None, stages[0].pk)]
    assert (
        AuditEntry.objects.filter(
            entity="pipeline.deal", entity_id=deal.pk, action="create"
        ).count()
        == 1
    )


def test_deal_in_foreign_currency_is_converted_to_base(cast, pipeline, api_client):
    CurrencyRate.objects.create(currency="USD", rate=Decimal("0.9"))
    response = api_client(cast.alice).post(
        "/api/v1/deals", {"title": "US deal", "amount": "1000", "currency": "usd"}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["currency"] == "USD"
    assert response.json()["amount_base"] == "900.00"


def test_deal_in_currency_without_rate_is_refused(cast, pipeline, api_client):
    response = api_client(cast.alice).post(
        "/api/v1/deals", {"title": "JPY deal", "amount": "1000", "currency": "JPY"}
    )
    assert response.status_code == 422
    assert "no exchange rate for JPY" in response.json()["detail"]
    assert not Deal.objects.exists()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "cannot be negative"),
        ("12.345", "two decimals"),
        ("1e20", "too large"),
        ("NaN", "finite"),
    ],
)
def test_bad_amounts_are_refused(cast, pipeline, api_client, amount, message):
    response = api_client(cast.alice).post("/api/v1/deals", {"title": "X", "amount": amount})
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert not Deal.objects.exists()


def test_moving_records_history_and_time_in_stage(cast, pipeline, stages, api_client):
    deal = DealFactory(owner=cast.alice, stage=stages[0])
    client = api_client(cast.alice)

    first = client.post(f"/api/v1/deals/{deal.pk}/move", {"stage_id": stages[2].pk})
    second = client.post(f"/api/v1/deals/{deal.pk}/move", {"stage_id": stages[1].pk})

    assert first.status_code == second.status_code == 200
    assert second.json()["stage"]["id"] == stages[1].pk
    moves = list(StageChange.objects.filter(deal=deal).values_list("from_stage", "to_stage", "by"))
    assert moves == [
        (stages[0].pk, stages[2].pk, cast.alice.pk),
        (stages[2].pk, stages[1].pk, cast.alice.pk),
    ]
    history = client.get(f"/api/v1/deals/{deal.pk}/stage-history").json()
    assert [row["stage"] for row in history] == ["Proposal", "Qualified"]
    assert history[0]["left_at"] is not None
    assert history[1]["left_at"] is None


def test_move_to_stage_of_other_pipeline_is_refused(cast, pipeline, stages, api_client):
    from tests.factories import StageFactory

    foreign = StageFactory(name="Elsewhere")
    deal = DealFactory(owner=cast.alice, stage=stages[0])
    response = api_client(cast.alice).post(
        f"/api/v1/deals/{deal.pk}/move", {"stage_id": foreign.pk}
    )
    assert response.status_code == 422
    assert "not in the pipeline" in response.json()["detail"]
    deal.refresh_from_db()
    assert deal.stage == stages[0]


def test_win_lose_reopen(cast, pipeline, stages, api_client):
    deal = DealFactory(owner=cast.alice, stage=stages[1])
    reason = LostReasonFactory(name="Price")
    client = api_client(cast.alice)

    won = client.post(f"/api/v1/deals/{deal.pk}/win")
    assert won.status_code == 200
    assert won.json()["status"] == "won"
    assert won.json()["closed_at"] is not None

    refused = client.post(f"/api/v1/deals/{deal.pk}/lose", {"lost_reason_id": reason.pk})
    assert refused.status_code == 409

    client.post(f"/api/v1/deals/{deal.pk}/reopen")
    lost = client.post(
        f"/api/v1/deals/{deal.pk}/lose", {"lost_reason_id": reason.pk, "note": "Too dear"}
    )
    assert lost.status_code == 200
    assert (
        lost.json()["status"],
        lost.json()["lost_reason"]["name"],
        lost.json()["lost_note"],
    ) == ("lost", "Price", "Too dear")


def test_lose_without_reason_is_refused(cast, pipeline, stages, api_client):
    deal = DealFactory(owner=cast.alice, stage=stages[1])
    response = api_client(cast.alice).post(f"/api/v1/deals/{deal.pk}/lose", {})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lost_reason_id"
    deal.refresh_from_db()
    assert deal.status == "open"


def test_list_filters_and_cursor_pagination(cast, pipeline, stages, api_client):
    mine = [DealFactory(owner=cast.alice, stage=stages[i % 2]) for i in range(5)]
    DealFactory(owner=cast.bob, stage=stages[0])
    client = api_client(cast.manager)

    page1 = client.get("/api/v1/deals", {"owner": cast.alice.pk, "limit": 2}).json()
    page2 = client.get(
        "/api/v1/deals", {"owner": cast.alice.pk, "limit": 2, "cursor": page1["next_cursor"]}
    ).json()
    page3 = client.get(
        "/api/v1/deals", {"owner": cast.alice.pk, "limit": 2, "cursor": page2["next_cursor"]}
    ).json()
    ids = [d["id"] for d in page1["items"] + page2["items"] + page3["items"]]
    assert ids == sorted((d.pk for d in mine), reverse=True)
    assert page3["next_cursor"] is None

    in_stage = client.get("/api/v1/deals", {"stage": stages[1].pk}).json()["items"]
    assert {d["id"] for d in in_stage} == {mine[1].pk, mine[3].pk}


def test_list_by_expected_close_and_text(cast, pipeline, stages, api_client):
    soon = DealFactory(
        owner=cast.alice,
        stage=stages[0],
        title="Renewal Acme",
        expected_close=datetime.date(2027, 1, 10),
    )
    DealFactory(
        owner=cast.alice, stage=stages[0], title="Other", expected_close=datetime.date(2027, 6, 1)
    )
    client = api_client(cast.alice)
    found = client.get("/api/v1/deals", {"expected_close_before": "2027-02-01"}).json()["items"]
    assert [d["id"] for d in found] == [soon.pk]
    assert [d["id"] for d in client.get("/api/v1/deals", {"q": "acme"}).json()["items"]] == [
        soon.pk
    ]


def test_deal_list_query_count_does_not_grow(
    cast, pipeline, stages, api_client, django_assert_num_queries
):
    company = CompanyFactory(owner=cast.alice)
    for _ in range(30):
        deal = DealFactory(owner=cast.alice, stage=stages[0], company=company)
        deal.contacts.add(ContactFactory(owner=cast.alice))
    client = api_client(cast.alice)
    client.get("/api/v1/deals")  # warm the token's last_used_at write
    # token, settings, deals, contacts, tags
    with django_assert_num_queries(5):
        response = client.get("/api/v1/deals", {"limit": 30})
    assert len(response.json()["items"]) == 30


def test_invalid_cursor_is_a_clear_error(cast, pipeline, api_client):
    response = api_client(cast.alice).get("/api/v1/deals", {"cursor": "not-a-cursor!"})
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]


def test_rate_change_recomputes_base_amounts(cast, pipeline, stages, api_client):
    CurrencyRate.objects.create(currency="USD", rate=Decimal("0.9"))
    deal = DealFactory(
        owner=cast.alice,
        stage=stages[0],
        amount=Decimal("100"),
        currency="USD",
        amount_base=Decimal("90"),
    )
    response = api_client(cast.admin).put("/api/v1/currency-rates/USD", {"rate": "0.5"})
    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.amount_base == Decimal("50.00")


def test_rep_cannot_change_rates(cast, api_client):
    response = api_client(cast.alice).put("/api/v1/currency-rates/USD", {"rate": "0.5"})
    assert response.status_code == 403
    assert not CurrencyRate.objects.exists()


def test_admin_manages_pipeline_and_stage_order(cast, pipeline, stages, api_client):
    client = api_client(cast.admin)
    created = client.post(
        f"/api/v1/pipelines/{pipeline.pk}/stages", {"name": "Demo", "probability": 40}
    )
    assert created.status_code == 201
    new_order = [stages[1].pk, stages[0].pk, created.json()["id"], stages[2].pk, stages[3].pk]
    response = client.put(f"/api/v1/pipelines/{pipeline.pk}/stage-order", {"stage_ids": new_order})
    assert response.status_code == 200
    listed = client.get(f"/api/v1/pipelines/{pipeline.pk}").json()["stages"]
    assert [s["id"] for s in listed] == new_order


def test_stage_with_deals_cannot_be_deleted(cast, pipeline, stages, api_client):
    DealFactory(owner=cast.alice, stage=stages[0])
    response = api_client(cast.admin).delete(f"/api/v1/stages/{stages[0].pk}")
    assert response.status_code == 409
    assert "still has deals" in response.json()["detail"]


def test_audit_trail_of_a_deal_is_visible_with_the_deal(cast, pipeline, stages, api_client):
    created = api_client(cast.alice).post("/api/v1/deals", {"title": "Tracked", "amount": "10"})
    deal_id = created.json()["id"]
    api_client(cast.manager).patch(f"/api/v1/deals/{deal_id}", {"amount": "20"})

    trail = api_client(cast.alice).get(f"/api/v1/deals/{deal_id}/audit").json()

    assert [(e["action"], e["actor"]["email"]) for e in trail] == [
        ("update", "manager@salesdesk.test"),
        ("create", "alice@salesdesk.test"),
    ]
    assert trail[0]["changes"] == {"amount": ["10.00", "20.00"], "amount_base": ["10.00", "20.00"]}
    assert api_client(cast.carol).get(f"/api/v1/deals/{deal_id}/audit").status_code == 404
