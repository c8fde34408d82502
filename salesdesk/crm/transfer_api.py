"""Import and export over the API: preview a CSV file, dry-run it, import it, export CSV."""

import json

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from salesdesk.core.errors import ValidationFailed
from salesdesk.crm.transfer import MAX_BYTES, export_csv, import_preview, import_run, require_entity

router = Router(tags=["import/export"])


class RowOut(Schema):
    line: int
    action: str
    id: int | None
    errors: list[str]
    warnings: list[str]


class ImportOut(Schema):
    entity: str
    dry_run: bool
    created: int
    updated: int
    skipped: int
    failed: int
    rows: list[RowOut]
    mapping: dict[str, str]
    columns_unmapped: list[str]
    encoding: str
    delimiter: str
    warnings: list[str]


class FieldOut(Schema):
    name: str
    help: str
    required: bool


class PreviewRowOut(Schema):
    line: int
    values: dict[str, str]


class PreviewOut(Schema):
    entity: str
    encoding: str
    delimiter: str
    columns: list[str]
    mapping: dict[str, str]
    columns_unmapped: list[str]
    fields: list[FieldOut]
    rows: list[PreviewRowOut]
    rows_total: int
    warnings: list[str]
    problems: list[str]


def _read(upload: UploadedFile) -> bytes:
    if upload.size is not None and upload.size > MAX_BYTES:
        megabytes = MAX_BYTES // (1024 * 1024)
        raise ValidationFailed(
            f"The file is larger than {megabytes} MB; split it into smaller files.",
            fields={"file": "Too large."},
        )
    return upload.read()


def _mapping(text: str | None) -> dict | None:
    """The `mapping` form field: a JSON object {"column in the file": "field"}."""
    if not text or not text.strip():
        return None
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(
        isinstance(column, str) and (field is None or isinstance(field, str))
        for column, field in mapping.items()
    ):
        raise ValidationFailed(
            'The mapping must be a JSON object of column → field, such as {"E-Mail": "email"}.',
            fields={"mapping": "Not a JSON object of strings."},
        )
    return mapping


@router.post("/imports/{entity}", response=ImportOut)
def import_file(
    request: HttpRequest,
    entity: str,
    file: File[UploadedFile],
    mapping: Form[str | None] = None,
    dry_run: Form[bool] = True,
):
    """Import a CSV file. `dry_run` (the default) reports what would happen and saves nothing."""
    require_entity(entity)
    result = import_run(
        actor=request.auth,
        entity=entity,
        data=_read(file),
        mapping=_mapping(mapping),
        dry_run=dry_run,
    )
    return result.as_dict()


@router.post("/imports/{entity}/preview", response=PreviewOut)
def preview_file(
    request: HttpRequest, entity: str, file: File[UploadedFile], mapping: Form[str | None] = None
):
    """The columns, the mapping the import would use, and the first rows of the file."""
    require_entity(entity)
    return import_preview(entity=entity, data=_read(file), mapping=_mapping(mapping))


@router.get("/exports/{entity}")
def export_file(request: HttpRequest, entity: str):
    """Every record of this kind the user can see, as CSV (the format imports read back)."""
    require_entity(entity)
    response = StreamingHttpResponse(
        export_csv(actor=request.auth, entity=entity), content_type="text/csv; charset=utf-8"
    )
    filename = f"{entity}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
