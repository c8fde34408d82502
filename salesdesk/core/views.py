"""Import in the browser, and what makes Salesdesk an installable app (manifest, service worker,
offline page)."""

import hashlib
import json
import os
import re
import secrets
import time
from functools import lru_cache
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from salesdesk.core.errors import ApplicationError, NotFound
from salesdesk.core.web import add_application_error
from salesdesk.crm.models import Company, Contact
from salesdesk.crm.transfer import (
    CREATED,
    ENTITIES,
    FAILED,
    MAX_BYTES,
    SKIPPED,
    UPDATED,
    import_preview,
    import_run,
    require_entity,
)
from salesdesk.pipeline.models import Deal

# --- Import ---------------------------------------------------------------------------------

TOKEN = re.compile(r"[0-9a-f]{32}")
UPLOAD_LIFETIME = 24 * 60 * 60  # seconds an uploaded file waits for its import
SHOWN_ROWS = 1000  # failed rows listed on the page; the counts cover them all
LINKED_RECORDS = 100  # imported records linked by name after the real run
MODELS = {"companies": Company, "contacts": Contact, "deals": Deal}
KIND_CHOICES = [("companies", "Companies"), ("contacts", "Contacts"), ("deals", "Deals")]
NEEDS = {
    "companies": "Companies need a column with their name.",
    "contacts": "Contacts need a column with their first, last or full name.",
    "deals": "Deals need a column with their title.",
}
IGNORE = ""


class UploadForm(forms.Form):
    entity = forms.ChoiceField(
        label="Kind of records", choices=KIND_CHOICES, initial="contacts", widget=forms.RadioSelect
    )
    file = forms.FileField(
        label="CSV file",
        help_text="A .csv file of at most 50 MB, with a header line: our export, or an export "
        "from Pipedrive, HubSpot or Salesforce.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into "
                "smaller files."
            )
        return upload


class MappingForm(forms.Form):
    """One choice per column of the file: the field it feeds, or nothing."""

    def __init__(self, *args, preview: dict, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(IGNORE, "— ignore —")] + [
            (field["name"], _field_label(field)) for field in preview["fields"]
        ]
        self.columns = preview["columns"]
        for index, column in enumerate(self.columns):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column,
                choices=choices,
                required=False,
                initial=preview["mapping"].get(column, IGNORE),
            )

    def mapping(self) -> dict[str, str]:
        return {
            column: self.cleaned_data[f"column_{index}"]
            for index, column in enumerate(self.columns)
        }


def _field_label(field: dict) -> str:
    return field["name"].replace("_", " ").capitalize()


def _upload_folder(user) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / str(user.pk)


