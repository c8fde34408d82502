"""A fast path to the same `Message` tree the stdlib's compat32 parser builds, for clean mail.

Why: `email.message_from_bytes` feeds every line of a message through a Python generator
(`feedparser`), base64 attachments included, and it compiles a new regular expression for each
multipart boundary. That alone took a third of the capture pipeline's time. Most mail is
well-formed; for it, `fast_message` finds the header block and the boundaries with `str.find`
and builds the tree with the stdlib's own `Message` class, so everything downstream (content
types, parameters, charsets, transfer decoding) is the stdlib's code on the same strings.

It answers None for anything it is not sure to read exactly as the stdlib would: bare CR line
endings, a header line the stdlib would not take as one, a missing blank line after the headers,
a multipart whose boundaries are missing, doubled or unclosed, a message/* part (the stdlib parses
attached messages), multipart/digest (its parts default to message/rfc822) and a multipart with a
transfer encoding. The caller then parses with `email.message_from_bytes`. That choice makes
both routes agree on every message; tests/capture/test_mime.py compares the two trees on
CPython's corpus, our fixtures and a generated mailbox.
"""

import re
from email.message import Message
from email.utils import unquote

MAX_DEPTH = 30

_ESCAPED = re.compile("[\udc80-\udcff]")


def has_escapes(value: str) -> bool:
    """Whether header text holds raw 8-bit bytes (kept by the parser as surrogate escapes)."""
    return _ESCAPED.search(value) is not None


# A header line as feedparser's `headerRE` accepts it: printable ASCII except ":" for the name.
_HEADER_LINE = re.compile(r"[\041-\071\073-\176]+:")
_MULTIPART_ENCODINGS = frozenset({"7bit", "8bit", "binary"})


def fast_message(raw: bytes) -> Message | None:
    """The message compat32's parser would build from `raw`, or None when unsure."""
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        return None  # a bare CR ends a line for the stdlib
    # The stdlib parses bytes as ASCII with surrogate escapes; the payloads are the same strings.
    return _part(raw.decode("ascii", "surrogateescape"), depth=0, is_subpart=False)


def _part(text: str, depth: int, is_subpart: bool) -> Message | None:
    if depth > MAX_DEPTH:
        return None
    split = _split_headers(text)
    if split is None:
        return None
    headers, body = split
    msg = Message()
    msg._headers = headers
    maintype = msg.get_content_maintype()
    if maintype == "message":
        return None
    if maintype != "multipart":
        if is_subpart:
            # The line break before the next boundary belongs to the boundary (RFC 2046).
            if body.endswith("\r\n"):
                body = body[:-2]
            elif body.endswith("\n"):
                body = body[:-1]
        msg._payload = body
        return msg
    parts = _multipart(msg, body, depth)
    if parts is None:
        return None
    msg._payload = parts
    return msg


def _split_headers(text: str) -> tuple[list[tuple[str, str]], str] | None:
    """(name, value) pairs as compat32 stores them and the body, or None."""
    if text.startswith("\n"):
        return [], text[1:]
    if text.startswith("\r\n"):
        return [], text[2:]
    end = text.find("\n\n")
    end_crlf = text.find("\n\r\n")
    if end_crlf != -1 and (end == -1 or end_crlf < end):
        head, body = text[: end_crlf + 1], text[end_crlf + 3 :]
    elif end != -1:
        head, body = text[: end + 1], text[end + 2 :]
    else:
        return None  # no blank line: the stdlib decides where the headers end
    headers: list[tuple[str, str]] = []
    lines = head.splitlines(keepends=True)
    if len(lines) != head.count("\n"):
        return None  # other characters that str.splitlines takes as line breaks
    current: list[str] = []
    for line in lines:
        if line[0] in " \t":
            if not current:
                return None
            current.append(line)
        elif _HEADER_LINE.match(line):
            if current:
                headers.append(_field(current))
            current = [line]
        else:
            return None
    if current:
        headers.append(_field(current))
    return headers, body


