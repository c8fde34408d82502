"""Reading calendars: ICS files and feeds, and CalDAV servers. No database here.

Everything ends up as `ParsedEvent`s, one per occurrence inside a time window: recurring events are
expanded, moved and cancelled occurrences carry the RECURRENCE-ID of the occurrence they replace, so
`external_id` (UID + "/" + recurrence id) names the same occurrence in every file, feed and server
and an update or a cancellation lands on the activity that the first import created.

Calendar data is messy (Outlook's Windows time-zone names, floating times, truncated downloads,
missing UIDs), so parsing never raises on bad data: what could not be read is returned as a list of
problems next to the events that could.
"""

import base64
import datetime
import hashlib
import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection
from dataclasses import dataclass, field

import caldav
import icalendar
import recurring_ical_events
from caldav.lib import error as caldav_error

from salesdesk.capture.message import Address

MAX_DESCRIPTION = 5_000  # characters; meeting notes beyond this are agenda pastes, not signal
MAX_TEXT = 500  # summary and location
# Conference rooms and equipment are attendees in calendar terms, but never contacts.
RESOURCE_TYPES = {"ROOM", "RESOURCE"}
RESOURCE_DOMAINS = ("resource.calendar.google.com",)
TIME_PROPERTIES = {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}


class CalendarError(Exception):
    """A calendar could not be read at all. The message is meant for the user: it names the host,
    never the password or the secret path of a private feed."""


@dataclass
class ParsedEvent:
    uid: str
    recurrence_id: str  # ISO start (UTC) of the occurrence this one is or replaces; "" if single
    sequence: int  # occurrences of a series carry the highest SEQUENCE of any of its parts
    start: datetime.datetime  # aware, UTC; midnight UTC of the date for all-day events
    end: datetime.datetime
    all_day: bool = False
    summary: str = ""
    description: str = ""  # plain text, at most MAX_DESCRIPTION characters
    location: str = ""
    organizer: Address | None = None
    attendees: list[Address] = field(default_factory=list)  # people only, each e-mail once
    partstat: dict[str, str] = field(default_factory=dict)  # e-mail -> ACCEPTED, DECLINED...
    cancelled: bool = False  # STATUS:CANCELLED, or the file is a METHOD:CANCEL message

    @property
    def external_id(self) -> str:
        return f"{self.uid}/{self.recurrence_id}"


def parse_ics(
    data: bytes, *, window_start: datetime.datetime, window_end: datetime.datetime
) -> tuple[list[ParsedEvent], list[str]]:
    """The events of an iCalendar file that happen in [window_start, window_end), recurring ones
    expanded, sorted by start. Returns (events, problems); never raises on bad data.

    A cancellation sent for a whole series (METHOD:CANCEL without RECURRENCE-ID) yields its
    occurrences inside the window, each cancelled. If the same occurrence appears more than once
    (several VCALENDARs, a feed with duplicates), the highest SEQUENCE wins, then the last one.
    """
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise ValueError("the window must be given as aware datetimes")
    problems: list[str] = []
    if not data or not data.strip():
        return [], ["The calendar file is empty."]
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except (ValueError, KeyError, IndexError, TypeError) as error:
        return [], [f"Not a readable iCalendar file: {_short(error)}"]
    calendars = [c for c in calendars if c.name == "VCALENDAR"]
    if not calendars:
        return [], ["No complete calendar in the file (no BEGIN:VCALENDAR … END:VCALENDAR)."]

    latest: dict[str, ParsedEvent] = {}
    for calendar in calendars:
        for event in _calendar_events(calendar, window_start, window_end, problems):
            known = latest.get(event.external_id)
            if known is None or event.sequence >= known.sequence:
                latest[event.external_id] = event
    events = sorted(latest.values(), key=lambda e: (e.start, e.uid, e.recurrence_id))
    return events, problems


