"""Reading the values vendors write: localized amounts, dates in several orders, whole names."""

import datetime
import re
import zoneinfo
from decimal import Decimal

from salesdesk.core.errors import ValidationFailed
from salesdesk.core.money import normalize_currency, parse_amount

CURRENCY_SYMBOLS = {
    "€": "EUR",
    "$": "USD",
    "US$": "USD",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₽": "RUB",
    "₩": "KRW",
    "₺": "TRY",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "R$": "BRL",
    "zł": "PLN",
    "Fr.": "CHF",
}
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_LEADING = re.compile(r"^(?P<token>[^\d\s.,'-]+)")
_TRAILING = re.compile(r"(?P<token>[^\d\s.,']+\.?)$")
_NUMBER = re.compile(r"^\d[\d.,' ]*$")


def _not_an_amount(text: str) -> ValidationFailed:
    return ValidationFailed(
        f"{text!r} is not an amount; write it like 1234.56, 1,234.56, 1.234,56 or EUR 1200.",
        fields={"amount": "Not an amount."},
    )


def _currency_of(token: str, text: str) -> str:
    if token in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[token]
    if len(token) == 3 and token.isascii() and token.isalpha():
        return normalize_currency(token)
    raise _not_an_amount(text)


def parse_localized_amount(text: str) -> tuple[Decimal, str | None]:
    """`"1.234,56 €"` → (Decimal("1234.56"), "EUR"); the currency is None without a symbol.

    With both `.` and `,` the later one is the decimal mark. With one of them once, it is the
    decimal mark unless exactly three digits follow ("1,234" → 1234, "1.234" → 1234: exports
    never write three decimals of money). Spaces and apostrophes group thousands.
    """
    value = _SPACES.sub(" ", text).replace("\u2019", "'").strip()  # Swiss typographic apostrophe
    currency = None
    negative = value.startswith("-")
    value = value.removeprefix("-").strip()
    for pattern in (_LEADING, _TRAILING):
        match = pattern.search(value)
        if match:
            found = _currency_of(match["token"], text)
            if currency and found != currency:
                raise _not_an_amount(text)
            currency = found
            value = (value[: match.start()] + value[match.end() :]).strip()
    if value.startswith("-"):
        negative, value = True, value[1:].strip()
    if not _NUMBER.match(value):
        raise _not_an_amount(text)
    number = _normalize_number(value, text)
    return parse_amount(("-" if negative else "") + number), currency


def _normalize_number(value: str, text: str) -> str:
    dots, commas = value.count("."), value.count(",")
    decimal_mark = None
    if dots and commas:
        decimal_mark = "." if value.rfind(".") > value.rfind(",") else ","
    elif dots == 1 or commas == 1:
        mark = "." if dots else ","
        head, tail = value.split(mark)
        if len(tail) != 3 or head.replace(" ", "").replace("'", "") in ("", "0"):
            decimal_mark = mark
    if decimal_mark and value.count(decimal_mark) > 1:
        raise _not_an_amount(text)
    whole, _, fraction = value.partition(decimal_mark) if decimal_mark else (value, "", "")
    groups = re.split(r"[.,' ]", whole)
    if len(groups) > 1 and (
        not 1 <= len(groups[0]) <= 3 or any(len(group) != 3 for group in groups[1:])
    ):
        raise _not_an_amount(text)
    if decimal_mark and not fraction.isdigit():
        raise _not_an_amount(text)
    return "".join(groups) + (f".{fraction}" if decimal_mark else "")


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](.*))?$")
_YMD_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: (.*))?$")
_DMY_DOT = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?: (.*))?$")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: (.*))?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?$")
DATE_FORMATS = "YYYY-MM-DD, DD.MM.YYYY, MM/DD/YYYY or YYYY/MM/DD"
EARLIEST, LATEST = datetime.date(1970, 1, 1), datetime.date(2200, 1, 1)


def _not_a_date(text: str, field: str) -> ValidationFailed:
    return ValidationFailed(
        f"{text!r} is not a date; write it as {DATE_FORMATS}.",
        fields={field: "Not a date."},
    )


