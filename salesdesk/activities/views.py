"""Activity pages and the timeline actions that record pages (company, contact, deal) post to.

A form posted from a record page carries `timeline_for` (company, contact or deal) and
`timeline_id`; an htmx request then gets that record's refreshed timeline back.
"""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from salesdesk.accounts import visibility
from salesdesk.activities import selectors, services
from salesdesk.activities.forms import QUICK_FIELDS, QUICK_TITLES, ActivityFilterForm, ActivityForm
from salesdesk.activities.models import Activity
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import (
    add_application_error,
    csv_download,
    get_visible_or_404,
    paginate,
    query_without,
)
from salesdesk.crm.models import Company, Contact
from salesdesk.crm.saved_views import saved_views_context
from salesdesk.crm.transfer import export_csv
from salesdesk.pipeline.models import Deal

TIMELINE_MODELS: dict[str, type[Model]] = {"company": Company, "contact": Contact, "deal": Deal}
TIMELINE_PAGE = 20
SAFE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,60}")
RECORD_PATHS = {"company": "/companies/{}/", "contact": "/contacts/{}/", "deal": "/deals/{}/"}


def timeline_context(
    request: HttpRequest, *, timeline_for: str, record: Model, before: str = ""
) -> dict:
    """Context for includes/timeline.html: a page of entries and the quick actions.

    Record pages call this (helper for deal pages too): `context |= timeline_context(...)`.
    `before` is the cursor of the last entry shown; the first page without it.
    """
    entries, has_more = selectors.timeline(
        actor=request.user,
        before=selectors.parse_cursor(before),
        limit=TIMELINE_PAGE,
        **{f"{timeline_for}_id": record.pk},
    )
    return {
        "timeline_for": timeline_for,
        "timeline_id": record.pk,
        "timeline_entries": entries,
        "timeline_next_cursor": entries[-1].cursor if has_more else None,
        "timeline_return": RECORD_PATHS[timeline_for].format(record.pk),
        "quick_forms": [_quick_form(request, timeline_for, record, kind) for kind in QUICK_FIELDS],
    }


def _quick_form(request, timeline_for: str, record: Model, kind: str, data=None) -> ActivityForm:
    form = ActivityForm(
        data,
        user=request.user,
        quick=kind,
        initial={timeline_for: record.pk},
        auto_id=f"quick-{kind}-%s",
    )
    form.title = QUICK_TITLES[kind]
    return form


def _timeline_record(request: HttpRequest) -> tuple[str | None, Model | None]:
    """The record a form was posted from (404 if the user cannot see it), or (None, None)."""
    source = request.POST if request.method == "POST" else request.GET
    timeline_for = source.get("timeline_for")
    if timeline_for not in TIMELINE_MODELS:
        return None, None
    try:
        pk = int(source.get("timeline_id", ""))
    except ValueError:
        raise Http404("No such record.") from None
    return timeline_for, get_visible_or_404(
        request, TIMELINE_MODELS[timeline_for].objects.all(), pk
    )


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _timeline_response(request, timeline_for, record, *, fresh_form=None):
    context = timeline_context(request, timeline_for=timeline_for, record=record)
    context["fresh_form"] = fresh_form
    return render(request, "includes/timeline.html#timeline-response", context)


@login_required
def timeline_page(request: HttpRequest) -> HttpResponse:
    """The entries below the `before` cursor, for the "load more" button (a bad cursor: the top)."""
    timeline_for, record = _timeline_record(request)
    if record is None:
        raise Http404("No such record.")
    before = request.GET.get("before", "")[:60]
    context = timeline_context(request, timeline_for=timeline_for, record=record, before=before)
    return render(request, "includes/timeline.html#timeline-page", context)


@login_required
def activity_list(request: HttpRequest) -> HttpResponse:
    form = ActivityFilterForm(request.GET)
    activities = selectors.activity_list(actor=request.user, **form.selector_filters())
    page = paginate(request, activities.order_by("-occurred_at", "-pk"))
    return render(
        request,
        "activities/list.html",
        {
            "form": form,
            "page": page,
            "page_query": query_without(request, "page"),
            "has_filters": bool(query_without(request, "page")),
            "export_query": query_without(request, "page"),
            **saved_views_context(request, "activities"),
        },
    )


