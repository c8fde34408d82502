"""Background jobs of analytics: the weekly digest, and the nightly check of the rollups.

Every hour the job looks for the users for whom it is now Monday between 07:00 and 07:59 in
their own time zone, and queues one digest per user: a slow or failing mail server then delays
or retries one message, not the whole batch. Running the job twice (two consumers, a restart)
sends nothing twice: `send_digest` claims each user's week in `DigestSent` first.
"""

import datetime
import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from salesdesk.analytics import digest, rollups

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="0"))
def digest_hourly() -> int:
    """Queue this hour's digests; returns how many were queued."""
    due = digest.due_recipients(now=timezone.now())
    for user_id, week_start in due:
        digest_send(user_id, week_start.isoformat())
    return len(due)


@db_task(retries=3, retry_delay=300)
def digest_send(user_id: int, week_start: str) -> str:
    outcome = digest.send_digest(
        user_id=user_id, week_start=datetime.date.fromisoformat(week_start)
    )
    logger.info("weekly digest for user %s, week of %s: %s", user_id, week_start, outcome)
    return outcome


@db_periodic_task(crontab(minute="17", hour="3"))
def rollups_verify_nightly() -> dict[str, int]:
    """Recount every rollup bucket, repair and log any that drifted (none should)."""
    repaired = rollups.verify_and_repair()
    logger.info("rollups verified: %s bucket key(s) repaired", repaired)
    return repaired
