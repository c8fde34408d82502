"""What an e-mail address says about its owner: the key contacts are matched on, the company
domain behind it, free-mail providers, addresses no person reads, and the organization's own
domains. Pure functions, no database, no network."""

import re
from collections.abc import Iterable
from functools import cache, lru_cache

import tldextract

# A deliberately simple address grammar: what a CRM can store and match, not all of RFC 5322.
# Invalid (normalize() returns ""): no "@" or more than one, quoted local parts, whitespace or
# control characters, a local part that is empty, longer than 64 characters or starts, ends or
# doubles a dot; a domain without a dot, an IP literal ([1.2.3.4]), a label that is empty, longer
# than 63 characters or starts or ends with "-", an all-digit top-level label; more than 254
# characters in all. Non-ASCII letters are allowed (internationalized addresses).
_LOCAL = re.compile(r"[^\s@\"(),:;<>\[\]\\\x00-\x1f\x7f]{1,64}")
_LABEL = re.compile(r"(?!-)[^\W_](?:[\w-]{0,61}[^\W_])?", re.UNICODE)
_GMAIL = frozenset({"gmail.com", "googlemail.com"})


# Pure functions of a string that the same few thousand addresses go through again and again
# (every message names its sender and recipients): cached.
@lru_cache(maxsize=65536)
def is_valid(email: str) -> bool:
    email = email.strip()
    if len(email) > 254 or email.count("@") != 1:
        return False
    local, domain = email.split("@")
    if not _LOCAL.fullmatch(local) or local[0] == "." or local[-1] == "." or ".." in local:
        return False
    labels = domain.split(".")
    return (
        len(labels) >= 2
        and all(_LABEL.fullmatch(label) and "_" not in label for label in labels)
        and not labels[-1].isdigit()
    )


@lru_cache(maxsize=65536)
def normalize(email: str) -> str:
    """The key two spellings of one mailbox share: lower-case, without a `+tag` (only after at
    least one character: `+only@` is an address of its own), and for Gmail without dots, with
    googlemail.com read as gmail.com. "" for an invalid address (see `is_valid`).

    It must stay equal to `crm.models.ContactEmail.match_key`, which the database computes."""
    email = email.strip().lower()
    if not is_valid(email):
        return ""
    local, domain = email.split("@")
    plus = local.find("+")
    if plus > 0:
        local = local[:plus]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def domain_of(email_or_domain: str) -> str:
    """The part after the last "@" (or the whole string), lower-case, without a trailing dot."""
    return email_or_domain.rpartition("@")[2].strip().lower().rstrip(".")


@cache
def _extractor() -> tldextract.TLDExtract:
    # The public-suffix snapshot shipped inside tldextract: no download, no cache directory.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)
def registered_domain(email_or_domain: str) -> str:
    """The domain a company registered: `j@mail.eu.acme.co.uk` -> `acme.co.uk`. "" for hosts with
    no public suffix (localhost, IP addresses, unknown top-level domains)."""
    domain = domain_of(email_or_domain)
    if not domain:
        return ""
    return _extractor()(domain).top_domain_under_public_suffix


# Providers where anyone gets an address: their domain never makes a company.
FREE_MAIL_DOMAINS = frozenset(
    {
        # Google, Microsoft, Apple, Yahoo, AOL
        "gmail.com", "googlemail.com",
        "outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com", "windowslive.com",
        "live.co.uk", "live.fr", "live.de", "live.nl", "live.it", "live.be", "live.at", "live.ca",
        "live.com.au", "live.se", "live.dk", "live.no", "live.ie", "live.com.mx", "live.cl",
        "icloud.com", "me.com", "mac.com",
        "ymail.com", "rocketmail.com", "aol.com", "aim.com", "aol.de", "aol.fr", "aol.co.uk",
        # Privacy-minded and paid personal mail
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com", "tutanota.de",
        "tuta.io", "tutamail.com", "fastmail.com", "fastmail.fm", "hey.com", "zoho.com",
        "zohomail.com", "hushmail.com", "mailbox.org", "posteo.de", "posteo.net", "runbox.com",
        "mail.com", "email.com", "usa.com", "inbox.com", "lycos.com", "excite.com",
        # German-speaking countries
        "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.com", "web.de", "t-online.de", "freenet.de",
        "arcor.de", "online.de", "kabelmail.de", "vodafonemail.de", "bluewin.ch", "sunrise.ch",
        "hispeed.ch", "aon.at", "chello.at", "a1.net",
        # France, Italy, Spain, Benelux, Nordics, UK
        "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "laposte.net", "neuf.fr", "bbox.fr",
        "libero.it", "virgilio.it", "alice.it", "tin.it", "tiscali.it", "email.it",
        "telefonica.net", "terra.es", "ziggo.nl", "kpnmail.nl", "planet.nl", "home.nl",
        "hetnet.nl", "xs4all.nl", "telenet.be", "skynet.be", "online.no", "telia.com",
        "btinternet.com", "sky.com", "virginmedia.com", "ntlworld.com", "talktalk.net",
        "blueyonder.co.uk",
        # Eastern Europe and Russia
        "mail.ru", "inbox.ru", "list.ru", "bk.ru", "rambler.ru", "ukr.net", "seznam.cz",
        "centrum.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl",
        # Americas, Asia, Oceania
        "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "cox.net", "charter.net",
        "earthlink.net", "juno.com", "shaw.ca", "rogers.com", "sympatico.ca", "bol.com.br",
        "uol.com.br", "terra.com.br", "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net",
        "sina.com", "sohu.com", "aliyun.com", "naver.com", "daum.net", "hanmail.net",
        "rediffmail.com", "bigpond.com", "optusnet.com.au",
    }
)  # fmt: skip
# Brands whose every country domain is free mail: hotmail.co.uk, yahoo.com.br, yandex.kz...
_FREE_MAIL_BRANDS = frozenset({"hotmail", "outlook", "yahoo", "yandex", "gmx"})


