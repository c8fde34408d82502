"""Mailbox sync against a real Dovecot (see servers.py): batches, checkpoints, crash safety."""

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.db.models import Count

from salesdesk.activities.models import Activity
from salesdesk.capture import secrets, sync, tasks
from salesdesk.capture.models import CapturedMessage, Mailbox, MailboxFolder
from salesdesk.capture.sync import due_mailboxes, sync_mailbox
from tests.factories import UserFactory

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def inbound(number: int) -> bytes:
    return (
        f"From: Buyer {number} <buyer{number}@globex.com>\r\n"
        "To: Alice East <alice@salesdesk.test>\r\n"
        f"Subject: Question {number}\r\n"
        f"Message-ID: <in-{number}@globex.com>\r\n"
        "Date: Mon, 2 Feb 2026 10:00:00 +0000\r\n"
        "\r\n"
        f"Hello Alice, question number {number}.\r\n"
    ).encode()


def outbound(number: int) -> bytes:
    return (
        "From: Alice East <alice@salesdesk.test>\r\n"
        f"To: Buyer {number} <buyer{number}@globex.com>\r\n"
        f"Subject: Answer {number}\r\n"
        f"Message-ID: <out-{number}@salesdesk.test>\r\n"
        "Date: Tue, 3 Feb 2026 10:00:00 +0000\r\n"
        "\r\n"
        f"Hello, here is answer number {number}.\r\n"
    ).encode()


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@salesdesk.test", full_name="Alice East")


def connect_mailbox(dovecot, login: str, user, **fields) -> Mailbox:
    return Mailbox.objects.create(
        user=user,
        host=dovecot.host,
        port=dovecot.port,
        security=Mailbox.Security.NONE,
        username=login,
        secret=secrets.encrypt(dovecot.passwords[login]),
        created_at=NOW - datetime.timedelta(hours=1),
        **fields,
    )


def captured_ids() -> list[str]:
    return sorted(
        Activity.objects.filter(source=Activity.Source.IMAP).values_list("external_id", flat=True)
    )


def checkpoints(mailbox: Mailbox) -> dict[str, tuple[str, int]]:
    return {
        folder.name: (folder.role, folder.last_uid)
        for folder in MailboxFolder.objects.filter(mailbox=mailbox)
    }


# First sync, next syncs


@pytest.mark.django_db
def test_first_sync_captures_inbox_and_sent_and_saves_checkpoints(dovecot, imap_user, alice):
    dovecot.append(imap_user, "INBOX", *(inbound(n) for n in range(1, 21)))
    dovecot.append(imap_user, "Sent", *(outbound(n) for n in range(1, 11)))
    mailbox = connect_mailbox(dovecot, imap_user, alice)

    result = sync_mailbox(mailbox.pk, now=NOW, batch=7)

    assert result.status == "ok"
    assert result.outcome.logged == 30
    assert result.error == ""
    directions = dict(Activity.objects.values_list("direction").annotate(n=Count("id")).order_by())
    assert directions == {"in": 20, "out": 10}
    assert captured_ids() == sorted(
        [f"mid:in-{n}@globex.com" for n in range(1, 21)]
        + [f"mid:out-{n}@salesdesk.test" for n in range(1, 11)]
    )
    assert set(Activity.objects.values_list("owner", flat=True)) == {alice.pk}
    assert checkpoints(mailbox) == {"INBOX": ("inbox", 20), "Sent": ("sent", 10)}
    assert MailboxFolder.objects.filter(uidvalidity__isnull=True).count() == 0
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.OK
    assert mailbox.last_error == ""
    assert mailbox.last_sync_at == NOW
    assert mailbox.last_success_at == NOW
    assert mailbox.messages_captured == 30
    refs = set(CapturedMessage.objects.values_list("source", "source_ref"))
    assert ("imap", "INBOX uid 1") in refs
    assert ("imap", "Sent uid 10") in refs


