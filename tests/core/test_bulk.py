"""insert_rows writes what bulk_create writes, on SQLite and PostgreSQL."""

import datetime

import pytest
from django.forms.models import model_to_dict

from salesdesk.activities.models import Activity
from salesdesk.capture.models import CapturedAddress, CapturedMessage
from salesdesk.core.bulk import insert_rows
from tests.factories import CompanyFactory, ContactFactory, DealFactory

WHEN = datetime.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=datetime.UTC)


def activity(number, company, deal):
    return Activity(
        kind=Activity.Kind.EMAIL,
        direction=Activity.Direction.INBOUND,
        subject=f"Subject {number} · ünïcode",
        body="Text\nwith lines",
        occurred_at=WHEN + datetime.timedelta(minutes=number),
        duration=datetime.timedelta(minutes=number) if number % 2 else None,
        company=company,
        deal=deal if number % 2 else None,
        source=Activity.Source.IMAP,
        external_id=f"key-{number}",
    )


def stored(model, pks):
    return [model_to_dict(row) for row in model.objects.filter(pk__in=pks).order_by("pk")]


@pytest.mark.django_db
def test_rows_and_primary_keys_are_those_bulk_create_writes(cast, pipeline):
    company = CompanyFactory()
    deal = DealFactory(stage=pipeline.stages.first(), owner=cast.alice, company=company)
    mine = [activity(n, company, deal) for n in range(7)]
    theirs = [activity(n, company, deal) for n in range(7)]
    for row in theirs:
        row.external_id += "-django"

    insert_rows(Activity, mine)
    Activity.objects.bulk_create(theirs)

    assert all(row.pk is not None and not row._state.adding for row in mine)
    ours, django = stored(Activity, [r.pk for r in mine]), stored(Activity, [r.pk for r in theirs])
    for row in (*ours, *django):
        del row["id"]
        row["external_id"] = row["external_id"].removesuffix("-django")
    assert ours == django
    first = Activity.objects.get(pk=mine[0].pk)
    assert first.occurred_at == WHEN  # microseconds and zone kept
    assert first.created_at == first.updated_at == mine[0].created_at  # auto_now fields set


@pytest.mark.django_db
def test_ignore_conflicts_skips_rows_that_exist(cast):
    contact = ContactFactory()
    record = CapturedMessage(
        key="k1",
        status=CapturedMessage.Status.SKIPPED,
        captured_by=cast.alice,
        source=CapturedMessage.Source.EML,
        raw=b"\x00\xff raw bytes",
    )
    insert_rows(CapturedMessage, [record])
    one = Activity.objects.create(kind=Activity.Kind.NOTE, subject="x", occurred_at=WHEN)
    through = Activity.contacts.through

    insert_rows(
        through, [through(activity_id=one.pk, contact_id=contact.pk)], ignore_conflicts=True
    )
    insert_rows(
        through, [through(activity_id=one.pk, contact_id=contact.pk)], ignore_conflicts=True
    )
    insert_rows(CapturedAddress, [CapturedAddress(message=record, match_key="a@b.c", role="to")])

    assert list(one.contacts.values_list("pk", flat=True)) == [contact.pk]
    assert CapturedAddress.objects.get().message_id == record.pk
    assert bytes(CapturedMessage.objects.get(pk=record.pk).raw) == b"\x00\xff raw bytes"


@pytest.mark.django_db
def test_nothing_to_insert_sends_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_rows(Activity, [])
