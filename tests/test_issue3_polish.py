"""Issue 3's rough edges, through the test client: links kept on edit, the invitation e-mail as a
Huey task with "resend", the company timeline of the whole account, refusals over htmx, the
URLField warning and one look for every list's filter buttons."""

import datetime
import re
import warnings

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.deprecation import RemovedInDjango60Warning

from salesdesk.accounts.models import OrganizationSettings, User
from salesdesk.accounts.tasks import invitation_send
from salesdesk.activities import selectors as activity_selectors
from salesdesk.activities.models import Activity
from salesdesk.crm.forms import CompanyForm
from tests.factories import ActivityFactory, CompanyFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
NEW_PASSWORD = "a fresh and long enough passphrase"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- 2. Editing keeps links to records the editor cannot see ------------------------------


@pytest.fixture
def carols(cast, pipeline):
    """Carol's company, a contact there and a deal: none of them visible to Alice."""
    company = CompanyFactory(name="Westwind AG", owner=cast.carol)
    contact = ContactFactory(
        first_name="Wanda", last_name="West", company=company, owner=cast.carol
    )
    deal = DealFactory(title="Westwind pilot", company=company, owner=cast.carol)
    return company, contact, deal


def deal_post(deal, **changes) -> dict:
    data = {
        "title": deal.title,
        "company": deal.company_id or "",
        "contacts": [contact.pk for contact in deal.contacts.all()],
        "owner": deal.owner_id,
        "pipeline": deal.pipeline_id,
        "amount": str(deal.amount),
        "currency": deal.currency,
        "expected_close": deal.expected_close.isoformat(),
    }
    return data | changes


def test_a_rep_editing_their_deal_keeps_another_reps_company_and_contact(cast, pipeline, carols):
    company, contact, _ = carols
    deal = DealFactory(
        title="Joint bid", company=company, owner=cast.alice, stage=pipeline.stages.first()
    )
    deal.contacts.set([contact])
    alice = signed_in(cast.alice)
    assert alice.get(f"/companies/{company.pk}/").status_code == 404  # invisible to her

    form_page = alice.get(f"/deals/{deal.pk}/edit/").content.decode()
    response = alice.post(f"/deals/{deal.pk}/edit/", deal_post(deal, title="Joint bid 2027"))

    assert f'<input type="hidden" name="company" value="{company.pk}"' in form_page
    assert 'value="Westwind AG"' in form_page
    assert f'name="contacts" value="{contact.pk}"' in form_page
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.title, deal.company) == ("Joint bid 2027", company)
    assert list(deal.contacts.all()) == [contact]


def test_another_invisible_company_still_cannot_be_chosen(cast, pipeline, carols):
    company, _, _ = carols
    elsewhere = CompanyFactory(name="Hidden GmbH", owner=cast.carol)
    deal = DealFactory(
        title="Joint bid", company=company, owner=cast.alice, stage=pipeline.stages.first()
    )

    response = signed_in(cast.alice).post(
        f"/deals/{deal.pk}/edit/", deal_post(deal, company=elsewhere.pk)
    )

    assert response.status_code == 200
    assert "Choose a company from the list; that one cannot be found." in (
        response.content.decode()
    )
    deal.refresh_from_db()
    assert deal.company == company


def test_a_rep_editing_their_contact_keeps_another_reps_company(cast, carols):
    company, _, _ = carols
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=company, owner=cast.alice)

    response = signed_in(cast.alice).post(
        f"/contacts/{ada.pk}/edit/",
        {
            "first_name": "Ada",
            "last_name": "King",
            "company": company.pk,
            "owner": cast.alice.pk,
            "phone_kind": "work",
        },
    )

    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.last_name, ada.company) == ("King", company)


def test_a_rep_editing_their_activity_keeps_links_they_cannot_see(cast, carols):
    company, contact, carols_deal = carols
    call = ActivityFactory(
        kind="call", subject="Intro", owner=cast.alice, company=company, deal=carols_deal
    )
    call.contacts.set([contact])
    alice = signed_in(cast.alice)

    form_page = alice.get(f"/activities/{call.pk}/edit/").content.decode()
    response = alice.post(
        f"/activities/{call.pk}/edit/",
        {
            "kind": "call",
            "subject": "Intro call",
            "occurred_at": timezone.localtime(call.occurred_at).strftime("%Y-%m-%dT%H:%M"),
            "company": company.pk,
            "contact": contact.pk,
            "deal": carols_deal.pk,
        },
    )

    assert f'<input type="hidden" name="deal" value="{carols_deal.pk}"' in form_page
    assert response.status_code == 302
    call.refresh_from_db()
    assert (call.subject, call.company, call.deal) == ("Intro call", company, carols_deal)
    assert list(call.contacts.all()) == [contact]


