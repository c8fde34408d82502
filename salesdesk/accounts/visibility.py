"""Who may see and change which records. Decided here and nowhere else.

- Admins see and change everything.
- Managers see and change the records owned by members of the teams they manage or belong to,
  and their own.
- Reps and SDRs see and change their own records; when the organization's `reps_see_all` is on
  they see (but do not change) everybody's, and managers then see everybody's too.
- Records with no owner form a shared pool that every active user sees and changes.
- Inactive or anonymous users see nothing.
- An activity is also visible to whoever can see its deal, so a deal's timeline is complete.

- Suggested contacts follow the user whose mail suggested them, as if they owned them.
- The text of a captured e-mail (an e-mail activity from a mailbox or a mail file) is read by
  its owner, and by everyone else who sees the activity only while the owner shares it
  (`User.email_text_shared`); otherwise they see that it was exchanged: date, participants and
  subject.

Records you cannot see are 404 ("does not exist"), never 403, so their existence does not leak.

People's numbers follow their own rules, kept here too:

- Goals are seen by the whole team, whatever record visibility says: everyone sees their own
  goals, their team's and its members'; managers also those of the teams they manage; admins all.
  Managers set goals for the teams they manage or belong to and their members; admins for anyone.
- 1:1 reviews: admins review anyone, managers the members of the teams they manage or belong
  to; nobody reviews themself.
- Team dashboards: whoever sees every record (admins; everybody with `reps_see_all`) opens
  every team's; managers those of the teams they manage or belong to; reps and SDRs their own
  team's, where they read only their own row.

E-mail templates are their owner's; admins and managers may share theirs with everyone, and
admins change shared ones too.
"""

from django.db.models import BooleanField, Case, Model, Q, QuerySet, Value, When

from salesdesk.accounts.models import OrganizationSettings, Role

NOTHING = Q(pk__in=[])


def _team_ids(user) -> list[int]:
    cached = getattr(user, "_visibility_team_ids", None)
    if cached is None:
        ids = set(user.managed_teams.values_list("id", flat=True))
        if user.team_id:
            ids.add(user.team_id)
        cached = sorted(ids)
        user._visibility_team_ids = cached
    return cached


def _reps_see_all(user) -> bool:
    cached = getattr(user, "_visibility_reps_see_all", None)
    if cached is None:
        cached = OrganizationSettings.get().reps_see_all
        user._visibility_reps_see_all = cached
    return cached


