"""Money: amounts are Decimal with a currency; aggregates use the amount in base currency."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from salesdesk.core.errors import ValidationFailed
from salesdesk.core.models import CurrencyRate

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # what DecimalField(max_digits=14, decimal_places=2) holds


def base_currency() -> str:
    from salesdesk.accounts.models import OrganizationSettings

    return OrganizationSettings.get().base_currency


def parse_amount(value, *, field: str = "amount") -> Decimal:
    """A non-negative amount with at most two decimals, from a Decimal, int or plain string."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            f"{value!r} is not an amount.", fields={field: "Enter a number such as 1250.00."}
        ) from None
    if not amount.is_finite():
        raise ValidationFailed(
            "The amount must be a finite number.", fields={field: "Not a number."}
        )
    if amount < 0:
        raise ValidationFailed(
            "The amount cannot be negative.", fields={field: "Must be 0 or more."}
        )
    if amount > MAX_AMOUNT:
        raise ValidationFailed("The amount is too large.", fields={field: f"At most {MAX_AMOUNT}."})
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValidationFailed(
            "Amounts have at most two decimals.", fields={field: "At most two decimals."}
        )
    return amount.quantize(CENT)


def normalize_currency(code: str | None) -> str:
    code = (code or "").strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise ValidationFailed(
            f"{code or 'An empty value'!r} is not a currency code.",
            fields={"currency": "Use a three-letter ISO 4217 code such as EUR."},
        )
    return code


def to_base(amount: Decimal, currency: str, *, base: str | None = None) -> Decimal:
    """Convert into the base currency with the current rate; no rate is a clear error."""
    base = base or base_currency()
    if currency == base:
        return amount
    rate = CurrencyRate.objects.filter(currency=currency).values_list("rate", flat=True).first()
    if rate is None:
        raise ValidationFailed(
            f"There is no exchange rate for {currency}; an admin can add one.",
            fields={"currency": f"No exchange rate for {currency} to {base}."},
        )
    converted = (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)
    if converted > MAX_AMOUNT:
        raise ValidationFailed("The amount is too large.", fields={"amount": "Too large."})
    return converted
