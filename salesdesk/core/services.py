"""Small helpers every app's services share."""

from django.db.models import Model

from salesdesk.accounts import visibility
from salesdesk.core.errors import PermissionDenied, ValidationFailed


def require_change(actor, record: Model) -> None:
    """Refuse (403) a change to a record the actor can see but not change."""
    if not visibility.can_change(actor, record):
        raise PermissionDenied(f"You cannot change this {record._meta.verbose_name}.")


def require_assignable(actor, owner) -> None:
    if owner is not None and not owner.is_active:
        raise ValidationFailed(
            "Records cannot be given to a deactivated user.", fields={"owner_id": "Inactive user."}
        )
    if not visibility.can_assign_to(actor, owner):
        raise PermissionDenied("You cannot give records to this user.")


def require_admin(actor) -> None:
    if not visibility.can_administer(actor):
        raise PermissionDenied("Only admins can do this.")


def clean_text(value: str | None, *, field: str, max_length: int, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(f"{field} is required.", fields={field: "This field is required."})
    if len(text) > max_length:
        raise ValidationFailed(
            f"{field} is too long.", fields={field: f"At most {max_length} characters."}
        )
    return text
