"""Open and click tracking of the e-mails sent from Salesdesk.

A tracked message carries, in its HTML part only, a 1x1 image and links rewritten to pass
through Salesdesk, each with its own token: `secrets.token_urlsafe(24)` (192 random bits). The
database keeps only the SHA-256 of a token, so neither a copy of it nor anyone reading it can
make up an open or a click. Loading the image records an open; following a link records a click
and redirects to the address the sender wrote. The endpoints need no sign-in and say nothing
about tokens: every image request gets the same image, and an unknown link the site's plain
404 page.

Opens are approximate, as with every tracking pixel: some mail programs never load images, and
some privacy proxies (Apple Mail's) load every image at once whether the message is read or not.
"""

import base64
import hashlib
import re
import secrets

from django.conf import settings
from django.utils import timezone

from salesdesk.capture.models import SentEmail, TrackedLink, TrackingEvent

TOKEN_BYTES = 24  # 192 bits; the URL-safe text of it is 32 characters
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to store of it."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _stored(token: str) -> str | None:
    """The hash to look up, or None for text that cannot be a token (no query needed)."""
    return token_hash(token) if _TOKEN.fullmatch(token or "") else None


def open_url(token: str) -> str:
    return f"{settings.SALESDESK_BASE_URL}/e/o/{token}.gif"


def click_url(token: str) -> str:
    return f"{settings.SALESDESK_BASE_URL}/e/c/{token}"


def email_open_record(*, token: str) -> bool:
    """Record that a message's image was loaded. False (and nothing recorded) for a token of no
    message."""
    hashed = _stored(token)
    if hashed is None:
        return False
    email_id = SentEmail.objects.filter(open_token=hashed).values_list("pk", flat=True).first()
    if email_id is None:
        return False
    TrackingEvent.objects.create(email_id=email_id, kind=TrackingEvent.Kind.OPEN)
    return True


def _link(token: str) -> tuple[int, int, str] | None:
    hashed = _stored(token)
    if hashed is None:
        return None
    return TrackedLink.objects.filter(token=hashed).values_list("pk", "email_id", "url").first()


def link_url(*, token: str) -> str | None:
    """Where a tracked link leads, without recording anything (for HEAD requests)."""
    link = _link(token)
    return link[2] if link else None


def email_click_record(*, token: str) -> str | None:
    """Record a click of a tracked link and return where it leads; None for a token of no
    link."""
    link = _link(token)
    if link is None:
        return None
    link_id, email_id, url = link
    TrackingEvent.objects.create(
        email_id=email_id, link_id=link_id, kind=TrackingEvent.Kind.CLICK, at=timezone.now()
    )
    return url
