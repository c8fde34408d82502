from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from salesdesk.accounts import visibility
from salesdesk.activities.selectors import next_meeting
from salesdesk.activities.views import timeline_context
from salesdesk.capture.selectors import filled_fields, suggestion_count
from salesdesk.core import search as global_search
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import (
    add_application_error,
    csv_download,
    get_visible_or_404,
    paginate,
    query_without,
    sorted_by,
)
from salesdesk.crm import selectors, services
from salesdesk.crm.forms import (
    CompanyFilterForm,
    CompanyForm,
    ContactFilterForm,
    ContactForm,
    SavedViewForm,
)
from salesdesk.crm.models import Company, Contact, ContactEmail, SavedView
from salesdesk.crm.saved_views import saved_views_context
from salesdesk.crm.transfer import export_csv
from salesdesk.pipeline.selectors import deal_list

COMPANY_COLUMNS = {
    "name": ("Name", "name"),
    "domain": ("Domain", "domain"),
    "industry": ("Industry", "industry"),
    "country": ("Country", "country"),
    "owner": ("Owner", "owner__full_name"),
    "contacts": ("Contacts", "contact_count"),
    "last_interaction": ("Last interaction", "last_interaction_at"),
    "created": ("Created", "created_at"),
}
CONTACT_COLUMNS = {
    "name": ("Name", "last_name"),
    "title": ("Job title", "title"),
    "company": ("Company", "company__name"),
    "owner": ("Owner", "owner__full_name"),
    "last_interaction": ("Last interaction", "last_interaction_at"),
    "created": ("Created", "created_at"),
}
PRIMARY_FIRST = ContactEmail.objects.order_by("-is_primary", "id")


def _sort_columns(request: HttpRequest, columns: dict, sort: str) -> list[dict]:
    """Header links: clicking the sorted column reverses it; others sort ascending."""
    base = query_without(request, "sort", "page")
    headers = []
    for key, (label, _) in columns.items():
        state = "ascending" if sort == key else "descending" if sort == f"-{key}" else None
        target = f"-{key}" if sort == key else key
        headers.append(
            {
                "label": label,
                "url": f"?{base}&sort={target}" if base else f"?sort={target}",
                "state": state,
            }
        )
    return headers


def _list_page(request, *, entity: str, form, records, columns: dict, template: str, extra=None):
    records, sort = sorted_by(
        request, records, {key: field for key, (_, field) in columns.items()}, "name"
    )
    filters = query_without(request, "page", "sort")
    return render(
        request,
        template,
        {
            "form": form,
            "page": paginate(request, records),
            "columns": _sort_columns(request, columns, sort),
            "page_query": query_without(request, "page"),
            "has_filters": bool(filters),
            "export_query": query_without(request, "page", "sort"),
            **saved_views_context(request, entity),
            **(extra or {}),
        },
    )


# --- Companies ----------------------------------------------------------------------------


@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    form = CompanyFilterForm(request.GET)
    companies = selectors.company_list(actor=request.user, **form.selector_filters()).annotate(
        contact_count=Count("contacts", distinct=True)
    )
    return _list_page(
        request,
        entity="companies",
        form=form,
        records=companies,
        columns=COMPANY_COLUMNS,
        template="crm/company_list.html",
    )


def _csv_response(request: HttpRequest, entity: str, filters: dict) -> StreamingHttpResponse:
    rows = export_csv(actor=request.user, entity=entity, filters=filters)
    return csv_download(rows, f"{entity}.csv")


@login_required
def company_export(request: HttpRequest) -> StreamingHttpResponse:
    """Exactly the rows the list shows with the same filters, every page of them."""
    return _csv_response(request, "companies", CompanyFilterForm(request.GET).selector_filters())


def _company(request: HttpRequest, pk: int) -> Company:
    return get_visible_or_404(
        request, Company.objects.select_related("owner").prefetch_related("tags"), pk
    )


@login_required
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    contacts = (
        selectors.contact_list(actor=request.user, company_id=company.pk)
        .prefetch_related(None)
        .prefetch_related(Prefetch("emails", queryset=PRIMARY_FIRST))
        .order_by("last_name", "first_name", "pk")
    )
    deals = deal_list(actor=request.user, company_id=company.pk).prefetch_related(None)
    context = {
        "company": company,
        "contacts": contacts,
        "deals": deals,
        "can_change": visibility.can_change(request.user, company),
        "filled": filled_fields(company=company),
        "next_meeting": next_meeting(actor=request.user, company_id=company.pk),
    }
    context |= timeline_context(request, timeline_for="company", record=company)
    return render(request, "crm/company_detail.html", context)


def _refused(request, form, template: str, context: dict, error: ApplicationError):
    add_application_error(form, error)
    status = 403 if error.status == 403 else 200
    return render(request, template, {"form": form, **context}, status=status)


@login_required
def company_create(request: HttpRequest) -> HttpResponse:
    form = CompanyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            company = services.company_create(actor=request.user, **form.service_arguments())
        except ApplicationError as error:
            return _refused(request, form, "crm/company_form.html", {}, error)
        messages.success(request, f"Company {company.name} created.")
        return redirect(f"/companies/{company.pk}/")
    return render(request, "crm/company_form.html", {"form": form})


def _cannot_change(request, form, record, template: str, context: dict) -> HttpResponse | None:
    """On a record the user sees but may not change, the form page says so (403)."""
    if visibility.can_change(request.user, record):
        return None
    refusal = f"You can see this {record._meta.verbose_name} but not change it."
    return render(request, template, {"form": form, "refusal": refusal, **context}, status=403)


