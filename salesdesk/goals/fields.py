"""The period select that every page picking a period shares: its choices and its parsing.

Every page opens on the current quarter and offers the same periods around it, so a period
looks and reads the same on the goals, forecast and dashboard pages. Any period key is taken,
listed or not: links carry periods the select does not list, and the select then offers the
chosen one in a group of its own.
"""

from django import forms
from django.core.validators import EMPTY_VALUES

from salesdesk.goals.periods import Period, PeriodKind, period_containing, period_parse

Choices = list[tuple[str, list[tuple[str, str]]]]

# How far around the current quarter the select reaches, in periods of each kind; months count
# from the quarter's first month, so the months of the next quarter and two after are listed.
YEARS = range(-1, 2)
QUARTERS = range(-4, 5)
MONTHS = range(-6, 9)


def period_choices(current: Period, *, selected: Period | None = None) -> Choices:
    """Grouped <select> choices: fiscal years, quarters and months around the `current` quarter
    (any period in it will do), with `selected` first in its own group when not among them."""
    fsm = current.fiscal_start_month
    quarter = period_containing(current.start, PeriodKind.QUARTER, fsm)
    year = period_containing(quarter.start, PeriodKind.YEAR, fsm)
    month = Period(PeriodKind.MONTH, quarter.start, fsm)
    groups = [
        ("Fiscal years", [year.shifted(n) for n in YEARS]),
        ("Quarters", [quarter.shifted(n) for n in QUARTERS]),
        ("Months", [month.shifted(n) for n in MONTHS]),
    ]
    if selected is not None and all(selected not in periods for _, periods in groups):
        groups.insert(0, ("Selected", [selected]))
    return [(label, [(p.key, p.label) for p in periods]) for label, periods in groups]


class PeriodField(forms.ChoiceField):
    """A period select that cleans to a `Period`; a key that names no period is a form error.

    The form calls `around(current_quarter)` before use. An optional field (the filters of a
    page) reads an empty value as that quarter and shows it selected; a required one (a goal's
    period) asks for a choice.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Period")
        super().__init__(**kwargs)
        self.current: Period | None = None

    def around(self, current: Period, *, selected: Period | None = None) -> None:
        self.current = current
        self.choices = period_choices(current, selected=selected)

    @property
    def default(self) -> Period | None:
        return None if self.required else self.current

    def prepare_value(self, value):
        return value.key if isinstance(value, Period) else value

    def bound_data(self, data, initial):
        """What the select shows selected: the period's own key however it was written."""
        if data in EMPTY_VALUES:
            return self.default.key if self.default is not None else data
        try:
            return self._parse(data).key
        except ValueError:
            return data

    def _parse(self, key: str) -> Period:
        return period_parse(key, self.current.fiscal_start_month if self.current else 1)

    def to_python(self, value) -> Period | None:
        key = super().to_python(value)
        if not key:
            return self.default
        try:
            period = self._parse(key)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid_period") from None
        if self.current is not None:
            self.around(self.current, selected=period)
        return period

    def validate(self, value) -> None:
        # Any period is valid, listed or not: only the required check of Field applies.
        forms.Field.validate(self, value)
