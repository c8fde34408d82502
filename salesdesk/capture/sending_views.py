"""Pages of sending: a mailbox's SMTP settings, e-mail templates, writing to a contact or about a
deal, and the tracking endpoints that mail programs call (no sign-in)."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Model, Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from salesdesk.accounts import visibility
from salesdesk.capture import forms, placeholders, sending, sending_selectors, tasks, tracking
from salesdesk.capture.models import CapturedMessage, EmailTemplate, Mailbox
from salesdesk.capture.sending_forms import ComposeForm, EmailTemplateForm, SendingForm
from salesdesk.capture.views import get_mailbox_for_user
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import add_application_error, get_visible_or_404
from salesdesk.crm.models import Company, Contact
from salesdesk.pipeline.models import Deal

# --- Sending settings of a mailbox (on its settings page) --------------------------------------


def _mailbox_page(request: HttpRequest, mailbox: Mailbox, sending_form: SendingForm):
    """The mailbox's settings page with the sending form as posted (the IMAP form as saved)."""
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
    context = {"form": form, "mailbox": mailbox, "sending_form": sending_form}
    return render(request, "capture/mailbox_edit.html", context)


@login_required
@require_POST
def mailbox_sending(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_user(request, pk)
    form = SendingForm(request.POST, mailbox=mailbox)
    if not form.is_valid():
        return _mailbox_page(request, mailbox, form)
    try:
        mailbox = sending.mailbox_sending_update(
            mailbox=mailbox,
            actor=request.user,
            fields=form.sending_fields(),
            password=form.cleaned_data["smtp_password"],
        )
    except ApplicationError as error:
        add_application_error(form, error)
        return _mailbox_page(request, mailbox, form)
    messages.success(
        request,
        f"You send from {mailbox.from_address} through {mailbox.smtp_host}: the login worked.",
    )
    return redirect("mailbox_edit", pk=mailbox.pk)


@login_required
@require_POST
def mailbox_sending_remove(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_mailbox_for_user(request, pk)
    sending.mailbox_sending_remove(mailbox=mailbox, actor=request.user)
    messages.success(request, f"Salesdesk no longer sends from {mailbox.from_address}.")
    return redirect("mailbox_edit", pk=mailbox.pk)


# --- Templates ----------------------------------------------------------------------------------


def _template_page_context(request: HttpRequest, form: EmailTemplateForm) -> dict:
    return {
        "form": form,
        "templates": sending_selectors.email_template_list(user=request.user),
        "placeholders": placeholders.PLACEHOLDERS,
        "can_share": visibility.can_share_email_templates(request.user),
    }


@login_required
def email_templates(request: HttpRequest) -> HttpResponse:
    form = EmailTemplateForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            template = sending.email_template_create(actor=request.user, **form.template_fields())
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"The template “{template.name}” is saved.")
            return redirect("email_templates")
    return render(request, "capture/email_templates.html", _template_page_context(request, form))


def _editable_template(request: HttpRequest, pk: int) -> EmailTemplate:
    """A template the user may change; any other is a 404."""
    template = (
        EmailTemplate.objects.filter(visibility.email_template_scope(request.user, for_change=True))
        .filter(pk=pk)
        .first()
    )
    if template is None:
        raise Http404("No such template.")
    return template


@login_required
def email_template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = _editable_template(request, pk)
    initial = {
        "name": template.name,
        "subject": template.subject,
        "body": template.body,
        "is_shared": template.is_shared,
    }
    form = EmailTemplateForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        template=template,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            sending.email_template_update(
                template=template, actor=request.user, **form.template_fields()
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, f"The template “{form.cleaned_data['name']}” is saved.")
            return redirect("email_templates")
    context = {"form": form, "template": template, "placeholders": placeholders.PLACEHOLDERS}
    return render(request, "capture/email_template_edit.html", context)


@login_required
def email_template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = _editable_template(request, pk)
    if request.method == "POST":
        sending.email_template_delete(template=template, actor=request.user)
        messages.success(request, f"The template “{template.name}” is deleted.")
        return redirect("email_templates")
    return render(request, "capture/email_template_delete.html", {"template": template})


# --- Writing an e-mail from a contact's or a deal's page ----------------------------------------


@dataclass
class Recipient:
    """Whom the message is about and to, and what its placeholders stand for."""

    kind: str  # "contact" | "deal"
    record: Model
    title: str
    back: str  # the record's page
    to: list[tuple[str, str]]
    contact: Contact | None = None
    company: Company | None = None
    deal: Deal | None = None
    logged_on: Deal | None = None  # the deal the e-mail goes on (a deal page's own)


def _recipient(request: HttpRequest, kind: str, pk: int) -> Recipient:
    """The contact or deal the user writes from (404 when they cannot see it)."""
    if kind == "contact":
        contact = get_visible_or_404(
            request, Contact.objects.select_related("company").prefetch_related("emails"), pk
        )
        emails = list(contact.emails.all())
        return Recipient(
            kind="contact",
            record=contact,
            title=f"E-mail {contact.full_name}",
            back=f"/contacts/{contact.pk}/",
            to=[(contact.full_name, emails[0].email)] if emails else [],
            contact=contact,
            company=contact.company,
            deal=sending_selectors.contact_open_deal(user=request.user, contact=contact),
        )
    deal = get_visible_or_404(
        request,
        Deal.objects.select_related("company", "stage").prefetch_related(
            Prefetch(
                "contacts",
                queryset=Contact.objects.prefetch_related("emails").order_by("pk"),
            )
        ),
        pk,
    )
    contacts = [contact for contact in deal.contacts.all() if contact.emails.all()]
    return Recipient(
        kind="deal",
        record=deal,
        title=f"E-mail about {deal.title}",
        back=f"/deals/{deal.pk}/",
        to=[(contact.full_name, contact.emails.all()[0].email) for contact in contacts],
        contact=contacts[0] if contacts else None,
        company=deal.company,
        deal=deal,
        logged_on=deal,
    )


def _values(request: HttpRequest, recipient: Recipient) -> dict[str, str]:
    return placeholders.values_for(
        me=request.user,
        contact=recipient.contact,
        company=recipient.company,
        deal=recipient.deal,
    )


@login_required
def compose(request: HttpRequest, pk: int, record: str) -> HttpResponse:
    recipient = _recipient(request, record, pk)
    mailboxes = list(sending_selectors.sending_mailboxes(user=request.user))
    context = {"recipient": recipient}
    if not mailboxes:
        context["has_mailbox"] = Mailbox.objects.filter(user=request.user).exists()
        return render(request, "capture/compose.html", context)
    initial = {
        "mailbox": mailboxes[0].pk,
        "to": ", ".join(sending.recipient_text(name, address) for name, address in recipient.to),
    }
    form = ComposeForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        mailboxes=mailboxes,
        templates=sending_selectors.email_template_list(user=request.user),
        template_url=f"{recipient.back}email/template/",
        initial=initial,
    )
    if not recipient.to:
        whose = recipient.record.full_name if record == "contact" else "This deal's contacts"
        form.fields["to"].help_text = (
            f"{whose} {'has' if record == 'contact' else 'have'} no e-mail address yet: type "
            "one. Separate addresses with commas."
        )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        draft = sending.Draft(
            mailbox=data["mailbox"],
            to=data["to"],
            cc=data["cc"],
            subject=data["subject"],
            body=data["body"],
            track_opens=data["track_opens"],
            track_clicks=data["track_clicks"],
        )
        try:
            result = tasks.send_email(
                actor=request.user,
                draft=draft,
                values=_values(request, recipient),
                deal=recipient.logged_on,
            )
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            _say_sent(request, draft, result)
            return redirect(recipient.back)
    context["form"] = form
    return render(request, "capture/compose.html", context)


