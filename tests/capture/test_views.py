"""The mailbox pages of "Your account", against a real Dovecot (servers.py)."""

import pytest
from django.test import Client

from salesdesk.activities.models import Activity
from salesdesk.capture import secrets
from salesdesk.capture.models import Mailbox, MailboxFolder
from salesdesk.capture.sync import sync_mailbox
from tests.capture.test_sync import connect_mailbox, inbound, outbound
from tests.factories import UserFactory


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@salesdesk.test", full_name="Alice East")


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def form_data(dovecot, login: str, **changes) -> dict:
    data = {
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "none",
        "username": login,
        "password": dovecot.passwords[login],
        "interval_minutes": "5",
        "first_sync_days": "",
    }
    return {**data, **changes}


@pytest.mark.django_db
def test_connecting_a_mailbox_checks_the_login_saves_it_encrypted_and_syncs_it(
    dovecot, imap_user, alice, alice_client, django_capture_on_commit_callbacks
):
    dovecot.append(imap_user, "INBOX", inbound(1))
    dovecot.append(imap_user, "Sent", outbound(1))

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/account/mailboxes/", form_data(dovecot, imap_user))

    assert response.status_code == 302
    mailbox = Mailbox.objects.get(user=alice)
    assert (mailbox.host, mailbox.port, mailbox.username) == (dovecot.host, dovecot.port, imap_user)
    assert mailbox.first_sync_days is None
    assert "secret" not in mailbox.secret
    assert secrets.decrypt(mailbox.secret) == "secret"
    assert mailbox.state == Mailbox.State.OK  # the queued sync ran after the commit
    assert mailbox.messages_captured == 2
    assert Activity.objects.filter(owner=alice, kind="email").count() == 2

    page = alice_client.get("/account/mailboxes/").content.decode()
    assert imap_user in page
    assert "Up to date" in page
    assert "secret" not in page  # the password is never shown again


