"""Mail from files: mbox archives and .eml messages, through the same pipeline as mailboxes.

An mbox is read as a stream (one message in memory at a time, whatever the file's size):
messages start at a "From " line at the start of the file or after a blank line, and the
">From " quoting of mboxrd is undone.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

from salesdesk.accounts.models import User
from salesdesk.capture.models import CapturedMessage
from salesdesk.capture.pipeline import Incoming, Outcome, capture_messages

BATCH = 500
_QUOTED_FROM = re.compile(rb"^>(>*From )")


class FileError(Exception):
    """A file that cannot be read as mail; the message is for the user."""


def read_mbox(path: Path) -> Iterator[tuple[int, bytes]]:
    """(offset of the "From " line, raw message) for each message of an mbox file."""
    lines: list[bytes] = []
    start, offset, previous_blank = 0, 0, True
    with open(path, "rb") as stream:
        for line in stream:
            if line.startswith(b"From ") and previous_blank:
                if lines:
                    yield start, _message(lines)
                lines, start = [], offset
            else:
                lines.append(_QUOTED_FROM.sub(rb"\1", line))
            previous_blank = line in (b"\n", b"\r\n")
            offset += len(line)
    if lines:
        yield start, _message(lines)


def _message(lines: list[bytes]) -> bytes:
    # The blank line before the next "From " belongs to the mbox, not to the message.
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]
    return b"".join(lines)


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
    chunk: list[Incoming] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= batch:
            outcome.add(capture_messages(chunk, user=user, source=source))
            chunk = []
            if progress:
                progress(outcome)
    if chunk:
        outcome.add(capture_messages(chunk, user=user, source=source))
        if progress:
            progress(outcome)
    return outcome


def _mbox_items(path: Path) -> Iterator[Incoming]:
    for number, (offset, raw) in enumerate(read_mbox(path), start=1):
        yield Incoming(raw=raw, source_ref=f"{path.name} #{number} (byte {offset})")
