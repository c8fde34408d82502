"""Every write of capture that a person starts: connecting, changing and removing a mailbox;
accepting or ignoring a suggested contact; taking back a value filled in from a signature;
capturing an uploaded mail or calendar file.

A mailbox is saved only once its server has accepted the login (`mailbox_check`), so a typo
shows up next to the form instead of as a sync error minutes later. The password is encrypted
before it reaches the database (`capture.secrets`) and never comes back out to a page.
"""

import dataclasses
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Max, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.activities.models import Activity
from salesdesk.capture import addresses, imap, secrets
from salesdesk.capture.files import capture_file
from salesdesk.capture.imap import ImapError, ImapSettings
from salesdesk.capture.meetings import capture_ics_file, default_window
from salesdesk.capture.message import Address
from salesdesk.capture.models import (
    CapturedAddress,
    CapturedMessage,
    FilledField,
    Mailbox,
    MailboxFolder,
    SuggestedContact,
)
from salesdesk.capture.pipeline import SOURCE_LABEL, person_name
from salesdesk.capture.selectors import FIELD_LABELS, is_current
from salesdesk.core.errors import Conflict, NotFound, ValidationFailed
from salesdesk.crm.models import Company, Contact
from salesdesk.crm.services import company_update, contact_create, contact_update

INTERVALS = (5, 10, 15, 30, 60, 240, 1440)  # minutes between syncs a user can choose
FIRST_SYNC_DAYS = (30, 90, 365, 730)  # or None: everything in the mailbox
CHECK_TIMEOUT = 15  # seconds: a person is waiting for the answer

# What decides which server and account a mailbox is: changing one of these checks the login
# again; changing the host or the username makes it another mailbox (its checkpoints go).
CONNECTION_FIELDS = ("host", "port", "security", "username")


@dataclasses.dataclass
class MailboxFields:
    host: str
    port: int
    security: str
    username: str
    interval_minutes: int = 5
    first_sync_days: int | None = None


def mailbox_check(*, fields: MailboxFields, password: str) -> None:
    """Log in and look for the folders to sync, or raise ValidationFailed with what the server
    said (never the password)."""
    settings = ImapSettings(
        host=fields.host,
        port=fields.port,
        security=fields.security,
        username=fields.username,
        password=password,
        timeout=CHECK_TIMEOUT,
    )
    try:
        with imap.connect(settings) as box:
            found = imap.folders(box)
    except ImapError as error:
        raise ValidationFailed(str(error), code="mailbox_unreachable") from None
    if "inbox" not in found:
        raise ValidationFailed(
            f"{settings.address} has no INBOX for {fields.username}.", code="mailbox_unreachable"
        )


def _validated(fields: MailboxFields) -> MailboxFields:
    errors = {}
    host = (fields.host or "").strip().lower().rstrip(".")
    username = (fields.username or "").strip()
    if not host or len(host) > 253 or any(ch.isspace() or ch in "/:@" for ch in host):
        errors["host"] = "Enter the server's host name, such as imap.example.com."
    if not 1 <= int(fields.port or 0) <= 65535:
        errors["port"] = "A port is a number from 1 to 65535."
    if fields.security not in Mailbox.Security.values:
        errors["security"] = "Choose SSL/TLS, STARTTLS or none."
    if not username or len(username) > 254:
        errors["username"] = "Enter the username (often the e-mail address)."
    if fields.interval_minutes not in INTERVALS:
        errors["interval_minutes"] = "Choose one of the offered intervals."
    if fields.first_sync_days is not None and fields.first_sync_days not in FIRST_SYNC_DAYS:
        errors["first_sync_days"] = "Choose one of the offered periods."
    if errors:
        raise ValidationFailed("Check the mailbox settings.", fields=errors)
    return dataclasses.replace(fields, host=host, username=username)


