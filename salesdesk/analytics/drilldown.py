"""The deals behind a dashboard figure: `/dashboards/deals/?set=won&period=fy2026-q2&…`.

Every dashboard links its numbers here. The address is a contract shared by the dashboards:
`set` (see `revenue.SETS`), `period` (a period key; the current quarter when absent), the
slice filters `owner`, `team`, `pipeline`, and the row filters `lead_source` (an id or
"none"), `lost_reason`, `company` and `stage`. The list is the very queryset the figure was
aggregated from, so its count and total equal the figure.
"""

import csv
from collections.abc import Iterator

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from salesdesk.accounts import visibility
from salesdesk.accounts.models import OrganizationSettings, Team, User
from salesdesk.analytics import metrics, revenue
from salesdesk.analytics.metrics import Slice
from salesdesk.core.web import csv_download, paginate, query_without
from salesdesk.crm.models import Company
from salesdesk.crm.transfer.exporting import cell
from salesdesk.goals.periods import Period, PeriodKind, current_period, period_parse
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, Pipeline, Stage

MAX_ID = 2**63 - 1
ROWS_A_WRITE = 200
ORDER = {
    "won": ["-closed_at", "-pk"],
    "lost": ["-closed_at", "-pk"],
    "closed": ["-closed_at", "-pk"],
    "created": ["-created_at", "-pk"],
    "converted": ["-created_at", "-pk"],
    "reached": ["-created_at", "-pk"],
    "entered": ["-amount_base", "-pk"],
    "expected": ["expected_close", "-amount_base", "-pk"],
    "open": ["-amount_base", "-pk"],
}
CSV_COLUMNS = [
    "id",
    "title",
    "company",
    "owner",
    "team",
    "pipeline",
    "stage",
    "status",
    "amount",
    "currency",
    "amount_base",
    "created_at",
    "expected_close",
    "closed_at",
    "lead_source",
    "lost_reason",
]


def _id_field() -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)


class DrilldownForm(forms.Form):
    set = forms.ChoiceField(choices=list(revenue.SET_LABELS.items()))
    period = forms.CharField(required=False, max_length=20)
    owner = _id_field()
    team = _id_field()
    pipeline = _id_field()
    lead_source = forms.CharField(required=False, max_length=20)
    lost_reason = _id_field()
    company = _id_field()
    stage = _id_field()
    export = forms.ChoiceField(choices=[("", ""), ("csv", "CSV")], required=False)

    def __init__(self, data, *, default_period: Period, **kwargs):
        super().__init__(data, **kwargs)
        self.default_period = default_period

    def clean_period(self) -> Period:
        key = self.cleaned_data.get("period")
        if not key:
            return self.default_period
        try:
            return period_parse(key, self.default_period.fiscal_start_month)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_lead_source(self) -> int | str | None:
        value = (self.cleaned_data.get("lead_source") or "").strip().lower()
        if not value:
            return None
        if value == revenue.NO_SOURCE:
            return revenue.NO_SOURCE
        if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
            return int(value)
        raise forms.ValidationError('Give a lead source id, or "none" for deals without one.')

    def clean(self):
        data = super().clean()
        stage_id = data.get("stage")
        data["stage_record"] = None
        if stage_id is not None:
            stage = Stage.objects.select_related("pipeline").filter(pk=stage_id).first()
            if stage is None:
                self.add_error("stage", "There is no such stage.")
            elif data.get("pipeline") not in (None, stage.pipeline_id):
                self.add_error("stage", "This stage is not in that pipeline.")
            data["stage_record"] = stage
        elif data.get("set") in revenue.STAGE_SETS:
            self.add_error("stage", "This list needs a stage.")
        return data


