"""Backtests: what each forecast method would have said at the start of past months.

For the first instant of each past month (midnight in the reporting time zone) every deal is
put back in the state it was in then: it existed if created before; it was open unless it had
closed before (`closed_at`); its stage is the one its last StageChange before the instant led
to; its expected close date is the `from_date` of its first CloseDateChange after the instant
(the date it still had then), else today's date. The historical method measures its win
curves from the history before the instant only, so nothing it uses was known later.

What is not kept in history is taken as it is today: amounts, owners and the probabilities
typed on stages. Forecast categories have no history either, so the commit method is not
replayed. A deal reopened after a loss counts as it stands now (open all along).

Each method's forecast for the month is compared with what was actually won in it: the
error of a month is (forecast - actual) / actual; MAPE is the mean of its absolute value and
bias the mean of its sign-kept value, over the months with something won.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, F, Q, Sum, When
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.analytics import metrics
from salesdesk.goals.forecast import forecast_figures, win_curves
from salesdesk.goals.periods import Period, PeriodKind, current_period
from salesdesk.pipeline.models import Deal

METHODS = ("weighted", "best_case", "historical")
# A month is replayed once this many deals had been won before it began: less history makes
# win curves that say more about chance than about the organization.
MIN_WON_BEFORE = 30


@dataclass(frozen=True)
class BacktestMonth:
    period: Period
    actual: Decimal
    forecasts: dict[str, Decimal]

    def error(self, method: str) -> float | None:
        """(forecast - actual) / actual; None when nothing was won."""
        if not self.actual:
            return None
        return float((self.forecasts[method] - self.actual) / self.actual)


@dataclass(frozen=True)
class MethodError:
    method: str
    months: int
    mape: float | None
    bias: float | None


@dataclass(frozen=True)
class Backtest:
    months: list[BacktestMonth]
    skipped: list[Period]
    errors: dict[str, MethodError]


def error_summary(method: str, pairs: list[tuple[Decimal, Decimal]]) -> MethodError:
    """MAPE and bias of (forecast, actual) pairs; pairs with nothing won are left out."""
    errors = [float((forecast - actual) / actual) for forecast, actual in pairs if actual]
    if not errors:
        return MethodError(method, 0, None, None)
    return MethodError(
        method,
        len(errors),
        sum(abs(error) for error in errors) / len(errors),
        sum(errors) / len(errors),
    )


def backtest_months(*, count: int, today: datetime.date, tz: str, fsm: int) -> list[Period]:
    """The `count` whole months before the one `today` is in, oldest first."""
    now = datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.UTC)
    this_month = current_period(PeriodKind.MONTH, now=now, tz=tz, fiscal_start_month=fsm)
    return [this_month.shifted(-i) for i in range(count, 0, -1)]


def backtest(
    *, months: int = 12, pipeline_id: int | None = None, today: datetime.date | None = None
) -> Backtest:
    """Replay the last `months` whole months that have enough history before them."""
    settings = OrganizationSettings.get()
    tz = settings.timezone
    today = today or timezone.localdate()
    periods = backtest_months(
        count=months, today=today, tz=tz, fsm=settings.fiscal_year_start_month
    )
    deals = Deal.objects.all()
    if pipeline_id is not None:
        deals = deals.filter(pipeline_id=pipeline_id)
    if not periods:
        return Backtest([], [], {method: MethodError(method, 0, None, None) for method in METHODS})

    # What was won in each month, and how many deals had been won before it: one query.
    sums = {}
    for i, period in enumerate(periods):
        start, end = period.bounds(tz)
        sums[f"actual{i}"] = Sum(
            Case(
                When(closed_at__gte=start, closed_at__lt=end, then=F("amount_base")),
                output_field=metrics.MONEY,
            )
        )
        sums[f"before{i}"] = Count("id", filter=Q(closed_at__lt=start))
    history = deals.filter(status=Deal.Status.WON).aggregate(**sums)

    replayed, skipped = [], []
    for i, period in enumerate(periods):
        if history[f"before{i}"] < MIN_WON_BEFORE:
            skipped.append(period)
            continue
        instant = period.bounds(tz)[0]
        figures = forecast_figures(
            deals,
            periods=[period],
            instant=instant,
            tz=tz,
            replay=True,
            curves=win_curves(instant=instant, pipeline_id=pipeline_id),
        )
        figure = (figures.get(None) or [None])[0]
        replayed.append(
            BacktestMonth(
                period=period,
                actual=(history[f"actual{i}"] or Decimal(0)).quantize(Decimal("0.01")),
                forecasts={
                    method: (figure.value(method) if figure else Decimal(0)).quantize(
                        Decimal("0.01")
                    )
                    for method in METHODS
                },
            )
        )
    errors = {
        method: error_summary(method, [(m.forecasts[method], m.actual) for m in replayed])
        for method in METHODS
    }
    return Backtest(replayed, skipped, errors)
