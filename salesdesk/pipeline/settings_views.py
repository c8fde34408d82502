"""Admin settings for pipelines and stages, lead sources, lost reasons, tags and currency rates.

Routed from salesdesk/accounts/urls.py under /settings/ so every settings URL sits together.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from salesdesk.accounts import forms
from salesdesk.accounts.views import admin_required, error_status
from salesdesk.core.errors import ApplicationError
from salesdesk.core.models import CurrencyRate
from salesdesk.core.money import base_currency
from salesdesk.core.web import add_application_error
from salesdesk.crm import services as crm_services
from salesdesk.crm.models import Tag
from salesdesk.pipeline import services
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, Pipeline, Stage

# --- Pipelines -----------------------------------------------------------------------------


@admin_required
def pipelines(request: HttpRequest) -> HttpResponse:
    form = forms.PipelineForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                pipeline = services.pipeline_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, f"Pipeline “{pipeline}” created. Now add its stages.")
                return redirect("settings_pipeline", pk=pipeline.pk)
        status = error_status(request)
    pipeline_list = Pipeline.objects.annotate(
        stage_count=Count("stages", distinct=True),
        open_deal_count=Count("deals", filter=Q(deals__status=Deal.Status.OPEN), distinct=True),
    ).order_by("-is_default", "name")
    return render(
        request,
        "pipeline/settings/pipelines.html",
        {"form": form, "pipelines": pipeline_list, "section": "pipelines"},
        status=status,
    )


def _stages(pipeline: Pipeline):
    return pipeline.stages.annotate(
        open_deal_count=Count("deals", filter=Q(deals__status=Deal.Status.OPEN))
    ).order_by("position", "id")


def _pipeline_page(request, pipeline, *, pipeline_form=None, stage_form=None, status=200):
    pipeline_form = pipeline_form or forms.PipelineForm(
        initial={"name": pipeline.name, "is_default": pipeline.is_default}
    )
    stage_form = stage_form or forms.StageForm(prefix="stage")
    return render(
        request,
        "pipeline/settings/pipeline.html",
        {
            "pipeline": pipeline,
            "stages": _stages(pipeline),
            "pipeline_form": pipeline_form,
            "stage_form": stage_form,
            "section": "pipelines",
        },
        status=status,
    )


@admin_required
def pipeline_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    if request.method != "POST":
        return _pipeline_page(request, pipeline)
    form = forms.PipelineForm(request.POST)
    if form.is_valid():
        changes = dict(form.cleaned_data)
        if not changes["is_default"]:
            changes.pop("is_default")  # the default changes by choosing another pipeline
        try:
            services.pipeline_update(actor=request.user, pipeline=pipeline, **changes)
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"Pipeline “{pipeline}” saved.")
            return redirect("settings_pipeline", pk=pipeline.pk)
    pipeline.refresh_from_db()
    return _pipeline_page(request, pipeline, pipeline_form=form, status=error_status(request))


@admin_required
def pipeline_delete(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    error = None
    if request.method == "POST":
        name = str(pipeline)
        try:
            services.pipeline_delete(actor=request.user, pipeline=pipeline)
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, f"Pipeline “{name}” deleted.")
            return redirect("settings_pipelines")
    return render(
        request,
        "pipeline/settings/confirm_delete.html",
        {
            "thing": f"the pipeline “{pipeline}” and its stages",
            "error": error,
            "cancel_url": f"/settings/pipelines/{pipeline.pk}/",
            "section": "pipelines",
        },
    )


# --- Stages --------------------------------------------------------------------------------


@admin_required
@require_POST
def stage_create(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = forms.StageForm(request.POST, prefix="stage")
    if form.is_valid():
        try:
            stage = services.stage_create(
                actor=request.user, pipeline=pipeline, **form.cleaned_data
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"Stage “{stage}” added at the end.")
            return redirect("settings_pipeline", pk=pipeline.pk)
    return _pipeline_page(request, pipeline, stage_form=form, status=error_status(request))


def _stage_list(request: HttpRequest, pipeline: Pipeline, *, note: str = "") -> HttpResponse:
    return render(
        request,
        "pipeline/settings/pipeline.html#stage-list",
        {"pipeline": pipeline, "stages": _stages(pipeline), "order_note": note},
    )


def _reorder(request, pipeline: Pipeline, stage_ids: list[int]) -> HttpResponse:
    try:
        services.stage_reorder(actor=request.user, pipeline=pipeline, stage_ids=stage_ids)
    except ApplicationError as error:
        if request.htmx:
            return _stage_list(request, pipeline, note=error.message)
        messages.error(request, error.message)
    else:
        if request.htmx:
            return _stage_list(request, pipeline, note="Stage order saved.")
        messages.success(request, "Stage order saved.")
    return redirect("settings_pipeline", pk=pipeline.pk)


@admin_required
@require_POST
def stage_order(request: HttpRequest, pk: int) -> HttpResponse:
    """The order after a drag: the stage ids as they now stand in the list."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    try:
        stage_ids = [int(value) for value in request.POST.getlist("stage_ids")]
    except ValueError:
        stage_ids = []
    return _reorder(request, pipeline, stage_ids)