@pytest.mark.django_db
def test_a_sync_with_nothing_new_captures_nothing_and_new_mail_only_is_read(
    dovecot, imap_user, alice
):
    dovecot.append(imap_user, "INBOX", *(inbound(n) for n in range(1, 4)))
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    assert sync_mailbox(mailbox.pk, now=NOW).outcome.logged == 3

    again = sync_mailbox(mailbox.pk, now=NOW + datetime.timedelta(minutes=5))

    assert again.status == "ok"
    assert again.outcome.seen == 0  # not even read: the checkpoint is past them
    assert Activity.objects.count() == 3

    dovecot.append(imap_user, "INBOX", inbound(4), inbound(5))
    dovecot.append(imap_user, "Sent", outbound(4))
    later = sync_mailbox(mailbox.pk, now=NOW + datetime.timedelta(minutes=10))

    assert later.outcome.seen == 3
    assert later.outcome.logged == 3
    assert Activity.objects.count() == 6
    assert checkpoints(mailbox) == {"INBOX": ("inbox", 5), "Sent": ("sent", 1)}
    mailbox.refresh_from_db()
    assert mailbox.messages_captured == 6
    assert mailbox.last_success_at == NOW + datetime.timedelta(minutes=10)


# Errors


@pytest.mark.django_db
def test_a_wrong_password_is_shown_on_the_mailbox_without_the_password(dovecot, imap_user, alice):
    dovecot.append(imap_user, "INBOX", inbound(1))
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    Mailbox.objects.filter(pk=mailbox.pk).update(secret=secrets.encrypt("hunter2-wrong"))

    result = sync_mailbox(mailbox.pk, now=NOW)

    assert result.status == "error"
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.ERROR
    assert mailbox.last_error == (
        f"127.0.0.1:{dovecot.port} refused the login for {imap_user}: check the username and "
        "password (some providers need an app password). "
        "Server said: [AUTHENTICATIONFAILED] Authentication failed."
    )
    assert "hunter2" not in mailbox.last_error
    assert mailbox.last_sync_at == NOW
    assert mailbox.last_success_at is None
    assert Activity.objects.count() == 0


@pytest.mark.django_db
def test_an_unreadable_password_asks_for_it_again(dovecot, imap_user, alice, settings):
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    settings.SECRET_KEY = "another secret key, rotated by the operator"
    settings.SALESDESK_CAPTURE_KEY = ""

    result = sync_mailbox(mailbox.pk, now=NOW)

    assert result.status == "error"
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.ERROR
    assert mailbox.last_error.startswith("The saved password can no longer be read")


@pytest.mark.django_db
def test_a_crash_midway_resumes_with_no_gap_and_no_duplicate(
    dovecot, imap_user, alice, monkeypatch, caplog
):
    dovecot.append(imap_user, "INBOX", *(inbound(n) for n in range(1, 41)))
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    real_capture, calls = sync.capture_messages, []

    def crash_on_the_third_batch(items, **kwargs):
        calls.append(len(items))
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real_capture(items, **kwargs)

    monkeypatch.setattr(sync, "capture_messages", crash_on_the_third_batch)

    crashed = sync_mailbox(mailbox.pk, batch=10)  # the real clock: the heartbeat moves

    assert crashed.status == "error"
    assert crashed.outcome.logged == 20
    assert calls == [10, 10, 10]
    assert captured_ids() == sorted(f"mid:in-{n}@globex.com" for n in range(1, 21))
    assert checkpoints(mailbox) == {"INBOX": ("inbox", 20)}
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.ERROR
    assert mailbox.last_error == "Sync failed; it will be retried."
    assert mailbox.messages_captured == 20
    assert "worker killed" in caplog.text  # the operator gets the traceback
    assert dovecot.passwords[imap_user] not in caplog.text

    monkeypatch.setattr(sync, "capture_messages", real_capture)
    resumed = sync_mailbox(mailbox.pk, now=NOW + datetime.timedelta(minutes=5), batch=10)

    assert resumed.status == "ok"
    assert resumed.outcome.seen == 20  # UIDs 21..40 only
    assert captured_ids() == sorted(f"mid:in-{n}@globex.com" for n in range(1, 41))
    assert CapturedMessage.objects.count() == 40
    assert checkpoints(mailbox) == {"INBOX": ("inbox", 40)}
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.OK
    assert mailbox.last_error == ""
    assert mailbox.messages_captured == 40


