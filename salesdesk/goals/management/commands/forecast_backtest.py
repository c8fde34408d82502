"""`salesdesk forecast-backtest`: how each forecast method would have done in past months."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from salesdesk.core.money import base_currency
from salesdesk.goals import backtest as backtests
from salesdesk.goals.backtest import METHODS
from salesdesk.goals.forecast import METHOD_LABELS
from salesdesk.pipeline.models import Pipeline

MAX_MONTHS = 120


def iso_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today: {value!r} is not a date (YYYY-MM-DD).") from None


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


class Command(BaseCommand):
    help = (
        "Replay history: at the start of each past month, what the weighted (typed "
        "probabilities), best-case and historical methods would have forecast for that month, "
        "against what was won in it; prints each month and the MAPE and bias of each method."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months",
            type=int,
            default=12,
            help="How many whole months before this one to replay (default 12); months with "
            f"fewer than {backtests.MIN_WON_BEFORE} deals won before them are skipped.",
        )
        parser.add_argument("--pipeline", help="Only this pipeline (its id or name).")
        parser.add_argument(
            "--today",
            type=iso_date,
            default=None,
            help="Replay as if today were this day, YYYY-MM-DD (default: today).",
        )
        parser.add_argument(
            "--store",
            action="store_true",
            help="Also rebuild the weekly forecast snapshots of the replayed span from history, "
            "so the forecast page can show how accurate each method has been.",
        )

    def handle(self, *args, **options) -> None:
        months = options["months"]
        if not 1 <= months <= MAX_MONTHS:
            raise CommandError(f"--months must be between 1 and {MAX_MONTHS}, not {months}.")
        pipeline = self._pipeline(options["pipeline"])
        result = backtests.backtest(
            months=months,
            pipeline_id=pipeline.pk if pipeline else None,
            today=options["today"],
        )
        currency = base_currency()
        scope = f"pipeline {pipeline.name}" if pipeline else "all pipelines"
        write = self.stdout.write
        write(
            f"Forecast backtest, {scope}, amounts in {currency}: each month forecast at its first "
            "instant from the history before it (expected close dates as they stood then)."
        )
        if result.skipped:
            names = ", ".join(period.label for period in result.skipped)
            write(f"Skipped, fewer than {backtests.MIN_WON_BEFORE} deals won before them: {names}.")
        if not result.months:
            write("No month has enough history to replay.")
            return
        header = f"{'Month':<10} {'Won':>14}"
        for method in METHODS:
            header += f" {METHOD_LABELS[method]:>14} {'error':>8}"
        write("")
        write(header)
        for month in result.months:
            line = f"{month.period.label:<10} {month.actual:>14,.2f}"
            for method in METHODS:
                line += f" {month.forecasts[method]:>14,.2f} {percent(month.error(method)):>8}"
            write(line)
        write("")
        write(f"{'Method':<12} {'Months':>6} {'MAPE':>8} {'Bias':>8}")
        for method in METHODS:
            error = result.errors[method]
            mape = "—" if error.mape is None else f"{error.mape * 100:.1f}%"
            write(
                f"{METHOD_LABELS[method]:<12} {error.months:>6} {mape:>8} {percent(error.bias):>8}"
            )
        historical, weighted = result.errors["historical"], result.errors["weighted"]
        if historical.mape is not None and weighted.mape is not None:
            better = "lower" if historical.mape <= weighted.mape else "higher"
            points = abs(weighted.mape - historical.mape) * 100
            write(
                f"\nThe historical method's MAPE is {points:.1f} points {better} than the "
                "typed-probability (weighted) method's "
                f"({historical.mape * 100:.1f}% against {weighted.mape * 100:.1f}%)."
            )
        if options["store"]:
            from salesdesk.goals.snapshots import snapshot_backfill

            first = result.months[0].period
            today = options["today"]
            now = (
                datetime.datetime.combine(today, datetime.time(12), datetime.UTC) if today else None
            )
            stored = snapshot_backfill(since=first.start, now=now)
            write(
                f"Stored {stored.rows:,} snapshot rows, {stored.weeks} weeks from {first.start} on."
            )

    def _pipeline(self, value: str | None) -> Pipeline | None:
        if value is None:
            return None
        value = value.strip()
        pipeline = None
        if value.isdigit():
            pipeline = Pipeline.objects.filter(pk=int(value)).first()
        if pipeline is None:
            pipeline = Pipeline.objects.filter(name__iexact=value).first()
        if pipeline is None:
            names = ", ".join(f"{p.pk} {p.name}" for p in Pipeline.objects.order_by("pk"))
            raise CommandError(
                f"--pipeline: no pipeline {value!r}. Give an id or a name: {names or 'none yet'}."
            )
        return pipeline
