"""The Calendars page (Your account → Calendars): connecting an ICS feed or a CalDAV account with
a check before saving, settings, pause, sync now, disconnect; only the owner sees any of it."""

import pytest
from django.test import Client

from salesdesk.activities.models import Activity
from salesdesk.capture import calendar_services, secrets
from salesdesk.capture.calendar_services import CalendarFields
from salesdesk.capture.calendar_sync import sync_connection
from salesdesk.capture.models import CalendarConnection
from salesdesk.core.errors import ValidationFailed
from tests.capture.caldav_server import radicale_server  # noqa: F401 - pytest fixture
from tests.capture.feed_server import ics_feeds  # noqa: F401 - pytest fixture
from tests.capture.test_calendar_sync import NEXT_MEETING, PAST_MEETING, feed_connection
from tests.capture.test_meetings import ics

pytestmark = pytest.mark.django_db

FEED_PATH = "/calendar/ical/alice%40salesdesk.test/private-6f1c2e/basic.ics"


@pytest.fixture(autouse=True)
def _local_servers(settings):
    settings.SALESDESK_CALENDAR_PRIVATE_HOSTS = True  # the test servers are on 127.0.0.1


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def connect(client: Client, **fields):
    data = {"kind": "ics", "url": "", "username": "", "password": "", "interval_minutes": "15"}
    return client.post("/account/calendars/", {**data, **fields})


