"""The signed-in user's own pages (profile, password, API tokens) and the admin settings for
users, teams and the organization. Pipelines and lists live in pipeline/settings_views.py."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from salesdesk.accounts import forms, selectors, services, tasks
from salesdesk.accounts.models import ApiToken, OrganizationSettings, Team, User
from salesdesk.accounts.visibility import can_administer
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import add_application_error

NEW_TOKEN_SESSION_KEY = "new_api_token"  # noqa: S105 (a session key name)


def admin_required(view):
    """Settings pages exist only for admins: everyone else gets a 404, as for a missing page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not can_administer(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


def error_status(request: HttpRequest) -> int:
    return 422 if request.htmx else 200


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --- Profile and password ------------------------------------------------------------------


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    status = 200
    if request.method == "POST":
        form = forms.ProfileForm(request.POST)
        if form.is_valid():
            try:
                services.profile_update(user=user, **form.cleaned_data)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, "Your profile is saved.")
                return redirect("profile")
        status = error_status(request)
    else:
        form = forms.ProfileForm(
            initial={"full_name": user.full_name, "timezone": user.timezone, "locale": user.locale}
        )
    return render(request, "accounts/profile.html", {"form": form}, status=status)


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordChange(request.user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            update_session_auth_hash(request, form.user)  # stay signed in on this device
            messages.success(request, "Your password is changed.")
            return redirect("profile")
        return render(request, "accounts/password_change.html", {"form": form}, status=200)
    return render(request, "accounts/password_change.html", {"form": form})


# --- API tokens ----------------------------------------------------------------------------


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = forms.TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, key = services.api_token_create(
                    user=request.user, name=form.cleaned_data["name"]
                )
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                request.session[NEW_TOKEN_SESSION_KEY] = {"id": token.pk, "key": key}
                return redirect("token_created")
        status = error_status(request)
    token_list = selectors.api_token_list(user=request.user)
    return render(
        request, "accounts/tokens.html", {"form": form, "tokens": token_list}, status=status
    )


@login_required
def token_created(request: HttpRequest) -> HttpResponse:
    """Shows the secret once: it leaves the session as it is read."""
    new = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    if new is None:
        messages.info(request, "A token is shown only once, right after it is created.")
        return redirect("tokens")
    token = get_object_or_404(ApiToken, pk=new["id"], user=request.user)
    response = render(request, "accounts/token_created.html", {"token": token, "key": new["key"]})
    response["Cache-Control"] = "no-store"
    return response


@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if request.method == "POST":
        services.api_token_revoke(user=request.user, token_id=token.pk)
        messages.success(request, f"The token “{token.name}” is revoked; it no longer works.")
        return redirect("tokens")
    return render(request, "accounts/token_revoke.html", {"token": token})


# --- Settings: index and organization ------------------------------------------------------


@admin_required
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/settings/index.html")


@admin_required
def organization(request: HttpRequest) -> HttpResponse:
    org = OrganizationSettings.get()
    status = 200
    if request.method == "POST":
        form = forms.OrganizationForm(request.POST)
        if form.is_valid():
            try:
                services.organization_settings_update(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, "Organization settings saved.")
                return redirect("settings_organization")
        status = error_status(request)
    else:
        form = forms.OrganizationForm(
            initial={
                "name": org.name,
                "fiscal_year_start_month": org.fiscal_year_start_month,
                "internal_domains": "\n".join(org.internal_domains),
                "reps_see_all": org.reps_see_all,
                "capture_mode": org.capture_mode,
                "follow_up_days": org.follow_up_days,
                "timezone": org.timezone,
                "pipeline_coverage_target": org.pipeline_coverage_target,
            }
        )
    return render(
        request,
        "accounts/settings/organization.html",
        {"form": form, "org": org, "section": "organization"},
        status=status,
    )


# --- Settings: users -----------------------------------------------------------------------


@admin_required
def users(request: HttpRequest) -> HttpResponse:
    user_list = selectors.user_list(actor=request.user, include_inactive=True).order_by(
        "-is_active", "full_name", "email"
    )
    return render(request, "accounts/settings/users.html", {"users": user_list, "section": "users"})


@admin_required
def user_invite(request: HttpRequest) -> HttpResponse:
    form = forms.UserInviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                invited = services.user_invite(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                _queue_invitation(request, invited)
                messages.success(
                    request, f"Invitation sent to {invited.email}. They choose their password."
                )
                return redirect("settings_users")
        status = error_status(request)
    return render(
        request,
        "accounts/settings/user_invite.html",
        {"form": form, "section": "users"},
        status=status,
    )


def _queue_invitation(request: HttpRequest, person: User) -> None:
    tasks.invitation_queue(
        user=person, inviter=request.user, site_url=request.build_absolute_uri("/")
    )


def _user(pk: int) -> User:
    return get_object_or_404(User.objects.select_related("team"), pk=pk)


@admin_required
@require_POST
def user_invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """A new e-mail with a fresh link, for someone who has not chosen a password yet."""
    person = _user(pk)
    try:
        services.user_reinvite(actor=request.user, user=person)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        _queue_invitation(request, person)
        messages.success(request, f"Invitation sent again to {person.email}.")
    return redirect("settings_users")


@admin_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = _user(pk)
    status = 200
    if request.method == "POST":
        form = forms.UserEditForm(request.POST)
        if form.is_valid():
            try:
                services.user_update(actor=request.user, user=person, **form.cleaned_data)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, f"{person} is saved.")
                return redirect("settings_users")
        status = error_status(request)
    else:
        form = forms.UserEditForm(
            initial={"full_name": person.full_name, "role": person.role, "team": person.team_id}
        )
    return render(
        request,
        "accounts/settings/user_edit.html",
        {"form": form, "person": person, "section": "users"},
        status=status,
    )


def _owned_counts(person: User) -> dict[str, int]:
    """What would move on reassignment: four small indexed counts."""
    from salesdesk.activities.models import Activity
    from salesdesk.crm.models import Company, Contact
    from salesdesk.pipeline.models import Deal

    return {
        "companies": Company.objects.filter(owner=person).count(),
        "contacts": Contact.objects.filter(owner=person).count(),
        "deals": Deal.objects.filter(owner=person, status=Deal.Status.OPEN).count(),
        "tasks": Activity.objects.filter(
            owner=person, kind=Activity.Kind.TASK, done_at__isnull=True
        ).count(),
    }


def _moved_message(moved: dict[str, int]) -> str:
    parts = [
        "1 company" if moved.get("companies") == 1 else f"{moved.get('companies', 0)} companies",
        plural(moved.get("contacts", 0), "contact"),
        plural(moved.get("deals", 0), "open deal"),
        plural(moved.get("tasks", 0), "open task"),
    ]
    return f"Moved {', '.join(parts[:-1])} and {parts[-1]}."


@admin_required
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (records stay, or move to someone); for an inactive user, move records only."""
    person = _user(pk)
    form_class = forms.DeactivateForm if person.is_active else forms.ReassignForm
    form = form_class(request.POST or None, user=person)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            target = form.cleaned_data["reassign_to"]
            try:
                if person.is_active:
                    moved = services.user_deactivate(
                        actor=request.user, user=person, reassign_to=target
                    )
                else:
                    moved = services.user_reassign_records(
                        actor=request.user, from_user=person, to_user=target
                    )
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                text = f"{person} is deactivated and can no longer sign in."
                if form_class is forms.ReassignForm:
                    text = f"{person}'s records now belong to {target}."
                if moved:
                    text = f"{text} {_moved_message(moved)}"
                messages.success(request, text)
                return redirect("settings_users")
        status = error_status(request)
    return render(
        request,
        "accounts/settings/user_deactivate.html",
        {"form": form, "person": person, "owned": _owned_counts(person), "section": "users"},
        status=status,
    )


@admin_required
@require_POST
def user_activate(request: HttpRequest, pk: int) -> HttpResponse:
    person = _user(pk)
    services.user_activate(actor=request.user, user=person)
    messages.success(request, f"{person} is active again and can sign in.")
    return redirect("settings_users")


# --- Settings: teams -----------------------------------------------------------------------


@admin_required
def teams(request: HttpRequest) -> HttpResponse:
    form = forms.TeamForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                team = services.team_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, f"Team “{team}” created.")
                return redirect("settings_teams")
        status = error_status(request)
    team_list = (
        selectors.team_list(actor=request.user)
        .annotate(member_count=Count("members", filter=Q(members__is_active=True)))
        .order_by("name")
    )
    return render(
        request,
        "accounts/settings/teams.html",
        {"form": form, "teams": team_list, "section": "teams"},
        status=status,
    )


@admin_required
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    status = 200
    if request.method == "POST":
        form = forms.TeamForm(request.POST)
        if form.is_valid():
            try:
                services.team_update(actor=request.user, team=team, **form.cleaned_data)
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, f"Team “{team}” saved.")
                return redirect("settings_teams")
        status = error_status(request)
    else:
        form = forms.TeamForm(initial={"name": team.name, "manager": team.manager_id})
    return render(
        request,
        "accounts/settings/team_edit.html",
        {"form": form, "team": team, "section": "teams"},
        status=status,
    )


@admin_required
def team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team.objects.annotate(member_count=Count("members")), pk=pk)
    if request.method == "POST":
        name = str(team)
        services.team_delete(actor=request.user, team=team)
        messages.success(request, f"Team “{name}” deleted; its members now have no team.")
        return redirect("settings_teams")
    return render(request, "accounts/settings/team_delete.html", {"team": team, "section": "teams"})
