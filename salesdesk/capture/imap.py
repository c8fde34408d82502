"""Reading new mail from an IMAP mailbox, in batches, without changing anything on the server.

This module talks IMAP and nothing else: it never touches the database. The sync job owns the
checkpoint, and crash safety comes from this contract:

    with connect(settings) as box:
        for role, folder in folders(box).items():
            checkpoint = <load (uidvalidity, last_uid) for this mailbox and folder>
            for batch in fetch_new(box, folder, uidvalidity=..., last_uid=..., since=...):
                <store batch.messages (idempotently) and, in the same transaction,
                 save the checkpoint (batch.uidvalidity, batch.last_uid)>

A crash before a batch is stored leaves the old checkpoint, so the next sync fetches that batch
again; a crash after it is stored never fetches it twice. Messages are read with BODY.PEEK[] in
a folder opened read-only (EXAMINE), so syncing never marks mail as read.
"""

import contextlib
import datetime
import imaplib
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError, MailboxFolderSelectError, MailboxLoginError

Security = Literal["ssl", "starttls", "none"]

# Names mail clients and servers give the sent folder, for servers without SPECIAL-USE (RFC
# 6154). Compared case-insensitively, with or without an "INBOX." / "INBOX/" prefix; the first
# match in this order wins.
SENT_FOLDER_NAMES = (
    "Sent",
    "Sent Items",
    "Sent Messages",
    "Sent Mail",
    "[Gmail]/Sent Mail",
    "[Google Mail]/Sent Mail",
    "Gesendet",
    "Gesendete Objekte",
    "Gesendete Elemente",
    "Envoyés",
    "Éléments envoyés",
    "Messages envoyés",
    "Elementos enviados",
    "Enviados",
    "Itens enviados",
    "Posta inviata",
    "Inviata",
    "Verzonden items",
    "Verzonden",
    "Skickat",
    "Skickade objekt",
    "Sendt",
    "Sendte elementer",
    "Lähetetyt",
    "Wysłane",
    "Odeslaná pošta",
    "Отправленные",
)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_DOVECOT_TIMING = re.compile(r" \([\d.]+(?: \+ [\d.]+)* secs\)")  # "(0.001 + 0.000 secs)"


class ImapError(Exception):
    """A failure to show the user as it is (wrong password, unreachable host...). The message
    never contains the password."""


@dataclass
class ImapSettings:
    host: str
    port: int
    security: Security
    username: str
    password: str = field(repr=False)
    timeout: float = 30  # seconds, for connecting and for every answer after that

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class Batch:
    """Up to `batch` messages of one folder, oldest first. After storing them, the caller saves
    (`uidvalidity`, `last_uid`) as the folder's checkpoint. `last_uid` can be higher than the
    last message's UID when messages were deleted while we read; `reset` (first batch only) says
    the folder's UIDVALIDITY changed, so every UID the caller knew for it is void."""

    folder: str
    uidvalidity: int
    last_uid: int
    messages: list[tuple[int, bytes]]
    reset: bool = False


@contextlib.contextmanager
def connect(
    settings: ImapSettings, *, ssl_context: ssl.SSLContext | None = None
) -> Iterator[BaseMailBox]:
    """A logged-in imap-tools mailbox, logged out at the end. Connection, TLS and protocol
    failures, here and inside the `with` block, become `ImapError`. `ssl_context` replaces the
    default one (which verifies the certificate and the host name) for servers with a private
    certificate authority."""
    if settings.security != "none":
        # imaplib's own default context verifies nothing, so always pass one.
        ssl_context = ssl_context or ssl.create_default_context()
    box = _login(settings, ssl_context)
    try:
        yield box
    except (imaplib.IMAP4.error, ImapToolsError, OSError) as error:  # OSError: TLS, timeouts
        raise _imap_error(error, settings) from error
    finally:
        with contextlib.suppress(Exception):
            box.logout()


def _login(settings: ImapSettings, ssl_context: ssl.SSLContext | None) -> BaseMailBox:
    if settings.security == "starttls" and settings.port == 993:
        raise ImapError("Port 993 expects SSL/TLS from the start: choose SSL, or port 143.")
    try:
        if settings.security == "ssl":
            box = MailBox(
                settings.host, settings.port, timeout=settings.timeout, ssl_context=ssl_context
            )
        elif settings.security == "starttls":
            box = MailBoxStartTls(
                settings.host, settings.port, timeout=settings.timeout, ssl_context=ssl_context
            )
        else:
            box = MailBoxUnencrypted(settings.host, settings.port, timeout=settings.timeout)
    except (imaplib.IMAP4.error, ImapToolsError, OSError) as error:
        raise _imap_error(error, settings) from error
    try:
        credentials = settings.username + settings.password
        if credentials.isascii():
            box.login(settings.username, settings.password, initial_folder=None)
        else:
            # LOGIN only takes ASCII (imaplib would fail to encode); AUTHENTICATE PLAIN is UTF-8.
            box.login_utf8(settings.username, settings.password, initial_folder=None)
    except (MailboxLoginError, imaplib.IMAP4.error) as error:
        with contextlib.suppress(Exception):
            box.client.shutdown()
        if isinstance(error, imaplib.IMAP4.abort):
            raise _imap_error(error, settings) from error
        raise ImapError(
            f"{settings.address} refused the login for {settings.username}: check the username "
            f"and password (some providers need an app password). Server said: {_said(error)}"
        ) from None
    except (ImapToolsError, OSError) as error:
        with contextlib.suppress(Exception):
            box.client.shutdown()
        raise _imap_error(error, settings) from error
    return box


