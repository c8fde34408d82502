"""The IMAP layer against a real Dovecot (see servers.py): logins, folders, batched fetches."""

import datetime
import smtplib
import socket
import traceback
from email.message import EmailMessage

import pytest

from salesdesk.capture.imap import ImapError, ImapSettings, connect, fetch_new, folders

UTC = datetime.UTC


def message(number: int, *, size: int = 0) -> bytes:
    body = f"Hello, this is message {number}.\r\n".encode()
    if size:
        line = b"x" * 76 + b"\r\n"
        body += line * (size // len(line))
    return (
        f"From: Customer <customer{number}@example.com>\r\n"
        f"To: Rep <rep@salesdesk.test>\r\n"
        f"Subject: Message {number}\r\n"
        f"Message-ID: <{number}@example.com>\r\n"
        f"Date: Mon, 3 Mar 2025 10:00:00 +0000\r\n"
        "\r\n"
    ).encode() + body


def settings(dovecot, user, *, security="none", password=None, **kwargs) -> ImapSettings:
    port = dovecot.ssl_port if security == "ssl" else dovecot.port
    return ImapSettings(
        host=dovecot.host,
        port=port,
        security=security,
        username=user,
        password=password or dovecot.passwords[user],
        **kwargs,
    )


def fetch_all(dovecot, user, folder="INBOX", **kwargs):
    kwargs = {"uidvalidity": None, "last_uid": 0, "since": None} | kwargs
    with connect(settings(dovecot, user)) as box:
        return list(fetch_new(box, folder, **kwargs))


def assert_password_not_shown(error: ImapError, password: str) -> None:
    """Neither the error nor any error it came from mentions the password."""
    chain = []
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    shown = "".join(
        line for e in chain for line in [*traceback.format_exception_only(e), repr(e.args)]
    )
    assert password not in shown


# Connecting


def test_wrong_password_is_refused_with_a_message_without_the_password(dovecot, imap_user):
    with pytest.raises(ImapError) as caught:
        connect(settings(dovecot, imap_user, password="hunter2-wrong")).__enter__()

    assert str(caught.value) == (
        f"127.0.0.1:{dovecot.port} refused the login for {imap_user}: check the username and "
        "password (some providers need an app password). "
        "Server said: [AUTHENTICATIONFAILED] Authentication failed."
    )
    assert_password_not_shown(caught.value, "hunter2-wrong")


def test_plain_starttls_and_ssl_connections_log_in(dovecot, imap_user):
    dovecot.append(imap_user, "INBOX", message(1))
    for security in ("none", "starttls", "ssl"):
        with connect(
            settings(dovecot, imap_user, security=security), ssl_context=dovecot.ssl_context
        ) as box:
            assert box.folder.status("INBOX", ["MESSAGES"]) == {"MESSAGES": 1}


def test_non_ascii_password_logs_in(dovecot):
    with connect(settings(dovecot, "jose", password="contraseña-ñ")) as box:
        assert folders(box) == {"inbox": "INBOX"}


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_untrusted_certificate_is_refused_before_the_password_is_sent(dovecot, imap_user, security):
    with pytest.raises(ImapError) as caught:
        connect(settings(dovecot, imap_user, security=security)).__enter__()

    port = dovecot.ssl_port if security == "ssl" else dovecot.port
    assert str(caught.value) == (
        f"The certificate of 127.0.0.1:{port} is not trusted (self-signed certificate): "
        "the connection was not secure, so nothing was sent."
    )
    assert_password_not_shown(caught.value, "secret")
    assert f"user={imap_user}" not in dovecot.log()


def test_ssl_on_the_plain_port_says_to_check_port_and_security(dovecot, imap_user):
    wrong = settings(dovecot, imap_user, security="ssl")
    wrong.port = dovecot.port

    with pytest.raises(ImapError) as caught:
        connect(wrong).__enter__()

    assert str(caught.value).startswith(f"The secure connection to 127.0.0.1:{dovecot.port} ")
    assert str(caught.value).endswith(
        "check the port and the security setting (SSL is usually port 993, STARTTLS port 143)."
    )


def test_closed_port_is_refused():
    closed = ImapSettings("127.0.0.1", free_port_nobody_uses(), "none", "rep", "secret")

    with pytest.raises(ImapError) as caught:
        connect(closed).__enter__()

    assert str(caught.value) == (
        f"127.0.0.1:{closed.port} refused the connection: check the host and port (IMAP is "
        "usually port 993 with SSL, 143 with STARTTLS)."
    )


def test_unknown_host_is_reported():
    unknown = ImapSettings("imap.does-not-exist.invalid", 993, "ssl", "rep", "secret")

    with pytest.raises(ImapError) as caught:
        connect(unknown).__enter__()

    assert str(caught.value) == (
        "The host imap.does-not-exist.invalid was not found: check its name."
    )


def test_silent_server_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts the connection; nobody ever answers
        port = silent.getsockname()[1]
        slow = ImapSettings("127.0.0.1", port, "none", "rep", "secret", timeout=0.3)

        with pytest.raises(ImapError) as caught:
            connect(slow).__enter__()

    assert str(caught.value) == f"127.0.0.1:{port} did not answer within 0.3 seconds."


def test_starttls_on_port_993_is_refused_before_connecting():
    with pytest.raises(ImapError) as caught:
        connect(ImapSettings("127.0.0.1", 993, "starttls", "rep", "secret")).__enter__()

    assert str(caught.value) == (
        "Port 993 expects SSL/TLS from the start: choose SSL, or port 143."
    )


def test_errors_inside_the_connection_become_imap_errors(dovecot, imap_user):
    with pytest.raises(ImapError) as caught, connect(settings(dovecot, imap_user)) as box:
        list(fetch_new(box, "Nope", uidvalidity=None, last_uid=0, since=None))

    assert str(caught.value) == (
        f"127.0.0.1:{dovecot.port} could not open a folder: Mailbox doesn't exist: Nope."
    )


def test_settings_repr_hides_the_password():
    assert "secret" not in repr(ImapSettings("h", 143, "starttls", "rep", "secret"))


def free_port_nobody_uses() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Folders


def test_sent_folder_found_by_its_special_use_flag_before_any_name(dovecot, imap_user):
    with dovecot.client(imap_user) as box:
        for name in ("Sent Items", "Outgoing", "Archive"):
            box.folder.create(name)

    with connect(settings(dovecot, imap_user)) as box:
        assert folders(box) == {"inbox": "INBOX", "sent": "Outgoing"}


def test_sent_folder_found_by_a_common_name_without_the_flag(dovecot, imap_user):
    with dovecot.client(imap_user) as box:
        for name in ("Archive", "Gesendete Objekte", "Entwürfe"):
            box.folder.create(name)

    with connect(settings(dovecot, imap_user)) as box:
        assert folders(box) == {"inbox": "INBOX", "sent": "Gesendete Objekte"}


def test_sent_folder_with_a_non_ascii_name(dovecot, imap_user):
    dovecot.append(imap_user, "Envoyés", message(1))

    with connect(settings(dovecot, imap_user)) as box:
        found = folders(box)
        batches = list(fetch_new(box, found["sent"], uidvalidity=None, last_uid=0, since=None))

    assert found == {"inbox": "INBOX", "sent": "Envoyés"}
    assert [uid for uid, _ in batches[0].messages] == [1]


def test_no_sent_folder(dovecot, imap_user):
    with connect(settings(dovecot, imap_user)) as box:
        assert folders(box) == {"inbox": "INBOX"}


# Fetching


def test_250_messages_come_in_three_batches_oldest_first(dovecot, imap_user):
    uids = dovecot.append(imap_user, "INBOX", *(message(n) for n in range(1, 251)))
    assert uids == list(range(1, 251))

    batches = fetch_all(dovecot, imap_user, batch=100)

    assert [len(b.messages) for b in batches] == [100, 100, 50]
    assert [b.last_uid for b in batches] == [100, 200, 250]
    assert [uid for b in batches for uid, _ in b.messages] == list(range(1, 251))
    assert [raw for b in batches for _, raw in b.messages] == [message(n) for n in range(1, 251)]
    assert {b.folder for b in batches} == {"INBOX"}
    assert len({b.uidvalidity for b in batches}) == 1
    assert not any(b.reset for b in batches)


def test_next_sync_fetches_only_what_arrived_since_the_checkpoint(dovecot, imap_user):
    dovecot.append(imap_user, "Sent", *(message(n) for n in range(1, 6)))
    first = fetch_all(dovecot, imap_user, "Sent")
    checkpoint = {"uidvalidity": first[-1].uidvalidity, "last_uid": first[-1].last_uid}

    assert fetch_all(dovecot, imap_user, "Sent", **checkpoint) == []

    dovecot.append(imap_user, "Sent", message(6), message(7))
    later = fetch_all(dovecot, imap_user, "Sent", **checkpoint)

    assert len(later) == 1
    assert later[0].messages == [(6, message(6)), (7, message(7))]
    assert later[0].last_uid == 7
    assert later[0].reset is False


def test_sync_resumed_from_a_checkpoint_has_no_gap_and_no_duplicate(dovecot, imap_user):
    """A sync that stored only the first batch (and saved its checkpoint) before it crashed."""
    dovecot.append(imap_user, "INBOX", *(message(n) for n in range(1, 26)))
    with connect(settings(dovecot, imap_user)) as box:
        stored = next(fetch_new(box, "INBOX", uidvalidity=None, last_uid=0, since=None, batch=10))

    resumed = fetch_all(
        dovecot, imap_user, uidvalidity=stored.uidvalidity, last_uid=stored.last_uid, batch=10
    )

    uids = [uid for uid, _ in stored.messages] + [uid for b in resumed for uid, _ in b.messages]
    assert uids == list(range(1, 26))


def test_uidvalidity_change_restarts_from_the_beginning(dovecot, imap_user):
    dovecot.append(imap_user, "INBOX", message(1))
    dovecot.append(imap_user, "Projects", *(message(n) for n in range(1, 4)))
    [old] = fetch_all(dovecot, imap_user, "Projects")

    dovecot.recreate_folder(imap_user, "Projects")
    dovecot.append(imap_user, "Projects", message(10), message(11))
    batches = fetch_all(
        dovecot, imap_user, "Projects", uidvalidity=old.uidvalidity, last_uid=3, batch=1
    )

    assert [b.reset for b in batches] == [True, False]
    assert [b.messages for b in batches] == [[(1, message(10))], [(2, message(11))]]
    assert batches[0].uidvalidity != old.uidvalidity


def test_uidvalidity_change_on_an_empty_folder_still_carries_the_new_checkpoint(dovecot, imap_user):
    dovecot.append(imap_user, "Projects", message(1))
    [old] = fetch_all(dovecot, imap_user, "Projects")
    dovecot.recreate_folder(imap_user, "Projects")

    [batch] = fetch_all(dovecot, imap_user, "Projects", uidvalidity=old.uidvalidity, last_uid=1)

    assert (batch.reset, batch.last_uid, batch.messages) == (True, 0, [])
    assert batch.uidvalidity != old.uidvalidity


def test_since_skips_mail_that_arrived_before_that_day(dovecot, imap_user):
    for number, day in ((1, 1), (2, 9), (3, 10), (4, 11)):
        arrived = datetime.datetime(2025, 3, day, 12, 0, tzinfo=UTC)
        dovecot.append(imap_user, "INBOX", message(number), date=arrived)

    batches = fetch_all(dovecot, imap_user, since=datetime.date(2025, 3, 10))
    resumed = fetch_all(dovecot, imap_user, since=datetime.date(2025, 3, 10), last_uid=3)

    assert [uid for b in batches for uid, _ in b.messages] == [3, 4]
    assert [uid for b in resumed for uid, _ in b.messages] == [4]


def test_fetching_leaves_messages_unread_and_flags_unchanged(dovecot, imap_user):
    dovecot.append(imap_user, "INBOX", message(1), message(2))
    dovecot.append(imap_user, "INBOX", message(3), flags=["\\Seen", "\\Flagged"])

    batches = fetch_all(dovecot, imap_user)

    assert [uid for uid, _ in batches[0].messages] == [1, 2, 3]
    with dovecot.client(imap_user) as box:
        box.folder.set("INBOX")
        flags = {
            msg.uid: set(msg.flags) - {"\\Recent"}  # \Recent belongs to the session
            for msg in box.fetch(headers_only=True, mark_seen=False)
        }
    assert flags == {"1": set(), "2": set(), "3": {"\\Seen", "\\Flagged"}}


def test_a_5_mb_message_arrives_intact(dovecot, imap_user):
    big = message(1, size=5 * 1024 * 1024)
    dovecot.append(imap_user, "INBOX", big, message(2))

    [batch] = fetch_all(dovecot, imap_user)

    assert len(big) > 5 * 1024 * 1024
    assert batch.messages == [(1, big), (2, message(2))]


def test_messages_deleted_during_a_sync_are_skipped_and_the_checkpoint_moves_on(dovecot, imap_user):
    dovecot.append(imap_user, "INBOX", *(message(n) for n in range(1, 7)))

    with connect(settings(dovecot, imap_user)) as box:
        batches = fetch_new(box, "INBOX", uidvalidity=None, last_uid=0, since=None, batch=3)
        first = next(batches)
        with dovecot.client(imap_user) as other:  # another client deletes 4 and 6 meanwhile
            other.folder.set("INBOX")
            other.delete(["4", "6"])
        rest = list(batches)

    assert [uid for uid, _ in first.messages] == [1, 2, 3]
    assert [(b.last_uid, [uid for uid, _ in b.messages]) for b in rest] == [(6, [5])]


def test_batch_size_must_be_positive(dovecot, imap_user):
    with pytest.raises(ValueError, match="batch must be at least 1"):
        fetch_all(dovecot, imap_user, batch=0)


# SMTP


def test_smtp_server_receives_a_message(smtp_server):
    mail = EmailMessage()
    mail["From"] = "rep@salesdesk.test"
    mail["To"] = "customer@example.com"
    mail["Subject"] = "Proposal"
    mail.set_content("Here it is.")

    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.login(smtp_server.username, smtp_server.password)
        client.send_message(mail)

    [received] = smtp_server.messages
    assert received.mail_from == "rep@salesdesk.test"
    assert received.rcpt_tos == ["customer@example.com"]
    assert b"Subject: Proposal\r\n" in received.content
    assert received.content.endswith(b"Here it is.\r\n")


def test_smtp_server_refuses_a_wrong_password(smtp_server):
    with (
        smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        client.login(smtp_server.username, "wrong")
    assert smtp_server.messages == []
