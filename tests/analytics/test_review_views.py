"""The 1:1 review pages: the list, the scorecard, inline next steps, notes, marking held."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.analytics import review
from salesdesk.analytics.models import CoachingNote, Review
from salesdesk.goals.periods import PeriodKind, current_period
from salesdesk.pipeline.models import CloseDateChange, Deal, StageChange
from tests.factories import (
    CompanyFactory,
    DealFactory,
    GoalFactory,
    LostReasonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def stages(pipeline):
    return {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def quiet_deal(cast, stages):
    """An open deal of Alice's with no next step: in the "No next step" list only."""
    return DealFactory(
        owner=cast.alice,
        stage=stages["Proposal"],
        title="Acme renewal",
        amount=Decimal("5000"),
        expected_close=timezone.localdate() + 60 * DAY,
    )


def scorecard_url(user) -> str:
    return f"/reviews/{user.pk}/"


def next_step_url(user, deal) -> str:
    return f"/reviews/{user.pk}/deals/{deal.pk}/next-step/"


# --- Pages and who may open them -----------------------------------------------------------


def test_review_list_shows_the_managers_reps_with_their_status(cast, quiet_deal):
    Review.objects.create(rep=cast.alice, manager=cast.manager, held_at=timezone.now() - DAY)

    response = signed_in(cast.manager).get("/reviews/")

    assert response.status_code == 200
    rows = [row.rep for row in response.context["rows"]]
    assert rows == [cast.alice, cast.bob]
    html = response.content.decode()
    assert "1 without next step" in html
    assert "Carol West" not in html


def test_a_rep_sees_an_empty_review_list_with_a_link_to_their_scorecard(cast):
    response = signed_in(cast.alice).get("/reviews/")

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert f'href="/reviews/{cast.alice.pk}/"' in response.content.decode()


@pytest.mark.parametrize(
    ("viewer", "rep", "status"),
    [
        ("manager", "alice", 200),
        ("admin", "carol", 200),
        ("alice", "alice", 200),
        ("manager", "carol", 404),
        ("alice", "bob", 404),
        ("outsider", "alice", 404),
    ],
)
def test_who_may_open_a_scorecard(cast, viewer, rep, status):
    response = signed_in(getattr(cast, viewer)).get(scorecard_url(getattr(cast, rep)))
    assert response.status_code == status


def test_signed_out_visitors_are_sent_to_sign_in(cast):
    response = Client().get(scorecard_url(cast.alice))
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_scorecard_shows_goals_focus_deals_changes_and_notes(cast, stages, quiet_deal):
    organization = OrganizationSettings.get()
    quarter = current_period(
        PeriodKind.QUARTER, now=timezone.now(), tz=organization.timezone, fiscal_start_month=1
    )
    GoalFactory(user=cast.alice, period_start=quarter.start, target=Decimal("20000"))
    DealFactory(
        owner=cast.alice,
        stage=stages["Negotiation"],
        title="Globex",
        amount=Decimal("5000"),
        status=Deal.Status.WON,
        closed_at=timezone.now() - DAY,
    )
    CoachingNote.objects.create(
        rep=cast.alice, author=cast.manager, body="Older", created_at=timezone.now() - 3 * DAY
    )
    CoachingNote.objects.create(rep=cast.alice, author=cast.manager, body="Newer")

    response = signed_in(cast.manager).get(scorecard_url(cast.alice))

    assert response.status_code == 200
    card = response.context["card"]
    [progress] = card.goals
    assert (progress.target, progress.achieved) == (Decimal("20000.00"), Decimal("5000.00"))
    focus = {item.key: [deal.pk for deal in item.rows] for item in card.focus}
    assert focus["no-next-step"] == [quiet_deal.pk]
    assert {item.key: item.count for item in card.changes}["won"] == 1
    html = response.content.decode()
    assert "Acme renewal" in html
    assert html.index("Newer") < html.index("Older")
    assert "Mark 1:1 held" in html
    assert 'id="id_body"' in html  # the manager may write a note
    assert f'id="id_no-next-step_{quiet_deal.pk}_next_step"' in html


def test_a_rep_reads_their_notes_but_cannot_write_one_or_mark_held(cast, quiet_deal):
    CoachingNote.objects.create(rep=cast.alice, author=cast.manager, body="Great discovery call")

    html = signed_in(cast.alice).get(scorecard_url(cast.alice)).content.decode()

    assert "Great discovery call" in html
    assert 'id="id_body"' not in html
    assert "Mark 1:1 held" not in html
    assert f'id="id_no-next-step_{quiet_deal.pk}_next_step"' in html  # own deals: editable


# --- Inline next steps ----------------------------------------------------------------------