def _say_sent(request: HttpRequest, draft: sending.Draft, result: sending.SendResult) -> None:
    accepted = [a for _n, a in [*draft.to, *draft.cc] if a not in result.refused]
    text = f"E-mail sent to {', '.join(accepted)}."
    if result.status != CapturedMessage.Status.LOGGED:
        text += " Only colleagues were on it, so it is not logged on a record."
    messages.success(request, text)
    for address, said in result.refused.items():
        messages.warning(request, f"Not sent to {address}: the server refused it ({said}).")


@login_required
@require_safe
def compose_template(request: HttpRequest, pk: int, record: str) -> HttpResponse:
    """The subject and text of the message filled from a template (htmx)."""
    recipient = _recipient(request, record, pk)
    chosen = request.GET.get("template", "")
    initial, missing = {}, []
    if chosen:
        template = (
            sending_selectors.email_template_list(user=request.user)
            .filter(pk=int(chosen) if chosen.isdigit() else None)
            .first()
        )
        if template is None:
            raise Http404("No such template.")
        values = _values(request, recipient)
        initial = {
            "subject": placeholders.render(template.subject, values),
            "body": placeholders.render(template.body, values),
        }
        missing = [
            name
            for name in placeholders.used(template.subject + "\n" + template.body)
            if name not in values
        ]
    form = ComposeForm(user=request.user, mailboxes=[], templates=[], initial=initial)
    context = {"form": form, "missing": missing, "recipient": recipient}
    return render(request, "capture/compose.html#compose-text", context)


# --- Tracking (no sign-in) ----------------------------------------------------------------------


def _pixel() -> HttpResponse:
    response = HttpResponse(tracking.PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0"
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response


@require_safe
def email_open(request: HttpRequest, token: str) -> HttpResponse:
    """The tracking image: the same answer whatever the token."""
    if request.method == "GET":
        tracking.email_open_record(token=token)
    return _pixel()


@require_safe
def email_click(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link: to where it leads, or the site's plain 404 page."""
    if request.method == "GET":
        url = tracking.email_click_record(token=token)
    else:
        url = tracking.link_url(token=token)
    if url is None:
        raise Http404
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response
