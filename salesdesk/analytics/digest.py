"""The weekly digest: an e-mail every Monday morning, at 07:00 in each user's own time zone.

- A manager gets their team's summary: per rep, last week's won revenue, deals won and
  activities, the attainment of this quarter's won-revenue goal, and right now the stale deals
  and overdue tasks (the missed opportunities).
- A rep or SDR gets their goal progress, last week's figures and the deals to focus on (the
  lists of their 1:1 scorecard).
- An admin who manages a team gets that team's summary; one who manages none gets nothing
  (the organization as a whole is on the dashboards).

"Last week" is the seven days before that Monday's midnight, in the user's time zone. Figures
are counted over what the user may see, by the sets of `salesdesk.analytics.metrics`.

At most one digest goes to a user per week: a `DigestSent` row is claimed (its unique
constraint decides between two workers) before the message leaves, and given back if sending
fails, so a retry can send it.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from salesdesk.accounts import visibility
from salesdesk.accounts.models import OrganizationSettings, Role, User
from salesdesk.activities.models import Activity
from salesdesk.activities.my_day import stale_condition
from salesdesk.analytics import metrics, review
from salesdesk.analytics.models import DigestSent
from salesdesk.core.middleware import language_for
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import PeriodKind, current_period
from salesdesk.goals.selectors import GoalProgress, goal_progress

SEND_WEEKDAY = 0  # Monday
SEND_HOUR = 7
FOCUS_SHOWN = 5
KIND = DigestSent.Kind.WEEKLY
WEEK = datetime.timedelta(days=7)

# What `send_digest` did, for the job's log and the command's output.
SENT = "sent"
ALREADY_SENT = "already sent this week"
NOTHING_TO_SEND = "nothing to send"
INACTIVE = "no such active user"


def base_url() -> str:
    """Where the app lives, for the links of an e-mail (no request to build them from)."""
    return getattr(settings, "SALESDESK_BASE_URL", "http://localhost:8000").rstrip("/")


def week_start_for(user: User, now: datetime.datetime) -> datetime.date:
    """The Monday of the week `now` falls in, in the user's time zone."""
    today = now.astimezone(review.zone_of(user)).date()
    return today - datetime.timedelta(days=today.weekday())


def _midnight(day: datetime.date, user: User) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=review.zone_of(user))


# --- Who is due -----------------------------------------------------------------------------


def due_recipients(*, now: datetime.datetime) -> list[tuple[int, datetime.date]]:
    """(user id, week start) of the active users for whom it is Monday 07:00 to 07:59 at `now`
    and who have not had this week's digest. Two queries, whatever the number of users."""
    weeks = {}
    for name in User.objects.filter(is_active=True).values_list("timezone", flat=True).distinct():
        local = now.astimezone(review.zone_named(name))
        if local.weekday() == SEND_WEEKDAY and local.hour == SEND_HOUR:
            weeks[name] = local.date()
    if not weeks:
        return []
    due = Q(pk__in=[])
    for name, week_start in weeks.items():
        sent = DigestSent.objects.filter(week_start=week_start, kind=KIND).values("user_id")
        due |= Q(timezone=name) & ~Q(pk__in=sent)
    users = User.objects.filter(due, is_active=True).order_by("pk")
    return [(pk, weeks[name]) for pk, name in users.values_list("pk", "timezone")]


# --- What goes in it ------------------------------------------------------------------------


@dataclass
class RepLine:
    """One rep's week, as a row of the team summary (or a rep's own digest)."""

    rep: User | None  # None: the team's total
    won_amount: Decimal = Decimal("0.00")
    won_count: int = 0
    activities: int = 0
    goal: GoalProgress | None = None
    stale: int = 0
    overdue_tasks: int = 0
    link: str = ""


@dataclass
class Digest:
    user: User
    kind: str  # "team" or "rep"
    week_start: datetime.date
    last_week_start: datetime.date
    period_label: str
    currency: str
    lines: list[RepLine]
    total: RepLine | None = None
    goals: list[GoalProgress] = field(default_factory=list)
    focus: list[review.DealList] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def last_week_last_day(self) -> datetime.date:
        return self.week_start - datetime.timedelta(days=1)

    @property
    def subject(self) -> str:
        week = f"{self.week_start.day} {self.week_start:%b %Y}"
        if self.kind == "team":
            return f"Your team's week · {week}"
        return f"Your week ahead · {week}"


def digest_team(user: User) -> list[User] | None:
    """The people whose summary `user` receives; None when `user` gets a rep's digest."""
    if user.is_admin:
        return list(
            User.objects.filter(team__manager=user, is_active=True)
            .exclude(pk=user.pk)
            .order_by("full_name", "email")
        )
    if user.role == Role.MANAGER:
        return list(review.reviewable_reps(user))
    return None


