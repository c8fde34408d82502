"""Mailboxes, calendars and what was captured from them; what was sent from Salesdesk, and
what its tracking recorded.

`CapturedMessage` is the memory that makes capture idempotent: one row per e-mail ever seen,
keyed by its Message-ID (or, without one, by a hash of its content), whichever mailbox or file
it came from. A message that creates nothing (bulk mail, only colleagues on it, unreadable) is
remembered too, with the reason, so nothing is silently dropped and nothing is read twice.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from salesdesk.capture import addresses


class CapturedMessage(models.Model):
    class Status(models.TextChoices):
        LOGGED = "logged", "Logged"  # an e-mail activity was written
        AUTOMATED = "automated", "Automated"  # bulk, auto-reply, no-reply: nothing created
        INTERNAL = "internal", "Internal"  # no participant outside the organization
        SKIPPED = "skipped", "Skipped"  # could not be read: see `reason`, `raw` is kept

    class Source(models.TextChoices):
        IMAP = "imap", "Mailbox"
        MBOX = "mbox", "mbox file"
        EML = "eml", ".eml file"
        SENT = "sent", "Sent from Salesdesk"

    key = models.CharField(max_length=255, unique=True)  # "mid:<message-id>" | "sha256:<hex>"
    message_id = models.CharField(max_length=255, blank=True)
    thread_key = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    activity = models.OneToOneField(
        "activities.Activity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="captured_message",
    )
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=5, choices=Source.choices)
    source_ref = models.CharField(max_length=500, blank=True)  # mailbox folder and UID, file
    raw = models.BinaryField(null=True, blank=True)  # only for skipped messages (capped)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["thread_key"], name="captured_thread_idx"),
            models.Index(fields=["captured_by", "-created_at"], name="captured_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class CapturedAddress(models.Model):
    """An outside participant of a logged message: who wrote to whom, for the interaction
    facts (last interaction, no reply since) and for suggested contacts accepted later."""

    class Role(models.TextChoices):
        FROM = "from"
        TO = "to"
        CC = "cc"

    message = models.ForeignKey(CapturedMessage, on_delete=models.CASCADE, related_name="addresses")
    match_key = models.CharField(max_length=254)  # capture.addresses.normalize
    role = models.CharField(max_length=4, choices=Role.choices)
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["match_key"], name="captured_address_idx")]

    def __str__(self) -> str:
        return f"{self.role} {self.match_key}"


class SuggestedContact(models.Model):
    """An outside address seen in mail while the organization reviews new contacts before they
    are created (capture mode "suggest"). Ignored addresses stay ignored."""

    class Status(models.TextChoices):
        PENDING = "pending", "Suggested"
        ACCEPTED = "accepted", "Accepted"
        IGNORED = "ignored", "Ignored"

    match_key = models.CharField(max_length=254, unique=True)
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    domain = models.CharField(max_length=253, blank=True)  # the registered domain
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    messages = models.PositiveIntegerField(default=0)  # how many captured messages had it
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    suggested_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "-last_seen_at"], name="suggested_status_idx")]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"


class FilledField(models.Model):
    """A contact or company field that capture filled from an e-mail signature: which message
    it came from, and what was there before, so that the change can be seen and undone."""

    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company = models.ForeignKey(
        "crm.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    field = models.CharField(max_length=30)  # "title", "phone", "linkedin_url", "website"...
    value = models.CharField(max_length=500)
    previous = models.CharField(max_length=500, blank=True)
    message = models.ForeignKey(
        CapturedMessage, null=True, on_delete=models.SET_NULL, related_name="filled_fields"
    )
    filled_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(contact__isnull=False) | models.Q(company__isnull=False),
                name="filled_field_has_record",
            )
        ]

    def __str__(self) -> str:
        return f"{self.field} = {self.value}"


class Mailbox(models.Model):
    """A user's IMAP mailbox, synced by a periodic job (capture/sync.py). The password is kept
    encrypted (capture/secrets.py) and never shown again."""

    class Security(models.TextChoices):
        SSL = "ssl", "SSL/TLS"
        STARTTLS = "starttls", "STARTTLS"
        NONE = "none", "None (plain text)"

    class State(models.TextChoices):
        NEW = "new", "Not synced yet"
        SYNCING = "syncing", "Syncing"
        OK = "ok", "Up to date"
        ERROR = "error", "Error"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailboxes"
    )
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=8, choices=Security.choices, default=Security.SSL)
    username = models.CharField(max_length=254)
    secret = models.TextField()  # the password, encrypted
    enabled = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(default=5)
    first_sync_days = models.PositiveIntegerField(null=True, blank=True)  # None: everything
    state = models.CharField(max_length=8, choices=State.choices, default=State.NEW)
    last_error = models.CharField(max_length=500, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)  # last attempt that finished
    last_success_at = models.DateTimeField(null=True, blank=True)
    sync_requested_at = models.DateTimeField(null=True, blank=True)  # "sync now"
    messages_captured = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Sending (capture/sending.py): set up when `smtp_host` is set. An empty username or secret
    # means the IMAP one; the secret is encrypted like `secret`.
    smtp_host = models.CharField(max_length=253, blank=True)
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_security = models.CharField(
        max_length=8, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(max_length=254, blank=True)
    smtp_secret = models.TextField(blank=True)
    saves_sent_copy = models.BooleanField(default=True)  # APPEND what is sent to the Sent folder

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "host", "username"], name="mailbox_unique_per_user"
            ),
            models.CheckConstraint(
                condition=models.Q(interval_minutes__gte=1), name="mailbox_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.username} on {self.host}"

    @property
    def sends(self) -> bool:
        return bool(self.smtp_host)

    @property
    def from_address(self) -> str:
        """The address mail sent through this mailbox comes from: the login when it is an
        address (it usually is), else the user's own."""
        if "@" in self.username and addresses.is_valid(self.username):
            return self.username.lower()
        return self.user.email


