"""API schemas shared by the routers that speak of periods (goals, forecast, dashboards)."""

import datetime

from ninja import Schema


class PeriodOut(Schema):
    """A fiscal period; `key` is what the `period` parameters take (fy2026, fy2026-q2, 2026-04)."""

    key: str
    label: str
    kind: str
    start: datetime.date
    end: datetime.date  # the first day after the period