@login_required
def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    form = CompanyForm(request.POST or None, user=request.user, company=company)
    context = {"company": company}
    refused = _cannot_change(request, form, company, "crm/company_form.html", context)
    if refused:
        return refused
    if request.method == "POST" and form.is_valid():
        try:
            services.company_update(actor=request.user, company=company, **form.service_arguments())
        except ApplicationError as error:
            return _refused(request, form, "crm/company_form.html", context, error)
        messages.success(request, f"Company {company.name} saved.")
        return redirect(f"/companies/{company.pk}/")
    return render(request, "crm/company_form.html", {"form": form, **context})


@login_required
def company_delete(request: HttpRequest, pk: int) -> HttpResponse:
    company = _company(request, pk)
    context = {"record": company, "kind": "company", "back": f"/companies/{company.pk}/"}
    if request.method == "POST":
        try:
            services.company_delete(actor=request.user, company=company)
        except ApplicationError as error:
            messages.error(request, error.message)
            return render(request, "crm/confirm_delete.html", context, status=error.status)
        messages.success(request, f"Company {company.name} deleted.")
        return redirect("/companies/")
    return render(request, "crm/confirm_delete.html", context)


# --- Contacts -----------------------------------------------------------------------------


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    form = ContactFilterForm(request.GET, user=request.user)
    contacts = (
        selectors.contact_list(actor=request.user, **form.selector_filters())
        .prefetch_related(None)
        .prefetch_related(Prefetch("emails", queryset=PRIMARY_FIRST), "tags")
    )
    return _list_page(
        request,
        entity="contacts",
        form=form,
        records=contacts,
        columns=CONTACT_COLUMNS,
        template="crm/contact_list.html",
        extra={"suggested_count": suggestion_count(user=request.user)},
    )


@login_required
def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    form = ContactFilterForm(request.GET, user=request.user)
    return _csv_response(request, "contacts", form.selector_filters())


def _contact(request: HttpRequest, pk: int) -> Contact:
    return get_visible_or_404(
        request,
        Contact.objects.select_related("owner", "company").prefetch_related(
            Prefetch("emails", queryset=PRIMARY_FIRST), "phones", "tags"
        ),
        pk,
    )


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    company_visible = (
        contact.company_id is not None
        and visibility.scope(request.user, Company.objects.filter(pk=contact.company_id)).exists()
    )
    context = {
        "contact": contact,
        "company_visible": company_visible,
        "deals": deal_list(actor=request.user, contact_id=contact.pk).prefetch_related(None),
        "can_change": visibility.can_change(request.user, contact),
        "filled": filled_fields(contact=contact),
        "next_meeting": next_meeting(actor=request.user, contact_id=contact.pk),
    }
    context |= timeline_context(request, timeline_for="contact", record=contact)
    return render(request, "crm/contact_detail.html", context)


@login_required
def contact_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    if request.method == "GET" and request.GET.get("company", "").isdigit():
        initial["company"] = request.GET["company"]
    form = ContactForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(actor=request.user, **form.service_arguments())
        except ApplicationError as error:
            form.place_error(error)
            return render(request, "crm/contact_form.html", {"form": form})
        messages.success(request, f"Contact {contact.full_name} created.")
        return redirect(f"/contacts/{contact.pk}/")
    return render(request, "crm/contact_form.html", {"form": form})


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    form = ContactForm(request.POST or None, user=request.user, contact=contact)
    context = {"contact": contact}
    refused = _cannot_change(request, form, contact, "crm/contact_form.html", context)
    if refused:
        return refused
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(actor=request.user, contact=contact, **form.service_arguments())
        except ApplicationError as error:
            form.place_error(error)
            status = 403 if error.status == 403 else 200
            return render(
                request, "crm/contact_form.html", {"form": form, **context}, status=status
            )
        messages.success(request, f"Contact {contact.full_name} saved.")
        return redirect(f"/contacts/{contact.pk}/")
    return render(request, "crm/contact_form.html", {"form": form, **context})


@login_required
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    context = {"record": contact, "kind": "contact", "back": f"/contacts/{contact.pk}/"}
    if request.method == "POST":
        try:
            services.contact_delete(actor=request.user, contact=contact)
        except ApplicationError as error:
            messages.error(request, error.message)
            return render(request, "crm/confirm_delete.html", context, status=error.status)
        messages.success(request, f"Contact {contact.full_name} deleted.")
        return redirect("/contacts/")
    return render(request, "crm/confirm_delete.html", context)


# --- Saved views --------------------------------------------------------------------------


@require_POST
@login_required
def saved_view_create(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    entity = request.POST.get("entity")
    back = f"/{entity}/" if entity in SavedView.Entity.values else "/companies/"
    if not form.is_valid():
        messages.error(request, "Give the view a name (at most 60 characters).")
        return redirect(back + (f"?{request.POST.get('query', '')}"))
    try:
        view = services.saved_view_save(actor=request.user, **form.cleaned_data)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, f"View “{view.name}” saved.")
    return redirect(f"{back}?{view.query}" if view.query else back)


@require_POST
@login_required
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    services.saved_view_delete(actor=request.user, saved_view=view)
    messages.success(request, f"View “{view.name}” deleted.")
    return redirect(f"/{view.entity}/")


# --- Global search ------------------------------------------------------------------------


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    results = global_search.search(actor=request.user, q=query)
    if request.htmx:
        if len(query) < global_search.MIN_LENGTH:
            return HttpResponse("")  # an empty box closes the dropdown
        return render(request, "crm/search.html#dropdown", {"q": query, "results": results})
    return render(request, "crm/search.html", {"q": query, "results": results})