def test_a_manager_saves_a_next_step_inline(cast, quiet_deal):
    due = timezone.localdate() + 2 * DAY

    response = signed_in(cast.manager).post(
        next_step_url(cast.alice, quiet_deal),
        {"slot": "no-next-step", "next_step": "Send the proposal", "next_step_due": due},
        **HTMX,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(
        f'<form class="review-next-step" id="next-step-no-next-step-{quiet_deal.pk}"'
    )
    assert "Next step saved." in html
    assert 'value="Send the proposal"' in html
    assert f'value="{due:%Y-%m-%d}"' in html
    quiet_deal.refresh_from_db()
    assert (quiet_deal.next_step, quiet_deal.next_step_due) == ("Send the proposal", due)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"next_step": "Call", "next_step_due": "next week"},
            "next_step_due",
            "Enter a valid date.",
        ),
        ({"next_step": "x" * 256, "next_step_due": ""}, "next_step", "at most 255 characters"),
        ({"next_step": "Call", "next_step_due": "2300-01-01"}, "next_step_due", "1970 to 2200."),
    ],
)
def test_bad_next_step_input_is_shown_inline_and_nothing_changes(
    cast, quiet_deal, data, field, message
):
    response = signed_in(cast.manager).post(
        next_step_url(cast.alice, quiet_deal), {"slot": "stale", **data}, **HTMX
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="id_stale_{quiet_deal.pk}_{field}_error"' in html
    assert message in html
    assert 'aria-invalid="true"' in html
    quiet_deal.refresh_from_db()
    assert (quiet_deal.next_step, quiet_deal.next_step_due) == ("", None)


@pytest.mark.parametrize(
    ("actor", "rep", "owner"),
    [
        ("manager", "carol", "carol"),  # not the manager's to review
        ("alice", "bob", "bob"),  # a rep edits only through their own scorecard
        ("alice", "alice", "bob"),  # ... and only their own deals there
    ],
)
def test_next_steps_of_deals_out_of_reach_are_refused_and_unchanged(
    cast, stages, actor, rep, owner
):
    organization = OrganizationSettings.get()
    organization.reps_see_all = True  # seeing a deal is not changing it
    organization.save()
    target = DealFactory(owner=getattr(cast, owner), stage=stages["Lead"], next_step="Old")

    response = signed_in(getattr(cast, actor)).post(
        next_step_url(getattr(cast, rep), target), {"next_step": "Hijack"}, **HTMX
    )

    assert response.status_code == 404
    target.refresh_from_db()
    assert target.next_step == "Old"


def test_a_refusal_from_the_service_is_a_403_with_its_words(cast, stages, monkeypatch):
    deal = DealFactory(owner=cast.alice, stage=stages["Lead"], next_step="Old")
    monkeypatch.setattr("salesdesk.accounts.visibility.can_change", lambda user, record: False)

    response = signed_in(cast.manager).post(
        next_step_url(cast.alice, deal), {"next_step": "New"}, **HTMX
    )

    assert response.status_code == 403
    assert response.content.decode() == "You cannot change this deal."
    deal.refresh_from_db()
    assert deal.next_step == "Old"


def test_a_plain_form_post_saves_and_returns_to_the_scorecard(cast, quiet_deal):
    client = signed_in(cast.manager)

    response = client.post(next_step_url(cast.alice, quiet_deal), {"next_step": "Demo"})

    assert response.status_code == 302
    assert response.url == scorecard_url(cast.alice)
    quiet_deal.refresh_from_db()
    assert quiet_deal.next_step == "Demo"
    bad = client.post(next_step_url(cast.alice, quiet_deal), {"next_step_due": "soon"})
    assert bad.status_code == 302
    messages = [str(m) for m in client.get(scorecard_url(cast.alice)).context["messages"]]
    assert messages[-1] == "The next step was not saved: Enter a valid date."


def test_the_scorecard_only_answers_posts_where_it_should(cast, quiet_deal):
    client = signed_in(cast.manager)
    assert client.get(next_step_url(cast.alice, quiet_deal)).status_code == 405
    assert client.post(scorecard_url(cast.alice)).status_code == 405
    assert client.get(f"/reviews/{cast.alice.pk}/held/").status_code == 405


# --- Coaching notes and held reviews -------------------------------------------------------


def test_a_manager_adds_a_coaching_note_with_htmx(cast):
    CoachingNote.objects.create(
        rep=cast.alice, author=cast.manager, body="First", created_at=timezone.now() - DAY
    )

    response = signed_in(cast.manager).post(
        f"/reviews/{cast.alice.pk}/notes/", {"body": "Practise the pricing talk"}, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card mb-3" id="notes"')
    assert "Note added." in html
    assert html.index("Practise the pricing talk") < html.index("First")
    note = CoachingNote.objects.get(body="Practise the pricing talk")
    assert (note.rep, note.author) == (cast.alice, cast.manager)


def test_an_empty_note_is_refused_inline(cast):
    response = signed_in(cast.manager).post(
        f"/reviews/{cast.alice.pk}/notes/", {"body": "   "}, **HTMX
    )

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert CoachingNote.objects.count() == 0


@pytest.mark.parametrize(
    ("actor", "rep", "status"), [("alice", "alice", 403), ("manager", "carol", 404)]
)
def test_notes_and_held_reviews_are_refused_to_non_reviewers(cast, actor, rep, status):
    client = signed_in(getattr(cast, actor))
    rep = getattr(cast, rep)

    note = client.post(f"/reviews/{rep.pk}/notes/", {"body": "Sneaky"}, **HTMX)
    held = client.post(f"/reviews/{rep.pk}/held/", **HTMX)

    assert (note.status_code, held.status_code) == (status, status)
    assert CoachingNote.objects.count() == 0
    assert Review.objects.count() == 0


def test_marking_a_review_held_starts_the_changes_from_now(cast, stages):
    deal = DealFactory(owner=cast.alice, stage=stages["Proposal"], title="Moved before")
    StageChange.objects.create(
        deal=deal, from_stage=stages["Lead"], to_stage=stages["Proposal"], at=timezone.now() - DAY
    )
    client = signed_in(cast.manager)
    before = client.get(scorecard_url(cast.alice)).context["card"]
    assert {item.key: item.count for item in before.changes}["moved"] == 1

    response = client.post(f"/reviews/{cast.alice.pk}/held/")

    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.rep, review.manager) == (cast.alice, cast.manager)
    after = client.get(scorecard_url(cast.alice)).context["card"]
    assert after.since == review.held_at
    assert {item.key: item.count for item in after.changes}["moved"] == 0


# --- Query counts ---------------------------------------------------------------------------


def _busy_rep(rep, stages, count: int) -> None:
    """`count` deals of every kind the scorecard lists, with history and notes."""
    now = timezone.now()
    today = timezone.localdate()
    reason = LostReasonFactory(name="Price")
    for i in range(count):
        open_deal = DealFactory(
            owner=rep,
            company=CompanyFactory(),
            stage=stages["Lead"],
            expected_close=today - DAY if i % 2 else today + 5 * DAY,
            stage_entered_at=now - 40 * DAY,
            created_at=now - DAY,
        )
        StageChange.objects.create(
            deal=open_deal,
            from_stage=stages["Qualified"],
            to_stage=stages["Lead"],
            at=now - 40 * DAY,
        )
        moved_deal = DealFactory(
            owner=rep, company=CompanyFactory(), stage=stages["Lead"], stage_entered_at=now - DAY
        )
        StageChange.objects.create(
            deal=moved_deal, from_stage=stages["Qualified"], to_stage=stages["Lead"], at=now - DAY
        )
        CloseDateChange.objects.create(
            deal=open_deal, from_date=today, to_date=today + 9 * DAY, at=now - DAY
        )
        DealFactory(owner=rep, stage=stages["Lead"], status="won", closed_at=now - DAY)
        DealFactory(
            owner=rep, stage=stages["Lead"], status="lost", lost_reason=reason, closed_at=now - DAY
        )
        CoachingNote.objects.create(rep=rep, body=f"Note {i}")


@pytest.mark.parametrize("count", [1, 12])
def test_scorecard_query_count_is_constant(cast, stages, count, django_assert_num_queries):
    GoalFactory(
        user=cast.alice,
        period_start=current_period(
            PeriodKind.QUARTER, now=timezone.now(), tz="UTC", fiscal_start_month=1
        ).start,
    )
    _busy_rep(cast.alice, stages, count)
    client = signed_in(cast.manager)

    with django_assert_num_queries(22):
        response = client.get(scorecard_url(cast.alice))

    assert response.status_code == 200
    card = response.context["card"]
    lists = {item.key: item for item in [*card.focus, *card.changes]}
    assert lists["moved"].count == count
    assert lists["stale"].count == count
    shown_companies = {deal.company.name for deal in lists["stale"].rows}
    assert len(shown_companies) == min(count, review.FOCUS_SHOWN)
    assert all(name in response.content.decode() for name in shown_companies)


@pytest.mark.parametrize("count", [1, 8])
def test_review_list_query_count_is_constant(cast, stages, count, django_assert_num_queries):
    for _ in range(count):
        rep = UserFactory(team=cast.alice.team)
        _busy_rep(rep, stages, 2)
        GoalFactory(
            user=rep,
            period_start=current_period(
                PeriodKind.QUARTER, now=timezone.now(), tz="UTC", fiscal_start_month=1
            ).start,
        )
        Review.objects.create(rep=rep, manager=cast.manager)
    client = signed_in(cast.manager)

    with django_assert_num_queries(12):
        response = client.get("/reviews/")

    assert response.status_code == 200
    assert len(response.context["rows"]) == count + 2