class MailboxFolder(models.Model):
    """Where a mailbox's sync stopped in one folder: the checkpoint written after each batch is
    stored, so a sync killed at any point resumes without gaps or duplicates."""

    class Role(models.TextChoices):
        INBOX = "inbox", "Inbox"
        SENT = "sent", "Sent"

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=255)
    role = models.CharField(max_length=5, choices=Role.choices)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "name"], name="mailbox_folder_unique")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id} {self.name} @ {self.last_uid}"


class CapturedEvent(models.Model):
    """One calendar occurrence ever captured (`capture.meetings`), keyed like its activity
    (UID + "/" + RECURRENCE-ID): the SEQUENCE last applied, so that an older copy of an event
    never undoes a newer one, and what became of it. A cancelled occurrence keeps its row (with
    no activity) so that re-importing the version before the cancellation does not bring the
    meeting back."""

    class Status(models.TextChoices):
        LOGGED = "logged", "Logged"  # a meeting activity stands for it
        INTERNAL = "internal", "Internal"  # no participant outside the organization (any more)
        CANCELLED = "cancelled", "Cancelled"
        # Gone from the connected calendar that captured it (`capture.calendar_sync`); unlike a
        # cancellation, the event coming back brings its meeting back.
        DELETED = "deleted", "Deleted from its calendar"

    key = models.CharField(max_length=255, unique=True)  # = Activity.external_id
    uid_key = models.CharField(max_length=255)  # the UID (hashed when long): its whole series
    recurrence_id = models.CharField(max_length=40, blank=True)
    sequence = models.IntegerField(default=0)
    fingerprint = models.CharField(max_length=64)  # of what the activity is made from
    status = models.CharField(max_length=9, choices=Status.choices)
    starts_at = models.DateTimeField()
    summary = models.CharField(max_length=255, blank=True)
    activity = models.OneToOneField(
        "activities.Activity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="captured_event",
    )
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    calendar_ref = models.CharField(max_length=500, blank=True)  # the file or feed last seen in
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["uid_key"], name="captured_event_uid_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status}, sequence {self.sequence})"


