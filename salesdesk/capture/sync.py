"""Syncing a connected mailbox: new mail in INBOX and the sent folder, through the pipeline.

Crash safety is the contract of `imap.fetch_new`: each batch is captured and its folder
checkpoint saved in one transaction, so a sync stopped at any point resumes after the last
stored batch, with no gap and nothing read twice (and a message read twice would still be a
duplicate, by its `CapturedMessage.key`).

Many workers may run at once: a sync claims its mailbox first (capture/claims.py), a mailbox
another worker is syncing is left alone ("busy"), and every stored batch is a heartbeat of the
claim.
"""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from salesdesk.capture import imap, secrets
from salesdesk.capture.claims import Claim, ClaimLost, Status, due
from salesdesk.capture.imap import ImapError, ImapSettings
from salesdesk.capture.models import Mailbox, MailboxFolder
from salesdesk.capture.pipeline import Incoming, Outcome, capture_messages

logger = logging.getLogger(__name__)

GENERIC_ERROR = "Sync failed; it will be retried."


@dataclass
class SyncResult:
    status: Status
    outcome: Outcome = field(default_factory=Outcome)
    error: str = ""  # what the mailbox now shows as its last error


def due_mailboxes(now: datetime.datetime) -> QuerySet[Mailbox]:
    """Enabled mailboxes never synced, synced longer ago than their interval, or asked to sync
    now."""
    return due(Mailbox, now)


def sync_mailbox(
    mailbox_id: int, *, now: datetime.datetime | None = None, batch: int = 100
) -> SyncResult:
    """Sync one mailbox (see the module docstring) and record how it went on the mailbox.

    `now` fixes the clock (tests); by default every heartbeat reads the time."""
    clock: Callable[[], datetime.datetime] = (lambda: now) if now else timezone.now
    claim = Claim.take(Mailbox, mailbox_id, clock())
    if isinstance(claim, str):
        return SyncResult(status=claim)
    run = _Run(claim=claim)
    try:
        run.sync(clock, batch)
    except ClaimLost:
        logger.warning("mailbox %s: another worker took over a stale sync", mailbox_id)
        return SyncResult(status="busy", outcome=run.outcome)
    except (ImapError, secrets.SecretError) as error:
        message = str(error)[:500]
        logger.info("mailbox %s sync failed: %s", mailbox_id, message)
        claim.finish(clock(), error=message)
        return SyncResult(status="error", outcome=run.outcome, error=message)
    except Exception:
        # The traceback is for the operator; the user sees a generic message.
        logger.exception("mailbox %s sync failed unexpectedly", mailbox_id)
        claim.finish(clock(), error=GENERIC_ERROR)
        return SyncResult(status="error", outcome=run.outcome, error=GENERIC_ERROR)
    claim.finish(clock(), error="")
    return SyncResult(status="ok", outcome=run.outcome)


@dataclass
class _Run:
    claim: Claim
    outcome: Outcome = field(default_factory=Outcome)

    def sync(self, clock: Callable[[], datetime.datetime], batch: int) -> None:
        mailbox = self.claim.row
        settings = ImapSettings(
            host=mailbox.host,
            port=mailbox.port,
            security=mailbox.security,
            username=mailbox.username,
            password=secrets.decrypt(mailbox.secret),
        )
        since = None
        if mailbox.first_sync_days:
            # The same window on every sync: a resumed sync reads what an uninterrupted one would.
            since = mailbox.created_at.date() - datetime.timedelta(days=mailbox.first_sync_days)
        with imap.connect(settings) as box:
            for role, name in imap.folders(box).items():
                folder, _ = MailboxFolder.objects.update_or_create(
                    mailbox=mailbox, name=name, defaults={"role": role}
                )
                for chunk in imap.fetch_new(
                    box,
                    name,
                    uidvalidity=folder.uidvalidity,
                    last_uid=folder.last_uid,
                    since=since,
                    batch=batch,
                ):
                    self.store(folder, chunk, clock())

    def store(self, folder: MailboxFolder, chunk: imap.Batch, now: datetime.datetime) -> None:
        """One batch and its checkpoint, in one transaction."""
        mailbox = self.claim.row
        items = [
            Incoming(raw, source_ref=f"{folder.name} uid {uid}") for uid, raw in chunk.messages
        ]
        with transaction.atomic():
            self.claim.beat(now)
            stored = Outcome()
            if items:
                stored = capture_messages(items, user=mailbox.user, source="imap")
            folder.uidvalidity, folder.last_uid = chunk.uidvalidity, chunk.last_uid
            folder.save(update_fields=["uidvalidity", "last_uid"])
            Mailbox.objects.filter(pk=mailbox.pk).update(
                messages_captured=F("messages_captured") + stored.logged
            )
        self.claim.heartbeat = now
        self.outcome.add(stored)