def slash_date_order(values: list[str]) -> str:
    """ "dmy" when some slash date can only be day-first and none only month-first, else "mdy".

    A column is read one way for the whole file, so "03/04/2024" means the same in every row.
    """
    day_first = month_first = False
    for value in values:
        match = _SLASH.match(value.strip())
        if match:
            first, second = int(match[1]), int(match[2])
            day_first |= first > 12
            month_first |= second > 12
    return "dmy" if day_first and not month_first else "mdy"


def _split_date(text: str, order: str, field: str) -> tuple[datetime.date, str | None]:
    value = text.strip()
    if match := _ISO.match(value) or _YMD_SLASH.match(value):
        year, month, day, rest = int(match[1]), int(match[2]), int(match[3]), match[4]
    elif match := _DMY_DOT.match(value):
        day, month, year, rest = int(match[1]), int(match[2]), int(match[3]), match[4]
    elif match := _SLASH.match(value):
        first, second, year, rest = int(match[1]), int(match[2]), int(match[3]), match[4]
        if order == "dmy" or first > 12:
            day, month = first, second
        else:
            month, day = first, second
    else:
        raise _not_a_date(text, field)
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        raise _not_a_date(text, field) from None
    if not EARLIEST <= date <= LATEST:
        raise ValidationFailed(
            f"{text!r} is out of range (1970 to 2200).", fields={field: "Out of range."}
        )
    return date, rest


def parse_date(text: str, *, order: str = "mdy", field: str = "date") -> datetime.date:
    """A date; a time after it (Salesforce and Pipedrive write one) is ignored."""
    return _split_date(text, order, field)[0]


def parse_datetime(
    text: str, *, tz: zoneinfo.ZoneInfo, order: str = "mdy", field: str = "closed_at"
) -> datetime.datetime:
    """An aware date-time; without an offset it is read in `tz`, without a time at midnight."""
    value = text.strip()
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        date, rest = _split_date(value, order, field)
        parsed = datetime.datetime.combine(date, _parse_time(rest or "", text, field))
    else:
        if not EARLIEST <= parsed.date() <= LATEST:
            raise ValidationFailed(
                f"{text!r} is out of range (1970 to 2200).", fields={field: "Out of range."}
            )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(datetime.UTC)


def _parse_time(text: str, original: str, field: str) -> datetime.time:
    if not text.strip():
        return datetime.time(0, 0)
    match = _TIME.match(text.strip())
    if not match:
        raise _not_a_date(original, field)
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            raise _not_a_date(original, field)
        hour = hour % 12 + (12 if match[4].lower() == "pm" else 0)
    try:
        return datetime.time(hour, minute, second)
    except ValueError:
        raise _not_a_date(original, field) from None


def split_name(full_name: str) -> tuple[str, str]:
    """ "Ada Lovelace" → ("Ada", "Lovelace"); "Lovelace, Ada" → ("Ada", "Lovelace");
    "Ludwig van Beethoven" → ("Ludwig", "van Beethoven"); "Cher" → ("Cher", "")."""
    text = " ".join(full_name.split())
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        return first, last
    first, _, last = text.partition(" ")
    return first, last


def split_list(text: str, separators: str = ";,") -> list[str]:
    """ "a; b, c" → ["a", "b", "c"]; empty items dropped, order kept, duplicates removed."""
    items = re.split(f"[{re.escape(separators)}\n]", text)
    return list(dict.fromkeys(item.strip() for item in items if item.strip()))


_NAMED_ADDRESS = re.compile(r"^(?P<name>.*?)\s*[<(](?P<email>[^<>()\s]+@[^<>()\s]+)[>)]$")


def split_named_address(text: str) -> tuple[str, str]:
    """ "Ada Lovelace <ada@example.com>" or "… (ada@example.com)" → ("Ada Lovelace", "ada@…");
    an e-mail alone → ("", email); a name alone → (name, "")."""
    value = text.strip()
    if match := _NAMED_ADDRESS.match(value):
        return match["name"].strip().strip('"').strip(), match["email"].strip()
    if "@" in value and " " not in value:
        return "", value
    return value, ""
