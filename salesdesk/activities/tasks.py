"""Background jobs of activities: suggested follow-ups, every hour."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from salesdesk.activities.follow_ups import follow_ups_suggest


@db_periodic_task(crontab(minute="17"))
def follow_ups_hourly() -> int:
    return follow_ups_suggest()
