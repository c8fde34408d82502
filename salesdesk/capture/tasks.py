"""Background jobs of capture: syncing the connected mailboxes and calendars, and putting a
copy of what is sent from Salesdesk in the mailbox's Sent folder.

Every minute a job queues one sync per due mailbox (capture/sync.py), another one per due
calendar (capture/calendar_sync.py), so a slow or broken server delays only its own mailbox or
calendar. Any number of consumers and workers may run these: a sync claims its row first, and
one already being synced is left alone. A sync that fails is not retried by Huey: the mailbox
or calendar shows the error and is due again after its interval.
"""

import logging

from django.db import transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from salesdesk.accounts.models import User
from salesdesk.capture import calendar_services, calendar_sync, sending, services, sync, uploads
from salesdesk.capture.files import FileError
from salesdesk.capture.models import CalendarConnection, Mailbox

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
def sync_due_mailboxes() -> int:
    """Queue a sync of every due mailbox; returns how many were queued."""
    due = list(sync.due_mailboxes(timezone.now()).values_list("pk", flat=True))
    for mailbox_id in due:
        sync_mailbox_task(mailbox_id)
    return len(due)


@db_task()
def sync_mailbox_task(mailbox_id: int) -> str:
    result = sync.sync_mailbox(mailbox_id)
    logger.info(
        "mailbox %s sync: %s, %s message(s) logged",
        mailbox_id,
        result.status,
        result.outcome.logged,
    )
    return result.status


def request_sync(mailbox: Mailbox, *, actor: User) -> Mailbox:
    """ "Sync now": mark the mailbox (the periodic job picks it up if the queue loses the task)
    and queue a sync once the surrounding transaction commits."""
    mailbox = services.mailbox_request_sync(mailbox=mailbox, actor=actor)
    mailbox_id = mailbox.pk
    # robust: a queue that cannot be reached must not turn the button into an error page.
    transaction.on_commit(lambda: sync_mailbox_task(mailbox_id), robust=True)
    return mailbox


@db_periodic_task(crontab(minute="*"))
def sync_due_calendars() -> int:
    """Queue a sync of every due connected calendar; returns how many were queued."""
    due = list(calendar_sync.due_connections(timezone.now()).values_list("pk", flat=True))
    for connection_id in due:
        sync_calendar_task(connection_id)
    return len(due)


@db_task()
def sync_calendar_task(connection_id: int) -> str:
    result = calendar_sync.sync_connection(connection_id)
    logger.info(
        "calendar %s sync: %s, %s meeting(s) logged, %s removed",
        connection_id,
        result.status,
        result.outcome.logged,
        result.removed,
    )
    return result.status


def request_calendar_sync(connection: CalendarConnection, *, actor: User) -> CalendarConnection:
    """ "Sync now" for a calendar, as `request_sync` for a mailbox."""
    connection = calendar_services.calendar_request_sync(connection=connection, actor=actor)
    connection_id = connection.pk
    # robust: a queue that cannot be reached must not turn the button into an error page.
    transaction.on_commit(lambda: sync_calendar_task(connection_id), robust=True)
    return connection


@db_task()
def append_sent_copy_task(sent_email_id: int) -> bool:
    return sending.sent_copy_append(sent_email_id=sent_email_id)


def send_email(
    *, actor: User, draft: sending.Draft, values: dict[str, str], deal=None
) -> sending.SendResult:
    """Send and log a message (`sending.email_send`), then queue putting its copy in the
    mailbox's Sent folder once the surrounding transaction commits."""
    result = sending.email_send(actor=actor, draft=draft, values=values, deal=deal)
    if result.sent.sent_copy is not None:
        sent_id = result.sent.pk
        # robust: a queue that cannot be reached must not turn a sent message into an error.
        transaction.on_commit(lambda: append_sent_copy_task(sent_id), robust=True)
    return result


@db_task()
def capture_upload_task(user_id: int, token: str, kind: str, name: str) -> dict:
    """Capture an uploaded file as the user's mail or calendar, then remove it. Returns the
    summary the upload page shows (the page checks `user_id` before showing it)."""

    summary = {"user_id": user_id, "name": name, "kind": kind, "lines": [], "error": ""}
    user = User.objects.filter(pk=user_id, is_active=True).first()
    path = uploads.path_of(user, token, kind) if user else None
    if path is None:
        summary["error"] = "The file is gone: upload it again."
        return summary
    try:
        summary["lines"] = services.capture_uploaded_file(path=path, kind=kind, user=user)
    except FileError as error:
        summary["error"] = str(error).replace(str(path), name)
    finally:
        path.unlink(missing_ok=True)
    return summary
