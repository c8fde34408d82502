"""The deal screens and the pipeline board.

Actions (move, win, lose, reopen, next step) answer three kinds of callers: the board
(`board=1`: the fresh card plus out-of-band column headers), the deal page over htmx (its
`deal-state` partial) and plain form posts (a redirect with a message).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesdesk.accounts import visibility
from salesdesk.activities.selectors import next_meeting
from salesdesk.activities.views import timeline_context
from salesdesk.core.errors import ApplicationError
from salesdesk.core.money import base_currency
from salesdesk.core.web import (
    add_application_error,
    csv_download,
    get_visible_or_404,
    paginate,
    query_without,
    sorted_by,
)
from salesdesk.crm.saved_views import saved_views_context
from salesdesk.crm.transfer import export_csv
from salesdesk.pipeline import selectors, services
from salesdesk.pipeline.forms import (
    BoardFilterForm,
    DealFilterForm,
    DealForm,
    LoseForm,
    MoveForm,
    NextStepForm,
)
from salesdesk.pipeline.models import Deal, Pipeline, Stage

DEAL_SORTS = {
    "title": "title",
    "company": "company__name",
    "stage": "stage__position",
    "owner": "owner__full_name",
    "amount": "amount_base",
    "close": "expected_close",
    "created": "created_at",
    "interaction": "last_interaction_at",
}


def _deals():
    return Deal.objects.select_related(
        "owner", "company", "pipeline", "stage", "lead_source", "lost_reason"
    ).prefetch_related("contacts", "tags")


def _deal_for_user(request: HttpRequest, pk: int) -> Deal:
    return get_visible_or_404(request, _deals(), pk)


def _deal_to_act_on(request: HttpRequest, pk: int) -> Deal:
    """The deal a quick action changes: no prefetching, the answer re-reads what it shows."""
    return get_visible_or_404(request, Deal.objects.select_related("pipeline", "stage"), pk)


def _require_change(request: HttpRequest, deal: Deal) -> None:
    if not visibility.can_change(request.user, deal):
        raise PermissionDenied("You cannot change this deal.")


# --- List, export, create, edit, delete --------------------------------------------------


@login_required
@require_GET
def deal_list(request: HttpRequest) -> HttpResponse:
    filters = DealFilterForm(request.GET)
    deals = selectors.deal_list(actor=request.user, **filters.selector_filters())
    deals, sort = sorted_by(request, deals, DEAL_SORTS, default="-created")
    page = paginate(request, deals)
    return render(
        request,
        "pipeline/deal_list.html",
        {
            "filters": filters,
            "page": page,
            "sort": sort,
            "is_filtered": bool(query_without(request, "page", "sort")),
            "sort_query": query_without(request, "sort", "page"),
            "page_query": query_without(request, "page"),
            "export_query": query_without(request, "page", "sort"),
            **saved_views_context(request, "deals"),
        },
    )


@login_required
@require_GET
def deal_export(request: HttpRequest) -> StreamingHttpResponse:
    filters = DealFilterForm(request.GET)
    rows = export_csv(actor=request.user, entity="deals", filters=filters.selector_filters())
    return csv_download(rows, "deals.csv")


def _create_initial(request: HttpRequest) -> dict:
    initial = {"owner": request.user.pk, "currency": base_currency(), "amount": "0"}
    for name in ("company", "contacts", "pipeline"):
        value = request.GET.get(name.rstrip("s"), "")
        if value.isdigit():
            initial[name] = [int(value)] if name == "contacts" else int(value)
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def deal_create(request: HttpRequest) -> HttpResponse:
    form = DealForm(request.POST or None, actor=request.user, initial=_create_initial(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deal = services.deal_create(
                actor=request.user,
                title=data["title"],
                owner=data["owner"],
                pipeline=data["pipeline"],
                stage=data["stage"],
                company=data["company"],
                contacts=data["contacts"],
                amount=data["amount"],
                currency=data["currency"],
                expected_close=data["expected_close"],
                lead_source=data["lead_source"],
                forecast_category=data["forecast_category"],
                next_step=data["next_step"],
                next_step_due=data["next_step_due"],
                tags=data["tags"],
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"Deal “{deal.title}” created.")
            return redirect("deal_detail", pk=deal.pk)
    return render(request, "pipeline/deal_form.html", {"form": form, "deal": None})


@login_required
@require_http_methods(["GET", "POST"])
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_for_user(request, pk)
    _require_change(request, deal)
    initial = {
        "title": deal.title,
        "company": deal.company_id,
        "contacts": [contact.pk for contact in deal.contacts.all()],
        "owner": deal.owner_id,
        "pipeline": deal.pipeline_id,
        "amount": deal.amount,
        "currency": deal.currency,
        "expected_close": deal.expected_close,
        "lead_source": deal.lead_source_id,
        "forecast_category": deal.forecast_category,
        "next_step": deal.next_step,
        "next_step_due": deal.next_step_due,
        "tags": [tag.pk for tag in deal.tags.all()],
    }
    form = DealForm(request.POST or None, actor=request.user, deal=deal, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {
            field: form.cleaned_data[field]
            for field in form.changed_data
            if field not in ("contacts", "tags")
        }
        try:
            services.deal_update(
                actor=request.user,
                deal=deal,
                contacts=form.cleaned_data["contacts"],
                tags=form.cleaned_data["tags"],
                **changes,
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"Deal “{form.cleaned_data['title']}” saved.")
            return redirect("deal_detail", pk=deal.pk)
    return render(request, "pipeline/deal_form.html", {"form": form, "deal": deal})


@login_required
@require_http_methods(["GET", "POST"])
def deal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_for_user(request, pk)
    _require_change(request, deal)
    if request.method == "POST":
        try:
            services.deal_delete(actor=request.user, deal=deal)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("deal_detail", pk=deal.pk)
        messages.success(request, f"Deal “{deal.title}” deleted.")
        return redirect("deal_list")
    return render(request, "pipeline/deal_confirm_delete.html", {"deal": deal})


# --- The deal page and its quick actions ------------------------------------------------


def _state_context(request: HttpRequest, deal: Deal, **forms) -> dict:
    stages = list(deal.pipeline.stages.all())
    return {
        "deal": deal,
        "stages": stages,
        "history": selectors.stage_durations(deal=deal),
        "can_change": visibility.can_change(request.user, deal),
        "move_form": forms.get("move_form") or MoveForm(deal=deal, initial={"stage": deal.stage}),
        "lose_form": forms.get("lose_form") or LoseForm(),
        "next_step_form": forms.get("next_step_form")
        or NextStepForm(initial={"next_step": deal.next_step, "next_step_due": deal.next_step_due}),
    }


def _detail_context(request: HttpRequest, deal: Deal, **forms) -> dict:
    context = _state_context(request, deal, **forms)
    context |= timeline_context(request, timeline_for="deal", record=deal)
    context["base_currency"] = base_currency()
    return context


@login_required
@require_GET
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_for_user(request, pk)
    context = _detail_context(request, deal)
    context["next_meeting"] = next_meeting(actor=request.user, deal_id=deal.pk)
    return render(request, "pipeline/deal_detail.html", context)


def _respond(
    request: HttpRequest, deal_id: int, *, message: str = "", error: str = "", status=200, **forms
) -> HttpResponse:
    """The answer of a quick action on the deal page.

    Over htmx: the page's state partial (422 when refused, so htmx swaps the form errors in).
    A plain post: a redirect when done, or the whole page with the error when refused.
    """
    deal = _deal_for_user(request, deal_id)  # re-read: the action changed it
    if error:
        messages.error(request, error)
    elif message:
        messages.success(request, message)
        if not request.htmx:
            return redirect("deal_detail", pk=deal_id)
    if request.htmx:
        return render(
            request,
            "pipeline/deal_detail.html#deal-state-answer",
            _detail_context(request, deal, **forms),
            status=422 if error else 200,
        )
    return render(
        request, "pipeline/deal_detail.html", _detail_context(request, deal, **forms), status=status
    )


def _board_filters(data) -> dict:
    """The board's owner and team filters, sent along with a move to recount the columns."""
    filters = {}
    for name in ("owner", "team"):
        value = data.get(name, "")
        filters[f"{name}_id"] = int(value) if value.isdigit() else None
    return filters


