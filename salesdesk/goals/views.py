"""The goals page: every goal of a period with its progress; managers set goals here too."""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import add_application_error
from salesdesk.goals import selectors, services
from salesdesk.goals.fields import period_choices
from salesdesk.goals.forms import SERVICE_FIELDS, GoalForm
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import Period, period_of
from salesdesk.goals.selectors import GoalProgress

REFUSAL = "Only managers and admins set goals; ask your manager to change this one."


@dataclass
class Section:
    """The goals of one metric (and activity kind): team goals with their members, then the
    reps' goals that no team goal on the page shows."""

    title: str
    teams: list[GoalProgress] = field(default_factory=list)
    reps: list[GoalProgress] = field(default_factory=list)


def _periods(request: HttpRequest) -> tuple[OrganizationSettings, Period, Period, str]:
    """(org, current quarter, chosen period, error about the `period` parameter)."""
    org = OrganizationSettings.get()
    current = selectors.period_from_key(None, org)
    try:
        return org, current, selectors.period_from_key(request.GET.get("period"), org), ""
    except ValueError as error:
        return org, current, current, str(error)


def _title(progress: GoalProgress) -> str:
    goal = progress.goal
    title = goal.get_metric_display()
    if goal.activity_kind:
        title += f" ({goal.get_activity_kind_display().lower()}s)"
    return title


def _sections(progress: list[GoalProgress], viewer) -> list[Section]:
    shown_in_teams = {member.goal.pk for team_goal in progress for member in team_goal.members}
    sections: dict[tuple, Section] = {}
    for item in progress:
        key = (item.goal.metric, item.goal.activity_kind)
        section = sections.setdefault(key, Section(_title(item)))
        if item.goal.team_id:
            section.teams.append(item)
        elif item.goal.pk not in shown_in_teams:
            section.reps.append(item)
    for section in sections.values():
        section.teams.sort(key=lambda p: (p.goal.team_id != viewer.team_id, p.goal.team.name))
        section.reps.sort(key=lambda p: (p.goal.user_id != viewer.pk, str(p.goal.user)))
    order = [metric for metric, _ in Goal.Metric.choices]
    return [sections[key] for key in sorted(sections, key=lambda k: (order.index(k[0]), k[1]))]


@login_required
def goal_list(request: HttpRequest) -> HttpResponse:
    org, current, period, period_error = _periods(request)
    now = timezone.now()
    progress = selectors.goal_progress(actor=request.user, period=period, now=now)
    can_set = selectors.can_set_goals(request.user)
    editable = {
        item.goal.pk
        for team_goal in progress
        for item in (team_goal, *team_goal.members)
        if can_set
        and selectors.can_set_goal_for(request.user, user=item.goal.user, team=item.goal.team)
    }
    context = {
        "org": org,
        "period": period,
        "period_error": period_error,
        "period_choices": period_choices(current, selected=period),
        "is_current": period == current,
        "current": current,
        "elapsed_percent": round(period.elapsed_share(now, org.timezone) * 100),
        "weeks_left": period.weeks_left(now, org.timezone),
        "sections": _sections(progress, request.user),
        "goal_count": len(progress),
        "can_set_goals": can_set,
        "editable": editable,
        "currency": org.base_currency,
    }
    template = "goals/goal_list.html#goal-page" if request.htmx else "goals/goal_list.html"
    return render(request, template, context)


def _service_error(form: GoalForm, error: ApplicationError) -> None:
    fields = {SERVICE_FIELDS.get(name, name): message for name, message in error.fields.items()}
    if error.status == 409:
        fields = {}  # a duplicate is about the whole goal, shown above the form
    add_application_error(form, type(error)(error.message, fields=fields))


def _form_page(request, form, *, goal=None, refusal="", status=200) -> HttpResponse:
    context = {"form": form, "goal": goal, "refusal": refusal}
    return render(request, "goals/goal_form.html", context, status=status)


def _back_to(goal: Goal, org: OrganizationSettings) -> str:
    # Period() rather than goal.period(): a goal set before the fiscal year moved still opens.
    period = Period(goal.period_kind, goal.period_start, org.fiscal_year_start_month)
    return f"/goals/?period={period.key}"


@login_required
def goal_create(request: HttpRequest) -> HttpResponse:
    org, current, period, _ = _periods(request)
    initial = {"period": period.key}
    form = GoalForm(request.POST or None, actor=request.user, current=current, initial=initial)
    if not selectors.can_set_goals(request.user):
        status = 403 if request.method == "POST" else 200
        return _form_page(request, form, refusal=REFUSAL, status=status)
    if request.method == "POST" and form.is_valid():
        try:
            goal = services.goal_create(actor=request.user, **form.service_arguments())
        except ApplicationError as error:
            _service_error(form, error)
        else:
            messages.success(request, f"Goal set: {goal}.")
            return redirect(_back_to(goal, org))
    return _form_page(request, form)