def test_connecting_a_feed_checks_it_saves_it_encrypted_and_syncs_it(
    cast,
    ics_feeds,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    url = ics_feeds.serve(FEED_PATH, ics(PAST_MEETING, NEXT_MEETING))

    with django_capture_on_commit_callbacks(execute=True):
        response = connect(signed_in(cast.alice), url=url, name="Work")

    assert response.status_code == 302
    connection = CalendarConnection.objects.get()
    assert (connection.user, connection.kind, connection.host, connection.url) == (
        cast.alice,
        "ics",
        "127.0.0.1",
        "",
    )
    assert "private-6f1c2e" not in connection.url_secret
    assert secrets.decrypt(connection.url_secret) == url
    assert (connection.state, connection.meetings_captured, connection.interval_minutes) == (
        "ok",
        2,
        15,
    )
    assert Activity.objects.filter(owner=cast.alice, kind="meeting").count() == 2
    assert ics_feeds.requests == [FEED_PATH, FEED_PATH]  # the check, then the first sync

    page = signed_in(cast.alice).get("/account/calendars/").content.decode()
    assert "Work" in page
    assert "private-6f1c2e" not in page
    edit = signed_in(cast.alice).get(f"/account/calendars/{connection.pk}/").content.decode()
    assert "private-6f1c2e" not in edit


@pytest.mark.parametrize(
    ("path", "serve", "message"),
    [
        ("/gone.ics", None, "There is no calendar at this address on 127.0.0.1 (HTTP 404)."),
        (
            "/page",
            {"body": b"<!doctype html><p>Sign in", "content_type": "text/html"},
            "does not return a calendar (iCalendar data) but something else",
        ),
        (
            "/locked.ics",
            {"body": b"", "credentials": "alice:pw"},
            "127.0.0.1 refused access to the calendar (HTTP 401)",
        ),
    ],
)
def test_a_feed_that_cannot_be_read_is_a_form_error_and_saves_nothing(
    cast,
    ics_feeds,  # noqa: F811
    path,
    serve,
    message,
):
    if serve:
        ics_feeds.serve(path, **serve)

    response = connect(
        signed_in(cast.alice), url=ics_feeds.url + path, username="alice", password="s3cret-pw"
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "s3cret-pw" not in page
    assert CalendarConnection.objects.count() == 0


def test_a_closed_port_is_a_form_error(cast):
    response = connect(signed_in(cast.alice), url="http://127.0.0.1:9/calendar.ics")

    assert "Could not reach 127.0.0.1" in response.content.decode()
    assert CalendarConnection.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": ""}, "url", "This field is required."),
        ({"url": "not a web address"}, "url", "This is not a web address."),
        ({"url": "ftp://example.com/cal.ics"}, "url", "must start with http://, https:// or"),
        ({"url": "file:///etc/passwd"}, "url", "must start with http://, https:// or"),
        ({"url": "https://bob:pw@example.com/cal.ics"}, "url", "in their own fields"),
        ({"url": "https://example.com:99999/cal.ics"}, "url", "not a valid web address"),
        ({"url": "https://example.com/", "interval_minutes": "7"}, "interval_minutes", "valid"),
        ({"url": "https://example.com/", "kind": "exchange"}, "kind", "valid choice"),
        ({"url": "https://dav.example.com/", "kind": "caldav"}, "username", "Enter the username"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_saves_nothing(cast, fields, field, message):
    response = connect(signed_in(cast.alice), **fields)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert CalendarConnection.objects.count() == 0


def test_addresses_inside_the_private_network_are_refused(cast, settings):
    settings.SALESDESK_CALENDAR_PRIVATE_HOSTS = False
    for url in ("http://127.0.0.1:8000/cal.ics", "http://169.254.169.254/latest/", "http://[::1]/"):
        response = connect(signed_in(cast.alice), url=url)

        assert "an address inside a private network" in " ".join(
            response.context["form"].errors["url"]
        )
    assert CalendarConnection.objects.count() == 0


def test_connecting_a_caldav_account_lists_its_calendars_to_choose_from(
    cast,
    radicale_server,  # noqa: F811
):
    work = radicale_server.make_calendar()
    client = signed_in(cast.alice)
    try:
        wrong = connect(
            client,
            kind="caldav",
            url=radicale_server.url,
            username="rep",
            password="hunter2-wrong",
        )
        assert "refused the user name or password" in wrong.content.decode()
        assert "hunter2-wrong" not in wrong.content.decode()
        assert CalendarConnection.objects.count() == 0

        right = connect(
            client, kind="caldav", url=radicale_server.url, username="rep", password="secret"
        )

        assert right.status_code == 302
        connection = CalendarConnection.objects.get()
        assert (connection.url, connection.username, connection.calendars) == (
            radicale_server.url,
            "rep",
            [],
        )
        assert secrets.decrypt(connection.secret) == "secret"
        work_url = next(c["url"] for c in connection.available_calendars if c["url"].endswith(work))

        page = client.get(f"/account/calendars/{connection.pk}/")
        assert "Calendars to sync" in page.content.decode()
        saved = client.post(
            f"/account/calendars/{connection.pk}/",
            {
                "url": radicale_server.url,
                "username": "rep",
                "interval_minutes": "30",
                "calendars": [work_url],
            },
        )
        assert saved.status_code == 302
        connection.refresh_from_db()
        assert (connection.calendars, connection.interval_minutes) == ([work_url], 30)

        refused = client.post(
            f"/account/calendars/{connection.pk}/",
            {
                "url": radicale_server.url,
                "username": "rep",
                "interval_minutes": "30",
                "calendars": ["http://elsewhere/"],
            },
        )
        assert refused.status_code == 200
        assert "calendars" in refused.context["form"].errors
        connection.refresh_from_db()
        assert connection.calendars == [work_url]
    finally:
        radicale_server.delete(work)


def test_editing_keeps_the_address_and_password_when_left_empty(cast, ics_feeds):  # noqa: F811
    url = ics_feeds.serve("/team.ics", ics(PAST_MEETING), credentials="alice:pw1")
    connection = feed_connection(cast.alice, url, username="alice", password="pw1")
    client = signed_in(cast.alice)

    kept = client.post(
        f"/account/calendars/{connection.pk}/",
        {"url": "", "username": "alice", "password": "", "name": "Team", "interval_minutes": "60"},
    )

    assert kept.status_code == 302
    connection.refresh_from_db()
    assert (connection.name, connection.interval_minutes) == ("Team", 60)
    assert secrets.decrypt(connection.url_secret) == url
    assert secrets.decrypt(connection.secret) == "pw1"
    assert ics_feeds.requests == []  # nothing that reads the calendar changed

    wrong = client.post(
        f"/account/calendars/{connection.pk}/",
        {"url": "", "username": "alice", "password": "nope-pw", "interval_minutes": "60"},
    )
    assert "refused access" in wrong.content.decode()
    connection.refresh_from_db()
    assert secrets.decrypt(connection.secret) == "pw1"


def test_another_address_is_checked_and_forgets_what_the_old_one_saw(cast, ics_feeds):  # noqa: F811
    old = feed_connection(cast.alice, ics_feeds.serve("/old.ics", ics(PAST_MEETING)))
    sync_connection(old.pk)
    assert old.events.count() == 1
    new_url = ics_feeds.serve("/new.ics", ics(NEXT_MEETING))

    calendar_services.calendar_update(
        connection=old,
        actor=cast.alice,
        fields=CalendarFields(kind="ics", url=new_url, interval_minutes=15),
    )

    old.refresh_from_db()
    assert secrets.decrypt(old.url_secret) == new_url
    assert (old.events.count(), old.state) == (0, "new")
    sync_connection(old.pk)
    assert Activity.objects.count() == 2  # the old feed's meeting stays


def test_sync_now_over_htmx_returns_the_row_and_it_polls_until_done(
    cast,
    ics_feeds,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    connection = feed_connection(cast.alice, ics_feeds.serve("/a.ics", ics(PAST_MEETING)))
    client = signed_in(cast.alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            f"/account/calendars/{connection.pk}/sync/", headers={"HX-Request": "true"}
        )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Sync queued" in body
    assert f'hx-get="/account/calendars/{connection.pk}/row/"' in body
    for callback in callbacks:
        callback()
    row = client.get(f"/account/calendars/{connection.pk}/row/").content.decode()
    assert "Up to date" in row
    assert "hx-get" not in row


def test_a_paused_calendar_cannot_sync_and_resumes(cast, ics_feeds):  # noqa: F811
    connection = feed_connection(cast.alice, ics_feeds.serve("/a.ics", ics(PAST_MEETING)))
    client = signed_in(cast.alice)

    client.post(f"/account/calendars/{connection.pk}/toggle/")
    connection.refresh_from_db()
    assert connection.enabled is False
    refused = client.post(
        f"/account/calendars/{connection.pk}/sync/", headers={"HX-Request": "true"}
    )
    assert (refused.status_code, refused.content.decode()) == (
        422,
        "This calendar is paused: resume it to sync it.",
    )
    assert ics_feeds.requests == []

    client.post(f"/account/calendars/{connection.pk}/toggle/")
    connection.refresh_from_db()
    assert connection.enabled is True


def test_disconnecting_keeps_the_meetings(cast, ics_feeds):  # noqa: F811
    connection = feed_connection(cast.alice, ics_feeds.serve("/a.ics", ics(PAST_MEETING)))
    sync_connection(connection.pk)
    client = signed_in(cast.alice)

    assert (
        "Disconnect" in client.get(f"/account/calendars/{connection.pk}/delete/").content.decode()
    )
    response = client.post(f"/account/calendars/{connection.pk}/delete/")

    assert response.status_code == 302
    assert CalendarConnection.objects.count() == 0
    assert Activity.objects.count() == 1


def test_nobody_else_sees_or_touches_a_calendar(cast, ics_feeds):  # noqa: F811
    connection = feed_connection(cast.alice, ics_feeds.serve("/a.ics", ics(PAST_MEETING)))
    before = CalendarConnection.objects.values().get()

    for user in (cast.admin, cast.manager, cast.bob):
        client = signed_in(user)
        assert (
            "Calendar feed on 127.0.0.1" not in client.get("/account/calendars/").content.decode()
        )
        for suffix in ("", "row/", "delete/"):
            assert client.get(f"/account/calendars/{connection.pk}/{suffix}").status_code == 404
        for suffix in ("", "sync/", "toggle/", "delete/"):
            response = client.post(
                f"/account/calendars/{connection.pk}/{suffix}",
                {"url": "http://127.0.0.1:1/x.ics", "interval_minutes": "5"},
            )
            assert response.status_code == 404

    assert CalendarConnection.objects.values().get() == before
    assert ics_feeds.requests == []
    with pytest.raises(Exception, match="No such calendar"):
        calendar_services.calendar_delete(connection=connection, actor=cast.bob)


def test_the_service_refuses_a_missing_password_for_caldav(cast):
    with pytest.raises(ValidationFailed) as refused:
        calendar_services.calendar_connect(
            user=cast.alice,
            fields=CalendarFields(kind="caldav", url="http://127.0.0.1:1/", username="rep"),
        )

    assert refused.value.fields == {"password": "Enter the account's password."}


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/account/calendars/")

    assert response.status_code == 302
    assert "/login" in response["Location"] or "sign" in response["Location"]
