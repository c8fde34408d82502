"""Mail and calendar files uploaded in the browser, captured by a background job."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from salesdesk.activities.models import Activity
from salesdesk.capture import uploads
from salesdesk.crm.models import Company
from tests.capture.test_pipeline import mail

pytestmark = pytest.mark.django_db

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:demo-1@globex.com\r\nDTSTAMP:{stamp}\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
    "SUMMARY:Pilot kick-off\r\nORGANIZER;CN=Alice East:mailto:alice@salesdesk.test\r\n"
    "ATTENDEE;CN=Gina Globex:mailto:gina@globex.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def mbox(*messages: bytes) -> bytes:
    return b"".join(b"From MAILER-DAEMON Thu Nov 20 09:30:00 2026\n" + m + b"\n" for m in messages)


def ics() -> bytes:
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=3)
    fmt = "%Y%m%dT%H%M%SZ"
    end = start + datetime.timedelta(hours=1)
    return ICS.format(
        stamp=start.strftime(fmt), start=start.strftime(fmt), end=end.strftime(fmt)
    ).encode()


def test_uploading_an_mbox_and_a_calendar_captures_both_and_shows_the_summary(cast, media):
    archive = mbox(
        mail().replace(b"\r\n", b"\n"),
        mail(message_id="<m2@acme.co.uk>", subject="Again").replace(b"\r\n", b"\n"),
    )
    alice = signed_in(cast.alice)

    response = alice.post(
        "/capture/import/",
        {
            "files": [
                SimpleUploadedFile("takeout.mbox", archive),
                SimpleUploadedFile("calendar.ics", ics()),
            ]
        },
    )

    assert response.status_code == 302
    assert sorted(Activity.objects.values_list("kind", "subject")) == [
        ("email", "Again"),
        ("email", "Pricing for the pilot"),
        ("meeting", "Pilot kick-off"),
    ]
    assert set(Company.objects.values_list("domain", flat=True)) == {"acme.co.uk", "globex.com"}
    assert list(media.glob("capture/*/*")) == []  # removed once captured
    page = alice.get("/capture/import/")
    shown = page.content.decode()
    assert [u["name"] for u in page.context["uploads"]] == ["calendar.ics", "takeout.mbox"]
    assert "2 messages: 2 e-mails logged" in shown
    assert "1 meetings logged" in shown
    assert "every 2s" not in shown  # nothing is still running


def test_the_same_file_twice_captures_nothing_new(cast):
    archive = mbox(mail().replace(b"\r\n", b"\n"))
    alice = signed_in(cast.alice)
    alice.post("/capture/import/", {"files": [SimpleUploadedFile("a.mbox", archive)]})

    alice.post("/capture/import/", {"files": [SimpleUploadedFile("a.mbox", archive)]})

    assert Activity.objects.count() == 1
    assert (
        "1 messages: 0 e-mails logged, 1 already captured"
        in alice.get("/capture/import/").content.decode()
    )


def test_a_file_of_another_kind_is_a_form_error_and_nothing_is_kept(cast, media):
    response = signed_in(cast.alice).post(
        "/capture/import/",
        {
            "files": [
                SimpleUploadedFile("ok.eml", mail()),
                SimpleUploadedFile("scan.pdf", b"%PDF-1.7\n%binary"),
            ]
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["files"] == [
        "scan.pdf is not an e-mail (.eml), mail archive (mbox) or calendar (.ics) file."
    ]
    assert Activity.objects.count() == 0
    assert list(media.glob("capture/*/*")) == []


def test_an_empty_or_missing_file_is_a_form_error(cast):
    alice = signed_in(cast.alice)

    empty = alice.post("/capture/import/", {"files": [SimpleUploadedFile("x.eml", b"")]})
    missing = alice.post("/capture/import/", {})

    assert "The submitted file is empty." in empty.context["form"].errors["files"]
    assert missing.context["form"].errors["files"] == ["This field is required."]


def test_a_broken_calendar_is_reported_on_its_upload(cast):
    alice = signed_in(cast.alice)
    alice.post(
        "/capture/import/",
        {"files": [SimpleUploadedFile("c.ics", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nnonsense")]},
    )

    [upload] = alice.get("/capture/import/").context["uploads"]
    assert upload["summary"]["error"].startswith("c.ics")
    assert Activity.objects.count() == 0


def test_an_upload_is_seen_only_in_its_own_session(cast):
    alice = signed_in(cast.alice)
    alice.post("/capture/import/", {"files": [SimpleUploadedFile("a.eml", mail())]})
    [upload] = alice.get("/capture/import/").context["uploads"]

    assert alice.get(f"/capture/import/{upload['id']}/").status_code == 200
    assert signed_in(cast.bob).get(f"/capture/import/{upload['id']}/").status_code == 404
    assert alice.get("/capture/import/not-an-id/").status_code == 404


def test_a_stored_file_is_found_only_by_its_owner(cast, media):
    token, kind = uploads.store(cast.alice, SimpleUploadedFile("a.eml", mail()))

    assert kind == "eml"
    assert uploads.path_of(cast.alice, token, kind) is not None
    assert uploads.path_of(cast.bob, token, kind) is None
    assert uploads.path_of(cast.alice, "../" + token[3:], kind) is None
    assert uploads.path_of(cast.alice, token, "exe") is None
