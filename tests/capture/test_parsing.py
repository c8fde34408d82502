"""parse_message over real, messy mail: CPython's own test corpus and our fixtures."""

# ruff: noqa: RUF001 - the fixtures are written in Cyrillic and with typographic dashes

import base64
import datetime
import email
import pathlib

import pytest

from salesdesk.capture.message import Address
from salesdesk.capture.parsing import (
    MAX_BODY_CHARS,
    html_to_text,
    parse_message,
    strip_quoted_history,
)

DATA = pathlib.Path(__file__).parent / "data" / "messages"
CPYTHON_DATA = pathlib.Path(email.__file__).parent.parent / "test" / "test_email" / "data"
UTC = datetime.UTC


def load(name: str):
    return parse_message((DATA / name).read_bytes())


def cpython(name: str):
    if not CPYTHON_DATA.is_dir():
        pytest.skip(f"this Python build ships without {CPYTHON_DATA}")
    return parse_message((CPYTHON_DATA / name).read_bytes())


def _corpus():
    if not CPYTHON_DATA.is_dir():
        return [
            pytest.param(None, marks=pytest.mark.skip(reason=f"no {CPYTHON_DATA} in this build"))
        ]
    return [pytest.param(path, id=path.name) for path in sorted(CPYTHON_DATA.iterdir())]


# --- CPython's corpus ------------------------------------------------------------------------


@pytest.mark.parametrize("path", _corpus())
def test_every_cpython_corpus_file_parses_without_raising(path):
    parsed = parse_message(path.read_bytes())

    assert len(parsed.content_hash) == 64
    if parsed.skip_reason:
        assert parsed.sender is None
    else:
        assert parsed.sender is not None
        assert parsed.sender.email == parsed.sender.email.strip().lower()
    assert parsed.date is None or parsed.date.tzinfo is UTC
    assert len(parsed.full_text) <= MAX_BODY_CHARS
    assert "\r" not in parsed.full_text
    assert "\x00" not in parsed.full_text


def test_cpython_plain_message():
    parsed = cpython("msg_01.txt")

    assert parsed.sender == Address("bbb@ddd.com", "John X. Doe")
    assert parsed.to == [Address("bbb@zzz.org")]
    assert parsed.subject == "This is a test message"
    assert parsed.date == datetime.datetime(2001, 5, 4, 18, 5, 44, tzinfo=UTC)
    assert parsed.message_id == "15090.61304.110929.45684@aaa.zzz.org"
    assert parsed.body == "Hi,\n\nDo you like this message?\n\n-Me"
    assert (parsed.automated, parsed.skip_reason, parsed.defects) == ("", "", [])


def test_cpython_image_attachment_is_recorded_not_kept():
    parsed = cpython("msg_07.txt")
    gif = email.message_from_bytes((CPYTHON_DATA / "msg_07.txt").read_bytes()).get_payload(1)

    assert parsed.body == "Hi there,\n\nThis is the dingus fish."
    assert parsed.attachments == [
        ("dingusfish.gif", "image/gif", len(gif.get_payload(decode=True)))
    ]


def test_cpython_bounces_and_lists_are_automated():
    assert cpython("msg_16.txt").automated == "delivery or read report (multipart/report)"
    assert cpython("msg_25.txt").automated == "delivery or read report (multipart/report)"
    assert cpython("msg_32.txt").automated == "Precedence: bulk"


def test_cpython_files_that_are_not_mail_are_skipped():
    assert cpython("python.gif").skip_reason == "not an e-mail message (no headers)"
    assert cpython("sndhdr.wav").skip_reason == "not an e-mail message (no headers)"
    assert cpython("msg_05.txt").skip_reason == "no sender address (From)"  # From: foo


def test_cpython_missing_boundary_reads_the_body_as_text():
    parsed = cpython("msg_31.txt")

    assert parsed.sender == Address("aperson@dom.ain")
    assert parsed.full_text.startswith("--BOUNDARY\nContent-Type: text/plain\n\nmessage 1")
    assert "StartBoundaryNotFound" in parsed.defects


def test_cpython_named_text_part_is_the_body_and_the_second_an_attachment():
    parsed = cpython("msg_44.txt")

    assert parsed.body == "a simple kind of mirror\nto reflect upon our own"
    assert parsed.attachments == [("msg.txt", "text/plain", 48)]


# --- Charsets and broken headers ---------------------------------------------------------------