def is_signed_in(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


_is_signed_in = is_signed_in


def team_ids(user) -> list[int]:
    """The teams `user` belongs to or manages (a manager's reach; any role's own team)."""
    return _team_ids(user)


def owner_scope(user, *, owner: str = "owner", for_change: bool = False) -> Q:
    """A filter on the owner field `owner` (a lookup path) limiting rows to what `user` may see."""
    if not _is_signed_in(user):
        return NOTHING
    if user.is_admin:
        return Q()
    if not for_change and _reps_see_all(user):
        return Q()
    own = Q(**{owner: user}) | Q(**{f"{owner}__isnull": True})
    if user.role == Role.MANAGER:
        return own | Q(**{f"{owner}__team_id__in": _team_ids(user)})
    return own


def scope(user, queryset: QuerySet, *, for_change: bool = False) -> QuerySet:
    """Limit an owner-bearing queryset (companies, contacts, deals, activities) to `user`."""
    model = queryset.model
    condition = owner_scope(user, for_change=for_change)
    if model._meta.label_lower == "activities.activity" and condition:
        condition |= owner_scope(user, owner="deal__owner", for_change=for_change) & Q(
            deal__isnull=False
        )
    return queryset.filter(condition)


def can_view(user, record: Model) -> bool:
    return scope(user, type(record)._default_manager.filter(pk=record.pk)).exists()


def can_change(user, record: Model) -> bool:
    return scope(user, type(record)._default_manager.filter(pk=record.pk), for_change=True).exists()


# --- The text of captured e-mails -----------------------------------------------------------


def email_text_hidden(user) -> Q:
    """Activities whose text `user` may not read (though they may see the activity): captured
    e-mails of an owner who keeps their text to themselves."""
    hidden = Q(kind="email", source="imap", owner__email_text_shared=False)
    if _is_signed_in(user):
        hidden &= ~Q(owner_id=user.pk)
    return hidden


def with_email_text_hidden(user, activities: QuerySet) -> QuerySet:
    """Activities annotated with `text_hidden`, for pages and API answers to leave the text out
    of. (A join to the owner, which every activity list selects anyway.)"""
    return activities.annotate(
        text_hidden=Case(
            When(email_text_hidden(user), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def is_email_text_hidden(user, activity) -> bool:
    """The same rule for one activity already loaded with its owner."""
    return (
        activity.kind == "email"
        and activity.source == "imap"
        and activity.owner_id is not None
        and activity.owner_id != getattr(user, "pk", None)
        and not activity.owner.email_text_shared
    )


def suggestion_scope(user, *, for_change: bool = False) -> Q:
    """Suggested contacts (capture mode "suggest") are read and decided like records owned by
    the user whose mail suggested them."""
    return owner_scope(user, owner="suggested_to", for_change=for_change)


def can_assign_to(user, owner) -> bool:
    """May `user` make `owner` the owner of a record? Only to someone whose records they manage."""
    if not _is_signed_in(user):
        return False
    if owner is None or owner.pk == user.pk or user.is_admin:
        return True
    if user.role == Role.MANAGER:
        return owner.team_id is not None and owner.team_id in _team_ids(user)
    return False


def can_administer(user) -> bool:
    """Pipelines, stages, lead sources, lost reasons, tags, teams, users, rates and settings."""
    return _is_signed_in(user) and user.is_admin


# --- Goals and reviews ----------------------------------------------------------------------


def goal_scope(user) -> Q:
    """A filter on Goal: the goals `user` sees (see the module docstring)."""
    if not is_signed_in(user):
        return NOTHING
    if user.is_admin:
        return Q()
    teams = _goal_team_ids(user)
    return Q(user_id=user.pk) | Q(team_id__in=teams) | Q(user__team_id__in=teams)


def _goal_team_ids(user) -> list[int]:
    if user.role == Role.MANAGER:
        return _team_ids(user)
    return [user.team_id] if user.team_id else []


def can_set_goals(user) -> bool:
    """Managers and admins set goals (managers for their teams); reps and SDRs do not."""
    return is_signed_in(user) and (user.is_admin or user.role == Role.MANAGER)


def can_set_goal_for(user, *, owner=None, team=None) -> bool:
    """May `user` set the goal of `owner` (a user) or of `team`?"""
    if not can_set_goals(user):
        return False
    if user.is_admin:
        return True
    if team is not None:
        return team.pk in _team_ids(user)
    return owner is not None and owner.team_id is not None and owner.team_id in _team_ids(user)


def reviewed_by(user) -> Q:
    """A filter on User: the people whose 1:1 reviews `user` holds (never `user` themself)."""
    if not is_signed_in(user):
        return NOTHING
    if user.is_admin:
        return ~Q(pk=user.pk)
    if user.role != Role.MANAGER:
        return NOTHING
    return Q(team_id__in=_team_ids(user)) & ~Q(pk=user.pk)


# --- Team dashboards ------------------------------------------------------------------------


def sees_every_record(user) -> bool:
    """Admins, and everybody when `reps_see_all` is on: `owner_scope` has no condition."""
    return is_signed_in(user) and not owner_scope(user)


def dashboard_team_scope(user) -> Q:
    """A filter on Team: the teams whose dashboard `user` may open."""
    if not is_signed_in(user):
        return NOTHING
    if sees_every_record(user):
        return Q()
    if user.role == Role.MANAGER:
        return Q(pk__in=_team_ids(user))
    return Q(pk=user.team_id) if user.team_id else NOTHING


def dashboard_member_scope(user) -> Q:
    """A filter on User: the people whose rows `user` reads on a team dashboard."""
    if not is_signed_in(user):
        return NOTHING
    if sees_every_record(user) or user.role == Role.MANAGER:
        return Q()
    return Q(pk=user.pk)


# --- E-mail templates -------------------------------------------------------------------------


def can_share_email_templates(user) -> bool:
    """Admins and managers share e-mail templates with everyone."""
    return is_signed_in(user) and (user.is_admin or user.role == Role.MANAGER)


def email_template_scope(user, *, for_change: bool = False) -> Q:
    """A filter on EmailTemplate. Everyone uses their own templates and the shared ones; a
    template is changed by its owner, and a shared one by admins too. Nobody else sees another
    user's own templates, not even an admin."""
    if not is_signed_in(user):
        return NOTHING
    own = Q(owner_id=user.pk)
    if not for_change:
        return own | Q(is_shared=True)
    return own | Q(is_shared=True) if user.is_admin else own