@pytest.mark.django_db
def test_a_new_uidvalidity_rereads_the_folder_without_duplicates(dovecot, imap_user, alice):
    dovecot.append(imap_user, "INBOX", inbound(1))
    dovecot.append(imap_user, "Sent", *(outbound(n) for n in range(1, 6)))
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    sync_mailbox(mailbox.pk, now=NOW)
    before = MailboxFolder.objects.get(name="Sent").uidvalidity

    dovecot.recreate_folder(imap_user, "Sent")
    dovecot.append(imap_user, "Sent", *(outbound(n) for n in range(1, 8)))  # 5 old, 2 new
    result = sync_mailbox(mailbox.pk, now=NOW + datetime.timedelta(minutes=5))

    assert result.status == "ok"
    assert result.outcome.duplicates == 5
    assert result.outcome.logged == 2
    sent = MailboxFolder.objects.get(name="Sent")
    assert sent.uidvalidity != before
    assert sent.last_uid == 7
    assert captured_ids() == sorted(
        ["mid:in-1@globex.com"] + [f"mid:out-{n}@salesdesk.test" for n in range(1, 8)]
    )


@pytest.mark.django_db
def test_first_sync_days_leaves_older_mail_out(dovecot, imap_user, alice):
    created = NOW - datetime.timedelta(hours=1)  # 2026-03-02
    dovecot.append(imap_user, "INBOX", inbound(1), date=datetime.datetime(2026, 2, 20, tzinfo=UTC))
    dovecot.append(imap_user, "INBOX", inbound(2), date=datetime.datetime(2026, 2, 23, tzinfo=UTC))
    dovecot.append(imap_user, "INBOX", inbound(3), date=datetime.datetime(2026, 3, 1, tzinfo=UTC))
    mailbox = connect_mailbox(dovecot, imap_user, alice, first_sync_days=7)
    assert mailbox.created_at == created

    sync_mailbox(mailbox.pk, now=NOW)

    # Since 2026-02-23: the message of 20 February is left out, on this sync and every next one.
    assert captured_ids() == ["mid:in-2@globex.com", "mid:in-3@globex.com"]
    sync_mailbox(mailbox.pk, now=NOW + datetime.timedelta(minutes=5))
    assert Activity.objects.count() == 2


# Which mailboxes are due, and claims


@pytest.mark.django_db
def test_due_mailboxes(alice):
    def mailbox(name, **fields):
        return Mailbox.objects.create(
            user=alice, host="imap.example.com", username=name, secret="x", **fields
        )

    never = mailbox("never")
    old = mailbox("old", last_sync_at=NOW - datetime.timedelta(minutes=5))
    recent = mailbox("recent", last_sync_at=NOW - datetime.timedelta(minutes=4, seconds=59))
    slow = mailbox("slow", interval_minutes=60, last_sync_at=NOW - datetime.timedelta(minutes=30))
    slow_due = mailbox(
        "slow-due", interval_minutes=60, last_sync_at=NOW - datetime.timedelta(minutes=61)
    )
    requested = mailbox("requested", last_sync_at=NOW, sync_requested_at=NOW)
    mailbox("disabled", enabled=False)
    mailbox("disabled-requested", enabled=False, sync_requested_at=NOW)

    due = set(due_mailboxes(NOW).values_list("pk", flat=True))

    assert due == {never.pk, old.pk, slow_due.pk, requested.pk}
    assert recent.pk not in due
    assert slow.pk not in due


