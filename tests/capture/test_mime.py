"""The parser's fast paths against the stdlib they stand in for.

`mime.fast_message` must build exactly the tree `email.message_from_bytes` builds, and
`parsing.simple_addresses` must give exactly the pairs `email.utils.getaddresses` gives, on every
input they accept; on anything else they answer None and the stdlib parses."""

import email
import importlib.util
import pathlib
from email.message import Message
from email.utils import getaddresses

import pytest

from salesdesk.capture.mime import boundary, content_charset, content_params, fast_message
from salesdesk.capture.parsing import _headers, _unescape, parse_message, simple_addresses

DATA = pathlib.Path(__file__).parent / "data" / "messages"
CPYTHON_DATA = pathlib.Path(email.__file__).parent.parent / "test" / "test_email" / "data"
BENCH = pathlib.Path(__file__).parents[2] / "bench" / "capture.py"


def differences(fast: Message, slow: Message, where: str = "message") -> list[str]:
    """Where the two trees differ: headers, defects, default type, payload, parts."""
    found = []
    if fast._headers != slow._headers:
        found.append(f"{where}: headers")
    if fast.defects or slow.defects:
        found.append(f"{where}: defects {slow.defects}")
    if fast.get_default_type() != slow.get_default_type():
        found.append(f"{where}: default type")
    if isinstance(fast._payload, list) and isinstance(slow._payload, list):
        if len(fast._payload) != len(slow._payload):
            found.append(f"{where}: {len(fast._payload)} parts, not {len(slow._payload)}")
        for number, (a, b) in enumerate(zip(fast._payload, slow._payload, strict=False)):
            found += differences(a, b, f"{where}.{number}")
    elif fast._payload != slow._payload:
        found.append(f"{where}: payload")
    return found


def generated_mbox(tmp_path_factory) -> list[bytes]:
    """1,000 messages of the capture benchmark's realistic mailbox."""
    spec = importlib.util.spec_from_file_location("capture_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path_factory.mktemp("mbox") / "bench.mbox"
    bench.write_mbox(path, messages=1000, seed=7, companies=40, people=300)
    from salesdesk.capture.files import read_mbox

    return [raw for _offset, raw in read_mbox(path)]


@pytest.fixture(scope="module")
def every_message(tmp_path_factory) -> list[tuple[str, bytes]]:
    messages = [(path.name, path.read_bytes()) for path in sorted(DATA.iterdir())]
    if CPYTHON_DATA.is_dir():
        messages += [(path.name, path.read_bytes()) for path in sorted(CPYTHON_DATA.iterdir())]
    messages += [
        (f"bench #{number}", raw)
        for number, raw in enumerate(generated_mbox(tmp_path_factory), start=1)
    ]
    return messages


def test_fast_tree_equals_the_stdlib_tree_wherever_it_answers(every_message):
    answered = 0
    for name, raw in every_message:
        fast = fast_message(raw)
        if fast is None:
            continue
        answered += 1
        assert differences(fast, email.message_from_bytes(raw)) == [], name
    # The realistic mailbox is well-formed: the fast path reads nearly all of it.
    assert answered >= 1000


def test_simple_addresses_equal_getaddresses_wherever_they_answer(every_message):
    answered = 0
    for name, raw in every_message:
        headers = _headers(email.message_from_bytes(raw))
        for field in ("from", "to", "cc", "reply-to", "sender"):
            values = [_unescape(value) for value in headers.get(field, [])]
            pairs = simple_addresses(values) if values else None
            if pairs is not None:
                answered += 1
                assert pairs == getaddresses(values), (name, field)
    assert answered >= 2000


def test_content_type_parameters_equal_get_param_wherever_they_answer(every_message):
    answered = 0
    for name, raw in every_message:
        for part in email.message_from_bytes(raw).walk():
            expected_charset = part.get_content_charset()
            expected_boundary = part.get_boundary()
            assert content_charset(part) == expected_charset, name
            assert boundary(part) == expected_boundary, name
            params = content_params(part)
            if params is not None:
                answered += 1
                for key in ("name", "charset", "boundary", "format", "type"):
                    assert params.get(key) == part.get_param(key), (name, key)
    assert answered >= 2000


@pytest.mark.parametrize(
    "header",
    [
        'text/plain; charset="UTF-8"; format=flowed',
        "text/plain;charset=iso-8859-1;",
        'multipart/mixed; boundary="----=_Part_1; not a split"',
        'multipart/mixed; BOUNDARY="<b1>"  ',
        "application/pdf; name=report.pdf; name=second.pdf",
        "text/plain; name*=utf-8''r%C3%A9sum%C3%A9.txt",
        'text/plain; name="a \\"quoted\\" name"',
        "text/plain; flag; charset=ascii",
    ],
)
def test_content_type_parameters_of_hand_made_headers(header):
    part = Message()
    part["Content-Type"] = header
    params = content_params(part)

    assert content_charset(part) == part.get_content_charset()
    assert boundary(part) == part.get_boundary()
    if params is not None:
        assert {key: params.get(key) for key in ("name", "charset", "boundary", "flag")} == {
            key: part.get_param(key) for key in ("name", "charset", "boundary", "flag")
        }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("anna@acme.com", [("", "anna@acme.com")]),
        ("<anna@acme.com>", [("", "anna@acme.com")]),
        ("Dr.  Anna   Schmidt <anna@acme.de>", [("Dr. Anna Schmidt", "anna@acme.de")]),
        (
            '"Schmidt, Anna" <a@acme.de>, bo@x.org',
            [("Schmidt, Anna", "a@acme.de"), ("", "bo@x.org")],
        ),
        ("=?utf-8?q?M=C3=BCller?= <m@x.de>", [("=?utf-8?q?M=C3=BCller?=", "m@x.de")]),
        ("Anna\r\n Schmidt <anna@acme.de>", [("Anna Schmidt", "anna@acme.de")]),
    ],
)
def test_simple_addresses(value, expected):
    assert simple_addresses([value]) == expected
    assert getaddresses([value]) == expected


