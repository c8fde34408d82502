from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone


class Activity(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email"
        CALL = "call"
        MEETING = "meeting"
        NOTE = "note"
        TASK = "task"

    class Direction(models.TextChoices):
        NONE = "", "—"
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    class Source(models.TextChoices):
        MANUAL = "manual"
        IMAP = "imap"
        CALENDAR = "calendar"
        API = "api"
        IMPORT = "import"
        FOLLOW_UP = "follow_up", "Follow-up suggestion"  # activities/follow_ups.py

    kind = models.CharField(max_length=10, choices=Kind.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices, blank=True, default="")
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    duration = models.DurationField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        db_index=False,  # a composite index in Meta starts with this column
    )
    company = models.ForeignKey(
        "crm.Company",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        db_index=False,  # a composite index in Meta starts with this column
    )
    contacts = models.ManyToManyField("crm.Contact", blank=True, related_name="activities")
    deal = models.ForeignKey(
        "pipeline.Deal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
        db_index=False,  # a composite index in Meta starts with this column
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="activity_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "-occurred_at"], name="activity_company_idx"),
            models.Index(fields=["deal", "-occurred_at"], name="activity_deal_idx"),
            models.Index(fields=["owner", "kind", "-occurred_at"], name="activity_owner_idx"),
            models.Index(fields=["owner", "done_at", "due_at"], name="activity_task_idx"),
            # Timelines and "all activities" pages read newest first (bench/api.py measured it).
            models.Index(F("occurred_at").desc(), F("id").desc(), name="activity_time_idx"),
            models.Index(
                "owner", F("occurred_at").desc(), F("id").desc(), name="activity_owner_time_idx"
            ),
            # Overdue tasks per owner (team dashboard): only the open tasks.
            models.Index(
                fields=["owner", "due_at"],
                include=["id"],  # counted from the index alone (PostgreSQL)
                condition=models.Q(kind="task", done_at__isnull=True),
                name="activity_open_task_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or self.get_kind_display()

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class FollowUp(models.Model):
    """An outbound e-mail that got no answer in time, and the task suggested for it. The row
    stays when the task is deleted, so a rep who drops a suggestion is not asked again."""

    email = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="follow_up")
    task = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"follow-up of {self.email_id}"