@admin_required
@require_POST
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The keyboard way to reorder: one step up or down."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    pipeline = stage.pipeline
    order = list(pipeline.stages.order_by("position", "id").values_list("id", flat=True))
    index = order.index(stage.pk)
    step = -1 if request.POST.get("direction") == "up" else 1
    if 0 <= index + step < len(order):
        order[index], order[index + step] = order[index + step], order[index]
    return _reorder(request, pipeline, order)


@admin_required
def stage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    status = 200
    if request.method == "POST":
        form = forms.StageForm(request.POST)
        if form.is_valid():
            try:
                services.stage_update(actor=request.user, stage=stage, **form.cleaned_data)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, f"Stage “{stage}” saved.")
                return redirect("settings_pipeline", pk=stage.pipeline_id)
        status = error_status(request)
    else:
        form = forms.StageForm(
            initial={
                "name": stage.name,
                "probability": stage.probability,
                "stale_after_days": stage.stale_after_days,
            }
        )
    return render(
        request,
        "pipeline/settings/stage_edit.html",
        {"form": form, "stage": stage, "section": "pipelines"},
        status=status,
    )


@admin_required
def stage_delete(request: HttpRequest, pk: int) -> HttpResponse:
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    error = None
    if request.method == "POST":
        try:
            services.stage_delete(actor=request.user, stage=stage)
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, f"Stage “{stage}” deleted.")
            return redirect("settings_pipeline", pk=stage.pipeline_id)
    return render(
        request,
        "pipeline/settings/confirm_delete.html",
        {
            "thing": f"the stage “{stage}” of {stage.pipeline}",
            "error": error,
            "cancel_url": f"/settings/pipelines/{stage.pipeline_id}/",
            "section": "pipelines",
        },
    )


# --- Lead sources, lost reasons, tags ------------------------------------------------------


def _count_of(through, column: str):
    rows = (
        through.objects.filter(**{column: OuterRef("pk")})
        .order_by()
        .values(column)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@dataclass(frozen=True)
class NamedList:
    """One admin-managed list of names and the services that change it."""

    slug: str
    title: str
    singular: str
    model: type
    create: object
    update: object | None
    delete: object
    argument: str  # the keyword the update/delete services take the record by
    can_deactivate: bool
    help: str
    kept_by: str = "old deals"  # who keeps a deactivated one

    def rows(self):
        if self.model is Tag:
            return Tag.objects.annotate(
                usage=_count_of(Tag.companies.through, "tag_id")
                + _count_of(Tag.contacts.through, "tag_id")
                + _count_of(Tag.deals.through, "tag_id")
            ).order_by("-is_active", "name")
        return self.model.objects.annotate(usage=Count("deals")).order_by("-is_active", "name")


NAMED_LISTS = {
    "lead-sources": NamedList(
        slug="lead-sources",
        title="Lead sources",
        singular="lead source",
        model=LeadSource,
        create=services.lead_source_create,
        update=services.lead_source_update,
        delete=services.lead_source_delete,
        argument="lead_source",
        can_deactivate=True,
        help="Where deals come from. Deactivated sources stay on old deals but cannot be "
        "chosen for new ones; deleting a source clears it from its deals.",
    ),
    "lost-reasons": NamedList(
        slug="lost-reasons",
        title="Lost reasons",
        singular="lost reason",
        model=LostReason,
        create=services.lost_reason_create,
        update=services.lost_reason_update,
        delete=services.lost_reason_delete,
        argument="lost_reason",
        can_deactivate=True,
        help="Why deals are lost. A reason that lost deals give can be deactivated, not deleted.",
    ),
    "tags": NamedList(
        slug="tags",
        title="Tags",
        singular="tag",
        model=Tag,
        create=crm_services.tag_create,
        update=crm_services.tag_update,
        delete=crm_services.tag_delete,
        argument="tag",
        can_deactivate=True,
        help="Labels for companies, contacts and deals. Deactivated tags stay on the records "
        "that have them but cannot be chosen any more; deleting a tag removes it from them.",
        kept_by="the records that have it",
    ),
}


def _named_page(request, kind: NamedList, form, status=200):
    return render(
        request,
        "pipeline/settings/named_list.html",
        {"kind": kind, "rows": kind.rows(), "form": form, "section": kind.slug},
        status=status,
    )


@admin_required
def named_list(request: HttpRequest, kind: str) -> HttpResponse:
    named = NAMED_LISTS[kind]
    form = forms.NameForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                record = named.create(actor=request.user, name=form.cleaned_data["name"])
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, f"{named.singular.capitalize()} “{record}” added.")
                return redirect(f"/settings/{named.slug}/")
        return _named_page(request, named, form, status=error_status(request))
    return _named_page(request, named, form)


