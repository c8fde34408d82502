"""A small in-process dispatcher for domain events.

Services call `emit()`; handlers run after the surrounding transaction commits, so a rolled
back change never announces itself. Webhooks, Slack and rollups subscribe here later.
"""

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

DEAL_CREATED = "deal.created"
DEAL_UPDATED = "deal.updated"
DEAL_MOVED = "deal.moved"
DEAL_WON = "deal.won"
DEAL_LOST = "deal.lost"
DEAL_REOPENED = "deal.reopened"
DEAL_DELETED = "deal.deleted"
COMPANY_CREATED = "company.created"
CONTACT_CREATED = "contact.created"
ACTIVITY_CREATED = "activity.created"

_handlers: dict[str, list[Callable[..., None]]] = defaultdict(list)


def subscribe(name: str, handler: Callable[..., None]) -> Callable[[], None]:
    """Register `handler(name=..., **payload)`; returns a function that unsubscribes it."""
    _handlers[name].append(handler)
    return lambda: _handlers[name].remove(handler)


def emit(name: str, **payload) -> None:
    def deliver() -> None:
        for handler in list(_handlers.get(name, ())):
            try:
                handler(name=name, **payload)
            except Exception:
                # One failing subscriber must not undo a committed change or starve the others.
                logger.exception("event handler %r failed for %s", handler, name)

    transaction.on_commit(deliver)
