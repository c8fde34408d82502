"""The rep scorecard's selectors, against hand-computed fixtures at a fixed instant."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.analytics import review
from salesdesk.analytics.models import CoachingNote, Review
from salesdesk.core.errors import PermissionDenied
from salesdesk.crm.transfer import import_run
from salesdesk.goals.models import Goal
from salesdesk.pipeline import services as deal_services
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import (
    DealFactory,
    GoalFactory,
    LostReasonFactory,
    PipelineFactory,
    StageFactory,
    TeamFactory,
    UserFactory,
    record_close_date_change,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday
TODAY = datetime.date(2026, 3, 18)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def stages(pipeline):
    return {stage.name: stage for stage in pipeline.stages.all()}


def deal(owner, stage, amount="1000", **fields):
    """An open deal that is in no focus list unless `fields` put it there."""
    values = {
        "expected_close": TODAY + 60 * DAY,
        "next_step": "Call back",
        "next_step_due": TODAY + DAY,
        "stage_entered_at": NOW - DAY,
        "created_at": NOW - 100 * DAY,
    }
    values.update(fields)
    return DealFactory(owner=owner, stage=stage, amount=Decimal(amount), **values)


def titles(deal_list) -> list[str]:
    return [row.title for row in deal_list.rows]


def focus(actor, rep, **kwargs):
    lists = review.focus_lists(actor=actor, rep_id=rep.pk, now=NOW, today=TODAY, **kwargs)
    return {item.key: item for item in lists}


# --- Who reviews whom ---------------------------------------------------------------------


def test_a_manager_reviews_the_members_of_their_teams_and_an_admin_everyone(cast):
    north = TeamFactory(name="North", manager=cast.manager)
    dave = UserFactory(full_name="Dave North", team=north)
    UserFactory(full_name="Gone East", team=cast.alice.team, is_active=False)

    assert list(review.reviewable_reps(cast.manager)) == [cast.alice, cast.bob, dave]
    assert set(review.reviewable_reps(cast.admin)) == {
        cast.manager,
        cast.alice,
        cast.bob,
        cast.carol,
        cast.outsider,
        dave,
    }
    assert list(review.reviewable_reps(cast.alice)) == []
    assert list(review.reviewable_reps(cast.outsider)) == []


def test_scorecards_are_readable_by_the_rep_and_their_reviewers_only(cast):
    assert review.scorecard_rep(cast.manager, cast.alice.pk) == (cast.alice, True)
    assert review.scorecard_rep(cast.admin, cast.carol.pk) == (cast.carol, True)
    assert review.scorecard_rep(cast.alice, cast.alice.pk) == (cast.alice, False)
    assert review.scorecard_rep(cast.manager, cast.manager.pk) == (cast.manager, False)
    assert review.scorecard_rep(cast.manager, cast.carol.pk) is None
    assert review.scorecard_rep(cast.alice, cast.bob.pk) is None
    assert review.scorecard_rep(cast.outsider, cast.alice.pk) is None
    assert review.scorecard_rep(cast.manager, 999_999) is None


def test_reps_see_all_lets_nobody_review_beyond_their_teams(cast):
    organization = OrganizationSettings.get()
    organization.reps_see_all = True
    organization.save()

    assert review.scorecard_rep(cast.manager, cast.carol.pk) is None
    assert review.scorecard_rep(cast.alice, cast.bob.pk) is None


def test_only_reviewers_write_coaching_notes_and_mark_reviews_held(cast):
    note = review.coaching_note_add(actor=cast.manager, rep=cast.alice, body="  Ask for the PO  ")
    assert (note.rep, note.author, note.body) == (cast.alice, cast.manager, "Ask for the PO")

    for actor, rep in [
        (cast.alice, cast.alice),
        (cast.alice, cast.bob),
        (cast.manager, cast.carol),
    ]:
        with pytest.raises(PermissionDenied):
            review.coaching_note_add(actor=actor, rep=rep, body="Nope")
        with pytest.raises(PermissionDenied):
            review.review_mark_held(actor=actor, rep=rep)

    assert CoachingNote.objects.count() == 1
    assert Review.objects.count() == 0
    held = review.review_mark_held(actor=cast.admin, rep=cast.carol)
    assert (held.rep, held.manager) == (cast.carol, cast.admin)


# --- The focus lists ----------------------------------------------------------------------


def test_closing_soon_lists_the_largest_expected_values_within_thirty_days(cast, stages):
    deal(cast.alice, stages["Negotiation"], "10000", title="A", expected_close=TODAY + 10 * DAY)
    deal(cast.alice, stages["Proposal"], "20000", title="B", expected_close=TODAY + 30 * DAY)
    deal(cast.alice, stages["Lead"], "90000", title="C", expected_close=TODAY)
    deal(
        cast.alice,
        stages["Negotiation"],
        "50000",
        title="Too late",
        expected_close=TODAY + 31 * DAY,
    )
    deal(
        cast.alice,
        stages["Negotiation"],
        "50000",
        title="Won",
        expected_close=TODAY + 3 * DAY,
        status=Deal.Status.WON,
        closed_at=NOW - DAY,
    )
    deal(cast.bob, stages["Negotiation"], "50000", title="Bob's", expected_close=TODAY + DAY)

    soon = focus(cast.manager, cast.alice)["closing-soon"]

    # weighted: B 20000 at 50% = 10000, C 90000 at 10% = 9000, A 10000 at 75% = 7500
    assert titles(soon) == ["B", "C", "A"]
    assert [row.weighted for row in soon.rows] == [
        Decimal("10000.00"),
        Decimal("9000.00"),
        Decimal("7500.00"),
    ]
    assert (soon.count, soon.amount) == (3, Decimal("26500.00"))


def test_a_list_shows_its_first_rows_and_counts_them_all(cast, stages):
    for amount in ("100", "200", "300"):
        deal(cast.alice, stages["Proposal"], amount, title=amount, expected_close=TODAY + DAY)

    soon = focus(cast.manager, cast.alice, shown=2)["closing-soon"]

    assert titles(soon) == ["300", "200"]
    assert (soon.count, soon.hidden, soon.amount) == (3, 1, Decimal("300.00"))


def test_stale_deals_are_longer_in_their_stage_than_it_allows(cast, stages):
    # Lead allows 14 days: 15 whole days is stale, 14 days and 23 hours is not.
    deal(cast.alice, stages["Lead"], title="Lead 15 days", stage_entered_at=NOW - 15 * DAY)
    deal(
        cast.alice,
        stages["Lead"],
        title="Lead almost",
        stage_entered_at=NOW - 15 * DAY + datetime.timedelta(hours=1),
    )
    deal(cast.alice, stages["Proposal"], title="Proposal 40 days", stage_entered_at=NOW - 40 * DAY)
    deal(cast.alice, stages["Proposal"], title="Proposal 20 days", stage_entered_at=NOW - 20 * DAY)
    deal(
        cast.alice,
        stages["Lead"],
        title="Lost long ago",
        stage_entered_at=NOW - 90 * DAY,
        status=Deal.Status.LOST,
        lost_reason=LostReasonFactory(name="Price"),
        closed_at=NOW - 80 * DAY,
    )

    stale = focus(cast.manager, cast.alice)["stale"]

    assert titles(stale) == ["Proposal 40 days", "Lead 15 days"]  # longest in stage first
    assert (stale.count, stale.amount) == (2, Decimal("2000.00"))


def test_no_next_step_means_empty_or_overdue(cast, stages):
    deal(cast.alice, stages["Lead"], "500", title="Empty", next_step="", next_step_due=None)
    deal(cast.alice, stages["Lead"], "700", title="Overdue", next_step_due=TODAY - DAY)
    deal(cast.alice, stages["Lead"], "900", title="Due today", next_step_due=TODAY)
    deal(cast.alice, stages["Lead"], "800", title="Undated", next_step_due=None)

    no_step = focus(cast.manager, cast.alice)["no-next-step"]

    assert titles(no_step) == ["Overdue", "Empty"]  # largest first
    assert (no_step.count, no_step.amount) == (2, Decimal("1200.00"))


def test_slipping_deals_have_passed_or_pushed_close_dates_counted_in_sql(cast, stages):
    pushed_twice = deal(cast.alice, stages["Lead"], title="Pushed twice")
    pulled_in = deal(cast.alice, stages["Lead"], title="Pulled in")
    undated = deal(cast.alice, stages["Lead"], title="Date removed", expected_close=None)
    deal(cast.alice, stages["Lead"], title="Passed", expected_close=TODAY - DAY)
    deal(cast.alice, stages["Lead"], title="Today", expected_close=TODAY)
    for from_date, to_date in [(D(3, 1), D(3, 20)), (D(3, 20), D(4, 30)), (D(4, 30), D(4, 10))]:
        record_close_date_change(pushed_twice, from_date, to_date)
    record_close_date_change(pulled_in, D(5, 1), D(4, 1))
    record_close_date_change(undated, D(4, 1), None)

    slipping = focus(cast.manager, cast.alice)["slipping"]

    assert titles(slipping) == ["Pushed twice", "Date removed", "Passed"]
    assert [row.slips for row in slipping.rows] == [2, 1, 0]
    assert slipping.count == 3


def D(month: int, day: int) -> datetime.date:
    return datetime.date(2026, month, day)


def test_focus_lists_only_hold_deals_the_viewer_may_see(cast, stages):
    deal(cast.alice, stages["Lead"], title="Alice's", next_step="")

    assert titles(focus(cast.manager, cast.alice)["no-next-step"]) == ["Alice's"]
    assert titles(focus(cast.carol, cast.alice)["no-next-step"]) == []


# --- What changed since the last review ---------------------------------------------------


@pytest.fixture
def history(cast, stages):
    """Alice's last review was 3 days ago; a week of changes on both sides of it."""
    Review.objects.create(rep=cast.alice, manager=cast.manager, held_at=NOW - 3 * DAY)
    Review.objects.create(rep=cast.bob, manager=cast.manager, held_at=NOW - 1 * DAY)
    moved = deal(cast.alice, stages["Proposal"], title="Moved")
    StageChange.objects.create(
        deal=moved, from_stage=None, to_stage=stages["Lead"], at=NOW - 2 * DAY
    )
    StageChange.objects.create(
        deal=moved, from_stage=stages["Lead"], to_stage=stages["Qualified"], at=NOW - 4 * DAY
    )
    StageChange.objects.create(
        deal=moved, from_stage=stages["Qualified"], to_stage=stages["Proposal"], at=NOW - 2 * DAY
    )
    deal(cast.alice, stages["Lead"], "3000", title="Won", status="won", closed_at=NOW - DAY)
    deal(
        cast.alice,
        stages["Lead"],
        "9000",
        title="Won before",
        status="won",
        closed_at=NOW - 5 * DAY,
    )
    deal(
        cast.alice,
        stages["Lead"],
        "400",
        title="Lost",
        status="lost",
        lost_reason=LostReasonFactory(name="Price"),
        closed_at=NOW - 2 * DAY,
    )
    deal(cast.alice, stages["Lead"], "250", title="New", created_at=NOW - 2 * DAY)
    pushed = deal(cast.alice, stages["Lead"], title="Pushed")
    record_close_date_change(pushed, D(3, 20), D(4, 20), at=NOW - DAY)
    record_close_date_change(pushed, D(4, 20), D(4, 2), at=NOW - DAY)
    record_close_date_change(pushed, D(3, 1), D(3, 20), at=NOW - 9 * DAY)
    bobs = deal(cast.bob, stages["Lead"], title="Bob's")
    StageChange.objects.create(
        deal=bobs, from_stage=stages["Lead"], to_stage=stages["Proposal"], at=NOW - 2 * DAY
    )
    return moved