def _refuse_duplicate(*, user: User, fields: MailboxFields, exclude: int | None = None) -> None:
    same = Mailbox.objects.filter(
        user=user, host=fields.host, username__iexact=fields.username
    ).exclude(pk=exclude)
    if same.exists():
        raise Conflict(
            "You have connected this mailbox already.",
            fields={"username": f"{fields.username} on {fields.host} is connected already."},
        )


def mailbox_connect(
    *, user: User, fields: MailboxFields, password: str, check: bool = True
) -> Mailbox:
    """Connect a mailbox: it is synced within a minute by the periodic job (or at once, when the
    caller queues `tasks.request_sync`)."""
    fields = _validated(fields)
    if not password:
        raise ValidationFailed(
            "Enter the mailbox password.", fields={"password": "This field is required."}
        )
    _refuse_duplicate(user=user, fields=fields)
    if check:
        mailbox_check(fields=fields, password=password)
    try:
        with transaction.atomic():
            return Mailbox.objects.create(
                user=user, secret=secrets.encrypt(password), **dataclasses.asdict(fields)
            )
    except IntegrityError:  # connected at the same moment in another tab
        raise Conflict("You have connected this mailbox already.") from None


@transaction.atomic
def mailbox_update(
    *, mailbox: Mailbox, actor: User, fields: MailboxFields, password: str = "", check: bool = True
) -> Mailbox:
    """Change a mailbox's settings. An empty password keeps the saved one. A new server or
    account (host or username) starts over: its folders are read again from the first-sync
    window, and messages already captured stay captured once."""
    mailbox = _own(mailbox_id=mailbox.pk, actor=actor, lock=True)
    fields = _validated(fields)
    _refuse_duplicate(user=mailbox.user, fields=fields, exclude=mailbox.pk)
    connection_changed = any(
        getattr(mailbox, name) != getattr(fields, name) for name in CONNECTION_FIELDS
    )
    if check and (connection_changed or password):
        mailbox_check(fields=fields, password=password or secrets.decrypt(mailbox.secret))
    changed = ["interval_minutes"]
    if connection_changed or password:
        changed += [*CONNECTION_FIELDS, "state", "last_error"]
        if mailbox.state == Mailbox.State.ERROR:
            mailbox.state = Mailbox.State.OK if mailbox.last_success_at else Mailbox.State.NEW
        mailbox.last_error = ""
    if password:
        mailbox.secret = secrets.encrypt(password)
        changed.append("secret")
    if mailbox.host != fields.host or mailbox.username.lower() != fields.username.lower():
        MailboxFolder.objects.filter(mailbox=mailbox).delete()
        mailbox.state, mailbox.last_success_at = Mailbox.State.NEW, None
        changed.append("last_success_at")
    for name in (*CONNECTION_FIELDS, "interval_minutes"):
        setattr(mailbox, name, getattr(fields, name))
    mailbox.save(update_fields=sorted(set(changed)))
    return mailbox


@transaction.atomic
def mailbox_set_enabled(*, mailbox: Mailbox, actor: User, enabled: bool) -> Mailbox:
    """Pause or resume syncing. A paused mailbox keeps its checkpoints: resuming reads what
    arrived meanwhile."""
    mailbox = _own(mailbox_id=mailbox.pk, actor=actor, lock=True)
    fields = ["enabled"]
    mailbox.enabled = enabled
    if not enabled and mailbox.state == Mailbox.State.SYNCING:
        # A sync under way notices at its next batch that its claim is gone and stops.
        mailbox.state = Mailbox.State.OK if mailbox.last_success_at else Mailbox.State.NEW
        fields.append("state")
    mailbox.save(update_fields=fields)
    return mailbox


@transaction.atomic
def mailbox_delete(*, mailbox: Mailbox, actor: User) -> None:
    """Disconnect a mailbox and forget its password. What it captured stays in the CRM."""
    _own(mailbox_id=mailbox.pk, actor=actor, lock=True).delete()


