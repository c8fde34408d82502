"""What the pickers of forms (salesdesk/core/widgets.py) ask for: a few visible records matching
what was typed, as options for includes/picker.html. One query per answer, whatever the data.
"""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from salesdesk.crm.selectors import company_list, contact_list
from salesdesk.pipeline.forms import contact_label
from salesdesk.pipeline.selectors import deal_list

LIMIT = 10
MAX_QUERY = 100


@dataclass(frozen=True)
class Option:
    value: int
    label: str
    detail: str = ""


def _query(request: HttpRequest) -> str:
    return " ".join(request.GET.get("q", "").split())[:MAX_QUERY]


def _first(records: QuerySet, *, starts: Q, order: tuple[str, ...]) -> list:
    """LIMIT + 1 records, those starting with what was typed first (the extra one says "more")."""
    rank = Case(When(starts, then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(records.annotate(rank=rank).order_by("rank", *order, "pk")[: LIMIT + 1])


def _answer(request: HttpRequest, options: list[Option], *, q: str, noun: str) -> HttpResponse:
    context = {"options": options[:LIMIT], "more": len(options) > LIMIT, "q": q, "noun": noun}
    return render(request, "includes/picker.html#options", context)


@login_required
@require_GET
def companies(request: HttpRequest) -> HttpResponse:
    q = _query(request)
    if not q:
        return HttpResponse("")
    records = (
        company_list(actor=request.user, q=q)
        .select_related(None)
        .prefetch_related(None)
        .only("pk", "name", "domain")
    )
    found = _first(records, starts=Q(name__istartswith=q), order=("name",))
    options = [Option(company.pk, company.name, company.domain) for company in found]
    return _answer(request, options, q=q, noun="company")


@login_required
@require_GET
def contacts(request: HttpRequest) -> HttpResponse:
    q = _query(request)
    if not q:
        return HttpResponse("")
    records = (
        contact_list(actor=request.user, q=q)
        .select_related(None)
        .select_related("company")
        .prefetch_related(None)
        .only("pk", "first_name", "last_name", "company_id", "company__name")
    )
    word = q.split()[0]
    starts = Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
    found = _first(records, starts=starts, order=("last_name", "first_name"))
    options = [Option(contact.pk, contact_label(contact)) for contact in found]
    return _answer(request, options, q=q, noun="contact")


@login_required
@require_GET
def deals(request: HttpRequest) -> HttpResponse:
    q = _query(request)
    if not q:
        return HttpResponse("")
    records = (
        deal_list(actor=request.user, q=q)
        .select_related(None)
        .select_related("company", "stage")
        .prefetch_related(None)
        .only("pk", "title", "status", "company__name", "stage__name")
    )
    found = _first(records, starts=Q(title__istartswith=q), order=("title",))
    options = [Option(deal.pk, deal.title, _deal_detail(deal)) for deal in found]
    return _answer(request, options, q=q, noun="deal")


def _deal_detail(deal) -> str:
    where = deal.stage.name if deal.status == "open" else deal.get_status_display()
    return f"{deal.company.name} · {where}" if deal.company_id else where