def test_changes_since_the_last_review(cast, history):
    since = review.last_review(cast.alice.pk).held_at
    assert since == NOW - 3 * DAY

    changes = {
        item.key: item
        for item in review.changes_since(
            actor=cast.manager, rep_id=cast.alice.pk, since=since, now=NOW
        )
    }

    moved = changes["moved"]
    assert [(row.deal.title, row.from_stage.name, row.to_stage.name) for row in moved.rows] == [
        ("Moved", "Qualified", "Proposal")
    ]
    assert titles(changes["won"]) == ["Won"]
    assert changes["won"].amount == Decimal("3000.00")
    assert titles(changes["lost"]) == ["Lost"]
    assert titles(changes["created"]) == ["New"]
    assert [(row.from_date, row.to_date) for row in changes["pushed"].rows] == [
        (D(3, 20), D(4, 20))
    ]
    assert [item.count for item in changes.values()] == [1, 1, 1, 1, 1]


def test_moves_through_every_write_path_show_as_moved(cast, stages, pipeline):
    """The moved list reads only deals whose stage was entered since the review: each way a
    stage changes (a move, a pipeline change, a CSV import) keeps its record within that."""
    other = PipelineFactory(name="Renewals")
    StageFactory(pipeline=other, name="Renewal due", position=0)
    since = timezone.now()

    def created(title: str) -> Deal:
        return deal_services.deal_create(
            actor=cast.admin, title=title, owner=cast.alice, pipeline=pipeline, stage=stages["Lead"]
        )

    moved, switched, imported = created("Moved"), created("Switched"), created("Imported")
    deal_services.deal_move(actor=cast.admin, deal=moved, stage=stages["Qualified"])
    deal_services.deal_update(actor=cast.admin, deal=switched, pipeline=other)
    result = import_run(
        actor=cast.admin,
        entity="deals",
        data=f"id,title,stage\n{imported.pk},Imported,Proposal\n".encode(),
        dry_run=False,
    )
    assert [row.action for row in result.rows] == ["updated"]
    now = timezone.now()

    changes = {
        item.key: item
        for item in review.changes_since(
            actor=cast.manager, rep_id=cast.alice.pk, since=since, now=now
        )
    }

    assert sorted(
        (row.deal.title, row.from_stage.name, row.to_stage.name) for row in changes["moved"].rows
    ) == [
        ("Imported", "Lead", "Proposal"),
        ("Moved", "Lead", "Qualified"),
        ("Switched", "Lead", "Renewal due"),
    ]
    assert all(change.at <= change.deal.stage_entered_at for change in StageChange.objects.all())
    # A week later, with the next review held in between, none of them is news.
    assert (
        review.changes_since(
            actor=cast.manager, rep_id=cast.alice.pk, since=now, now=now + 7 * DAY
        )[0].count
        == 0
    )


