"""`salesdesk forecast-backtest`, the name the docs use, for `forecast_backtest`."""

from salesdesk.goals.management.commands.forecast_backtest import Command  # noqa: F401
