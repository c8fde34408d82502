"""Inserting many plain rows at once, for the few writers that insert thousands per second.

Why: `QuerySet.bulk_create` prepares every field of every object through the field's
expression and preparation machinery (some 80 µs per object for an activity or a captured
message), which made inserting rows a fifth of capturing an e-mail. `insert_rows` writes the same
rows with the same column values: field values are taken from the objects as they are, only
the fields whose Python values need converting for the database (dates and times, decimals,
binary, JSON...) go through `get_db_prep_save`, and `auto_now`/`auto_now_add` fields get one
moment for the whole call, as `bulk_create` gives them one each. Objects must hold plain values,
never expressions; like `bulk_create`, no `save()` and no signals.
"""

from django.db import connection, models
from django.db.models.constants import OnConflict
from django.utils import timezone

# Fields whose values pass to both database drivers as they are.
_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.AutoField,
    models.BigAutoField,
    models.BooleanField,
    models.ForeignKey,
)


def insert_rows(model, objs: list, *, ignore_conflicts: bool = False) -> None:
    """INSERT `objs` (instances of `model`). Without `ignore_conflicts`, each object gets its
    primary key from the database (RETURNING, in the order of the rows, as `bulk_create`
    relies on too); with it, rows that collide with a unique constraint are skipped."""
    if not objs:
        return
    if not ignore_conflicts and not connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(objs)
        return
    ops = connection.ops
    pk = model._meta.pk
    with_pk = all(getattr(obj, pk.attname) is not None for obj in objs)
    fields = [f for f in model._meta.concrete_fields if f is not pk or with_pk]
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                setattr(obj, field.attname, now)
    converted = [not isinstance(field, _PLAIN) for field in fields]
    columns = ", ".join(ops.quote_name(field.column) for field in fields)
    table = ops.quote_name(model._meta.db_table)
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    insert = ops.insert_statement(on_conflict=on_conflict)
    suffix = ops.on_conflict_suffix_sql(fields, on_conflict, None, None)
    returning = "" if ignore_conflicts else f" RETURNING {ops.quote_name(pk.column)}"
    rows_per_statement = max(1, ops.bulk_batch_size(fields, objs))
    for start in range(0, len(objs), rows_per_statement):
        chunk = objs[start : start + rows_per_statement]
        params = []
        for obj in chunk:
            for field, convert in zip(fields, converted, strict=True):
                value = getattr(obj, field.attname)
                params.append(field.get_db_prep_save(value, connection) if convert else value)
        placeholders = ", ".join([f"({', '.join(['%s'] * len(fields))})"] * len(chunk))
        sql = f"{insert} {table} ({columns}) VALUES {placeholders} {suffix}{returning}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if returning:
                for obj, (key,) in zip(chunk, cursor.fetchall(), strict=True):
                    setattr(obj, pk.attname, key)
                    obj._state.adding = False
                    obj._state.db = connection.alias
