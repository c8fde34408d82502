"""Activity pages and the timeline actions record pages post to (quick actions, done, delete)."""

import datetime
import re

import pytest
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities.models import Activity
from salesdesk.pipeline.models import StageChange
from tests.factories import ActivityFactory, CompanyFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_alice(client, cast):
    client.force_login(cast.alice)
    return client


@pytest.fixture
def ada(cast):
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    return ContactFactory(first_name="Ada", last_name="Lovelace", company=acme, owner=cast.alice)


def log_call(client, contact, **fields):
    data = {
        "kind": "call",
        "timeline_for": "contact",
        "timeline_id": contact.pk,
        "contact": contact.pk,
        "direction": "out",
        "subject": "Intro call",
        "body": "Talked budget.",
        "duration_minutes": "25",
        "occurred_at": "2026-03-02T09:30",
        "next": f"/contacts/{contact.pk}/",
        **fields,
    }
    return client.post("/activities/new/", data, **HTMX)


# --- Quick actions ------------------------------------------------------------------------


def test_logging_a_call_from_a_contact_returns_the_refreshed_timeline(as_alice, cast, ada):
    cast.alice.timezone = "Europe/Berlin"
    cast.alice.save()

    response = log_call(as_alice, ada)

    assert response.status_code == 200
    call = Activity.objects.get()
    assert (call.kind, call.direction, call.subject, call.body, call.owner) == (
        "call",
        "out",
        "Intro call",
        "Talked budget.",
        cast.alice,
    )
    assert call.duration == datetime.timedelta(minutes=25)
    assert call.occurred_at == datetime.datetime(2026, 3, 2, 8, 30, tzinfo=datetime.UTC)
    assert list(call.contacts.all()) == [ada]
    assert call.company == ada.company
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="timeline"')
    assert f'id="activity-{call.pk}"' in page
    assert "Call saved." in page
    assert 'hx-swap-oob="true"' in page
    assert '<form id="quick-call"' in page  # a blank form replaces the one just sent


def test_a_quick_note_without_text_comes_back_with_the_error(as_alice, ada):
    response = as_alice.post(
        "/activities/new/",
        {"kind": "note", "timeline_for": "contact", "timeline_id": ada.pk, "contact": ada.pk},
        **HTMX,
    )

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#quick-note"
    assert response["HX-Reswap"] == "outerHTML"
    assert "Write the note." in response.content.decode()
    assert 'id="quick-note-body_error"' in response.content.decode()
    assert not Activity.objects.exists()


def test_scheduling_a_task_from_a_company(as_alice, cast):
    acme = CompanyFactory(owner=cast.alice)

    response = as_alice.post(
        "/activities/new/",
        {
            "kind": "task",
            "timeline_for": "company",
            "timeline_id": acme.pk,
            "company": acme.pk,
            "subject": "Send proposal",
            "due_at": "2026-04-01T15:00",
        },
        **HTMX,
    )

    assert response.status_code == 200
    task = Activity.objects.get()
    assert (task.kind, task.subject, task.company, task.done_at) == (
        "task",
        "Send proposal",
        acme,
        None,
    )
    assert task.due_at == datetime.datetime(2026, 4, 1, 15, 0, tzinfo=datetime.UTC)


def test_a_task_needs_a_due_date(as_alice, cast):
    acme = CompanyFactory(owner=cast.alice)

    response = as_alice.post(
        "/activities/new/",
        {"kind": "task", "timeline_for": "company", "timeline_id": acme.pk, "subject": "X"},
        **HTMX,
    )

    assert response.status_code == 422
    assert "Pick when it is due." in response.content.decode()
    assert not Activity.objects.exists()


def test_quick_actions_on_an_invisible_record_are_404(as_alice, cast):
    hidden = ContactFactory(owner=cast.carol)

    response = log_call(as_alice, hidden)

    assert response.status_code == 404
    assert not Activity.objects.exists()


def test_linking_an_invisible_deal_is_refused(as_alice, cast, ada, pipeline):
    hidden = DealFactory(owner=cast.carol, stage=pipeline.stages.first())

    response = log_call(as_alice, ada, deal=hidden.pk)

    assert response.status_code == 422
    assert not Activity.objects.exists()