def mailbox_request_sync(*, mailbox: Mailbox, actor: User) -> Mailbox:
    """Mark the mailbox as asked to sync now: the periodic job syncs it within a minute even if
    the caller's queued task is lost."""
    mailbox = _own(mailbox_id=mailbox.pk, actor=actor)
    if not mailbox.enabled:
        raise ValidationFailed("This mailbox is paused: resume it to sync it.", code="paused")
    Mailbox.objects.filter(pk=mailbox.pk).update(sync_requested_at=timezone.now())
    mailbox.refresh_from_db(fields=["sync_requested_at"])
    return mailbox


def _own(*, mailbox_id: int, actor: User, lock: bool = False) -> Mailbox:
    """Only its owner changes a mailbox; to anyone else it does not exist."""
    rows = Mailbox.objects.filter(pk=mailbox_id, user=actor)
    if lock:
        rows = rows.select_for_update()
    mailbox = rows.first()
    if mailbox is None:
        raise NotFound("No such mailbox.")
    return mailbox


# --- Suggested contacts ------------------------------------------------------------------------


@transaction.atomic
def suggestion_accept(*, suggestion: SuggestedContact, actor: User) -> Contact:
    """Make the suggested address a contact (or find the one someone made meanwhile), owned by
    the actor, in the company of its domain; the e-mails already captured with it join the
    contact's timeline, and its last interaction is the newest of them."""
    suggestion = _suggestion(suggestion_id=suggestion.pk, actor=actor)
    if suggestion.status == SuggestedContact.Status.ACCEPTED:
        raise Conflict("This suggestion is accepted already.", code="decided")
    contact = Contact.objects.filter(emails__match_key=suggestion.match_key).order_by("pk").first()
    if contact is None:
        first, last = person_name(Address(name=suggestion.name, email=suggestion.email))
        company = None
        if suggestion.domain and not addresses.is_free_mail(suggestion.domain):
            company = Company.objects.filter(domain=suggestion.domain).order_by("pk").first()
        contact = contact_create(
            actor=actor,
            owner=actor,
            company=company,
            emails=[suggestion.email],
            first_name=first[:100],
            last_name=last[:100],
            source=SOURCE_LABEL,
        )
    _link_captured(contact=contact, match_key=suggestion.match_key)
    suggestion.status = SuggestedContact.Status.ACCEPTED
    suggestion.contact, suggestion.decided_by, suggestion.decided_at = (
        contact,
        actor,
        timezone.now(),
    )
    suggestion.save(update_fields=["status", "contact", "decided_by", "decided_at"])
    return contact


@transaction.atomic
def suggestion_ignore(*, suggestion: SuggestedContact, actor: User) -> SuggestedContact:
    """Never suggest this address again (mail with it is still logged on its company)."""
    suggestion = _suggestion(suggestion_id=suggestion.pk, actor=actor)
    if suggestion.status == SuggestedContact.Status.ACCEPTED:
        raise Conflict("This suggestion is accepted already.", code="decided")
    suggestion.status = SuggestedContact.Status.IGNORED
    suggestion.decided_by, suggestion.decided_at = actor, timezone.now()
    suggestion.save(update_fields=["status", "decided_by", "decided_at"])
    return suggestion


def _suggestion(*, suggestion_id: int, actor: User) -> SuggestedContact:
    suggestion = (
        # of=self: a manager's scope joins the (nullable) user, which PostgreSQL cannot lock.
        SuggestedContact.objects.select_for_update(of=("self",))
        .filter(visibility.suggestion_scope(actor, for_change=True), pk=suggestion_id)
        .first()
    )
    if suggestion is None:
        raise NotFound("No such suggestion.")
    return suggestion


