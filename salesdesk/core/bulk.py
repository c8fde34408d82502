"""Inserting many plain rows at once, for the few writers that insert thousands per second.

Why: `QuerySet.bulk_create` prepares every field of every object through the field's
expression and preparation machinery (some 80 µs per object for an activity or a captured
message), which made inserting rows a fifth of capturing an e-mail. `insert_rows` writes the same
rows with the same column values: field values are taken from the objects as they are, only
the fields whose Python values need converting for the database (dates and times, decimals,
binary, JSON...) go through `get_db_prep_save`, and `auto_now`/`auto_now_add` fields get one
moment for the whole call (`bulk_create` takes one per object). On PostgreSQL the rows go
through COPY. Objects must hold plain values, never expressions, and foreign keys must point
at integer keys; like `bulk_create`, no `save()` and no signals.
"""

from django.db import connection, models
from django.db.models.constants import OnConflict
from django.utils import timezone
from psycopg import sql

UPDATE_ROWS = 150  # rows per UPDATE in `update_by_pk`: 5 parameters each, under SQLite's old 999

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
    models.ForeignKey,  # to integer primary keys, as every model here has
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
    pk = model._meta.pk
    with_pk = all(getattr(obj, pk.attname) is not None for obj in objs)
    fields = [f for f in model._meta.concrete_fields if f is not pk or with_pk]
    now = timezone.now()
    moments = {}  # auto_now fields: one moment, prepared once
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                setattr(obj, field.attname, now)
            moments[field.attname] = field.get_db_prep_save(now, connection)
    columns = [(f.attname, f, not isinstance(f, _PLAIN), moments.get(f.attname)) for f in fields]
    rows = []
    for obj in objs:
        row = []
        for attname, field, convert, moment in columns:
            value = getattr(obj, attname)
            if moment is not None:
                value = moment
            elif convert and value is not None:
                value = field.get_db_prep_save(value, connection)
            row.append(value)
        rows.append(row)
    keys = _insert(model, fields, rows, ignore_conflicts=ignore_conflicts)
    if not ignore_conflicts:
        for obj, key in zip(objs, keys, strict=True):
            setattr(obj, pk.attname, key)
            obj._state.adding = False
            obj._state.db = connection.alias


def insert_values(model, names: list[str], rows: list[tuple], *, ignore_conflicts=False) -> None:
    """INSERT rows of plain values (passed to the driver as they are) for the fields `names`,
    the others left to their database defaults: link rows that need no model instance."""
    if rows:
        fields = [model._meta.get_field(name) for name in names]
        _insert(model, fields, rows, ignore_conflicts=ignore_conflicts, returning=False)


def _insert(model, fields, rows, *, ignore_conflicts: bool, returning: bool = True) -> list:
    """The primary keys of the rows inserted, in order, when `returning` and not
    `ignore_conflicts`."""
    if connection.vendor == "postgresql" and not ignore_conflicts:
        return _copy(model, fields, rows, returning=returning)
    ops = connection.ops
    columns = ", ".join(ops.quote_name(field.column) for field in fields)
    table = ops.quote_name(model._meta.db_table)
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    insert = ops.insert_statement(on_conflict=on_conflict)
    suffix = ops.on_conflict_suffix_sql(fields, on_conflict, None, None)
    returning = returning and not ignore_conflicts
    tail = f" RETURNING {ops.quote_name(model._meta.pk.column)}" if returning else ""
    row = f"({', '.join(['%s'] * len(fields))})"
    rows_per_statement = max(1, ops.bulk_batch_size(fields, rows))
    keys = []
    for start in range(0, len(rows), rows_per_statement):
        chunk = rows[start : start + rows_per_statement]
        sql = f"{insert} {table} ({columns}) VALUES {', '.join([row] * len(chunk))} {suffix}{tail}"
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for values in chunk for value in values])
            if returning:
                keys += [key for (key,) in cursor.fetchall()]
    return keys


def _copy(model, fields, rows, *, returning: bool) -> list:
    """PostgreSQL: the rows through COPY, which takes them without building and parsing one
    long statement (a third less time for the rows of a captured batch). The primary keys are
    drawn from the table's sequence first, in order, as INSERT … RETURNING would give them."""
    table, pk = model._meta.db_table, model._meta.pk
    columns = [field.column for field in fields]
    keys = []
    with connection.cursor() as cursor:
        if returning:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), pk.column, len(rows)],
            )
            keys = sorted(key for (key,) in cursor.fetchall())
            columns = [pk.column, *columns]
            rows = [(key, *row) for key, row in zip(keys, rows, strict=True)]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    return keys


def update_by_pk(model, name: str, rows: list[tuple[int, object]], *, forward=False) -> None:
    """Set field `name` of each (pk, value) row: one UPDATE with a CASE on the primary key per
    UPDATE_ROWS rows. `forward`: only where the stored value is empty or earlier, so a time
    never moves back and concurrent batches cannot lose the newer one. Written in SQL because
    the ORM's `Case(When(pk=…))` (and `bulk_update`, built on it) resolves every branch as a
    filter: 150 rows cost more Python than the statement costs the database."""
    ops = connection.ops
    table, pk = ops.quote_name(model._meta.db_table), ops.quote_name(model._meta.pk.column)
    field = model._meta.get_field(name)
    column = ops.quote_name(field.column)
    for start in range(0, len(rows), UPDATE_ROWS):
        chunk = rows[start : start + UPDATE_ROWS]
        cases = []
        for row_pk, value in chunk:
            cases += [row_pk, field.get_db_prep_save(value, connection)]
        value = f"CASE {pk} {' '.join(['WHEN %s THEN %s'] * len(chunk))} END"
        keys = ", ".join(["%s"] * len(chunk))
        sql = f"UPDATE {table} SET {column} = {value} WHERE {pk} IN ({keys})"  # noqa: S608 (names quoted, values bound)
        params = [*cases, *(row_pk for row_pk, _value in chunk)]
        if forward:
            sql += f" AND ({column} IS NULL OR {column} < {value})"
            params += cases
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