def test_latin1_body_and_encoded_word_headers():
    parsed = load("latin1.eml")

    assert parsed.sender == Address("juergen@mueller-bau.de", "Jürgen Müller")
    assert parsed.subject == "Grüße aus Köln"
    assert parsed.body == (
        "Hallo Alice,\n\ndas Angebot für die Baustelle in Köln passt. Schöne Grüße\nJürgen Müller"
    )


def test_windows_1252_quoted_printable():
    parsed = load("windows1252.eml")

    assert parsed.body.splitlines()[2] == (
        "the \u201cpremium\u201d plan at 50\u20ac per seat works for us \u2013 please send the "
        "contract."
    )


def test_iso_2022_jp():
    parsed = load("iso2022jp.eml")

    assert parsed.sender == Address("taro.yamada@yamada-shoji.co.jp", "山田太郎")
    assert parsed.subject == "お見積もりの件"
    assert parsed.body == "アリス様\n\nお見積もりをありがとうございます。\n\n山田太郎"


def test_koi8_r_base64():
    parsed = load("koi8r.eml")

    assert parsed.sender == Address("ivan@petrov-trade.ru", "Иван Петров")
    assert parsed.subject == "Предложение"
    assert parsed.body == "Добрый день, Алиса!\n\nСпасибо за предложение.\n\nИван Петров"


def test_unknown_charset_is_read_as_utf8_and_noted():
    parsed = load("unknown_charset.eml")

    assert parsed.body == "Café naïve – déjà vu"
    assert parsed.subject == "Qapla'"
    assert parsed.defects == [
        "unknown charset 'x-klingon' in subject header",
        "unknown charset 'x-klingon' in body",
    ]


def test_eight_bit_raw_headers_are_read_as_utf8():
    parsed = load("eightbit_headers.eml")

    assert parsed.sender == Address("jose@nunez-sa.es", "José Núñez")
    assert parsed.to == [Address("alice@salesdesk.test", "Ålice Sëller")]
    assert parsed.subject == "Reunión mañana – confirmado"
    assert "8-bit characters in subject header" in parsed.defects


def test_eight_bit_header_in_windows_1252():
    raw = b"From: Ren\xe9 <rene@acme.example>\nSubject: Caf\xe9\n\nhi\n"

    parsed = parse_message(raw)

    assert parsed.sender == Address("rene@acme.example", "René")
    assert parsed.subject == "Café"


def test_body_declared_utf8_but_written_in_windows_1252():
    raw = b"From: a@acme.example\nContent-Type: text/plain; charset=utf-8\n\nNa\xefve\n"

    parsed = parse_message(raw)

    assert parsed.body == "Naïve"
    assert parsed.defects == [
        "no Date header",
        "body declared as UTF-8 is not; read as Windows-1252",
    ]


def test_broken_mime_without_closing_boundary():
    parsed = load("broken_mime.eml")

    assert parsed.body == "Here are the specs."
    assert parsed.attachments == [("specs.pdf", "application/pdf", 45)]
    assert "CloseBoundaryNotFound" in parsed.defects
    assert parsed.skip_reason == ""


def test_missing_message_id_keeps_the_content_hash():
    parsed = load("missing_message_id.eml")

    assert parsed.message_id == ""
    assert parsed.thread_key == ""
    assert len(parsed.content_hash) == 64
    assert parsed.date == datetime.datetime(2024, 1, 3, 14, 30, tzinfo=UTC)


def test_missing_date_falls_back_to_received():
    parsed = load("missing_date.eml")

    assert parsed.date == datetime.datetime(2024, 1, 4, 15, 4, 5, tzinfo=UTC)
    assert parsed.defects == ["no Date header", "date taken from Received header"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Tue, 02 Jan 2024 10:00:00 +0100", datetime.datetime(2024, 1, 2, 9, 0, tzinfo=UTC)),
        ("Tue, 02 Jan 2024 10:00:00 -0000", datetime.datetime(2024, 1, 2, 10, 0, tzinfo=UTC)),
        ("2 Jan 2024 10:00 PST", datetime.datetime(2024, 1, 2, 18, 0, tzinfo=UTC)),
        ("yesterday", None),
        ("Tue, 02 Jan 1850 10:00:00 +0000", None),
        ("", None),
    ],
)
def test_dates_are_aware_utc(header, expected):
    parsed = parse_message(f"From: a@acme.example\nDate: {header}\n\nx\n".encode())

    assert parsed.date == expected