@pytest.mark.django_db
def test_a_wrong_password_is_a_form_error_and_saves_nothing(dovecot, imap_user, alice_client):
    response = alice_client.post(
        "/account/mailboxes/", form_data(dovecot, imap_user, password="wrong")
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert f"refused the login for {imap_user}" in page
    assert "wrong" not in page.replace("went wrong", "")
    assert Mailbox.objects.count() == 0


@pytest.mark.django_db
def test_a_closed_port_is_a_form_error(dovecot, imap_user, alice_client):
    from tests.capture.servers import free_port

    response = alice_client.post(
        "/account/mailboxes/", form_data(dovecot, imap_user, port=free_port())
    )

    assert response.status_code == 200
    assert "refused the connection" in response.content.decode()
    assert Mailbox.objects.count() == 0


@pytest.mark.django_db
def test_bad_fields_are_shown_next_to_them(alice_client):
    response = alice_client.post(
        "/account/mailboxes/",
        {
            "host": "imap example.com",
            "port": "70000",
            "security": "rot13",
            "username": "",
            "password": "",
            "interval_minutes": "7",
            "first_sync_days": "12",
        },
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {
        "port",
        "security",
        "username",
        "password",
        "interval_minutes",
        "first_sync_days",
    }
    assert Mailbox.objects.count() == 0


@pytest.mark.django_db
def test_a_host_with_a_space_is_refused_by_the_service(alice_client):
    response = alice_client.post(
        "/account/mailboxes/",
        {
            "host": "imap example.com",
            "port": "993",
            "security": "ssl",
            "username": "me",
            "password": "x",
            "interval_minutes": "5",
            "first_sync_days": "",
        },
    )

    assert response.context["form"].errors == {
        "host": ["Enter the server's host name, such as imap.example.com."]
    }
    assert Mailbox.objects.count() == 0


@pytest.mark.django_db
def test_the_same_mailbox_twice_is_refused(dovecot, imap_user, alice, alice_client):
    connect_mailbox(dovecot, imap_user, alice)

    response = alice_client.post(
        "/account/mailboxes/", form_data(dovecot, imap_user, username=imap_user.upper())
    )

    assert "is connected already" in response.content.decode()
    assert Mailbox.objects.count() == 1


@pytest.mark.django_db
def test_sync_now_over_htmx_queues_a_sync_and_the_row_polls_until_it_is_done(
    dovecot, imap_user, alice, alice_client, django_capture_on_commit_callbacks
):
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    sync_mailbox(mailbox.pk)
    dovecot.append(imap_user, "INBOX", inbound(2))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(
            f"/account/mailboxes/{mailbox.pk}/sync/", HTTP_HX_REQUEST="true"
        )
    row = response.content.decode()
    assert response.status_code == 200
    assert "Sync queued" in row
    assert 'hx-trigger="every 3s"' in row

    for callback in callbacks:
        callback()
    row = alice_client.get(f"/account/mailboxes/{mailbox.pk}/row/").content.decode()
    assert "Up to date" in row
    assert "hx-trigger" not in row
    assert Activity.objects.filter(subject="Question 2").count() == 1


@pytest.mark.django_db
def test_a_paused_mailbox_cannot_sync_and_resumes(dovecot, imap_user, alice, alice_client):
    mailbox = connect_mailbox(dovecot, imap_user, alice)

    alice_client.post(f"/account/mailboxes/{mailbox.pk}/toggle/")
    mailbox.refresh_from_db()
    assert mailbox.enabled is False
    response = alice_client.post(f"/account/mailboxes/{mailbox.pk}/sync/", HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "paused" in response.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.sync_requested_at is None

    alice_client.post(f"/account/mailboxes/{mailbox.pk}/toggle/")
    mailbox.refresh_from_db()
    assert mailbox.enabled is True


@pytest.mark.django_db
def test_editing_keeps_the_password_when_left_empty(dovecot, imap_user, alice, alice_client):
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    saved = mailbox.secret

    response = alice_client.post(
        f"/account/mailboxes/{mailbox.pk}/",
        form_data(dovecot, imap_user, password="", interval_minutes="60"),
    )

    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.interval_minutes == 60
    assert mailbox.secret == saved


@pytest.mark.django_db
def test_a_new_password_is_checked_and_clears_the_error(dovecot, imap_user, alice, alice_client):
    mailbox = connect_mailbox(
        dovecot, imap_user, alice, state=Mailbox.State.ERROR, last_error="refused the login"
    )

    wrong = alice_client.post(
        f"/account/mailboxes/{mailbox.pk}/", form_data(dovecot, imap_user, password="nope")
    )
    assert "refused the login" in wrong.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.ERROR

    right = alice_client.post(f"/account/mailboxes/{mailbox.pk}/", form_data(dovecot, imap_user))
    assert right.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.state, mailbox.last_error) == (Mailbox.State.NEW, "")


@pytest.mark.django_db
def test_another_account_starts_over_without_duplicates(dovecot, imap_user, alice, alice_client):
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    dovecot.append(imap_user, "INBOX", inbound(3))
    sync_mailbox(mailbox.pk)
    assert MailboxFolder.objects.filter(mailbox=mailbox).count() == 1
    other = dovecot.new_user()
    dovecot.append(other, "INBOX", inbound(3), inbound(4))  # one message in both

    alice_client.post(f"/account/mailboxes/{mailbox.pk}/", form_data(dovecot, other))
    assert MailboxFolder.objects.filter(mailbox=mailbox).count() == 0
    sync_mailbox(mailbox.pk)

    assert Activity.objects.filter(kind="email").count() == 2


@pytest.mark.django_db
def test_disconnecting_keeps_what_was_captured(dovecot, imap_user, alice, alice_client):
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    dovecot.append(imap_user, "INBOX", inbound(5))
    sync_mailbox(mailbox.pk)

    confirm = alice_client.get(f"/account/mailboxes/{mailbox.pk}/delete/")
    assert "1 e-mail it logged" in confirm.content.decode()
    alice_client.post(f"/account/mailboxes/{mailbox.pk}/delete/")

    assert Mailbox.objects.count() == 0
    assert Activity.objects.filter(kind="email").count() == 1


@pytest.mark.django_db
def test_nobody_else_sees_or_touches_a_mailbox(dovecot, imap_user, cast):
    mailbox = connect_mailbox(dovecot, imap_user, cast.alice)
    admin = Client()
    admin.force_login(cast.admin)

    assert imap_user not in admin.get("/account/mailboxes/").content.decode()
    for path in ("", "row/", "delete/"):
        assert admin.get(f"/account/mailboxes/{mailbox.pk}/{path}").status_code == 404
    for path in ("", "sync/", "toggle/", "delete/"):
        response = admin.post(
            f"/account/mailboxes/{mailbox.pk}/{path}", form_data(dovecot, imap_user)
        )
        assert response.status_code == 404
    mailbox.refresh_from_db()
    assert (mailbox.enabled, mailbox.sync_requested_at) == (True, None)


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/account/mailboxes/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# Who reads the text of captured e-mails


@pytest.fixture
def shared_and_private(cast):
    """An e-mail captured by alice, on a deal her manager and the admin see."""
    from tests.factories import ActivityFactory, CompanyFactory

    company = CompanyFactory(name="Globex", owner=cast.alice)
    email = ActivityFactory(
        kind="email",
        source="imap",
        owner=cast.alice,
        company=company,
        subject="Pricing for 40 seats",
        body="Our budget is 12,000 EUR, do not tell procurement.",
    )
    note = ActivityFactory(
        kind="note", owner=cast.alice, company=company, body="A note everyone reads."
    )
    return company, email, note


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_user_keeps_the_text_of_their_captured_emails_private(cast, shared_and_private):
    company, email, _note = shared_and_private
    alice, manager = signed_in(cast.alice), signed_in(cast.manager)
    secret = "do not tell procurement"
    assert secret in manager.get(f"/companies/{company.pk}/").content.decode()

    response = alice.post("/account/mailboxes/privacy/", {"email_text_shared": "0"})
    assert response.status_code == 302
    cast.alice.refresh_from_db()
    assert cast.alice.email_text_shared is False

    for path in (f"/companies/{company.pk}/", "/activities/", f"/activities/{email.pk}/edit/"):
        page = manager.get(path).content.decode()
        assert "Pricing for 40 seats" in page, path  # that it was exchanged stays visible
        assert secret not in page, path
    assert (
        "keeps the text of their e-mails private"
        in manager.get(f"/companies/{company.pk}/").content.decode()
    )
    assert "A note everyone reads." in manager.get(f"/companies/{company.pk}/").content.decode()
    assert list(manager.get("/activities/", {"q": "procurement"}).context["page"].object_list) == []
    assert secret in alice.get(f"/companies/{company.pk}/").content.decode()  # hers to read
    assert len(alice.get("/activities/", {"q": "procurement"}).context["page"].object_list) == 1


@pytest.mark.django_db
def test_the_api_leaves_out_the_private_text_and_refuses_to_reveal_it(cast, shared_and_private):
    from salesdesk.accounts.services import api_token_create

    _company, email, _note = shared_and_private
    cast.alice.email_text_shared = False
    cast.alice.save(update_fields=["email_text_shared"])
    _token, key = api_token_create(user=cast.manager, name="script")
    headers = {"Authorization": f"Bearer {key}"}
    client = Client()

    detail = client.get(f"/api/v1/activities/{email.pk}", headers=headers).json()
    listed = client.get("/api/v1/activities", {"kind": "email"}, headers=headers).json()
    assert (detail["body"], detail["text_hidden"], detail["subject"]) == (
        "",
        True,
        "Pricing for 40 seats",
    )
    assert [(item["body"], item["text_hidden"]) for item in listed["items"]] == [("", True)]

    for change in ({"body": "edited"}, {"owner_id": cast.manager.pk}):
        response = client.patch(
            f"/api/v1/activities/{email.pk}",
            change,
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 403, change
        assert "keeps the text of their e-mails private" in response.json()["detail"]
    email.refresh_from_db()
    assert (email.kind, email.owner_id) == ("email", cast.alice.pk)
    assert email.body.startswith("Our budget")

    ok = client.patch(
        f"/api/v1/activities/{email.pk}",
        {"subject": "Pricing (40 seats)"},
        content_type="application/json",
        headers=headers,
    )
    assert ok.status_code == 200
    assert ok.json()["body"] == ""


@pytest.mark.django_db
def test_the_edit_form_of_a_private_email_has_no_text_and_keeps_it(cast, shared_and_private):
    _company, email, _note = shared_and_private
    cast.alice.email_text_shared = False
    cast.alice.save(update_fields=["email_text_shared"])
    manager = signed_in(cast.manager)

    form = manager.get(f"/activities/{email.pk}/edit/").context["form"]
    assert "body" not in form.fields
    assert [value for value, _label in form.fields["kind"].choices] == ["email"]
    response = manager.post(
        f"/activities/{email.pk}/edit/",
        {
            "kind": "note",
            "subject": "Renamed",
            "body": "overwritten",
            "occurred_at": "2026-03-01T10:00",
            "company": email.company_id,
        },
    )
    assert response.status_code == 200
    assert "kind" in response.context["form"].errors
    email.refresh_from_db()
    assert (email.kind, email.subject, email.body[:10]) == (
        "email",
        "Pricing for 40 seats",
        "Our budget",
    )


@pytest.mark.django_db
def test_a_bad_privacy_choice_changes_nothing(cast):
    response = signed_in(cast.alice).post("/account/mailboxes/privacy/", {"email_text_shared": "x"})

    assert response.status_code == 302
    cast.alice.refresh_from_db()
    assert cast.alice.email_text_shared is True
