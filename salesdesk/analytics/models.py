from django.conf import settings
from django.db import models
from django.utils import timezone


class CoachingNote(models.Model):
    """What a manager noted about a rep in a 1:1, kept with its date.

    The rep and the rep's managers read it; only managers and admins write it.
    """

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="coaching_notes",
        db_index=False,  # the (rep, created_at) index in Meta starts with this column
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rep", "-created_at"], name="coachingnote_rep_idx")]

    def __str__(self) -> str:
        return f"{self.rep} · {self.created_at:%Y-%m-%d}"


class Review(models.Model):
    """A 1:1 review that was held: the start of "what changed since the last review"."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reviews",
        db_index=False,  # the (rep, held_at) index in Meta starts with this column
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_at", "-id"]
        indexes = [models.Index(fields=["rep", "-held_at"], name="review_rep_idx")]

    def __str__(self) -> str:
        return f"{self.rep} · {self.held_at:%Y-%m-%d}"


class DigestSent(models.Model):
    """One digest e-mail that went out: at most one per user, week and kind.

    The unique constraint is what makes sending idempotent when two workers run the hourly job
    at once: the second insert fails and that worker sends nothing.
    """

    class Kind(models.TextChoices):
        WEEKLY = "weekly", "Weekly digest"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique constraint starts with this column
    )
    week_start = models.DateField(help_text="The Monday of the week, in the user's time zone.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WEEKLY)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week_start", "user_id"]
        verbose_name = "digest sent"
        verbose_name_plural = "digests sent"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "week_start", "kind"], name="digest_once_per_user_week_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.kind} · {self.week_start}"


class DealRollup(models.Model):
    """Deals created, won and lost per month, owner and the dashboards' dimensions.

    A bucket is kept current by the code that changes deals (`analytics.rollups`); see that
    module for the grain, the time zone and how visibility applies.
    """

    class Event(models.TextChoices):
        CREATED = "created", "Created"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    month = models.DateField(help_text="First day of the month, in the reporting time zone.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the (owner, month) index in Meta starts with this column
    )
    event = models.CharField(max_length=7, choices=Event.choices)
    pipeline = models.ForeignKey("pipeline.Pipeline", on_delete=models.CASCADE, related_name="+")
    lead_source = models.ForeignKey(
        "pipeline.LeadSource", null=True, on_delete=models.CASCADE, related_name="+"
    )
    lost_reason = models.ForeignKey(
        "pipeline.LostReason", null=True, on_delete=models.CASCADE, related_name="+"
    )
    # Created rows only: the deal's current stage (for the stage-weighted amount), the furthest
    # stage position it reached in its pipeline, and whether it is won (the funnel).
    stage = models.ForeignKey(
        "pipeline.Stage", null=True, on_delete=models.CASCADE, related_name="+"
    )
    furthest = models.SmallIntegerField(null=True)
    is_won = models.BooleanField(default=False)
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    cycle = models.DurationField(
        null=True, help_text="Won and lost rows: summed creation-to-close."
    )

    class Meta:
        indexes = [
            models.Index(fields=["owner", "month"], name="dealrollup_owner_idx"),
            # Covering: a quarter of the whole organization (33,000 buckets on 1M deals) is
            # summed by lead source, lost reason and funnel stage from the index alone.
            models.Index(
                fields=["month", "event"],
                include=[
                    "owner",
                    "pipeline",
                    "lead_source",
                    "lost_reason",
                    "stage",
                    "furthest",
                    "is_won",
                    "count",
                    "amount",
                    "cycle",
                ],
                name="dealrollup_month_cover_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.owner_id} · {self.event} · {self.count}"


class ActivityRollup(models.Model):
    """Activities logged per month, owner and kind (tasks in the month they were done)."""

    month = models.DateField(help_text="First day of the month, in the reporting time zone.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the (owner, month) index in Meta starts with this column
    )
    kind = models.CharField(max_length=10)
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["owner", "month"], name="activityrollup_owner_idx"),
            models.Index(fields=["month"], name="activityrollup_month_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.owner_id} · {self.kind} · {self.count}"


class StageFlowRollup(models.Model):
    """Deals that entered each stage during a period (month, fiscal quarter, fiscal year).

    One row per period kind: a deal that entered a stage in two months of a quarter counts
    once in the quarter, so quarters and years are not sums of months.
    """

    kind = models.CharField(max_length=7)  # goals.periods.PeriodKind
    start = models.DateField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the (owner, kind, start) index in Meta starts with this column
    )
    pipeline = models.ForeignKey("pipeline.Pipeline", on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey("pipeline.Stage", on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "kind", "start"], name="flowrollup_owner_idx"),
            models.Index(fields=["kind", "start", "pipeline"], name="flowrollup_period_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.start} · {self.owner_id} · {self.stage_id} · {self.count}"


class DealTotalsRollup(models.Model):
    """`DealRollup` summed over its finer dimensions: (month, owner, pipeline, event).

    What the monthly chart and the team dashboard read: a fraction of the rows."""

    month = models.DateField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the (owner, month) index in Meta starts with this column
    )
    event = models.CharField(max_length=7, choices=DealRollup.Event.choices)
    pipeline = models.ForeignKey("pipeline.Pipeline", on_delete=models.CASCADE, related_name="+")
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    cycle = models.DurationField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "month"], name="dealtotals_owner_idx"),
            models.Index(fields=["month", "event"], name="dealtotals_month_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.owner_id} · {self.event} · {self.count}"


class OpenDealRollup(models.Model):
    """The deals open now, per owner, pipeline, stage (the stage gives the weighting), month of
    the expected close date and whether the rep committed them: the open pipeline, what is
    expected in a period of whole months (goals, forecast) and the commit forecast."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    pipeline = models.ForeignKey("pipeline.Pipeline", on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey("pipeline.Stage", on_delete=models.CASCADE, related_name="+")
    # First day of the month of `expected_close` (a date: no time zone); None without one.
    expected_month = models.DateField(null=True, blank=True)
    is_commit = models.BooleanField(default=False)  # forecast category "commit"
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.owner_id} · {self.stage_id} · {self.count}"