@pytest.mark.django_db
def test_a_mailbox_claimed_by_another_worker_is_busy_until_the_claim_is_stale(
    dovecot, imap_user, alice
):
    dovecot.append(imap_user, "INBOX", inbound(1))
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        state=Mailbox.State.SYNCING, last_sync_at=NOW - datetime.timedelta(minutes=29)
    )

    assert sync_mailbox(mailbox.pk, now=NOW).status == "busy"
    assert Activity.objects.count() == 0
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.SYNCING
    assert mailbox.last_sync_at == NOW - datetime.timedelta(minutes=29)

    # The other worker died: 31 minutes without a heartbeat.
    result = sync_mailbox(mailbox.pk, now=NOW + datetime.timedelta(minutes=2))
    assert result.status == "ok"
    assert Activity.objects.count() == 1


@pytest.mark.django_db
def test_a_disabled_or_deleted_mailbox_is_not_synced(dovecot, imap_user, alice):
    dovecot.append(imap_user, "INBOX", inbound(1))
    mailbox = connect_mailbox(dovecot, imap_user, alice, enabled=False)

    assert sync_mailbox(mailbox.pk, now=NOW).status == "disabled"
    assert sync_mailbox(mailbox.pk + 1000, now=NOW).status == "missing"
    assert Activity.objects.count() == 0
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.NEW


@pytest.mark.django_db(transaction=True)
def test_a_second_worker_gets_busy_while_the_first_syncs(dovecot, imap_user, alice, monkeypatch):
    dovecot.append(imap_user, "INBOX", inbound(1), inbound(2))
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    real_fetch, fetching, release = sync.imap.fetch_new, threading.Event(), threading.Event()

    def slow_fetch(*args, **kwargs):
        fetching.set()
        assert release.wait(30)
        yield from real_fetch(*args, **kwargs)

    monkeypatch.setattr(sync.imap, "fetch_new", slow_fetch)
    results = []

    def first_worker():
        try:
            results.append(sync_mailbox(mailbox.pk).status)
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        assert fetching.wait(30)
        second = sync_mailbox(mailbox.pk)
    finally:
        release.set()
        worker.join(30)

    assert second.status == "busy"
    assert results == ["ok"]
    assert Activity.objects.count() == 2
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.OK


@pytest.mark.django_db(transaction=True)
def test_a_claim_in_progress_on_postgresql_is_skipped_not_waited_for(alice):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite serializes claims, tested above)")
    mailbox = Mailbox.objects.create(
        user=alice, host="imap.example.com", username="locked", secret="x"
    )
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Mailbox.objects.select_for_update().get(pk=mailbox.pk)
                locked.set()
                assert release.wait(30)
        finally:
            connection.close()

    worker = threading.Thread(target=other_worker)
    worker.start()
    try:
        assert locked.wait(30)
        result = sync_mailbox(mailbox.pk, now=NOW)
    finally:
        release.set()
        worker.join(30)

    assert result.status == "busy"
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.NEW


# The jobs


@pytest.mark.django_db
def test_the_periodic_job_syncs_due_mailboxes(dovecot, imap_user, alice):
    dovecot.append(imap_user, "INBOX", inbound(1))
    mailbox = connect_mailbox(dovecot, imap_user, alice)

    assert tasks.sync_due_mailboxes.call_local() == 1  # Huey runs it at once in tests
    assert tasks.sync_due_mailboxes.call_local() == 0  # synced a moment ago

    assert Activity.objects.count() == 1
    mailbox.refresh_from_db()
    assert mailbox.state == Mailbox.State.OK


@pytest.mark.django_db
def test_sync_now_queues_a_sync_after_commit_and_clears_the_request(
    dovecot, imap_user, alice, django_capture_on_commit_callbacks
):
    mailbox = connect_mailbox(dovecot, imap_user, alice)
    sync_mailbox(mailbox.pk)
    dovecot.append(imap_user, "INBOX", inbound(1))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tasks.request_sync(mailbox, actor=alice)
    mailbox.refresh_from_db()
    assert mailbox.sync_requested_at is not None
    assert mailbox.pk in set(due_mailboxes(mailbox.sync_requested_at).values_list("pk", flat=True))
    assert Activity.objects.count() == 0

    for callback in callbacks:
        callback()

    assert Activity.objects.count() == 1
    mailbox.refresh_from_db()
    assert mailbox.sync_requested_at is None
