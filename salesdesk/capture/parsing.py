"""Raw bytes of one e-mail -> `ParsedMessage`, for any input, without raising.

The structure is parsed by the stdlib's compat32 policy and headers are decoded here
(`email.header.decode_header`, `email.utils.getaddresses`): `policy.default` builds a parsed
header object for every header read and made parsing 9x slower on CPython's own test corpus
(1.05 s against 9.6 s for 9,600 messages; bare `message_from_bytes` 0.75 s), while the pipeline
must keep half the bare parsing speed. compat32 is also the lenient one: nothing is parsed until
asked, and every decoding step here catches its own errors and records them in `defects`.
Clean mail skips the stdlib's slow parts through fast paths that give the same results
(`mime.fast_message`, `mime.content_params`, `simple_addresses`).
"""

import codecs
import datetime
import hashlib
import re
from email import message_from_bytes
from email.errors import MessageDefect
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from salesdesk.capture import addresses
from salesdesk.capture.message import Address, ParsedMessage
from salesdesk.capture.mime import content_charset, content_params, fast_message, has_escapes

MAX_BODY_CHARS = 100_000  # of `full_text`; `body` is cut from it
MAX_PARTS = 1_000  # MIME parts looked at; the rest of a pathological message is ignored
MAX_DEPTH = 30  # nesting of multiparts and attached messages
MAX_REFERENCES = 100  # the first (thread root) and the 99 latest
MAX_MESSAGE_ID = 255  # longer ids are dropped; the content hash identifies the message
_DECODE_LIMIT = 1_000_000  # attachments up to this size are decoded to measure them exactly

_UTC = datetime.UTC


def parse_message(raw: bytes) -> ParsedMessage:
    """Never raises: whatever goes wrong ends as `skip_reason` and `defects`."""
    try:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        elif not isinstance(raw, bytes):
            raw = bytes(raw)
        return _parse(raw)
    except Exception as error:
        try:
            digest = hashlib.sha256(_normalize_newlines(raw)).hexdigest()
        except Exception:
            digest = ""
        return ParsedMessage(
            message_id="",
            content_hash=digest,
            skip_reason=f"unreadable message ({type(error).__name__})",
            defects=[f"{type(error).__name__}: {error}"[:300]],
        )


def _parse(raw: bytes) -> ParsedMessage:
    defects = _Defects()
    if not raw.strip():
        return _unusable(raw, "empty input")
    msg = fast_message(raw)
    if msg is None:
        msg = message_from_bytes(raw)
    if not any(name.lower() in _MESSAGE_HEADERS for name in msg.keys()):  # noqa: SIM118
        return _unusable(raw, "not an e-mail message (no headers)")

    headers = _headers(msg)
    senders = _addresses(headers, "from", defects)
    if not senders:
        senders = _addresses(headers, "sender", defects)
        if senders:
            defects.add("no From address; used Sender")
    to, cc = _addresses(headers, "to", defects), _addresses(headers, "cc", defects)
    subject = _collapse(_header(headers, "subject", defects))
    date = _date(headers, defects)

    text, attachments = _content(msg, defects)
    full_text = _clean_text(text)
    if len(full_text) > MAX_BODY_CHARS:
        full_text = full_text[:MAX_BODY_CHARS]
        defects.add(f"text cut at {MAX_BODY_CHARS} characters")

    parsed = ParsedMessage(
        message_id="",
        content_hash="",
        subject=subject,
        date=date,
        sender=senders[0] if senders else None,
        reply_to=_addresses(headers, "reply-to", defects),
        to=to,
        cc=cc,
        body=strip_quoted_history(full_text, subject=subject),
        full_text=full_text,
        attachments=attachments,
    )
    ids = _message_ids(_header(headers, "message-id", defects))
    parsed.message_id = ids[0] if ids and len(ids[0]) <= MAX_MESSAGE_ID else ""
    if ids and not parsed.message_id:
        defects.add("Message-ID too long; ignored")
    in_reply_to = _message_ids(_header(headers, "in-reply-to", defects))
    parsed.in_reply_to = in_reply_to[0] if in_reply_to else ""
    references = _message_ids(_header(headers, "references", defects))
    if len(references) > MAX_REFERENCES:
        references = references[:1] + references[-(MAX_REFERENCES - 1) :]
    parsed.references = references
    parsed.content_hash = content_hash(parsed, raw_date=_header(headers, "date", defects))
    parsed.automated = _automated(msg, headers, parsed)
    if parsed.sender is None:
        parsed.skip_reason = "no sender address (From)"
    defects.extend(_mime_defects(msg))
    parsed.defects = defects.items
    return parsed