def test_no_from_address_is_skipped():
    parsed = parse_message(b"To: alice@salesdesk.test\nSubject: who?\n\nbody\n")

    assert parsed.skip_reason == "no sender address (From)"
    assert parsed.subject == "who?"


def test_sender_header_stands_in_for_a_missing_from():
    parsed = parse_message(b"Sender: Bob <bob@acme.example>\nSubject: x\n\nbody\n")

    assert parsed.sender == Address("bob@acme.example", "Bob")
    assert parsed.skip_reason == ""
    assert "no From address; used Sender" in parsed.defects


def test_garbage_addresses_are_skipped_and_duplicates_dropped():
    raw = (
        b"From: Bob <BOB@Acme.Example>\n"
        b'To: undisclosed-recipients:;, <>, "x" <not an address>, bob@acme.example,\n'
        b" =?utf-8?q?Ren=C3=A9?= <rene@acme.example>\n"
        b"Cc: carol@acme.example, CAROL@acme.example\n\nx\n"
    )

    parsed = parse_message(raw)

    assert parsed.sender == Address("bob@acme.example", "Bob")
    assert parsed.to == [Address("bob@acme.example"), Address("rene@acme.example", "René")]
    assert parsed.cc == [Address("carol@acme.example")]
    assert [a.email for a in parsed.participants()] == [
        "bob@acme.example",
        "rene@acme.example",
        "carol@acme.example",
    ]


def test_message_ids_and_thread():
    raw = (
        b"From: a@acme.example\nMessage-ID:   bare-id@acme.example\n"
        b"In-Reply-To: Your message of Monday <p2@x.example>\n"
        b"References: <root@x.example>\n <p1@x.example> <root@x.example>\n\t<p2@x.example>\n\nx\n"
    )

    parsed = parse_message(raw)

    assert parsed.message_id == "bare-id@acme.example"
    assert parsed.in_reply_to == "p2@x.example"
    assert parsed.references == ["root@x.example", "p1@x.example", "p2@x.example"]
    assert parsed.thread_key == "root@x.example"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n\r\n",
        b"\x00\xff\xfe garbage \x00",
        b"From: " + b"a" * 200_000 + b"\n\nx",
        b"Content-Type: multipart/mixed; boundary=b\nFrom: a@acme.example\n\n" + b"--b\n" * 5000,
        b"From: a@acme.example\nSubject: =?utf-8?b?####?=\nContent-Type: text/plain; "
        b"charset*=''\nContent-Transfer-Encoding: base64\n\n$$$$",
        b'From: a@acme.example\nContent-Type: text/plain; charset="utf-8\n\n\xff',
        "From: ä@acme.example\n\nnot bytes but text",
        None,
    ],
)
def test_never_raises(raw):
    parsed = parse_message(raw)

    assert parsed.skip_reason or parsed.sender is not None


def test_deeply_nested_multipart_stops_at_a_limit():
    raw = b"From: a@acme.example\n"
    for depth in range(200):
        raw += f"Content-Type: multipart/mixed; boundary=b{depth}\n\n--b{depth}\n".encode()
    raw += b"Content-Type: text/plain\n\ndeep\n"

    parsed = parse_message(raw)

    assert parsed.sender == Address("a@acme.example")
    assert "too many or too deeply nested MIME parts; the rest ignored" in parsed.defects


# --- Size limits --------------------------------------------------------------------------------


def test_twenty_megabyte_attachment_is_measured_not_kept():
    size = 20 * 1024 * 1024
    raw = (
        b"From: Bob <bob@acme.example>\nSubject: Big file\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain\n\nThe data set is attached.\n"
        b'--B\nContent-Type: application/zip; name="data.zip"\n'
        b'Content-Disposition: attachment; filename="data.zip"\n'
        b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(bytes(size)) + b"--B--\n"
    )

    parsed = parse_message(raw)

    assert parsed.attachments == [("data.zip", "application/zip", size)]
    assert parsed.body == "The data set is attached."


def test_huge_text_body_is_cut():
    raw = b"From: a@acme.example\nDate: Tue, 02 Jan 2024 10:00:00 +0000\n\n" + b"word " * 200_000

    parsed = parse_message(raw)

    assert len(parsed.full_text) == MAX_BODY_CHARS
    assert parsed.defects == [f"text cut at {MAX_BODY_CHARS} characters"]


# --- Bulk and automated mail ---------------------------------------------------------------------


