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