# Headers that make a file look like an e-mail; a file with none of them is something else.
_MESSAGE_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "return-path",
        "mime-version", "content-type", "sender", "reply-to", "delivered-to", "x-mailer",
    }
)  # fmt: skip


def _unusable(raw: bytes, reason: str) -> ParsedMessage:
    return ParsedMessage(
        message_id="",
        content_hash=hashlib.sha256(_normalize_newlines(raw)).hexdigest(),
        skip_reason=reason,
    )


def _normalize_newlines(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


class _Defects:
    """Ordered, unique, bounded: a broken message must not produce a megabyte of notes."""

    LIMIT = 30

    def __init__(self):
        self.items: list[str] = []

    def add(self, note: str) -> None:
        if note not in self.items and len(self.items) < self.LIMIT:
            self.items.append(note)

    def extend(self, notes) -> None:
        for note in notes:
            self.add(note)


def _mime_defects(msg: Message) -> list[str]:
    notes, stack, seen = [], [msg], 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        notes.extend(_defect_name(defect) for defect in part.defects)
        payload = part._payload
        if isinstance(payload, list):
            stack.extend(p for p in payload if isinstance(p, Message))
    return notes


def _defect_name(defect: MessageDefect) -> str:
    name = type(defect).__name__
    return name.removesuffix("Defect") if not str(defect) else f"{name}: {defect}"[:200]


# ---------------------------------------------------------------------------------------------
# Headers


def _unescape(value: str) -> str:
    """Header text the parser read from raw 8-bit bytes (kept as surrogate escapes): most mail
    software writes UTF-8 there, the rest Windows-1252."""
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value  # already text (a str input with real non-ASCII characters)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def _headers(msg: Message) -> dict[str, list[str]]:
    """Header values by lower-case name, as the parser stored them: compat32's `get` would turn
    values with 8-bit bytes into `Header` objects whose text has lost those bytes."""
    headers: dict[str, list[str]] = {}
    for key, value in msg.raw_items():
        headers.setdefault(key.lower(), []).append(str(value))
    return headers


def _raw(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _header(headers: dict[str, list[str]], name: str, defects: _Defects) -> str:
    """The first header of that name as text: encoded words decoded, 8-bit bytes read as UTF-8
    (else Windows-1252), unknown charsets replaced rather than refused."""
    value = _raw(headers, name)
    if value is None:
        return ""
    return _decode_words(value, defects, name)


def _decode_words(value: str, defects: _Defects, name: str) -> str:
    if has_escapes(value):
        value = _unescape(value)
        defects.add(f"8-bit characters in {name} header")
    if "=?" not in value:
        return value
    try:
        parts = decode_header(value)
    except Exception:
        defects.add(f"broken encoded word in {name} header")
        return value
    text = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            text.append(chunk)
        elif charset is None:
            text.append(chunk.decode("raw-unicode-escape", "replace"))
        else:
            text.append(_decode_bytes(chunk, charset, defects, where=f"{name} header"))
    return "".join(text)


def _collapse(value: str) -> str:
    return " ".join(value.split())


def _addresses(headers: dict[str, list[str]], name: str, defects: _Defects) -> list[Address]:
    values = headers.get(name)
    if not values:
        return []
    if any(has_escapes(value) for value in values):
        values = [_unescape(value) for value in values]
        defects.add(f"8-bit characters in {name} header")
    result, seen = [], set()
    try:
        pairs = simple_addresses(values)
        if pairs is None:
            pairs = getaddresses(values)
    except Exception:
        defects.add(f"unparseable {name} header")
        return []
    for display_name, email in pairs:
        email = email.strip().strip("<>").strip().lower()
        if not email and not display_name:
            continue
        if not addresses.is_valid(email):
            defects.add(f"unusable address in {name} header")
            continue
        if email in seen:
            continue
        seen.add(email)
        display_name = _collapse(_decode_words(display_name, defects, name)).strip("'\" ")
        if display_name.lower() == email:
            display_name = ""
        result.append(Address(email=email, name=display_name[:200]))
    return result


# Address lists as nearly all mail writes them: `Name <local@domain>`, `"Last, First" <...>`,
# `local@domain`, separated by commas. `simple_addresses` reads these with one expression;
# anything else (comments, groups, escapes, routes, empty items) goes to `getaddresses`, whose
# character-by-character parser took a sixth of the parsing time. tests/capture/test_mime.py
# checks that both give the same pairs wherever the expression answers.
_DOT_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_ADDR_SPEC = rf"{_DOT_ATOM}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_PHRASE_WORD = r'[^\s()<>@,:;"\[\]\\]+'
_SIMPLE_ADDRESS = re.compile(
    rf'\s*(?:(?:"(?P<quoted>[^"\\\r\n]*)"|(?P<phrase>{_PHRASE_WORD}(?:\s+{_PHRASE_WORD})*))?'
    rf"\s*<(?P<routed>{_ADDR_SPEC})>|(?P<bare>{_ADDR_SPEC}))\s*(?:,|\Z)"
)


def simple_addresses(values: list[str]) -> list[tuple[str, str]] | None:
    """(display name, address) pairs as `email.utils.getaddresses` gives them, or None when the
    values are not a plain list of addresses."""
    value = ", ".join(values)
    pairs, position, end = [], 0, len(value)
    while position < end:
        match = _SIMPLE_ADDRESS.match(value, position)
        if match is None or match.end() == position:
            return None
        if match["bare"]:
            pairs.append(("", match["bare"]))
        elif match["quoted"] is not None:
            pairs.append((match["quoted"], match["routed"]))
        else:
            pairs.append((" ".join((match["phrase"] or "").split()), match["routed"]))
        position = match.end()
        if value[position - 1] == "," and position == end:
            return None  # a trailing comma: getaddresses adds an empty pair
    return pairs


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def _message_ids(value: str) -> list[str]:
    """Message-IDs without <>, in order, each once. An id written without brackets counts when
    it is a single token with an "@"."""
    ids = _MESSAGE_ID.findall(value)
    if not ids:
        token = value.strip()
        ids = [token] if token and "@" in token and not any(c.isspace() for c in token) else []
    return list(dict.fromkeys(ids))


def _date(headers: dict[str, list[str]], defects: _Defects) -> datetime.datetime | None:
    value = _header(headers, "date", defects)
    if value:
        date = _to_utc(value)
        if date is not None:
            return date
        defects.add("unparseable Date header")
    else:
        defects.add("no Date header")
    # The first Received header is the receiving server's own clock: the next best thing.
    for received in headers.get("received", []):
        date = _to_utc(str(received).rpartition(";")[2])
        if date is not None:
            defects.add("date taken from Received header")
            return date
    return None


def _to_utc(value: str) -> datetime.datetime | None:
    try:
        date = parsedate_to_datetime(value.strip())
    except Exception:
        return None
    if date is None or not 1970 <= date.year <= 2200:
        return None
    if date.tzinfo is None:  # "-0000": the time is UTC, the sender's zone unknown (RFC 5322)
        date = date.replace(tzinfo=_UTC)
    return date.astimezone(_UTC)


# ---------------------------------------------------------------------------------------------
# Bulk and automated mail


# Subject prefixes that Exchange and Outlook generate for out-of-office replies; a person does
# not type them, so they count even without the Auto-Submitted header those servers often omit.
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matische)? ?(?:antwort|reply)|abwesenheitsnotiz"
    r"|out of (?:the )?office(?: reply| autoreply)?|réponse automatique|respuesta automática"
    r"|risposta automatica|automatisch antwoord|autosvar|resposta automática)\s*:",
    re.IGNORECASE,
)


