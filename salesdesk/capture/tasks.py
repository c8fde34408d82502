"""Background jobs of capture: syncing the connected mailboxes.

Every minute the job queues one sync per due mailbox (capture/sync.py), so a slow or broken
mail server delays only its own mailbox. Any number of consumers and workers may run these:
the sync claims its mailbox row first, and a mailbox already being synced is left alone. A sync
that fails is not retried by Huey: the mailbox shows the error and is due again after its
interval.
"""

import logging

from django.db import transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from salesdesk.accounts.models import User
from salesdesk.capture import services, sync
from salesdesk.capture.models import Mailbox

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
