"""Sending e-mail from Salesdesk through the user's own SMTP account, and what comes with it:
the sending settings of a mailbox, e-mail templates, and the copy for the Sent folder.

A sent message is logged by the capture pipeline, as if the mailbox's sync had found it in the
Sent folder (`capture_messages(..., source=SENT)`): the same contacts, company and open deal,
the same interaction times. Its Message-ID is its capture key, so when the sync does find it
later (the copy Salesdesk puts in the Sent folder, or the one the provider keeps) it is a
duplicate and creates nothing. Nothing is logged unless the server accepted the message.

The network is never used inside a database transaction: the SMTP login check and the sending
come first, the writes after.
"""

import dataclasses
import html
import logging
import re
from email import policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from secrets import token_hex
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from imap_tools import MailMessageFlags

from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.activities.models import Activity
from salesdesk.capture import addresses, imap, placeholders, secrets, smtp, tracking
from salesdesk.capture.imap import ImapError, ImapSettings
from salesdesk.capture.models import (
    CapturedMessage,
    EmailTemplate,
    Mailbox,
    SentEmail,
    TrackedLink,
)
from salesdesk.capture.parsing import parse_message
from salesdesk.capture.pipeline import Incoming, capture_messages, message_key
from salesdesk.capture.smtp import SmtpError, SmtpSettings
from salesdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesdesk.pipeline.models import Deal

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 15  # seconds: a person is waiting for the answer
SEND_TIMEOUT = 30
MAX_RECIPIENTS = 50  # To and Cc together
MAX_BODY = 100_000  # characters
MAX_TRACKED_LINKS = 50  # per message; further links stay as written
MAX_TRACKED_URL = 2000  # characters; a longer link stays as written
SMTP_CONNECTION_FIELDS = ("smtp_host", "smtp_port", "smtp_security", "smtp_username")

# Links in plain text: http(s) up to a space or a character that cannot end a URL in prose.
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}'"


# --- Sending settings of a mailbox ----------------------------------------------------------


@dataclasses.dataclass
class SendingFields:
    host: str
    port: int
    security: str
    username: str = ""  # "": the IMAP username
    saves_sent_copy: bool = True


def _helo() -> str:
    return smtp.helo_name(urlsplit(settings.SALESDESK_BASE_URL).hostname or "")


def smtp_settings(mailbox: Mailbox, *, timeout: float = SEND_TIMEOUT) -> SmtpSettings:
    """How to reach the mailbox's SMTP account: its own username and password, or the IMAP
    ones where none are saved. Raises ValidationFailed when the password cannot be read."""
    try:
        password = secrets.decrypt(mailbox.smtp_secret or mailbox.secret)
    except secrets.SecretError as error:
        raise ValidationFailed(str(error), code="secret_unreadable") from None
    return SmtpSettings(
        host=mailbox.smtp_host,
        port=mailbox.smtp_port,
        security=mailbox.smtp_security,
        username=mailbox.smtp_username or mailbox.username,
        password=password,
        timeout=timeout,
    )


def _validated_sending(fields: SendingFields) -> SendingFields:
    errors = {}
    host = (fields.host or "").strip().lower().rstrip(".")
    username = (fields.username or "").strip()
    if not host or len(host) > 253 or any(ch.isspace() or ch in "/:@" for ch in host):
        errors["smtp_host"] = "Enter the server's host name, such as smtp.example.com."
    if not 1 <= int(fields.port or 0) <= 65535:
        errors["smtp_port"] = "A port is a number from 1 to 65535."
    if fields.security not in Mailbox.Security.values:
        errors["smtp_security"] = "Choose SSL/TLS, STARTTLS or none."
    if len(username) > 254:
        errors["smtp_username"] = "A username has at most 254 characters."
    if errors:
        raise ValidationFailed("Check the sending settings.", fields=errors)
    return dataclasses.replace(fields, host=host, username=username)


