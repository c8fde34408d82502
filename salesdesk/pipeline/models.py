import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.utils import timezone

from salesdesk.core.models import currency_code


class LeadSource(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LostReason(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Pipeline(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_pipeline",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Chance, in percent, that a deal in this stage is won.",
    )
    stale_after_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="A deal longer than this in the stage is stale."
    )

    class Meta:
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique"),
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=100),
                name="stage_probability_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Deal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        WON = "won"
        LOST = "lost"

    class ForecastCategory(models.TextChoices):
        PIPELINE = "pipeline"
        BEST_CASE = "best_case", "Best case"
        COMMIT = "commit"
        CLOSED = "closed"

    title = models.CharField(max_length=200)
    company = models.ForeignKey(
        "crm.Company",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        db_index=False,  # a composite index in Meta starts with this column
    )
    contacts = models.ManyToManyField("crm.Contact", blank=True, related_name="deals")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        db_index=False,  # a composite index in Meta starts with this column
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(
        Stage,
        on_delete=models.PROTECT,
        related_name="deals",
        db_index=False,  # a composite index in Meta starts with this column
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, validators=[currency_code])
    amount_base = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    expected_close = models.DateField(null=True, blank=True)
    # How many times the expected close date was pushed later or cleared while the deal was
    # open: the CloseDateChange rows that are slips, counted as they are recorded.
    close_date_slips = models.PositiveIntegerField(default=0, editable=False)
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    lost_reason = models.ForeignKey(
        LostReason, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    lost_note = models.TextField(blank=True)
    lead_source = models.ForeignKey(
        LeadSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    forecast_category = models.CharField(
        max_length=10, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    next_step = models.CharField(max_length=255, blank=True)
    next_step_due = models.DateField(null=True, blank=True)
    tags = models.ManyToManyField("crm.Tag", blank=True, related_name="deals")
    stage_entered_at = models.DateTimeField(default=timezone.now)
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="lost") | models.Q(lost_reason__isnull=False),
                name="lost_deal_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(status="open", closed_at__isnull=True)
                | (~models.Q(status="open") & models.Q(closed_at__isnull=False)),
                name="closed_deal_has_closed_at",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="deal_amount_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "-id"], name="deal_owner_status_idx"),
            models.Index(fields=["stage", "status", "-id"], name="deal_stage_status_idx"),
            models.Index(fields=["status", "-id"], name="deal_status_idx"),
            models.Index(fields=["company", "-id"], name="deal_company_idx"),
            models.Index(fields=["status", "closed_at"], name="deal_closed_idx"),
            models.Index(fields=["status", "expected_close"], name="deal_expected_close_idx"),
            # The forecast's pace of new business: deals created in the last 91 days (covering,
            # with the owner for visibility, so PostgreSQL reads the index alone).
            models.Index(
                fields=["created_at"], include=["amount_base", "owner"], name="deal_created_idx"
            ),
            # The newest deals are nearly all open: won deals newest first need their own index.
            models.Index(F("id").desc(), condition=models.Q(status="won"), name="deal_won_idx"),
            # Figures the dashboards read from the deals rather than from the rollups
            # (analytics/rollups.py): top companies by won revenue, and what is open now (open
            # pipeline, stale deals). Covering, so a quarter or every open deal is read from
            # the index alone (PostgreSQL; other databases ignore `include`).
            models.Index(
                fields=["closed_at"],
                include=["company", "amount_base", "owner", "pipeline", "id"],
                condition=models.Q(status="won"),
                name="deal_won_closed_idx",
            ),
            # Open deals by owner, covering what the team dashboard and the 1:1 review count
            # per rep (pipeline, stale, no next step, close date passed) for every open deal.
            models.Index(
                fields=["owner"],
                include=[
                    "amount_base",
                    "stage",
                    "stage_entered_at",
                    "pipeline",
                    "id",
                    "expected_close",
                    "next_step_due",
                    "next_step",
                ],
                condition=models.Q(status="open"),
                name="deal_open_owner_idx",
            ),
            # The forecast's open deals by expected close month (covering: read from the index
            # alone, for every open deal the forecast weighs).
            models.Index(
                fields=["expected_close"],
                include=["amount_base", "stage", "forecast_category", "owner", "pipeline"],
                condition=models.Q(status="open"),
                name="deal_open_expected_idx",
            ),
            # The forecast's most slipped open deals, in the order it lists them.
            models.Index(
                F("close_date_slips").desc(),
                F("amount_base").desc(),
                F("id").desc(),
                condition=models.Q(status="open", close_date_slips__gt=0),
                name="deal_slipped_idx",
            ),
            # Recounting one owner's month of the rollups when a deal changes.
            models.Index(fields=["owner", "created_at"], name="deal_owner_created_idx"),
            models.Index(fields=["owner", "closed_at"], name="deal_owner_closed_idx"),
            # The deals of a rep that moved since the last 1:1 (analytics/review.py).
            models.Index(fields=["owner", "stage_entered_at"], name="deal_owner_entered_idx"),
            # The open deals that entered a stage on one day, whoever owns them: what the
            # stale-deal buckets leave to the rows (analytics/rollups.py, `stale_parts`). The
            # stage first: led by the time alone, the index was taken to list one rep's stale
            # deals in time order, through every open deal (the 1:1 scorecard: 3 → 75 ms).
            models.Index(
                fields=["stage", "stage_entered_at"],
                include=["owner", "pipeline"],
                condition=models.Q(status="open"),
                name="deal_open_entered_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def days_in_stage(self, now: datetime.datetime | None = None) -> int:
        # Never negative: a stage entered "later today" (demo data, a clock ahead) is 0 days.
        return max(0, ((now or timezone.now()) - self.stage_entered_at).days)

    @property
    def is_stale(self) -> bool:
        limit = self.stage.stale_after_days
        return (
            self.status == self.Status.OPEN and limit is not None and self.days_in_stage() > limit
        )


class StageChange(models.Model):
    """One move of a deal between stages (from_stage is empty for the first stage)."""

    deal = models.ForeignKey(
        Deal,
        on_delete=models.CASCADE,
        related_name="stage_changes",
        db_index=False,  # the (deal, at) index in Meta starts with this column
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["deal", "at"], name="stagechange_deal_idx")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"


class CloseDateChange(models.Model):
    """The expected close date of an open deal moved: a slip when `to_date` is later."""

    deal = models.ForeignKey(
        Deal,
        on_delete=models.CASCADE,
        related_name="close_date_changes",
        db_index=False,  # the (deal, at) index in Meta starts with this column
    )
    from_date = models.DateField()
    to_date = models.DateField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["deal", "at"], name="closedatechange_deal_idx"),
            models.Index(fields=["at"], name="closedatechange_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_date} → {self.to_date}"

    @property
    def is_slip(self) -> bool:
        return self.to_date is None or self.to_date > self.from_date