def test_without_htmx_a_quick_action_returns_to_the_record(as_alice, ada):
    response = as_alice.post(
        "/activities/new/",
        {
            "kind": "note",
            "body": "Met at the fair.",
            "timeline_for": "contact",
            "timeline_id": ada.pk,
            "contact": ada.pk,
            "next": f"/contacts/{ada.pk}/",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{ada.pk}/"
    assert Activity.objects.get().body == "Met at the fair."


def test_next_to_another_site_is_ignored(as_alice, ada):
    response = as_alice.post(
        "/activities/new/",
        {
            "kind": "note",
            "body": "x",
            "timeline_for": "contact",
            "timeline_id": ada.pk,
            "next": "https://evil.example/",
        },
    )

    assert response["Location"] == f"/contacts/{ada.pk}/"


def test_a_deal_page_posts_with_the_deal_and_gets_the_deal_timeline(as_alice, cast, pipeline):
    lead, qualified = pipeline.stages.all()[:2]
    deal = DealFactory(owner=cast.alice, stage=qualified, company=CompanyFactory(owner=cast.alice))
    StageChange.objects.create(
        deal=deal,
        from_stage=lead,
        to_stage=qualified,
        by=cast.alice,
        at=timezone.now() - datetime.timedelta(days=1),
    )

    response = as_alice.post(
        "/activities/new/",
        {
            "kind": "note",
            "body": "Champion found.",
            "deal": deal.pk,
            "timeline_for": "deal",
            "timeline_id": deal.pk,
        },
        **HTMX,
    )

    note = Activity.objects.get()
    assert (note.deal, note.company) == (deal, deal.company)
    page = response.content.decode()
    change = StageChange.objects.get()
    assert page.index(f'id="activity-{note.pk}"') < page.index(f'id="stage-change-{change.pk}"')
    assert "Deal moved from <strong>Lead</strong> to <strong>Qualified</strong>" in page


# --- Done, edit, delete -------------------------------------------------------------------


def test_marking_a_task_done_from_the_timeline(as_alice, cast, ada):
    task = ActivityFactory(kind="task", subject="Call back", owner=cast.alice)
    task.contacts.set([ada])

    response = as_alice.post(
        f"/activities/{task.pk}/done/",
        {"timeline_for": "contact", "timeline_id": ada.pk},
        **HTMX,
    )

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.done_at is not None
    page = response.content.decode()
    assert "“Call back” is done." in page
    assert "Done " in page
    assert ">Reopen</button>" in page


def test_reopening_a_done_task(as_alice, cast):
    task = ActivityFactory(kind="task", owner=cast.alice, done_at=timezone.now())

    response = as_alice.post(f"/activities/{task.pk}/done/", {"done": "0"})

    assert response["Location"] == "/activities/"
    task.refresh_from_db()
    assert task.done_at is None


def test_marking_done_from_the_activity_list_returns_the_row(as_alice, cast):
    task = ActivityFactory(kind="task", subject="Call back", owner=cast.alice)

    response = as_alice.post(f"/activities/{task.pk}/done/", **HTMX)

    page = response.content.decode()
    assert page.lstrip().startswith(f'<tr id="activity-row-{task.pk}">')
    assert '<span class="badge text-bg-success">Done</span>' in page


def test_invisible_activities_are_404_for_every_action(as_alice, cast):
    task = ActivityFactory(kind="task", subject="Hidden", owner=cast.carol)

    for path in ("done", "edit", "delete"):
        assert as_alice.post(f"/activities/{task.pk}/{path}/", {"subject": "x"}).status_code == 404
    assert as_alice.get(f"/activities/{task.pk}/edit/").status_code == 404
    task.refresh_from_db()
    assert (task.subject, task.done_at) == ("Hidden", None)


def test_a_rep_cannot_complete_or_edit_another_reps_task_when_reps_see_all(as_alice, cast):
    settings = OrganizationSettings.get()
    settings.reps_see_all = True
    settings.save()
    task = ActivityFactory(kind="task", subject="Bobs", owner=cast.bob)

    done = as_alice.post(f"/activities/{task.pk}/done/")
    edit_page = as_alice.get(f"/activities/{task.pk}/edit/")
    edit = as_alice.post(f"/activities/{task.pk}/edit/", {"kind": "task", "subject": "Mine"})
    delete = as_alice.post(f"/activities/{task.pk}/delete/")

    assert done.status_code == 302  # back to the list, with the refusal as a message
    assert edit_page.status_code == 403
    assert edit.status_code == 403
    assert "You can see this activity but not change it." in edit.content.decode()
    assert delete.status_code == 302
    task.refresh_from_db()
    assert (task.subject, task.done_at) == ("Bobs", None)
    assert Activity.objects.filter(pk=task.pk).exists()


def test_editing_an_activity_returns_to_next(as_alice, cast, ada):
    call = ActivityFactory(subject="Old", owner=cast.alice)
    call.contacts.set([ada])

    response = as_alice.post(
        f"/activities/{call.pk}/edit/",
        {
            "kind": "call",
            "subject": "New",
            "occurred_at": "2026-01-05T10:00",
            "contact": ada.pk,
            "next": f"/contacts/{ada.pk}/",
        },
    )

    assert response["Location"] == f"/contacts/{ada.pk}/"
    call.refresh_from_db()
    assert call.subject == "New"
    assert list(call.contacts.all()) == [ada]


def test_deleting_from_the_timeline_returns_it_without_the_activity(as_alice, cast, ada):
    call = ActivityFactory(subject="Gone soon", owner=cast.alice)
    call.contacts.set([ada])

    response = as_alice.post(
        f"/activities/{call.pk}/delete/",
        {"timeline_for": "contact", "timeline_id": ada.pk},
        **HTMX,
    )

    assert response.status_code == 200
    assert not Activity.objects.exists()
    page = response.content.decode()
    assert "Call deleted." in page
    assert "Gone soon" not in page
    assert "Nothing here yet" in page


def test_deleting_asks_first_without_javascript(as_alice, cast):
    call = ActivityFactory(subject="Gone soon", owner=cast.alice)

    confirm = as_alice.get(f"/activities/{call.pk}/delete/")
    response = as_alice.post(f"/activities/{call.pk}/delete/")

    assert "Delete this call?" in confirm.content.decode()
    assert response["Location"] == "/activities/"
    assert not Activity.objects.exists()


def test_the_full_form_logs_a_meeting(as_alice, cast, ada):
    response = as_alice.post(
        "/activities/new/",
        {
            "kind": "meeting",
            "subject": "Demo",
            "occurred_at": "2026-02-01T14:00",
            "duration_minutes": "60",
            "contact": ada.pk,
        },
    )

    assert response["Location"] == "/activities/"
    meeting = Activity.objects.get()
    assert (meeting.kind, meeting.subject, list(meeting.contacts.all())) == (
        "meeting",
        "Demo",
        [ada],
    )


def test_a_duration_over_a_week_is_a_field_error(as_alice):
    response = as_alice.post("/activities/new/", {"kind": "call", "duration_minutes": "20000"})

    assert "duration_minutes" in response.context["form"].errors
    assert not Activity.objects.exists()


# --- Timeline paging ----------------------------------------------------------------------


def test_load_more_returns_the_next_entries(as_alice, cast, ada):
    now = timezone.now()
    for number in range(25):
        activity = ActivityFactory(
            subject=f"Call {number:02}",
            owner=cast.alice,
            occurred_at=now - datetime.timedelta(hours=number),
        )
        activity.contacts.set([ada])

    first = as_alice.get(f"/contacts/{ada.pk}/")
    cursor = first.context["timeline_next_cursor"]
    more = as_alice.get(
        "/activities/timeline/",
        {"timeline_for": "contact", "timeline_id": ada.pk, "before": cursor},
        **HTMX,
    )

    assert [e.activity.subject for e in first.context["timeline_entries"]][-1] == "Call 19"
    assert f"before={cursor}" in first.content.decode()
    shown = re.findall(r'<strong class="timeline-subject">(.*?)</strong>', more.content.decode())
    assert shown == [f"Call {number}" for number in range(20, 25)]
    assert "Load more" not in more.content.decode()


def shown_subjects(response) -> list[str]:
    return re.findall(r'<strong class="timeline-subject">(.*?)</strong>', response.content.decode())


def next_cursor(response) -> str | None:
    found = re.search(r"before=([0-9.as-]+)", response.content.decode())
    return found.group(1) if found else None


def test_an_entry_logged_between_two_pages_shows_once_and_hides_nothing(as_alice, cast, ada):
    now = timezone.now()
    for number in range(30):
        activity = ActivityFactory(
            subject=f"Call {number:02}",
            owner=cast.alice,
            occurred_at=now - datetime.timedelta(hours=number + 1),
        )
        activity.contacts.set([ada])
    first = as_alice.get(f"/contacts/{ada.pk}/")

    # a call logged now lands on top; paging by position would show "Call 19" again
    log_call(as_alice, ada, subject="Just now", occurred_at="")
    more = as_alice.get(
        "/activities/timeline/",
        {"timeline_for": "contact", "timeline_id": ada.pk, "before": next_cursor(first)},
        **HTMX,
    )

    assert shown_subjects(first) == [f"Call {number:02}" for number in range(20)]
    assert shown_subjects(more) == [f"Call {number:02}" for number in range(20, 30)]
    assert next_cursor(more) is None
    assert Activity.objects.filter(subject="Just now").count() == 1


def test_timeline_pages_through_entries_of_one_instant_without_duplicates_or_gaps(
    as_alice, cast, pipeline
):
    """Activities and stage changes at the very same time: the kind and id break the tie."""
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first())
    same_time = timezone.now().replace(microsecond=0)
    for number in range(15):
        ActivityFactory(
            subject=f"Tie {number:02}", owner=cast.alice, deal=deal, occurred_at=same_time
        )
        StageChange.objects.create(deal=deal, to_stage=deal.stage, at=same_time)
    seen, cursor, pages = [], "", 0
    while cursor is not None and pages < 5:
        response = as_alice.get(
            "/activities/timeline/",
            {"timeline_for": "deal", "timeline_id": deal.pk, "before": cursor},
            **HTMX,
        )
        seen += re.findall(r'id="(activity-\d+|stage-change-\d+)"', response.content.decode())
        cursor, pages = next_cursor(response), pages + 1

    assert pages == 2
    assert len(seen) == 30
    assert len(set(seen)) == 30


@pytest.mark.parametrize("cursor", ["", "nonsense", "1.x.2", "99999999999999999.a.1", "1.a.-1"])
def test_a_bad_cursor_shows_the_first_page(as_alice, cast, ada, cursor):
    ActivityFactory(subject="Only call", owner=cast.alice).contacts.set([ada])

    response = as_alice.get(
        "/activities/timeline/",
        {"timeline_for": "contact", "timeline_id": ada.pk, "before": cursor},
        **HTMX,
    )

    assert response.status_code == 200
    assert shown_subjects(response) == ["Only call"]


def test_load_more_of_an_invisible_record_is_404(as_alice, cast):
    hidden = ContactFactory(owner=cast.carol)

    response = as_alice.get(
        "/activities/timeline/", {"timeline_for": "contact", "timeline_id": hidden.pk}
    )

    assert response.status_code == 404


# --- Activity list ------------------------------------------------------------------------


def subjects(response) -> list[str]:
    return [activity.subject for activity in response.context["page"].object_list]


def test_activity_list_filters(as_alice, cast):
    now = timezone.now()
    ActivityFactory(subject="Open task", kind="task", owner=cast.alice, occurred_at=now)
    ActivityFactory(
        subject="Done task",
        kind="task",
        owner=cast.alice,
        done_at=now,
        occurred_at=now - datetime.timedelta(hours=1),
    )
    ActivityFactory(
        subject="Old call",
        body="about pricing",
        owner=cast.alice,
        occurred_at=datetime.datetime(2025, 1, 10, 12, tzinfo=datetime.UTC),
    )
    ActivityFactory(subject="Carols", owner=cast.carol)

    assert subjects(as_alice.get("/activities/")) == ["Open task", "Done task", "Old call"]
    assert subjects(as_alice.get("/activities/", {"kind": "task", "status": "open"})) == [
        "Open task"
    ]
    assert subjects(as_alice.get("/activities/", {"status": "done"})) == ["Done task"]
    assert subjects(as_alice.get("/activities/", {"q": "pricing"})) == ["Old call"]
    dated = {"occurred_after": "2025-01-10", "occurred_before": "2025-01-10"}
    assert subjects(as_alice.get("/activities/", dated)) == ["Old call"]
    assert subjects(as_alice.get("/activities/", {"owner": cast.carol.pk})) == []


def test_activity_list_paginates(as_alice, cast):
    ActivityFactory.create_batch(53, owner=cast.alice)

    second = as_alice.get("/activities/", {"page": 2})

    assert len(second.context["page"].object_list) == 3


def test_activity_list_query_count(client, cast, pipeline, django_assert_num_queries):
    acme = CompanyFactory(owner=cast.alice)
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first())
    contacts = ContactFactory.create_batch(2, owner=cast.alice)
    for _ in range(25):
        activity = ActivityFactory(owner=cast.alice, company=acme, deal=deal)
        activity.contacts.set(contacts)
    client.force_login(cast.alice)

    # session, user, settings, count, rows (with owner, company, deal), contacts, owner choices,
    # saved views
    with django_assert_num_queries(8):
        response = client.get("/activities/")

    assert len(response.context["page"].object_list) == 25


