"""The pages of sending: a mailbox's sending settings, e-mail templates, and writing from a
contact or a deal, with a real SMTP server (aiosmtpd) receiving what is sent."""

import email
from email import policy

import pytest
from django.test import Client

from salesdesk.activities.models import Activity
from salesdesk.capture import secrets
from salesdesk.capture.models import CapturedMessage, EmailTemplate, Mailbox, SentEmail
from tests.capture.test_sending import sending_mailbox
from tests.factories import CompanyFactory, ContactEmailFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ada(cast):
    company = CompanyFactory(name="Globex", domain="globex.com", owner=cast.alice)
    contact = ContactFactory(
        first_name="Ada", last_name="Lovelace", company=company, owner=cast.alice
    )
    ContactEmailFactory(contact=contact, email="ada@globex.com")
    return contact


@pytest.fixture
def deal(cast, ada, pipeline):
    grace = ContactFactory(first_name="Grace", last_name="Hopper", owner=cast.alice)
    ContactEmailFactory(contact=grace, email="grace@globex.com")
    nameless = ContactFactory(first_name="No", last_name="Address", owner=cast.alice)
    deal = DealFactory(
        title="Globex renewal",
        company=ada.company,
        owner=cast.alice,
        stage=pipeline.stages.get(name="Proposal"),
    )
    deal.contacts.set([ada, grace, nameless])
    return deal


def message(**changes) -> dict:
    data = {
        "to": "Ada Lovelace <ada@globex.com>",
        "cc": "",
        "template": "",
        "subject": "Pricing for {{ company.name }}",
        "body": "Hi {{ contact.first_name }},\nprices: https://globex.example/pricing",
    }
    return {**data, **changes}


def received(smtp_server) -> email.message.EmailMessage:
    [mail] = smtp_server.messages
    return email.message_from_bytes(mail.content.replace(b"\r\n", b"\n"), policy=policy.default)


# Writing from a contact


def test_the_form_is_filled_for_the_contact_and_offers_only_the_users_mailboxes(
    cast, ada, smtp_server
):
    mine = sending_mailbox(cast.alice, smtp_server)
    sending_mailbox(cast.alice, smtp_server, username="not-sending", smtp_host="")
    sending_mailbox(cast.bob, smtp_server, username="bob@salesdesk.test")
    EmailTemplate.objects.create(owner=cast.alice, name="Mine", subject="s", body="b")
    EmailTemplate.objects.create(
        owner=cast.manager, name="Team intro", subject="s", body="b", is_shared=True
    )
    EmailTemplate.objects.create(owner=cast.bob, name="Bob's own", subject="s", body="b")

    response = signed_in(cast.alice).get(f"/contacts/{ada.pk}/email/")

    assert response.status_code == 200
    form = response.context["form"]
    assert form.fields["mailbox"].choices == [(mine.pk, "Alice East <alice@salesdesk.test>")]
    assert form["to"].value() == "Ada Lovelace <ada@globex.com>"
    assert [label for _value, label in form.fields["template"].choices] == [
        "None",
        "Mine",
        "Team intro (shared by Max Manager)",
    ]
    page = response.content.decode()
    assert '<h1 class="h3 mb-3 text-break">E-mail Ada Lovelace</h1>' in page
    assert "Alice East &lt;alice@salesdesk.test&gt;" in page


def test_sending_from_a_contact_delivers_it_and_shows_it_on_the_timeline(cast, ada, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)
    alice = signed_in(cast.alice)

    response = alice.post(
        f"/contacts/{ada.pk}/email/",
        message(mailbox=mailbox.pk, track_opens="on", track_clicks="on"),
    )

    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{ada.pk}/"
    mail = received(smtp_server)
    assert mail["Subject"] == "Pricing for Globex"
    assert mail.get_body(("plain",)).get_content() == (
        "Hi Ada,\nprices: https://globex.example/pricing\n"
    )
    assert "/e/o/" in mail.get_body(("html",)).get_content()
    page = alice.get(f"/contacts/{ada.pk}/").content.decode()
    assert "E-mail sent to ada@globex.com." in page
    activity = Activity.objects.get()
    assert f'id="activity-{activity.pk}"' in page
    assert "Pricing for Globex" in page
    assert (
        '<span class="text-body-secondary">Sent from Salesdesk</span> · '
        '<span class="text-body-secondary">Not opened yet</span> · '
        '<span class="text-body-secondary">No link clicked yet</span>'
    ) in page


