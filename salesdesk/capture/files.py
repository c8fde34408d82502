"""Mail from files: mbox archives and .eml messages, through the same pipeline as mailboxes.

An mbox is read as a stream (one message in memory at a time, whatever the file's size):
messages start at a "From " line at the start of the file or after a blank line, and the
">From " quoting of mboxrd is undone.
"""

import mmap
import os
import re
from collections.abc import Iterator
from pathlib import Path

from salesdesk.accounts.models import User
from salesdesk.capture.models import CapturedMessage
from salesdesk.capture.pipeline import Incoming, Outcome, capture_messages

# Messages per transaction. Larger batches share the per-batch queries and commits (an fsync
# each) among more messages: 2,000 captured 20,000 messages 13% faster than 500 on SQLite and 3%
# on PostgreSQL (bench/capture.py's mailbox); a batch holds a few tens of MB of mail.
BATCH = 2000
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
CR = ord("\r")


class FileError(Exception):
    """A file that cannot be read as mail; the message is for the user."""


def read_mbox(path: Path) -> Iterator[tuple[int, bytes]]:
    """(offset of the "From " line, raw message) for each message of an mbox file."""
    with open(path, "rb") as stream:
        if os.fstat(stream.fileno()).st_size == 0:
            return
        # Mapped, not read: the operating system pages the file in and out, so a mailbox of
        # any size costs one message of memory, and the separators are found by `find` in C
        # rather than by a Python loop over every line (a third of bare parsing's time).
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield from _messages(data)


def _messages(data) -> Iterator[tuple[int, bytes]]:
    size = len(data)
    start = body = 0  # the current message's "From " line, and where its text begins
    if data[:5] == b"From ":
        body = _next_line(data, 0)
    position = 0
    while (found := data.find(b"\nFrom ", position)) != -1:
        line = position = found + 1
        previous = data.rfind(b"\n", 0, found) + 1  # the line before: blank?
        if not (found == previous or (found == previous + 1 and data[previous] == CR)):
            continue
        if body < line:
            yield start, _message(data[body:line])
        start, body = line, _next_line(data, line)
    if body < size:
        yield start, _message(data[body:size])


def _next_line(data, position: int) -> int:
    end = data.find(b"\n", position)
    return len(data) if end == -1 else end + 1


def _message(text: bytes) -> bytes:
    # The blank line before the next "From " belongs to the mbox, not to the message.
    if text.endswith(b"\n"):
        last = text.rfind(b"\n", 0, len(text) - 1) + 1
        if text[last:] in (b"\n", b"\r\n"):
            text = text[:last]
    if b">From " in text:
        text = _QUOTED_FROM.sub(rb"\1", text)  # mboxrd: one ">" less on quoted "From " lines
    return text


def is_mbox(path: Path) -> bool:
    with open(path, "rb") as stream:
        return stream.read(5) == b"From "


def capture_file(
    path: str | os.PathLike,
    *,
    user: User,
    kind: str | None = None,
    batch: int = BATCH,
    progress=None,
) -> Outcome:
    """Capture every message of an mbox or .eml file (`kind` "mbox" or "eml"; None: from the
    file's first bytes) for `user`; `progress(outcome)` is called after each batch."""
    path = Path(path)
    if not path.is_file():
        raise FileError(f"{path} is not a file.")
    mbox = is_mbox(path)
    if kind == "mbox" and not mbox:
        raise FileError(f"{path} is not an mbox archive: it does not start with a 'From ' line.")
    outcome = Outcome()
    if mbox and kind != "eml":
        source, items = CapturedMessage.Source.MBOX, _mbox_items(path)
    else:
        source = CapturedMessage.Source.EML
        items = iter([Incoming(raw=path.read_bytes(), source_ref=path.name)])
    for chunk in _batches(items, batch):
        outcome.add(capture_messages(chunk, user=user, source=source))
        if progress:
            progress(outcome)
    return outcome


def _batches(items: Iterator[Incoming], size: int) -> Iterator[list[Incoming]]:
    chunk: list[Incoming] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _mbox_items(path: Path) -> Iterator[Incoming]:
    for number, (offset, raw) in enumerate(read_mbox(path), start=1):
        yield Incoming(raw=raw, source_ref=f"{path.name} #{number} (byte {offset})")