def _goal(request: HttpRequest, pk: int) -> Goal:
    goal = selectors.goal_for_user(request.user, pk)
    if goal is None:
        raise Http404("No such goal.")
    return goal


@login_required
def goal_figures(request: HttpRequest, pk: int) -> HttpResponse:
    """A member's figures, loaded when their row on a team's goal is opened: the goals page
    then renders one short row per member instead of every member's figures (a page of 200
    reps)."""
    goal = _goal(request, pk)
    org = OrganizationSettings.get()
    period = period_of(goal.period_kind, goal.period_start, org.fiscal_year_start_month)
    progress = selectors.goal_progress(actor=request.user, period=period, goal_ids=[goal.pk])
    if not progress:
        raise Http404("No such goal.")
    can_set = selectors.can_set_goals(request.user) and selectors.can_set_goal_for(
        request.user, user=goal.user, team=goal.team
    )
    context = {
        "progress": progress[0],
        "org": org,
        "currency": org.base_currency,
        "editable": {goal.pk} if can_set else set(),
        "owner": goal.team or goal.user,
    }
    return render(request, "goals/goal_list.html#member-figures", context)


@login_required
def goal_members(request: HttpRequest, pk: int) -> HttpResponse:
    """The member rows of a team's goal, loaded when the team's card is opened: the goals page
    lists the members of the viewer's own team and only counts the others' (an admin's page of
    25 teams would otherwise render every rep twice over)."""
    goal = _goal(request, pk)
    if not goal.team_id:
        raise Http404("Only a team's goal has members.")
    org = OrganizationSettings.get()
    period = period_of(goal.period_kind, goal.period_start, org.fiscal_year_start_month)
    progress = selectors.goal_progress(actor=request.user, period=period, goal_ids=[goal.pk])
    if not progress:
        raise Http404("No such goal.")
    context = {"progress": progress[0], "org": org, "currency": org.base_currency}
    return render(request, "goals/goal_list.html#member-list", context)


@login_required
def goal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    goal = _goal(request, pk)
    org, current, _, _ = _periods(request)
    form = GoalForm(request.POST or None, actor=request.user, current=current, goal=goal)
    if not selectors.can_set_goal_for(request.user, user=goal.user, team=goal.team):
        status = 403 if request.method == "POST" else 200
        return _form_page(request, form, goal=goal, refusal=REFUSAL, status=status)
    if request.method == "POST" and form.is_valid():
        try:
            goal = services.goal_update(actor=request.user, goal=goal, **form.service_arguments())
        except ApplicationError as error:
            _service_error(form, error)
        else:
            messages.success(request, f"Goal saved: {goal}.")
            return redirect(_back_to(goal, org))
    return _form_page(request, form, goal=goal)


@login_required
def goal_delete(request: HttpRequest, pk: int) -> HttpResponse:
    goal = _goal(request, pk)
    org = OrganizationSettings.get()
    allowed = selectors.can_set_goal_for(request.user, user=goal.user, team=goal.team)
    if request.method == "POST":
        try:
            services.goal_delete(actor=request.user, goal=goal)
        except ApplicationError as error:
            messages.error(request, error.message)
            return render(
                request,
                "goals/goal_confirm_delete.html",
                {"goal": goal, "allowed": False, "back": _back_to(goal, org)},
                status=error.status,
            )
        messages.success(request, f"Goal deleted: {goal}.")
        return redirect(_back_to(goal, org))
    context = {"goal": goal, "allowed": allowed, "back": _back_to(goal, org)}
    return render(request, "goals/goal_confirm_delete.html", context)


@require_POST
@login_required
def goal_roll_over(request: HttpRequest) -> HttpResponse:
    """Copy the goals of the period posted to the next one."""
    org = OrganizationSettings.get()
    try:
        period = selectors.period_from_key(request.POST.get("period") or "-", org)
        services_result = services.goal_roll_over(actor=request.user, period=period)
    except ValueError as error:
        messages.error(request, str(error))
        return redirect("/goals/")
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(f"/goals/?period={period.key}")
    created, skipped = services_result
    target = period.next()
    text = f"Copied {len(created)} goal{'s' if len(created) != 1 else ''} to {target.label}."
    if skipped:
        text += f" {skipped} {'was' if skipped == 1 else 'were'} there already or for a "
        text += "deactivated user."
    messages.success(request, text)
    return redirect(f"/goals/?period={target.key}")
