"""What every app's API router shares: ids, text without NUL bytes, cursor pages, lookups."""

import base64
import binascii
import datetime
import json
import zoneinfo
from typing import Annotated, Any

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, model_validator

from salesdesk.accounts import visibility
from salesdesk.core.errors import NotFound, ValidationFailed

MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("Text may not contain NUL characters.")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


def _aware(value: Any) -> Any:
    """Date-times are kept in UTC; naive ones are read as UTC (clients should send an offset)."""
    if not isinstance(value, datetime.datetime):
        return value
    if timezone.is_naive(value):
        return value.replace(tzinfo=datetime.UTC)
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        raise ValueError("Date-time out of range.") from None


AwareDatetime = Annotated[datetime.datetime, AfterValidator(_aware)]


class InSchema(Schema):
    """Input schemas refuse NUL characters anywhere (PostgreSQL cannot store them)."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        def walk(value: Any) -> None:
            if isinstance(value, str):
                _no_nul(value)
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list | tuple):
                for item in value:
                    walk(item)

        if isinstance(data, dict):
            walk(data)
        return data


def _strip_blank(value: Any) -> Any:
    return None if value == "" else value


Blankable = BeforeValidator(_strip_blank)


class Page(Schema):
    next_cursor: str | None = None


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise ValidationFailed(
            "The cursor is not valid; start again without one.", fields={"cursor": "Invalid."}
        )
    return values


def paginate_by_id(queryset: QuerySet, *, limit: int, cursor: str | None) -> dict:
    """Newest first by id; the cursor is the last id of the previous page."""
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        if not isinstance(last_id, int) or not 0 < last_id <= MAX_ID:
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "Invalid."})
        queryset = queryset.filter(pk__lt=last_id)
    rows = list(queryset.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor([rows[-1].pk]) if more else None}


def paginate_by_time(queryset: QuerySet, *, field: str, limit: int, cursor: str | None) -> dict:
    """Newest first by `field` then id, for timelines."""
    if cursor:
        stamp, last_id = decode_cursor(cursor, 2)
        try:
            moment = datetime.datetime.fromisoformat(stamp)
        except (TypeError, ValueError):
            raise ValidationFailed(
                "The cursor is not valid.", fields={"cursor": "Invalid."}
            ) from None
        if not isinstance(last_id, int) or not 0 < last_id <= MAX_ID:
            raise ValidationFailed("The cursor is not valid.", fields={"cursor": "Invalid."})
        queryset = queryset.filter(
            Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "pk__lt": last_id})
        )
    rows = list(queryset.order_by(f"-{field}", "-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, field).isoformat(), last.pk])
    return {"items": rows, "next_cursor": next_cursor}


Limit = Annotated[int, Field(ge=1, le=200)]


def visible_or_404(user, queryset: QuerySet, pk: int, *, label: str) -> Model:
    record = visibility.scope(user, queryset).filter(pk=pk).first()
    if record is None:
        raise NotFound(f"{label} {pk} does not exist.")
    return record


def reference(
    user, queryset: QuerySet, pk: int | None, *, field: str, label: str, owned: bool = True
) -> Model | None:
    """Resolve a foreign key given by a caller; one they cannot see reads as not existing."""
    if pk is None:
        return None
    if owned:
        queryset = visibility.scope(user, queryset)
    record = queryset.filter(pk=pk).first()
    if record is None:
        raise ValidationFailed(f"{label} {pk} does not exist.", fields={field: "Does not exist."})
    return record


def references(
    user, queryset: QuerySet, pks: list[int] | None, *, field: str, label: str, owned: bool = True
) -> list[Model] | None:
    if pks is None:
        return None
    wanted = set(pks)
    if owned:
        queryset = visibility.scope(user, queryset)
    found = list(queryset.filter(pk__in=wanted))
    missing = wanted - {record.pk for record in found}
    if missing:
        listed = ", ".join(str(pk) for pk in sorted(missing))
        raise ValidationFailed(f"{label} {listed} do not exist.", fields={field: "Does not exist."})
    return found


def user_zone(user) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")
