"""Reporting periods: fiscal years, quarters and months.

A fiscal year starts on the first day of the organization's `fiscal_year_start_month` and is
named after the calendar year it starts in ("FY2026"; "FY2026/27" when it does not start in
January). Quarters and months follow it. Periods start at midnight in the organization's
reporting time zone; `bounds()` turns them into the UTC instants the database compares with.
"""

import datetime
import re
import zoneinfo
from dataclasses import dataclass

from django.db import models


class PeriodKind(models.TextChoices):
    YEAR = "year", "Fiscal year"
    QUARTER = "quarter", "Quarter"
    MONTH = "month", "Month"


MONTHS_IN = {PeriodKind.YEAR: 12, PeriodKind.QUARTER: 3, PeriodKind.MONTH: 1}


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _months_between(start: datetime.date, end: datetime.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


@dataclass(frozen=True)
class Period:
    kind: str
    start: datetime.date  # first day of the period
    fiscal_start_month: int = 1

    @property
    def end(self) -> datetime.date:
        """The first day after the period."""
        return _add_months(self.start, MONTHS_IN[self.kind])

    @property
    def last_day(self) -> datetime.date:
        return self.end - datetime.timedelta(days=1)

    @property
    def fiscal_year(self) -> int:
        """The calendar year the period's fiscal year starts in."""
        year = self.start.year
        return year if self.start.month >= self.fiscal_start_month else year - 1

    @property
    def fiscal_year_label(self) -> str:
        if self.fiscal_start_month == 1:
            return f"FY{self.fiscal_year}"
        return f"FY{self.fiscal_year}/{(self.fiscal_year + 1) % 100:02d}"

    @property
    def quarter(self) -> int:
        return (self.start.month - self.fiscal_start_month) % 12 // 3 + 1

    @property
    def key(self) -> str:
        """A short, URL-safe name that `period_parse` reads back: fy2026, fy2026-q2, 2026-04."""
        if self.kind == PeriodKind.YEAR:
            return f"fy{self.fiscal_year}"
        if self.kind == PeriodKind.QUARTER:
            return f"fy{self.fiscal_year}-q{self.quarter}"
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.YEAR:
            return self.fiscal_year_label
        if self.kind == PeriodKind.QUARTER:
            return f"Q{self.quarter} {self.fiscal_year_label}"
        return f"{self.start:%b %Y}"

    def __str__(self) -> str:
        return self.label

    def shifted(self, count: int) -> "Period":
        """The period `count` periods of the same kind later (earlier when negative)."""
        return Period(
            self.kind,
            _add_months(self.start, count * MONTHS_IN[self.kind]),
            self.fiscal_start_month,
        )

    def next(self) -> "Period":
        return self.shifted(1)

    def previous(self) -> "Period":
        return self.shifted(-1)

    def months(self) -> list["Period"]:
        return [
            Period(PeriodKind.MONTH, _add_months(self.start, i), self.fiscal_start_month)
            for i in range(MONTHS_IN[self.kind])
        ]

    def contains(self, day: datetime.date) -> bool:
        return self.start <= day < self.end

    def bounds(self, tz: str | datetime.tzinfo) -> tuple[datetime.datetime, datetime.datetime]:
        """[start, end) as aware datetimes: midnight of the first and of the next day in `tz`."""
        zone = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz
        start = datetime.datetime.combine(self.start, datetime.time(), tzinfo=zone)
        end = datetime.datetime.combine(self.end, datetime.time(), tzinfo=zone)
        return start.astimezone(datetime.UTC), end.astimezone(datetime.UTC)

    def elapsed_share(self, now: datetime.datetime, tz: str | datetime.tzinfo) -> float:
        """How much of the period has passed at `now`, from 0.0 (not started) to 1.0 (over)."""
        start, end = self.bounds(tz)
        if now <= start:
            return 0.0
        if now >= end:
            return 1.0
        return (now - start) / (end - start)

    def weeks_left(self, now: datetime.datetime, tz: str | datetime.tzinfo) -> float:
        """Weeks from `now` to the end of the period (the whole period when it has not begun)."""
        start, end = self.bounds(tz)
        return max(end - max(now, start), datetime.timedelta(0)) / datetime.timedelta(weeks=1)


def period_containing(day: datetime.date, kind: str, fiscal_start_month: int = 1) -> Period:
    if kind == PeriodKind.MONTH:
        return Period(kind, day.replace(day=1), fiscal_start_month)
    months_into_year = (day.month - fiscal_start_month) % 12
    offset = months_into_year if kind == PeriodKind.YEAR else months_into_year % 3
    return Period(kind, _add_months(day.replace(day=1), -offset), fiscal_start_month)


def current_period(
    kind: str, *, now: datetime.datetime, tz: str, fiscal_start_month: int = 1
) -> Period:
    """The period of `kind` that `now` falls in, seen from the reporting time zone `tz`."""
    today = now.astimezone(zoneinfo.ZoneInfo(tz)).date()
    return period_containing(today, kind, fiscal_start_month)


_KEY = re.compile(r"^(?:fy(?P<fy>\d{4})(?:-q(?P<q>[1-4]))?|(?P<y>\d{4})-(?P<m>0[1-9]|1[0-2]))$")

# Periods are chosen between these years: the calendar arithmetic of periods (and the database)
# ends at year 9999, and nobody reports on or sets a goal for the year 1.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def is_usable_period(period: Period) -> bool:
    return FIRST_YEAR <= period.start.year <= LAST_YEAR


def period_parse(key: str, fiscal_start_month: int = 1) -> Period:
    """Read a period key (fy2026, fy2026-q2, 2026-04) as a page, form or API parameter gives it.

    ValueError, with a message for the user, on anything else and on a year outside
    FIRST_YEAR..LAST_YEAR (whose periods would run past what dates and the database hold).
    """
    key = key or ""
    match = _KEY.match(key.strip().lower())
    if not match:
        raise ValueError(f"Not a period: {key[:20]!r}. Use fy2026, fy2026-q2 or 2026-04.")
    if not FIRST_YEAR <= int(match["fy"] or match["y"]) <= LAST_YEAR:
        raise ValueError(f"Pick a period between {FIRST_YEAR} and {LAST_YEAR}.")
    if match["m"]:
        return Period(
            PeriodKind.MONTH, datetime.date(int(match["y"]), int(match["m"]), 1), fiscal_start_month
        )
    year_start = datetime.date(int(match["fy"]), fiscal_start_month, 1)
    if match["q"] is None:
        return Period(PeriodKind.YEAR, year_start, fiscal_start_month)
    return Period(
        PeriodKind.QUARTER, _add_months(year_start, 3 * (int(match["q"]) - 1)), fiscal_start_month
    )


def period_of(kind: str, start: datetime.date, fiscal_start_month: int = 1) -> Period:
    """The period of `kind` beginning on `start`; ValueError when no such period begins there."""
    period = period_containing(start, kind, fiscal_start_month)
    if period.start != start:
        raise ValueError(f"A {PeriodKind(kind).label.lower()} does not start on {start}.")
    return period


def months_between(start: datetime.date, end: datetime.date) -> int:
    return _months_between(start, end)