def _automated(msg: Message, headers: dict[str, list[str]], parsed: ParsedMessage) -> str:
    """Why the message is bulk or machine-made, or "". `X-Auto-Response-Suppress` is ignored:
    it asks others not to auto-reply and Exchange sets it on ordinary mail too."""
    if msg.get_content_type() == "multipart/report":
        return "delivery or read report (multipart/report)"
    auto_submitted = _collapse(_raw(headers, "auto-submitted") or "").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        value = _raw(headers, name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            return f"auto-reply ({name})"
    precedence = (_raw(headers, "precedence") or "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    if _raw(headers, "list-unsubscribe") is not None:
        return "bulk mail (List-Unsubscribe)"
    if _raw(headers, "list-id") is not None:
        return "mailing list (List-Id)"
    if (_raw(headers, "return-path") or "").strip() == "<>":
        return "null sender (Return-Path: <>)"
    if parsed.sender is not None:
        reason = addresses.automated_reason(parsed.sender.email)
        if reason:
            return f"sender is a {reason}"
    if _AUTO_REPLY_SUBJECT.match(parsed.subject):
        return "auto-reply subject"
    return ""


# ---------------------------------------------------------------------------------------------
# Content


class _Walk:
    def __init__(self, defects: _Defects):
        self.defects = defects
        self.parts = 0
        self.has_text = False
        self.attachments: list[tuple[str, str, int]] = []


def _content(msg: Message, defects: _Defects) -> tuple[str, list[tuple[str, str, int]]]:
    """The message's text (plain text preferred, else its HTML as text) and its attachments."""
    walk = _Walk(defects)
    texts = _texts(msg, walk, depth=0)
    plain = [text.text for text in texts if text.kind == "plain"]
    if plain:
        return "\n\n".join(plain), walk.attachments
    return "\n\n".join(html_to_text(text.text) for text in texts), walk.attachments


class _Text:
    """A body part and its kind ("plain" or "html"), decoded when first read: the HTML version
    of a multipart/alternative message is never decoded when its plain text is chosen."""

    def __init__(self, kind: str, part: Message, defects: _Defects):
        self.kind, self.part, self.defects = kind, part, defects
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = _decoded_text(self.part, self.defects)
        return self._text


def _texts(part: Message, walk: _Walk, depth: int) -> list[_Text]:
    """The body parts under `part`, plain text or HTML; every other leaf is recorded as an
    attachment."""
    walk.parts += 1
    if walk.parts > MAX_PARTS or depth > MAX_DEPTH:
        walk.defects.add("too many or too deeply nested MIME parts; the rest ignored")
        return []
    content_type = part.get_content_type()
    payload = part._payload
    if isinstance(payload, list):
        children = [child for child in payload if isinstance(child, Message)]
        if content_type.startswith("message/"):
            _attach(part, walk, size=sum(_raw_size(leaf) for leaf in _leaves(part)))
            return []
        if content_type == "multipart/alternative":
            return _alternative(children, walk, depth)
        texts = []
        for child in children:
            texts.extend(_texts(child, walk, depth + 1))
        return texts
    if content_type.startswith("multipart/"):
        # The boundary was never found: the parser kept the whole body as one string.
        walk.defects.add("multipart without parts; body read as plain text")
        content_type = "text/plain"
    # A text part is the body unless it is an attachment: marked so, or carrying a file name
    # after the body was already found (the first named text part of msg_44 is its body).
    is_body = _disposition(part) != "attachment" and (not walk.has_text or not _named(part))
    if is_body and content_type in ("text/plain", "text/html"):
        walk.has_text = True
        kind = "plain" if content_type == "text/plain" else "html"
        return [_Text(kind, part, walk.defects)]
    _attach(part, walk, size=_size(part))
    return []


def _alternative(children: list[Message], walk: _Walk, depth: int) -> list[_Text]:
    """The plain-text version when there is one, else the HTML; attachments inside the version
    not chosen (inline images of the HTML) are still recorded."""
    versions = [_texts(child, walk, depth + 1) for child in children]
    for wanted in ("plain", "html"):
        for texts in versions:
            if any(t.kind == wanted for t in texts) and any(t.text for t in texts):
                return texts
    return next((texts for texts in versions if texts), [])


def _named(part: Message) -> bool:
    """Whether Content-Type carries a file name (`name=`)."""
    params = content_params(part)
    return part.get_param("name") is not None if params is None else "name" in params


def _disposition(part: Message) -> str:
    try:
        return part.get_content_disposition() or ""
    except Exception:
        return ""


def _leaves(part: Message):
    stack = [part]
    while stack:
        current = stack.pop()
        payload = current._payload
        if isinstance(payload, list):
            stack.extend(p for p in payload if isinstance(p, Message))
        else:
            yield current


def _attach(part: Message, walk: _Walk, size: int) -> None:
    name = ""
    try:
        name = part.get_filename() or ""
    except Exception:
        walk.defects.add("unreadable attachment name")
    if isinstance(name, tuple):  # an RFC 2231 value get_filename() could not collapse
        name = str(name[2])
    name = _collapse(_decode_words(name, walk.defects, "Content-Disposition"))
    if not name and part.get_content_type() == "message/rfc822":
        children = part.get_payload()
        if isinstance(children, list) and children and isinstance(children[0], Message):
            subject = _collapse(_header(_headers(children[0]), "subject", walk.defects))
            name = f"{subject or 'message'}.eml"
    walk.attachments.append((name[:255], part.get_content_type(), size))


def _raw_size(part: Message) -> int:
    payload = part._payload
    return len(payload) if isinstance(payload, str) else 0


def _size(part: Message) -> int:
    """The decoded size in bytes; estimated from the base64 text for big parts, which are never
    decoded: a 20 MB attachment would cost 20 MB of memory for one number."""
    payload = part._payload
    if not isinstance(payload, str):
        return 0
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if len(payload) <= _DECODE_LIMIT:
        try:
            data = part.get_payload(decode=True)
            return len(data) if data is not None else 0
        except Exception:
            return len(payload)
    if encoding == "base64":
        chars = len(payload) - sum(payload.count(ws) for ws in ("\n", "\r", " ", "\t"))
        return chars * 3 // 4 - payload.rstrip().count("=", -2)
    return len(payload)


def _decoded_text(part: Message, defects: _Defects) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        defects.add("undecodable transfer encoding")
        data = None
    if data is None:
        payload = part._payload
        data = payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else b""
    # Huge text parts: a few times the text limit is plenty, whatever the charset.
    data = data[: MAX_BODY_CHARS * 4]
    try:
        charset = content_charset(part)
    except Exception:
        charset = None
    return _decode_bytes(data, charset, defects, where="body")


# Charsets mail software declares that mean Windows-1252 in practice (as browsers read them).
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "x-unknown": "",
    "unknown-8bit": "",
    "unknown": "",
    "x-user-defined": "",
    "default": "",
    "charset": "",
}


def _decode_bytes(data: bytes, charset: str | None, defects: _Defects, where: str) -> str:
    """Text from bytes in a declared charset. Undeclared, ASCII or unknown: UTF-8 when the bytes
    are valid UTF-8, else Windows-1252. Bytes that do not fit are replaced, never refused."""
    name = (charset or "").strip().strip("\"'").lower().split("*", 1)[0]
    name = _CHARSET_ALIASES.get(name, name)
    if name not in ("", "ascii"):
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            defects.add(f"unknown charset {name[:40]!r} in {where}")
        else:
            if codec == "utf-8":
                try:
                    return data.decode("utf-8")
                except UnicodeDecodeError:
                    defects.add(f"{where} declared as UTF-8 is not; read as Windows-1252")
                    return data.decode("cp1252", "replace")
            return data.decode(codec, "replace")
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


# ---------------------------------------------------------------------------------------------
# Text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{4,}")


def _clean_text(text: str) -> str:
    """Unix newlines, no control characters (PostgreSQL refuses NUL), no trailing spaces, at
    most two blank lines in a row, no blank lines around."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("", text)
    text = _BLANK_LINES.sub("\n\n\n", text)
    return text.strip("\n")


# Elements that end a line, and those that also leave a blank line after them.
_LINE = frozenset(
    {
        "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "header", "hr", "li", "main", "nav", "ol",
        "section", "table", "tr", "ul",
    }
)  # fmt: skip
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"})
_HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript", "xml"})
_LINK_SCHEMES = ("http://", "https://", "tel:")


class _HtmlText(HTMLParser):
    """HTML -> text: block elements end lines, paragraphs leave a blank line, list items start
    with "- ", quoted blocks with "> ". Links keep their text and, when it does not already show
    it, their address in <>: that is how the social icons of a signature survive."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.breaks = 0  # line breaks owed before the next text
        self.break_quote = 0
        self.hidden = 0
        self.quote = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []

    def owe(self, breaks: int) -> None:
        # Blank lines owed while leaving or entering a quote belong to the outer level.
        self.break_quote = min(self.break_quote, self.quote) if self.breaks else self.quote
        self.breaks = max(self.breaks, breaks)

    def write(self, text: str) -> None:
        if self.breaks and self.out:
            blank = "\n" + "> " * min(self.break_quote, self.quote)
            self.out.append(blank * (self.breaks - 1) + "\n" + "> " * self.quote)
        self.breaks = 0
        self.out.append(text)

    def handle_starttag(self, tag, attrs):
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.owe(self.breaks + 1)
        elif tag in _PARAGRAPH or tag in _LINE:
            self.owe(2 if tag in _PARAGRAPH else 1)
            if tag == "blockquote":
                self.quote += 1
                self.owe(2)
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.write("- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "a":
            self.links.append(((dict(attrs).get("href") or "").strip(), len(self.out)))
        elif tag == "img" and self.links:
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.write(alt)

    def handle_startendtag(self, tag, attrs):
        if tag not in _HIDDEN:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _PARAGRAPH or tag in _LINE:
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
            self.owe(2 if tag in _PARAGRAPH else 1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            shown = "".join(self.out[start:])
            address = href.split(":", 1)[-1].strip("/")
            if href.lower().startswith(_LINK_SCHEMES) and address not in shown.replace(" ", ""):
                self.write(f" <{href}>" if shown.strip() else f"<{href}>")

    def handle_data(self, data):
        if self.hidden:
            return
        if self.pre:
            self.write(data.replace("\n", "\n" + "> " * self.quote))
            return
        data = re.sub(r"\s+", " ", data)  # \s includes the no-break space
        if data == " ":
            if not self.breaks and self.out:
                self.out.append(" ")
            return
        self.write(data)

    def text(self) -> str:
        return "\n".join(line.strip() for line in "".join(self.out).split("\n"))


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # fall back to dropping the tags
        return re.sub(r"<[^>]*>", " ", html)
    return parser.text()


# Lines that start the quoted history of a reply. Gmail and Apple Mail wrap a long "On ...
# wrote:" line, so each pattern is also tried on a line joined with the next one.
_REPLY_HEADER = re.compile(
    r"^(?:"
    r"On\b.{1,300}\bwrote\s?:"
    r"|Am\b.{1,300}\bschrieb\b.{0,300}:"
    r"|Le\b.{1,300}\ba\s+écrit\s?:"
    r"|El\b.{1,300}\bescribió\s?:"
    r"|Op\b.{1,300}\bschreef\b.{0,300}:"
    r"|Il\b.{1,300}\bha\s+scritto\s?:"
    r"|Em\b.{1,300}\bescreveu\s?:"
    r"|-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Originalnachricht|Message d'origine"
    r"|Mensaje original|Oorspronkelijk bericht|Messaggio originale)\s*-{2,}"
    r")\s*$",
    re.IGNORECASE,
)
# Outlook's quoted header block: "From: ..." then "Sent: ..." (or localized) within 3 lines.
_OUTLOOK_FROM = re.compile(r"^\*?(?:From|Von|De|Van|Da)\s?:\*?\s+\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(
    r"^\*?(?:Sent|Gesendet|Envoyé|Enviado|Verzonden|Inviato|Date|Datum)\s?:\*?\s+\S",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^_{10,}$")
_FORWARD_MARKER = re.compile(
    r"^(?:-+\s*(?:Forwarded message|Weitergeleitete Nachricht|Message transféré"
    r"|Mensaje reenviado|Doorgestuurd bericht|Messaggio inoltrato)\s*-*"
    r"|Begin forwarded message\s?:|Anfang der weitergeleiteten Nachricht\s?:"
    r"|Début du message réexpédié\s?:)\s*$",
    re.IGNORECASE,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|wg|tr|rv|vs|i|doorst)\s*:", re.IGNORECASE)


def strip_quoted_history(text: str, subject: str = "") -> str:
    """The text the sender wrote: cut at the first reply header ("On ... wrote:", Outlook's
    "From:/Sent:" block and their translations) and without trailing ">" lines. Forwarded
    content is the point of a forward and stays, with whatever history it carries. The signature
    stays too: the signature extractor reads it."""
    lines = text.split("\n")
    is_forward = bool(_FORWARD_SUBJECT.match(subject))
    cut = len(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(">"):
            continue
        if _FORWARD_MARKER.match(stripped):
            return text.strip("\n")
        joined = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else stripped
        if _REPLY_HEADER.match(stripped) or (
            len(joined) < 400 and _REPLY_HEADER.match(joined) and not stripped.endswith(":")
        ):
            cut = index
            break
        if _OUTLOOK_FROM.match(stripped) and any(
            _OUTLOOK_SENT.match(following.strip()) for following in lines[index + 1 : index + 4]
        ):
            if is_forward:
                return text.strip("\n")
            cut = index
            if index > 0 and _OUTLOOK_RULE.match(lines[index - 1].strip()):
                cut = index - 1
            break
    kept = lines[:cut]
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    return "\n".join(kept).strip("\n")


# ---------------------------------------------------------------------------------------------
# Identity


def content_hash(parsed: ParsedMessage, raw_date: str = "") -> str:
    """The same message exported twice hashes the same: addresses lower-case, the date in UTC,
    all whitespace collapsed (line endings, header folding), the text after transfer decoding."""
    date = parsed.date.isoformat() if parsed.date else _collapse(raw_date)
    fields = [
        parsed.sender.email if parsed.sender else "",
        ",".join(sorted(address.email for address in parsed.to)),
        ",".join(sorted(address.email for address in parsed.cc)),
        date,
        _collapse(parsed.subject),
        _collapse(parsed.full_text),
    ]
    return hashlib.sha256("\x1f".join(fields).encode("utf-8", "surrogatepass")).hexdigest()