def mailbox_sending_check(*, mailbox: Mailbox, fields: SendingFields, password: str) -> None:
    """Log in to the SMTP server, or raise ValidationFailed with what it said (never the
    password)."""
    settings_ = SmtpSettings(
        host=fields.host,
        port=fields.port,
        security=fields.security,
        username=fields.username or mailbox.username,
        password=password,
        timeout=CHECK_TIMEOUT,
    )
    try:
        smtp.check(settings_, helo=_helo())
    except SmtpError as error:
        raise ValidationFailed(str(error), code="smtp_unreachable") from None


def mailbox_sending_update(
    *,
    mailbox: Mailbox,
    actor: User,
    fields: SendingFields,
    password: str = "",
    check: bool = True,
) -> Mailbox:
    """Set up or change sending from a mailbox. An empty username means the IMAP one; an empty
    password keeps the saved one (the IMAP password when none was saved). The login is checked
    first whenever the server, the account or the password changes."""
    mailbox = _own(mailbox_id=mailbox.pk, actor=actor)
    fields = _validated_sending(fields)
    changed = (
        not mailbox.sends
        or bool(password)
        or (mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security, mailbox.smtp_username)
        != (fields.host, fields.port, fields.security, fields.username)
    )
    if check and changed:
        try:
            saved = secrets.decrypt(mailbox.smtp_secret or mailbox.secret)
        except secrets.SecretError as error:
            if not password:
                raise ValidationFailed(
                    str(error), fields={"smtp_password": "Enter the password."}
                ) from None
            saved = ""
        mailbox_sending_check(mailbox=mailbox, fields=fields, password=password or saved)
    with transaction.atomic():
        mailbox = _own(mailbox_id=mailbox.pk, actor=actor, lock=True)
        mailbox.smtp_host, mailbox.smtp_port = fields.host, fields.port
        mailbox.smtp_security, mailbox.smtp_username = fields.security, fields.username
        mailbox.saves_sent_copy = fields.saves_sent_copy
        update = [*SMTP_CONNECTION_FIELDS, "saves_sent_copy"]
        if password:
            mailbox.smtp_secret = secrets.encrypt(password)
            update.append("smtp_secret")
        mailbox.save(update_fields=update)
    return mailbox


@transaction.atomic
def mailbox_sending_remove(*, mailbox: Mailbox, actor: User) -> Mailbox:
    """Stop sending from a mailbox and forget its SMTP password. What was sent stays logged."""
    mailbox = _own(mailbox_id=mailbox.pk, actor=actor, lock=True)
    mailbox.smtp_host, mailbox.smtp_username, mailbox.smtp_secret = "", "", ""
    mailbox.save(update_fields=["smtp_host", "smtp_username", "smtp_secret"])
    return mailbox


def _own(*, mailbox_id: int, actor: User, lock: bool = False) -> Mailbox:
    """Only its owner sets up or sends from a mailbox; to anyone else it does not exist."""
    rows = Mailbox.objects.select_related("user").filter(pk=mailbox_id, user=actor)
    if lock:
        rows = rows.select_for_update(of=("self",))
    mailbox = rows.first()
    if mailbox is None:
        raise NotFound("No such mailbox.")
    return mailbox


# --- Templates --------------------------------------------------------------------------------


def _validated_template(*, name: str, subject: str, body: str) -> tuple[str, str, str]:
    errors = {}
    name, subject = (name or "").strip(), (subject or "").strip()
    if not name or len(name) > 100:
        errors["name"] = "Give the template a name of at most 100 characters."
    if not subject or len(subject) > 255 or "\n" in subject or "\r" in subject:
        errors["subject"] = "Enter a subject: one line of at most 255 characters."
    if not (body or "").strip() or len(body) > MAX_BODY:
        errors["body"] = f"Enter the text (at most {MAX_BODY:,} characters)."
    for field, text in (("subject", subject), ("body", body or "")):
        found = placeholders.problems(text)
        if found and field not in errors:
            errors[field] = " ".join(found)
    if errors:
        raise ValidationFailed("Check the template.", fields=errors)
    return name, subject, body


def _refuse_sharing(*, actor: User, is_shared: bool, template: EmailTemplate | None) -> None:
    already = template is not None and template.is_shared
    if is_shared and not already and not visibility.can_share_email_templates(actor):
        raise PermissionDenied(
            "Only admins and managers share templates.",
            fields={"is_shared": "Only admins and managers share templates."},
        )


