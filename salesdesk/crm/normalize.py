"""Canonical forms of the values records are matched by: e-mail addresses and domains."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_domain_name

from salesdesk.core.errors import ValidationFailed

_email_validator = EmailValidator()


def normalize_email(value: str | None, *, field: str = "email") -> str:
    email = (value or "").strip().lower()
    if email.startswith("mailto:"):
        email = email[len("mailto:") :]
    try:
        _email_validator(email)
    except ValidationError:
        raise ValidationFailed(
            f"{value!r} is not an e-mail address.", fields={field: "Enter a valid e-mail address."}
        ) from None
    return email


def normalize_domain(value: str | None, *, field: str = "domain") -> str:
    """`https://www.Example.com/about` → `example.com`; empty stays empty."""
    text = (value or "").strip().lower()
    if not text:
        return ""
    if "@" in text and "/" not in text:
        text = text.rsplit("@", 1)[1]
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        host = ""
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    try:
        validate_domain_name(host)
    except ValidationError:
        host = ""
    if "." not in host:
        raise ValidationFailed(
            f"{value!r} is not a domain.", fields={field: "Enter a domain such as example.com."}
        )
    return host