def _said(error: Exception) -> str:
    """The server's own words from an imaplib or imap-tools error, without our command."""
    result = getattr(error, "command_result", None)
    if result is None:
        return str(error)
    lines = [item.decode(errors="replace") if isinstance(item, bytes) else "" for item in result[1]]
    return _DOVECOT_TIMING.sub("", " ".join(line for line in lines if line)) or str(result[0])


def _imap_error(error: Exception, settings: ImapSettings) -> ImapError:
    address = settings.address
    if isinstance(error, ssl.SSLCertVerificationError):
        return ImapError(
            f"The certificate of {address} is not trusted ({error.verify_message}): "
            "the connection was not secure, so nothing was sent."
        )
    if isinstance(error, ssl.SSLError):
        return ImapError(
            f"The secure connection to {address} failed ({error.reason or error}): check the "
            "port and the security setting (SSL is usually port 993, STARTTLS port 143)."
        )
    if isinstance(error, TimeoutError):
        return ImapError(f"{address} did not answer within {settings.timeout:g} seconds.")
    if isinstance(error, socket.gaierror):
        return ImapError(f"The host {settings.host} was not found: check its name.")
    if isinstance(error, ConnectionRefusedError):
        return ImapError(
            f"{address} refused the connection: check the host and port (IMAP is usually port "
            "993 with SSL, 143 with STARTTLS)."
        )
    if isinstance(error, imaplib.IMAP4.abort) and "TLS not supported" in str(error):
        return ImapError(f"{address} does not offer STARTTLS: choose SSL (port 993) instead.")
    if isinstance(error, MailboxFolderSelectError):
        return ImapError(f"{address} could not open a folder: {_said(error)}")
    if isinstance(error, OSError):
        return ImapError(f"Could not reach {address}: {error.strerror or error}.")
    return ImapError(f"{address} answered something unexpected: {_said(error)}")


def folders(box: BaseMailBox) -> dict[str, str]:
    """The folders to sync: {"inbox": name, "sent": name}, "sent" only when found. The sent
    folder is the one flagged \\Sent (SPECIAL-USE), else the first of SENT_FOLDER_NAMES."""
    listed = [info for info in box.folder.list() if "\\Noselect" not in info.flags]
    found = {"inbox": next((i.name for i in listed if i.name.upper() == "INBOX"), "INBOX")}
    flagged = [i.name for i in listed if "\\Sent" in i.flags]
    if flagged:
        found["sent"] = flagged[0]
        return found
    by_name: dict[str, str] = {}
    for info in listed:
        name = info.name
        if info.delim and name.upper().startswith("INBOX" + info.delim):
            name = name[len("INBOX" + info.delim) :]
        by_name.setdefault(name.casefold(), info.name)
    for candidate in SENT_FOLDER_NAMES:
        if candidate.casefold() in by_name:
            found["sent"] = by_name[candidate.casefold()]
            break
    return found


def fetch_new(
    box: BaseMailBox,
    folder: str,
    *,
    uidvalidity: int | None,
    last_uid: int,
    since: datetime.date | None,
    batch: int = 100,
) -> Iterator[Batch]:
    """The messages of `folder` with a UID above `last_uid`, oldest first, `batch` at a time.

    `uidvalidity`/`last_uid` are the caller's checkpoint (None/0 before the first sync). When
    the server's UIDVALIDITY differs, old UIDs mean nothing: the folder is read from the start
    and the first batch says `reset=True` (it may hold no messages, to carry the new checkpoint).
    `since` limits the sync to messages that arrived on or after that day (IMAP SEARCH SINCE,
    the server's arrival date); pass the same value on every sync (the first-sync window fixed
    when the mailbox was connected, or None) so a sync resumed after a crash reads exactly what
    an uninterrupted one would have.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    # EXAMINE (read-only) on top of BODY.PEEK: nothing in the folder can change because of us.
    box.folder.set(folder, readonly=True)
    current = _uidvalidity(box, folder)
    reset = uidvalidity is not None and uidvalidity != current
    start = 0 if reset else last_uid
    criteria = f"UID {start + 1}:*"
    if since is not None:
        criteria += f" SINCE {since.day}-{_MONTHS[since.month - 1]}-{since.year}"
    # "n:*" always matches the highest UID, even below n: filter again here.
    uids = sorted(uid for uid in map(int, box.uids(criteria, charset=None)) if uid > start)
    if reset and not uids:
        yield Batch(folder=folder, uidvalidity=current, last_uid=0, messages=[], reset=True)
        return
    for index in range(0, len(uids), batch):
        chunk = uids[index : index + batch]
        yield Batch(
            folder=folder,
            uidvalidity=current,
            last_uid=chunk[-1],
            messages=_fetch_bodies(box, chunk),
            reset=reset and index == 0,
        )


def _uidvalidity(box: BaseMailBox, folder: str) -> int:
    """From the EXAMINE answer (imaplib keeps its untagged responses), else from STATUS."""
    values = box.client.untagged_responses.get("UIDVALIDITY")
    if values and values[-1]:
        return int(values[-1])
    return box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"]


def _fetch_bodies(box: BaseMailBox, uids: list[int]) -> list[tuple[int, bytes]]:
    """One UID FETCH for the chunk. A UID deleted since the search is simply absent."""
    typ, data = box.client.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise ImapError(f"The server refused to send the messages: {_said_data(data)}")
    wanted = set(uids)
    messages = {}
    for index, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        header, body = item
        match = _FETCH_UID.search(header)
        if match is None and index + 1 < len(data) and isinstance(data[index + 1], bytes):
            match = _FETCH_UID.search(data[index + 1])  # UID after the literal: "... UID 7)"
        if match is not None and int(match.group(1)) in wanted:
            messages[int(match.group(1))] = body
    return sorted(messages.items())


def _said_data(data: list) -> str:
    return " ".join(item.decode(errors="replace") for item in data if isinstance(item, bytes))