@login_required
def activity_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every activity the list shows with the same filters, not only the current page."""
    filters = ActivityFilterForm(request.GET).selector_filters()
    rows = export_csv(actor=request.user, entity="activities", filters=filters)
    return csv_download(rows, "activities.csv")


def _form_page(request, form, *, activity=None, status=200, refusal="") -> HttpResponse:
    context = {"form": form, "activity": activity, "next": _next_url(request, "")}
    return render(request, "activities/form.html", {**context, "refusal": refusal}, status=status)


@login_required
def activity_create(request: HttpRequest) -> HttpResponse:
    timeline_for, record = _timeline_record(request)
    if request.method != "POST":
        initial = {
            key: request.GET[key] for key in ("kind", *TIMELINE_MODELS) if key in request.GET
        }
        return _form_page(request, ActivityForm(user=request.user, initial=initial))
    kind = request.POST.get("kind")
    quick = kind if record is not None and kind in QUICK_FIELDS else None
    if quick:
        form = _quick_form(request, timeline_for, record, quick, data=request.POST)
    else:
        form = ActivityForm(request.POST, user=request.user)
    if form.is_valid():
        arguments = form.service_arguments()
        if isinstance(record, Contact):
            arguments["contacts"] = arguments.get("contacts") or [record]
            if arguments["company"] is None and record.company_id:
                arguments["company"] = (
                    visibility.scope(request.user, Company.objects.all())
                    .filter(pk=record.company_id)
                    .first()
                )
        try:
            activity, _ = services.activity_create(
                actor=request.user, owner=request.user, **arguments
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"{activity.get_kind_display()} saved.")
            if request.htmx and record is not None:
                fresh = _quick_form(request, timeline_for, record, quick) if quick else None
                return _timeline_response(request, timeline_for, record, fresh_form=fresh)
            fallback = RECORD_PATHS[timeline_for].format(record.pk) if record else "/activities/"
            return redirect(_next_url(request, fallback))
    if request.htmx and record is not None:
        # The form comes back in place of the one sent: a quick action, or another form
        # of the record page (its id is the htmx trigger).
        trigger = request.htmx.trigger or ""
        form_id = trigger if SAFE_ID.fullmatch(trigger) else "activity-form"
        if quick:
            form_id = f"quick-{quick}"
        context = {
            "form": form,
            "form_id": form_id,
            "timeline_for": timeline_for,
            "timeline_id": record.pk,
            "timeline_return": RECORD_PATHS[timeline_for].format(record.pk),
        }
        response = render(request, "includes/timeline.html#quick-form", context, status=422)
        response["HX-Retarget"] = f"#{form_id}"
        response["HX-Reswap"] = "outerHTML"
        return response
    return _form_page(request, form, status=422 if request.htmx else 200)


def _activity(request: HttpRequest, pk: int) -> Activity:
    return get_visible_or_404(
        request,
        Activity.objects.select_related("owner", "company", "deal").prefetch_related("contacts"),
        pk,
    )


@login_required
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _activity(request, pk)
    form = ActivityForm(request.POST or None, user=request.user, activity=activity)
    if not visibility.can_change(request.user, activity):
        refusal = "You can see this activity but not change it."
        return _form_page(request, form, activity=activity, status=403, refusal=refusal)
    if request.method == "POST" and form.is_valid():
        try:
            services.activity_update(
                actor=request.user, activity=activity, **form.service_arguments()
            )
        except ApplicationError as error:
            add_application_error(form, error)
            status = 403 if error.status == 403 else 200
            return _form_page(request, form, activity=activity, status=status)
        messages.success(request, f"{activity.get_kind_display()} saved.")
        return redirect(_next_url(request, "/activities/"))
    return _form_page(request, form, activity=activity)


@login_required
def activity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _activity(request, pk)
    timeline_for, record = _timeline_record(request)
    if request.method != "POST":
        return render(
            request,
            "activities/confirm_delete.html",
            {"activity": activity, "next": _next_url(request, "")},
        )
    try:
        services.activity_delete(actor=request.user, activity=activity)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{activity.get_kind_display()} deleted.")
    if request.htmx and record is not None:
        # A refusal comes back as 200 too: htmx swaps it in and shows the message.
        return _timeline_response(request, timeline_for, record)
    return redirect(_next_url(request, "/activities/"))


@require_POST
@login_required
def activity_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done (or, with done=0, open again)."""
    activity = _activity(request, pk)
    timeline_for, record = _timeline_record(request)
    is_done = request.POST.get("done", "1") != "0"
    try:
        services.activity_complete(actor=request.user, activity=activity, done=is_done)
    except ApplicationError as error:
        messages.error(request, error.message)
        activity.refresh_from_db()
    else:
        label = activity.subject or activity.get_kind_display()
        messages.success(request, f"“{label}” is done." if is_done else f"“{label}” is open again.")
    # A refusal comes back as 200 too: htmx swaps it in and shows the message.
    if request.htmx and record is not None:
        return _timeline_response(request, timeline_for, record)
    if request.htmx:
        return render(
            request,
            "activities/list.html#activity-row-response",
            {"activity": activity, "next": _next_url(request, "/activities/")},
        )
    return redirect(_next_url(request, "/activities/"))