@pytest.mark.parametrize(
    "value",
    [
        "anna@acme.com, ",  # trailing comma: getaddresses adds an empty pair
        "anna@acme.com,",
        "Anna (work) <anna@acme.com>",  # comments
        "undisclosed-recipients:;",  # groups
        '"Anna \\"A\\"" <anna@acme.com>',  # escapes
        '"Anna" Schmidt <anna@acme.com>',  # quoted and unquoted words mixed
        "a..b@acme.com",
        "anna@[192.0.2.1]",
        "Anna Schmidt anna@acme.com",
    ],
)
def test_simple_addresses_leave_the_rest_to_getaddresses(value):
    assert simple_addresses([value]) is None


MULTIPART = (
    b"From: anna@acme.com\r\nTo: bo@brightwater.example\r\nSubject: Hi\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
    b"preamble\r\n--outer  \r\n"
    b'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
    b"--inner\r\nContent-Type: text/plain\r\n\r\nplain\r\n\r\n--inner\r\n"
    b"Content-Type: text/html\r\n\r\n<p>html</p>\r\n--inner--\r\n"
    b"--outer\r\n\r\nno headers\r\n--outer--\r\nepilogue\r\n"
)


def test_nested_multipart_with_crlf_and_blanks_after_the_boundary():
    fast = fast_message(MULTIPART)
    slow = email.message_from_bytes(MULTIPART)
    assert fast is not None
    assert differences(fast, slow) == []
    alternative, bare = fast.get_payload()
    assert [part.get_payload() for part in alternative.get_payload()] == [
        "plain\r\n",
        "<p>html</p>",
    ]
    assert bare.get_payload() == "no headers"


def test_folded_headers_and_eight_bit_bytes_are_kept_as_the_stdlib_keeps_them():
    raw = (
        "From: Jürgen <j@acme.de>\nSubject: a long\n\tfolded subject\n\nGrüße\n".encode()
        + b"\xff\n"
    )
    fast = fast_message(raw)
    assert fast is not None
    assert differences(fast, email.message_from_bytes(raw)) == []
    assert fast["subject"] == "a long\n\tfolded subject"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"From: a@b.c\rSubject: x\r\rbody", "bare CR line endings"),
        (b"From: a@b.c\nSubject: x", "no blank line after the headers"),
        (b"From a@b.c Mon Jan 1 00:00:00 2024\nFrom: a@b.c\n\nbody", "an envelope line"),
        (b" folded: first\nFrom: a@b.c\n\nbody", "a continuation first"),
        (b"From: a@b.c\nnot a header\n\nbody", "a line that is no header"),
        (
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n",
            "a multipart never closed",
        ),
        (
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\none\n--b--\n",
            "two boundaries in a row",
        ),
        (b"Content-Type: multipart/mixed; boundary=b\n\nno parts at all\n", "no boundary"),
        (b"Content-Type: multipart/mixed\n\n--b\n\none\n--b--\n", "no boundary parameter"),
        (
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
            b"Content-Type: message/rfc822\n\nFrom: c@d.e\n\ninner\n--b--\n",
            "an attached message",
        ),
        (
            b"Content-Type: multipart/digest; boundary=b\n\n--b\n\nFrom: c@d.e\n\nx\n--b--\n",
            "a digest",
        ),
        (
            b"Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n"
            b"--b\n\none\n--b--\n",
            "a multipart with a transfer encoding",
        ),
    ],
)
def test_whatever_the_fast_path_is_unsure_of_goes_to_the_stdlib(raw, why):
    assert fast_message(raw) is None, why
    # And parse_message still reads it through the stdlib, as before.
    assert parse_message(raw).content_hash


def test_a_boundary_inside_a_line_is_text():
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nsee --b here\n--bx\n--b--\n"
    fast = fast_message(raw)
    assert fast is not None
    assert differences(fast, email.message_from_bytes(raw)) == []
    assert fast.get_payload()[0].get_payload() == "see --b here\n--bx"