def test_a_bad_address_is_a_form_error_and_sends_nothing(cast, ada, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    response = signed_in(cast.alice).post(
        f"/contacts/{ada.pk}/email/",
        message(mailbox=mailbox.pk, to="ada@globex.com, ada@, Bob <bob@globex>", cc="x y"),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "to": ["“ada@”, “Bob <bob@globex>” are not addresses Salesdesk can send to."],
        "cc": ["“x y” is not an address Salesdesk can send to."],
    }
    assert smtp_server.messages == []
    assert (Activity.objects.count(), SentEmail.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"body": "Hi {{ contact.nickname }}"},
            {"body": ["Unknown placeholder {{ contact.nickname }}."]},
        ),
        (
            {"subject": "", "body": " "},
            {"subject": ["This field is required."], "body": ["Write the message."]},
        ),
        ({"to": ""}, {"to": ["This field is required."]}),
        (
            {"body": "x" * 100_001},
            {"body": ["Ensure this value has at most 100000 characters (it has 100001)."]},
        ),
    ],
)
def test_bad_messages_are_form_errors(cast, ada, smtp_server, changes, errors):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    response = signed_in(cast.alice).post(
        f"/contacts/{ada.pk}/email/", message(mailbox=mailbox.pk, **changes)
    )

    assert response.status_code == 200
    found = {
        name: [error.split(" The placeholders are")[0] for error in messages]
        for name, messages in response.context["form"].errors.items()
    }
    assert found == errors
    assert smtp_server.messages == []
    assert Activity.objects.count() == 0


def test_a_failure_to_send_is_a_form_error_and_logs_nothing(cast, ada, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)
    smtp_server.password = "changed"

    response = signed_in(cast.alice).post(f"/contacts/{ada.pk}/email/", message(mailbox=mailbox.pk))

    assert response.status_code == 200
    [error] = response.context["form"].non_field_errors()
    assert error.startswith(
        f"{smtp_server.host}:{smtp_server.port} refused the login for rep: check the username"
    )
    assert "secret" not in response.content.decode().replace('type="password"', "")
    assert (Activity.objects.count(), CapturedMessage.objects.count()) == (0, 0)


def test_nobody_sends_from_someone_elses_mailbox(cast, ada, smtp_server):
    sending_mailbox(cast.alice, smtp_server)
    bobs = sending_mailbox(cast.bob, smtp_server, username="bob@salesdesk.test")

    response = signed_in(cast.alice).post(f"/contacts/{ada.pk}/email/", message(mailbox=bobs.pk))

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "mailbox": [f"Select a valid choice. {bobs.pk} is not one of the available choices."]
    }
    assert smtp_server.messages == []


def test_a_contact_the_user_cannot_see_is_not_found(cast, ada, smtp_server):
    mailbox = sending_mailbox(cast.carol, smtp_server, username="carol@salesdesk.test")
    carol = signed_in(cast.carol)

    for path in ("email/", "email/template/"):
        assert carol.get(f"/contacts/{ada.pk}/{path}").status_code == 404
    response = carol.post(f"/contacts/{ada.pk}/email/", message(mailbox=mailbox.pk))

    assert response.status_code == 404
    assert smtp_server.messages == []


