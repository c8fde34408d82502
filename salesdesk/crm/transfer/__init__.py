"""Import and export of companies, contacts and deals as CSV (see docs/import.md).

`import_run` reads a file, maps its columns and imports it row by row in one transaction;
`import_preview` shows the guessed mapping; `export_csv` streams what a user can see.
"""

from django.db import transaction

from salesdesk.core.errors import NotFound, ValidationFailed
from salesdesk.crm.transfer.exporting import COLUMNS, export_csv
from salesdesk.crm.transfer.importing import (
    CREATED,
    FAILED,
    IMPORTERS,
    PREVIEW_ROWS,
    SKIPPED,
    UPDATED,
    ImportResult,
    RowResult,
)
from salesdesk.crm.transfer.mapping import (
    ENTITIES,
    FIELDS,
    REQUIRED,
    check_required,
    resolve_mapping,
    unmapped_columns,
)
from salesdesk.crm.transfer.reading import DELIMITER_NAMES, MAX_BYTES, read_table

__all__ = [
    "COLUMNS",
    "CREATED",
    "ENTITIES",
    "FAILED",
    "MAX_BYTES",
    "SKIPPED",
    "UPDATED",
    "ImportResult",
    "RowResult",
    "export_csv",
    "import_preview",
    "import_run",
    "require_entity",
]


class _DryRunRollback(Exception):
    """Ends a dry run: the transaction rolls back and nothing it did remains."""


def require_entity(entity: str) -> str:
    if entity not in ENTITIES:
        raise NotFound(f"Unknown kind of record {entity!r}; use {', '.join(ENTITIES)}.")
    return entity


def import_run(
    *, actor, entity: str, data: bytes, mapping: dict | None = None, dry_run: bool = True
) -> ImportResult:
    """Import a CSV file; `mapping` ({column: field}) overrides the guessed mapping.

    Bad files (empty, binary, no header, no name column…) raise ValidationFailed; a bad row
    only fails that row. The real run is one transaction: every valid row lands, or on an
    unexpected error none does. The dry run is the same run, rolled back.
    """
    require_entity(entity)
    table = read_table(data)
    cells = [row for _, row in table.rows]
    resolved = resolve_mapping(entity, table.columns, cells, mapping)
    check_required(entity, resolved, table.columns)
    importer = IMPORTERS[entity](actor=actor, table=table, mapping=resolved)
    if dry_run:
        try:
            with transaction.atomic():
                rows = importer.run()
                raise _DryRunRollback
        except _DryRunRollback:
            pass
        created = {row.id for row in rows if row.action == CREATED}
        for row in rows:
            if row.id in created:
                row.id = None  # the record was never kept (nor were later rows' changes to it)
    else:
        with transaction.atomic():
            rows = importer.run()
    return ImportResult(
        entity=entity,
        dry_run=dry_run,
        mapping=resolved,
        columns_unmapped=unmapped_columns(table.columns, resolved),
        encoding=table.encoding,
        delimiter=table.delimiter,
        warnings=table.warnings + importer.warnings,
        rows=rows,
    )


def import_preview(*, entity: str, data: bytes, mapping: dict | None = None) -> dict:
    """The columns, the mapping the import would use, and the first rows, before importing."""
    require_entity(entity)
    table = read_table(data)
    cells = [row for _, row in table.rows]
    resolved = resolve_mapping(entity, table.columns, cells, mapping)
    problems = []
    try:
        check_required(entity, resolved, table.columns)
    except ValidationFailed as exc:  # shown, so the caller can fix the mapping
        problems.append(exc.message)
    return {
        "entity": entity,
        "encoding": table.encoding,
        "delimiter": DELIMITER_NAMES[table.delimiter],
        "columns": [column for column in table.columns if column],
        "mapping": resolved,
        "columns_unmapped": unmapped_columns(table.columns, resolved),
        "fields": [
            {"name": f.name, "help": f.help, "required": f.name in REQUIRED[entity]}
            for f in FIELDS[entity]
        ],
        "rows": [
            {
                "line": line,
                "values": {c: value for c, value in zip(table.columns, row, strict=True) if c},
            }
            for line, row in table.rows[:PREVIEW_ROWS]
        ],
        "rows_total": len(table.rows),
        "warnings": table.warnings,
        "problems": problems,
    }