def _upload_store(user, data: bytes) -> str:
    """Keep the file for the next steps; returns its token. Files a day old are removed."""
    folder = _upload_folder(user)
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - UPLOAD_LIFETIME
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    descriptor = os.open(folder / f"{token}.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return token


def _upload_path(user, token: str) -> Path | None:
    """The user's own upload of that token; another user's token names no file of theirs."""
    if not TOKEN.fullmatch(token):
        return None
    path = _upload_folder(user) / f"{token}.csv"
    return path if path.is_file() else None


def _upload_names(request: HttpRequest) -> dict:
    """{token: the uploaded file's name}; changes are saved with `request.session.modified`."""
    return request.session.get("import_files", {})


@login_required
def import_start(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        entity, upload = form.cleaned_data["entity"], form.cleaned_data["file"]
        data = upload.read()
        try:
            import_preview(entity=entity, data=data)
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            token = _upload_store(request.user, data)
            names = _upload_names(request)
            for gone in [t for t in names if _upload_path(request.user, t) is None]:
                del names[gone]  # imported, or removed after a day
            names[token] = upload.name[:200]
            request.session["import_files"] = names
            return redirect("import_file", entity=entity, token=token)
    return render(request, "core/import_start.html", {"form": form, "entities": ENTITIES})


@login_required
def import_file(request: HttpRequest, entity: str, token: str) -> HttpResponse:
    """The mapping and the first rows; "Check" runs the import dry, "Import" runs it for real."""
    try:
        require_entity(entity)
    except NotFound:
        raise Http404("No such kind of record.") from None
    path = _upload_path(request.user, token)
    if path is None:
        messages.error(
            request,
            "That upload is no longer here: it was imported already, or is more than a day "
            "old. Please upload the file again.",
        )
        return redirect("import_start")
    data = path.read_bytes()
    preview = import_preview(entity=entity, data=data)
    form = MappingForm(request.POST or None, preview=preview)
    result = None
    is_real = request.POST.get("action") == "import"
    if request.method == "POST" and form.is_valid():
        mapping = form.mapping()
        try:
            result = import_run(
                actor=request.user,
                entity=entity,
                data=data,
                mapping=mapping,
                dry_run=not is_real,
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            if is_real:
                path.unlink(missing_ok=True)
                _upload_names(request).pop(token, None)
                request.session.modified = True
                return _import_done(request, entity, result)
    context = {
        "entity": entity,
        "needs": NEEDS[entity],
        "file_name": _upload_names(request).get(token, "your file"),
        "preview": preview,
        "form": form,
        "columns": _columns(form, preview),
        "rows": [
            (row["line"], [row["values"].get(column, "") for column in preview["columns"]])
            for row in preview["rows"]
        ],
        "result": result and _summary(result),
    }
    return render(request, "core/import_file.html", context)


def _columns(form: MappingForm, preview: dict) -> list[dict]:
    """Each column with its choice and a few of its values, for the mapping table."""
    return [
        {
            "field": form[f"column_{index}"],
            "examples": [
                value for row in preview["rows"] if (value := row["values"].get(column, ""))
            ][:3],
        }
        for index, column in enumerate(form.columns)
    ]


def _summary(result) -> dict:
    failed = [row for row in result.rows if row.action == FAILED]
    return {
        "dry_run": result.dry_run,
        "rows": len(result.rows),
        "created": result.count(CREATED),
        "updated": result.count(UPDATED),
        "skipped": result.count(SKIPPED),
        "failed": len(failed),
        "failed_rows": failed[:SHOWN_ROWS],
        "failed_hidden": max(0, len(failed) - SHOWN_ROWS),
        "warnings": result.warnings,
        "row_warnings": sum(len(row.warnings) for row in result.rows),
        "columns_unmapped": result.columns_unmapped,
    }


def _import_done(request: HttpRequest, entity: str, result) -> HttpResponse:
    summary = _summary(result)
    kept = [row for row in result.rows if row.action in (CREATED, UPDATED) and row.id]
    shown = kept[:LINKED_RECORDS]
    names = MODELS[entity].objects.in_bulk([row.id for row in shown])
    records = [
        {"line": row.line, "action": row.action, "id": row.id, "name": str(names[row.id])}
        for row in shown
        if row.id in names
    ]
    messages.success(
        request,
        f"Imported {entity}: {summary['created']} created, {summary['updated']} updated, "
        f"{summary['skipped']} skipped, {summary['failed']} failed.",
    )
    context = {
        "entity": entity,
        "result": summary,
        "records": records,
        "records_hidden": len(kept) - len(shown),
    }
    return render(request, "core/import_done.html", context)


# --- Installable app ------------------------------------------------------------------------

ICONS = [
    ("salesdesk/icons/icon-192.png", "192x192", "any"),
    ("salesdesk/icons/icon-512.png", "512x512", "any"),
    ("salesdesk/icons/maskable-192.png", "192x192", "maskable"),
    ("salesdesk/icons/maskable-512.png", "512x512", "maskable"),
]
PRECACHED_STATIC = [
    "vendor/bootstrap/css/bootstrap.min.css",
    "vendor/bootstrap/js/bootstrap.bundle.min.js",
    "vendor/htmx/htmx.min.js",
    "salesdesk/app.css",
    "salesdesk/app.js",
    "salesdesk/icons/icon-192.png",
]
THEME_COLOUR = "#212529"
BACKGROUND_COLOUR = "#f8f9fa"


@require_GET
@cache_control(max_age=60 * 60)
def manifest(request: HttpRequest) -> JsonResponse:
    body = {
        "name": "Salesdesk",
        "short_name": "Salesdesk",
        "description": "Your deals, contacts and tasks: the sales CRM.",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static(name), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for name, sizes, purpose in ICONS
        ],
    }
    return JsonResponse(body, content_type="application/manifest+json")


@lru_cache(maxsize=1)
def _service_worker_source() -> str:
    found = finders.find("salesdesk/sw.js")
    if found:
        return Path(found).read_text(encoding="utf-8")
    with staticfiles_storage.open("salesdesk/sw.js") as file:
        return file.read().decode("utf-8")


@require_GET
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    """sw.js from the static files, served from "/" so that it may control every page.

    It is told what to precache (static URLs carry their content hash in production) and a
    version; a new version makes browsers install it again and drop the old caches.
    """
    offline = reverse("offline")
    precache = [offline] + [static(name) for name in PRECACHED_STATIC]
    source = _service_worker_source()
    page = get_template("core/offline.html").template.source
    version = hashlib.sha256("\n".join([source, page, *precache]).encode()).hexdigest()[:16]
    config = {"version": version, "offline": offline, "precache": precache}
    body = f"self.SALESDESK = {json.dumps(config)};\n{source}"
    return HttpResponse(body, content_type="text/javascript; charset=utf-8")


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "core/offline.html")
