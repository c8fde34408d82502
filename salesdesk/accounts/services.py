import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from salesdesk.accounts.models import ApiToken, OrganizationSettings, Team, User
from salesdesk.accounts.visibility import can_administer
from salesdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from salesdesk.crm.normalize import normalize_domain

TOKEN_PREFIX = "sd_"  # noqa: S105 (a public prefix, not a secret)


def _hash(key: str) -> str:
    # Tokens are 256 random bits, so a fast hash is as safe as a slow one and keeps auth cheap.
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never stored nor shown again."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the token a name.", fields={"name": "This field is required."})
    if len(name) > 100:
        raise ValidationFailed("The name is too long.", fields={"name": "At most 100 characters."})
    prefix = secrets.token_hex(4)
    key = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, key_hash=_hash(key))
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(key: str) -> User | None:
    if not key or not key.startswith(TOKEN_PREFIX) or len(key) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # At most one write a minute per token: a busy integration must not turn reads into writes.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def _require_admin(actor: User) -> None:
    if not can_administer(actor):
        raise PermissionDenied("Only admins can do this.")


@transaction.atomic
def team_create(*, actor: User, name: str, manager: User | None = None) -> Team:
    _require_admin(actor)
    name = name.strip()
    if not name:
        raise ValidationFailed("A team needs a name.", fields={"name": "This field is required."})
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationFailed("A team with this name exists.", fields={"name": "Already taken."})
    return Team.objects.create(name=name, manager=manager)


@transaction.atomic
def team_update(*, actor: User, team: Team, **changes) -> Team:
    _require_admin(actor)
    if "name" in changes:
        name = (changes["name"] or "").strip()
        if not name:
            raise ValidationFailed(
                "A team needs a name.", fields={"name": "This field is required."}
            )
        if Team.objects.filter(name__iexact=name).exclude(pk=team.pk).exists():
            raise ValidationFailed(
                "A team with this name exists.", fields={"name": "Already taken."}
            )
        team.name = name
    if "manager" in changes:
        team.manager = changes["manager"]
    team.save()
    return team


@transaction.atomic
def team_delete(*, actor: User, team: Team) -> None:
    _require_admin(actor)
    team.delete()


@transaction.atomic
def organization_settings_update(*, actor: User, **changes) -> OrganizationSettings:
    _require_admin(actor)
    org = OrganizationSettings.objects.select_for_update().get_or_create(pk=1)[0]
    if "internal_domains" in changes:
        domains = [
            normalize_domain(d, field="internal_domains") for d in changes["internal_domains"]
        ]
        changes["internal_domains"] = sorted(set(domains))
    for field, value in changes.items():
        setattr(org, field, value)
    org.full_clean()
    org.save()
    return org
