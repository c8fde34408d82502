"""Open and click tracking: the endpoints mail programs call, and what the timeline shows."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from salesdesk.activities import selectors as activity_selectors
from salesdesk.capture import tracking
from salesdesk.capture.models import SentEmail, TrackedLink, TrackingEvent
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
)

pytestmark = pytest.mark.django_db


def tracked_email(owner, contact, *, urls=("https://globex.example/pricing",), subject="Pricing"):
    """A sent e-mail on the contact's timeline with its tokens, as `sending.email_send` makes
    it: (activity, open token, {url: click token})."""
    activity = ActivityFactory(
        kind="email", source="imap", direction="out", owner=owner, subject=subject
    )
    activity.contacts.add(contact)
    open_token, open_hash = tracking.new_token()
    sent = SentEmail.objects.create(
        activity=activity,
        sender=owner,
        message_id=f"{open_hash[:16]}@salesdesk.test",
        open_token=open_hash,
        tracks_clicks=True,
    )
    clicks = {}
    for position, url in enumerate(urls):
        token, hashed = tracking.new_token()
        TrackedLink.objects.create(email=sent, url=url, token=hashed, position=position)
        clicks[url] = token
    return activity, open_token, clicks


@pytest.fixture
def ada(cast):
    company = CompanyFactory(name="Globex", owner=cast.alice)
    contact = ContactFactory(
        first_name="Ada", last_name="Lovelace", company=company, owner=cast.alice
    )
    ContactEmailFactory(contact=contact, email="ada@globex.com")
    return contact


def test_the_pixel_records_an_open_and_answers_a_gif_that_is_never_cached(
    cast, ada, django_assert_num_queries
):
    activity, token, _clicks = tracked_email(cast.alice, ada)

    with django_assert_num_queries(2):  # the message by its token's hash, the open
        response = Client().get(f"/e/o/{token}.gif")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content == tracking.PIXEL
    assert response.content.startswith(b"GIF89a\x01\x00\x01\x00")
    assert response["Cache-Control"] == "no-store, no-cache, must-revalidate, max-age=0"
    assert (response["Pragma"], response["Expires"]) == ("no-cache", "0")
    assert "Set-Cookie" not in response
    [event] = TrackingEvent.objects.all()
    assert (event.email.activity, event.kind, event.link) == (activity, "open", None)


@pytest.mark.parametrize("token", ["A" * 32, "unknown", "x" * 200, "%00", "A" * 31 + "!", "a.b"])
def test_an_unknown_or_malformed_token_gets_the_very_same_image(cast, ada, token):
    _activity, known, _clicks = tracked_email(cast.alice, ada)
    client = Client()
    answer = client.get(f"/e/o/{known}.gif")

    response = client.get(f"/e/o/{token}.gif")

    assert response.status_code == answer.status_code == 200
    assert response.content == answer.content
    assert dict(response.headers) == dict(answer.headers)
    assert TrackingEvent.objects.count() == 1  # the known one only


def test_a_head_request_records_nothing(cast, ada):
    _activity, token, clicks = tracked_email(cast.alice, ada)

    pixel = Client().head(f"/e/o/{token}.gif")
    link = Client().head(f"/e/c/{clicks['https://globex.example/pricing']}")

    assert (pixel.status_code, link.status_code) == (200, 302)
    assert TrackingEvent.objects.count() == 0


def test_a_tracked_link_records_the_click_and_redirects(cast, ada, django_assert_num_queries):
    activity, _token, clicks = tracked_email(
        cast.alice, ada, urls=("https://globex.example/pricing?plan=team&seats=40",)
    )
    token = clicks["https://globex.example/pricing?plan=team&seats=40"]

    with django_assert_num_queries(2):  # the link by its token's hash, the click
        response = Client().get(f"/e/c/{token}")

    assert response.status_code == 302
    assert response["Location"] == "https://globex.example/pricing?plan=team&seats=40"
    assert response["Cache-Control"] == "no-store"
    [event] = TrackingEvent.objects.all()
    assert (event.email.activity, event.kind, event.link.url) == (
        activity,
        "click",
        "https://globex.example/pricing?plan=team&seats=40",
    )


@pytest.mark.parametrize("token", ["A" * 32, "nope", "x" * 500])
def test_an_unknown_link_is_a_plain_404_that_says_nothing_about_tokens(cast, ada, token):
    tracked_email(cast.alice, ada)

    response = Client().get(f"/e/c/{token}")

    assert response.status_code == 404
    page = response.content.decode()
    assert "This page does not exist, or you cannot see it." in page
    assert "token" not in page.lower().replace("x-csrftoken", "")
    assert token not in page
    assert TrackingEvent.objects.count() == 0


def test_the_endpoints_refuse_other_methods(cast, ada):
    _activity, token, clicks = tracked_email(cast.alice, ada)

    assert Client().post(f"/e/o/{token}.gif").status_code == 405
    assert Client().post(f"/e/c/{clicks['https://globex.example/pricing']}").status_code == 405
    assert TrackingEvent.objects.count() == 0


def test_a_token_is_long_random_and_stored_only_hashed():
    token, hashed = tracking.new_token()

    assert len(token) == 32  # 24 random bytes: 192 bits
    assert hashed == tracking.token_hash(token) != token
    assert len({tracking.new_token()[0] for _ in range(100)}) == 100


# On the timeline


def test_the_timeline_shows_opens_and_clicks(cast, ada):
    activity, token, clicks = tracked_email(
        cast.alice, ada, urls=("https://globex.example/pricing", "https://globex.example/terms")
    )
    visitor = Client()
    for _ in range(3):
        visitor.get(f"/e/o/{token}.gif")
    for _ in range(2):
        visitor.get(f"/e/c/{clicks['https://globex.example/pricing']}")
    last_open = TrackingEvent.objects.filter(kind="open").latest("at").at
    alice = Client()
    alice.force_login(cast.alice)

    page = alice.get(f"/contacts/{ada.pk}/").content.decode()

    entry = page[page.index(f'id="activity-{activity.pk}"') :]
    entry = entry[: entry.index("</li>")]
    assert "Sent from Salesdesk" in entry
    assert f'Opened 3 times, last <time datetime="{timezone.localtime(last_open).isoformat()}"' in (
        entry
    )
    assert 'Clicked <a href="https://globex.example/pricing" rel="noopener noreferrer">' in entry
    assert "https://globex.example/pricing</a> 2 times, last" in entry
    assert "terms" not in entry  # never clicked


def test_an_untouched_tracked_email_says_so(cast, ada):
    tracked_email(cast.alice, ada)
    alice = Client()
    alice.force_login(cast.alice)

    page = alice.get(f"/contacts/{ada.pk}/").content.decode()

    assert "Not opened yet" in page
    assert "No link clicked yet" in page


def test_the_clicked_address_stays_private_with_the_text_of_the_email(cast, ada):
    cast.alice.email_text_shared = False
    cast.alice.save(update_fields=["email_text_shared"])
    _activity, _token, clicks = tracked_email(cast.alice, ada)
    Client().get(f"/e/c/{clicks['https://globex.example/pricing']}")
    manager = Client()
    manager.force_login(cast.manager)

    page = manager.get(f"/contacts/{ada.pk}/").content.decode()

    assert "Clicked a link 1 time" in page
    assert "globex.example/pricing" not in page


def test_the_timeline_costs_the_same_queries_however_many_tracked_emails(
    cast, ada, django_assert_num_queries
):
    def timeline_queries() -> int:
        activity_selectors.timeline(actor=cast.alice, contact_id=ada.pk)  # settings read once
        with django_assert_num_queries(3) as captured:  # activities, their contacts, links
            entries, _more = activity_selectors.timeline(actor=cast.alice, contact_id=ada.pk)
            shown = [
                (
                    entry.activity.open_count,
                    entry.activity.last_opened_at,
                    [
                        (link.url, link.click_count)
                        for link in entry.activity.sent_email.clicked_links
                    ],
                )
                for entry in entries
            ]
        assert len(shown) == len(entries)
        return len(captured)

    _activity, token, clicks = tracked_email(cast.alice, ada)
    Client().get(f"/e/o/{token}.gif")
    one = timeline_queries()
    for number in range(9):
        _activity, token, clicks = tracked_email(cast.alice, ada, subject=f"Mail {number}")
        Client().get(f"/e/o/{token}.gif")
        Client().get(f"/e/c/{clicks['https://globex.example/pricing']}")

    assert timeline_queries() == one


def test_a_timeline_without_sent_emails_costs_no_more_than_before(
    cast, ada, django_assert_num_queries
):
    call = ActivityFactory(kind="call", owner=cast.alice, occurred_at=timezone.now())
    call.contacts.add(ada)
    ActivityFactory(
        kind="note", owner=cast.alice, occurred_at=timezone.now() - datetime.timedelta(hours=1)
    ).contacts.add(ada)

    activity_selectors.timeline(actor=cast.alice, contact_id=ada.pk)  # settings read once
    with django_assert_num_queries(2):  # activities, their contacts
        entries, _more = activity_selectors.timeline(actor=cast.alice, contact_id=ada.pk)

    assert [entry.activity.open_count for entry in entries] == [0, 0]
