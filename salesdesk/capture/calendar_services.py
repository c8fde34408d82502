"""Every write a person starts on their connected calendars: connecting an ICS feed or a CalDAV
account, changing its settings, pausing, disconnecting, asking for a sync now.

A calendar is saved only once it has been read: the feed is downloaded once (and must be
iCalendar data), the CalDAV account lists its calendars. A typo shows up next to the form, in
words that never hold the password or the secret part of a feed's address. Both are encrypted
before they reach the database (`capture.secrets`) and never come back out to a page.
"""

import dataclasses
import ipaddress
import socket
import urllib.parse

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from salesdesk.accounts.models import User
from salesdesk.capture import secrets
from salesdesk.capture.calendar_sync import fetch_feed
from salesdesk.capture.calendars import CalDavSettings, CalendarError, caldav_calendars
from salesdesk.capture.models import CalendarConnection
from salesdesk.capture.services import INTERVALS
from salesdesk.core.errors import Conflict, NotFound, ValidationFailed

KIND = CalendarConnection.Kind
STATE = CalendarConnection.State
CHECK_TIMEOUT = 15  # seconds: a person is waiting for the answer
DEFAULT_INTERVAL = 15  # minutes; see docs/capture.md for why not 5 as for mail
FEED_SCHEMES = ("http", "https", "webcal", "webcals")


@dataclasses.dataclass
class CalendarFields:
    kind: str
    url: str = ""  # empty when changing settings: the saved address stays
    username: str = ""
    name: str = ""
    interval_minutes: int = DEFAULT_INTERVAL
    calendars: list[str] | None = None  # CalDAV: the URLs to sync, [] for all; None: unchanged


def _validated(fields: CalendarFields, *, is_new: bool) -> tuple[CalendarFields, str]:
    """The fields cleaned, and the host of the address (empty when the address is kept)."""
    errors = {}
    url = (fields.url or "").strip()
    username = (fields.username or "").strip()
    host = ""
    if fields.kind not in KIND.values:
        errors["kind"] = "Choose an ICS feed or a CalDAV account."
    if url or is_new:
        host, problem = _host_of(url, fields.kind)
        if problem:
            errors["url"] = problem
    if len(username) > 254:
        errors["username"] = "A username has at most 254 characters."
    elif fields.kind == KIND.CALDAV and not username:
        errors["username"] = "Enter the username of the CalDAV account."
    if len((fields.name or "").strip()) > 100:
        errors["name"] = "A name has at most 100 characters."
    if fields.interval_minutes not in INTERVALS:
        errors["interval_minutes"] = "Choose one of the offered intervals."
    if errors:
        raise ValidationFailed("Check the calendar settings.", fields=errors)
    cleaned = dataclasses.replace(fields, url=url, username=username, name=fields.name.strip())
    return cleaned, host


def _host_of(url: str, kind: str) -> tuple[str, str]:
    """(host, problem) of a calendar address."""
    example = (
        "https://calendar.google.com/calendar/ical/…/basic.ics"
        if kind == KIND.ICS
        else "https://caldav.example.com/"
    )
    if not url:
        return "", f"Enter the calendar's address, such as {example}."
    if len(url) > 2000 or any(ch.isspace() for ch in url):
        return "", f"This is not a web address. It looks like {example}."
    try:
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return "", f"This is not a valid web address. It looks like {example}."
    schemes = FEED_SCHEMES if kind == KIND.ICS else ("http", "https")
    if parts.scheme.lower() not in schemes or not host:
        allowed = "http://, https:// or webcal://" if kind == KIND.ICS else "http:// or https://"
        return "", f"The address must start with {allowed} and a server, as in {example}."
    if parts.username or parts.password:
        return "", "Give the username and password in their own fields, not in the address."
    if not _may_reach(host):
        return "", f"{host} is an address inside a private network; Salesdesk does not read it."
    return host, ""


def _may_reach(host: str) -> bool:
    """Whether a host resolves only to public addresses: the feed is fetched from the server, so
    an address must not reach into its own network (loopback, private, link-local, cloud
    metadata). Operators who serve calendars inside their network allow them with
    CALENDAR_PRIVATE_HOSTS. (A redirect to such an address, or DNS that changes its answer after
    this check, is not caught here.) A host that does not resolve is left to the fetch, which
    says so in its own words."""
    if settings.SALESDESK_CALENDAR_PRIVATE_HOSTS:
        return True
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return True
    for address in found:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            return False
    return True


def calendar_check(
    *, kind: str, url: str, username: str, password: str, timeout: float = CHECK_TIMEOUT
) -> list[dict]:
    """Read the calendar once, or raise ValidationFailed with what went wrong (never the
    password). Returns a CalDAV account's calendars ([{"url", "name"}]); [] for a feed."""
    try:
        if kind == KIND.ICS:
            fetch_feed(url, username=username, password=password, timeout=timeout)
            return []
        listed = caldav_calendars(CalDavSettings(url, username, password), timeout=timeout)
    except CalendarError as error:
        raise ValidationFailed(str(error), code="calendar_unreadable") from None
    if not listed:
        message = f"The account {username} has no calendars on this server."
        raise ValidationFailed(message, code="calendar_unreadable")
    return [{"url": calendar_url, "name": name} for calendar_url, name in listed]


