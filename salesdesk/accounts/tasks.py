"""Background jobs of accounts: the invitation e-mail.

A mail server that is slow or down must neither hold up nor break the admin's page: the
message goes out from the Huey consumer, retried a few times, and only once the user exists.
"""

from django.db import transaction
from huey.contrib.djhuey import db_task

from salesdesk.accounts import services
from salesdesk.accounts.models import User


@db_task(retries=3, retry_delay=60)
def invitation_send(user_id: int, inviter_id: int, site_url: str) -> None:
    """Idempotent: a user who has signed up (or gone) in the meantime gets nothing."""
    services.invitation_send(user_id=user_id, inviter_id=inviter_id, site_url=site_url)


def invitation_queue(*, user: User, inviter: User, site_url: str) -> None:
    """Queue the invitation e-mail for when the surrounding transaction commits."""
    user_id, inviter_id = user.pk, inviter.pk
    # robust: a queue that cannot be reached must not turn a created user into an error page.
    transaction.on_commit(
        lambda: invitation_send(user_id, inviter_id, site_url),
        robust=True,
    )
