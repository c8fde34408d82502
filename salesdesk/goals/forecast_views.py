"""The forecast page, its CSV export, the forecast-vs-goal card and the category edit."""

import csv
import io
from collections.abc import Iterator
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from salesdesk.accounts.models import Team, User
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import csv_download, get_visible_or_404, paginate, query_without
from salesdesk.crm.transfer.exporting import cell
from salesdesk.goals import forecast as selectors
from salesdesk.goals.fields import PeriodField
from salesdesk.goals.forecast import METHOD_LABELS, METHODS, ForecastRow
from salesdesk.goals.periods import Period, PeriodKind, period_containing
from salesdesk.pipeline import services as pipeline_services
from salesdesk.pipeline.models import Deal, Pipeline

# Reps choose among these for an open deal; "closed" comes with winning or losing it.
CATEGORY_CHOICES = [
    (category.value, category.label)
    for category in Deal.ForecastCategory
    if category != Deal.ForecastCategory.CLOSED
]
ACCURACY_METHODS = [method for method in METHODS if method != "committed"]


def filter_choices(actor) -> tuple[list[Team], list[User]]:
    """The teams and reps whose forecast `actor` may ask for (what they may see)."""
    teams = Team.objects.order_by("name")
    users = User.objects.order_by("full_name", "email")
    if selectors.sees_everyone(actor):
        return list(teams), list(users)
    team_ids = selectors.managed_team_ids(actor)
    if team_ids:
        return list(teams.filter(pk__in=team_ids)), list(
            users.filter(team_id__in=team_ids) | users.filter(pk=actor.pk)
        )
    return [], [actor]


class ForecastFilterForm(forms.Form):
    """Period of the deal list, pipeline, team and rep; every field may stay empty."""

    period = PeriodField(required=False, label="Deals expected in")
    pipeline = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    owner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Rep")

    def __init__(self, data, *, actor, default_period: Period, **kwargs):
        super().__init__(data, **kwargs)
        self.default_period = default_period
        self.fields["period"].around(default_period)
        teams, users = filter_choices(actor)
        self.fields["pipeline"].choices = [
            ("", "All pipelines"),
            *Pipeline.objects.order_by("name").values_list("pk", "name"),
        ]
        self.fields["team"].choices = [("", "All teams"), *((t.pk, t.name) for t in teams)]
        self.fields["owner"].choices = [
            ("", "All reps"),
            *(
                (u.pk, u.get_full_name() if u.is_active else f"{u.get_full_name()} (inactive)")
                for u in users
            ),
        ]
        for name in ("period", "pipeline", "team", "owner"):
            self.fields[name].widget.attrs["class"] = "form-select"

    def filters(self) -> dict:
        """The valid filters; one that is not valid is shown next to its field and left out."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "pipeline_id": data.get("pipeline"),
            "team_id": data.get("team"),
            "owner_id": data.get("owner"),
        }

    @property
    def selected_period(self) -> Period:
        return self.cleaned_data["period"] if self.is_valid() else self.default_period


def _setup(request: HttpRequest):
    settings = selectors.organization(request.user)
    now = timezone.now()
    periods = selectors.periods_ahead(
        now=now, tz=settings.timezone, fiscal_start_month=settings.fiscal_year_start_month
    )
    default = period_containing(
        periods[0].start, PeriodKind.QUARTER, settings.fiscal_year_start_month
    )
    form = ForecastFilterForm(request.GET, actor=request.user, default_period=default)
    return settings, now, periods, form


def _chart(rows: list[ForecastRow], accuracy) -> dict:
    chart = {
        "labels": [row.period.label for row in rows],
        "series": {
            method: {
                "label": METHOD_LABELS[method],
                "data": [str(row.value(method)) for row in rows],
            }
            for method in METHODS
        },
        "goal": [None if row.goal is None else str(row.goal) for row in rows],
        "history": None,
    }
    if accuracy is not None and accuracy.history:
        chart["history"] = {
            "labels": [past.period.label for past in accuracy.history],
            "actual": [str(past.actual) for past in accuracy.history],
            "series": {
                method: {
                    "label": METHOD_LABELS[method],
                    "data": [
                        None if method not in past.forecasts else str(past.forecasts[method])
                        for past in accuracy.history
                    ],
                }
                for method in ACCURACY_METHODS
            },
        }
    return chart


@login_required
@require_GET
def forecast_page(request: HttpRequest) -> HttpResponse:
    settings, now, periods, form = _setup(request)
    filters = form.filters()
    rows = selectors.forecast(actor=request.user, periods=periods, now=now, **filters)
    accuracy = selectors.forecast_accuracy(
        actor=request.user, team_id=filters["team_id"], owner_id=filters["owner_id"]
    )
    period = form.selected_period
    deals = selectors.forecast_deals(
        actor=request.user, period=period, tz=settings.timezone, **filters
    )
    return render(
        request,
        "goals/forecast.html",
        {
            "form": form,
            "rows": rows,
            "period": period,
            "page": paginate(request, deals, per_page=25),
            "slipped": selectors.most_slipped_deals(actor=request.user, **filters),
            "accuracy": accuracy,
            "accuracy_methods": ACCURACY_METHODS,
            "method_labels": METHOD_LABELS,
            "categories": CATEGORY_CHOICES,
            "chart": _chart(rows, accuracy),
            "currency": settings.base_currency,
            "page_query": query_without(request, "page"),
            "export_query": query_without(request, "page", "period"),
            "next_url": request.get_full_path(),
        },
    )


def _rows_csv(rows: list[ForecastRow]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["period", "label", "kind", "start", "end", *METHODS, "goal", "gap_to_goal"])
    for row in rows:
        writer.writerow(
            [
                cell(value)
                for value in (
                    row.period.key,
                    row.period.label,
                    row.period.kind,
                    row.period.start,
                    row.period.last_day,
                    *(row.value(method) for method in METHODS),
                    row.goal,
                    row.gap,
                )
            ]
        )
    yield buffer.getvalue()


@login_required
@require_GET
def forecast_export(request: HttpRequest) -> HttpResponse:
    _, now, periods, form = _setup(request)
    rows = selectors.forecast(actor=request.user, periods=periods, now=now, **form.filters())
    return csv_download(_rows_csv(rows), "forecast.csv")


@login_required
@require_GET
def forecast_vs_goal(request: HttpRequest) -> HttpResponse:
    """A small card for other pages (hx-get … hx-trigger="load"): one period's figures."""
    settings, now, _, form = _setup(request)
    if not form.is_valid():
        errors = "; ".join(str(error) for field in form.errors.values() for error in field)
        return render(request, "goals/forecast.html#vs-goal", {"error": errors}, status=422)
    period = form.cleaned_data["period"]
    row = selectors.forecast(actor=request.user, periods=[period], now=now, **form.filters())[0]
    query = urlencode({key: value for key, value in request.GET.items() if value})
    return render(
        request,
        "goals/forecast.html#vs-goal",
        {"row": row, "currency": settings.base_currency, "query": query},
    )


