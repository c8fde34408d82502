"""Real mail servers for the capture tests: Dovecot (IMAP) and aiosmtpd (SMTP) on loopback.

Dovecot comes from Debian's `dovecot-imapd` (`make dovecot` installs it); it runs in the
foreground with its own config, Maildir and self-signed certificate under a temporary directory,
never as the system service. Without it the IMAP tests skip with a one-line reason.
"""

import contextlib
import datetime
import ipaddress
import itertools
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

START_TIMEOUT = 15  # seconds; Dovecot is usually up in well under one


def free_port() -> int:
    """A loopback port that nothing listens on now (the tiny race with other processes is
    accepted: tests are the only users of these ports)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key, as PEM files. Tests that should
    trust it load it into an `ssl.SSLContext`; everyone else rejects it, as they should."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
# Fast failed logins: Dovecot otherwise answers them after up to 2 s (auth_failure_delay), and
# its anvil process makes the next login from the address wait (the auth penalty, off below).
auth_failure_delay = 0
ssl = yes
ssl_cert = <{d}/tls/cert.pem
ssl_key = <{d}/tls/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u/Maildir
first_valid_uid = 1
{unprivileged}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users.passwd
}}
# Any other user name logs in with "secret", so each test can have a mailbox of its own.
passdb {{
  driver = static
  args = password=secret
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  # A sent folder no client would guess by its name: found only through its \\Sent flag.
  mailbox Outgoing {{
    special_use = \\Sent
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
  }}
{login_chroot}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{anvil_chroot}
}}
"""

# Without root, Dovecot cannot switch users: every process runs as the current one.
UNPRIVILEGED = """\
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}"""


# Users with their own password; any other name logs in with "secret" (see the static passdb).
USERS = {"rep": "secret", "other": "secret", "jose": "contraseña-ñ"}


def _find_dovecot() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")


@dataclass
class Dovecot:
    """A running Dovecot: plain IMAP (with STARTTLS) on `port`, IMAP over TLS on `ssl_port`, both
    on `host`, with a certificate only `ssl_context` trusts. `passwords` maps the users of
    USERS and those `new_user` made to their passwords."""

    directory: Path
    host: str
    port: int
    ssl_port: int
    cert_path: Path
    passwords: dict[str, str] = field(default_factory=dict)
    _user_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_path))

    def new_user(self) -> str:
        """A user nobody used before, so with an empty mailbox (INBOX only); password "secret"."""
        name = f"user{next(self._user_numbers)}"
        self.passwords[name] = "secret"
        return name

    @contextlib.contextmanager
    def client(self, user: str) -> Iterator[MailBoxUnencrypted]:
        """A logged-in imap-tools mailbox, for arranging a test's mail."""
        with MailBoxUnencrypted(self.host, self.port, timeout=30) as box:
            box.login(user, self.passwords[user], initial_folder=None)
            yield box

    def append(
        self,
        user: str,
        folder: str,
        *messages: bytes,
        flags: Iterable[str] = (),
        date: datetime.datetime | None = None,
    ) -> list[int]:
        """APPEND the messages (creating the folder when needed) and return the UIDs Dovecot gave
        them (UIDPLUS' APPENDUID)."""
        when = date or datetime.datetime.now(datetime.UTC)
        uids = []
        with self.client(user) as box:
            if not box.folder.exists(folder):
                box.folder.create(folder)
            for raw in messages:
                _, data = box.append(raw, folder, dt=when, flag_set=list(flags))
                uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", data[-1]).group(1)))
        return uids

    def recreate_folder(self, user: str, folder: str) -> None:
        """Delete the folder and create it again: a new UIDVALIDITY, UIDs start over at 1."""
        with self.client(user) as box:
            box.folder.delete(folder)
            box.folder.create(folder)

    def log(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _wait_for_port(process: subprocess.Popen, host: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.02)
    _stop(process)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    pytest.fail(f"Dovecot did not start on {host}:{port}:\n{tail}")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    binary = _find_dovecot()
    if binary is None:
        pytest.skip("IMAP tests skipped: dovecot is missing (make dovecot installs dovecot-imapd)")
    # Not pytest's tmp_path: its folders are private to root, and Dovecot's own processes run as
    # the dovecot user. A short path also keeps Dovecot's socket names under the 108-byte limit.
    directory = Path(tempfile.mkdtemp(prefix="salesdesk-dovecot-"))
    directory.chmod(0o755)
    for sub in ("run", "state", "mail", "tls"):
        (directory / sub).mkdir()
    # Dovecot looks at a changed passwd-file at most once a second: users are fixed up front.
    (directory / "users.passwd").write_text(
        "".join(f"{name}:{{PLAIN}}{password}::::::\n" for name, password in USERS.items()),
        encoding="utf-8",
    )
    cert_path, _ = self_signed_certificate(directory / "tls")

    if os.getuid() == 0:
        uid = gid = "dovecot"
        unprivileged = login_chroot = anvil_chroot = ""
        shutil.chown(directory / "mail", "dovecot", "dovecot")
    else:
        import grp
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        uid, gid = os.getuid(), os.getgid()
        unprivileged = UNPRIVILEGED.format(user=user, group=group)
        login_chroot = "  chroot ="
        anvil_chroot = "  chroot ="

    server = Dovecot(
        directory=directory,
        host="127.0.0.1",
        port=free_port(),
        ssl_port=free_port(),
        cert_path=cert_path,
        passwords=dict(USERS),
    )
    conf = directory / "dovecot.conf"
    conf.write_text(
        DOVECOT_CONF.format(
            d=directory,
            uid=uid,
            gid=gid,
            port=server.port,
            ssl_port=server.ssl_port,
            unprivileged=unprivileged,
            login_chroot=login_chroot,
            anvil_chroot=anvil_chroot,
        )
    )
    # A process group of its own, so that stopping it reaches every Dovecot process at once.
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_port(process, server.host, server.port, directory / "dovecot.log")
        _wait_for_port(process, server.host, server.ssl_port, directory / "dovecot.log")
        yield server
    finally:
        _stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the whole group, then SIGKILL: Dovecot's login processes otherwise linger for
    about 6 s, and nothing it holds survives the temporary directory anyway."""
    for sig, grace in ((signal.SIGTERM, 0.5), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
            return


@pytest.fixture
def imap_user(dovecot) -> str:
    """A fresh Dovecot user (password "secret") per test: its mailbox starts empty."""
    return dovecot.new_user()


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes  # the message as sent, CRLF line ends


@dataclass
class SmtpServer:
    """aiosmtpd on loopback. AUTH (PLAIN/LOGIN, without TLS) accepts `username`/`password`; a
    client that does not log in may send too."""

    host: str
    port: int
    username: str = "rep"
    password: str = "secret"
    messages: list[ReceivedMail] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(
            ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        is_valid = (
            auth_data.login == self.username.encode()
            and auth_data.password == self.password.encode()
        )
        return AuthResult(success=is_valid, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    controller_module = pytest.importorskip("aiosmtpd.controller")
    server = SmtpServer(host="127.0.0.1", port=free_port())
    controller = controller_module.Controller(
        server,
        hostname=server.host,
        port=server.port,
        authenticator=server.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