def test_html_only_newsletter():
    parsed = load("newsletter.eml")

    assert parsed.automated == "bulk mail (List-Unsubscribe)"
    assert parsed.body == (
        "This week\n\nThree stories you missed:\n\n"
        "- Pricing pages <https://saasweekly.example/a>\n- Churn\n\nBye\nThe team"
    )


def test_rfc3834_auto_reply():
    parsed = load("autoreply.eml")

    assert parsed.automated == "Auto-Submitted: auto-replied"
    assert parsed.in_reply_to == "proposal-1@salesdesk.test"


def test_delivery_status_notification():
    parsed = load("dsn.eml")

    assert parsed.automated == "delivery or read report (multipart/report)"
    assert parsed.body == "This is the mail system. Your message could not be delivered."
    assert parsed.attachments == [
        ("", "message/delivery-status", 0),
        ("Proposal.eml", "message/rfc822", 6),
    ]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated"),
        ("Auto-Submitted: no", ""),
        ("X-Autoreply: yes", "auto-reply (x-autoreply)"),
        ("X-Autorespond: Out of office", "auto-reply (x-autorespond)"),
        ("Precedence: list", "Precedence: list"),
        ("Precedence: first-class", ""),
        ("List-Id: Sales people <sales.lists.example>", "mailing list (List-Id)"),
        ("Return-Path: <>", "null sender (Return-Path: <>)"),
        ("X-Auto-Response-Suppress: All", ""),  # Outlook sets it on ordinary mail
        ("Subject: Automatische Antwort: Angebot", "auto-reply subject"),
        ("Subject: Out of Office: Proposal", "auto-reply subject"),
        ("Subject: Abwesenheitsnotiz: Angebot", "auto-reply subject"),
        ("Subject: Out of office next week, can we talk today?", ""),
    ],
)
def test_automated_headers(headers, reason):
    parsed = parse_message(f"From: bob@acme.example\n{headers}\n\nbody\n".encode())

    assert parsed.automated == reason


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("noreply@github.com", "sender is a no-reply address"),
        ("MAILER-DAEMON@mx.acme.example", "sender is a mail system address"),
        ("newsletter@shop.example", "sender is a bulk address"),
        ("info@acme.example", ""),  # a person answers info@ at a small company
    ],
)
def test_automated_senders(sender, reason):
    assert parse_message(f"From: {sender}\n\nbody\n".encode()).automated == reason


# --- Quoted history ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("reply_gmail_en.eml", "Sounds good, let's sign on Friday.\n\nBob"),
        (
            "reply_gmail_html_only.eml",
            "Works for me.\n\nBob Buyer\nHead of Purchasing\n<https://www.linkedin.com/in/bobbuyer>",
        ),
        (
            "reply_outlook_en.eml",
            "Thanks Alice, approved.\n\nCarl Client\nCFO, Globex\n+1 555 0100",
        ),
        (
            "reply_outlook_de.eml",
            "Hallo Alice,\n\npasst, bitte Rechnung an die Buchhaltung.\n\n"
            "Mit freundlichen Grüßen\nMax Muster\nEinkauf",
        ),
        ("reply_apple_de.eml", "Danke, ich melde mich.\n\nVon meinem iPhone gesendet"),
        ("reply_apple_fr.eml", "Parfait, merci !\n\nClaire"),
        ("reply_gmail_fr.eml", "C'est noté."),
        ("reply_gmail_es.eml", "De acuerdo, lo firmamos.\n\nAna"),
        ("reply_gmail_nl.eml", "Akkoord.\n\nJan"),
        ("reply_apple_nl.eml", "Prima, tot morgen."),
    ],
)
def test_replies_lose_their_quoted_history(name, body):
    parsed = load(name)

    assert parsed.body == body
    assert parsed.full_text.startswith(body)
    assert len(parsed.full_text) > len(body)
    if name != "reply_gmail_html_only.eml":
        assert parsed.references == ["root@salesdesk.test", "proposal-1@salesdesk.test"]


def test_reply_prefers_the_plain_text_alternative():
    parsed = load("reply_gmail_en.eml")

    assert parsed.full_text.endswith("> Hi Bob,\n>\n> here is the proposal.")


def test_forward_keeps_the_forwarded_message():
    parsed = load("forward_gmail.eml")

    assert parsed.body == parsed.full_text
    assert parsed.body.startswith("Alice, see below from our CFO.\n\n---------- Forwarded message")
    assert parsed.body.endswith(
        "Budget approved for 50 seats.\n\nOn Sun, Dec 31, 2023 at 8:00 PM "
        "Bob Buyer <bob@acme.example> wrote:\n> Can we approve the budget?"
    )