def _names(actor, data: dict) -> list[tuple[str, str]]:
    """What the list is narrowed to, in words (a small query per filter given)."""
    names = []

    def name_of(label: str, queryset: QuerySet, pk, field: str = "name") -> None:
        if pk is None:
            return
        value = queryset.filter(pk=pk).values_list(field, flat=True).first()
        names.append((label, value or f"#{pk}"))

    if data.get("owner") is not None:
        user = User.objects.filter(pk=data["owner"]).first()
        names.append(("Rep", user.get_full_name() if user else f"#{data['owner']}"))
    name_of("Team", Team.objects.all(), data.get("team"))
    name_of("Pipeline", Pipeline.objects.all(), data.get("pipeline"))
    if data.get("stage_record") is not None:
        names.append(("Stage", data["stage_record"].name))
    if data.get("lead_source") == revenue.NO_SOURCE:
        names.append(("Lead source", "No source"))
    else:
        name_of("Lead source", LeadSource.objects.all(), data.get("lead_source"))
    name_of("Lost reason", LostReason.objects.all(), data.get("lost_reason"))
    # A company's name only when the viewer may see the company.
    name_of("Company", visibility.scope(actor, Company.objects.all()), data.get("company"))
    return names


def _rows(deals: QuerySet[Deal]) -> Iterator[list]:
    for deal in deals.iterator(chunk_size=2000):
        yield [
            deal.pk,
            deal.title,
            deal.company.name if deal.company else "",
            deal.owner.get_full_name() if deal.owner else "",
            deal.owner.team.name if deal.owner and deal.owner.team else "",
            deal.pipeline.name,
            deal.stage.name,
            deal.status,
            deal.amount,
            deal.currency,
            deal.amount_base,
            deal.created_at,
            deal.expected_close,
            deal.closed_at,
            deal.lead_source.name if deal.lead_source else "",
            deal.lost_reason.name if deal.lost_reason else "",
        ]


class _Echo:
    """A file-like object whose write() hands back what it is given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def _csv(deals: QuerySet[Deal]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    lines = []
    for row in _rows(deals):
        lines.append(writer.writerow([cell(value) for value in row]))
        if len(lines) == ROWS_A_WRITE:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def drilldown_deals(actor, data: dict, tz: str) -> QuerySet[Deal]:
    """The deal set a valid DrilldownForm names."""
    slice_ = Slice.for_period(
        actor,
        data["period"],
        tz=tz,
        owner_id=data.get("owner"),
        team_id=data.get("team"),
        pipeline_id=data.get("pipeline"),
    )
    return revenue.deal_set(
        slice_,
        data["set"],
        stage=data.get("stage_record"),
        lead_source=data.get("lead_source"),
        lost_reason_id=data.get("lost_reason"),
        company_id=data.get("company"),
    )


@login_required
@require_GET
def deal_drilldown(request: HttpRequest) -> HttpResponse:
    org = OrganizationSettings.get()
    default_period = current_period(
        PeriodKind.QUARTER,
        now=timezone.now(),
        tz=org.timezone,
        fiscal_start_month=org.fiscal_year_start_month,
    )
    form = DrilldownForm(request.GET, default_period=default_period)
    if not form.is_valid():
        return render(request, "analytics/drilldown.html", {"form": form}, status=400)
    data = form.cleaned_data
    deals = drilldown_deals(request.user, data, org.timezone)
    listed = deals.select_related(
        "owner__team", "company", "pipeline", "stage", "lead_source", "lost_reason"
    ).order_by(*ORDER[data["set"]])
    if data["export"]:
        name = f"deals-{data['set']}-{data['period'].key}.csv"
        return csv_download(_csv(listed), name)

    dashboard_query = query_without(
        request, "set", "page", "export", "lead_source", "lost_reason", "company", "stage"
    )
    return render(
        request,
        "analytics/drilldown.html",
        {
            "form": form,
            "set_label": revenue.SET_LABELS[data["set"]],
            "period": data["period"],
            "is_timeless": data["set"] == "open",
            "names": _names(request.user, data),
            "totals": metrics.totals(deals),
            "page": paginate(request, listed),
            "currency": org.base_currency,
            "reporting_tz": org.timezone,
            "page_query": query_without(request, "page", "export"),
            "dashboard_query": dashboard_query,
        },
    )
