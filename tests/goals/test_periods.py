import datetime

import pytest

from salesdesk.goals.periods import (
    Period,
    PeriodKind,
    current_period,
    period_containing,
    period_of,
    period_parse,
)

D = datetime.date


def test_calendar_fiscal_year_quarters_and_months():
    day = D(2026, 5, 17)
    assert period_containing(day, PeriodKind.YEAR) == Period("year", D(2026, 1, 1))
    quarter = period_containing(day, PeriodKind.QUARTER)
    assert (quarter.start, quarter.end, quarter.quarter, quarter.label) == (
        D(2026, 4, 1),
        D(2026, 7, 1),
        2,
        "Q2 FY2026",
    )
    assert period_containing(day, PeriodKind.MONTH).label == "May 2026"


def test_fiscal_year_starting_in_april_is_named_after_its_first_year():
    quarter = period_containing(D(2027, 2, 28), PeriodKind.QUARTER, fiscal_start_month=4)
    assert (quarter.start, quarter.last_day, quarter.quarter) == (D(2027, 1, 1), D(2027, 3, 31), 4)
    assert quarter.label == "Q4 FY2026/27"
    year = period_containing(D(2027, 2, 28), PeriodKind.YEAR, fiscal_start_month=4)
    assert (year.start, year.end, year.key) == (D(2026, 4, 1), D(2027, 4, 1), "fy2026")


def test_quarters_of_a_fiscal_year_starting_in_november_cross_the_calendar_year():
    quarter = period_containing(D(2026, 12, 5), PeriodKind.QUARTER, fiscal_start_month=11)
    assert (quarter.start, quarter.end, quarter.quarter, quarter.fiscal_year) == (
        D(2026, 11, 1),
        D(2027, 2, 1),
        1,
        2026,
    )
    assert [m.start for m in quarter.months()] == [D(2026, 11, 1), D(2026, 12, 1), D(2027, 1, 1)]


@pytest.mark.parametrize("fiscal_start_month", [1, 4, 7, 11])
@pytest.mark.parametrize("kind", list(PeriodKind))
def test_keys_round_trip_and_periods_tile_the_calendar(kind, fiscal_start_month):
    period = period_containing(D(2025, 1, 1), kind, fiscal_start_month)
    for _ in range(30):
        assert period_parse(period.key, fiscal_start_month) == period
        assert period.next().start == period.end
        assert period.next().previous() == period
        period = period.next()


@pytest.mark.parametrize("key", ["", "2026", "fy26", "fy2026-q5", "2026-13", "2026-4", "x" * 100])
def test_bad_period_keys_are_refused_with_a_message(key):
    with pytest.raises(ValueError, match="Not a period"):
        period_parse(key)


def test_period_of_refuses_a_start_that_begins_no_period():
    assert period_of("quarter", D(2026, 4, 1)).quarter == 2
    with pytest.raises(ValueError, match="does not start on 2026-05-01"):
        period_of("quarter", D(2026, 5, 1))


def test_bounds_are_midnight_in_the_reporting_time_zone():
    start, end = Period("month", D(2026, 3, 1)).bounds("Europe/Berlin")
    # Berlin is UTC+1 on 1 March and UTC+2 (summer time) on 1 April.
    assert start == datetime.datetime(2026, 2, 28, 23, 0, tzinfo=datetime.UTC)
    assert end == datetime.datetime(2026, 3, 31, 22, 0, tzinfo=datetime.UTC)


def test_current_period_reads_the_date_in_the_reporting_time_zone():
    # 23:30 UTC on 31 March is already 1 April in Berlin: a new quarter there.
    now = datetime.datetime(2026, 3, 31, 23, 30, tzinfo=datetime.UTC)
    assert current_period("quarter", now=now, tz="UTC").quarter == 1
    assert current_period("quarter", now=now, tz="Europe/Berlin").quarter == 2


def test_elapsed_share_and_weeks_left():
    period = Period("month", D(2026, 2, 1))  # 28 days, 4 weeks
    before = datetime.datetime(2026, 1, 15, tzinfo=datetime.UTC)
    middle = datetime.datetime(2026, 2, 15, tzinfo=datetime.UTC)
    after = datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC)
    assert period.elapsed_share(before, "UTC") == 0.0
    assert period.elapsed_share(middle, "UTC") == 0.5
    assert period.elapsed_share(after, "UTC") == 1.0
    assert period.weeks_left(before, "UTC") == 4.0
    assert period.weeks_left(middle, "UTC") == 2.0
    assert period.weeks_left(after, "UTC") == 0.0