def is_free_mail(email_or_domain: str) -> bool:
    domain = domain_of(email_or_domain)
    if domain in FREE_MAIL_DOMAINS:
        return True
    registered = registered_domain(domain)
    return registered in FREE_MAIL_DOMAINS or registered.split(".", 1)[0] in _FREE_MAIL_BRANDS


# Local parts nobody reads or answers: mail from them is automated and they never become
# contacts. Matched on the lower-case local part without its +tag.
_AUTOMATED = [
    (re.compile(r"(?:^|[-_.])(?:no|do[-_.]?not)[-_.]?repl(?:y|ies)(?:$|[-_.\d])"), "no-reply"),
    (re.compile(r"(?:^|[-_.])mailer[-_.]?daemon(?:$|[-_.])|^postmaster$"), "mail system"),
    (re.compile(r"^bounces?(?:$|[-_.=])|^(?:prvs|msprvs\d*|btv1)="), "bounce"),
    (re.compile(r"(?:^|[-_.])(?:notifications?|notify|alerts?)(?:$|[-_.\d])"), "notifications"),
    (
        re.compile(r"^(?:newsletters?|news|marketing|mailings?|digest|campaigns?)(?:$|[-_.])"),
        "bulk",
    ),
]
# Shared mailboxes a person answers: at a small company info@ is the owner. Mail from them is
# logged and their domain makes a company, but they do not become contacts.
_ROLE = frozenset(
    {
        "info", "sales", "support", "contact", "hello", "hi", "office", "admin", "billing",
        "accounts", "accounting", "invoice", "invoices", "finance", "team", "help", "service",
        "enquiries", "inquiries", "hr", "jobs", "careers", "press", "media", "legal", "privacy",
        "security", "abuse", "webmaster", "hostmaster", "orders", "booking", "reservations",
        "kontakt", "buero", "büro", "vertrieb", "rechnung", "verwaltung", "contacto", "ventas",
        "bonjour", "administration",
    }
)  # fmt: skip


def _local_part(email: str) -> str:
    local = email.strip().lower().rpartition("@")[0]
    plus = local.find("+")
    return local[:plus] if plus > 0 else local


def automated_reason(email: str) -> str:
    """Why no person reads this address ("no-reply address"...), or "" when a person may."""
    local = _local_part(email)
    for pattern, reason in _AUTOMATED:
        if pattern.search(local):
            return f"{reason} address"
    return ""


def is_role_or_automated(email: str) -> str:
    """Why this address should not become a contact, or "". An automated address (see
    `automated_reason`) or a shared role mailbox such as info@ or sales@ ("role address"): the
    pipeline still finds the company behind a role address and logs its mail."""
    reason = automated_reason(email)
    if reason:
        return reason
    return "role address" if _local_part(email) in _ROLE else ""


def is_internal(email: str, internal_domains: Iterable[str]) -> bool:
    """Whether the address (or domain) belongs to the organization: one of its domains or a
    subdomain of one (`eu.salesdesk.io` is inside `salesdesk.io`)."""
    domain = domain_of(email)
    if not domain:
        return False
    for internal in internal_domains:
        internal = internal.strip().lower().lstrip("@").strip(".")
        if internal and (domain == internal or domain.endswith("." + internal)):
            return True
    return False