@admin_required
def named_edit(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    named = NAMED_LISTS[kind]
    record = get_object_or_404(named.model, pk=pk)
    status = 200
    if request.method == "POST":
        form = forms.NameForm(request.POST)
        if form.is_valid():
            try:
                named.update(
                    actor=request.user, **{named.argument: record}, name=form.cleaned_data["name"]
                )
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, f"{named.singular.capitalize()} renamed to “{record}”.")
                return redirect(f"/settings/{named.slug}/")
        status = error_status(request)
    else:
        form = forms.NameForm(initial={"name": record.name})
    return render(
        request,
        "pipeline/settings/named_edit.html",
        {"kind": named, "record": record, "form": form, "section": named.slug},
        status=status,
    )


@admin_required
@require_POST
def named_toggle(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    named = NAMED_LISTS[kind]
    if not named.can_deactivate:
        return redirect(f"/settings/{named.slug}/")
    record = get_object_or_404(named.model, pk=pk)
    active = not record.is_active
    named.update(actor=request.user, **{named.argument: record}, is_active=active)
    state = "active again and can be chosen" if active else f"deactivated; {named.kept_by} keep it"
    messages.success(request, f"{named.singular.capitalize()} “{record}” is {state}.")
    return redirect(f"/settings/{named.slug}/")


@admin_required
def named_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    named = NAMED_LISTS[kind]
    record = get_object_or_404(named.model, pk=pk)
    error = None
    if request.method == "POST":
        name = str(record)
        try:
            named.delete(actor=request.user, **{named.argument: record})
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, f"{named.singular.capitalize()} “{name}” deleted.")
            return redirect(f"/settings/{named.slug}/")
    return render(
        request,
        "pipeline/settings/confirm_delete.html",
        {
            "thing": f"the {named.singular} “{record}”",
            "error": error,
            "cancel_url": f"/settings/{named.slug}/",
            "section": named.slug,
        },
    )


# --- Currency rates ------------------------------------------------------------------------


@dataclass(frozen=True)
class RateRow:
    rate: CurrencyRate
    places: int  # decimals to show: all that matter, at least two
    deal_count: int


def _places(value: Decimal) -> int:
    return max(2, -value.normalize().as_tuple().exponent)


@admin_required
def currencies(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = forms.CurrencyRateForm(request.POST)
        if form.is_valid():
            try:
                rate = services.currency_rate_set(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(
                    request,
                    f"Rate saved: 1 {rate.currency} = {rate.rate.normalize():f} "
                    f"{base_currency()}. Deals in {rate.currency} are recomputed.",
                )
                return redirect("settings_currencies")
        status = error_status(request)
    else:
        form = forms.CurrencyRateForm(initial={"currency": request.GET.get("currency", "")})
    deal_counts = dict(
        Deal.objects.order_by()
        .values("currency")
        .annotate(n=Count("pk"))
        .values_list("currency", "n")
    )
    rates = [
        RateRow(rate, _places(rate.rate), deal_counts.get(rate.currency, 0))
        for rate in CurrencyRate.objects.order_by("currency")
    ]
    base = base_currency()
    with_rate = {row.rate.currency for row in rates}
    missing = sorted(c for c in deal_counts if c != base and c not in with_rate)
    return render(
        request,
        "pipeline/settings/currencies.html",
        {
            "form": form,
            "rates": rates,
            "base": base,
            "base_deal_count": deal_counts.get(base, 0),
            "missing": missing,
            "section": "currencies",
        },
        status=status,
    )