# --- 4. The invitation e-mail goes through Huey; admins can send it again -------------------


def link_in(message) -> str:
    urls = re.findall(r"https?://[^\s]+", message.body)
    assert len(urls) == 1, message.body
    return re.sub(r"^https?://[^/]+", "", urls[0])


def test_an_invitation_is_queued_after_the_commit_and_sent_by_the_task(
    cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = signed_in(cast.admin).post(
            "/settings/users/invite/", {"email": "nina@salesdesk.test", "role": "rep"}
        )
        assert mail.outbox == []  # nothing leaves before the user is committed

    assert response.status_code == 302
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: Huey (immediate in tests) runs the task
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nina@salesdesk.test"]
    assert mail.outbox[0].subject == "Ada Admin invited you to Salesdesk"


def test_the_invitation_task_sends_nothing_to_someone_already_in(cast):
    nina = User.objects.create_user("nina@salesdesk.test", None, full_name="Nina New")

    invitation_send(nina.pk, cast.admin.pk, "https://crm.example/")
    nina.set_password(NEW_PASSWORD)
    nina.save()
    invitation_send(nina.pk, cast.admin.pk, "https://crm.example/")
    invitation_send(999_999, cast.admin.pk, "https://crm.example/")  # gone

    assert [message.to for message in mail.outbox] == [["nina@salesdesk.test"]]
    assert mail.outbox[0].body.count("https://crm.example/welcome/") == 1


def test_an_admin_resends_an_invitation_with_a_working_link(
    cast, django_capture_on_commit_callbacks
):
    nina = User.objects.create_user("nina@salesdesk.test", None, full_name="Nina New")
    admin = signed_in(cast.admin)
    users_page = admin.get("/settings/users/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/settings/users/{nina.pk}/resend-invitation/", follow=True)

    assert 'aria-label="Resend the invitation to Nina New"' in users_page
    assert users_page.count("Resend invitation</button>") == 1  # only Nina has not signed up
    assert response.redirect_chain == [("/settings/users/", 302)]
    assert "Invitation sent again to nina@salesdesk.test." in response.content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nina@salesdesk.test"]
    visitor = Client()
    welcome = visitor.get(link_in(mail.outbox[0]), follow=True)
    done = visitor.post(
        welcome.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done["Location"] == "/reset/done/"
    nina.refresh_from_db()
    assert nina.check_password(NEW_PASSWORD)


def test_resending_to_someone_who_has_signed_up_is_refused(
    cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(cast.admin).post(
            f"/settings/users/{cast.alice.pk}/resend-invitation/", follow=True
        )

    assert "Alice East has already chosen a password" in response.content.decode()
    assert mail.outbox == []


@pytest.mark.parametrize("who", ["manager", "alice"])
def test_only_admins_can_resend_an_invitation(cast, who, django_capture_on_commit_callbacks):
    nina = User.objects.create_user("nina@salesdesk.test", None)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(getattr(cast, who)).post(
            f"/settings/users/{nina.pk}/resend-invitation/"
        )

    assert response.status_code == 404
    assert mail.outbox == []


def test_resending_is_a_post(cast):
    nina = User.objects.create_user("nina@salesdesk.test", None)

    response = signed_in(cast.admin).get(f"/settings/users/{nina.pk}/resend-invitation/")

    assert response.status_code == 405
    assert mail.outbox == []


# --- 5. A company's timeline holds its contacts' and deals' activities ----------------------


@pytest.fixture
def account(cast, pipeline):
    """Acme with two contacts and a deal, and activities linked to it in every way."""
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=acme, owner=cast.alice)
    grace = ContactFactory(first_name="Grace", last_name="Hopper", company=acme, owner=cast.alice)
    deal = DealFactory(title="Acme rollout", company=acme, owner=cast.alice)
    other = CompanyFactory(name="Other", owner=cast.alice)
    stranger = ContactFactory(first_name="Sam", last_name="Stranger", owner=cast.alice)
    now = timezone.now()

    def log(subject, hours, *, company=None, contacts=(), deal=None, owner=cast.alice):
        activity = ActivityFactory(
            subject=subject,
            owner=owner,
            company=company,
            deal=deal,
            occurred_at=now - datetime.timedelta(hours=hours),
        )
        activity.contacts.set(contacts)
        return activity

    log("On the company", 7, company=acme)
    log("With Ada only", 6, contacts=[ada])
    log("With Ada and Grace", 5, contacts=[ada, grace])
    log("On the deal only", 4, deal=deal)
    log("Ada, filed at another company", 3, company=other, contacts=[ada])
    log("Someone else", 2, company=other, contacts=[stranger])
    log("Carol's call with Ada", 1, contacts=[ada], owner=cast.carol)  # Alice cannot see it
    return acme


ACCOUNT_TIMELINE = [
    "Ada, filed at another company",
    "On the deal only",
    "With Ada and Grace",
    "With Ada only",
    "On the company",
]


def test_company_timeline_shows_its_contacts_and_deals_activities_once_newest_first(
    cast, account, django_assert_num_queries
):
    pages, before = [], None
    while len(pages) < 4:
        # (the settings, once: reps_see_all), activities, their contacts, stage changes
        with django_assert_num_queries(4 if before is None else 3):
            entries, has_more = activity_selectors.timeline(
                actor=cast.alice, company_id=account.pk, before=before, limit=2
            )
        pages.append([entry.activity.subject for entry in entries])
        if not has_more:
            break
        before = entries[-1].key

    assert pages == [ACCOUNT_TIMELINE[:2], ACCOUNT_TIMELINE[2:4], ACCOUNT_TIMELINE[4:]]


def test_company_page_shows_the_account_timeline_in_a_pinned_number_of_queries(
    cast, account, django_assert_num_queries
):
    alice = signed_in(cast.alice)

    # session, user, settings, company, its tags, contacts, their e-mails, deals, may-change,
    # values filled from signatures, the next meeting, activities, their contacts, stage changes
    with django_assert_num_queries(14):
        response = alice.get(f"/companies/{account.pk}/")

    entries = response.context["timeline_entries"]
    assert [entry.activity.subject for entry in entries] == ACCOUNT_TIMELINE
    page = response.content.decode()
    assert page.count('id="activity-') == len(ACCOUNT_TIMELINE)
    assert "Carol&#x27;s call with Ada" not in page
    assert "Someone else" not in page


def test_company_timeline_follows_visibility_for_the_owner_of_the_hidden_call(cast, account):
    """Carol sees only her own call: the rest of Acme's account is Alice's."""
    OrganizationSettings.objects.update(reps_see_all=True)
    carol = User.objects.get(pk=cast.carol.pk)

    entries, has_more = activity_selectors.timeline(actor=carol, company_id=account.pk)

    assert [entry.activity.subject for entry in entries] == [
        "Carol's call with Ada",
        *ACCOUNT_TIMELINE,
    ]
    assert has_more is False
    assert Activity.objects.count() == 7


# --- 6. A refusal over htmx says why (shown by app.js, tests/browser/test_issue3_polish.py) ----


def test_a_refused_htmx_action_answers_403_with_the_reason_as_text(cast):
    OrganizationSettings.objects.update(reps_see_all=True)
    bobs_task = ActivityFactory(kind="task", subject="Bob's follow-up", owner=cast.bob)

    response = signed_in(cast.alice).post(f"/my-day/tasks/{bobs_task.pk}/done/", **HTMX)

    assert response.status_code == 403
    assert response.content.decode() == "You cannot change this activity."
    bobs_task.refresh_from_db()
    assert bobs_task.done_at is None


def test_htmx_swaps_success_and_form_errors_and_leaves_refusals_to_app_js(client):
    page = client.get("/login/").content.decode()

    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page).group(1)
    assert '{"code": "422", "swap": true, "error": false}' in config
    assert '{"code": "[45]..", "swap": false, "error": true}' in config


# --- 7. No RemovedInDjango60Warning for URL fields ------------------------------------------


def test_company_forms_raise_no_url_field_warning(cast):
    admin = User.objects.get(pk=cast.admin.pk)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    company = CompanyFactory(website="https://acme.example")
    client = signed_in(admin)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RemovedInDjango60Warning)
        CompanyForm(user=cast.alice)
        admin_page = client.get(f"/admin/crm/company/{company.pk}/change/")
        edit_page = client.get(f"/companies/{company.pk}/edit/")

    assert (admin_page.status_code, edit_page.status_code) == (200, 200)


# --- 8. Every list's filter form ends with the same buttons ---------------------------------

APPLY = '<button class="btn btn-primary" type="submit">Apply filters</button>'


@pytest.mark.parametrize("path", ["/deals/", "/companies/", "/contacts/", "/activities/"])
def test_list_filter_forms_share_one_apply_button_and_clear_link(cast, pipeline, path):
    alice = signed_in(cast.alice)

    plain = alice.get(path).content.decode()
    filtered = alice.get(path, {"q": "acme"}).content.decode()

    assert plain.count(APPLY) == 1
    assert ">Filter</button>" not in plain
    assert f'<a class="btn btn-link" href="{path}">Clear</a>' not in plain
    assert filtered.count(f'<a class="btn btn-link" href="{path}">Clear</a>') == 1
