"""The `import` and `export` commands, and what they share."""

from django.core.management.base import CommandError

from salesdesk.accounts.models import User
from salesdesk.crm.transfer import ENTITIES

USAGE = 2  # exit status for a mistake in the command line


def acting_user(email: str) -> User:
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise CommandError(f"No user has the e-mail address {email}.", returncode=USAGE)
    if not user.is_active:
        raise CommandError(f"The user {email} is deactivated.", returncode=USAGE)
    return user


def check_entity(entity: str) -> str:
    if entity not in ENTITIES:
        raise CommandError(
            f"Unknown kind of record {entity!r}; use {', '.join(ENTITIES)}.", returncode=USAGE
        )
    return entity
