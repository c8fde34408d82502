import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Status

from salesdesk.accounts import selectors, services
from salesdesk.accounts.models import OrganizationSettings, Role, Team, User
from salesdesk.core.api_support import Id, InSchema, Limit, Page, Text, paginate_by_id, reference
from salesdesk.core.errors import NotFound
from salesdesk.core.schemas import TeamRef, UserOut

router = Router()


class UserPage(Page):
    items: list[UserOut]


class UserFilters(InSchema):
    team: Id | None = None
    role: Role | None = None
    q: Text | None = None
    include_inactive: bool = False
    limit: Limit = 50
    cursor: Text | None = None


@router.get("/users", response=UserPage, tags=["users"])
def list_users(request: HttpRequest, filters: Query[UserFilters]):
    users = selectors.user_list(
        actor=request.auth,
        team_id=filters.team,
        role=filters.role,
        q=filters.q,
        include_inactive=filters.include_inactive,
    )
    return paginate_by_id(users, limit=filters.limit, cursor=filters.cursor)


@router.get("/users/me", response=UserOut, tags=["users"])
def me(request: HttpRequest):
    return request.auth


@router.get("/users/{user_id}", response=UserOut, tags=["users"])
def get_user(request: HttpRequest, user_id: Id):
    user = User.objects.select_related("team").filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


class TeamOut(TeamRef):
    manager_id: int | None


class TeamIn(InSchema):
    name: Text
    manager_id: Id | None = None


class TeamPatch(InSchema):
    name: Text | None = None
    manager_id: Id | None = None


@router.get("/teams", response=list[TeamOut], tags=["teams"])
def list_teams(request: HttpRequest):
    return selectors.team_list(actor=request.auth)


def _team(team_id: int) -> Team:
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFound(f"Team {team_id} does not exist.")
    return team


def _manager(request, manager_id):
    return reference(
        request.auth,
        User.objects.filter(is_active=True),
        manager_id,
        field="manager_id",
        label="User",
        owned=False,
    )


@router.post("/teams", response={201: TeamOut}, tags=["teams"])
def create_team(request: HttpRequest, payload: TeamIn):
    team = services.team_create(
        actor=request.auth, name=payload.name, manager=_manager(request, payload.manager_id)
    )
    return Status(201, team)


@router.get("/teams/{team_id}", response=TeamOut, tags=["teams"])
def get_team(request: HttpRequest, team_id: Id):
    return _team(team_id)


@router.patch("/teams/{team_id}", response=TeamOut, tags=["teams"])
def update_team(request: HttpRequest, team_id: Id, payload: TeamPatch):
    changes = payload.dict(exclude_unset=True)
    if "manager_id" in changes:
        changes["manager"] = _manager(request, changes.pop("manager_id"))
    return services.team_update(actor=request.auth, team=_team(team_id), **changes)


@router.delete("/teams/{team_id}", response={204: None}, tags=["teams"])
def delete_team(request: HttpRequest, team_id: Id):
    services.team_delete(actor=request.auth, team=_team(team_id))
    return Status(204, None)


class TokenOut(InSchema):
    id: int
    name: str
    prefix: str
    created_at: datetime.datetime
    last_used_at: datetime.datetime | None
    revoked_at: datetime.datetime | None


class TokenCreated(TokenOut):
    token: str


class TokenIn(InSchema):
    name: Text


@router.get("/tokens", response=list[TokenOut], tags=["tokens"])
def list_tokens(request: HttpRequest):
    return selectors.api_token_list(user=request.auth)


@router.post("/tokens", response={201: TokenCreated}, tags=["tokens"])
def create_token(request: HttpRequest, payload: TokenIn):
    """Create a personal token. The `token` value is shown only in this response."""
    token, key = services.api_token_create(user=request.auth, name=payload.name)
    token.token = key
    return Status(201, token)


@router.delete("/tokens/{token_id}", response=TokenOut, tags=["tokens"])
def revoke_token(request: HttpRequest, token_id: Id):
    return services.api_token_revoke(user=request.auth, token_id=token_id)


class OrganizationOut(InSchema):
    name: str
    base_currency: str
    fiscal_year_start_month: int
    internal_domains: list[str]
    reps_see_all: bool
    capture_mode: str
    follow_up_days: int
    timezone: str
    pipeline_coverage_target: Decimal


class OrganizationPatch(InSchema):
    name: Text | None = None
    fiscal_year_start_month: int | None = None
    internal_domains: list[Text] | None = None
    reps_see_all: bool | None = None
    capture_mode: OrganizationSettings.CaptureMode | None = None
    follow_up_days: int | None = None
    timezone: Text | None = None
    pipeline_coverage_target: Decimal | None = None


@router.get("/organization", response=OrganizationOut, tags=["organization"])
def get_organization(request: HttpRequest):
    return OrganizationSettings.get()


@router.patch("/organization", response=OrganizationOut, tags=["organization"])
def update_organization(request: HttpRequest, payload: OrganizationPatch):
    changes = {
        key: value for key, value in payload.dict(exclude_unset=True).items() if value is not None
    }
    return services.organization_settings_update(actor=request.auth, **changes)
