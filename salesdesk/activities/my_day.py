"""My day, the home page: the signed-in user's open tasks and the deals that need a next step.

"Today" is the user's own calendar day, in their time zone. Managers see their own day here;
the team's work is on the board and the lists.
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from salesdesk.activities.models import Activity
from salesdesk.activities.services import activity_complete, activity_create
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import add_application_error, get_visible_or_404
from salesdesk.pipeline.models import Deal
from salesdesk.pipeline.selectors import stale_cutoffs

UPCOMING_DAYS = 7
SHOWN = 50  # rows per group; the counts say how many there are in all
DEFAULT_DUE_TIME = datetime.time(9, 0)


@dataclass
class TaskGroup:
    key: str
    title: str
    empty: str
    tasks: list[Activity]
    count: int

    @property
    def hidden(self) -> int:
        return self.count - len(self.tasks)


@dataclass
class Day:
    today: datetime.date
    groups: list[TaskGroup]
    deals: list[Deal]
    deals_count: int

    @property
    def deals_hidden(self) -> int:
        return self.deals_count - len(self.deals)


def _zone(user) -> zoneinfo.ZoneInfo | datetime.timezone:
    try:
        return zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def _midnight(day: datetime.date, zone) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)


def stale_condition(now: datetime.datetime) -> Q:
    """Open deals longer in their stage than the stage allows (as `Deal.is_stale`), as SQL.

    One small query for the stages that have a limit; deals of stages sharing a limit share a
    term, so the condition stays short however many pipelines there are.
    """
    condition = Q(pk__in=[])
    for cutoff, stage_ids in stale_cutoffs(now).items():
        condition |= Q(stage_id__in=stage_ids, stage_entered_at__lte=cutoff)
    return condition


def my_day(*, user, now: datetime.datetime | None = None) -> Day:
    now = now or timezone.now()
    zone = _zone(user)
    today = now.astimezone(zone).date()
    start = _midnight(today, zone)
    tomorrow = _midnight(today + datetime.timedelta(days=1), zone)
    horizon = _midnight(today + datetime.timedelta(days=UPCOMING_DAYS + 1), zone)

    open_tasks = Activity.objects.filter(
        owner=user, kind=Activity.Kind.TASK, done_at__isnull=True, due_at__lt=horizon
    )
    counts = open_tasks.aggregate(
        overdue=Count("pk", filter=Q(due_at__lt=start)),
        today=Count("pk", filter=Q(due_at__gte=start, due_at__lt=tomorrow)),
        upcoming=Count("pk", filter=Q(due_at__gte=tomorrow)),
    )
    listed = open_tasks.select_related("deal", "company")
    groups = [
        TaskGroup(
            "overdue",
            "Overdue",
            "Nothing overdue. Well done.",
            list(listed.filter(due_at__lt=start).order_by("-due_at", "-id")[:SHOWN]),
            counts["overdue"],
        ),
        TaskGroup(
            "today",
            "Today",
            "No tasks due today. Add one below, or plan the next step of a deal.",
            list(listed.filter(due_at__gte=start, due_at__lt=tomorrow).order_by("due_at", "id")),
            counts["today"],
        ),
        TaskGroup(
            "upcoming",
            f"Next {UPCOMING_DAYS} days",
            f"Nothing planned for the next {UPCOMING_DAYS} days.",
            list(listed.filter(due_at__gte=tomorrow).order_by("due_at", "id")[:SHOWN]),
            counts["upcoming"],
        ),
    ]
    # Only the user's own deals: visible by definition, so no visibility clause is needed.
    deals = Deal.objects.filter(owner=user, status=Deal.Status.OPEN).filter(
        Q(next_step_due__lte=today) | stale_condition(now)
    )
    deals_count = deals.count()
    shown = deals.select_related("company", "stage").order_by(
        F("next_step_due").asc(nulls_last=True), "stage_entered_at", "id"
    )[:SHOWN]
    return Day(today=today, groups=groups, deals=list(shown), deals_count=deals_count)


class TaskForm(forms.Form):
    subject = forms.CharField(label="Task", max_length=255)
    due_date = forms.DateField(label="Due on", widget=forms.DateInput(attrs={"type": "date"}))
    due_time = forms.TimeField(
        label="at", required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def due_at(self, zone) -> datetime.datetime:
        time = self.cleaned_data["due_time"] or DEFAULT_DUE_TIME
        return datetime.datetime.combine(self.cleaned_data["due_date"], time, tzinfo=zone)


def _blank_task_form(today: datetime.date) -> TaskForm:
    return TaskForm(initial={"due_date": today.isoformat(), "due_time": "09:00"})


def _render(
    request, *, form=None, notice: str = "", undo=None, status=200, partial=False
) -> HttpResponse:
    """The page, or for htmx its `day` partial with `notice` said where the lists are."""
    day = my_day(user=request.user)
    context = {
        "day": day,
        "form": form or _blank_task_form(day.today),
        "notice": notice,
        "undo": undo,
    }
    template = "activities/my_day.html#day" if partial else "activities/my_day.html"
    return render(request, template, context, status=status)


@login_required
def my_day_page(request: HttpRequest) -> HttpResponse:
    return _render(request)


@login_required
@require_POST
def task_add(request: HttpRequest) -> HttpResponse:
    form = TaskForm(request.POST)
    if form.is_valid():
        try:
            task, _ = activity_create(
                actor=request.user,
                kind=Activity.Kind.TASK,
                owner=request.user,
                subject=form.cleaned_data["subject"],
                due_at=form.due_at(_zone(request.user)),
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            notice = f"Task “{task.subject}” added."
            if request.htmx:
                return _render(request, notice=notice, partial=True)
            messages.success(request, notice)
            return redirect("home")
    return _render(request, form=form, status=422 if request.htmx else 200, partial=request.htmx)


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done (or, with done=0, not done again: the undo of the message)."""
    task = get_visible_or_404(request, Activity.objects.filter(kind=Activity.Kind.TASK), pk)
    is_done = request.POST.get("done", "1") != "0"
    try:
        activity_complete(actor=request.user, activity=task, done=is_done)
    except ApplicationError as error:
        if request.htmx:
            return HttpResponse(error.message, status=error.status)
        messages.error(request, error.message)
        return redirect("home")
    notice = f"“{task}” is done." if is_done else f"“{task}” is open again."
    if request.htmx:
        return _render(request, notice=notice, undo=task if is_done else None, partial=True)
    messages.success(request, notice)
    return redirect("home")
