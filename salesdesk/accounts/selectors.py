from django.db.models import Q, QuerySet

from salesdesk.accounts.models import ApiToken, Team, User


def user_list(
    *,
    actor: User,
    team_id: int | None = None,
    role: str | None = None,
    q: str | None = None,
    include_inactive: bool = False,
) -> QuerySet[User]:
    """Colleagues are visible to every signed-in user: owners must be choosable."""
    users = User.objects.select_related("team").order_by("pk")
    if not include_inactive:
        users = users.filter(is_active=True)
    if team_id is not None:
        users = users.filter(team_id=team_id)
    if role:
        users = users.filter(role=role)
    if q:
        users = users.filter(Q(full_name__icontains=q) | Q(email__icontains=q))
    return users


def team_list(*, actor: User) -> QuerySet[Team]:
    return Team.objects.select_related("manager").order_by("pk")


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-pk")
