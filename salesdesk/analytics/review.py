"""The rep scorecard a manager opens for a 1:1: goals, the deals to focus on, what changed.

Who reviews whom: an admin anyone, a manager the members of the teams they manage or belong to
(the people whose deals they may change), and every user reads their own scorecard. Coaching
notes follow the same rule: the rep and those who may review the rep read them; only the
reviewers write them.

"Since the last review" starts when the rep's last 1:1 was marked held, or a week ago when
there is none. Every list is one bounded query: the first rows, with the total count (and,
where it means something, the total amount) taken by window functions in the same query.
"""

import datetime
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    Count,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from salesdesk.accounts import visibility
from salesdesk.accounts.models import OrganizationSettings, User
from salesdesk.activities.my_day import stale_condition
from salesdesk.analytics import metrics, rollups
from salesdesk.analytics.models import CoachingNote, Review
from salesdesk.core.errors import PermissionDenied
from salesdesk.core.services import clean_text
from salesdesk.goals.periods import Period, PeriodKind, current_period
from salesdesk.goals.selectors import GoalProgress, goal_progress
from salesdesk.pipeline.models import CloseDateChange, Deal, StageChange

FOCUS_SHOWN = 10
CHANGES_SHOWN = 20
NOTES_SHOWN = 50
CLOSING_SOON_DAYS = 30
DEFAULT_SINCE = datetime.timedelta(days=7)
REVIEW_DUE_AFTER = datetime.timedelta(days=14)

# The focus lists, by the key their rows' forms carry.
FOCUS_KEYS = ("closing-soon", "stale", "no-next-step", "slipping")

# A close date moved later (or was removed): `CloseDateChange.is_slip`, as SQL.
SLIP = Q(to_date__isnull=True) | Q(to_date__gt=F("from_date"))