def calendar_connect(
    *, user: User, fields: CalendarFields, password: str = "", check: bool = True
) -> CalendarConnection:
    """Connect a calendar: the periodic job syncs it within a minute (or at once, when the
    caller queues `tasks.request_calendar_sync`). A CalDAV account syncs all its calendars until
    its owner chooses some in its settings."""
    fields, host = _validated(fields, is_new=True)
    if fields.kind == KIND.CALDAV:
        if not password:
            raise ValidationFailed(
                "Enter the password.", fields={"password": "Enter the account's password."}
            )
        same = CalendarConnection.objects.filter(
            user=user, kind=KIND.CALDAV, url=fields.url, username__iexact=fields.username
        )
        if same.exists():
            raise Conflict(
                "You have connected this account already.",
                fields={"username": f"{fields.username} on {host} is connected already."},
            )
    listed = []
    if check:
        listed = calendar_check(
            kind=fields.kind, url=fields.url, username=fields.username, password=password
        )
    is_feed = fields.kind == KIND.ICS
    return CalendarConnection.objects.create(
        user=user,
        kind=fields.kind,
        name=fields.name,
        host=host,
        url="" if is_feed else fields.url,
        url_secret=secrets.encrypt(fields.url) if is_feed else "",
        username=fields.username,
        secret=secrets.encrypt(password) if password else "",
        available_calendars=listed,
        interval_minutes=fields.interval_minutes,
    )


@transaction.atomic
def calendar_update(
    *,
    connection: CalendarConnection,
    actor: User,
    fields: CalendarFields,
    password: str = "",
    check: bool = True,
) -> CalendarConnection:
    """Change a calendar's settings. An empty address or password keeps the saved one. Another
    address, account or choice of calendars starts over: what the calendar had captured stays,
    and nothing is removed for disappearing until the new calendar has been read once."""
    connection = _own(connection_id=connection.pk, actor=actor, lock=True)
    fields, host = _validated(dataclasses.replace(fields, kind=connection.kind), is_new=False)
    is_feed = connection.kind == KIND.ICS
    saved_url = secrets.decrypt(connection.url_secret) if is_feed else connection.url
    url = fields.url or saved_url
    changed = ["name", "interval_minutes"]
    reads_again = url != saved_url or fields.username != connection.username or bool(password)
    if reads_again:
        saved_password = secrets.decrypt(connection.secret) if connection.secret else ""
        if is_feed and not fields.username:
            password, saved_password = "", ""  # no username: no basic authentication
        listed = []
        if check:
            listed = calendar_check(
                kind=connection.kind,
                url=url,
                username=fields.username,
                password=password or saved_password,
            )
        if password or (is_feed and not fields.username):
            connection.secret = secrets.encrypt(password) if password else ""
        if url != saved_url:
            connection.host = host
            connection.url, connection.url_secret = (
                ("", secrets.encrypt(url)) if is_feed else (url, "")
            )
        connection.username = fields.username
        if not is_feed:
            connection.available_calendars = listed or connection.available_calendars
        changed += ["host", "url", "url_secret", "username", "secret", "available_calendars"]
    if fields.calendars is not None and not is_feed:
        known = {item["url"] for item in connection.available_calendars}
        unknown = [item for item in fields.calendars if item not in known]
        if unknown:
            raise ValidationFailed(
                "Choose among the account's calendars.",
                fields={"calendars": "Choose among the account's calendars."},
            )
        if sorted(fields.calendars) != sorted(connection.calendars):
            connection.calendars = sorted(fields.calendars)
            changed.append("calendars")
            reads_again = True
    if reads_again:
        # Another calendar: what disappears from it says nothing about what the old one held.
        connection.events.clear()
        if connection.state in (STATE.ERROR, STATE.OK):
            connection.state = STATE.NEW
        connection.last_error = ""
        changed += ["state", "last_error"]
    connection.name = fields.name
    connection.interval_minutes = fields.interval_minutes
    connection.save(update_fields=sorted(set(changed)))
    return connection


@transaction.atomic
def calendar_set_enabled(
    *, connection: CalendarConnection, actor: User, enabled: bool
) -> CalendarConnection:
    """Pause or resume syncing. Resuming reads the calendar as it is then."""
    connection = _own(connection_id=connection.pk, actor=actor, lock=True)
    update = ["enabled"]
    connection.enabled = enabled
    if not enabled and connection.state == STATE.SYNCING:
        # A sync under way notices at its next batch that its claim is gone and stops.
        connection.state = STATE.OK if connection.last_success_at else STATE.NEW
        update.append("state")
    connection.save(update_fields=update)
    return connection


@transaction.atomic
def calendar_delete(*, connection: CalendarConnection, actor: User) -> None:
    """Disconnect a calendar and forget its address and password. Its meetings stay."""
    _own(connection_id=connection.pk, actor=actor, lock=True).delete()


def calendar_request_sync(*, connection: CalendarConnection, actor: User) -> CalendarConnection:
    """Mark the calendar as asked to sync now: the periodic job syncs it within a minute even
    if the caller's queued task is lost."""
    connection = _own(connection_id=connection.pk, actor=actor)
    if not connection.enabled:
        raise ValidationFailed("This calendar is paused: resume it to sync it.", code="paused")
    CalendarConnection.objects.filter(pk=connection.pk).update(sync_requested_at=timezone.now())
    connection.refresh_from_db(fields=["sync_requested_at"])
    return connection


def _own(*, connection_id: int, actor: User, lock: bool = False) -> CalendarConnection:
    """Only its owner changes a calendar; to anyone else it does not exist."""
    rows = CalendarConnection.objects.filter(pk=connection_id, user=actor)
    if lock:
        rows = rows.select_for_update()
    connection = rows.first()
    if connection is None:
        raise NotFound("No such calendar.")
    return connection