def _field(lines: list[str]) -> tuple[str, str]:
    """compat32's `header_source_parse`: folding kept, the value's last line break dropped."""
    name, value = lines[0].split(":", 1)
    value = value.lstrip(" \t") + "".join(lines[1:])
    return name, value.rstrip("\r\n")


def _multipart(msg: Message, body: str, depth: int) -> list[Message] | None:
    if msg.get_content_type() == "multipart/digest":
        return None
    encoding = msg.get("content-transfer-encoding", "8bit")
    if not isinstance(encoding, str) or encoding.lower() not in _MULTIPART_ENCODINGS:
        return None
    found = boundary(msg)
    if not found:
        return None
    separator = "--" + found
    parts: list[Message] = []
    start = None  # where the current part's text begins
    position = 0
    while True:
        found = _boundary_line(body, separator, position)
        if found is None:
            return None  # never closed
        line_start, line_end, is_close = found
        if start is not None:
            if line_start == start:
                return None  # two boundaries in a row: the stdlib skips the empty part
            part = _part(body[start:line_start], depth + 1, is_subpart=True)
            if part is None:
                return None
            parts.append(part)
        elif is_close:
            return None
        if is_close:
            return parts or None
        start = position = line_end


def _boundary_line(body: str, separator: str, position: int) -> tuple[int, int, bool] | None:
    """(start, end, is_close) of the next line that is `separator`, optionally "--", optional
    blanks and a line break, as feedparser's boundary expression matches it."""
    while True:
        index = body.find(separator, position)
        if index == -1:
            return None
        position = index + len(separator)
        if index and body[index - 1] != "\n":
            continue
        rest = position
        is_close = body.startswith("--", rest)
        if is_close:
            rest += 2
        while rest < len(body) and body[rest] in " \t":
            rest += 1
        if rest == len(body):
            return index, rest, is_close
        if body.startswith("\r\n", rest):
            return index, rest + 2, is_close
        if body[rest] == "\n":
            return index, rest + 1, is_close
        if is_close:
            # "--sep--x": the stdlib's expression backtracks and does not match either way.
            continue


# --- Content-Type parameters -----------------------------------------------------------------
# `Message.get_param` re-parses the header on every call (quoted pairs, RFC 2231 continuations,
# charset prefixes): a sixth of the parsing time went to charsets, file names and boundaries.
# For a plain header (no escapes, no "*", no quoted ";", no 8-bit bytes), its answer is simply
# the first parameter of that name, trimmed and with one layer of quotes removed.


def content_params(part: Message) -> dict[str, str] | None:
    """Content-Type's parameters by lower-case name, as `get_param` gives them, or None when
    the header is not plain (then ask `get_param`)."""
    cached = part.__dict__.get("_content_params", False)
    if cached is not False:
        return cached
    params = _content_params(part)
    part.__dict__["_content_params"] = params
    return params


def _content_params(part: Message) -> dict[str, str] | None:
    value = next((v for k, v in part._headers if k.lower() == "content-type"), None)
    if value is None:
        return {}
    if not isinstance(value, str) or "\\" in value or "*" in value or has_escapes(value):
        return None
    pieces = value.split(";")
    if '"' in value and any(piece.count('"') % 2 for piece in pieces):
        return None  # a ";" inside a quoted value
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        name, has_value, raw = piece.partition("=")
        params.setdefault(name.strip().lower(), unquote(raw.strip()) if has_value else "")
    return params


def content_charset(part: Message) -> str | None:
    """`part.get_content_charset()`."""
    params = content_params(part)
    if params is None:
        return part.get_content_charset()
    charset = params.get("charset")
    if charset is None or not charset.isascii():
        return None
    return charset.lower()


def boundary(part: Message) -> str | None:
    """`part.get_boundary()`."""
    params = content_params(part)
    if params is None:
        return part.get_boundary()
    value = params.get("boundary")
    return None if value is None else unquote(value).rstrip()
