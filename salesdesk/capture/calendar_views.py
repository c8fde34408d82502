"""The Calendars page under Your account: connected ICS feeds and CalDAV accounts."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from salesdesk.capture import calendar_services, selectors, tasks
from salesdesk.capture.calendar_forms import CalendarForm
from salesdesk.capture.models import CalendarConnection
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import add_application_error

ROW = "capture/calendars.html#calendar-row"


def get_calendar_for_user(request: HttpRequest, pk: int) -> CalendarConnection:
    """A connected calendar is its owner's alone: anyone else gets a 404."""
    connection = selectors.calendar_list(user=request.user).filter(pk=pk).first()
    if connection is None:
        raise Http404("No such calendar.")
    return connection


@login_required
def calendars(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = CalendarForm(request.POST) if posted else CalendarForm()
    status = 200
    if posted:
        if form.is_valid():
            try:
                connection = calendar_services.calendar_connect(
                    user=request.user,
                    fields=form.calendar_fields(),
                    password=form.cleaned_data["password"],
                )
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                tasks.request_calendar_sync(connection, actor=request.user)
                messages.success(
                    request, f"{connection} is connected. The first sync starts in a moment."
                )
                return redirect("calendars")
        status = 422 if request.htmx else 200
    context = {"form": form, "connections": selectors.calendar_list(user=request.user)}
    return render(request, "capture/calendars.html", context, status=status)


@login_required
def calendar_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One calendar's row, which polls itself while a sync is asked for or under way."""
    return render(request, ROW, {"connection": get_calendar_for_user(request, pk)})


@login_required
@require_POST
def calendar_sync(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_calendar_for_user(request, pk)
    try:
        connection = tasks.request_calendar_sync(connection, actor=request.user)
    except ApplicationError as error:
        if request.htmx:
            return HttpResponse(error.message, status=error.status)
        messages.error(request, error.message)
        return redirect("calendars")
    if request.htmx:
        connection.refresh_from_db()
        return render(request, ROW, {"connection": connection})
    messages.success(request, f"{connection} syncs in a moment.")
    return redirect("calendars")


@login_required
@require_POST
def calendar_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_calendar_for_user(request, pk)
    connection = calendar_services.calendar_set_enabled(
        connection=connection, actor=request.user, enabled=not connection.enabled
    )
    if connection.enabled:
        messages.success(request, f"{connection} syncs again.")
    else:
        messages.success(request, f"{connection} is paused: nothing is read until you resume it.")
    return redirect("calendars")


@login_required
def calendar_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_calendar_for_user(request, pk)
    if request.method == "POST":
        form = CalendarForm(request.POST, connection=connection)
        if form.is_valid():
            try:
                calendar_services.calendar_update(
                    connection=connection,
                    actor=request.user,
                    fields=form.calendar_fields(),
                    password=form.cleaned_data["password"],
                )
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, f"The settings of {connection} are saved.")
                return redirect("calendars")
    else:
        form = CalendarForm(
            connection=connection,
            initial={
                "url": connection.url,
                "username": connection.username,
                "name": connection.name,
                "interval_minutes": connection.interval_minutes,
                "calendars": connection.calendars,
            },
        )
    return render(request, "capture/calendar_edit.html", {"form": form, "connection": connection})


@login_required
def calendar_delete(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_calendar_for_user(request, pk)
    if request.method == "POST":
        calendar_services.calendar_delete(connection=connection, actor=request.user)
        messages.success(
            request, f"{connection} is disconnected; the meetings it logged stay in Salesdesk."
        )
        return redirect("calendars")
    return render(request, "capture/calendar_delete.html", {"connection": connection})
