"""One e-mail as the capture pipeline sees it, whatever it came from (IMAP, mbox, .eml).

`parsing.parse_message(raw: bytes) -> ParsedMessage` builds it; the pipeline
(`capture/pipeline.py`) turns it into contacts, companies and one activity. Parsing never raises
on bad input: a message that cannot be used carries `skip_reason`, and is recorded as skipped.
"""

import datetime
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Address:
    """One participant. `email` is lower-cased and stripped, as written (no plus or dot rules:
    `addresses.normalize` applies those when matching)."""

    email: str
    name: str = ""


@dataclass
class ParsedMessage:
    message_id: str  # without <>; "" when the header is missing or unusable
    content_hash: str  # sha256 hex of the normalized headers and body: idempotency fallback
    subject: str = ""
    date: datetime.datetime | None = None  # aware, UTC; None when missing or unparseable
    sender: Address | None = None  # From (the first one)
    reply_to: list[Address] = field(default_factory=list)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    in_reply_to: str = ""  # a Message-ID without <>
    references: list[str] = field(default_factory=list)  # Message-IDs without <>, oldest first
    body: str = ""  # clean plain text: no quoted history, no signature removal
    full_text: str = ""  # the whole text part (or the HTML turned into text), for signatures
    attachments: list[tuple[str, str, int]] = field(default_factory=list)  # name, type, bytes
    # Why the message creates nothing (bulk, auto-reply, no-reply sender...): "" when usable.
    automated: str = ""
    # Why the message could not be read at all (not an e-mail, no sender...): "" when readable.
    skip_reason: str = ""
    defects: list[str] = field(default_factory=list)  # what the parser had to work around

    @property
    def thread_key(self) -> str:
        """The Message-ID that starts the thread: the first reference, else what it replies to,
        else its own."""
        if self.references:
            return self.references[0]
        return self.in_reply_to or self.message_id

    def participants(self) -> list[Address]:
        """Everyone on the message, each address once, From first."""
        seen, result = set(), []
        for address in [self.sender, *self.reply_to, *self.to, *self.cc]:
            if address is not None and address.email not in seen:
                seen.add(address.email)
                result.append(address)
        return result