def test_activity_list_empty_state(as_alice):
    page = as_alice.get("/activities/").content.decode()

    assert "No activities yet" in page
    assert 'href="/activities/new/">log one</a>' in page


def test_a_refused_done_on_the_timeline_shows_why_and_changes_nothing(as_alice, cast):
    settings = OrganizationSettings.get()
    settings.reps_see_all = True
    settings.save()
    bobs = ContactFactory(owner=cast.bob)
    task = ActivityFactory(kind="task", subject="Bobs", owner=cast.bob)
    task.contacts.set([bobs])

    response = as_alice.post(
        f"/activities/{task.pk}/done/",
        {"timeline_for": "contact", "timeline_id": bobs.pk},
        **HTMX,
    )

    assert response.status_code == 200  # swapped by htmx, so the message shows
    assert "You cannot change this activity." in response.content.decode()
    task.refresh_from_db()
    assert task.done_at is None


def test_another_form_of_a_record_page_gets_its_errors_back_in_place(as_alice, cast, pipeline):
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first())

    response = as_alice.post(
        "/activities/new/",
        {
            "kind": "meeting",
            "duration_minutes": "-5",
            "deal": deal.pk,
            "timeline_for": "deal",
            "timeline_id": deal.pk,
        },
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER="log-meeting",
    )

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#log-meeting"
    assert '<form id="log-meeting"' in response.content.decode()
    assert not Activity.objects.exists()


