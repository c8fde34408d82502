"""API schemas shared by the routers that speak of periods (goals, forecast, dashboards)."""

import datetime

from ninja import Schema

from salesdesk.core.errors import ValidationFailed
from salesdesk.goals.periods import Period
from salesdesk.goals.selectors import period_from_key


class PeriodOut(Schema):
    """A fiscal period; `key` is what the `period` parameters take (fy2026, fy2026-q2, 2026-04)."""

    key: str
    label: str
    kind: str
    start: datetime.date
    end: datetime.date  # the first day after the period


def period_param(key: str | None, org) -> Period:
    """The `period` query parameter of an API operation: the current quarter when absent,
    a 422 naming the parameter when it is not a usable period."""
    try:
        return period_from_key(key, org)
    except ValueError as error:
        raise ValidationFailed(str(error), fields={"period": str(error)}) from None
