"""The visibility matrix through the API: every role, every record type, read and write."""

import pytest

from salesdesk.activities.models import Activity
from salesdesk.crm.models import Company, Contact
from salesdesk.pipeline.models import Deal
from tests.factories import ActivityFactory, CompanyFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

OWNERS = ["admin", "manager", "alice", "bob", "carol", "outsider", None]

SEES = {
    "admin": {"admin", "manager", "alice", "bob", "carol", "outsider", None},
    "manager": {"manager", "alice", "bob", None},
    "alice": {"alice", None},
    "bob": {"bob", None},
    "carol": {"carol", None},
    "outsider": {"outsider", None},
}

RESOURCES = {
    "companies": (Company, lambda owner, stage: CompanyFactory(owner=owner), {"name": "Renamed"}),
    "contacts": (Contact, lambda owner, stage: ContactFactory(owner=owner), {"title": "CEO"}),
    "deals": (
        Deal,
        lambda owner, stage: DealFactory(owner=owner, stage=stage),
        {"title": "Renamed"},
    ),
    "activities": (
        Activity,
        lambda owner, stage: ActivityFactory(owner=owner),
        {"subject": "Renamed"},
    ),
}


@pytest.fixture
def records(cast, pipeline):
    stage = pipeline.stages.first()
    made = {}
    for resource, (_, make, _) in RESOURCES.items():
        made[resource] = {
            owner: make(getattr(cast, owner) if owner else None, stage) for owner in OWNERS
        }
    return made


def _ids(records, resource, owners):
    return {records[resource][owner].pk for owner in owners}


@pytest.mark.parametrize("resource", sorted(RESOURCES))
@pytest.mark.parametrize("who", sorted(SEES))
def test_list_shows_exactly_the_visible_records(cast, records, api_client, resource, who):
    response = api_client(getattr(cast, who)).get(f"/api/v1/{resource}", {"limit": 200})
    assert response.status_code == 200
    assert {item["id"] for item in response.json()["items"]} == _ids(records, resource, SEES[who])


@pytest.mark.parametrize("resource", sorted(RESOURCES))
@pytest.mark.parametrize("who", sorted(SEES))
def test_detail_is_404_for_invisible_records(cast, records, api_client, resource, who):
    client = api_client(getattr(cast, who))
    for owner in OWNERS:
        record = records[resource][owner]
        response = client.get(f"/api/v1/{resource}/{record.pk}")
        expected = 200 if owner in SEES[who] else 404
        assert response.status_code == expected, (who, owner)
        if expected == 404:
            assert response.json() == {
                "detail": f"{response.json()['detail']}",
                "code": "not_found",
            }
            assert "does not exist" in response.json()["detail"]


@pytest.mark.parametrize("resource", sorted(RESOURCES))
@pytest.mark.parametrize("who", ["alice", "carol", "outsider", "manager"])
def test_nobody_changes_or_deletes_what_they_cannot_see(cast, records, api_client, resource, who):
    model, _, change = RESOURCES[resource]
    client = api_client(getattr(cast, who))
    for owner in OWNERS:
        if owner in SEES[who]:
            continue
        record = records[resource][owner]
        before = model.objects.filter(pk=record.pk).values().get()
        patched = client.patch(f"/api/v1/{resource}/{record.pk}", change)
        deleted = client.delete(f"/api/v1/{resource}/{record.pk}")
        assert (patched.status_code, deleted.status_code) == (404, 404), (who, owner)
        assert model.objects.filter(pk=record.pk).values().get() == before


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_reps_see_all_grants_reading_but_changing_is_403(cast, records, api_client, org, resource):
    org.reps_see_all = True
    org.save()
    model, _, change = RESOURCES[resource]
    client = api_client(cast.alice)
    bobs = records[resource]["bob"]
    before = model.objects.filter(pk=bobs.pk).values().get()

    assert client.get(f"/api/v1/{resource}/{bobs.pk}").status_code == 200
    patched = client.patch(f"/api/v1/{resource}/{bobs.pk}", change)
    deleted = client.delete(f"/api/v1/{resource}/{bobs.pk}")

    assert (patched.status_code, deleted.status_code) == (403, 403)
    assert patched.json()["code"] == "forbidden"
    assert model.objects.filter(pk=bobs.pk).values().get() == before


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_manager_changes_team_records(cast, records, api_client, resource):
    model, _, change = RESOURCES[resource]
    alices = records[resource]["alice"]
    response = api_client(cast.manager).patch(f"/api/v1/{resource}/{alices.pk}", change)
    assert response.status_code == 200
    field, value = next(iter(change.items()))
    assert model.objects.filter(pk=alices.pk).values_list(field, flat=True).get() == value


def test_deal_actions_on_invisible_deal_are_404(cast, records, api_client, pipeline):
    carols = records["deals"]["carol"]
    client = api_client(cast.alice)
    stage = pipeline.stages.last()
    assert client.post(f"/api/v1/deals/{carols.pk}/move", {"stage_id": stage.pk}).status_code == 404
    assert client.post(f"/api/v1/deals/{carols.pk}/win").status_code == 404
    assert client.get(f"/api/v1/deals/{carols.pk}/stage-history").status_code == 404
    carols.refresh_from_db()
    assert (carols.status, carols.stage_id) == ("open", pipeline.stages.first().pk)


def test_references_to_invisible_records_read_as_missing(cast, records, api_client, pipeline):
    carols_company = records["companies"]["carol"]
    carols_contact = records["contacts"]["carol"]
    client = api_client(cast.alice)

    deal = client.post("/api/v1/deals", {"title": "Sneaky", "company_id": carols_company.pk})
    contact = client.post("/api/v1/deals", {"title": "Sneaky", "contact_ids": [carols_contact.pk]})

    assert deal.status_code == contact.status_code == 422
    assert deal.json()["errors"] == {"company_id": "Does not exist."}
    assert contact.json()["errors"] == {"contact_ids": "Does not exist."}
    assert not Deal.objects.filter(title="Sneaky").exists()


def test_rep_cannot_give_records_to_someone_else(cast, api_client):
    response = api_client(cast.alice).post(
        "/api/v1/companies", {"name": "Gift", "owner_id": cast.bob.pk}
    )
    assert response.status_code == 403
    assert not Company.objects.filter(name="Gift").exists()


def test_activity_on_visible_deal_is_visible_even_if_logged_by_someone_else(
    cast, pipeline, api_client
):
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first())
    note = ActivityFactory(owner=cast.carol, deal=deal, kind="note")
    response = api_client(cast.alice).get("/api/v1/activities", {"deal": deal.pk})
    assert [item["id"] for item in response.json()["items"]] == [note.pk]


def test_anonymous_and_bad_tokens_get_401(client, cast):
    assert client.get("/api/v1/deals").status_code == 401
    bad = client.get("/api/v1/deals", HTTP_AUTHORIZATION="Bearer sd_nope")
    assert bad.status_code == 401
    assert bad.json()["code"] == "unauthorized"


def test_deactivated_users_token_stops_working(cast, api_client):
    client = api_client(cast.alice)
    assert client.get("/api/v1/deals").status_code == 200
    cast.alice.is_active = False
    cast.alice.save()
    assert client.get("/api/v1/deals").status_code == 401