@pytest.mark.parametrize(("path", "queries"), [("new", 3), ("edit", 6), ("delete", 5)])
def test_activity_form_pages_query_counts(
    as_alice, cast, pipeline, django_assert_num_queries, path, queries
):
    stage = pipeline.stages.first()
    for number in range(20):
        company = CompanyFactory(owner=cast.alice)
        ContactFactory(owner=cast.alice, company=company)
        DealFactory(title=f"Deal {number}", owner=cast.alice, company=company, stage=stage)
    activity = ActivityFactory(owner=cast.alice)
    url = "/activities/new/" if path == "new" else f"/activities/{activity.pk}/{path}/"

    # session, user, settings, (the activity, its contacts, may-change); company, contact and
    # deal are pickers, which list nothing
    with django_assert_num_queries(queries):
        response = as_alice.get(url)

    assert response.status_code == 200


def test_record_pages_show_the_next_meeting_and_the_deals_last_interaction(client, cast):
    """The next meeting is always current: one that has passed is no longer "next"."""
    import datetime

    from django.utils import timezone

    from tests.factories import ActivityFactory, CompanyFactory, ContactFactory, DealFactory

    company = CompanyFactory(owner=cast.alice)
    contact = ContactFactory(owner=cast.alice, company=company)
    deal = DealFactory(owner=cast.alice, company=company)
    deal.last_interaction_at = timezone.now() - datetime.timedelta(days=2)
    deal.save(update_fields=["last_interaction_at"])
    now = timezone.now()
    for days, subject in ((-1, "Kick-off (past)"), (3, "Demo"), (9, "Pricing review")):
        meeting = ActivityFactory(
            kind="meeting",
            subject=subject,
            owner=cast.alice,
            company=company,
            deal=deal,
            occurred_at=now + datetime.timedelta(days=days),
        )
        meeting.contacts.set([contact])
    client.force_login(cast.alice)

    for path in (f"/companies/{company.pk}/", f"/contacts/{contact.pk}/", f"/deals/{deal.pk}/"):
        response = client.get(path)
        assert response.context["next_meeting"].subject == "Demo", path
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Last interaction" in page
    client.force_login(cast.carol)  # another team's rep sees none of it
    assert client.get(f"/deals/{deal.pk}/").status_code == 404