def zone_named(name: str) -> zoneinfo.ZoneInfo:
    """The time zone of that name; UTC for a name the database holds but no longer knows."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return zoneinfo.ZoneInfo("UTC")


def zone_of(user) -> zoneinfo.ZoneInfo:
    return zone_named(user.timezone)


# --- Who reviews whom ---------------------------------------------------------------------


def reviewable_reps(actor) -> QuerySet[User]:
    """The active users `actor` holds 1:1s with, by name."""
    return (
        User.objects.filter(visibility.reviewed_by(actor), is_active=True)
        .select_related("team")
        .order_by("full_name", "email")
    )


def can_review(actor, rep: User) -> bool:
    return User.objects.filter(visibility.reviewed_by(actor), pk=rep.pk).exists()


def scorecard_rep(actor, user_id: int) -> tuple[User, bool] | None:
    """The rep whose scorecard `actor` may read, and whether `actor` reviews them; else None.

    One query; a deactivated rep's scorecard stays readable (their history is still theirs).
    """
    if not visibility.is_signed_in(actor):
        return None
    if user_id == actor.pk:
        return actor, False
    rep = (
        User.objects.filter(visibility.reviewed_by(actor), pk=user_id)
        .select_related("team")
        .first()
    )
    return (rep, True) if rep is not None else None


# --- The deals to focus on ----------------------------------------------------------------


@dataclass
class DealList:
    """The first rows of a list, with how many (and how much) there are in all."""

    key: str
    title: str
    empty: str
    rows: list
    count: int
    amount: Decimal | None = None

    @property
    def hidden(self) -> int:
        return self.count - len(self.rows)


def _bounded(queryset: QuerySet, limit: int, *, amount: str | None = None) -> tuple:
    """(first `limit` rows, total count, total amount) in one query: windows over all rows."""
    totals = {"total_count": Window(Count("pk"))}
    if amount:
        totals["total_amount"] = Window(Sum(amount), output_field=metrics.MONEY)
    rows = list(queryset.annotate(**totals)[:limit])
    if not rows:
        return [], 0, Decimal("0.00") if amount else None
    total = Decimal(rows[0].total_amount).quantize(Decimal("0.01")) if amount else None
    return rows, rows[0].total_count, total


def _open_deals_of(actor, rep_id: int, now: datetime.datetime) -> QuerySet[Deal]:
    # Companies are read for the rows shown only (`focus_lists`): joined here, they would be
    # joined for every deal the window functions count.
    slice_ = metrics.Slice(actor=actor, start=now, end=now, owner_id=rep_id)
    return metrics.open_deals(slice_).select_related("stage")


def focus_lists(
    *, actor, rep_id: int, now: datetime.datetime, today: datetime.date, shown: int = FOCUS_SHOWN
) -> list[DealList]:
    """Closing soon by expected value, stale, without a next step, slipping: six queries
    (one per list, one for the stages' stale limits, one for the companies of the rows)."""
    deals = _open_deals_of(actor, rep_id, now).annotate(weighted=metrics.WEIGHTED_AMOUNT)
    soon = deals.filter(
        expected_close__gte=today,
        expected_close__lte=today + datetime.timedelta(days=CLOSING_SOON_DAYS),
    ).order_by("-weighted", "expected_close", "-pk")
    stale = deals.filter(stale_condition(now)).order_by("stage_entered_at", "-pk")
    no_step = deals.filter(Q(next_step="") | Q(next_step_due__lt=today)).order_by(
        "-amount_base", "-pk"
    )
    slipping = (
        deals.annotate(slips=F("close_date_slips"))
        .filter(Q(expected_close__lt=today) | Q(slips__gt=0))
        .order_by("-slips", F("expected_close").asc(nulls_last=True), "-pk")
    )
    lists = [
        (
            "closing-soon",
            f"Closing in the next {CLOSING_SOON_DAYS} days",
            "Nothing expected to close in the next month.",
            soon,
            "weighted",
        ),
        ("stale", "Stale", "No deal has sat in its stage too long.", stale, "amount_base"),
        (
            "no-next-step",
            "No next step",
            "Every open deal has a next step that is not overdue.",
            no_step,
            "amount_base",
        ),
        (
            "slipping",
            "Slipping close dates",
            "No close date has slipped or passed.",
            slipping,
            "amount_base",
        ),
    ]
    result = []
    for key, title, empty, queryset, amount in lists:
        rows, count, total = _bounded(queryset, shown, amount=amount)
        result.append(DealList(key, title, empty, rows, count, total))
    prefetch_related_objects([deal for focus in result for deal in focus.rows], "company")
    return result


# --- What changed since the last review ---------------------------------------------------


def _closed_since(slice_: metrics.Slice) -> tuple[DealList, DealList]:
    """Won and lost in the slice, in one query: the first rows of each and their totals."""
    by_status = {"partition_by": [F("status")]}
    rows = list(
        (metrics.won(slice_) | metrics.lost(slice_))
        .select_related("stage", "company", "lost_reason")
        .annotate(
            place=Window(
                RowNumber(), order_by=[F("closed_at").desc(), F("pk").desc()], **by_status
            ),
            total_count=Window(Count("pk"), **by_status),
            total_amount=Window(Sum("amount_base"), output_field=metrics.MONEY, **by_status),
        )
        .filter(place__lte=CHANGES_SHOWN)
        .order_by("-closed_at", "-pk")
    )
    lists = []
    for status, title, empty in [
        (Deal.Status.WON, "Won", "No deals won."),
        (Deal.Status.LOST, "Lost", "No deals lost."),
    ]:
        mine = [row for row in rows if row.status == status]
        count = mine[0].total_count if mine else 0
        amount = Decimal(mine[0].total_amount if mine else 0).quantize(Decimal("0.01"))
        lists.append(DealList(status, title, empty, mine, count, amount))
    return lists[0], lists[1]


def changes_since(
    *, actor, rep_id: int, since: datetime.datetime, now: datetime.datetime
) -> list[DealList]:
    """Deals moved, won, lost, created and pushed in [since, now): four queries."""
    slice_ = metrics.Slice(actor=actor, start=since, end=now, owner_id=rep_id)
    through_deal = visibility.owner_scope(actor, owner="deal__owner") & Q(deal__owner_id=rep_id)
    moved = (
        # A deal's last move set its `stage_entered_at`, and no move is recorded later than
        # that: deals that entered their stage before `since` have no move since. Read through
        # `deal_owner_entered_idx`, that leaves the few deals that moved, not all of the rep's.
        StageChange.objects.filter(
            through_deal, deal__stage_entered_at__gte=since, at__gte=since, at__lt=now
        )
        .exclude(from_stage__isnull=True)  # a deal's first stage is its creation, not a move
        .select_related("deal", "from_stage", "to_stage")
        .order_by("-at", "-pk")
    )
    created = (
        metrics.created(slice_).select_related("stage", "company").order_by("-created_at", "-pk")
    )
    pushed = (
        CloseDateChange.objects.filter(through_deal, SLIP, at__gte=since, at__lt=now)
        .select_related("deal")
        .order_by("-at", "-pk")
    )
    won, lost = _closed_since(slice_)
    return [
        DealList("moved", "Moved", "No stage moves.", *_bounded(moved, CHANGES_SHOWN)),
        won,
        lost,
        DealList(
            "created",
            "Created",
            "No new deals.",
            *_bounded(created, CHANGES_SHOWN, amount="amount_base"),
        ),
        DealList(
            "pushed", "Pushed", "No close dates pushed out.", *_bounded(pushed, CHANGES_SHOWN)
        ),
    ]


# --- The scorecard ------------------------------------------------------------------------


@dataclass
class Scorecard:
    rep: User
    is_reviewer: bool
    now: datetime.datetime
    today: datetime.date
    since: datetime.datetime
    last_review: Review | None
    period: Period
    goals: list[GoalProgress]
    focus: list[DealList]
    changes: list[DealList]
    notes: list[CoachingNote] = field(default_factory=list)

    @property
    def changes_total(self) -> int:
        return sum(change.count for change in self.changes)


def last_review(rep_id: int) -> Review | None:
    return Review.objects.filter(rep_id=rep_id).select_related("manager").first()


def coaching_notes(*, rep_id: int, shown: int = NOTES_SHOWN) -> list[CoachingNote]:
    """Newest first. Callers have checked that the reader may see the rep's scorecard."""
    return list(
        CoachingNote.objects.filter(rep_id=rep_id)
        .select_related("author")
        .order_by("-created_at", "-pk")[:shown]
    )


def scorecard(
    *,
    actor,
    rep: User,
    is_reviewer: bool,
    now: datetime.datetime | None = None,
    organization: OrganizationSettings | None = None,
) -> Scorecard:
    now = now or timezone.now()
    organization = organization or OrganizationSettings.get()
    today = now.astimezone(zone_of(actor)).date()
    review = last_review(rep.pk)
    since = review.held_at if review is not None else now - DEFAULT_SINCE
    period = current_period(
        PeriodKind.QUARTER,
        now=now,
        tz=organization.timezone,
        fiscal_start_month=organization.fiscal_year_start_month,
    )
    return Scorecard(
        rep=rep,
        is_reviewer=is_reviewer,
        now=now,
        today=today,
        since=since,
        last_review=review,
        period=period,
        goals=goal_progress(actor=actor, period=period, now=now, user_ids=[rep.pk]),
        focus=focus_lists(actor=actor, rep_id=rep.pk, now=now, today=today),
        changes=changes_since(actor=actor, rep_id=rep.pk, since=since, now=now),
        notes=coaching_notes(rep_id=rep.pk),
    )


# --- The list of reps to review -----------------------------------------------------------


@dataclass
class RepStatus:
    rep: User
    last_review_at: datetime.datetime | None
    open_deals: int
    stale: int
    no_next_step: int
    overdue_close: int
    goals: list[GoalProgress] = field(default_factory=list)

    @property
    def is_review_due(self) -> bool:
        return self.last_review_at is None or (
            timezone.now() - self.last_review_at > REVIEW_DUE_AFTER
        )

    @property
    def needs_attention(self) -> int:
        return self.stale + self.no_next_step + self.overdue_close


def review_list(
    *,
    actor,
    now: datetime.datetime | None = None,
    organization: OrganizationSettings | None = None,
) -> tuple[Period, list[RepStatus]]:
    """The reps `actor` reviews, each with their last review and counts of deals to act on.

    A constant number of queries: reps with their last review, the stage limits, one query
    for the four counts (from the rollups, plus the rows of their boundary days), and the
    goals of all of them at once.
    """
    now = now or timezone.now()
    organization = organization or OrganizationSettings.get()
    today = now.astimezone(zone_of(actor)).date()
    reps = list(
        reviewable_reps(actor).annotate(
            last_review_at=Subquery(
                Review.objects.filter(rep_id=OuterRef("pk"))
                .order_by()
                .values("rep_id")
                .annotate(last=Max("held_at"))
                .values("last")
            )
        )
    )
    ids = [rep.pk for rep in reps]
    period = current_period(
        PeriodKind.QUARTER,
        now=now,
        tz=organization.timezone,
        fiscal_start_month=organization.fiscal_year_start_month,
    )
    if not ids:
        return period, []
    slice_ = metrics.Slice(actor=actor, start=now, end=now, tz=organization.timezone)
    mine = Q(owner_id__in=ids)
    counts = rollups.counted(
        "owner_id",
        open_deals=rollups.open_parts(slice_, mine),
        stale=rollups.stale_parts(slice_, mine, now),
        no_next_step=rollups.no_next_step_parts(slice_, mine, today),
        overdue_close=rollups.overdue_close_parts(slice_, mine, today),
    )
    goals: dict[int, list] = {}
    for progress in goal_progress(actor=actor, period=period, now=now, user_ids=ids):
        goals.setdefault(progress.goal.user_id, []).append(progress)
    return period, [
        RepStatus(
            rep=rep,
            last_review_at=rep.last_review_at,
            open_deals=counts["open_deals"].get(rep.pk, 0),
            stale=counts["stale"].get(rep.pk, 0),
            no_next_step=counts["no_next_step"].get(rep.pk, 0),
            overdue_close=counts["overdue_close"].get(rep.pk, 0),
            goals=goals.get(rep.pk, []),
        )
        for rep in reps
    ]


# --- Writes: coaching notes and held reviews ----------------------------------------------


def _require_reviewer(actor, rep: User) -> None:
    if not can_review(actor, rep):
        raise PermissionDenied("Only the rep's managers and admins can do this.")


@transaction.atomic
def coaching_note_add(*, actor: User, rep: User, body: str) -> CoachingNote:
    _require_reviewer(actor, rep)
    text = clean_text(body, field="body", max_length=10_000, required=True)
    return CoachingNote.objects.create(rep=rep, author=actor, body=text)


@transaction.atomic
def review_mark_held(*, actor: User, rep: User) -> Review:
    _require_reviewer(actor, rep)
    return Review.objects.create(rep=rep, manager=actor)