def _calendar_events(
    calendar: icalendar.Calendar,
    window_start: datetime.datetime,
    window_end: datetime.datetime,
    problems: list[str],
) -> list[ParsedEvent]:
    is_cancel = str(calendar.get("METHOD", "")).strip().upper() == "CANCEL"
    recurring_uids: set[str] = set()
    usable = []
    for component in calendar.subcomponents:
        if component.name != "VEVENT":
            usable.append(component)
            continue
        for name, message in getattr(component, "errors", []):
            problems.append(f"Event {_uid_for_messages(component)}: unreadable {name} ({message}).")
            if name not in TIME_PROPERTIES and name in component:
                del component[name]  # a broken SEQUENCE or STATUS must not sink the whole file
        if not isinstance(_decoded(component, "DTSTART"), datetime.date):
            problems.append(f"Event {_uid_for_messages(component)} has no start date; skipped.")
            continue
        if not str(component.get("UID", "")).strip():
            # No UID, no stable key: derive one from what identifies the meeting.
            fingerprint = f"{component.get('DTSTART').to_ical()!r}|{component.get('SUMMARY', '')}"
            component["UID"] = "sha1-" + hashlib.sha1(fingerprint.encode()).hexdigest()  # noqa: S324
            problems.append(f"An event without UID ({component.get('SUMMARY', '')!s}) got one.")
        if any(key in component for key in ("RRULE", "RDATE", "RECURRENCE-ID")):
            recurring_uids.add(str(component["UID"]).strip())
        usable.append(component)
    calendar.subcomponents = usable

    occurrences = _expand(calendar, window_start, window_end, problems)
    events, floating = [], 0
    for component in occurrences:
        try:
            event, is_floating = _event(component, recurring_uids, is_cancel)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            problems.append(f"Event {_uid_for_messages(component)} skipped: {_short(error)}")
            continue
        floating += is_floating
        events.append(event)
    if floating:
        problems.append(
            f"{floating} event(s) had no known time zone (floating times or an unknown TZID); "
            "their times were read as UTC."
        )
    return events


def _expand(
    calendar: icalendar.Calendar,
    window_start: datetime.datetime,
    window_end: datetime.datetime,
    problems: list[str],
) -> list[icalendar.Event]:
    """Occurrences in the window. When one series breaks the expansion, each series is expanded
    on its own so that the others still come through."""
    try:
        return list(recurring_ical_events.of(calendar).between(window_start, window_end))
    except Exception:  # noqa: S110 - retried series by series below, which reports it
        pass
    others = [c for c in calendar.subcomponents if c.name != "VEVENT"]
    series: dict[str, list] = {}
    for component in calendar.subcomponents:
        if component.name == "VEVENT":
            series.setdefault(str(component["UID"]).strip(), []).append(component)
    occurrences = []
    for uid, components in series.items():
        single = icalendar.Calendar()
        for name, value in calendar.items():  # METHOD, X-WR-TIMEZONE
            single[name] = value
        single.subcomponents = others + components
        try:
            occurrences.extend(recurring_ical_events.of(single).between(window_start, window_end))
        except Exception as error:  # any library error: report, go on
            problems.append(f"Event {uid[:80]!r} could not be expanded: {_short(error)}")
    return occurrences


