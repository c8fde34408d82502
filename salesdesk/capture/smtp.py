"""Sending mail through a user's own SMTP account: logging in, and handing over one message.

This module talks SMTP and nothing else (no database), as `imap.py` does IMAP. Every failure of
smtplib, of the socket or of TLS becomes an `SmtpError` whose message is meant for the user and
never contains the password. TLS always verifies the certificate and the host name
(`ssl.create_default_context()`), and every connection has a timeout.
"""

import base64
import contextlib
import ipaddress
import smtplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Security = Literal["ssl", "starttls", "none"]


class SmtpError(Exception):
    """A failure to show the user as it is (wrong password, unreachable host, a refused
    recipient...). The message never contains the password."""


@dataclass
class SmtpSettings:
    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)
    timeout: float = 30  # seconds, for connecting and for every answer after that

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def helo_name(host: str) -> str:
    """What Salesdesk calls itself in EHLO: its own host name, an IP address as a literal. (The
    default, `socket.getfqdn()`, can wait seconds for a reverse DNS lookup.)"""
    host = host or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]"


@contextlib.contextmanager
def connect(
    settings: SmtpSettings,
    *,
    helo: str = "localhost",
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[smtplib.SMTP]:
    """A logged-in smtplib client, closed at the end. Failures here and inside the `with` block
    become `SmtpError`. `ssl_context` replaces the default one (which verifies the certificate
    and the host name) for servers with a private certificate authority."""
    if settings.security == "starttls" and settings.port == 465:
        raise SmtpError(
            "Port 465 expects SSL/TLS from the start: choose SSL/TLS, or port 587 for STARTTLS."
        )
    if settings.security != "none":
        ssl_context = ssl_context or ssl.create_default_context()
    client = None
    try:
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                local_hostname=helo,
                timeout=settings.timeout,
                context=ssl_context,
            )
        else:
            client = smtplib.SMTP(
                settings.host, settings.port, local_hostname=helo, timeout=settings.timeout
            )
        client.ehlo()
        if settings.security == "starttls":
            if not client.has_extn("starttls"):
                raise SmtpError(
                    f"{settings.address} does not offer STARTTLS: choose SSL/TLS (usually port "
                    "465) instead."
                )
            client.starttls(context=ssl_context)
            client.ehlo()
        _login(client, settings)
        yield client
    except SmtpError:
        raise
    except (smtplib.SMTPException, OSError, UnicodeError) as error:  # OSError: TLS, timeouts
        raise _smtp_error(error, settings) from None
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.quit()
            with contextlib.suppress(Exception):
                client.close()


def check(settings: SmtpSettings, *, helo: str = "localhost", ssl_context=None) -> None:
    """Log in and out, or raise SmtpError with what went wrong."""
    with connect(settings, helo=helo, ssl_context=ssl_context):
        pass


def send(
    settings: SmtpSettings,
    *,
    sender: str,
    recipients: list[str],
    message: bytes,
    helo: str = "localhost",
    ssl_context: ssl.SSLContext | None = None,
) -> dict[str, str]:
    """Hand `message` (bytes, CRLF line ends) to the server for `recipients`. Returns the
    recipients the server refused while accepting the others ({address: what it said}); raises
    SmtpError when nothing was sent."""
    with connect(settings, helo=helo, ssl_context=ssl_context) as client:
        refused = client.sendmail(sender, recipients, message)
    return {address: _said(code, text) for address, (code, text) in refused.items()}


def _login(client: smtplib.SMTP, settings: SmtpSettings) -> None:
    if not client.has_extn("auth"):
        hint = (
            ": servers usually offer it only over an encrypted connection, so choose STARTTLS "
            "or SSL/TLS"
            if settings.security == "none"
            else ""
        )
        raise SmtpError(f"{settings.address} does not offer to log in (no AUTH){hint}.")
    try:
        if (settings.username + settings.password).isascii():
            client.login(settings.username, settings.password)
        else:
            _login_utf8(client, settings)
    except smtplib.SMTPAuthenticationError as error:
        raise SmtpError(
            f"{settings.address} refused the login for {settings.username}: check the username "
            "and password (some providers need an app password). Server said: "
            f"{_said(error.smtp_code, error.smtp_error)}"
        ) from None
    except smtplib.SMTPException as error:
        if "No suitable authentication method" in str(error):
            raise SmtpError(
                f"{settings.address} offers no login method Salesdesk knows (PLAIN, LOGIN or "
                "CRAM-MD5)."
            ) from None
        raise


def _login_utf8(client: smtplib.SMTP, settings: SmtpSettings) -> None:
    """AUTH PLAIN with UTF-8 credentials: smtplib encodes them as ASCII and would fail."""
    mechanisms = client.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in mechanisms:
        raise SmtpError(
            f"{settings.address} cannot take a username or password with non-ASCII characters "
            "(it does not offer AUTH PLAIN)."
        )
    credentials = b"\0" + settings.username.encode() + b"\0" + settings.password.encode()
    code, text = client.docmd("AUTH", "PLAIN " + base64.b64encode(credentials).decode("ascii"))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, text)


def _said(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return f"{code} {' '.join(text.split())}".strip()


def _smtp_error(error: Exception, settings: SmtpSettings) -> SmtpError:
    address = settings.address
    if isinstance(error, ssl.SSLCertVerificationError):
        return SmtpError(
            f"The certificate of {address} is not trusted ({error.verify_message}): the "
            "connection was not secure, so nothing was sent."
        )
    if isinstance(error, ssl.SSLError):
        return SmtpError(
            f"The secure connection to {address} failed ({error.reason or error}): check the port "
            "and the security setting (SSL/TLS is usually port 465, STARTTLS port 587)."
        )
    if isinstance(error, TimeoutError):
        return SmtpError(f"{address} did not answer within {settings.timeout:g} seconds.")
    if isinstance(error, socket.gaierror):
        return SmtpError(f"The host {settings.host} was not found: check its name.")
    if isinstance(error, ConnectionRefusedError):
        return SmtpError(
            f"{address} refused the connection: check the host and port (SMTP is usually port 587 "
            "with STARTTLS, 465 with SSL/TLS)."
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return SmtpError(
            f"{address} closed the connection unexpectedly: check the port and the security "
            "setting (SSL/TLS is usually port 465, STARTTLS port 587)."
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{recipient} ({_said(code, text)})"
            for recipient, (code, text) in error.recipients.items()
        )
        return SmtpError(f"{address} refused every recipient: {refused}.")
    if isinstance(error, smtplib.SMTPSenderRefused):
        return SmtpError(
            f"{address} refused to send as {error.sender}: "
            f"{_said(error.smtp_code, error.smtp_error)}"
        )
    if isinstance(error, smtplib.SMTPDataError):
        return SmtpError(
            f"{address} refused the message: {_said(error.smtp_code, error.smtp_error)}"
        )
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        return SmtpError(
            f"{address} refused to talk to Salesdesk: {_said(error.smtp_code, error.smtp_error)}"
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return SmtpError(
            f"{address} answered something unexpected: {_said(error.smtp_code, error.smtp_error)}"
        )
    if isinstance(error, UnicodeError):
        return SmtpError(
            f"{address} cannot take an address with non-ASCII characters before the @."
        )
    if isinstance(error, OSError):
        return SmtpError(f"Could not reach {address}: {error.strerror or error}.")
    return SmtpError(f"{address} answered something unexpected: {error}")
