"""Syncing a connected mailbox: new mail in INBOX and the sent folder, through the pipeline.

Crash safety is the contract of `imap.fetch_new`: each batch is captured and its folder
checkpoint saved in one transaction, so a sync stopped at any point resumes after the last
stored batch, with no gap and nothing read twice (and a message read twice would still be a
duplicate, by its `CapturedMessage.key`).

Many workers may run at once. A sync first claims its mailbox in a short transaction
(`select_for_update(skip_locked=True)`, then `state=syncing`); a mailbox claimed by another
worker is left alone ("busy") unless that claim is stale. `last_sync_at` is the claim's
heartbeat: set when the sync starts, after every stored batch and when it ends, so a worker that
died is noticed after STALE_AFTER without a batch. Each batch also checks that the heartbeat is
still the one this worker wrote: a worker whose stale claim was taken over stops at once instead
of racing the new one.
"""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from django.db import transaction
from django.db.models import (
    Case,
    F,
    Q,
    QuerySet,
    When,
)
from django.utils import timezone

from salesdesk.capture import imap, secrets
from salesdesk.capture.imap import ImapError, ImapSettings
from salesdesk.capture.models import Mailbox, MailboxFolder
from salesdesk.capture.pipeline import Incoming, Outcome, capture_messages

logger = logging.getLogger(__name__)

STALE_AFTER = datetime.timedelta(minutes=30)  # a claim without a heartbeat for this long is dead
GENERIC_ERROR = "Sync failed; it will be retried."

Status = Literal["ok", "error", "busy", "disabled", "missing"]


@dataclass
class SyncResult:
    status: Status
    outcome: Outcome = field(default_factory=Outcome)
    error: str = ""  # what the mailbox now shows as its last error


class _ClaimLost(Exception):
    """Another worker took this mailbox over (our claim had gone stale)."""


def due_mailboxes(now: datetime.datetime) -> QuerySet[Mailbox]:
    """Enabled mailboxes never synced, synced longer ago than their interval, or asked to sync
    now. A mailbox another worker is syncing may be listed: its claim refuses the second sync."""
    enabled = Mailbox.objects.filter(enabled=True)
    # One condition per interval in use (a handful), rather than date arithmetic in SQL, which
    # Django cannot write portably for SQLite with a per-row number of minutes.
    intervals = enabled.values_list("interval_minutes", flat=True).distinct().order_by()
    is_due = Q(last_sync_at__isnull=True) | Q(sync_requested_at__isnull=False)
    for minutes in intervals:
        is_due |= Q(
            interval_minutes=minutes,
            last_sync_at__lte=now - datetime.timedelta(minutes=minutes),
        )
    return enabled.filter(is_due)


def sync_mailbox(
    mailbox_id: int, *, now: datetime.datetime | None = None, batch: int = 100
) -> SyncResult:
    """Sync one mailbox (see the module docstring) and record how it went on the mailbox.

    `now` fixes the clock (tests); by default every heartbeat reads the time."""
    clock: Callable[[], datetime.datetime] = (lambda: now) if now else timezone.now
    claim = _claim(mailbox_id, clock())
    if isinstance(claim, str):
        return SyncResult(status=claim)
    run = _Run(mailbox=claim, claimed_at=claim.last_sync_at, heartbeat=claim.last_sync_at)
    try:
        run.sync(clock, batch)
    except _ClaimLost:
        logger.warning("mailbox %s: another worker took over a stale sync", mailbox_id)
        return SyncResult(status="busy", outcome=run.outcome)
    except (ImapError, secrets.SecretError) as error:
        message = str(error)[:500]
        logger.info("mailbox %s sync failed: %s", mailbox_id, message)
        run.finish(clock(), error=message)
        return SyncResult(status="error", outcome=run.outcome, error=message)
    except Exception:
        # The traceback is for the operator; the user sees a generic message.
        logger.exception("mailbox %s sync failed unexpectedly", mailbox_id)
        run.finish(clock(), error=GENERIC_ERROR)
        return SyncResult(status="error", outcome=run.outcome, error=GENERIC_ERROR)
    run.finish(clock(), error="")
    return SyncResult(status="ok", outcome=run.outcome)


def _claim(mailbox_id: int, now: datetime.datetime) -> Mailbox | Status:
    # skip_locked: a worker claiming the row at this very moment makes us "busy" at once. On
    # SQLite (no row locks) the transaction's BEGIN IMMEDIATE serializes claims instead.
    with transaction.atomic():
        mailbox = (
            Mailbox.objects.select_for_update(skip_locked=True)
            .select_related("user")
            .filter(pk=mailbox_id)
            .first()
        )
        if mailbox is None:
            return "busy" if Mailbox.objects.filter(pk=mailbox_id).exists() else "missing"
        if not mailbox.enabled:
            return "disabled"
        if (
            mailbox.state == Mailbox.State.SYNCING
            and mailbox.last_sync_at is not None
            and mailbox.last_sync_at > now - STALE_AFTER
        ):
            return "busy"
        mailbox.state, mailbox.last_sync_at = Mailbox.State.SYNCING, now
        mailbox.save(update_fields=["state", "last_sync_at"])
    return mailbox


@dataclass
class _Run:
    mailbox: Mailbox
    claimed_at: datetime.datetime
    heartbeat: datetime.datetime  # the last_sync_at this worker wrote last
    outcome: Outcome = field(default_factory=Outcome)

    def sync(self, clock: Callable[[], datetime.datetime], batch: int) -> None:
        mailbox = self.mailbox
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
        items = [
            Incoming(raw, source_ref=f"{folder.name} uid {uid}") for uid, raw in chunk.messages
        ]
        with transaction.atomic():
            self.beat(now)
            stored = Outcome()
            if items:
                stored = capture_messages(items, user=self.mailbox.user, source="imap")
            folder.uidvalidity, folder.last_uid = chunk.uidvalidity, chunk.last_uid
            folder.save(update_fields=["uidvalidity", "last_uid"])
            Mailbox.objects.filter(pk=self.mailbox.pk).update(
                messages_captured=F("messages_captured") + stored.logged
            )
        self.heartbeat = now
        self.outcome.add(stored)

    def beat(self, now: datetime.datetime) -> None:
        """Move the heartbeat forward, in the caller's transaction, if the claim is still ours."""
        if not self._claimed().update(last_sync_at=now):
            raise _ClaimLost

    def finish(self, now: datetime.datetime, *, error: str) -> None:
        """Record the end of the sync, unless another worker has taken the mailbox over. A "sync
        now" asked for while this sync ran is kept, so that it runs again."""
        changes = {
            "state": Mailbox.State.ERROR if error else Mailbox.State.OK,
            "last_error": error,
            "last_sync_at": now,
            "sync_requested_at": Case(
                When(sync_requested_at__lte=self.claimed_at, then=None),
                default=F("sync_requested_at"),
            ),
        }
        if not error:
            changes["last_success_at"] = now
        self._claimed().update(**changes)

    def _claimed(self) -> QuerySet[Mailbox]:
        return Mailbox.objects.filter(
            pk=self.mailbox.pk, state=Mailbox.State.SYNCING, last_sync_at=self.heartbeat
        )