def _board_answer(request: HttpRequest, deal: Deal, stage_ids: list[int]) -> HttpResponse:
    """For the board: the fresh card (if still open) and the changed columns' headers."""
    deals = selectors.board_deals(
        actor=request.user, pipeline_id=deal.pipeline_id, **_board_filters(request.POST)
    )
    totals = selectors.board_column_totals(deals=deals, stage_ids=stage_ids)
    stages = list(Stage.objects.filter(pipeline_id=deal.pipeline_id))
    heads = [
        {"stage": stage, "total": totals.get(stage.pk, selectors.ColumnTotal(0, 0))}
        for stage in stages
        if stage.pk in stage_ids
    ]
    return render(
        request,
        "pipeline/board.html#move-answer",
        {
            "card": deal if deal.status == Deal.Status.OPEN else None,
            "heads": heads,
            "stages": stages,
            "base_currency": base_currency(),
        },
    )


def _board_error(request: HttpRequest, error: str, status: int) -> HttpResponse:
    return render(request, "pipeline/board.html#board-error", {"error": error}, status=status)


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return "Check the form."


@login_required
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_to_act_on(request, pk)
    on_board = request.POST.get("board") == "1"
    form = MoveForm(request.POST, deal=deal)
    if not form.is_valid():
        if on_board:
            return _board_error(request, _first_error(form), 400)
        return _respond(request, pk, error=_first_error(form), status=422, move_form=form)
    from_stage_id = deal.stage_id
    try:
        deal = services.deal_move(actor=request.user, deal=deal, stage=form.cleaned_data["stage"])
    except ApplicationError as error:
        if on_board:
            return _board_error(request, error.message, error.status)
        add_application_error(form, error)
        return _respond(request, pk, error=error.message, status=error.status, move_form=form)
    message = f"“{deal.title}” moved to {form.cleaned_data['stage']}."
    if on_board:
        messages.success(request, message)
        deal = selectors.board_card(deal_id=deal.pk)
        return _board_answer(request, deal, [from_stage_id, deal.stage_id])
    return _respond(request, pk, message=message)


