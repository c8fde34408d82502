import hashlib
import secrets
import zoneinfo

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from salesdesk.accounts.models import LOCALES, ApiToken, OrganizationSettings, Role, Team, User
from salesdesk.accounts.visibility import can_administer
from salesdesk.core.audit import audit_record, snapshot
from salesdesk.core.errors import NotFound, PermissionDenied, ValidationFailed
from salesdesk.core.models import AuditEntry
from salesdesk.crm.normalize import normalize_domain, normalize_email

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
    calendar_before = (org.timezone, org.fiscal_year_start_month)
    for field, value in changes.items():
        setattr(org, field, value)
    try:
        org.full_clean()
    except DjangoValidationError as error:
        raise ValidationFailed(
            "; ".join(error.messages),
            fields={key: " ".join(messages) for key, messages in error.message_dict.items()},
        ) from None
    org.save()
    if (org.timezone, org.fiscal_year_start_month) != calendar_before:
        from salesdesk.analytics import rollups  # analytics builds on accounts

        # The buckets are months of the reporting time zone, and fiscal quarters and years.
        rollups.rebuild(org.timezone)
    return org


# --- Profile ------------------------------------------------------------------------------


@transaction.atomic
def profile_update(*, user: User, **changes) -> User:
    """A user changes their own name, time zone, locale and whether others read the text of
    their captured e-mails; the e-mail address stays."""
    if "full_name" in changes:
        full_name = (changes["full_name"] or "").strip()
        if len(full_name) > 150:
            raise ValidationFailed(
                "The name is too long.", fields={"full_name": "At most 150 characters."}
            )
        user.full_name = full_name
    if "timezone" in changes:
        if changes["timezone"] not in zoneinfo.available_timezones():
            raise ValidationFailed(
                "Unknown time zone.", fields={"timezone": "Pick a time zone from the list."}
            )
        user.timezone = changes["timezone"]
    if "locale" in changes:
        if changes["locale"] not in dict(LOCALES):
            raise ValidationFailed("Unknown locale.", fields={"locale": "Pick one from the list."})
        user.locale = changes["locale"]
    if "email_text_shared" in changes:
        user.email_text_shared = bool(changes["email_text_shared"])
    fields = ("full_name", "timezone", "locale", "email_text_shared")
    user.save(update_fields=[f for f in fields if f in changes])
    return user


# --- Users (admin) ------------------------------------------------------------------------


def password_setup_path(user: User) -> str:
    """The one-time path where `user` chooses a password (Django's reset token)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("invite_accept", args=[uid, default_token_generator.make_token(user)])


def is_invitation_pending(user: User) -> bool:
    """Invited and not in yet: active, and no password chosen since the invitation."""
    return user.is_active and not user.has_usable_password() and user.last_login is None


def invitation_send(*, user_id: int, inviter_id: int, site_url: str) -> None:
    """E-mail `user_id` a link to choose a password, if the invitation is still pending.

    The task that calls this may run late or twice: a user who is gone, deactivated or
    already in gets nothing.
    """
    user = User.objects.filter(pk=user_id).first()
    if user is None or not is_invitation_pending(user):
        return
    inviter = User.objects.filter(pk=inviter_id).first()
    organization = OrganizationSettings.get()
    context = {
        "user": user,
        "inviter": inviter,
        "organization": organization,
        "link": f"{site_url.rstrip('/')}{password_setup_path(user)}",
        "site_url": site_url,
    }
    who = inviter.get_full_name() if inviter is not None else organization.name
    subject = f"{who} invited you to Salesdesk"
    body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, None, [user.email])


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationFailed("Unknown role.", fields={"role": "Pick a role from the list."})


@transaction.atomic
def user_invite(
    *,
    actor: User,
    email: str,
    full_name: str = "",
    role: str = Role.REP,
    team: Team | None = None,
) -> User:
    """Create a user without a password; the caller queues the e-mail with the link to choose
    one (accounts.tasks.invitation_queue) for after the commit."""
    _require_admin(actor)
    email = normalize_email(email)
    full_name = (full_name or "").strip()
    if len(full_name) > 150:
        raise ValidationFailed("The name is too long.", fields={"full_name": "At most 150."})
    _check_role(role)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationFailed(
            "Someone with this address already has an account.",
            fields={"email": "Someone with this address already has an account."},
        )
    return User.objects.create_user(email, None, full_name=full_name, role=role, team=team)


def user_reinvite(*, actor: User, user: User) -> User:
    """Check that `user` may get the invitation again: active and not signed up yet.

    Nothing is stored: every link sent works until it expires or a password is chosen. The
    caller queues the e-mail, as for user_invite."""
    _require_admin(actor)
    if not user.is_active:
        raise ValidationFailed(
            f"{user} is deactivated; reactivate them first.",
            fields={"user": "Reactivate this user first."},
        )
    if not is_invitation_pending(user):
        raise ValidationFailed(
            f"{user} has already chosen a password; “Forgot your password?” on the sign-in "
            "page sends a new one.",
            fields={"user": "Already signed up."},
        )
    return user


def _require_not_self(actor: User, user: User, field: str, message: str) -> None:
    if actor.pk == user.pk:
        raise ValidationFailed(message, fields={field: message})


@transaction.atomic
def user_update(*, actor: User, user: User, **changes) -> User:
    """Change another user's name, role or team. Admins cannot demote themselves."""
    _require_admin(actor)
    if "full_name" in changes:
        full_name = (changes["full_name"] or "").strip()
        if len(full_name) > 150:
            raise ValidationFailed("The name is too long.", fields={"full_name": "At most 150."})
        user.full_name = full_name
    if "role" in changes:
        _check_role(changes["role"])
        if changes["role"] != Role.ADMIN and user.is_admin:
            _require_not_self(actor, user, "role", "You cannot take away your own admin role.")
        user.role = changes["role"]
    if "team" in changes:
        user.team = changes["team"]
    user.save(update_fields=[f for f in ("full_name", "role", "team") if f in changes])
    return user


