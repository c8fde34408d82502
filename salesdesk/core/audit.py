"""The audit trail: who changed what on companies, contacts and deals, before and after."""

import datetime
from decimal import Decimal

from django.db import models

from salesdesk.core.models import AuditEntry


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(instance: models.Model) -> dict:
    """The row's concrete field values (foreign keys as ids), ready for JSON."""
    return {
        field.attname: _plain(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
        if field.attname not in {"id", "created_at", "updated_at"}
    }


def audit_entry(
    *,
    actor,
    instance: models.Model,
    action: str,
    before: dict | None = None,
    extra: dict | None = None,
) -> AuditEntry | None:
    """The entry of one change, not saved (bulk writers save many at once); None when an update
    changed nothing."""
    after = snapshot(instance) if action != AuditEntry.Action.DELETE else {}
    if action == AuditEntry.Action.UPDATE:
        changes = {
            key: [before.get(key), value]
            for key, value in after.items()
            if before is not None and before.get(key) != value
        }
    elif action == AuditEntry.Action.CREATE:
        changes = {key: [None, value] for key, value in after.items() if value not in (None, "")}
    else:
        changes = {key: [value, None] for key, value in (before or {}).items()}
    if extra:
        changes.update(extra)
    if action == AuditEntry.Action.UPDATE and not changes:
        return None
    return AuditEntry(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        entity=instance._meta.label_lower,
        entity_id=instance.pk,
        entity_repr=str(instance)[:255],
        changes=changes,
    )


def audit_record(
    *,
    actor,
    instance: models.Model,
    action: str,
    before: dict | None = None,
    extra: dict | None = None,
) -> AuditEntry | None:
    entry = audit_entry(actor=actor, instance=instance, action=action, before=before, extra=extra)
    if entry is not None:
        entry.save()
    return entry