def test_outlook_forward_keeps_the_forwarded_header_block():
    parsed = load("forward_outlook_de.eml")

    assert parsed.body.startswith("Zur Info.\n\nVon: Erika Einkauf <erika@firma.de>\nGesendet:")
    assert parsed.body.endswith("Der Rahmenvertrag ist freigegeben.")


def test_forward_as_attachment_is_an_attachment():
    parsed = load("forward_attached.eml")

    assert parsed.body == "See attached."
    assert [(name, kind) for name, kind, _ in parsed.attachments] == [
        ("Order 42.eml", "message/rfc822")
    ]


def test_inline_answers_keep_the_quotes_in_between():
    text = "> Can you do 40 seats?\nYes.\n\n> And Friday?\nAlso yes.\n\n> Thanks\n> Alice\n"

    assert strip_quoted_history(text) == (
        "> Can you do 40 seats?\nYes.\n\n> And Friday?\nAlso yes."
    )


def test_a_from_line_without_sent_line_is_not_a_quote_header():
    text = "From: the team in Berlin\nwe agree.\n\nBest\nMax"

    assert strip_quoted_history(text) == text


# --- HTML ----------------------------------------------------------------------------------------


def test_html_to_text():
    html = (
        "<html><head><style>p{}</style><title>T</title></head><body>"
        "<script>alert(1)</script><div>Sounds good</div><div><br></div><div>Bob &amp; "
        "Co&nbsp;KG</div><p>Call <a href='tel:+4930123'>+49 30 123</a> or see "
        "<a href='https://acme.example/team'>our team</a>.</p>"
        "<table><tr><td>a</td><td>b</td></tr></table><blockquote>quoted<br>lines</blockquote>"
        "<ul><li>one</li><li>two</li></ul><div>before</div><blockquote>outer<blockquote>inner"
        "</blockquote>outer again</blockquote>after</body></html>"
    )

    assert html_to_text(html) == (
        "Sounds good\n\nBob & Co KG\n\nCall +49 30 123 or see our team "
        "<https://acme.example/team>.\n\na b\n\n> quoted\n> lines\n\n- one\n- two\n"
        "before\n\n> outer\n>\n> > inner\n>\n> outer again\n\nafter"
    )


# --- Idempotency ---------------------------------------------------------------------------------


def _export(*, newline: bytes, folded: bool, encoding: str) -> bytes:
    text = "Hallo Bob,\n\ndas Angebot über 12.000 € gilt bis Freitag.\n\nGrüße\nAlice\n"
    if encoding == "base64":
        body = base64.encodebytes(text.encode("utf-8"))
    else:
        import quopri

        body = quopri.encodestring(text.encode("utf-8"))
    subject = (
        b"Subject: =?utf-8?q?Angebot_f=C3=BCr?=\n =?utf-8?q?_Acme?=\n"
        if folded
        else b"Subject: =?utf-8?b?QW5nZWJvdCBmw7xyIEFjbWU=?=\n"
    )
    to = (
        b"To: Bob <bob@acme.example>,\n\tCarol <Carol@Acme.example>\n"
        if folded
        else (b"To: Bob <bob@acme.example>, Carol <carol@acme.example>\n")
    )
    raw = (
        b"From: Alice <alice@salesdesk.test>\n"
        + to
        + subject
        + b"Date: Tue, 02 Jan 2024 10:00:00 +0100\nContent-Type: text/plain; charset=utf-8\n"
        + f"Content-Transfer-Encoding: {encoding}\n\n".encode()
        + body
    )
    return raw.replace(b"\n", newline)


def test_content_hash_survives_re_export():
    first = parse_message(_export(newline=b"\n", folded=False, encoding="quoted-printable"))
    second = parse_message(_export(newline=b"\r\n", folded=True, encoding="base64"))

    assert first.message_id == second.message_id == ""
    assert first.subject == second.subject == "Angebot für Acme"
    assert first.content_hash == second.content_hash


def test_content_hash_tells_different_messages_apart():
    raw = _export(newline=b"\n", folded=False, encoding="base64")
    other_day = raw.replace(b"Tue, 02 Jan 2024", b"Wed, 03 Jan 2024")
    other_cc = raw.replace(b"Date:", b"Cc: dave@acme.example\nDate:")

    hashes = {parse_message(r).content_hash for r in (raw, other_day, other_cc)}

    assert len(hashes) == 3
