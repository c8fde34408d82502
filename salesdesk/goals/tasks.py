"""Background jobs of goals: the weekly forecast snapshot and the nightly win curves.

Every Monday at 05:00 (UTC, the consumer's clock) the forecasts of every period ahead are
stored for the organization, each team and each rep, and the periods that ended get what was
actually won. Running it twice in a week, or after a missed week, is harmless: a week's rows
are unique and only missing ones are added.

Every night at 04:00 the historical forecast's win curves are measured again and stored, so
that pages read them rather than every stage change.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from salesdesk.goals.snapshots import curves_store, snapshot_actuals_fill, snapshot_take


@db_periodic_task(crontab(day_of_week="1", hour="5", minute="0"))
def forecast_snapshot_weekly() -> None:
    snapshot_take()
    snapshot_actuals_fill()


@db_periodic_task(crontab(hour="4", minute="0"))
def forecast_curves_nightly() -> None:
    curves_store()