def test_scorecard_starts_a_week_back_without_a_review_and_shows_goals(cast, stages):
    GoalFactory(user=cast.alice, period_start=datetime.date(2026, 1, 1), target=Decimal("100000"))
    GoalFactory(user=cast.bob, period_start=datetime.date(2026, 1, 1))
    deal(cast.alice, stages["Lead"], "30000", title="Won", status="won", closed_at=NOW - 10 * DAY)

    card = review.scorecard(actor=cast.manager, rep=cast.alice, is_reviewer=True, now=NOW)

    assert (card.since, card.last_review, card.today) == (NOW - 7 * DAY, None, TODAY)
    assert card.period.key == "fy2026-q1"
    [progress] = card.goals
    assert (progress.goal.user, progress.goal.metric) == (cast.alice, Goal.Metric.WON_REVENUE)
    assert (progress.target, progress.achieved) == (Decimal("100000.00"), Decimal("30000.00"))
    assert [item.key for item in card.focus] == list(review.FOCUS_KEYS)
    assert card.changes_total == 0  # won 10 days ago: before the week


def test_review_list_counts_each_reps_deals_to_act_on(cast, stages):
    Review.objects.create(rep=cast.alice, manager=cast.manager, held_at=NOW - 20 * DAY)
    Review.objects.create(rep=cast.alice, manager=cast.manager, held_at=NOW - 6 * DAY)
    deal(cast.alice, stages["Lead"], title="Stale", stage_entered_at=NOW - 30 * DAY)
    deal(cast.alice, stages["Lead"], title="No step", next_step="", expected_close=TODAY - DAY)
    deal(cast.alice, stages["Lead"], title="Fine")
    deal(cast.bob, stages["Lead"], title="Bob fine")
    deal(cast.carol, stages["Lead"], title="Carol", next_step="")
    GoalFactory(user=cast.bob, period_start=datetime.date(2026, 1, 1))

    period, rows = review.review_list(actor=cast.manager, now=NOW)

    assert period.key == "fy2026-q1"
    assert [row.rep for row in rows] == [cast.alice, cast.bob]
    alice, bob = rows
    assert alice.last_review_at == NOW - 6 * DAY
    assert (alice.open_deals, alice.stale, alice.no_next_step, alice.overdue_close) == (3, 1, 1, 1)
    assert (alice.needs_attention, alice.goals) == (3, [])
    assert bob.last_review_at is None
    assert bob.is_review_due
    assert (bob.open_deals, bob.stale, bob.no_next_step, bob.overdue_close) == (1, 0, 0, 0)
    assert [progress.goal.user for progress in bob.goals] == [cast.bob]
