"""My day, the home page: the user's tasks by their own calendar day, and deals to move on."""

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities.models import Activity
from salesdesk.activities.my_day import my_day
from salesdesk.activities.selectors import activity_list
from salesdesk.analytics import rollups
from tests.factories import ActivityFactory, CompanyFactory, DealFactory

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = datetime.UTC


def task(owner, subject, due_at, **fields):
    return ActivityFactory(
        kind=Activity.Kind.TASK, owner=owner, subject=subject, due_at=due_at, **fields
    )


def subjects(group) -> list[str]:
    return [str(t) for t in group.tasks]


@pytest.fixture
def berliner(cast):
    cast.alice.timezone = "Europe/Berlin"
    cast.alice.save(update_fields=["timezone"])
    return cast.alice


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_tasks_are_grouped_by_the_users_own_calendar_day(berliner, cast):
    # 23:30 UTC on 10 March is already 00:30 on 11 March in Berlin.
    now = datetime.datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    task(berliner, "Late on the 10th", datetime.datetime(2026, 3, 10, 22, 0, tzinfo=UTC))
    task(berliner, "Last week", datetime.datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    task(berliner, "Morning of the 11th", datetime.datetime(2026, 3, 11, 8, 0, tzinfo=UTC))
    task(berliner, "Evening of the 11th", datetime.datetime(2026, 3, 11, 22, 30, tzinfo=UTC))
    task(berliner, "In a week", datetime.datetime(2026, 3, 18, 21, 0, tzinfo=UTC))
    task(berliner, "In eight days", datetime.datetime(2026, 3, 19, 9, 0, tzinfo=UTC))
    task(berliner, "Done already", datetime.datetime(2026, 3, 11, 9, 0, tzinfo=UTC), done_at=now)
    task(cast.bob, "Bob's task", datetime.datetime(2026, 3, 11, 9, 0, tzinfo=UTC))
    ActivityFactory(kind=Activity.Kind.CALL, owner=berliner, due_at=now, subject="A call")

    day = my_day(user=berliner, now=now)

    overdue, today, upcoming = day.groups
    assert day.today == datetime.date(2026, 3, 11)
    assert subjects(overdue) == ["Late on the 10th", "Last week"]
    assert subjects(today) == ["Morning of the 11th", "Evening of the 11th"]
    assert subjects(upcoming) == ["In a week"]
    assert [overdue.count, today.count, upcoming.count] == [2, 2, 1]


def test_the_same_tasks_fall_on_other_days_in_utc(cast):
    now = datetime.datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    task(cast.alice, "Late on the 10th", datetime.datetime(2026, 3, 10, 22, 0, tzinfo=UTC))
    task(cast.alice, "Evening of the 11th", datetime.datetime(2026, 3, 11, 22, 30, tzinfo=UTC))

    overdue, today, upcoming = my_day(user=cast.alice, now=now).groups

    assert (subjects(overdue), subjects(today)) == ([], ["Late on the 10th"])
    assert subjects(upcoming) == ["Evening of the 11th"]


def test_deals_to_move_on_are_the_users_open_deals_due_or_stale(cast, pipeline):
    now = timezone.now()
    today = timezone.localdate()
    lead = pipeline.stages.get(name="Lead")  # stale after 14 days
    yesterday = today - datetime.timedelta(days=1)
    due = DealFactory(owner=cast.alice, stage=lead, title="Due today", next_step_due=today)
    late = DealFactory(owner=cast.alice, stage=lead, title="Overdue", next_step_due=yesterday)
    stale = DealFactory(
        owner=cast.alice,
        stage=lead,
        title="Stale",
        stage_entered_at=now - datetime.timedelta(days=15, hours=1),
    )
    DealFactory(
        owner=cast.alice,
        stage=lead,
        title="Fourteen days in stage",
        stage_entered_at=now - datetime.timedelta(days=14, hours=23),
    )
    DealFactory(
        owner=cast.alice,
        stage=lead,
        title="Later",
        next_step_due=today + datetime.timedelta(days=1),
    )
    DealFactory(owner=cast.bob, stage=lead, title="Bob's", next_step_due=yesterday)
    DealFactory(
        owner=cast.alice,
        stage=lead,
        title="Won",
        next_step_due=yesterday,
        status="won",
        closed_at=now,
    )

    day = my_day(user=cast.alice, now=now)

    assert [d.pk for d in day.deals] == [late.pk, due.pk, stale.pk]
    assert day.deals_count == 3
    assert all(d.is_stale == (d.pk == stale.pk) for d in day.deals)


def test_my_day_page_shows_counts_groups_and_deals(cast, pipeline, django_assert_num_queries):
    now = timezone.now()
    company = CompanyFactory(owner=cast.alice, name="Acme")
    deal = DealFactory(
        owner=cast.alice,
        stage=pipeline.stages.get(name="Lead"),
        company=company,
        title="Acme renewal",
        next_step="Send the proposal",
        next_step_due=timezone.localdate() - datetime.timedelta(days=2),
    )
    for n in range(3):
        task(
            cast.alice,
            f"Overdue {n}",
            now - datetime.timedelta(days=n + 2),
            deal=deal,
            company=company,
        )
        task(cast.alice, f"Upcoming {n}", now + datetime.timedelta(days=n + 2), company=company)
    task(cast.bob, "Bob's task", now)
    client = signed_in(cast.alice)

    with django_assert_num_queries(9):
        response = client.get("/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Welcome, Alice" in page
    assert (
        '<span class="d-block fs-3 fw-semibold text-danger" data-count="overdue">3</span>' in page
    )
    assert '<span class="d-block fs-3 fw-semibold" data-count="today">0</span>' in page
    assert '<span class="d-block fs-3 fw-semibold" data-count="upcoming">3</span>' in page
    assert '<span class="d-block fs-3 fw-semibold" data-count="deals">1</span>' in page
    assert page.count('aria-label="Mark “Overdue') == 3
    assert "No tasks due today." in page
    assert "Bob&#x27;s task" not in page
    assert f'<a href="/deals/{deal.pk}/">Acme renewal</a>' in page
    assert "Send the proposal" in page


def test_an_empty_day_says_what_to_do(cast):
    page = signed_in(cast.carol).get("/").content.decode()

    assert "Nothing overdue. Well done." in page
    assert "No tasks due today." in page
    assert "No deal waits for a next step." in page


def test_managers_see_their_own_day_not_the_teams(cast):
    task(cast.manager, "Coach Bob", timezone.now())
    task(cast.bob, "Bob's call", timezone.now())

    page = signed_in(cast.manager).get("/").content.decode()

    assert "Coach Bob" in page
    assert "Bob&#x27;s call" not in page


def test_marking_a_task_done_with_htmx_returns_the_day_and_logs_it(cast, django_assert_num_queries):
    done = task(cast.alice, "Call Bert", timezone.now())
    task(cast.alice, "Still open", timezone.now())
    rollups.rebuild()  # the tasks were written directly: count them in their buckets
    client = signed_in(cast.alice)

    # 15, and 5 to move the task from the owner's open-task bucket to the activity rollup
    # (analytics/rollups.py: the settings, the stored task, an UPDATE of its open-task bucket,
    # which keeps the other task, an UPDATE of its month's bucket and, as that is new, an
    # INSERT; on PostgreSQL one more takes the owner's advisory lock)
    with django_assert_num_queries(20 + (connection.vendor == "postgresql")):
        response = client.post(f"/my-day/tasks/{done.pk}/done/", HTTP_HX_REQUEST="true")

    done.refresh_from_db()
    page = response.content.decode()
    assert response.status_code == 200
    assert done.done_at is not None
    assert page.startswith('\n<div id="my-day">')
    assert "“Call Bert” is done." in page
    assert 'name="done" value="0"' in page  # the undo
    assert '<span class="d-block fs-3 fw-semibold" data-count="today">1</span>' in page
    assert [a.pk for a in activity_list(actor=cast.alice, is_done=True)] == [done.pk]


def test_marking_a_task_done_without_javascript_redirects_with_a_message(cast):
    open_task = task(cast.alice, "Call Bert", timezone.now())
    client = signed_in(cast.alice)

    response = client.post(f"/my-day/tasks/{open_task.pk}/done/", follow=True)

    open_task.refresh_from_db()
    assert response.redirect_chain == [("/", 302)]
    assert open_task.done_at is not None
    assert "“Call Bert” is done." in response.content.decode()


def test_undo_opens_the_task_again(cast):
    done = task(cast.alice, "Call Bert", timezone.now(), done_at=timezone.now())

    response = signed_in(cast.alice).post(
        f"/my-day/tasks/{done.pk}/done/", {"done": "0"}, HTTP_HX_REQUEST="true"
    )

    done.refresh_from_db()
    assert response.status_code == 200
    assert done.done_at is None
    assert "“Call Bert” is open again." in response.content.decode()


def test_a_task_you_cannot_see_is_not_found_and_stays_open(cast):
    bobs = task(cast.bob, "Bob's task", timezone.now())

    response = signed_in(cast.alice).post(f"/my-day/tasks/{bobs.pk}/done/", HTTP_HX_REQUEST="true")

    bobs.refresh_from_db()
    assert response.status_code == 404
    assert bobs.done_at is None


def test_a_task_you_see_but_cannot_change_is_refused(cast):
    OrganizationSettings.objects.update(reps_see_all=True)
    bobs = task(cast.bob, "Bob's task", timezone.now())

    response = signed_in(cast.alice).post(f"/my-day/tasks/{bobs.pk}/done/", HTTP_HX_REQUEST="true")

    bobs.refresh_from_db()
    assert response.status_code == 403
    assert response.content.decode() == "You cannot change this activity."
    assert bobs.done_at is None


def test_a_manager_may_mark_a_team_members_task_done(cast):
    bobs = task(cast.bob, "Bob's task", timezone.now())

    response = signed_in(cast.manager).post(f"/my-day/tasks/{bobs.pk}/done/")

    bobs.refresh_from_db()
    assert response.status_code == 302
    assert bobs.done_at is not None


def test_only_tasks_can_be_marked_done_here(cast):
    call = ActivityFactory(owner=cast.alice, kind=Activity.Kind.CALL)

    response = signed_in(cast.alice).post(f"/my-day/tasks/{call.pk}/done/")

    call.refresh_from_db()
    assert response.status_code == 404
    assert call.done_at is None


def test_done_takes_only_post(cast):
    open_task = task(cast.alice, "Call Bert", timezone.now())

    response = signed_in(cast.alice).get(f"/my-day/tasks/{open_task.pk}/done/")

    assert response.status_code == 405


def test_adding_a_task_sets_its_due_time_in_the_users_time_zone(berliner):
    response = signed_in(berliner).post(
        "/my-day/tasks/",
        {"subject": "  Send the contract ", "due_date": "2026-03-12", "due_time": "14:30"},
        HTTP_HX_REQUEST="true",
    )

    added = Activity.objects.get()
    assert response.status_code == 200
    assert "Task “Send the contract” added." in response.content.decode()
    assert (added.kind, added.owner, added.subject) == ("task", berliner, "Send the contract")
    assert added.due_at == datetime.datetime(2026, 3, 12, 14, 30, tzinfo=BERLIN)
    assert added.done_at is None


def test_a_task_without_a_time_is_due_at_nine(cast):
    response = signed_in(cast.alice).post(
        "/my-day/tasks/", {"subject": "Plan the week", "due_date": "2026-03-12"}
    )

    assert response.status_code == 302
    assert Activity.objects.get().due_at == datetime.datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"subject": "", "due_date": "2026-03-12"}, "subject", "This field is required."),
        ({"subject": "x" * 256, "due_date": "2026-03-12"}, "subject", "at most 255 characters"),
        ({"subject": "Call", "due_date": "next tuesday"}, "due_date", "Enter a valid date."),
        (
            {"subject": "Call", "due_date": "2026-03-12", "due_time": "25:00"},
            "due_time",
            "Enter a valid time.",
        ),
    ],
)
def test_bad_task_input_shows_an_error_next_to_the_field(cast, data, field, message):
    response = signed_in(cast.alice).post("/my-day/tasks/", data, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert response.status_code == 422
    assert f'aria-describedby="id_{field}_error"' in page
    assert message in page
    assert not Activity.objects.exists()


def test_my_day_needs_signing_in(client):
    assert client.get("/")["Location"] == "/login/?next=/"
    assert client.post("/my-day/tasks/", {"subject": "x"})["Location"].startswith("/login/")
