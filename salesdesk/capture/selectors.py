"""Every read of capture's own records, for the acting user."""

from django.db.models import QuerySet

from salesdesk.accounts.models import User
from salesdesk.capture.models import Mailbox


def mailbox_list(*, user: User) -> QuerySet[Mailbox]:
    """The user's own mailboxes: nobody else's, not even an admin's view of them."""
    return Mailbox.objects.filter(user=user).order_by("host", "username", "pk")
