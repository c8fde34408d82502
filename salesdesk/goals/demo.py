"""Goals for the demo organization (salesdesk/core/demo.py), sized from its own history.

Each active rep gets a fiscal-year and a quarter won-revenue goal and a quarter activities
goal, sized from their pace in the period so far (or over the last 90 days, early in it)
times a factor that differs from rep to rep, so that some are ahead and some behind. The most
recently hired rep ramps (25, 50, 75 % from the month before the quarter). Every team gets
goals without a target, which add up its members'. Reproducible: no randomness, only data.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Sum

from salesdesk.accounts.models import OrganizationSettings, Role, Team, User
from salesdesk.analytics import metrics
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import PeriodKind, period_containing
from salesdesk.goals.selectors import SYSTEM

# How hard each rep's goal is against their recent pace, rep by rep (below 1: ahead).
STRETCH = (Decimal("0.85"), Decimal("1.25"), Decimal("1.0"), Decimal("1.45"), Decimal("0.95"))
RAMP = [25, 50, 75]
TRAILING_DAYS = 90
MIN_DAYS = 14


def _round(value: Decimal, step: int, minimum: int) -> Decimal:
    steps = (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(Decimal(minimum), steps * step)


def _month_start(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


@transaction.atomic
def demo_goals(*, anchor: datetime.date) -> int:
    """Create the demo goals around `anchor` (the demo's "today"); returns how many.

    Goals that exist already are left as they are, so running it twice adds nothing.
    """
    org = OrganizationSettings.get()
    fsm, tz = org.fiscal_year_start_month, org.timezone
    quarter = period_containing(anchor, PeriodKind.QUARTER, fsm)
    year = period_containing(anchor, PeriodKind.YEAR, fsm)
    reps = list(User.objects.filter(role=Role.REP, is_active=True).order_by("pk"))
    if not reps:
        return 0

    end = datetime.datetime.combine(
        anchor + datetime.timedelta(days=1), datetime.time(), datetime.UTC
    )
    rep_ids = [rep.pk for rep in reps]

    def won_by_rep(start: datetime.datetime) -> dict[int, Decimal]:
        slice_ = metrics.Slice(actor=SYSTEM, start=start, end=max(start, end), tz=tz)
        return dict(
            metrics.won(slice_)
            .filter(owner_id__in=rep_ids)
            .order_by()
            .values("owner_id")
            .annotate(amount=Sum("amount_base"))
            .values_list("owner_id", "amount")
        )

    def logged_by_rep(start: datetime.datetime) -> dict[int, int]:
        slice_ = metrics.Slice(actor=SYSTEM, start=start, end=max(start, end), tz=tz)
        return dict(
            metrics.activities(slice_)
            .filter(owner_id__in=rep_ids)
            .order_by()
            .values("owner_id")
            .annotate(count=Count("id"))
            .values_list("owner_id", "count")
        )

    def pace(period, so_far: dict, trailing: dict) -> dict[int, Decimal]:
        """Per rep, what the whole period brings at their pace: this period's pace once two
        weeks have passed, otherwise the last 90 days'."""
        days_in = Decimal((end - period.bounds(tz)[0]) / datetime.timedelta(days=1))
        days = Decimal((period.end - period.start).days)
        if days_in >= MIN_DAYS:
            return {rep: Decimal(so_far.get(rep) or 0) / days_in * days for rep in rep_ids}
        return {rep: Decimal(trailing.get(rep) or 0) / TRAILING_DAYS * days for rep in rep_ids}

    trailing_start = end - datetime.timedelta(days=TRAILING_DAYS)
    won_trailing = won_by_rep(trailing_start)
    year_won = pace(year, won_by_rep(year.bounds(tz)[0]), won_trailing)
    quarter_won = pace(quarter, won_by_rep(quarter.bounds(tz)[0]), won_trailing)
    quarter_logged = pace(
        quarter, logged_by_rep(quarter.bounds(tz)[0]), logged_by_rep(trailing_start)
    )

    new_hire = max(reps, key=lambda rep: (rep.date_joined, rep.pk))
    ramp_start = _month_start(quarter.start, -1)  # started a month before this quarter
    goals = []
    for n, rep in enumerate(reps):
        stretch = STRETCH[n % len(STRETCH)]
        ramp = {"ramp": RAMP, "ramp_start": ramp_start} if rep == new_hire else {}
        goals += [
            Goal(
                user=rep,
                period_kind=PeriodKind.YEAR,
                period_start=year.start,
                metric=Goal.Metric.WON_REVENUE,
                target=_round(year_won[rep.pk] * stretch, 5000, 20000),
                **ramp,
            ),
            Goal(
                user=rep,
                period_kind=PeriodKind.QUARTER,
                period_start=quarter.start,
                metric=Goal.Metric.WON_REVENUE,
                target=_round(quarter_won[rep.pk] * stretch, 1000, 5000),
                **ramp,
            ),
            Goal(
                user=rep,
                period_kind=PeriodKind.QUARTER,
                period_start=quarter.start,
                metric=Goal.Metric.ACTIVITIES,
                target=_round(quarter_logged[rep.pk] * stretch, 10, 30),
            ),
        ]
    for team in Team.objects.filter(members__in=reps).distinct().order_by("pk"):
        goals.extend(
            Goal(
                team=team,
                period_kind=period.kind,
                period_start=period.start,
                metric=Goal.Metric.WON_REVENUE,
            )
            for period in (year, quarter)
        )
        goals.append(
            Goal(
                team=team,
                period_kind=PeriodKind.QUARTER,
                period_start=quarter.start,
                metric=Goal.Metric.ACTIVITIES,
            )
        )

    existing = set(
        Goal.objects.filter(period_start__in={year.start, quarter.start}).values_list(
            "user_id", "team_id", "period_kind", "period_start", "metric", "activity_kind"
        )
    )
    new = [
        goal
        for goal in goals
        if (
            goal.user_id,
            goal.team_id,
            goal.period_kind,
            goal.period_start,
            goal.metric,
            goal.activity_kind,
        )
        not in existing
    ]
    Goal.objects.bulk_create(new)
    return len(new)
