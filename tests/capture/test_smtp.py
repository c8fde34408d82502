"""SMTP against a real aiosmtpd on loopback (servers.py): logging in, sending, and every failure
as a clear message without the password."""

import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from salesdesk.capture import smtp
from salesdesk.capture.smtp import SmtpError, SmtpSettings
from tests.capture.servers import SmtpServer, free_port, self_signed_certificate

controller_module = pytest.importorskip("aiosmtpd.controller")

MESSAGE = (
    b"From: alice@salesdesk.test\r\nTo: ada@globex.com\r\nSubject: Hello\r\n"
    b"Message-ID: <m1@salesdesk.test>\r\n\r\nHello Ada.\r\n"
)


def settings_for(server: SmtpServer, **changes) -> SmtpSettings:
    values = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": server.username,
        "password": server.password,
        "timeout": 5,
    }
    return SmtpSettings(**{**values, **changes})


@contextlib.contextmanager
def running(server: SmtpServer, **options) -> Iterator[SmtpServer]:
    options = {"auth_require_tls": False, **options}
    controller = controller_module.Controller(
        server,
        hostname=server.host,
        port=server.port,
        authenticator=server.authenticate,
        **options,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path)


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def test_a_message_is_handed_over_with_its_envelope(smtp_server):
    refused = smtp.send(
        settings_for(smtp_server),
        sender="alice@salesdesk.test",
        recipients=["ada@globex.com", "bob@globex.com"],
        message=MESSAGE,
    )

    assert refused == {}
    [received] = smtp_server.messages
    assert received.mail_from == "alice@salesdesk.test"
    assert received.rcpt_tos == ["ada@globex.com", "bob@globex.com"]
    assert received.content == MESSAGE


def test_a_wrong_password_says_so_without_the_password(smtp_server):
    with pytest.raises(SmtpError) as caught:
        smtp.check(settings_for(smtp_server, password="hunter2-wrong"))

    message = str(caught.value)
    assert message.startswith(
        f"{smtp_server.host}:{smtp_server.port} refused the login for rep: check the username "
        "and password (some providers need an app password). Server said: 535"
    )
    assert "hunter2" not in message
    assert smtp_server.messages == []


def test_a_password_with_non_ascii_letters_logs_in(smtp_server):
    smtp_server.password = "contraseña-ñ"

    smtp.check(settings_for(smtp_server))

    with pytest.raises(SmtpError, match="refused the login"):
        smtp.check(settings_for(smtp_server, password="contraseña-n"))


def test_a_closed_port_is_refused_clearly():
    port = free_port()

    with pytest.raises(SmtpError) as caught:
        smtp.check(SmtpSettings("127.0.0.1", port, "none", "rep", "secret", timeout=5))

    assert str(caught.value) == (
        f"127.0.0.1:{port} refused the connection: check the host and port (SMTP is usually "
        "port 587 with STARTTLS, 465 with SSL/TLS)."
    )


def test_an_unknown_host_is_named():
    with pytest.raises(SmtpError) as caught:
        smtp.check(SmtpSettings("smtp.nowhere.invalid", 587, "none", "rep", "x", timeout=5))

    assert str(caught.value) == "The host smtp.nowhere.invalid was not found: check its name."


def test_ssl_against_a_plain_server_explains_the_security_setting(smtp_server):
    with pytest.raises(SmtpError) as caught:
        smtp.check(settings_for(smtp_server, security="ssl"))

    assert f"The secure connection to {smtp_server.host}:{smtp_server.port} failed" in str(
        caught.value
    )
    assert "check the port and the security setting" in str(caught.value)


def test_starttls_against_a_server_without_it_says_so(smtp_server):
    with pytest.raises(SmtpError) as caught:
        smtp.check(settings_for(smtp_server, security="starttls"))

    assert str(caught.value) == (
        f"{smtp_server.host}:{smtp_server.port} does not offer STARTTLS: choose SSL/TLS "
        "(usually port 465) instead."
    )


def test_starttls_on_port_465_is_refused_before_connecting():
    with pytest.raises(SmtpError, match="Port 465 expects SSL/TLS from the start"):
        smtp.check(SmtpSettings("127.0.0.1", 465, "starttls", "rep", "secret"))


def test_an_untrusted_certificate_is_refused_and_a_trusted_one_works(certificate):
    server = SmtpServer(host="127.0.0.1", port=free_port())
    with running(server, ssl_context=server_context(certificate)):
        with pytest.raises(SmtpError) as caught:
            smtp.check(settings_for(server, security="ssl"))
        assert str(caught.value).startswith(
            f"The certificate of 127.0.0.1:{server.port} is not trusted (self-signed certificate"
        )
        assert str(caught.value).endswith("the connection was not secure, so nothing was sent.")

        trusting = ssl.create_default_context(cafile=str(certificate[0]))
        smtp.send(
            settings_for(server, security="ssl"),
            sender="alice@salesdesk.test",
            recipients=["ada@globex.com"],
            message=MESSAGE,
            ssl_context=trusting,
        )
    assert len(server.messages) == 1


def test_starttls_upgrades_the_connection_before_the_login(certificate):
    server = SmtpServer(host="127.0.0.1", port=free_port())
    context = server_context(certificate)
    with running(server, tls_context=context, require_starttls=True, auth_require_tls=True):
        with pytest.raises(SmtpError, match="does not offer to log in"):
            smtp.check(settings_for(server))  # no AUTH before TLS

        smtp.check(
            settings_for(server, security="starttls"),
            ssl_context=ssl.create_default_context(cafile=str(certificate[0])),
        )


class Picky(SmtpServer):
    """Refuses recipients at refused.example."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_refused_recipients_are_reported_and_the_others_get_it():
    server = Picky(host="127.0.0.1", port=free_port())
    with running(server):
        refused = smtp.send(
            settings_for(server),
            sender="alice@salesdesk.test",
            recipients=["ada@globex.com", "ghost@refused.example"],
            message=MESSAGE,
        )
        assert refused == {"ghost@refused.example": "550 5.1.1 No such user here"}
        assert server.messages[0].rcpt_tos == ["ada@globex.com"]

        with pytest.raises(SmtpError) as caught:
            smtp.send(
                settings_for(server),
                sender="alice@salesdesk.test",
                recipients=["ghost@refused.example"],
                message=MESSAGE,
            )
    assert str(caught.value) == (
        f"127.0.0.1:{server.port} refused every recipient: ghost@refused.example "
        "(550 5.1.1 No such user here)."
    )
    assert len(server.messages) == 1


def test_helo_names_an_ip_address_as_a_literal():
    assert smtp.helo_name("127.0.0.1") == "[127.0.0.1]"
    assert smtp.helo_name("::1") == "[::1]"
    assert smtp.helo_name("crm.example.com") == "crm.example.com"
    assert smtp.helo_name("") == "localhost"