def test_a_deal_the_user_cannot_see_is_not_found(cast, deal, smtp_server):
    mailbox = sending_mailbox(cast.carol, smtp_server, username="carol@salesdesk.test")
    carol = signed_in(cast.carol)

    for path in ("email/", "email/template/"):
        assert carol.get(f"/deals/{deal.pk}/{path}").status_code == 404
    response = carol.post(f"/deals/{deal.pk}/email/", message(mailbox=mailbox.pk))

    assert response.status_code == 404
    assert smtp_server.messages == []


def test_signed_out_visitors_are_sent_to_sign_in(client, ada):
    for path in (f"/contacts/{ada.pk}/email/", "/account/email-templates/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_without_a_sending_mailbox_the_page_says_how_to_set_one_up(cast, ada, smtp_server):
    alice = signed_in(cast.alice)

    page = alice.get(f"/contacts/{ada.pk}/email/").content.decode()
    assert 'Connect it first on <a href="/account/mailboxes/">' in page

    sending_mailbox(cast.alice, smtp_server, smtp_host="")
    response = alice.post(f"/contacts/{ada.pk}/email/", message())
    page = response.content.decode()
    assert response.status_code == 200
    assert "none of yours is set up for sending yet" in page
    assert "fill in <strong>Sending e-mail</strong>" in page
    assert smtp_server.messages == []


def test_a_contact_without_an_address_asks_for_one(cast, smtp_server):
    sending_mailbox(cast.alice, smtp_server)
    nameless = ContactFactory(first_name="Nora", last_name="Nomail", owner=cast.alice)

    form = signed_in(cast.alice).get(f"/contacts/{nameless.pk}/email/").context["form"]

    assert form["to"].value() == ""
    assert form.fields["to"].help_text == (
        "Nora Nomail has no e-mail address yet: type one. Separate addresses with commas."
    )


def test_the_compose_page_reads_a_pinned_number_of_queries(
    cast, ada, smtp_server, django_assert_num_queries
):
    sending_mailbox(cast.alice, smtp_server)
    for number in range(5):
        EmailTemplate.objects.create(owner=cast.alice, name=f"T{number}", subject="s", body="b")
    alice = signed_in(cast.alice)

    # session, user, settings, contact, its e-mails, its open deal, mailboxes, templates
    with django_assert_num_queries(8):
        response = alice.get(f"/contacts/{ada.pk}/email/")

    assert response.status_code == 200


# Writing about a deal


def test_sending_about_a_deal_goes_to_its_contacts_and_is_logged_on_it(
    cast, ada, deal, smtp_server, pipeline
):
    other = DealFactory(
        title="Globex pilot", company=ada.company, owner=cast.alice, stage=deal.stage
    )
    mailbox = sending_mailbox(cast.alice, smtp_server)
    alice = signed_in(cast.alice)
    form = alice.get(f"/deals/{deal.pk}/email/").context["form"]
    assert form["to"].value() == "Ada Lovelace <ada@globex.com>, Grace Hopper <grace@globex.com>"

    response = alice.post(
        f"/deals/{deal.pk}/email/",
        message(
            mailbox=mailbox.pk,
            to=form["to"].value(),
            subject="{{ deal.title }}: next steps",
            body="Hi {{ contact.first_name }}, we are at {{ deal.stage }}.",
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/"
    mail = received(smtp_server)
    assert mail["To"] == "Ada Lovelace <ada@globex.com>, Grace Hopper <grace@globex.com>"
    assert mail["Subject"] == "Globex renewal: next steps"
    assert mail.get_content() == "Hi Ada, we are at Proposal.\n"
    activity = Activity.objects.get()
    assert activity.deal == deal != other
    assert f'id="activity-{activity.pk}"' in alice.get(f"/deals/{deal.pk}/").content.decode()


# Templates in the form


def test_picking_a_template_fills_subject_and_text_over_htmx(cast, ada, smtp_server):
    template = EmailTemplate.objects.create(
        owner=cast.manager,
        name="Intro",
        subject="{{ company.name }} and {{ me.full_name }}",
        body="Dear {{ contact.full_name }},\nabout {{ deal.title }}: {{ contact.title }}",
        is_shared=True,
    )

    response = signed_in(cast.alice).get(
        f"/contacts/{ada.pk}/email/template/",
        {"template": template.pk},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="compose-text">')
    assert 'value="Globex and Alice East"' in page
    assert "Dear Ada Lovelace,\nabout : </textarea>" in page
    assert (
        "Nothing fills {{ deal.title }}, {{ contact.title }} here, so they were left empty" in page
    )


def test_someone_elses_own_template_is_not_found(cast, ada):
    private = EmailTemplate.objects.create(owner=cast.bob, name="Bob", subject="s", body="b")
    alice = signed_in(cast.alice)

    for value in (private.pk, "x", "999999"):
        response = alice.get(f"/contacts/{ada.pk}/email/template/", {"template": value})
        assert response.status_code == 404, value
    assert alice.get(f"/contacts/{ada.pk}/email/template/").status_code == 200


# The templates page


def test_the_templates_page_lists_own_and_shared_and_creates_one(cast):
    EmailTemplate.objects.create(
        owner=cast.manager, name="Team intro", subject="s", body="b", is_shared=True
    )
    EmailTemplate.objects.create(owner=cast.bob, name="Bob's own", subject="s", body="b")
    alice = signed_in(cast.alice)

    page = alice.get("/account/email-templates/")
    assert [t.name for t in page.context["templates"]] == ["Team intro"]
    assert "is_shared" not in page.context["form"].fields  # reps do not share
    assert "Bob&#x27;s own" not in page.content.decode()

    response = alice.post(
        "/account/email-templates/",
        {
            "name": "Follow-up",
            "subject": "Following up, {{ contact.first_name }}",
            "body": "Hi",
            "is_shared": "on",
        },
    )

    assert response.status_code == 302
    created = EmailTemplate.objects.get(name="Follow-up")
    assert (created.owner, created.is_shared) == (cast.alice, False)


def test_a_template_with_an_unknown_placeholder_is_not_saved(cast):
    response = signed_in(cast.alice).post(
        "/account/email-templates/",
        {"name": "Bad", "subject": "Hi {{ contact.nickname }}", "body": "{{ contact.first_name"},
    )

    errors = response.context["form"].errors
    assert errors["subject"][0].startswith("Unknown placeholder {{ contact.nickname }}.")
    assert errors["body"] == ["A placeholder opened with {{ is not closed with }}."]
    assert EmailTemplate.objects.count() == 0


def test_an_empty_post_is_answered_with_form_errors_not_an_empty_form(cast, ada, smtp_server):
    sending_mailbox(cast.alice, smtp_server)
    client = signed_in(cast.alice)

    template = client.post("/account/email-templates/", {})
    compose = client.post(f"/contacts/{ada.pk}/email/", {})

    assert template.status_code == compose.status_code == 200
    assert template.context["form"].errors["name"] == ["This field is required."]
    assert compose.context["form"].errors["subject"] == ["This field is required."]
    assert EmailTemplate.objects.count() == 0
    assert smtp_server.messages == []


def test_a_manager_shares_and_others_cannot_edit_it(cast):
    manager = signed_in(cast.manager)
    manager.post(
        "/account/email-templates/",
        {"name": "Intro", "subject": "Hello", "body": "Hi", "is_shared": "on"},
    )
    template = EmailTemplate.objects.get()
    assert template.is_shared

    for path in ("", "delete/"):
        assert (
            signed_in(cast.alice).get(f"/account/email-templates/{template.pk}/{path}").status_code
            == 404
        )
        response = signed_in(cast.alice).post(
            f"/account/email-templates/{template.pk}/{path}",
            {"name": "Hacked", "subject": "x", "body": "y"},
        )
        assert response.status_code == 404
    template.refresh_from_db()
    assert template.name == "Intro"

    response = signed_in(cast.admin).post(
        f"/account/email-templates/{template.pk}/",
        {"name": "Intro", "subject": "Hello again", "body": "Hi", "is_shared": "on"},
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert template.subject == "Hello again"

    assert manager.post(f"/account/email-templates/{template.pk}/delete/").status_code == 302
    assert EmailTemplate.objects.count() == 0


# Sending settings on the mailbox's page


def sending_form(smtp_server, **changes) -> dict:
    data = {
        "smtp_host": smtp_server.host,
        "smtp_security": "none",
        "smtp_port": smtp_server.port,
        "smtp_username": "",
        "smtp_password": "",
        "saves_sent_copy": "on",
    }
    return {**data, **changes}


def test_the_mailbox_page_sets_up_sending_after_checking_the_login(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, smtp_host="", host="imap.globex.com")
    alice = signed_in(cast.alice)
    page = alice.get(f"/account/mailboxes/{mailbox.pk}/")
    assert page.context["sending_form"]["smtp_host"].value() == "smtp.globex.com"
    assert "Set up sending" in page.content.decode()

    response = alice.post(f"/account/mailboxes/{mailbox.pk}/sending/", sending_form(smtp_server))

    assert response.status_code == 302
    assert response["Location"] == f"/account/mailboxes/{mailbox.pk}/"
    mailbox.refresh_from_db()
    assert (mailbox.smtp_host, mailbox.smtp_port, mailbox.saves_sent_copy) == (
        smtp_server.host,
        smtp_server.port,
        True,
    )
    page = alice.get(f"/account/mailboxes/{mailbox.pk}/").content.decode()
    assert "the login worked" in page
    assert "You send from <strong>alice@salesdesk.test</strong>" in page  # the login is "rep"
    assert f"through {smtp_server.host}:{smtp_server.port} (None (plain text))" in page


def test_a_refused_smtp_login_is_shown_on_the_page_and_saves_nothing(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, smtp_host="")

    response = signed_in(cast.alice).post(
        f"/account/mailboxes/{mailbox.pk}/sending/",
        sending_form(smtp_server, smtp_username="rep", smtp_password="not-it"),
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "refused the login for rep" in page
    assert "not-it" not in page
    assert response.context["form"]["host"].value() == "127.0.0.1"  # the IMAP form as saved
    mailbox.refresh_from_db()
    assert (mailbox.smtp_host, mailbox.smtp_secret) == ("", "")


def test_bad_sending_fields_are_shown_next_to_them(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, smtp_host="")

    response = signed_in(cast.alice).post(
        f"/account/mailboxes/{mailbox.pk}/sending/",
        sending_form(smtp_server, smtp_host="smtp example.com", smtp_port="0", smtp_security="x"),
    )

    assert set(response.context["sending_form"].errors) == {"smtp_port", "smtp_security"}
    response = signed_in(cast.alice).post(
        f"/account/mailboxes/{mailbox.pk}/sending/",
        sending_form(smtp_server, smtp_host="smtp example.com"),
    )
    assert response.context["sending_form"].errors == {
        "smtp_host": ["Enter the server's host name, such as smtp.example.com."]
    }
    mailbox.refresh_from_db()
    assert mailbox.smtp_host == ""


def test_nobody_touches_another_users_sending_settings(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server, smtp_secret=secrets.encrypt("x"))
    admin = signed_in(cast.admin)

    for path in ("sending/", "sending/remove/"):
        response = admin.post(f"/account/mailboxes/{mailbox.pk}/{path}", sending_form(smtp_server))
        assert response.status_code == 404
    mailbox.refresh_from_db()
    assert mailbox.sends


def test_stopping_sending_from_the_page(cast, smtp_server):
    mailbox = sending_mailbox(cast.alice, smtp_server)

    response = signed_in(cast.alice).post(f"/account/mailboxes/{mailbox.pk}/sending/remove/")

    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.sends is False
    assert Mailbox.objects.count() == 1  # the mailbox itself stays