class EmailTemplate(models.Model):
    """A reusable subject and body with placeholders (`capture.placeholders`). Its owner's
    alone, unless an admin or a manager shares it with everyone."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_templates"
    )
    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    is_shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="email_template_unique_name")
        ]
        indexes = [models.Index(fields=["is_shared", "name"], name="email_template_shared_idx")]

    def __str__(self) -> str:
        return self.name


class SentEmail(models.Model):
    """A message sent from Salesdesk, and what tracking needs of it. Tokens are stored only as
    SHA-256 hashes (`capture.tracking`): the database alone cannot forge an open or a click."""

    activity = models.OneToOneField(
        "activities.Activity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sent_email",
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="sent_emails"
    )
    message_id = models.CharField(max_length=255, unique=True)  # without <>
    open_token = models.CharField(max_length=64, unique=True, null=True, blank=True)  # hashed
    tracks_clicks = models.BooleanField(default=False)
    sent_at = models.DateTimeField(default=timezone.now)
    # The message without tracking, until a copy is in the mailbox's Sent folder.
    sent_copy = models.BinaryField(null=True, blank=True)

    def __str__(self) -> str:
        return self.message_id

    @property
    def tracks_opens(self) -> bool:
        return self.open_token is not None


class TrackedLink(models.Model):
    """A link of a sent message, rewritten to pass through Salesdesk when clicks are tracked."""

    email = models.ForeignKey(SentEmail, on_delete=models.CASCADE, related_name="links")
    url = models.CharField(max_length=2000)
    token = models.CharField(max_length=64, unique=True)  # hashed
    position = models.PositiveSmallIntegerField()  # its order in the message

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.url


class TrackingEvent(models.Model):
    """One open (the pixel was loaded) or one click of a tracked link: an insert, never an
    update, so that many at once never wait for each other."""

    class Kind(models.TextChoices):
        OPEN = "open", "Opened"
        CLICK = "click", "Clicked"

    # No index of their own: the composite indexes in Meta start with these columns.
    email = models.ForeignKey(
        SentEmail, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    link = models.ForeignKey(
        TrackedLink,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
    )
    kind = models.CharField(max_length=5, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["email", "kind", "at"], name="tracking_email_idx"),
            models.Index(fields=["link", "at"], name="tracking_link_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.email_id} at {self.at}"


class CalendarConnection(models.Model):
    """A user's calendar kept in sync (capture/calendar_sync.py): an ICS feed by its address, or
    a CalDAV account. The feed address (a private one is a key to the calendar) and the password
    are kept encrypted (capture/secrets.py) and never shown again; `host` is what pages show.

    `events` are the occurrences this connection captured and still saw at its last complete
    sync: the only ones whose disappearance from the calendar removes their meeting."""

    class Kind(models.TextChoices):
        ICS = "ics", "ICS feed"
        CALDAV = "caldav", "CalDAV account"

    class State(models.TextChoices):
        NEW = "new", "Not synced yet"
        SYNCING = "syncing", "Syncing"
        OK = "ok", "Up to date"
        ERROR = "error", "Error"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_connections"
    )
    kind = models.CharField(max_length=6, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)
    host = models.CharField(max_length=253)
    url = models.CharField(max_length=2000, blank=True)  # the CalDAV server (not secret)
    url_secret = models.TextField(blank=True)  # the ICS feed address, encrypted
    username = models.CharField(max_length=254, blank=True)
    secret = models.TextField(blank=True)  # the password, encrypted; empty: none
    # CalDAV: [{"url", "name"}] of the account's calendars as last listed, and the URLs chosen
    # to sync (empty: all of them).
    available_calendars = models.JSONField(default=list, blank=True)
    calendars = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    interval_minutes = models.PositiveIntegerField(default=15)
    state = models.CharField(max_length=8, choices=State.choices, default=State.NEW)
    last_error = models.CharField(max_length=500, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)  # last attempt, and heartbeat
    last_success_at = models.DateTimeField(null=True, blank=True)
    sync_requested_at = models.DateTimeField(null=True, blank=True)  # "sync now"
    meetings_captured = models.PositiveIntegerField(default=0)
    meetings_removed = models.PositiveIntegerField(default=0)  # deleted from the calendar
    created_at = models.DateTimeField(default=timezone.now)
    events = models.ManyToManyField(CapturedEvent, blank=True, related_name="connections")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(interval_minutes__gte=1), name="calendar_interval_positive"
            ),
        ]
        indexes = [models.Index(fields=["user", "created_at"], name="calendar_user_idx")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == self.Kind.CALDAV:
            return f"{self.username} on {self.host}" if self.username else self.host
        return f"Calendar feed on {self.host}"

    @property
    def calendar_ref(self) -> str:
        """What captured events name as the calendar they were seen in: never the address."""
        return f"calendar {self.pk} ({self.host})"