def _event(
    component: icalendar.Event, recurring_uids: set[str], is_cancel: bool
) -> tuple[ParsedEvent, bool]:
    uid = str(component["UID"]).strip()
    raw_start = _decoded(component, "DTSTART")
    raw_end = _decoded(component, "DTEND") or raw_start
    all_day = not isinstance(raw_start, datetime.datetime)
    start, start_floating = _utc(raw_start)
    end, end_floating = _utc(raw_end)
    if end < start or (all_day and end == start):
        end = start + datetime.timedelta(days=1) if all_day else start

    recurrence_id = ""
    if uid in recurring_uids and "RECURRENCE-ID" in component:
        raw_original = _decoded(component, "RECURRENCE-ID")
        original, _ = _utc(raw_original)
        is_date = not isinstance(raw_original, datetime.datetime)
        recurrence_id = original.date().isoformat() if is_date else original.isoformat()

    attendees, partstat = [], {}
    for value in _as_list(component.get("ATTENDEE")):
        address = _address(value)
        if address is None or address.email in partstat or _is_resource(value, address):
            continue
        attendees.append(address)
        partstat[address.email] = str(value.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    organizer = _address(component.get("ORGANIZER")) if component.get("ORGANIZER") else None

    try:
        sequence = int(component.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        sequence = 0
    event = ParsedEvent(
        uid=uid,
        recurrence_id=recurrence_id,
        sequence=sequence,
        start=start,
        end=end,
        all_day=all_day,
        summary=_text(component.get("SUMMARY"), MAX_TEXT),
        description=_text(component.get("DESCRIPTION"), MAX_DESCRIPTION),
        location=_text(component.get("LOCATION"), MAX_TEXT),
        organizer=organizer,
        attendees=attendees,
        partstat=partstat,
        cancelled=is_cancel or str(component.get("STATUS", "")).strip().upper() == "CANCELLED",
    )
    return event, start_floating or end_floating


def _decoded(component, name: str):
    try:
        return component.decoded(name)
    except (KeyError, ValueError, TypeError):
        return None


def _utc(value: datetime.date) -> tuple[datetime.datetime, bool]:
    """UTC datetime of a DATE or DATE-TIME, and whether it was floating (read as UTC)."""
    if not isinstance(value, datetime.datetime):
        return datetime.datetime.combine(value, datetime.time(), tzinfo=datetime.UTC), False
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=datetime.UTC), True
    return value.astimezone(datetime.UTC), False


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _address(value) -> Address | None:
    """mailto: address of an ATTENDEE/ORGANIZER; Apple writes urn:uuid values with an EMAIL
    parameter instead."""
    params = getattr(value, "params", {})
    email = str(params.get("EMAIL", "")).strip()
    if not email:
        text = str(value).strip()
        if text.lower().startswith("mailto:"):
            email = text[len("mailto:") :]
    email = email.strip().strip("<>").lower()
    if "@" not in email or " " in email:
        return None
    name = str(params.get("CN", "")).strip().strip('"').strip()
    return Address(email=email, name="" if name.lower() == email else name)


def _is_resource(value, address: Address) -> bool:
    cutype = str(value.params.get("CUTYPE", "")).upper()
    return cutype in RESOURCE_TYPES or address.email.endswith(RESOURCE_DOMAINS)


def _text(value, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # a repeated property: the first one counts
        value = value[0] if value else ""
    text = str(value).replace("\x00", "").replace("\r\n", "\n").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _uid_for_messages(component) -> str:
    uid = str(component.get("UID", "")).strip()
    return repr(uid[:80]) if uid else "(no UID)"


def _short(error: BaseException) -> str:
    text = str(error).replace("\x00", "").strip() or type(error).__name__
    return text if len(text) <= 200 else text[:199] + "…"


# -- ICS feeds ---------------------------------------------------------------------------------

HTTP_SCHEMES = ("http", "https")
REDIRECT_REFUSED = "The calendar address redirects to something that is not a web page."


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme.lower() not in HTTP_SCHEMES:
            raise CalendarError(REDIRECT_REFUSED)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    """Only HTTP(S): no file://, ftp:// or data: handlers for a server that may be redirected."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _HttpOnlyRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def fetch_ics_url(url: str, *, timeout: float = 20, max_bytes: int = 20_000_000) -> bytes:
    """Download an ICS feed. webcal:// (how Apple and Google share feeds) is read as https://;
    user:password@ in the address becomes basic authentication. Raises CalendarError."""
    url = (url or "").strip()
    try:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        username, password = parts.username, parts.password
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise CalendarError("This is not a valid calendar address.") from None
    if scheme in ("webcal", "webcals"):
        scheme = "https"
    if scheme not in HTTP_SCHEMES:
        raise CalendarError(
            "Only http://, https:// and webcal:// calendar addresses are supported."
        )
    if not host:
        raise CalendarError("The calendar address has no host name.")
    netloc = parts.netloc.rpartition("@")[2]
    clean_url = urllib.parse.urlunsplit((scheme, netloc, parts.path, parts.query, ""))
    headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "Salesdesk calendar sync"}
    if username:
        credentials = f"{urllib.parse.unquote(username)}:{urllib.parse.unquote(password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    request = urllib.request.Request(clean_url, headers=headers)  # noqa: S310 - scheme checked
    try:
        with _opener().open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise _too_large(host, max_bytes)
            body = response.read(max_bytes + 1)
    except CalendarError:
        raise
    except urllib.error.HTTPError as error:
        raise CalendarError(_http_error_message(host, error.code)) from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            raise CalendarError(f"{host} did not answer within {timeout:g} seconds.") from None
        raise CalendarError(f"Could not reach {host}: {_short(OSError(reason))}.") from None
    except TimeoutError:
        raise CalendarError(f"{host} did not answer within {timeout:g} seconds.") from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise CalendarError(f"Could not read the calendar from {host}: {_short(error)}.") from None
    if len(body) > max_bytes:
        raise _too_large(host, max_bytes)
    return body


def _too_large(host: str, max_bytes: int) -> CalendarError:
    return CalendarError(f"The calendar at {host} is larger than {max_bytes // 1_000_000} MB.")


def _http_error_message(host: str, code: int) -> str:
    if 300 <= code < 400:  # urllib refuses file:// and loops before our handler sees them
        return REDIRECT_REFUSED
    if code in (401, 403):
        return f"{host} refused access to the calendar (HTTP {code}): check the address or its key."
    if code in (404, 410):
        return f"There is no calendar at this address on {host} (HTTP {code})."
    return f"{host} answered with an error (HTTP {code})."


# -- CalDAV ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalDavSettings:
    url: str
    username: str
    password: str = field(repr=False)


def caldav_events(
    settings: CalDavSettings,
    *,
    window_start: datetime.datetime,
    window_end: datetime.datetime,
    timeout: float = 20,
    calendars: Collection[str] = (),
) -> tuple[list[ParsedEvent], list[str]]:
    """The events in the window of every calendar of the principal (or of the `calendars` given
    by their URLs, as `caldav_calendars` lists them), expanded like `parse_ics`.

    The server is asked only for the objects that touch the window; recurrences are expanded here
    (not by the server) so that occurrence keys are the same as for an ICS feed of the same
    calendar. The result is complete or the call raises CalendarError: a caller may treat an
    occurrence that disappeared from the window as deleted on the server. A chosen calendar that
    is no longer on the server is such an error too.
    """
    host = _caldav_host(settings)
    latest: dict[str, ParsedEvent] = {}
    problems: list[str] = []
    chosen, read = set(calendars), set()
    try:
        with caldav.DAVClient(
            url=settings.url.strip(),
            username=settings.username,
            password=settings.password,
            timeout=timeout,
        ) as client:
            for calendar in client.principal().calendars():
                if chosen and str(calendar.url) not in chosen:
                    continue
                read.add(str(calendar.url))
                found = calendar.search(
                    start=window_start, end=window_end, event=True, post_filter=False
                )
                for item in found:
                    data = item.data
                    data = data.encode() if isinstance(data, str) else (data or b"")
                    events, item_problems = parse_ics(
                        data, window_start=window_start, window_end=window_end
                    )
                    if item_problems:
                        name = _calendar_name(calendar)
                        problems.extend(f"{name}: {problem}" for problem in item_problems)
                    for event in events:  # one event shared into two calendars counts once
                        known = latest.get(event.external_id)
                        if known is None or event.sequence >= known.sequence:
                            latest[event.external_id] = event
    except Exception as error:
        raise _caldav_error(error, host, settings.password) from None
    if chosen - read:
        raise CalendarError(
            f"{len(chosen - read)} of the chosen calendars are no longer on {host}: choose the "
            "calendars to sync again."
        )
    events = sorted(latest.values(), key=lambda e: (e.start, e.uid, e.recurrence_id))
    return events, problems


def caldav_calendars(settings: CalDavSettings, *, timeout: float = 20) -> list[tuple[str, str]]:
    """(URL, display name) of every calendar of the principal, to choose from. Raises
    CalendarError."""
    host = _caldav_host(settings)
    try:
        with caldav.DAVClient(
            url=settings.url.strip(),
            username=settings.username,
            password=settings.password,
            timeout=timeout,
        ) as client:
            return [
                (str(calendar.url), _calendar_name(calendar)[:200])
                for calendar in client.principal().calendars()
            ]
    except Exception as error:
        raise _caldav_error(error, host, settings.password) from None


def _caldav_host(settings: CalDavSettings) -> str:
    try:
        parts = urllib.parse.urlsplit(settings.url.strip())
        host = parts.hostname or ""
    except ValueError:
        raise CalendarError("This is not a valid CalDAV address.") from None
    if parts.scheme.lower() not in HTTP_SCHEMES or not host:
        raise CalendarError("The CalDAV address must start with http:// or https:// and a host.")
    return host


def _caldav_error(error: Exception, host: str, password: str) -> CalendarError:
    if isinstance(error, CalendarError):
        return error
    if isinstance(error, caldav_error.AuthorizationError):
        return CalendarError(f"{host} refused the user name or password for the calendar.")
    if isinstance(error, caldav_error.NotFoundError):
        return CalendarError(f"There is no CalDAV calendar at this address on {host}.")
    message = _short(error)
    if password:
        message = message.replace(password, "***")
    return CalendarError(f"Could not read the calendars on {host}: {message}")


def _calendar_name(calendar) -> str:
    try:
        return str(calendar.get_display_name() or calendar.url)
    except Exception:
        return str(calendar.url)