def _link_captured(*, contact: Contact, match_key: str) -> None:
    """Put the contact on the activities of the messages captured with its address before it
    existed, and move its last interaction to the newest of them. Set-based: one statement
    each, however many messages."""
    pending = CapturedAddress.objects.filter(match_key=match_key, contact__isnull=True)
    messages = CapturedMessage.objects.filter(pk__in=pending.values("message_id"))
    activity_ids = set(
        messages.filter(activity__isnull=False).values_list("activity_id", flat=True)
    )
    through = Activity.contacts.through
    linked = set(
        through.objects.filter(contact=contact, activity_id__in=activity_ids).values_list(
            "activity_id", flat=True
        )
    )
    through.objects.bulk_create(
        through(activity_id=activity_id, contact=contact)
        for activity_id in sorted(activity_ids - linked)
    )
    newest = messages.filter(activity__isnull=False).aggregate(newest=Max("sent_at"))["newest"]
    pending.update(contact=contact)
    if newest is not None:
        Contact.objects.filter(pk=contact.pk).update(
            last_interaction_at=Greatest(Coalesce("last_interaction_at", Value(newest)), newest)
        )


# --- Fields filled from signatures -------------------------------------------------------------


def filled_field_undo(*, filled: FilledField, actor: User) -> FilledField:
    """Take back a value capture filled in from a signature: the field gets its earlier value
    again (a phone is removed), through the same audited services as a hand edit. A value
    someone has changed since stays as they left it."""
    with transaction.atomic():
        filled = (
            FilledField.objects.select_for_update(of=("self",))
            .filter(pk=filled.pk)
            .select_related("contact", "company")
            .first()
        )
        if filled is None or filled.undone_at is not None:
            raise Conflict("This value has been taken back already.", code="undone")
        record = filled.contact or filled.company
        if not is_current(filled):
            raise Conflict(
                f"The {FIELD_LABELS.get(filled.field, filled.field)} was changed after it was "
                "filled in; it stays as it is.",
                code="changed",
            )
        if filled.field == "phone":
            phones = [
                {"number": phone.number, "kind": phone.kind}
                for phone in record.phones.order_by("pk")
                if phone.number != filled.value
            ]
            contact_update(actor=actor, contact=record, phones=phones)
        elif filled.contact_id:
            contact_update(actor=actor, contact=record, **{filled.field: filled.previous})
        else:
            company_update(actor=actor, company=record, **{filled.field: filled.previous})
        filled.undone_at, filled.undone_by = timezone.now(), actor
        filled.save(update_fields=["undone_at", "undone_by"])
    return filled


# --- Uploaded files ----------------------------------------------------------------------------


def capture_uploaded_file(*, path: Path, kind: str, user: User) -> list[str]:
    """Capture an uploaded mbox, .eml or .ics file as the user's, like `salesdesk capture`
    does; returns the summary in sentences. Raises FileError for a file that is not what it
    claims to be."""
    if kind == "ics":
        window_start, window_end = default_window()
        outcome, problems = capture_ics_file(
            path, user=user, window_start=window_start, window_end=window_end
        )
        lines = [
            f"{outcome.seen:,} events from {window_start:%d %b %Y} to {window_end:%d %b %Y}: "
            f"{outcome.logged:,} meetings logged, {outcome.updated:,} updated, "
            f"{outcome.removed:,} removed by cancellations, {outcome.unchanged:,} already "
            f"captured, {outcome.internal:,} among colleagues only.",
            f"{outcome.contacts_created:,} contacts and {outcome.companies_created:,} companies "
            f"created, {outcome.suggested:,} people suggested.",
        ]
        return lines + [f"Could not read: {problem}" for problem in problems]
    outcome = capture_file(path, user=user, kind=kind)
    lines = [
        f"{outcome.seen:,} messages: {outcome.logged:,} e-mails logged, {outcome.duplicates:,} "
        f"already captured, {outcome.automated:,} newsletters or automatic replies, "
        f"{outcome.internal:,} among colleagues only, {outcome.skipped:,} unreadable.",
        f"{outcome.contacts_created:,} contacts and {outcome.companies_created:,} companies "
        f"created, {outcome.suggested:,} people suggested, {outcome.fields_filled:,} fields "
        "filled from signatures.",
    ]
    return lines + [
        f"Unreadable ({count:,}): {reason}"
        for reason, count in sorted(outcome.skip_reasons.items())
    ]
