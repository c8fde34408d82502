"""The activity list's CSV export: the filtered, visible activities, streamed."""

import csv
import datetime
import io

import pytest

from salesdesk.activities.models import Activity
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
HEADER = [
    "id",
    "kind",
    "direction",
    "subject",
    "occurred_at",
    "due_at",
    "done_at",
    "duration_minutes",
    "owner",
    "company",
    "contacts",
    "deal",
    "source",
]


@pytest.fixture
def as_alice(client, cast):
    cast.alice.timezone = "Europe/Berlin"  # the export is in UTC whatever the user's zone
    cast.alice.save()
    client.force_login(cast.alice)
    return client


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def logged(cast, pipeline):
    """Alice's call and task, Bob's call on Alice's deal (she sees it), Carol's call."""
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", owner=cast.alice)
    ContactEmailFactory(contact=ada, email="ada@acme.example")
    grace = ContactFactory(first_name="Grace", last_name="Hopper", owner=cast.alice)
    deal = DealFactory(title="Acme renewal", owner=cast.alice, stage=pipeline.stages.first())
    call = ActivityFactory(
        kind=Activity.Kind.CALL,
        direction=Activity.Direction.OUTBOUND,
        subject="Pricing call",
        occurred_at=datetime.datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        duration=datetime.timedelta(minutes=45),
        owner=cast.alice,
        company=acme,
        deal=deal,
    )
    call.contacts.set([ada, grace])
    task = ActivityFactory(
        kind=Activity.Kind.TASK,
        subject='=HYPERLINK("http://x")',
        occurred_at=datetime.datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
        due_at=datetime.datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
        done_at=datetime.datetime(2026, 11, 22, 7, 15, 30, tzinfo=UTC),
        owner=cast.alice,
        source=Activity.Source.API,
    )
    on_her_deal = ActivityFactory(
        subject="Bob called",
        occurred_at=datetime.datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        owner=cast.bob,
        deal=deal,
    )
    ActivityFactory(subject="Carol called", owner=cast.carol)
    ActivityFactory(subject="Bob alone", owner=cast.bob)
    return {"call": call, "task": task, "on_her_deal": on_her_deal}


def test_export_writes_every_column_of_the_visible_activities(as_alice, logged):
    response = as_alice.get("/activities/export/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="activities.csv"'
    call, task, bobs = logged["call"], logged["task"], logged["on_her_deal"]
    assert csv_rows(response) == [
        HEADER,
        [
            str(call.pk),
            "call",
            "out",
            "Pricing call",
            "2026-11-20T09:30:00+00:00",
            "",
            "",
            "45",
            "alice@salesdesk.test",
            "Acme",
            "Grace Hopper; Ada Lovelace <ada@acme.example>",  # by last name
            "Acme renewal",
            "manual",
        ],
        [
            str(task.pk),
            "task",
            "",
            '\'=HYPERLINK("http://x")',
            "2026-11-21T08:00:00+00:00",
            "2026-11-23T16:00:00+00:00",
            "2026-11-22T07:15:30+00:00",
            "",
            "alice@salesdesk.test",
            "",
            "",
            "",
            "api",
        ],
        [
            str(bobs.pk),
            "call",
            "",
            "Bob called",
            "2026-11-22T10:00:00+00:00",
            "",
            "",
            "",
            "bob@salesdesk.test",
            "",
            "",
            "Acme renewal",
            "manual",
        ],
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "call"}, ["call", "on_her_deal"]),
        ({"status": "done"}, ["task"]),
        ({"q": "pricing"}, ["call"]),
        ({"owner": "bob"}, ["on_her_deal"]),
        # Days are the user's (Berlin): the 21st runs from 23:00 UTC on the 20th.
        ({"occurred_after": "2026-11-21", "occurred_before": "2026-11-21"}, ["task"]),
        ({"kind": "call", "page": "2"}, ["call", "on_her_deal"]),
    ],
)
def test_export_holds_exactly_the_rows_the_list_shows(as_alice, cast, logged, query, expected):
    if query.get("owner") == "bob":
        query = {**query, "owner": cast.bob.pk}
    listed = as_alice.get("/activities/", {key: v for key, v in query.items() if key != "page"})

    exported = csv_rows(as_alice.get("/activities/export/", query))

    expected_ids = sorted(logged[name].pk for name in expected)
    assert sorted(activity.pk for activity in listed.context["page"].object_list) == expected_ids
    assert [int(row[0]) for row in exported[1:]] == expected_ids


def test_a_manager_exports_the_activities_of_the_team(client, cast, logged):
    client.force_login(cast.manager)

    rows = csv_rows(client.get("/activities/export/"))

    assert sorted(row[3] for row in rows[1:]) == [
        '\'=HYPERLINK("http://x")',
        "Bob alone",
        "Bob called",
        "Pricing call",
    ]


def test_export_needs_sign_in(client):
    response = client.get("/activities/export/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/activities/export/"


def test_export_query_count_does_not_grow_with_rows(
    client, cast, pipeline, django_assert_num_queries
):
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first())
    company = CompanyFactory(owner=cast.alice)
    for _ in range(30):
        activity = ActivityFactory(owner=cast.alice, company=company, deal=deal)
        contacts = ContactFactory.create_batch(2, owner=cast.alice)
        for contact in contacts:
            ContactEmailFactory(contact=contact)
        activity.contacts.set(contacts)
    client.force_login(cast.alice)

    # session, user, organization settings (visibility), activities (with owner, company,
    # deal), their contacts, the contacts' e-mails
    with django_assert_num_queries(6):
        rows = csv_rows(client.get("/activities/export/", {"kind": "call"}))

    assert len(rows) == 31
    assert all(row[10].count("@") == 2 for row in rows[1:])


def test_the_list_links_the_export_with_its_filters(as_alice):
    page = as_alice.get("/activities/", {"kind": "task", "page": "2"}).content.decode()

    assert 'href="/activities/export/?kind=task" download>Export CSV</a>' in page