def email_template_create(
    *, actor: User, name: str, subject: str, body: str, is_shared: bool = False
) -> EmailTemplate:
    name, subject, body = _validated_template(name=name, subject=subject, body=body)
    _refuse_sharing(actor=actor, is_shared=is_shared, template=None)
    try:
        with transaction.atomic():
            return EmailTemplate.objects.create(
                owner=actor, name=name, subject=subject, body=body, is_shared=is_shared
            )
    except IntegrityError:
        raise Conflict(
            "You have a template of that name already.",
            fields={"name": f"You have a template called “{name}” already."},
        ) from None


def email_template_update(
    *, template: EmailTemplate, actor: User, name: str, subject: str, body: str, is_shared: bool
) -> EmailTemplate:
    template = _editable(template_id=template.pk, actor=actor)
    name, subject, body = _validated_template(name=name, subject=subject, body=body)
    _refuse_sharing(actor=actor, is_shared=is_shared, template=template)
    template.name, template.subject, template.body = name, subject, body
    template.is_shared, template.updated_at = is_shared, timezone.now()
    try:
        with transaction.atomic():
            template.save(update_fields=["name", "subject", "body", "is_shared", "updated_at"])
    except IntegrityError:
        raise Conflict(
            "There is a template of that name already.",
            fields={"name": f"There is a template called “{name}” already."},
        ) from None
    return template


@transaction.atomic
def email_template_delete(*, template: EmailTemplate, actor: User) -> None:
    _editable(template_id=template.pk, actor=actor).delete()


def _editable(*, template_id: int, actor: User) -> EmailTemplate:
    template = (
        EmailTemplate.objects.filter(visibility.email_template_scope(actor, for_change=True))
        .filter(pk=template_id)
        .first()
    )
    if template is None:
        raise NotFound("No such template.")
    return template


# --- Recipients -------------------------------------------------------------------------------


def _split_addresses(text: str) -> list[str]:
    """Split at commas, semicolons and line ends outside quotes and angle brackets."""
    parts, current, quoted, angled = [], [], False, False
    for char in text:
        if char == '"' and not angled:
            quoted = not quoted
        elif char == "<" and not quoted:
            angled = True
        elif char == ">" and not quoted:
            angled = False
        if char in ",;\n\r" and not quoted and not angled:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def ascii_address(address: str) -> str | None:
    """The address as it can be sent: an ASCII local part, the domain in IDNA; None when it
    cannot be sent."""
    address = address.strip()
    if not addresses.is_valid(address):
        return None
    local, domain = address.rsplit("@", 1)
    if not local.isascii():
        return None
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    return f"{local}@{domain}"