@login_required
@require_POST
def deal_win(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_to_act_on(request, pk)
    on_board = request.POST.get("board") == "1"
    try:
        deal = services.deal_win(actor=request.user, deal=deal)
    except ApplicationError as error:
        if on_board:
            return _board_error(request, error.message, error.status)
        return _respond(request, pk, error=error.message, status=error.status)
    message = f"“{deal.title}” won. Congratulations!"
    if on_board:
        messages.success(request, message)
        return _board_answer(request, deal, [deal.stage_id])
    return _respond(request, pk, message=message)


@login_required
@require_POST
def deal_lose(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_to_act_on(request, pk)
    on_board = request.POST.get("board") == "1"
    form = LoseForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            deal = services.deal_lose(
                actor=request.user,
                deal=deal,
                reason=form.cleaned_data["lost_reason"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as error:
            add_application_error(form, error)
            status = error.status
    if form.errors:
        if on_board:
            return render(
                request, "pipeline/board.html#lose-form", {"lose_form": form}, status=status
            )
        return _respond(request, pk, error=_first_error(form), status=status, lose_form=form)
    message = f"“{deal.title}” lost ({deal.lost_reason})."
    if on_board:
        messages.success(request, message)
        return _board_answer(request, deal, [deal.stage_id])
    return _respond(request, pk, message=message)


@login_required
@require_POST
def deal_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_to_act_on(request, pk)
    try:
        deal = services.deal_reopen(actor=request.user, deal=deal)
    except ApplicationError as error:
        return _respond(request, pk, error=error.message, status=error.status)
    return _respond(request, pk, message=f"“{deal.title}” reopened.")


@login_required
@require_POST
def deal_next_step(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal_to_act_on(request, pk)
    form = NextStepForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            services.deal_update(actor=request.user, deal=deal, **form.cleaned_data)
        except ApplicationError as error:
            add_application_error(form, error)
            status = error.status
    if form.errors:
        return _respond(request, pk, error=_first_error(form), status=status, next_step_form=form)
    return _respond(request, pk, message="Next step saved.")


# --- The board ----------------------------------------------------------------------------


@login_required
@require_GET
def board(request: HttpRequest, pipeline_id: int | None = None) -> HttpResponse:
    chosen = request.GET.get("pipeline", "")
    if chosen.isdigit():  # the pipeline switch submits ?pipeline=<id>; keep URLs canonical
        rest = query_without(request, "pipeline")
        url = reverse("board_pipeline", args=[int(chosen)])
        return redirect(f"{url}?{rest}" if rest else url)
    pipelines = list(Pipeline.objects.all())
    if pipeline_id is None:
        pipeline = pipelines[0] if pipelines else None
    else:
        pipeline = next((p for p in pipelines if p.pk == pipeline_id), None)
        if pipeline is None:
            raise Http404("No such pipeline.")
    filters = BoardFilterForm(request.GET)
    context = {"pipelines": pipelines, "pipeline": pipeline, "filters": filters, "columns": []}
    if pipeline is not None:
        selected = filters.selector_filters()
        deals = selectors.board_deals(actor=request.user, pipeline_id=pipeline.pk, **selected)
        stages = list(pipeline.stages.all())
        totals = selectors.board_column_totals(deals=deals)
        cards: dict[int, list[Deal]] = {}
        for card in selectors.board_first_cards(deals=deals):
            cards.setdefault(card.stage_id, []).append(card)
        per_column = selectors.BOARD_CARDS
        context.update(
            stages=stages,
            columns=[
                {
                    "stage": stage,
                    "total": totals.get(stage.pk, selectors.ColumnTotal(0, 0)),
                    "cards": cards.get(stage.pk, [])[:per_column],
                    "next_page": 2 if len(cards.get(stage.pk, [])) > per_column else None,
                }
                for stage in stages
            ],
            pipeline_id=pipeline.pk,
            lose_form=LoseForm(),
            base_currency=base_currency(),
            filter_query=query_without(request, "page", "pipeline"),
            owner_id=selected["owner_id"] or "",
            team_id=selected["team_id"] or "",
        )
    return render(request, "pipeline/board.html", context)


@login_required
@require_GET
def board_cards(request: HttpRequest, pipeline_id: int, stage_id: int) -> HttpResponse:
    """More cards of one column, loaded when its end scrolls into view."""
    stage = get_object_or_404(Stage, pk=stage_id, pipeline_id=pipeline_id)
    page = request.GET.get("page", "")
    page = int(page) if page.isdigit() and 1 <= int(page) <= 100_000 else 1
    deals = selectors.board_deals(
        actor=request.user, pipeline_id=pipeline_id, **_board_filters(request.GET)
    )
    cards = selectors.board_stage_cards(deals=deals, stage_id=stage.pk, page=page)
    per_column = selectors.BOARD_CARDS
    return render(
        request,
        "pipeline/board.html#cards-page",
        {
            "column": {
                "stage": stage,
                "cards": cards[:per_column],
                "next_page": page + 1 if len(cards) > per_column else None,
            },
            "pipeline_id": pipeline_id,
            "stages": list(Stage.objects.filter(pipeline_id=pipeline_id)),
            "filter_query": query_without(request, "page"),
        },
    )