@transaction.atomic
def user_activate(*, actor: User, user: User) -> User:
    _require_admin(actor)
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def user_deactivate(*, actor: User, user: User, reassign_to: User | None = None) -> dict[str, int]:
    """Stop `user` signing in (web and API); their records stay, or go to `reassign_to`.

    Returns how many records moved, by kind.
    """
    _require_admin(actor)
    _require_not_self(actor, user, "user", "You cannot deactivate yourself.")
    moved = {}
    if reassign_to is not None:
        moved = user_reassign_records(actor=actor, from_user=user, to_user=reassign_to)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return moved


@transaction.atomic
def user_reassign_records(*, actor: User, from_user: User, to_user: User) -> dict[str, int]:
    """Give `from_user`'s companies, contacts, open deals and open tasks to `to_user`.

    Closed deals and done tasks keep their owner: they are the history of who did the work.
    """
    from salesdesk.activities.models import Activity
    from salesdesk.analytics import rollups
    from salesdesk.crm.models import Company, Contact
    from salesdesk.pipeline.models import Deal

    _require_admin(actor)
    if not to_user.is_active:
        raise ValidationFailed(
            "Records cannot be given to a deactivated user.",
            fields={"reassign_to": "Pick an active user."},
        )
    if to_user.pk == from_user.pk:
        raise ValidationFailed(
            "Pick someone else to give the records to.",
            fields={"reassign_to": "Pick someone else."},
        )
    audited = {
        "companies": Company.objects.filter(owner=from_user),
        "contacts": Contact.objects.filter(owner=from_user),
        "deals": Deal.objects.filter(owner=from_user, status=Deal.Status.OPEN),
    }
    zone = rollups.calendar()
    open_deals = audited["deals"]
    keys = rollups.deal_keys_of(open_deals, zone)
    keys |= {(to_user.pk, month) for _, month in keys}  # the same months, the new owner
    moved = {}
    for kind, queryset in audited.items():
        # Lock first so a concurrent edit cannot slip between the audit snapshot and the update.
        records = list(queryset.select_for_update().order_by("pk"))
        for record in records:
            before = snapshot(record)
            record.owner = to_user
            audit_record(
                actor=actor, instance=record, action=AuditEntry.Action.UPDATE, before=before
            )
        moved[kind] = queryset.update(owner=to_user)
    rollups.refresh_deals(keys, zone)
    # An open task counts in its owner's open-task buckets only (in a month once done).
    moved["tasks"] = Activity.objects.filter(
        owner=from_user, kind=Activity.Kind.TASK, done_at__isnull=True
    ).update(owner=to_user)
    rollups.refresh_open_tasks({from_user.pk, to_user.pk}, zone)
    return moved