def parse_recipients(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """("Ada <ada@example.com>, bob@example.com") → ([(name, address)...], [what is not an
    address, as written])."""
    found, bad = [], []
    for part in _split_addresses(text or ""):
        name, address = parseaddr(part)
        sendable = ascii_address(address) if address else None
        if sendable is None or (not name and "<" in part and ">" not in part):
            bad.append(part)
            continue
        found.append((" ".join(name.split()), sendable))
    return found, bad


def recipient_text(name: str, address: str) -> str:
    """One recipient as the To field shows it: `Ada Lovelace <ada@example.com>`."""
    name = " ".join(name.split())
    if not name:
        return address
    if re.search(r"[\"(),.:;<>@\[\]\\]", name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


# --- Building and sending a message ---------------------------------------------------------


@dataclasses.dataclass
class Draft:
    mailbox: Mailbox
    to: list[tuple[str, str]]  # (name, address)
    subject: str
    body: str
    cc: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    track_opens: bool = False
    track_clicks: bool = False


@dataclasses.dataclass
class SendResult:
    sent: SentEmail
    status: str  # of its CapturedMessage: logged, or why not (internal: only colleagues on it)
    refused: dict[str, str]  # recipients the server refused while accepting the others


def _validated_draft(draft: Draft) -> None:
    errors = {}
    if not draft.to:
        errors["to"] = "Enter at least one address."
    everyone = [address for _name, address in [*draft.to, *draft.cc]]
    if len(everyone) > MAX_RECIPIENTS:
        errors["to"] = f"Send to at most {MAX_RECIPIENTS} addresses at once."
    bad = [address for address in everyone if ascii_address(address) != address]
    if bad and "to" not in errors:
        errors["to"] = f"Not an address Salesdesk can send to: {', '.join(bad)}."
    subject = draft.subject or ""
    if not subject.strip() or len(subject) > 255 or "\n" in subject or "\r" in subject:
        errors["subject"] = "Enter a subject: one line of at most 255 characters."
    if not (draft.body or "").strip() or len(draft.body) > MAX_BODY:
        errors["body"] = f"Write the message (at most {MAX_BODY:,} characters)."
    for field, text in (("subject", subject), ("body", draft.body or "")):
        found = placeholders.problems(text)
        if found and field not in errors:
            errors[field] = " ".join(found)
    if errors:
        raise ValidationFailed("Check the message.", fields=errors)


def links_in(text: str) -> list[str]:
    """The http(s) links of a plain text, each once, in order."""
    found = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        if url not in found:
            found.append(url)
    return found


def html_part(text: str, *, pixel: str | None = None, links: dict[str, str] | None = None) -> str:
    """The plain text as simple HTML: escaped, its links clickable (through `links`, {url:
    tracked url}, when given), line breaks kept, and the tracking image at the end."""
    links = links or {}
    pieces, position = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        pieces.append(html.escape(text[position : match.start()]))
        target = links.get(url, url)
        pieces.append(f'<a href="{html.escape(target)}">{html.escape(url)}</a>')
        position = match.start() + len(url)
    pieces.append(html.escape(text[position:]))
    content = "".join(pieces).replace("\r\n", "\n").replace("\n", "<br>\n")
    image = f'<img src="{html.escape(pixel)}" width="1" height="1" alt="">' if pixel else ""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body><div dir="auto">{content}</div>{image}</body></html>\n'
    )


def _mime(
    *,
    sender: tuple[str, str],
    to: list[tuple[str, str]],
    cc: list[tuple[str, str]],
    subject: str,
    text: str,
    html_text: str | None,
    message_id: str,
    date,
) -> bytes:
    message = EmailMessage(policy=policy.SMTP.clone(cte_type="7bit"))
    message["From"] = HeaderAddress(display_name=sender[0], addr_spec=sender[1])
    message["To"] = [HeaderAddress(display_name=n, addr_spec=a) for n, a in to]
    if cc:
        message["Cc"] = [HeaderAddress(display_name=n, addr_spec=a) for n, a in cc]
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(text)
    if html_text is not None:
        message.add_alternative(html_text, subtype="html")
    return message.as_bytes()


def email_send(
    *, actor: User, draft: Draft, values: dict[str, str], deal: Deal | None = None
) -> SendResult:
    """Send a message through the actor's own mailbox, then log it as captured mail (see the
    module docstring). `values` fill the placeholders of the subject and the text; `deal` (a
    deal the actor sees, when sending from its page) is where the e-mail is logged, instead of
    the company's most recently active open deal.

    Raises ValidationFailed, with the server's words, when nothing was sent; then nothing is
    logged either."""
    mailbox = _own(mailbox_id=draft.mailbox.pk, actor=actor)
    if not mailbox.sends:
        raise ValidationFailed(
            "This mailbox is not set up for sending.",
            fields={"mailbox": "Set up sending for this mailbox first (Your account, Mailboxes)."},
        )
    _validated_draft(draft)
    subject = placeholders.render(draft.subject, values).strip()
    text = placeholders.render(draft.body, values)
    if len(subject) > 255 or "\n" in subject or "\r" in subject:
        raise ValidationFailed(
            "Check the subject.",
            fields={"subject": "With its placeholders filled, the subject is too long."},
        )
    now = timezone.now().replace(microsecond=0)
    sender = (actor.full_name, ascii_address(mailbox.from_address))
    if sender[1] is None:
        raise ValidationFailed(
            "Salesdesk cannot send from this address.",
            fields={"mailbox": f"Salesdesk cannot send from {mailbox.from_address}."},
        )
    domain = sender[1].rsplit("@", 1)[1]
    message_id = f"{token_hex(16)}@{domain}"
    open_token = tracking.new_token() if draft.track_opens else None
    links = []
    if draft.track_clicks:
        urls = [url for url in links_in(text) if len(url) <= MAX_TRACKED_URL]
        links = [(url, *tracking.new_token()) for url in urls[:MAX_TRACKED_LINKS]]
    is_tracked = open_token is not None or bool(links)
    common = {
        "sender": sender,
        "to": draft.to,
        "cc": draft.cc,
        "subject": subject,
        "text": text,
        "message_id": message_id,
        "date": now,
    }
    # What the recipients get; and the same without tracking, for the Sent folder and the log.
    wire = _mime(
        **common,
        html_text=html_part(
            text,
            pixel=tracking.open_url(open_token[0]) if open_token else None,
            links={url: tracking.click_url(token) for url, token, _hashed in links},
        )
        if is_tracked
        else None,
    )
    copy = _mime(**common, html_text=html_part(text) if is_tracked else None)

    try:
        refused = smtp.send(
            smtp_settings(mailbox),
            sender=sender[1],
            recipients=[address for _name, address in [*draft.to, *draft.cc]],
            message=wire,
            helo=_helo(),
        )
    except SmtpError as error:
        raise ValidationFailed(str(error), code="not_sent") from None

    with transaction.atomic():
        capture_messages(
            [Incoming(copy, source_ref=f"sent through {mailbox.smtp_host}")],
            user=actor,
            source=CapturedMessage.Source.SENT,
        )
        captured = CapturedMessage.objects.get(key=message_key(parse_message(copy)))
        if deal is not None and captured.activity_id is not None:
            _log_on_deal(activity_id=captured.activity_id, deal=deal, moment=now)
        sent = SentEmail.objects.create(
            activity_id=captured.activity_id,
            sender=actor,
            mailbox=mailbox,
            message_id=message_id,
            open_token=open_token[1] if open_token else None,
            tracks_clicks=draft.track_clicks,
            sent_at=now,
            sent_copy=copy if mailbox.saves_sent_copy else None,
        )
        TrackedLink.objects.bulk_create(
            TrackedLink(email=sent, url=url, token=hashed, position=position)
            for position, (url, _token, hashed) in enumerate(links)
        )
    return SendResult(sent=sent, status=captured.status, refused=refused)


def _log_on_deal(*, activity_id: int, deal: Deal, moment) -> None:
    """Put the e-mail on the deal it was sent from, and move that deal's last interaction."""
    Activity.objects.filter(pk=activity_id).exclude(deal_id=deal.pk).update(deal_id=deal.pk)
    Deal.objects.filter(pk=deal.pk).update(
        last_interaction_at=Greatest(
            Coalesce(F("last_interaction_at"), Value(moment)), Value(moment)
        )
    )


# --- The copy in the Sent folder --------------------------------------------------------------


def sent_copy_append(*, sent_email_id: int) -> bool:
    """Put the copy of a sent message (without tracking, so that reading it there opens
    nothing) in its mailbox's Sent folder, then forget it. False when there is nothing to do or
    it failed (logged): the message is sent and logged either way."""
    sent = (
        SentEmail.objects.select_related("mailbox")
        .filter(pk=sent_email_id, sent_copy__isnull=False, mailbox__isnull=False)
        .first()
    )
    if sent is None:
        return False
    mailbox = sent.mailbox
    try:
        settings_ = ImapSettings(
            host=mailbox.host,
            port=mailbox.port,
            security=mailbox.security,
            username=mailbox.username,
            password=secrets.decrypt(mailbox.secret),
        )
        with imap.connect(settings_) as box:
            folder = imap.folders(box).get("sent")
            if folder is None:
                logger.info("mailbox %s has no Sent folder: no copy kept", mailbox.pk)
                return False
            box.append(
                bytes(sent.sent_copy), folder, dt=sent.sent_at, flag_set=[MailMessageFlags.SEEN]
            )
    except (ImapError, secrets.SecretError) as error:
        logger.warning("mailbox %s: the sent copy was not stored: %s", mailbox.pk, error)
        return False
    SentEmail.objects.filter(pk=sent.pk).update(sent_copy=None)
    return True