def rep_lines(
    *,
    actor: User,
    reps: list[User],
    start: datetime.datetime,
    end: datetime.datetime,
    now: datetime.datetime,
    goals: list[GoalProgress],
) -> list[RepLine]:
    """Each rep's figures in a constant number of grouped queries (five)."""
    ids = [rep.pk for rep in reps]
    slice_ = metrics.Slice(actor=actor, start=start, end=end)
    won = metrics.totals_by(metrics.won(slice_).filter(owner_id__in=ids), "owner_id")
    activities = dict(
        metrics.activities(slice_)
        .filter(owner_id__in=ids)
        .order_by()
        .values("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
    )
    stale = dict(
        metrics.open_deals(slice_)
        .filter(stale_condition(now), owner_id__in=ids)
        .order_by()
        .values("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
    )
    # Owner visibility alone: the reps are the actor's own people, and the join through the
    # activity's deal that `visibility.scope` adds costs more than it finds here.
    overdue = dict(
        Activity.objects.filter(
            visibility.owner_scope(actor),
            kind=Activity.Kind.TASK,
            done_at__isnull=True,
            due_at__lt=now,
            owner_id__in=ids,
        )
        .order_by()
        .values("owner_id")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "n")
    )
    revenue_goals = {
        progress.goal.user_id: progress
        for progress in goals
        if progress.goal.metric == Goal.Metric.WON_REVENUE and not progress.goal.activity_kind
    }
    nothing = metrics.Totals(0, Decimal("0.00"), Decimal("0.00"))
    return [
        RepLine(
            rep=rep,
            won_amount=won.get(rep.pk, nothing).amount,
            won_count=won.get(rep.pk, nothing).count,
            activities=activities.get(rep.pk, 0),
            goal=revenue_goals.get(rep.pk),
            stale=stale.get(rep.pk, 0),
            overdue_tasks=overdue.get(rep.pk, 0),
            link=base_url() + reverse("review_scorecard", args=[rep.pk]),
        )
        for rep in reps
    ]


def _total(lines: list[RepLine]) -> RepLine:
    """The team's row: sums of the reps' rows (already aggregated, a few per team)."""
    return RepLine(
        rep=None,
        won_amount=sum((line.won_amount for line in lines), Decimal("0.00")),
        won_count=sum(line.won_count for line in lines),
        activities=sum(line.activities for line in lines),
        stale=sum(line.stale for line in lines),
        overdue_tasks=sum(line.overdue_tasks for line in lines),
    )


def build(
    user: User,
    *,
    week_start: datetime.date,
    now: datetime.datetime | None = None,
    organization: OrganizationSettings | None = None,
) -> Digest | None:
    """The digest `user` gets for the week starting `week_start`; None when there is none."""
    now = now or timezone.now()
    organization = organization or OrganizationSettings.get()
    team = digest_team(user)
    if team is not None and not team:
        return None
    reps = team if team is not None else [user]
    period = current_period(
        PeriodKind.QUARTER,
        now=now,
        tz=organization.timezone,
        fiscal_start_month=organization.fiscal_year_start_month,
    )
    goals = goal_progress(
        actor=user,
        period=period,
        now=now,
        user_ids=[rep.pk for rep in reps],
        metric=Goal.Metric.WON_REVENUE if team is not None else None,
    )
    last_week = week_start - WEEK
    lines = rep_lines(
        actor=user,
        reps=reps,
        start=_midnight(last_week, user),
        end=_midnight(week_start, user),
        now=now,
        goals=goals,
    )
    site = base_url()
    digest = Digest(
        user=user,
        kind="team" if team is not None else "rep",
        week_start=week_start,
        last_week_start=last_week,
        period_label=period.label,
        currency=organization.base_currency,
        lines=lines,
        links={
            "scorecard": site + reverse("review_scorecard", args=[user.pk]),
            "reviews": site + reverse("review_list"),
            "team": f"{site}/dashboards/team/",
            "goals": f"{site}/goals/",
            "site": site + "/",
        },
    )
    if team is not None:
        digest.total = _total(lines)
    else:
        digest.goals = goals
        today = now.astimezone(review.zone_of(user)).date()
        digest.focus = review.focus_lists(
            actor=user, rep_id=user.pk, now=now, today=today, shown=FOCUS_SHOWN
        )
        for focus in digest.focus:
            for deal in focus.rows:
                deal.link = site + reverse("deal_detail", args=[deal.pk])
    return digest


def render(digest: Digest) -> tuple[str, str, str]:
    """(subject, plain text, HTML), in the user's time zone and number and date formats."""
    context = {"digest": digest, "user": digest.user, "currency": digest.currency}
    with (
        timezone.override(review.zone_of(digest.user)),
        translation.override(language_for(digest.user.locale)),
    ):
        text = render_to_string("analytics/email/digest.txt", context)
        html = render_to_string("analytics/email/digest.html", context)
    return digest.subject, text, html


# --- Sending --------------------------------------------------------------------------------


def _claim(user: User, week_start: datetime.date, *, force: bool) -> bool:
    """Take this week's digest for `user`: False when someone already has (unless `force`)."""
    if force:
        DigestSent.objects.update_or_create(
            user=user, week_start=week_start, kind=KIND, defaults={"sent_at": timezone.now()}
        )
        return True
    try:
        with transaction.atomic():
            DigestSent.objects.create(user=user, week_start=week_start, kind=KIND)
    except IntegrityError:  # another worker claimed it first
        return False
    return True


def send_digest(
    *,
    user_id: int,
    week_start: datetime.date | None = None,
    force: bool = False,
    now: datetime.datetime | None = None,
) -> str:
    """Send `user_id` the digest of the week starting `week_start` (this week by default).

    Idempotent: a week already sent is not sent again unless `force`. The claim is committed
    before the message goes out, so no long transaction waits on the mail server; if sending
    fails the claim is given back and the error raised, for the job to retry.
    """
    now = now or timezone.now()
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return INACTIVE
    week_start = week_start or week_start_for(user, now)
    exists = DigestSent.objects.filter(user=user, week_start=week_start, kind=KIND).exists()
    if exists and not force:
        return ALREADY_SENT
    digest = build(user, week_start=week_start, now=now)
    if digest is None:
        return NOTHING_TO_SEND
    subject, text, html = render(digest)
    if not _claim(user, week_start, force=force):
        return ALREADY_SENT
    message = EmailMultiAlternatives(subject, text, None, [user.email])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:
        if not force:
            DigestSent.objects.filter(user=user, week_start=week_start, kind=KIND).delete()
        raise
    return SENT
