from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from salesdesk.activities.models import Activity
from salesdesk.goals.periods import Period, PeriodKind, months_between, period_of


def ramp_share(ramp: list[int] | None, ramp_start, period: Period) -> Decimal:
    """The share (0 to 1) of a full target that applies in `period` under a ramp of monthly
    percentages from `ramp_start` (100% after it; the whole target without a ramp)."""
    if not ramp or ramp_start is None:
        return Decimal(1)
    percents = []
    for month in period.months():
        index = months_between(ramp_start, month.start)
        if index < 0:
            percents.append(0)
        elif index < len(ramp):
            percents.append(ramp[index])
        else:
            percents.append(100)
    return Decimal(sum(percents)) / Decimal(100 * len(percents))


class Goal(models.Model):
    """A target for one rep or one team over one fiscal period, on one metric.

    A team goal without a target takes the sum of its members' goals for the same period and
    metric. A rep's goal may ramp: `ramp` lists the percent of the full target that applies in
    each month from `ramp_start` on (e.g. [25, 50, 75]); later months count in full and months
    before `ramp_start` not at all.
    """

    class Metric(models.TextChoices):
        WON_REVENUE = "won_revenue", "Won revenue"
        DEALS_WON = "deals_won", "Deals won"
        NEW_DEALS = "new_deals", "New deals"
        ACTIVITIES = "activities", "Activities logged"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="goals",
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="goals"
    )
    period_kind = models.CharField(max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField()
    metric = models.CharField(max_length=12, choices=Metric.choices)
    activity_kind = models.CharField(
        max_length=10,
        choices=Activity.Kind.choices,
        blank=True,
        help_text="Only for the activities metric: count one kind (all kinds when empty).",
    )
    target = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    ramp = models.JSONField(default=list, blank=True)
    ramp_start = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["period_start", "period_kind", "metric", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True)
                | Q(user__isnull=True, team__isnull=False),
                name="goal_has_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(target__isnull=True) | Q(target__gte=0), name="goal_target_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(team__isnull=False) | Q(target__isnull=False),
                name="rep_goal_has_target",
            ),
            models.UniqueConstraint(
                fields=["user", "period_kind", "period_start", "metric", "activity_kind"],
                condition=Q(user__isnull=False),
                name="goal_unique_per_user",
            ),
            models.UniqueConstraint(
                fields=["team", "period_kind", "period_start", "metric", "activity_kind"],
                condition=Q(team__isnull=False),
                name="goal_unique_per_team",
            ),
        ]
        indexes = [models.Index(fields=["period_start", "period_kind"], name="goal_period_idx")]

    def __str__(self) -> str:
        owner = self.user or self.team
        return f"{owner} · {self.get_metric_display()} · {self.period_start:%Y-%m}"

    def period(self, fiscal_start_month: int) -> Period:
        return period_of(self.period_kind, self.period_start, fiscal_start_month)

    def clean(self) -> None:
        errors = {}
        if self.metric != self.Metric.ACTIVITIES and self.activity_kind:
            errors["activity_kind"] = "Only an activities goal counts one kind of activity."
        if self.ramp:
            if self.team_id:
                errors["ramp"] = "Only a rep's goal can ramp."
            elif not isinstance(self.ramp, list) or not all(
                isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 100 for p in self.ramp
            ):
                errors["ramp"] = "List whole percents from 0 to 100, one per month."
            elif len(self.ramp) > 24:
                errors["ramp"] = "A ramp lasts at most 24 months."
            elif self.ramp_start is None:
                errors["ramp_start"] = "Say in which month the ramp starts."
        if self.ramp_start is not None and self.ramp_start.day != 1:
            errors["ramp_start"] = "A ramp starts on the first day of a month."
        if errors:
            raise ValidationError(errors)

    def ramp_share(self, period: Period) -> Decimal:
        """The share (0 to 1) of the full target that applies in `period`, by its months."""
        return ramp_share(self.ramp, self.ramp_start, period)

    def effective_target(self, period: Period) -> Decimal | None:
        """The target after the ramp, rounded to cents (None for a team goal without one)."""
        if self.target is None:
            return None
        return (self.target * self.ramp_share(period)).quantize(Decimal("0.01"))


class ForecastSnapshot(models.Model):
    """One forecast figure as it stood in one week, kept to measure later how accurate it was.

    The weekly job writes, for every period ahead (this and the next two months, this and the
    next quarter), every method and every scope (the organization, each team, each rep), what
    the forecast said that week; `actual` is filled in with what was won once the period is
    over. `scope_id` is the team's or the rep's id (0 for the organization), kept without a
    foreign key so the history of a deleted team or user stays. Rows rebuilt from history
    (`is_backfilled`) rest on today's amounts and typed probabilities.
    """

    class Method(models.TextChoices):
        COMMITTED = "committed", "Committed"
        WEIGHTED = "weighted", "Weighted"
        BEST_CASE = "best_case", "Best case"
        COMMIT = "commit", "Commit"
        HISTORICAL = "historical", "Historical"

    class Scope(models.TextChoices):
        ORGANIZATION = "organization", "Organization"
        TEAM = "team", "Team"
        REP = "rep", "Rep"

    week = models.DateField(help_text="Monday of the week, in the reporting time zone.")
    period_kind = models.CharField(max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField()
    method = models.CharField(max_length=10, choices=Method.choices)
    scope = models.CharField(max_length=12, choices=Scope.choices)
    scope_id = models.PositiveBigIntegerField(default=0)
    value = models.DecimalField(max_digits=16, decimal_places=2)
    actual = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    taken_at = models.DateTimeField(default=timezone.now)
    is_backfilled = models.BooleanField(default=False)

    class Meta:
        ordering = ["week", "period_start", "period_kind", "scope", "scope_id", "method"]
        constraints = [
            models.UniqueConstraint(
                fields=["week", "period_kind", "period_start", "method", "scope", "scope_id"],
                name="forecastsnapshot_one_per_week",
            ),
            models.CheckConstraint(
                condition=Q(scope="organization", scope_id=0)
                | (~Q(scope="organization") & Q(scope_id__gt=0)),
                name="forecastsnapshot_scope_id",
            ),
        ]
        indexes = [
            models.Index(
                fields=["scope", "scope_id", "period_kind", "period_start"],
                name="forecastsnapshot_scope_idx",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.week} · {self.scope} {self.scope_id} · {self.period_kind} "
            f"{self.period_start} · {self.method} {self.value}"
        )


class ForecastCurves(models.Model):
    """The historical forecast's win curves, measured on all history by a nightly job.

    Measuring them reads every stage change; pages read this row instead (see
    goals.forecast.current_curves). `pipeline_key` is the pipeline's id, 0 for all pipelines;
    `curves` holds each stage's curve and the curve from creation (WinCurves.as_dict).
    """

    pipeline_key = models.PositiveBigIntegerField(unique=True)
    measured_at = models.DateTimeField()
    curves = models.JSONField()

    def __str__(self) -> str:
        return f"curves of pipeline {self.pipeline_key or 'all'} at {self.measured_at}"
