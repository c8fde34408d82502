import datetime

import pytest

from salesdesk.activities.models import Activity
from tests.factories import ActivityFactory, CompanyFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db


def test_log_call_on_deal_fills_company(cast, pipeline, api_client):
    company = CompanyFactory(owner=cast.alice)
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first(), company=company)
    contact = ContactFactory(owner=cast.alice)
    response = api_client(cast.alice).post(
        "/api/v1/activities",
        {
            "kind": "call",
            "direction": "out",
            "subject": "Discovery",
            "deal_id": deal.pk,
            "contact_ids": [contact.pk],
            "duration_seconds": 900,
            "occurred_at": "2026-11-20T10:00:00+01:00",
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["company"]["id"] == company.pk
    assert body["duration_seconds"] == 900
    assert body["source"] == "api"
    assert body["occurred_at"].startswith("2026-11-20T09:00:00")


def test_same_external_id_creates_nothing_new(cast, api_client):
    client = api_client(cast.alice)
    payload = {"kind": "email", "subject": "Hello", "external_id": "<abc@mail.example>"}
    first = client.post("/api/v1/activities", payload)
    second = client.post("/api/v1/activities", {**payload, "subject": "Changed"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Activity.objects.count() == 1
    assert Activity.objects.get().subject == "Hello"


def test_task_done_and_filters(cast, api_client):
    client = api_client(cast.alice)
    task = client.post(
        "/api/v1/activities",
        {"kind": "task", "subject": "Send quote", "due_at": "2026-12-01T09:00:00Z"},
    ).json()
    assert task["due_at"].startswith("2026-12-01T09:00:00")
    open_tasks = client.get("/api/v1/activities", {"kind": "task", "done": "false"}).json()["items"]
    assert [t["id"] for t in open_tasks] == [task["id"]]
    done = client.post(f"/api/v1/activities/{task['id']}/complete", {"done": True}).json()
    assert done["done_at"] is not None
    assert client.get("/api/v1/activities", {"kind": "task", "done": "false"}).json()["items"] == []


def test_timeline_pages_newest_first(cast, api_client):
    company = CompanyFactory(owner=cast.alice)
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    made = [
        ActivityFactory(
            owner=cast.alice, company=company, occurred_at=base + datetime.timedelta(hours=i % 3)
        )
        for i in range(7)
    ]
    client = api_client(cast.alice)
    seen, cursor = [], None
    while True:
        params = {"company": company.pk, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/activities", params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = [a.pk for a in sorted(made, key=lambda a: (a.occurred_at, a.pk), reverse=True)]
    assert seen == expected


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "fax"}, "kind"),
        ({"kind": "call", "duration_seconds": -1}, "duration"),
        ({"kind": "call", "occurred_at": "yesterday"}, "occurred_at"),
        ({"kind": "call", "subject": "a\x00b"}, ""),
    ],
)
def test_bad_activity_input_is_422(cast, api_client, payload, field):
    response = api_client(cast.alice).post("/api/v1/activities", payload)
    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert not Activity.objects.exists()


def test_activity_list_query_count_is_constant(cast, api_client, django_assert_num_queries):
    company = CompanyFactory(owner=cast.alice)
    for _ in range(30):
        activity = ActivityFactory(owner=cast.alice, company=company)
        activity.contacts.add(ContactFactory(owner=cast.alice))
    client = api_client(cast.alice)
    client.get("/api/v1/activities")
    # token, settings, activities, contacts
    with django_assert_num_queries(4):
        response = client.get("/api/v1/activities", {"company": company.pk, "limit": 30})
    assert len(response.json()["items"]) == 30


def test_odd_utc_offsets_are_stored_in_utc(cast, api_client):
    response = api_client(cast.alice).post(
        "/api/v1/activities", {"kind": "note", "occurred_at": "2026-03-26T21:49:52+20:54"}
    )
    assert response.status_code == 201
    assert response.json()["occurred_at"] == "2026-03-26T00:55:52Z"
