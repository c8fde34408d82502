"""Saved views of the deal and activity lists (companies and contacts: tests/crm/test_views.py)."""

import pytest
from django.utils import timezone

from salesdesk.crm.models import SavedView
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    DealFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

LISTS = ["deals", "activities"]
FILTER = {"deals": "status=open", "activities": "kind=task"}


@pytest.fixture
def as_alice(client, cast):
    client.force_login(cast.alice)
    return client


def titles(response) -> list[str]:
    return [
        getattr(record, "title", None) or record.subject
        for record in response.context["page"].object_list
    ]


@pytest.fixture
def records(cast, pipeline):
    """Two deals and two activities of Alice, one of each matching FILTER, and Carol's."""
    stage = pipeline.stages.first()
    DealFactory(title="Open deal", owner=cast.alice, stage=stage)
    DealFactory(
        title="Won deal", owner=cast.alice, stage=stage, status="won", closed_at=timezone.now()
    )
    DealFactory(title="Carols deal", owner=cast.carol, stage=stage)
    ActivityFactory(subject="A task", kind="task", owner=cast.alice)
    ActivityFactory(subject="A call", kind="call", owner=cast.alice)
    ActivityFactory(subject="Carols task", kind="task", owner=cast.carol)


@pytest.mark.parametrize("entity", LISTS)
def test_saving_the_filters_of_a_list_as_a_view(as_alice, cast, entity):
    response = as_alice.post(
        "/saved-views/",
        {"entity": entity, "name": "Mine", "query": f"{FILTER[entity]}&page=2&q="},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/{entity}/?{FILTER[entity]}"
    view = SavedView.objects.get()
    assert (view.user, view.entity, view.name, view.query) == (
        cast.alice,
        entity,
        "Mine",
        FILTER[entity],
    )


@pytest.mark.parametrize("entity", LISTS)
def test_a_filtered_list_offers_to_save_its_filters(as_alice, entity):
    filtered = as_alice.get(f"/{entity}/?{FILTER[entity]}&page=1").content.decode()
    unfiltered = as_alice.get(f"/{entity}/").content.decode()

    assert '<input type="hidden" name="entity" value="' + entity + '"' in filtered
    assert f'<input type="hidden" name="query" value="{FILTER[entity]}"' in filtered
    assert "Save view</button>" in filtered
    assert "Save view</button>" not in unfiltered
    assert "none yet" in unfiltered


@pytest.mark.parametrize("entity", LISTS)
def test_saved_views_are_listed_as_links_that_open_them(as_alice, cast, records, entity):
    SavedView.objects.create(user=cast.alice, entity=entity, name="Mine", query=FILTER[entity])
    link = f'href="/{entity}/?{FILTER[entity]}">Mine</a>'

    listed = as_alice.get(f"/{entity}/").content.decode()
    opened = as_alice.get(f"/{entity}/?{FILTER[entity]}")

    assert f'<a class="btn btn-outline-primary" {link}' in listed
    page = opened.content.decode()
    assert f'<a class="btn btn-outline-primary active" aria-current="true" {link}' in page
    assert titles(opened) == {"deals": ["Open deal"], "activities": ["A task"]}[entity]


@pytest.mark.parametrize("entity", LISTS)
def test_each_list_shows_only_its_own_saved_views(as_alice, cast, entity):
    for other in ("companies", "contacts", "deals", "activities"):
        SavedView.objects.create(user=cast.alice, entity=other, name=f"View of {other}", query="")

    page = as_alice.get(f"/{entity}/").content.decode()

    assert [
        name
        for name in ("companies", "contacts", "deals", "activities")
        if f"View of {name}" in page
    ] == [entity]


@pytest.mark.parametrize("entity", LISTS)
def test_saved_views_belong_to_their_user(as_alice, cast, entity):
    SavedView.objects.create(user=cast.bob, entity=entity, name="Bobs view", query="q=b")

    page = as_alice.get(f"/{entity}/").content.decode()

    assert "Bobs view" not in page


@pytest.mark.parametrize("entity", LISTS)
def test_deleting_a_saved_view_goes_back_to_its_list(as_alice, cast, entity):
    view = SavedView.objects.create(user=cast.alice, entity=entity, name="X", query="q=x")

    response = as_alice.post(f"/saved-views/{view.pk}/delete/", follow=True)

    assert response.redirect_chain == [(f"/{entity}/", 302)]
    assert "View “X” deleted." in response.content.decode()
    assert not SavedView.objects.exists()


@pytest.mark.parametrize("entity", LISTS)
def test_another_users_saved_view_cannot_be_deleted(as_alice, cast, entity):
    view = SavedView.objects.create(user=cast.bob, entity=entity, name="X", query="q=x")

    response = as_alice.post(f"/saved-views/{view.pk}/delete/")

    assert response.status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


@pytest.mark.parametrize("entity", LISTS)
def test_a_view_without_a_name_is_refused_with_a_message(as_alice, entity):
    response = as_alice.post(
        "/saved-views/", {"entity": entity, "name": "  ", "query": FILTER[entity]}, follow=True
    )

    assert response.redirect_chain == [(f"/{entity}/?{FILTER[entity]}", 302)]
    assert "Give the view a name (at most 60 characters)." in response.content.decode()
    assert not SavedView.objects.exists()


def test_deal_list_query_count_with_saved_views(client, cast, pipeline, django_assert_num_queries):
    stage = pipeline.stages.first()
    for number in range(12):
        deal = DealFactory(title=f"Deal {number}", owner=cast.alice, stage=stage)
        deal.tags.add(TagFactory(name=f"tag {number}"))
        deal.contacts.add(ContactFactory(owner=cast.alice))
    for name in ("Open", "Won", "Lost"):
        SavedView.objects.create(user=cast.alice, entity="deals", name=name, query="status=open")
    client.force_login(cast.alice)

    # session, user, settings, count, owner, team, pipeline, stage, lead source and tag
    # choices, saved views, page, contacts, tags
    with django_assert_num_queries(14):
        response = client.get("/deals/", {"status": "open"})

    assert len(response.context["page"].object_list) == 12
    assert response.content.decode().count('href="/deals/?status=open"') == 3


def test_activity_list_query_count_with_saved_views(
    client, cast, pipeline, django_assert_num_queries
):
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first())
    company = CompanyFactory(owner=cast.alice)
    for number in range(12):
        activity = ActivityFactory(
            subject=f"Task {number}", kind="task", owner=cast.alice, company=company, deal=deal
        )
        activity.contacts.set(ContactFactory.create_batch(2, owner=cast.alice))
    for name in ("Tasks", "Calls", "Mine"):
        SavedView.objects.create(user=cast.alice, entity="activities", name=name, query="kind=task")
    client.force_login(cast.alice)

    # session, user, settings, count, rows (with owner, company, deal), contacts, owner
    # choices, saved views
    with django_assert_num_queries(8):
        response = client.get("/activities/", {"kind": "task"})

    assert len(response.context["page"].object_list) == 12
    assert response.content.decode().count('href="/activities/?kind=task"') == 3
