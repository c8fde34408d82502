"""Matching keys, company domains and the addresses that never become contacts."""

import pytest

from salesdesk.capture import addresses


@pytest.mark.parametrize(
    ("email", "key"),
    [
        ("Bob@Acme.com", "bob@acme.com"),
        ("  bob@acme.com \n", "bob@acme.com"),
        ("bob+crm@acme.com", "bob@acme.com"),
        ("bob+a+b@acme.com", "bob@acme.com"),
        ("b.o.b@acme.com", "b.o.b@acme.com"),  # dots matter outside Gmail
        ("J.Doe+news@Gmail.com", "jdoe@gmail.com"),
        ("j.doe@googlemail.com", "jdoe@gmail.com"),
        ("+only@acme.com", "+only@acme.com"),  # a tag needs a name before it
        ("jürgen@müller.de", "jürgen@müller.de"),
        ("o'brien@acme.ie", "o'brien@acme.ie"),
        # invalid
        ("", ""),
        ("bob", ""),
        ("bob@", ""),
        ("@acme.com", ""),
        ("bob@@acme.com", ""),
        ("bob@acme", ""),
        ("bob@acme.com.", ""),
        ("bob smith@acme.com", ""),
        ('"bob"@acme.com', ""),
        (".bob@acme.com", ""),
        ("bo..b@acme.com", ""),
        ("bob@[192.168.0.1]", ""),
        ("bob@-acme.com", ""),
        ("bob@acme_corp.com", ""),
        ("bob@acme.123", ""),
        ("x" * 65 + "@acme.com", ""),
        ("bob@" + "a" * 250 + ".com", ""),
    ],
)
def test_normalize(email, key):
    assert addresses.normalize(email) == key


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("bob@acme.com", "acme.com"),
        ("bob@mail.eu.acme.co.uk", "acme.co.uk"),
        ("mail.eu.acme.co.uk", "acme.co.uk"),
        ("kim@sales.widgets.com.au", "widgets.com.au"),
        ("amt@post.wien.gv.at", "wien.gv.at"),  # gv.at is a public suffix
        ("Bob@ACME.COM.", "acme.com"),
        ("taro@yamada-shoji.co.jp", "yamada-shoji.co.jp"),
        ("root@localhost", ""),
        ("admin@10.0.0.1", ""),
        ("", ""),
    ],
)
def test_registered_domain(value, domain):
    assert addresses.registered_domain(value) == domain


@pytest.mark.parametrize(
    "value",
    [
        "jane@gmail.com",
        "googlemail.com",
        "x@hotmail.co.uk",
        "x@yahoo.com.br",
        "x@yandex.kz",
        "x@web.de",
        "x@gmx.net",
        "x@t-online.de",
        "x@proton.me",
        "x@qq.com",
        "x@icloud.com",
        "X@OUTLOOK.COM",
        "x@outlook.de",
    ],
)
def test_free_mail(value):
    assert addresses.is_free_mail(value)


@pytest.mark.parametrize("value", ["bob@acme.com", "x@mail.acme.co.uk", "x@gmail-consulting.com"])
def test_company_domains_are_not_free_mail(value):
    assert not addresses.is_free_mail(value)


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("noreply@github.com", "no-reply address"),
        ("no-reply@accounts.google.com", "no-reply address"),
        ("do_not_reply@bank.example", "no-reply address"),
        ("DoNotReply@contoso.com", "no-reply address"),
        ("drive-shares-noreply@google.com", "no-reply address"),
        ("MAILER-DAEMON@mx.acme.com", "mail system address"),
        ("postmaster@acme.com", "mail system address"),
        ("bounces+12345-abcd=acme.com@sendgrid.net", "bounce address"),
        ("bounce-mc.us5_1234@mail.mailchimp.example", "bounce address"),
        ("notifications@github.com", "notifications address"),
        ("calendar-notification@google.com", "notifications address"),
        ("newsletter@shop.example", "bulk address"),
        ("news@shop.example", "bulk address"),
        ("marketing@acme.com", "bulk address"),
        ("info@acme.com", "role address"),
        ("sales+eu@acme.com", "role address"),
        ("Support@acme.com", "role address"),
        ("bob@acme.com", ""),
        ("bruno.reply@acme.com", ""),
        ("newton@acme.com", ""),
        ("infoline.bob@acme.com", ""),
    ],
)
def test_is_role_or_automated(email, reason):
    assert addresses.is_role_or_automated(email) == reason


def test_role_addresses_are_not_automated():
    assert addresses.automated_reason("info@acme.com") == ""
    assert addresses.automated_reason("noreply@acme.com") == "no-reply address"


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("alice@salesdesk.io", True),
        ("alice@eu.salesdesk.io", True),
        ("ALICE@EU.SALESDESK.IO", True),
        ("alice@salesdesk.de", True),
        ("mallory@notsalesdesk.io", False),
        ("bob@acme.com", False),
        ("", False),
    ],
)
def test_is_internal(email, expected):
    assert addresses.is_internal(email, ["salesdesk.io", "@Salesdesk.de", ""]) is expected