class OpenDealAgeRollup(models.Model):
    """The deals open now, per owner, pipeline, stage and the day (reporting time zone) they
    entered that stage: the stale deals of a moment are the buckets of the days before each
    stage's limit plus the deals of the limit's own day (analytics/rollups.py, `stale_rows`).

    Days, not months: open deals entered their stages over the last few months, so a month
    would leave a large part of them to count from the deals."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    pipeline = models.ForeignKey("pipeline.Pipeline", on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey("pipeline.Stage", on_delete=models.CASCADE, related_name="+")
    entered_on = models.DateField()
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.owner_id} · {self.stage_id} · {self.entered_on} · {self.count}"


class NextStepRollup(models.Model):
    """The deals open now, per owner, pipeline, whether they have a next step and the day it
    is due: the deals without a next step, or with one overdue, are the buckets without a
    step plus those due before today (a date: no boundary rows, no time zone)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    pipeline = models.ForeignKey("pipeline.Pipeline", on_delete=models.CASCADE, related_name="+")
    has_step = models.BooleanField()
    due_on = models.DateField(null=True, blank=True)
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.owner_id} · {self.has_step} · {self.due_on} · {self.count}"


class OpenTaskRollup(models.Model):
    """Open tasks with a due time, per owner and due day (reporting time zone): the overdue
    tasks of a moment are the buckets of the days before today plus today's tasks already
    due."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    due_on = models.DateField()
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.owner_id} · {self.due_on} · {self.count}"


class CompanyWonRollup(models.Model):
    """Revenue won per company in each period (month, fiscal quarter, fiscal year), over every
    owner and pipeline: the revenue dashboard's top companies for a viewer who sees every deal
    and filters on nothing but the period.

    Filtered, the won deals of a period are few enough to rank from the deals' covering index;
    unfiltered, 1M deals put 44,228 companies with a win in one quarter, and ranking them is
    half the dashboard's SQL. Here the top of a period is read in the order of an index.
    """

    kind = models.CharField(max_length=7)  # goals.periods.PeriodKind
    start = models.DateField()
    company = models.ForeignKey(
        "crm.Company",
        on_delete=models.CASCADE,  # its deals lose their company: none of them counts any more
        related_name="+",
    )
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "start", "company"], name="companyrollup_bucket_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["kind", "start", "-amount", "-count"], name="companyrollup_top_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.start} · {self.company_id} · {self.count}"