class CategoryForm(forms.Form):
    forecast_category = forms.ChoiceField(choices=CATEGORY_CHOICES, label="Forecast category")


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    if request.htmx:
        return HttpResponse(message, content_type="text/plain; charset=utf-8", status=status)
    messages.error(request, message)
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/forecast/") else "/forecast/"


@login_required
@require_POST
def forecast_category(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner (or their manager) sets an open deal's forecast category."""
    deal = get_visible_or_404(request, Deal.objects.all(), pk)
    form = CategoryForm(request.POST)
    if not form.is_valid():
        return _refused(request, "Pick pipeline, best case or commit.", 422)
    if deal.status != Deal.Status.OPEN:
        return _refused(
            request, "This deal is closed: its category follows from winning or losing.", 409
        )
    try:
        pipeline_services.deal_update(
            actor=request.user,
            deal=deal,
            forecast_category=form.cleaned_data["forecast_category"],
        )
    except ApplicationError as error:
        return _refused(request, error.message, error.status)
    if not request.htmx:
        label = dict(CATEGORY_CHOICES)[form.cleaned_data["forecast_category"]]
        messages.success(request, f"“{deal.title}” is now {label.lower()}.")
        return redirect(_back(request))
    deal = (
        Deal.objects.filter(pk=pk)
        .select_related("owner", "stage", "company")
        .annotate(
            slips=selectors.slip_count(), can_change=selectors.can_change_annotation(request.user)
        )
        .get()
    )
    return render(
        request,
        "goals/forecast.html#deal-row",
        {
            "deal": deal,
            "categories": CATEGORY_CHOICES,
            "currency": selectors.organization(request.user).base_currency,
            "saved": True,
        },
    )
