"""The capture pages: a user's connected mailboxes, and the suggested contacts to decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from huey.contrib.djhuey import HUEY

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.accounts.services import profile_update
from salesdesk.capture import forms, selectors, services, tasks, uploads
from salesdesk.capture.models import Mailbox, SuggestedContact
from salesdesk.capture.sending_forms import SendingForm
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import add_application_error, paginate


def get_mailbox_for_user(request: HttpRequest, pk: int) -> Mailbox:
    """A mailbox is its owner's alone: anyone else gets a 404."""
    mailbox = selectors.mailbox_list(user=request.user).filter(pk=pk).first()
    if mailbox is None:
        raise Http404("No such mailbox.")
    return mailbox


@login_required
def mailboxes(request: HttpRequest) -> HttpResponse:
    form = forms.MailboxForm(request.POST) if request.method == "POST" else forms.MailboxForm()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                mailbox = services.mailbox_connect(
                    user=request.user,
                    fields=form.mailbox_fields(),
                    password=form.cleaned_data["password"],
                )
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                tasks.request_sync(mailbox, actor=request.user)
                messages.success(
                    request, f"{mailbox} is connected. The first sync starts in a moment."
                )
                return redirect("mailboxes")
        status = 422 if request.htmx else 200
    context = {
        "form": form,
        "mailboxes": selectors.mailbox_list(user=request.user),
        "text_form": forms.EmailTextForm(
            initial={"email_text_shared": "1" if request.user.email_text_shared else "0"}
        ),
    }
    return render(request, "capture/mailboxes.html", context, status=status)


@login_required
@require_POST
def email_text(request: HttpRequest) -> HttpResponse:
    form = forms.EmailTextForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose who reads the text of your captured e-mails.")
        return redirect("mailboxes")
    shared = form.cleaned_data["email_text_shared"]
    profile_update(user=request.user, email_text_shared=shared)
    if shared:
        messages.success(request, "Everyone who sees your captured e-mails reads their text.")
    else:
        messages.success(
            request, "Only you read the text of your captured e-mails; others see that they exist."
        )
    return redirect("mailboxes")


@login_required
def mailbox_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One mailbox's row, which polls itself while a sync is asked for or under way."""
    mailbox = get_mailbox_for_user(request, pk)
    return render(request, "capture/mailboxes.html#mailbox-row", {"mailbox": mailbox})


