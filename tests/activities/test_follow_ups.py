"""Suggested follow-ups: an e-mail without an answer becomes a task for its sender."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesdesk.activities import tasks
from salesdesk.activities.follow_ups import follow_ups_suggest
from salesdesk.activities.models import Activity, FollowUp
from tests.factories import ActivityFactory, CompanyFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def jane(cast):
    company = CompanyFactory(name="Acme", owner=cast.alice)
    return ContactFactory(first_name="Jane", last_name="Doe", company=company, owner=cast.alice)


@pytest.fixture
def deal(cast, jane):
    return DealFactory(title="Acme pilot", company=jane.company, owner=cast.alice)


def email(owner, contact, *, days_ago: float, direction="out", deal=None, subject="Proposal"):
    activity = ActivityFactory(
        kind="email",
        direction=direction,
        subject=subject,
        owner=owner,
        company=contact.company,
        deal=deal,
        occurred_at=NOW - days_ago * DAY,
        source="imap",
    )
    activity.contacts.set([contact])
    return activity


def test_an_unanswered_email_becomes_one_task_for_its_sender(cast, jane, deal):
    sent = email(cast.alice, jane, days_ago=8, deal=deal)

    assert follow_ups_suggest(now=NOW) == 1
    assert follow_ups_suggest(now=NOW) == 0  # once

    task = Activity.objects.get(kind="task")
    assert task.subject == "Follow up: no reply to “Proposal”"
    assert task.body == "Jane Doe did not answer your e-mail of 12 Nov 2026 in 7 days."
    assert (task.owner, task.deal, task.company, task.due_at, task.source) == (
        cast.alice,
        deal,
        jane.company,
        NOW,
        "follow_up",
    )
    assert list(task.contacts.all()) == [jane]
    assert FollowUp.objects.get().task == task
    assert FollowUp.objects.get().email == sent


@pytest.mark.parametrize(
    ("kind", "direction"),
    [("email", "in"), ("email", "out"), ("call", "out"), ("meeting", "")],
)
def test_anything_with_the_contact_since_means_no_follow_up(cast, jane, kind, direction):
    email(cast.alice, jane, days_ago=9)
    later = ActivityFactory(
        kind=kind, direction=direction, owner=cast.bob, occurred_at=NOW - 5 * DAY
    )
    later.contacts.set([jane])

    assert follow_ups_suggest(now=NOW) == 0


def test_an_answer_on_the_deal_from_someone_else_counts_too(cast, jane, deal):
    email(cast.alice, jane, days_ago=9, deal=deal)
    someone = ContactFactory(company=jane.company, owner=cast.alice)
    email(cast.alice, someone, days_ago=3, direction="in", deal=deal)

    assert follow_ups_suggest(now=NOW) == 0


def test_only_the_newest_unanswered_email_is_followed_up_when_it_is_due(cast, jane):
    email(cast.alice, jane, days_ago=12, subject="First")
    email(cast.alice, jane, days_ago=5, subject="Second")

    assert follow_ups_suggest(now=NOW) == 0  # the first has the second after it
    assert follow_ups_suggest(now=NOW + 3 * DAY) == 1
    assert Activity.objects.get(kind="task").subject == "Follow up: no reply to “Second”"


def test_the_days_come_from_the_organization(cast, jane, org):
    email(cast.alice, jane, days_ago=4)
    assert follow_ups_suggest(now=NOW) == 0

    org.follow_up_days = 3
    org.save()

    assert follow_ups_suggest(now=NOW) == 1


def test_a_deleted_suggestion_is_not_made_again(cast, jane):
    email(cast.alice, jane, days_ago=8)
    follow_ups_suggest(now=NOW)
    Activity.objects.filter(kind="task").delete()

    assert follow_ups_suggest(now=NOW + DAY) == 0
    assert FollowUp.objects.get().task is None


def test_inbound_mail_old_mail_no_contact_or_a_deactivated_sender_make_nothing(cast, jane):
    email(cast.alice, jane, days_ago=8, direction="in")
    email(cast.alice, jane, days_ago=40)  # past the 30 days looked back
    ActivityFactory(kind="email", direction="out", owner=cast.alice, occurred_at=NOW - 8 * DAY)
    cast.bob.is_active = False
    cast.bob.save()
    email(cast.bob, ContactFactory(owner=cast.bob), days_ago=8)

    assert follow_ups_suggest(now=NOW) == 0


def test_a_run_costs_the_same_queries_for_more_emails(cast):
    def run(count: int) -> int:
        for _ in range(count):
            email(cast.alice, ContactFactory(owner=cast.alice), days_ago=8)
        with CaptureQueriesContext(connection) as queries:
            assert follow_ups_suggest(now=NOW) == count
        return len(queries)

    run(1)  # the first follow-up task also creates the bucket of its due day (rollups)
    one, three = run(1), run(3)

    # the settings, the candidates, their contacts; then the same few writes per e-mail
    per_email = (three - one) // 2
    assert one == 3 + per_email


def test_the_hourly_job_runs_it(cast, jane):
    sent = email(cast.alice, jane, days_ago=0)
    sent.occurred_at = timezone.now() - 8 * DAY
    sent.save(update_fields=["occurred_at"])

    assert tasks.follow_ups_hourly.call_local() == 1
    assert Activity.objects.filter(kind="task", owner=cast.alice).count() == 1
