"""One worker at a time per synced row (a mailbox, a connected calendar).

Many workers may run the same periodic jobs. A sync first claims its row in a short
transaction (`select_for_update(skip_locked=True)`, then `state=syncing`); a row claimed by
another worker is left alone ("busy") unless that claim is stale. `last_sync_at` is the claim's
heartbeat: set when the sync starts, by `Claim.beat` before every stored batch and by
`Claim.finish`, so a worker that died is noticed after STALE_AFTER without a beat. Every beat
checks that the heartbeat is still the one this worker wrote: a worker whose stale claim was
taken over stops (`ClaimLost`) instead of racing the new one.

The rows share the fields this needs: `enabled`, `state` (new/syncing/ok/error),
`interval_minutes`, `last_sync_at`, `last_success_at`, `last_error`, `sync_requested_at`.
"""

import datetime
from dataclasses import dataclass
from typing import Literal

from django.db import models, transaction
from django.db.models import Case, F, Q, QuerySet, When

STALE_AFTER = datetime.timedelta(minutes=30)  # a claim without a heartbeat for this long is dead
SYNCING, OK, ERROR = "syncing", "ok", "error"

Status = Literal["ok", "error", "busy", "disabled", "missing"]


class ClaimLost(Exception):
    """Another worker took this row over (our claim had gone stale)."""


def due(model: type[models.Model], now: datetime.datetime) -> QuerySet:
    """Enabled rows never synced, synced longer ago than their interval, or asked to sync now.
    A row another worker is syncing may be listed: its claim refuses the second sync."""
    enabled = model.objects.filter(enabled=True)
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


@dataclass
class Claim:
    row: models.Model
    claimed_at: datetime.datetime
    heartbeat: datetime.datetime  # the last_sync_at this worker wrote last

    @classmethod
    def take(cls, model: type[models.Model], pk: int, now: datetime.datetime) -> "Claim | Status":
        """The claim on the row (with its user loaded), or why there is none."""
        # skip_locked: a worker claiming the row at this very moment makes us "busy" at once.
        # On SQLite (no row locks) the transaction's BEGIN IMMEDIATE serializes claims instead.
        with transaction.atomic():
            row = (
                model.objects.select_for_update(skip_locked=True)
                .select_related("user")
                .filter(pk=pk)
                .first()
            )
            if row is None:
                return "busy" if model.objects.filter(pk=pk).exists() else "missing"
            if not row.enabled:
                return "disabled"
            if (
                row.state == SYNCING
                and row.last_sync_at is not None
                and row.last_sync_at > now - STALE_AFTER
            ):
                return "busy"
            row.state, row.last_sync_at = SYNCING, now
            row.save(update_fields=["state", "last_sync_at"])
        return cls(row=row, claimed_at=now, heartbeat=now)

    def beat(self, now: datetime.datetime) -> None:
        """Move the heartbeat forward, in the caller's transaction, if the claim is still ours;
        else raise ClaimLost. Once that transaction has committed, the caller sets
        `heartbeat = now` (a rolled-back beat leaves the stored heartbeat as it was)."""
        if not self._claimed().update(last_sync_at=now):
            raise ClaimLost

    def finish(self, now: datetime.datetime, *, error: str) -> None:
        """Record the end of the sync, unless another worker has taken the row over. A "sync
        now" asked for while this sync ran is kept, so that it runs again."""
        changes = {
            "state": ERROR if error else OK,
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

    def _claimed(self) -> QuerySet:
        return type(self.row).objects.filter(
            pk=self.row.pk, state=SYNCING, last_sync_at=self.heartbeat
        )