@login_required
@require_POST
def mailbox_sync(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_user(request, pk)
    try:
        mailbox = tasks.request_sync(mailbox, actor=request.user)
    except ApplicationError as error:
        if request.htmx:
            return HttpResponse(error.message, status=error.status)
        messages.error(request, error.message)
        return redirect("mailboxes")
    if request.htmx:
        return render(request, "capture/mailboxes.html#mailbox-row", {"mailbox": mailbox})
    messages.success(request, f"{mailbox} syncs in a moment.")
    return redirect("mailboxes")


@login_required
@require_POST
def mailbox_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_user(request, pk)
    mailbox = services.mailbox_set_enabled(
        mailbox=mailbox, actor=request.user, enabled=not mailbox.enabled
    )
    if mailbox.enabled:
        messages.success(request, f"{mailbox} syncs again.")
    else:
        messages.success(request, f"{mailbox} is paused: nothing is read until you resume it.")
    return redirect("mailboxes")


@login_required
def mailbox_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_user(request, pk)
    if request.method == "POST":
        form = forms.MailboxForm(request.POST, mailbox=mailbox)
        if form.is_valid():
            try:
                services.mailbox_update(
                    mailbox=mailbox,
                    actor=request.user,
                    fields=form.mailbox_fields(),
                    password=form.cleaned_data["password"],
                )
            except ApplicationError as error:
                add_application_error(form, error)
            else:
                messages.success(request, f"The settings of {mailbox} are saved.")
                return redirect("mailboxes")
    else:
        form = forms.MailboxForm(
            mailbox=mailbox,
            initial={
                "host": mailbox.host,
                "port": mailbox.port,
                "security": mailbox.security,
                "username": mailbox.username,
                "interval_minutes": mailbox.interval_minutes,
            },
        )
    context = {"form": form, "mailbox": mailbox, "sending_form": SendingForm.for_mailbox(mailbox)}
    return render(request, "capture/mailbox_edit.html", context)


@login_required
def mailbox_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_user(request, pk)
    if request.method == "POST":
        services.mailbox_delete(mailbox=mailbox, actor=request.user)
        messages.success(
            request, f"{mailbox} is disconnected; what it captured stays in Salesdesk."
        )
        return redirect("mailboxes")
    return render(request, "capture/mailbox_delete.html", {"mailbox": mailbox})


# --- Suggested contacts ------------------------------------------------------------------------


@login_required
def suggestions(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status")
    if status not in (SuggestedContact.Status.PENDING, SuggestedContact.Status.IGNORED):
        status = SuggestedContact.Status.PENDING
    rows = selectors.suggestion_list(user=request.user, status=status)
    context = {
        "page": paginate(request, rows),
        "status": status,
        "pending_count": selectors.suggestion_count(user=request.user),
        "suggest_mode": OrganizationSettings.get().capture_mode
        == OrganizationSettings.CaptureMode.SUGGEST,
    }
    return render(request, "capture/suggestions.html", context)


def get_suggestion_for_user(request: HttpRequest, pk: int) -> SuggestedContact:
    """A suggestion the user may decide; any other is a 404."""
    suggestion = selectors.suggestion_for(user=request.user, pk=pk)
    if suggestion is None:
        raise Http404("No such suggestion.")
    return suggestion


def _decided(request: HttpRequest, suggestion: SuggestedContact, notice: str) -> HttpResponse:
    if request.htmx:
        suggestion.refresh_from_db()
        return render(request, "capture/suggestions.html#decided-row", {"suggestion": suggestion})
    messages.success(request, notice)
    return redirect("suggestions")


def _refused(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    if request.htmx:
        return HttpResponse(error.message, status=error.status)
    messages.error(request, error.message)
    return redirect("suggestions")


@login_required
@require_POST
def suggestion_accept(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = get_suggestion_for_user(request, pk)
    try:
        contact = services.suggestion_accept(suggestion=suggestion, actor=request.user)
    except ApplicationError as error:
        return _refused(request, error)
    return _decided(request, suggestion, f"{contact} is a contact now.")


@login_required
@require_POST
def suggestion_ignore(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = get_suggestion_for_user(request, pk)
    try:
        services.suggestion_ignore(suggestion=suggestion, actor=request.user)
    except ApplicationError as error:
        return _refused(request, error)
    return _decided(request, suggestion, f"{suggestion.email} will not be suggested again.")


# --- Fields filled from signatures -------------------------------------------------------------


@login_required
@require_POST
def filled_field_undo(request: HttpRequest, pk: int) -> HttpResponse:
    filled = selectors.filled_field_for(user=request.user, pk=pk)
    if filled is None:
        raise Http404("No such value.")
    record = filled.contact or filled.company
    back = f"/{'contacts' if filled.contact_id else 'companies'}/{record.pk}/"
    try:
        services.filled_field_undo(filled=filled, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        label = selectors.FIELD_LABELS.get(filled.field, filled.field)
        messages.success(request, f"{label} “{filled.value}” is taken back.")
    return redirect(back)


# --- Uploaded mail and calendar files ----------------------------------------------------------

UPLOADS_SESSION_KEY = "capture_uploads"
UPLOADS_KEPT = 10  # the latest uploads the page lists


@login_required
def file_import(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = forms.CaptureUploadForm(*((request.POST, request.FILES) if posted else ()))
    if posted and form.is_valid():
        queued = []
        for upload in form.cleaned_data["files"]:
            try:
                token, kind = uploads.store(request.user, upload)
            except uploads.UploadError as error:
                form.add_error("files", str(error))
                continue
            queued.append((token, kind, upload.name))
        if not form.errors:
            listed = request.session.get(UPLOADS_SESSION_KEY, [])
            for token, kind, name in queued:
                result = tasks.capture_upload_task(request.user.pk, token, kind, name)
                listed.insert(0, {"id": result.id, "name": name})
            request.session[UPLOADS_SESSION_KEY] = listed[:UPLOADS_KEPT]
            messages.success(
                request, f"{len(queued)} file{'s' if len(queued) != 1 else ''} queued for capture."
            )
            return redirect("capture_import")
        for token, kind, _name in queued:  # nothing is captured from a form with errors
            path = uploads.path_of(request.user, token, kind)
            if path is not None:
                path.unlink(missing_ok=True)
    listed = [
        _upload_status(request, item) for item in request.session.get(UPLOADS_SESSION_KEY, [])
    ]
    return render(request, "capture/import.html", {"form": form, "uploads": listed})


@login_required
def file_import_status(request: HttpRequest, task_id: str) -> HttpResponse:
    item = next(
        (i for i in request.session.get(UPLOADS_SESSION_KEY, []) if i["id"] == task_id), None
    )
    if item is None:
        raise Http404("No such upload.")
    return render(request, "capture/import.html#upload", {"upload": _upload_status(request, item)})


def _upload_status(request: HttpRequest, item: dict) -> dict:
    """An upload of this session with its job's summary, once there is one."""
    summary = HUEY.result(item["id"], preserve=True)
    if summary is not None and summary.get("user_id") != request.user.pk:
        summary = None
    return {**item, "summary": summary}
